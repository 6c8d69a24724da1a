//! What a client reads before it talks to ulo: OpenID Connect discovery, RFC 8414
//! authorization server metadata, and the JWKS. Both metadata documents come from one builder,
//! so they always name the same issuer and endpoints.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderName, header};
use serde::Serialize;
use serde_json::Value;

use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::openapi::schema;

/// RFC 8414 §3: where an OAuth client looks for the authorization server's metadata.
pub const OAUTH_METADATA_PATH: &str = "/.well-known/oauth-authorization-server";
/// OpenID Connect Discovery 1.0 §4.
pub const OPENID_CONFIGURATION_PATH: &str = "/.well-known/openid-configuration";
/// ulo's published signing keys.
pub const JWKS_PATH: &str = "/oauth2/v1/keys";

/// The routes (all served with CORS for registered browser clients, see `crate::cors`).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(openid_configuration))
        .routes(routes!(oauth_authorization_server))
        .routes(routes!(jwks))
}

/// Client authentication methods of the token, introspection and revocation endpoints.
const TOKEN_AUTH_METHODS: [&str; 4] = [
    "client_secret_basic",
    "client_secret_post",
    "private_key_jwt",
    "none",
];

/// Algorithms a `private_key_jwt` client assertion may be signed with.
const CLIENT_ASSERTION_ALGS: [&str; 9] = [
    "ES256", "ES384", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "EdDSA",
];

/// The `prompt` values the authorization endpoint acts on (`ulo_core::oidc::Prompt`).
pub const PROMPT_VALUES: [&str; 4] = ["none", "login", "consent", "select_account"];

/// Static string lists of a metadata document.
type Strs<const N: usize> = [&'static str; N];

/// The OAuth 2.0 part (RFC 8414 §2): issuer, endpoints, and what they accept.
#[derive(Serialize)]
struct OAuthMetadata {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    introspection_endpoint: String,
    revocation_endpoint: String,
    jwks_uri: String,
    response_types_supported: Strs<1>,
    response_modes_supported: Strs<1>,
    grant_types_supported: Strs<3>,
    scopes_supported: Strs<4>,
    code_challenge_methods_supported: Strs<1>,
    token_endpoint_auth_methods_supported: Strs<4>,
    token_endpoint_auth_signing_alg_values_supported: Strs<9>,
    introspection_endpoint_auth_methods_supported: Strs<4>,
    introspection_endpoint_auth_signing_alg_values_supported: Strs<9>,
    revocation_endpoint_auth_methods_supported: Strs<4>,
    revocation_endpoint_auth_signing_alg_values_supported: Strs<9>,
    prompt_values_supported: Strs<4>,
    request_parameter_supported: bool,
    request_uri_parameter_supported: bool,
    authorization_response_iss_parameter_supported: bool,
    global_token_revocation_endpoint: String,
}

fn oauth_metadata(iss: &str) -> OAuthMetadata {
    OAuthMetadata {
        issuer: iss.to_string(),
        authorization_endpoint: format!("{iss}/oauth2/v1/authorize"),
        token_endpoint: format!("{iss}/oauth2/v1/token"),
        introspection_endpoint: format!("{iss}/oauth2/v1/introspect"),
        revocation_endpoint: format!("{iss}/oauth2/v1/revoke"),
        jwks_uri: format!("{iss}{JWKS_PATH}"),
        response_types_supported: ["code"],
        response_modes_supported: ["query"],
        grant_types_supported: ["authorization_code", "refresh_token", "client_credentials"],
        scopes_supported: ulo_core::oidc::scope::SUPPORTED,
        code_challenge_methods_supported: ["S256"],
        token_endpoint_auth_methods_supported: TOKEN_AUTH_METHODS,
        token_endpoint_auth_signing_alg_values_supported: CLIENT_ASSERTION_ALGS,
        introspection_endpoint_auth_methods_supported: TOKEN_AUTH_METHODS,
        introspection_endpoint_auth_signing_alg_values_supported: CLIENT_ASSERTION_ALGS,
        revocation_endpoint_auth_methods_supported: TOKEN_AUTH_METHODS,
        revocation_endpoint_auth_signing_alg_values_supported: CLIENT_ASSERTION_ALGS,
        prompt_values_supported: PROMPT_VALUES,
        request_parameter_supported: false,
        request_uri_parameter_supported: false,
        authorization_response_iss_parameter_supported: true,
        global_token_revocation_endpoint: format!("{iss}/oauth2/v1/global-token-revocation"),
    }
}

/// The OAuth part plus what OpenID Connect adds (Discovery 1.0 §3, Back-Channel Logout,
/// RP-Initiated Logout).
#[derive(Serialize)]
struct OpenIdMetadata {
    #[serde(flatten)]
    oauth: OAuthMetadata,
    userinfo_endpoint: String,
    end_session_endpoint: String,
    claims_supported: Strs<20>,
    subject_types_supported: Strs<1>,
    id_token_signing_alg_values_supported: Strs<2>,
    userinfo_signing_alg_values_supported: Strs<1>,
    claims_parameter_supported: bool,
    backchannel_logout_supported: bool,
    backchannel_logout_session_supported: bool,
    frontchannel_logout_supported: bool,
}

fn openid_metadata(iss: &str) -> OpenIdMetadata {
    OpenIdMetadata {
        oauth: oauth_metadata(iss),
        userinfo_endpoint: format!("{iss}/oauth2/v1/userinfo"),
        end_session_endpoint: format!("{iss}/oauth2/v1/logout"),
        claims_supported: [
            "iss",
            "sub",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "sid",
            "amr",
            "at_hash",
            "name",
            "given_name",
            "family_name",
            "preferred_username",
            "nickname",
            "locale",
            "zoneinfo",
            "updated_at",
            "email",
            "email_verified",
        ],
        subject_types_supported: ["public"],
        id_token_signing_alg_values_supported: ["ES256", "RS256"],
        userinfo_signing_alg_values_supported: ["none"],
        claims_parameter_supported: false,
        backchannel_logout_supported: true,
        backchannel_logout_session_supported: true,
        frontchannel_logout_supported: false,
    }
}

#[utoipa::path(
    get,
    path = "/.well-known/openid-configuration",
    operation_id = "openidConfiguration",
    tag = "Meta",
    summary = "OpenID Provider discovery metadata",
    responses(
        (status = 200, description = "Discovery document.", body = schema::OpenIdConfiguration, content_type = "application/json"),
    ),
)]
async fn openid_configuration(State(state): State<AppState>) -> Json<OpenIdMetadata> {
    Json(openid_metadata(state.issuer()))
}

#[utoipa::path(
    get,
    path = "/.well-known/oauth-authorization-server",
    operation_id = "oauthAuthorizationServerMetadata",
    tag = "Meta",
    summary = "OAuth 2.0 authorization server metadata (RFC 8414)",
    description = "The same issuer and endpoints as /.well-known/openid-configuration, for OAuth clients that look here.",
    responses(
        (status = 200, description = "Metadata document.", body = schema::AuthorizationServerMetadata, content_type = "application/json"),
    ),
)]
async fn oauth_authorization_server(State(state): State<AppState>) -> Json<OAuthMetadata> {
    Json(oauth_metadata(state.issuer()))
}

#[utoipa::path(
    get,
    path = "/oauth2/v1/keys",
    operation_id = "jwks",
    tag = "Meta",
    summary = "Public signing keys (JWKS)",
    responses(
        (status = 200, description = "The published keys: the active ones and those still verifying tokens they signed.", body = schema::Jwks, content_type = "application/json", headers(("Cache-Control" = String, description = "public, max-age=300"))),
    ),
)]
async fn jwks(State(state): State<AppState>) -> ([(HeaderName, &'static str); 1], Json<Value>) {
    (
        [(header::CACHE_CONTROL, "public, max-age=300")],
        Json(state.keys().jwks()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_openid_document_extends_the_oauth_one() {
        let map = |v: Value| v.as_object().cloned().unwrap();
        let oauth = map(serde_json::to_value(oauth_metadata("https://ulo.example.com")).unwrap());
        let openid = map(serde_json::to_value(openid_metadata("https://ulo.example.com")).unwrap());
        for (k, v) in &oauth {
            assert_eq!(openid.get(k), Some(v), "{k}");
        }
        assert!(openid.contains_key("userinfo_endpoint"));
        assert!(!oauth.contains_key("userinfo_endpoint"));
    }
}
