//! The schemas of the OpenAPI document: the JSON each endpoint takes and answers.

mod apps;
mod devices;
mod directory;
mod logout;
mod oauth;
mod profile;
mod risk;
mod sessions;
mod ssf;

pub use apps::*;
pub use devices::*;
pub use directory::*;
pub use logout::*;
pub use oauth::*;
pub use profile::*;
pub use risk::*;
pub use sessions::*;
pub use ssf::*;
