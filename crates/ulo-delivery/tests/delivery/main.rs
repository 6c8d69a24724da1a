//! ulo-delivery's one integration-test binary: the worker against real stores and a fake endpoint.

mod endpoint;
mod logout_request;
mod recording;
mod worker;
