//! ulo-server's one integration-test binary: the admin API over real HTTP, on every backend.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests and harnesses: a panic is a failure report

mod account;
mod apps;
mod auth;
mod browser;
mod console;
mod devices;
mod errors;
mod groups;
mod gtr;
mod logout;
mod logs;
mod look_alike_logins;
mod oauth2;
mod oidc_cors;
mod oidc_interop;
mod oidc_prompt;
mod openapi;
mod openapi_answers;
mod paging;
mod policies;
mod provisioning;
mod risk;
mod risk_sources;
mod scim;
mod scim_filters;
mod security_events;
mod session_influence;
mod sessions;
mod signin;
mod single_logout;
mod ssf;
mod support;
mod tokens;
mod users;
mod workflows;
