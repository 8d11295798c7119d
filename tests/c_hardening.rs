//! tests/c/hardening.c: hostile servers, TLS, bad input and a free over
//! pending popups through the C ABI, from a C program. This is what CI runs
//! under valgrind memcheck (LSQ_TEST_WRAPPER) and ASan+UBSan
//! (LSQ_TEST_CFLAGS); its output is grepped for the keys.

#[path = "support/hardening_c.rs"]
mod hardening_c;
mod support;

#[test]
fn hardening_c_program() {
    hardening_c::run_hardening_c();
}
