//! Every ```c block of README.md compiles, warning-free
//! (-std=c99 -Wall -Wextra -Wpedantic -Werror, against include/lsq.h).
//!
//! The rule, so the README can show fragments and still be checked:
//! - a block with `int main(` is a whole program: compiled as it is;
//! - any other block is a fragment of a program that has a client `c` and
//!   options `o`: its function definitions (from a line starting `static`
//!   at column 0 to the next `}` at column 0) are moved to file scope, in
//!   the order read (a definition after the fragment's statements goes after
//!   its function, so a fragment uses only what it declared first), the
//!   remaining lines become the body of
//!   `static void fragment(lsq_client *c, lsq_options *o)`, and a line that
//!   is just `...` (code left out) is dropped. The stub includes <stdio.h>,
//!   <stdlib.h>, <time.h> and "lsq.h". Each block is its own translation
//!   unit, compiled with -c.

mod support;

use support::*;

const STUB_HEAD: &str =
    "#include <stdio.h>\n#include <stdlib.h>\n#include <time.h>\n#include \"lsq.h\"\n";

/// The ```c blocks of `markdown`, with the line each starts on.
fn c_blocks(markdown: &str) -> Vec<(usize, String)> {
    let mut blocks = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, line) in markdown.lines().enumerate() {
        match &mut current {
            None if line.trim_end() == "```c" => current = Some((i + 1, String::new())),
            Some(_) if line.trim_end() == "```" => blocks.extend(current.take()),
            Some((_, text)) => {
                text.push_str(line);
                text.push('\n');
            }
            None => {}
        }
    }
    blocks
}

/// The translation unit for one block, following the rule above.
fn translation_unit(block: &str) -> String {
    if block.contains("int main(") {
        return block.to_string();
    }
    let (mut before, mut body, mut after) = (String::new(), String::new(), String::new());
    let mut in_definition = false;
    for line in block.lines() {
        if line.starts_with("static") {
            in_definition = true;
        }
        if in_definition {
            let scope = if body.is_empty() {
                &mut before
            } else {
                &mut after
            };
            scope.push_str(line);
            scope.push('\n');
            in_definition = !line.starts_with('}');
        } else if line.trim() != "..." {
            body.push_str("    ");
            body.push_str(line);
            body.push('\n');
        }
    }
    format!(
        "{STUB_HEAD}\n{before}\nvoid fragment(lsq_client *c, lsq_options *o);\n\
         void fragment(lsq_client *c, lsq_options *o)\n{{\n    (void)c;\n    (void)o;\n{body}}}\n\n{after}"
    )
}

#[test]
fn every_c_block_of_the_readme_compiles() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let blocks = c_blocks(&readme);
    assert!(blocks.len() >= 3, "found {} C blocks", blocks.len());
    let dir = std::env::temp_dir().join(format!("lsq-readme-c-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut failures = Vec::new();
    for (line, block) in &blocks {
        let source = dir.join(format!("readme_line_{line}.c"));
        std::fs::write(&source, translation_unit(block)).expect("write block");
        if let Err(diagnostics) = check_c_compiles(&source) {
            failures.push(format!("README.md line {line}:\n{diagnostics}"));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_whole_call_example_runs_against_the_emulator() {
    use lsq_emulator::Endpoint;
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let (_, program) = c_blocks(&readme)
        .into_iter()
        .find(|(_, b)| b.contains("int main("))
        .expect("the whole-call example");
    let dir = std::env::temp_dir().join(format!("lsq-readme-run-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let source = dir.join("readme_whole_call.c");
    std::fs::write(&source, program).expect("write the example");
    let exe = compile_source(&source, Link::Dynamic);
    let emu = emulator(Config {
        data: lsq_emulator::Data::sample(),
        ..Config::default()
    });
    let outbox = dir.join("outbox.db");
    let out = run_c(
        &exe,
        &emu,
        &[
            ("LSQ_HOST", emu.url()),
            ("LSQ_ACCESS_KEY", DEFAULT_ACCESS_KEY),
            ("LSQ_SECRET_KEY", DEFAULT_SECRET_KEY),
            ("LSQ_OUTBOX", outbox.to_str().unwrap()),
        ],
        std::time::Duration::from_secs(60),
    );
    assert_passed("README's whole-call example", &out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        String::from_utf8_lossy(&out.stderr).is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("owned by "), "{stdout}");
    assert_eq!(stdout.matches("popup shown: ").count(), 2, "{stdout}");
    // One lookup for the whole call (the ring-all used the cached lead),
    // a popup per agent, the call log delivered from the outbox.
    assert_eq!(emu.count_for_with_status(Endpoint::LeadByPhone, 200), 1);
    assert_eq!(emu.count_for_with_status(Endpoint::Popup, 200), 2);
    assert_eq!(emu.count_for_with_status(Endpoint::LogCall, 200), 1);
    assert!(outbox.exists(), "the call log went through the outbox");
    let _ = std::fs::remove_dir_all(&dir);
}
