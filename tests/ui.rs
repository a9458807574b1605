//! Compile errors are user interface: each `tests/ui/fail/*.rs` is a mistake a
//! user can make, and its `.stderr` is what the user reads.
//!
//! The snapshots were taken with rustc 1.95.0 (stable). The compiler's own
//! messages (type errors) change between Rust versions; the macro's messages
//! do not. After a toolchain update, review the differences and refresh with
//! `TRYBUILD=overwrite cargo test --test ui`.
//!
//! The pass cases are registered on the same `TestCases` on purpose: with
//! them, trybuild builds the failing cases instead of only checking them, so
//! errors raised when a generic function is instantiated (a size assertion
//! in `const { }`) are seen too.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass/*.rs");
    cases.compile_fail("tests/ui/fail/*.rs");
}
