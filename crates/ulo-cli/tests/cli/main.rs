//! ulo-cli's one integration-test binary: real `ulo` processes talking HTTP.

mod admin;
mod devices;
mod dist;
mod logout_durability;
mod procs;
mod serve;
mod vault;
