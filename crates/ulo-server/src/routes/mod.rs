//! The HTTP surface: one module per resource; handlers stay thin.

pub mod apps;
pub mod groups;
pub mod logs;
pub mod meta;
pub mod openapi;
pub mod paging;
pub mod tokens;
pub mod users;
