//! The types of security events providers and the event types ulo accepts from them.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::clock::serde_rfc3339;

/// The `type` of every provider (Okta's name).
pub const PROVIDER_TYPE: &str = "security_events_provider";

/// The event type URIs ulo accepts (SPEC §3).
pub mod events {
    /// CAEP: a session was revoked.
    pub const SESSION_REVOKED: &str =
        "https://schemas.openid.net/secevent/caep/event-type/session-revoked";
    /// CAEP: a device's compliance changed.
    pub const DEVICE_COMPLIANCE_CHANGE: &str =
        "https://schemas.openid.net/secevent/caep/event-type/device-compliance-change";
    /// CAEP: a risk level changed.
    pub const RISK_LEVEL_CHANGE: &str =
        "https://schemas.openid.net/secevent/caep/event-type/risk-level-change";
    /// CAEP: a credential changed.
    pub const CREDENTIAL_CHANGE: &str =
        "https://schemas.openid.net/secevent/caep/event-type/credential-change";
    /// RISC: a credential was compromised.
    pub const CREDENTIAL_COMPROMISE: &str =
        "https://schemas.openid.net/secevent/risc/event-type/credential-compromise";
    /// RISC: an account was disabled.
    pub const ACCOUNT_DISABLED: &str =
        "https://schemas.openid.net/secevent/risc/event-type/account-disabled";
    /// RISC: an identifier changed.
    pub const IDENTIFIER_CHANGED: &str =
        "https://schemas.openid.net/secevent/risc/event-type/identifier-changed";
    /// Okta: a user's risk changed.
    pub const USER_RISK_CHANGE: &str =
        "https://schemas.okta.com/secevent/okta/event-type/user-risk-change";
    /// Okta: a device's risk changed.
    pub const DEVICE_RISK_CHANGE: &str =
        "https://schemas.okta.com/secevent/okta/event-type/device-risk-change";
    /// Okta: a user's IP address changed.
    pub const IP_CHANGE: &str = "https://schemas.okta.com/secevent/okta/event-type/ip-change";

    /// Every accepted event type.
    pub const ACCEPTED: [&str; 10] = [
        SESSION_REVOKED,
        DEVICE_COMPLIANCE_CHANGE,
        RISK_LEVEL_CHANGE,
        CREDENTIAL_CHANGE,
        CREDENTIAL_COMPROMISE,
        ACCOUNT_DISABLED,
        IDENTIFIER_CHANGED,
        USER_RISK_CHANGE,
        DEVICE_RISK_CHANGE,
        IP_CHANGE,
    ];
}

/// Whether a provider's SETs are accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ProviderStatus {
    /// Its SETs are accepted.
    Active,
    /// Its SETs are refused (`invalid_issuer`).
    Inactive,
}

impl ProviderStatus {
    /// `ACTIVE` or `INACTIVE`.
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderStatus::Active => "ACTIVE",
            ProviderStatus::Inactive => "INACTIVE",
        }
    }
}

/// A registered security events provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Provider {
    /// Id.
    pub id: String,
    /// Name to show.
    pub name: String,
    /// Active or not.
    pub status: ProviderStatus,
    /// The `iss` of its SETs (unique among providers).
    pub issuer: String,
    /// Where its public keys are (from the admin, or the SSF configuration's `jwks_uri`).
    pub jwks_url: String,
    /// Its SSF configuration, when registered by it.
    pub well_known_url: Option<String>,
    /// Created.
    #[serde(with = "serde_rfc3339")]
    pub created: OffsetDateTime,
    /// Last changed.
    #[serde(with = "serde_rfc3339")]
    pub last_updated: OffsetDateTime,
}

/// How a provider is described: its issuer and keys, or its SSF configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderSettings {
    /// The `iss` of its SETs.
    #[serde(default)]
    pub issuer: Option<String>,
    /// Its JWKS URL.
    #[serde(default)]
    pub jwks_url: Option<String>,
    /// Its SSF configuration URL (`…/.well-known/ssf-configuration`).
    #[serde(default, rename = "wellKnownUrl")]
    pub well_known_url: Option<String>,
}

/// What an admin sends to register or change a provider.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewProvider {
    /// Name.
    pub name: String,
    /// `security_events_provider`.
    #[serde(rename = "type", default)]
    pub provider_type: Option<String>,
    /// Issuer and keys, or SSF configuration.
    pub settings: ProviderSettings,
}

/// What ulo reads of a provider's SSF configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsfConfiguration {
    /// Its `issuer`.
    pub issuer: String,
    /// Its `jwks_uri`.
    pub jwks_uri: String,
}

/// Reads SSF configurations (the HTTP side lives outside ulo-core).
#[async_trait]
pub trait Discovery: Send + Sync {
    /// The SSF configuration at `url`; the error says what went wrong, for an admin.
    async fn ssf_configuration(&self, url: &str) -> Result<SsfConfiguration, String>;
}
