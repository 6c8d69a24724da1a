//! ulo-delivery's one integration-test binary: the worker against real stores and a fake endpoint.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests and harnesses: a panic is a failure report

mod endpoint;
mod logout_request;
mod recording;
mod worker;
