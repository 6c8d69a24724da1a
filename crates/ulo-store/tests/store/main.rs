//! ulo-store's one integration-test binary.

mod conformance;
mod filter_sql;
