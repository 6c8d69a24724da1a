//! Session influence: each ulo sign-in session and each refresh-token family keeps the context
//! it began in (address, network prefix, client family); a later use from another network or
//! another client family is a `SESSION_INFLUENCED_USER_RISK` detection (MEDIUM), once per
//! session or family per new context, and never for the same network and client.
//!
//! `ULO_SESSION_INFLUENCE` (`off|monitor|on`, default on) and `ULO_SESSION_INFLUENCE_EXEMPT`
//! (ranges whose addresses never count as a change of network) are its [`Settings`]. The
//! contexts live in the store's `use_contexts` area; no HTTP here: callers pass the address
//! (behind trusted proxies) and the `User-Agent` as a [`Use`].

mod client;
mod model;
mod observe;

pub use client::client_family;
pub use model::{Change, Mode, Settings, Use, UseContext, UseSubject};
pub use observe::{Influence, begin_in, ip_changed_in, observe_in};
