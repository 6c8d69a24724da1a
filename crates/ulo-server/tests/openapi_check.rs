//! Temporary harness for tests/api/openapi.rs (delete before hand-off).
#[path = "api/openapi.rs"]
mod openapi;
