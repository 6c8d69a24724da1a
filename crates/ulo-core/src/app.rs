//! Apps: integrations with a sign-on part (OIDC client), a logout part and a provisioning part.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::clock::serde_rfc3339;
use crate::error::{DomainError, Problems};
use crate::ids::AppId;
use crate::user::str_enum;

/// The outbound address policy, kept here too for callers that knew it as an app setting.
pub use crate::outbound::{OutboundPolicy, is_forbidden_ip};

/// What kind of integration an app is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AppType {
    /// An OpenID Connect relying party.
    #[serde(rename = "oidc")]
    Oidc,
    /// The managed computers; its logout setting gates device logout.
    #[serde(rename = "desktop-mfa")]
    DesktopMfa,
}
str_enum!(AppType { Oidc => "oidc", DesktopMfa => "desktop-mfa" });

/// Whether an app is in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AppStatus {
    /// In use.
    Active,
    /// Switched off; may be deleted.
    Inactive,
}
str_enum!(AppStatus { Active => "ACTIVE", Inactive => "INACTIVE" });

/// How an OIDC client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenEndpointAuthMethod {
    /// HTTP Basic with the client secret.
    ClientSecretBasic,
    /// Client secret in the form body.
    ClientSecretPost,
    /// A JWT signed with the client's key.
    PrivateKeyJwt,
    /// A public client (PKCE required).
    None,
}

impl TokenEndpointAuthMethod {
    /// Whether this method uses a client secret ulo issues.
    pub fn uses_secret(self) -> bool {
        matches!(self, Self::ClientSecretBasic | Self::ClientSecretPost)
    }
}

/// An OAuth 2.0 grant type a client may use at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    /// Authorization code (with PKCE).
    AuthorizationCode,
    /// Refresh token (rotated on use).
    RefreshToken,
    /// Client credentials (confidential clients only).
    ClientCredentials,
}
str_enum!(GrantType { AuthorizationCode => "authorization_code", RefreshToken => "refresh_token", ClientCredentials => "client_credentials" });

/// An asymmetric JWS algorithm ulo signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum SigningAlg {
    /// ECDSA P-256 with SHA-256 (the default).
    #[default]
    #[serde(rename = "ES256")]
    Es256,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    #[serde(rename = "RS256")]
    Rs256,
}
str_enum!(SigningAlg { Es256 => "ES256", Rs256 => "RS256" });

/// Default access token lifetime: five minutes.
pub const DEFAULT_ACCESS_TOKEN_LIFETIME: u32 = 300;
/// Default refresh token lifetime (renewed on each rotation): thirty days.
pub const DEFAULT_REFRESH_TOKEN_LIFETIME: u32 = 30 * 24 * 3600;

fn default_grant_types() -> Vec<GrantType> {
    vec![GrantType::AuthorizationCode, GrantType::RefreshToken]
}

fn default_access_lifetime() -> u32 {
    DEFAULT_ACCESS_TOKEN_LIFETIME
}

fn default_refresh_lifetime() -> u32 {
    DEFAULT_REFRESH_TOKEN_LIFETIME
}

/// The universal logout protocol an app speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LogoutProtocol {
    /// IETF Global Token Revocation (Okta's Universal Logout).
    GlobalTokenRevocation,
    /// OpenID Connect Back-Channel Logout 1.0.
    OidcBackchannel,
    /// Shared Signals (CAEP session-revoked).
    Ssf,
}
str_enum!(LogoutProtocol { GlobalTokenRevocation => "global-token-revocation", OidcBackchannel => "oidc-backchannel", Ssf => "ssf" });

/// How a logout request names the user (RFC 9493 formats).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectFormat {
    /// `{"format":"email","email":…}`.
    #[default]
    Email,
    /// `{"format":"iss_sub","iss":…,"sub":<the app's id for the user>}`.
    IssSub,
}

/// The OIDC client part of an app.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OidcClient {
    /// Public client identifier.
    pub client_id: String,
    /// Allowed redirect URIs (exact match).
    pub redirect_uris: Vec<String>,
    /// Allowed post-logout redirect URIs.
    pub post_logout_redirect_uris: Vec<String>,
    /// Token endpoint authentication.
    pub token_endpoint_auth_method: TokenEndpointAuthMethod,
    /// Whether back-channel logout tokens must carry `sid`.
    pub backchannel_logout_session_required: bool,
    /// Grant types the client may use.
    #[serde(default = "default_grant_types")]
    pub grant_types: Vec<GrantType>,
    /// Lifetime of the JWT access tokens it gets, in seconds.
    #[serde(default = "default_access_lifetime")]
    pub access_token_lifetime_seconds: u32,
    /// Lifetime of its refresh tokens, in seconds; each rotation starts it anew.
    #[serde(default = "default_refresh_lifetime")]
    pub refresh_token_lifetime_seconds: u32,
    /// How its ID tokens are signed.
    #[serde(default)]
    pub id_token_signed_response_alg: SigningAlg,
    /// The client's public keys (JWKS) for `private_key_jwt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<serde_json::Value>,
}

impl OidcClient {
    /// Whether the client may use `grant`.
    pub fn allows(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }

    /// Whether the client can keep a secret (authenticates with a secret or a key).
    pub fn is_confidential(&self) -> bool {
        self.token_endpoint_auth_method != TokenEndpointAuthMethod::None
    }
}

/// The logout part of an app.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogoutSettings {
    /// Whether Universal Logout reaches this app.
    pub enabled: bool,
    /// Protocol (not used by desktop-mfa apps).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<LogoutProtocol>,
    /// Endpoint to call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// How the user is named.
    pub subject_format: SubjectFormat,
}

/// The SCIM target ulo pushes assigned users to. The credential is kept sealed, apart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScimTarget {
    /// The SCIM base URL, e.g. `https://app.example.com/scim/v2`.
    pub base_url: String,
    /// Whether a bearer credential is stored.
    pub token_set: bool,
}

/// The provisioning part of an app.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Provisioning {
    /// SCIM 2.0 target.
    pub scim: ScimTarget,
}

/// Secrets of an app, never serialized: a hash of the client secret and the sealed SCIM credential.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AppSecrets {
    /// SHA-256 hex of the client secret.
    pub client_secret_hash: Option<String>,
    /// The SCIM bearer token, sealed with the master key.
    pub scim_token_sealed: Option<String>,
}

/// An integration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct App {
    /// Stable id.
    pub id: AppId,
    /// Name shown to people.
    pub label: String,
    /// Kind of integration.
    #[serde(rename = "type")]
    pub app_type: AppType,
    /// In use or not.
    pub status: AppStatus,
    /// When created.
    #[serde(with = "serde_rfc3339")]
    pub created: OffsetDateTime,
    /// When last changed.
    #[serde(with = "serde_rfc3339")]
    pub last_updated: OffsetDateTime,
    /// Sign-on part.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oidc: Option<OidcClient>,
    /// Logout part.
    pub logout: LogoutSettings,
    /// Provisioning part.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provisioning: Option<Provisioning>,
    /// Secrets, kept apart from the JSON form.
    #[serde(skip)]
    pub secrets: AppSecrets,
}

/// What an admin sends to create or replace an app.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AppInput {
    /// Name shown to people.
    #[serde(default)]
    pub label: String,
    /// Kind of integration.
    #[serde(rename = "type")]
    pub app_type: AppType,
    /// Sign-on part.
    #[serde(default)]
    pub oidc: Option<OidcInput>,
    /// Logout part.
    #[serde(default)]
    pub logout: Option<LogoutInput>,
    /// Provisioning part.
    #[serde(default)]
    pub provisioning: Option<ProvisioningInput>,
}

/// OIDC client settings as sent by an admin.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OidcInput {
    /// Allowed redirect URIs.
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// Allowed post-logout redirect URIs.
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// Token endpoint authentication (default `client_secret_basic`).
    #[serde(default)]
    pub token_endpoint_auth_method: Option<TokenEndpointAuthMethod>,
    /// Whether back-channel logout tokens must carry `sid`.
    #[serde(default)]
    pub backchannel_logout_session_required: bool,
    /// Grant types (default `authorization_code` and `refresh_token`).
    #[serde(default)]
    pub grant_types: Option<Vec<GrantType>>,
    /// Access token lifetime in seconds, 60 to 86400 (default 300).
    #[serde(default)]
    pub access_token_lifetime_seconds: Option<u32>,
    /// Refresh token lifetime in seconds, 300 to 31536000 (default 30 days).
    #[serde(default)]
    pub refresh_token_lifetime_seconds: Option<u32>,
    /// ID token signing algorithm (default `ES256`).
    #[serde(default)]
    pub id_token_signed_response_alg: Option<SigningAlg>,
    /// Public keys for `private_key_jwt` (a JWKS: `{"keys":[…]}`).
    #[serde(default)]
    pub jwks: Option<serde_json::Value>,
}

/// Members of a JWK that only a private key has.
const PRIVATE_JWK_MEMBERS: [&str; 7] = ["d", "p", "q", "dp", "dq", "qi", "k"];

impl OidcInput {
    /// The auth method, with its default.
    pub fn auth_method(&self) -> TokenEndpointAuthMethod {
        self.token_endpoint_auth_method
            .unwrap_or(TokenEndpointAuthMethod::ClientSecretBasic)
    }

    /// Records what is wrong with the OAuth settings.
    fn check(&self, p: &mut Problems) {
        let method = self.auth_method();
        if let Some(s) = self.access_token_lifetime_seconds {
            p.check(
                !(60..=86_400).contains(&s),
                "oidc.accessTokenLifetimeSeconds: must be 60 to 86400",
            );
        }
        if let Some(s) = self.refresh_token_lifetime_seconds {
            p.check(
                !(300..=31_536_000).contains(&s),
                "oidc.refreshTokenLifetimeSeconds: must be 300 to 31536000",
            );
        }
        if let Some(g) = &self.grant_types {
            p.check(
                g.is_empty(),
                "oidc.grantTypes: name at least one grant type",
            );
            p.check(
                g.contains(&GrantType::ClientCredentials)
                    && method == TokenEndpointAuthMethod::None,
                "oidc.grantTypes: client_credentials needs a confidential client (tokenEndpointAuthMethod other than none)",
            );
        }
        match (&self.jwks, method) {
            (None, TokenEndpointAuthMethod::PrivateKeyJwt) => {
                p.add("oidc.jwks: required with private_key_jwt: the client's public keys")
            }
            (Some(_), m) if m != TokenEndpointAuthMethod::PrivateKeyJwt => {
                p.add("oidc.jwks: only used with tokenEndpointAuthMethod private_key_jwt")
            }
            (Some(jwks), _) => {
                if let Err(msg) = check_public_jwks(jwks) {
                    p.add(format!("oidc.jwks: {msg}"));
                }
            }
            (None, _) => {}
        }
    }
}

/// Checks a client's JWKS: public asymmetric keys only, at most 20.
fn check_public_jwks(jwks: &serde_json::Value) -> Result<(), String> {
    let keys = jwks
        .get("keys")
        .and_then(serde_json::Value::as_array)
        .ok_or("must be an object with a \"keys\" array")?;
    if keys.is_empty() || keys.len() > 20 {
        return Err("must hold 1 to 20 keys".into());
    }
    for (i, k) in keys.iter().enumerate() {
        let kty = k.get("kty").and_then(serde_json::Value::as_str);
        if !matches!(kty, Some("RSA" | "EC" | "OKP")) {
            return Err(format!("keys[{i}]: kty must be RSA, EC or OKP"));
        }
        if let Some(m) = PRIVATE_JWK_MEMBERS.iter().find(|m| k.get(**m).is_some()) {
            return Err(format!(
                "keys[{i}]: contains private member {m:?}; send only public keys"
            ));
        }
    }
    Ok(())
}

/// Logout settings as sent by an admin.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LogoutInput {
    /// Whether Universal Logout reaches this app.
    #[serde(default)]
    pub enabled: bool,
    /// Protocol.
    #[serde(default)]
    pub protocol: Option<LogoutProtocol>,
    /// Endpoint.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Subject format (default `email`).
    #[serde(default)]
    pub subject_format: Option<SubjectFormat>,
}

/// Provisioning settings as sent by an admin.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvisioningInput {
    /// SCIM target.
    pub scim: ScimInput,
}

/// SCIM target as sent by an admin; the token is write-only.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScimInput {
    /// SCIM base URL.
    pub base_url: String,
    /// Bearer token; omitted on replace to keep the stored one.
    #[serde(default)]
    pub token: Option<String>,
}

impl AppInput {
    /// Validates the input and checks outbound URLs against `policy`.
    pub fn validate(&self, policy: &OutboundPolicy) -> Result<(), DomainError> {
        let mut p = Problems::default();
        p.check(
            self.label.trim().is_empty(),
            "label: The field cannot be left blank",
        );
        p.check(self.label.len() > 255, "label: at most 255 bytes");
        match self.app_type {
            AppType::Oidc => {
                if let Some(o) = &self.oidc {
                    o.check(&mut p);
                    for u in o.redirect_uris.iter().chain(&o.post_logout_redirect_uris) {
                        match url::Url::parse(u) {
                            Err(e) => {
                                p.add(format!("oidc.redirectUris: {u:?} is not a valid URL ({e})"))
                            }
                            Ok(url) if url.fragment().is_some() => p.add(format!(
                                "oidc.redirectUris: {u:?} must not contain a fragment"
                            )),
                            Ok(_) => {}
                        }
                    }
                }
            }
            AppType::DesktopMfa => {
                if let Some(l) = &self.logout {
                    p.check(
                        l.protocol.is_some() || l.endpoint.is_some(),
                        "logout: a desktop-mfa app signs people out of devices; it takes no protocol or endpoint",
                    );
                }
                p.check(
                    self.provisioning.is_some(),
                    "provisioning: not supported for desktop-mfa apps",
                );
            }
        }
        if let Some(l) = &self.logout
            && self.app_type == AppType::Oidc
        {
            if l.enabled {
                p.check(
                    l.protocol.is_none(),
                    "logout.protocol: required when logout is enabled",
                );
                p.check(
                    l.endpoint.is_none(),
                    "logout.endpoint: required when logout is enabled",
                );
            }
            if let Some(e) = &l.endpoint
                && let Err(msg) = policy.check_url("logout.endpoint", e)
            {
                p.add(msg);
            }
        }
        if let Some(pr) = &self.provisioning {
            if let Err(msg) = policy.check_url("provisioning.scim.baseUrl", &pr.scim.base_url) {
                p.add(msg);
            }
            if let Some(t) = &pr.scim.token {
                p.check(
                    t.trim().is_empty() || t.len() > 4096,
                    "provisioning.scim.token: must be 1 to 4096 characters",
                );
            }
        }
        p.finish("Api validation failed: app")
    }

    /// The logout part this input describes.
    pub fn logout_settings(&self) -> LogoutSettings {
        let l = self.logout.clone().unwrap_or_default();
        LogoutSettings {
            enabled: l.enabled,
            protocol: l.protocol,
            endpoint: l.endpoint,
            subject_format: l.subject_format.unwrap_or_default(),
        }
    }
}
