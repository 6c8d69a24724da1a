//! ulo-cli's one integration-test binary: real `ulo` processes talking HTTP.

mod admin;
mod procs;
mod serve;
