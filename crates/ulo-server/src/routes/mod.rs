//! The HTTP surface: one module per resource; handlers stay thin.

pub mod account;
pub mod agent;
pub mod apps;
pub mod devices;
pub mod factors;
pub mod features;
pub mod groups;
pub mod idps;
pub mod login;
pub mod logouts;
pub mod logs;
pub mod meta;
pub mod metadata;
pub mod oauth2;
pub mod openapi;
pub mod page;
pub mod paging;
pub mod scim;
pub mod scim_credentials;
pub mod sessions;
pub mod ssf;
pub mod tokens;
pub mod users;
