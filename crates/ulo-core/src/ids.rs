//! Typed identifiers: time-ordered UUID v7 so keyset paging works on every backend.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new, time-ordered id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

typed_id!(
    /// A person in the directory.
    UserId
);
typed_id!(
    /// A group of users.
    GroupId
);
typed_id!(
    /// An app integration.
    AppId
);
typed_id!(
    /// An admin API token.
    ApiTokenId
);
typed_id!(
    /// A System Log event.
    EventId
);
typed_id!(
    /// A durable job.
    JobId
);
typed_id!(
    /// One transaction: every event written by one action shares it.
    TransactionId
);
typed_id!(
    /// A ulo sign-in session (`sid` in ID tokens).
    SessionId
);
typed_id!(
    /// A refresh token.
    RefreshTokenId
);
typed_id!(
    /// A family of refresh tokens descending from one authorization.
    GrantId
);
typed_id!(
    /// One Universal Logout of one user.
    LogoutId
);
typed_id!(
    /// An enrolled computer.
    DeviceId
);
typed_id!(
    /// A command ulo issued to a device (e.g. SIGN_OUT).
    DeviceCommandId
);
typed_id!(
    /// A workflow: a signed webhook ulo calls when a rule asks for it.
    WorkflowId
);
typed_id!(
    /// One risk detection about a user.
    DetectionId
);
typed_id!(
    /// A policy (the Entity Risk Policy).
    PolicyId
);
typed_id!(
    /// A rule of a policy.
    PolicyRuleId
);
