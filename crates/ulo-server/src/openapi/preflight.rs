//! CORS preflights (`OPTIONS`) of the endpoints browser-based clients call across origins. The
//! CORS layer (`crate::cors`) answers them, not a handler: these operations only document them.

use super::responses;

#[utoipa::path(
    options,
    path = "/.well-known/openid-configuration",
    operation_id = "openidConfigurationPreflight",
    tag = "Meta",
    summary = "CORS preflight for browser-based clients",
    responses(
        (status = 200, response = responses::CorsPreflight),
    ),
)]
#[allow(dead_code)]
fn openid_configuration_preflight() {}

#[utoipa::path(
    options,
    path = "/.well-known/oauth-authorization-server",
    operation_id = "oauthAuthorizationServerMetadataPreflight",
    tag = "Meta",
    summary = "CORS preflight for browser-based clients",
    responses(
        (status = 200, response = responses::CorsPreflight),
    ),
)]
#[allow(dead_code)]
fn oauth_authorization_server_metadata_preflight() {}

#[utoipa::path(
    options,
    path = "/oauth2/v1/keys",
    operation_id = "jwksPreflight",
    tag = "Meta",
    summary = "CORS preflight for browser-based clients",
    responses(
        (status = 200, response = responses::CorsPreflight),
    ),
)]
#[allow(dead_code)]
fn jwks_preflight() {}

#[utoipa::path(
    options,
    path = "/oauth2/v1/token",
    operation_id = "oauth2TokenPreflight",
    tag = "OpenID Connect",
    summary = "CORS preflight for browser-based clients",
    responses(
        (status = 200, response = responses::CorsPreflight),
    ),
)]
#[allow(dead_code)]
fn oauth2_token_preflight() {}

#[utoipa::path(
    options,
    path = "/oauth2/v1/introspect",
    operation_id = "oauth2IntrospectPreflight",
    tag = "OpenID Connect",
    summary = "CORS preflight for browser-based clients",
    responses(
        (status = 200, response = responses::CorsPreflight),
    ),
)]
#[allow(dead_code)]
fn oauth2_introspect_preflight() {}

#[utoipa::path(
    options,
    path = "/oauth2/v1/revoke",
    operation_id = "oauth2RevokePreflight",
    tag = "OpenID Connect",
    summary = "CORS preflight for browser-based clients",
    responses(
        (status = 200, response = responses::CorsPreflight),
    ),
)]
#[allow(dead_code)]
fn oauth2_revoke_preflight() {}

#[utoipa::path(
    options,
    path = "/oauth2/v1/userinfo",
    operation_id = "oauth2UserInfoPreflight",
    tag = "OpenID Connect",
    summary = "CORS preflight for browser-based clients",
    responses(
        (status = 200, response = responses::CorsPreflight),
    ),
)]
#[allow(dead_code)]
fn oauth2_user_info_preflight() {}
