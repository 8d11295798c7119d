//! Link flags for liblsq.so on ELF platforms:
//! - soname liblsq.so.0, so installed programs bind to the ABI, not a file;
//! - `-z nodelete`, so a host that dlclose()s a module linked to liblsq never
//!   unmaps code that library threads or thread-local destructors still run.
fn main() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if matches!(
        os.as_str(),
        "linux" | "freebsd" | "netbsd" | "openbsd" | "dragonfly"
    ) {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,liblsq.so.0");
        println!("cargo:rustc-cdylib-link-arg=-Wl,-z,nodelete");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
