//! The OpenID Provider.

use utoipa::ToSchema;

#[allow(unused_imports)]
use super::*;

#[derive(ToSchema)]
pub enum OAuthErrorError {
    #[serde(rename = "invalid_request")]
    InvalidRequest,
    #[serde(rename = "invalid_client")]
    InvalidClient,
    #[serde(rename = "invalid_grant")]
    InvalidGrant,
    #[serde(rename = "unauthorized_client")]
    UnauthorizedClient,
    #[serde(rename = "unsupported_grant_type")]
    UnsupportedGrantType,
    #[serde(rename = "unsupported_response_type")]
    UnsupportedResponseType,
    #[serde(rename = "invalid_scope")]
    InvalidScope,
    #[serde(rename = "access_denied")]
    AccessDenied,
    #[serde(rename = "login_required")]
    LoginRequired,
    #[serde(rename = "request_not_supported")]
    RequestNotSupported,
    #[serde(rename = "request_uri_not_supported")]
    RequestUriNotSupported,
    #[serde(rename = "unsupported_token_type")]
    UnsupportedTokenType,
    #[serde(rename = "invalid_token")]
    InvalidToken,
    #[serde(rename = "insufficient_scope")]
    InsufficientScope,
    #[serde(rename = "server_error")]
    ServerError,
    #[serde(rename = "temporarily_unavailable")]
    TemporarilyUnavailable,
}

/// An OAuth 2.0 error (RFC 6749 §5.2).
#[derive(ToSchema)]
pub struct OAuthError {
    #[schema(inline)]
    pub error: OAuthErrorError,
    /// A sentence for the app's developer.
    #[schema(required = false)]
    pub error_description: String,
}

/// The authorization request as a form (same parameters as the GET query).
#[derive(ToSchema)]
pub struct AuthorizeRequest {
    /// The client (required).
    pub client_id: String,
    /// Exactly one of the client's registered redirect URIs (required).
    pub redirect_uri: String,
    /// code (the only type).
    pub response_type: String,
    /// Space-separated: openid, profile, email, offline_access (a refresh token).
    pub scope: String,
    /// Echoed back.
    #[schema(required = false)]
    pub state: String,
    /// Copied into the ID token.
    #[schema(required = false)]
    pub nonce: String,
    /// PKCE S256 challenge; required for public clients.
    #[schema(required = false)]
    pub code_challenge: String,
    /// S256.
    #[schema(required = false)]
    pub code_challenge_method: String,
    /// none, login, select_account, consent (see the GET parameter).
    #[schema(required = false)]
    pub prompt: String,
    /// Seconds since the last sign-in beyond which the person signs in again.
    #[schema(required = false)]
    pub max_age: String,
    /// query (the only mode).
    #[schema(required = false)]
    pub response_mode: String,
}

#[derive(ToSchema)]
pub enum TokenRequestGrantType {
    #[serde(rename = "authorization_code")]
    AuthorizationCode,
    #[serde(rename = "refresh_token")]
    RefreshToken,
    #[serde(rename = "client_credentials")]
    ClientCredentials,
}

#[derive(ToSchema)]
pub enum TokenRequestClientAssertionType {
    #[serde(rename = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")]
    UrnIetfParamsOauthClientAssertionTypeJwtBearer,
}

#[derive(ToSchema)]
pub struct TokenRequest {
    #[schema(inline)]
    pub grant_type: TokenRequestGrantType,
    /// authorization_code: the code.
    #[schema(required = false)]
    pub code: String,
    /// authorization_code: the redirect_uri of the authorization request.
    #[schema(required = false)]
    pub redirect_uri: String,
    /// authorization_code: the PKCE verifier, when a challenge was sent.
    #[schema(required = false)]
    pub code_verifier: String,
    /// refresh_token: the current refresh token of the family.
    #[schema(required = false)]
    pub refresh_token: String,
    /// refresh_token: a subset of the granted scopes; client_credentials: none (ulo defines no client scopes).
    #[schema(required = false)]
    pub scope: String,
    /// The client (client_secret_post, none; optional with Basic or an assertion).
    #[schema(required = false)]
    pub client_id: String,
    /// client_secret_post only.
    #[schema(required = false)]
    pub client_secret: String,
    #[schema(inline, required = false)]
    pub client_assertion_type: TokenRequestClientAssertionType,
    /// private_key_jwt: a JWT signed with a key of the client's registered jwks; iss and sub the client_id, aud the token endpoint URL (or the issuer), exp at most an hour away, a jti used once.
    #[schema(required = false)]
    pub client_assertion: String,
}

#[derive(ToSchema)]
pub enum TokenResponseTokenType {
    #[serde(rename = "Bearer")]
    Bearer,
}

#[derive(ToSchema)]
pub struct TokenResponse {
    /// A JWT (typ at+jwt, ES256) with iss, sub (user id, or the client_id for client_credentials), aud (the issuer), client_id, scope, jti, iat, exp, auth_time; 5 minutes by default (the app's accessTokenLifetimeSeconds).
    pub access_token: String,
    #[schema(inline)]
    pub token_type: TokenResponseTokenType,
    pub expires_in: i64,
    pub scope: String,
    /// Opaque, rotated on every use; only when offline_access was granted.
    #[schema(required = false)]
    pub refresh_token: String,
    /// A JWT (typ JWT; ES256, or the app's idTokenSignedResponseAlg) with iss, sub, aud (client_id), exp (1 hour), iat, auth_time, nonce, sid, amr, at_hash and the profile/email claims the scopes allow; when openid was granted.
    #[schema(required = false)]
    pub id_token: String,
}

#[derive(ToSchema)]
pub enum IntrospectionRequestTokenTypeHint {
    #[serde(rename = "access_token")]
    AccessToken,
    #[serde(rename = "refresh_token")]
    RefreshToken,
}

#[derive(ToSchema)]
pub enum IntrospectionRequestClientAssertionType {
    #[serde(rename = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")]
    UrnIetfParamsOauthClientAssertionTypeJwtBearer,
}

#[derive(ToSchema)]
pub struct IntrospectionRequest {
    /// An access or refresh token.
    pub token: String,
    #[schema(inline, required = false)]
    pub token_type_hint: IntrospectionRequestTokenTypeHint,
    /// The client (client_secret_post, none; optional with Basic or an assertion).
    #[schema(required = false)]
    pub client_id: String,
    /// client_secret_post only.
    #[schema(required = false)]
    pub client_secret: String,
    #[schema(inline, required = false)]
    pub client_assertion_type: IntrospectionRequestClientAssertionType,
    /// private_key_jwt: a JWT signed with a key of the client's registered jwks; iss and sub the client_id, aud the token endpoint URL (or the issuer), exp at most an hour away, a jti used once.
    #[schema(required = false)]
    pub client_assertion: String,
}

#[derive(ToSchema)]
pub enum IntrospectionResponseTokenType {
    #[serde(rename = "Bearer")]
    Bearer,
    #[serde(rename = "refresh_token")]
    RefreshToken,
}

#[derive(ToSchema)]
pub struct IntrospectionResponse {
    pub active: bool,
    #[schema(required = false)]
    pub scope: String,
    #[schema(required = false)]
    pub client_id: String,
    /// The user's login.
    #[schema(required = false)]
    pub username: String,
    #[schema(inline, required = false)]
    pub token_type: IntrospectionResponseTokenType,
    #[schema(required = false)]
    pub sub: String,
    #[schema(required = false)]
    pub aud: String,
    #[schema(required = false)]
    pub iss: String,
    #[schema(required = false)]
    pub jti: String,
    #[schema(required = false)]
    pub iat: i64,
    #[schema(required = false)]
    pub exp: i64,
}

#[derive(ToSchema)]
pub enum RevocationRequestTokenTypeHint {
    #[serde(rename = "access_token")]
    AccessToken,
    #[serde(rename = "refresh_token")]
    RefreshToken,
}

#[derive(ToSchema)]
pub enum RevocationRequestClientAssertionType {
    #[serde(rename = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")]
    UrnIetfParamsOauthClientAssertionTypeJwtBearer,
}

#[derive(ToSchema)]
pub struct RevocationRequest {
    /// An access or refresh token.
    pub token: String,
    #[schema(inline, required = false)]
    pub token_type_hint: RevocationRequestTokenTypeHint,
    /// The client (client_secret_post, none; optional with Basic or an assertion).
    #[schema(required = false)]
    pub client_id: String,
    /// client_secret_post only.
    #[schema(required = false)]
    pub client_secret: String,
    #[schema(inline, required = false)]
    pub client_assertion_type: RevocationRequestClientAssertionType,
    /// private_key_jwt: a JWT signed with a key of the client's registered jwks; iss and sub the client_id, aud the token endpoint URL (or the issuer), exp at most an hour away, a jti used once.
    #[schema(required = false)]
    pub client_assertion: String,
}

#[derive(ToSchema)]
pub struct UserInfo {
    pub sub: String,
    #[schema(required = false)]
    pub name: String,
    #[schema(required = false)]
    pub given_name: String,
    #[schema(required = false)]
    pub family_name: String,
    #[schema(required = false)]
    pub preferred_username: String,
    #[schema(required = false)]
    pub nickname: String,
    #[schema(required = false)]
    pub locale: String,
    #[schema(required = false)]
    pub zoneinfo: String,
    #[schema(required = false)]
    pub email: String,
    #[schema(required = false)]
    pub updated_at: i64,
    #[schema(required = false)]
    pub email_verified: bool,
}

#[derive(ToSchema)]
pub struct LogoutRequest {
    /// An ID token ulo issued (expired allowed): its session ends at once.
    #[schema(required = false)]
    pub id_token_hint: String,
    /// The client, when no id_token_hint is sent.
    #[schema(required = false)]
    pub client_id: String,
    /// Where to go after: only a URI registered for the client is followed.
    #[schema(required = false)]
    pub post_logout_redirect_uri: String,
    /// Echoed to post_logout_redirect_uri.
    #[schema(required = false)]
    pub state: String,
    /// Set by ulo's own confirmation page. Without id_token_hint, a signed-in person is signed out only by a POST of that page: ulo_confirm=yes with the page's csrf token (bound to the session cookie), from ulo's own origin (Sec-Fetch-Site, Origin). A link or another site's form only shows the question again.
    #[schema(required = false)]
    pub ulo_confirm: String,
    /// The confirmation page's form token.
    #[schema(required = false)]
    pub csrf: String,
}

#[derive(ToSchema)]
pub enum JwksKeysItemKty {
    #[serde(rename = "EC")]
    Ec,
    #[serde(rename = "RSA")]
    Rsa,
}

#[derive(ToSchema)]
pub enum JwksKeysItemAlg {
    #[serde(rename = "ES256")]
    Es256,
    #[serde(rename = "RS256")]
    Rs256,
}

#[derive(ToSchema)]
pub enum JwksKeysItemUse {
    #[serde(rename = "sig")]
    Sig,
}

/// A public JWK (never private parts).
#[derive(ToSchema)]
pub struct JwksKeysItem {
    #[schema(inline)]
    pub kty: JwksKeysItemKty,
    /// RFC 7638 thumbprint.
    pub kid: String,
    #[schema(inline)]
    pub alg: JwksKeysItemAlg,
    #[serde(rename = "use")]
    #[schema(inline)]
    pub use_: JwksKeysItemUse,
    #[schema(required = false)]
    pub crv: String,
    #[schema(required = false)]
    pub x: String,
    #[schema(required = false)]
    pub y: String,
    #[schema(required = false)]
    pub n: String,
    #[schema(required = false)]
    pub e: String,
}

#[derive(ToSchema)]
pub struct Jwks {
    #[schema(inline)]
    pub keys: Vec<JwksKeysItem>,
}

#[derive(ToSchema)]
pub struct OpenIdConfiguration {
    #[schema(format = "uri")]
    pub issuer: String,
    #[schema(format = "uri")]
    pub jwks_uri: String,
    pub id_token_signing_alg_values_supported: Vec<String>,
    pub subject_types_supported: Vec<String>,
    #[schema(format = "uri")]
    pub authorization_endpoint: String,
    #[schema(format = "uri")]
    pub token_endpoint: String,
    #[schema(format = "uri", required = false)]
    pub userinfo_endpoint: String,
    #[schema(format = "uri", required = false)]
    pub introspection_endpoint: String,
    #[schema(format = "uri", required = false)]
    pub revocation_endpoint: String,
    #[schema(format = "uri", required = false)]
    pub end_session_endpoint: String,
    pub response_types_supported: Vec<String>,
    #[schema(required = false)]
    pub response_modes_supported: Vec<String>,
    #[schema(required = false)]
    pub grant_types_supported: Vec<String>,
    #[schema(required = false)]
    pub scopes_supported: Vec<String>,
    #[schema(required = false)]
    pub claims_supported: Vec<String>,
    #[schema(required = false)]
    pub userinfo_signing_alg_values_supported: Vec<String>,
    #[schema(required = false)]
    pub code_challenge_methods_supported: Vec<String>,
    #[schema(required = false)]
    pub token_endpoint_auth_methods_supported: Vec<String>,
    #[schema(required = false)]
    pub token_endpoint_auth_signing_alg_values_supported: Vec<String>,
    #[schema(required = false)]
    pub introspection_endpoint_auth_methods_supported: Vec<String>,
    #[schema(required = false)]
    pub introspection_endpoint_auth_signing_alg_values_supported: Vec<String>,
    #[schema(required = false)]
    pub revocation_endpoint_auth_methods_supported: Vec<String>,
    #[schema(required = false)]
    pub revocation_endpoint_auth_signing_alg_values_supported: Vec<String>,
    #[schema(required = false)]
    pub prompt_values_supported: Vec<String>,
    #[schema(required = false)]
    pub claims_parameter_supported: bool,
    #[schema(required = false)]
    pub request_parameter_supported: bool,
    #[schema(required = false)]
    pub request_uri_parameter_supported: bool,
    #[schema(required = false)]
    pub authorization_response_iss_parameter_supported: bool,
    #[schema(required = false)]
    pub backchannel_logout_supported: bool,
    #[schema(required = false)]
    pub backchannel_logout_session_supported: bool,
    #[schema(required = false)]
    pub frontchannel_logout_supported: bool,
    /// Where an upstream identity provider or tool asks ulo to log a user out (POST /oauth2/v1/global-token-revocation).
    #[schema(format = "uri", required = false)]
    pub global_token_revocation_endpoint: String,
}

/// RFC 8414 authorization server metadata. Built by the same code as the OpenID Connect discovery document: every member here has the same value there; discovery adds the OpenID Connect members (userinfo, end session, claims, ID token algorithms, logout support).
#[derive(ToSchema)]
pub struct AuthorizationServerMetadata {
    #[schema(format = "uri")]
    pub issuer: String,
    #[schema(format = "uri")]
    pub jwks_uri: String,
    #[schema(format = "uri")]
    pub authorization_endpoint: String,
    #[schema(format = "uri")]
    pub token_endpoint: String,
    #[schema(format = "uri", required = false)]
    pub introspection_endpoint: String,
    #[schema(format = "uri", required = false)]
    pub revocation_endpoint: String,
    pub response_types_supported: Vec<String>,
    #[schema(required = false)]
    pub response_modes_supported: Vec<String>,
    #[schema(required = false)]
    pub grant_types_supported: Vec<String>,
    #[schema(required = false)]
    pub scopes_supported: Vec<String>,
    #[schema(required = false)]
    pub code_challenge_methods_supported: Vec<String>,
    #[schema(required = false)]
    pub token_endpoint_auth_methods_supported: Vec<String>,
    #[schema(required = false)]
    pub token_endpoint_auth_signing_alg_values_supported: Vec<String>,
    #[schema(required = false)]
    pub introspection_endpoint_auth_methods_supported: Vec<String>,
    #[schema(required = false)]
    pub introspection_endpoint_auth_signing_alg_values_supported: Vec<String>,
    #[schema(required = false)]
    pub revocation_endpoint_auth_methods_supported: Vec<String>,
    #[schema(required = false)]
    pub revocation_endpoint_auth_signing_alg_values_supported: Vec<String>,
    #[schema(required = false)]
    pub prompt_values_supported: Vec<String>,
    #[schema(required = false)]
    pub request_parameter_supported: bool,
    #[schema(required = false)]
    pub request_uri_parameter_supported: bool,
    #[schema(required = false)]
    pub authorization_response_iss_parameter_supported: bool,
    /// Where an upstream identity provider or tool asks ulo to log a user out (POST /oauth2/v1/global-token-revocation).
    #[schema(format = "uri", required = false)]
    pub global_token_revocation_endpoint: String,
}
