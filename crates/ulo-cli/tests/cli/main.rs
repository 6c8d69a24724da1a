//! ulo-cli's one integration-test binary: real `ulo` processes talking HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests and harnesses: a panic is a failure report

mod admin;
mod devices;
mod dist;
mod logout_durability;
mod procs;
mod risk_durability;
mod risk_seed;
mod serve;
mod vault;
