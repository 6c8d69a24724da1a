//! ulo-vault's one integration-test binary: a real ulo, a real vault and the demo app on
//! loopback, talking HTTP; SQLite always, PostgreSQL too when `ULO_TEST_DATABASE_URL` is set.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests and harnesses: a panic is a failure report

mod browser;
mod connector;
mod e2e;
mod guard;
mod logout;
mod scim;
mod store;
mod support;
