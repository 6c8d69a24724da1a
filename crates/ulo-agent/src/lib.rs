//! The ulo device agent: enrolls a computer with ulo's device CA, polls ulo for signed
//! commands (a long-poll answered the moment one is issued, or a periodic poll), signs the
//! person out of the machine, and acknowledges with the outcome.
//!
//! Every call after enrollment is signed with the device key (a short-lived JWT naming the
//! request), and every command is verified against the ulo keys pinned at enrollment.

pub mod client;
pub mod clock;
pub mod command;
pub mod enroll;
pub mod keyset;
pub mod machine;
pub mod run;
pub mod signout;
pub mod state;

/// This agent's version, reported at enrollment and on every poll.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// What went wrong, by what the agent should do about it.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The server refused this device or request (4xx): retrying the same will not help.
    #[error("refused by the server ({status}): {message}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// The server's reason.
        message: String,
    },
    /// The server could not be reached or failed (network, 5xx): try again later.
    #[error("server unavailable: {0}")]
    Unavailable(String),
    /// Something on this machine (state directory, key, command).
    #[error("{0}")]
    Local(String),
}

impl AgentError {
    pub(crate) fn local(context: &str, e: impl std::fmt::Display) -> Self {
        AgentError::Local(format!("{context}: {e}"))
    }
}
