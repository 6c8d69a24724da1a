//! ulo-core's one integration-test binary: code that must not compile.

/// A read handle (`Store::read`) has no write methods: a write must take a transaction
/// (`Store::begin`), where it commits with everything else or not at all.
#[test]
fn writes_through_a_read_handle_do_not_compile() {
    trybuild::TestCases::new().compile_fail("tests/ui/*.rs");
}
