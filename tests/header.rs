//! The committed `include/lsq.h` must be exactly what cbindgen generates
//! from the sources. `LSQ_BLESS=1 cargo test --test header` rewrites it.

use std::path::Path;

#[test]
fn committed_header_matches_a_fresh_generation() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(root.join("cbindgen.toml")).expect("cbindgen.toml");
    let mut fresh = Vec::new();
    cbindgen::Builder::new()
        .with_crate(root)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header")
        .write(&mut fresh);
    let fresh = String::from_utf8(fresh).expect("UTF-8 header");
    let path = root.join("include/lsq.h");
    if std::env::var_os("LSQ_BLESS").is_some() {
        std::fs::write(&path, &fresh).expect("write include/lsq.h");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "include/lsq.h is out of date with src/ffi: run `make header` (LSQ_BLESS=1 cargo test --test header) and commit it"
    );
}
