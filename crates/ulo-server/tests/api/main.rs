//! ulo-server's one integration-test binary: the admin API over real HTTP, on every backend.

mod apps;
mod auth;
mod errors;
mod groups;
mod logs;
mod paging;
mod support;
mod tokens;
mod users;
mod openapi;
