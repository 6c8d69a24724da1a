//! The OpenAPI 3.1 document served at `/api/v1/openapi.json`, generated from the routes: each
//! handler declares its operation with `#[utoipa::path]` (parameters, body, every status it can
//! answer) and is routed through `utoipa_axum`'s `routes!`, so the router and the document come
//! from the same place. `tests/api/openapi.rs` checks the document against the running server.

pub mod params;
pub mod preflight;
pub mod responses;
pub mod schema;
pub mod scim;

use std::sync::OnceLock;

use utoipa::OpenApi;
use utoipa::openapi::path::Operation;
use utoipa::openapi::schema::Schema;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{RefOr, Required};

/// What the document says of the API as a whole.
const DESCRIPTION: &str = "ulo's HTTP API: the admin API under /api/v1 (Okta-shaped), discovery and keys, health, the OpenID Provider under /oauth2/v1 (with Global Token Revocation), and the Shared Signals transmitter under /ssf.\n\nAuthenticate admin calls with an API token: `Authorization: SSWS <token>` (`Bearer <token>` is accepted too). A token acts with its owner's admin roles: any role may read, SUPER_ADMIN may change things (403 otherwise). Too many failed authentications from one address (30 in a minute) answer 429 until the minute ends; a valid token is always accepted, and failed sign-ins at /login never count.\n\nEvery error is JSON (see Error) with a stable errorCode. An unknown path answers 404 with errorSummary \"Not found: Resource not found: no such path\"; a known path with a method it does not serve answers 405 (E0000022). Request bodies are limited to 1 MiB (413) and refuse unknown fields (400). Text must not contain NUL (U+0000): in a body or query it answers 400, in a path 404.\n\nList calls page by keyset: `limit` and `after`, with `Link` headers (rel=\"self\", and rel=\"next\" when a full page came back).";

#[derive(OpenApi)]
#[openapi(
    info(title = "ulo admin API", version = "0.1.0", description = DESCRIPTION),
    tags(
        (name = "Users"),
        (name = "Roles"),
        (name = "Groups"),
        (name = "Apps"),
        (name = "API tokens"),
        (name = "System Log"),
        (name = "Meta"),
        (name = "OpenID Connect", description = "ulo as an OpenID Provider: authorization code flow with PKCE, refresh token rotation with reuse detection, client credentials, RFC 7662 introspection, RFC 7009 revocation, userinfo and RP-initiated logout. Endpoints are public (security: none); the token, introspection and revocation endpoints authenticate the client with its registered method (client_secret_basic, client_secret_post, private_key_jwt, or none for public clients). A browser-based client (a single-page app doing code + PKCE) may call the token, userinfo, JWKS, introspection and revocation endpoints and both metadata documents across origins: CORS allows exactly the origins of redirect URIs registered for active OIDC apps (see the OPTIONS operations); authorize, logout, sign-in and the admin API never answer CORS."),
        (name = "Sessions", description = "A user's ulo sessions (the sign-in cookie) and their OAuth token grants; clearing or ending one ends it at once. Every end of a session (these calls, RP-initiated logout, the person's own sign-out, expiry and idle timeout) sends an OIDC Back-Channel Logout token (sub and sid) to each back-channel app the session signed in to: single logout."),
        (name = "Factors", description = "A user's TOTP factor (RFC 6238, 6 digits, 30 s, SHA-1): enroll, activate with a code, show, remove."),
        (name = "Sign-in", description = "The browser pages: sign-in with password then TOTP code, and the signed-in user's authenticator setup. HTML, no JavaScript; the session cookie `ulo_session` is HttpOnly, SameSite=Lax and Secure unless the issuer is plain http on loopback."),
        (name = "SCIM", description = "ulo as a SCIM 2.0 service provider (RFC 7643, RFC 7644) at /scim/v2, for HR systems and identity providers that provision people and groups into ulo. Bodies are application/scim+json (application/json is accepted); errors are SCIM error messages. Authenticate with a SCIM credential (see SCIM credentials), never an admin API token. Users and groups changed here are logged in the System Log like the admin API's changes, with the credential as actor. The service provider also describes itself: ServiceProviderConfig, ResourceTypes and Schemas."),
        (name = "SCIM credentials", description = "Bearer credentials for the SCIM 2.0 service provider at /scim/v2 (separate from admin API tokens)."),
        (name = "Universal Logout", description = "One action that ends a user's access in ulo (sessions, OAuth tokens, API tokens) and in every logout-enabled app (Global Token Revocation, OpenID Connect Back-Channel Logout, Shared Signals), with a receipt recording what each target answered. Deliveries are durable and retried until the logout deadline. ulo also receives Global Token Revocation requests from upstream identity providers and tools."),
        (name = "Shared Signals", description = "ulo as a Shared Signals (SSF 1.0) transmitter: CAEP session-revoked and credential-change events, pushed (RFC 8935) or polled (RFC 8936). The receiver of each app manages its stream under /ssf with the Bearer credential an admin issued for the app."),
        (name = "Security events providers", description = "ulo as a Shared Signals receiver (Okta's paths): registered providers push Security Event Tokens (CAEP, RISC, Okta risk events) to POST /security/api/v1/security-events; each accepted SET is logged and mapped to risk detections."),
        (name = "Identity providers", description = "Upstream identity providers whose signed JWTs may call POST /oauth2/v1/global-token-revocation."),
        (name = "Device Logout", description = "Sign people out of their enrolled computers: a device CA and one-time enrollment tokens, the `ulo agent` protocol (signed polls with a long-poll, signed SIGN_OUT commands, acknowledgements), and Log Out All Devices, whose receipt is a logout receipt with DEVICE targets. Gated by the Device Logout feature and the desktop-mfa app's Logout setting."),
        (name = "Workflows", description = "Signed webhooks ulo calls when a rule asks (the risk policy's RUN_WORKFLOW): ulo POSTs a JSON call signed with the workflow's secret (headers Ulo-Workflow-Timestamp and Ulo-Workflow-Signature: v1=<hex HMAC-SHA256(secret, \"<timestamp>.<body>\")>), retried with backoff until its deadline, and logs each attempt as workflow.run.delivery. The secret is generated by ulo and shown only when the workflow is created or its secret rotated."),
        (name = "Features", description = "Early-access features (Settings → Features), off by default."),
        (name = "Identity Threat Protection", description = "Risk in, logout out (Okta's shapes): a user's entity risk (the highest level of their active detections; an admin reports MEDIUM or HIGH, LOW resets) and the Entity Risk Policy, whose first ACTIVE matching rule (in priority order, above a log-only default rule) logs nothing more, ends the user's sessions and tokens and logs them out of no app, all logout-enabled apps or named apps (the desktop-mfa app means their devices), or runs a workflow; ENFORCE or MONITOR. A detection, the evaluation, the action and the logout commit together under one transactionId."),
    ),
    security(("SSWS" = [])),
    paths(
        preflight::openid_configuration_preflight,
        preflight::oauth_authorization_server_metadata_preflight,
        preflight::jwks_preflight,
        preflight::oauth2_token_preflight,
        preflight::oauth2_introspect_preflight,
        preflight::oauth2_revoke_preflight,
        preflight::oauth2_user_info_preflight,
    ),
    components(
        schemas(schema::Error, ulo_scim::wire::ErrorBody),
        responses(
            responses::BadRequest,
            responses::Unauthorized,
            responses::Forbidden,
            responses::NotFound,
            responses::Conflict,
            responses::PayloadTooLarge,
            responses::UnsupportedMediaType,
            responses::TooManyRequests,
            responses::ServiceUnavailable,
            responses::InternalError,
            responses::ReceiverUnauthorized,
            responses::CorsPreflight,
            scim::ScimBadRequest,
            scim::ScimUnauthorized,
            scim::ScimForbidden,
            scim::ScimNotFound,
            scim::ScimConflict,
            scim::ScimPreconditionFailed,
            scim::ScimUnsupportedMediaType,
            scim::ScimTooManyRequests,
            scim::ScimInternalError,
        ),
    ),
    modifiers(&SecuritySchemes),
)]
struct ApiDoc;

/// The credentials the API takes.
struct SecuritySchemes;

impl utoipa::Modify for SecuritySchemes {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "SSWS",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "`SSWS <token>`, an admin API token (`Bearer <token>` is also accepted). A token limited to scopes cannot call the admin API (403).",
            ))),
        );
        components.add_security_scheme(
            "SsfReceiver",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).description(Some("`Bearer <token>`, a Shared Signals receiver credential ulo issued for one app (POST /api/v1/apps/{id}/ssf-credentials). It manages and polls that app's stream only; admin API tokens are not accepted.")).build()),
        );
        components.add_security_scheme(
            "GlobalTokenRevocation",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("API token or JWT").description(Some("`Bearer <credential>`: an API token with the scope ulo.universalLogout.manage (or an unrestricted admin token), its owner holding SUPER_ADMIN; or a global-token-revocation+jwt signed by a registered upstream identity provider (aud this endpoint's URL, exp - iat at most 300 s, a unique jti).")).build()),
        );
        components.add_security_scheme(
            "ScimBearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).description(Some("`Bearer <credential>`, a SCIM credential (POST /api/v1/scim-credentials). Admin API tokens are not accepted. Too many failed credentials from one address answer 429 with Retry-After.")).build()),
        );
        components.add_security_scheme(
            "DeviceAgent",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").description(Some("`Bearer <JWT>` signed by the device key ulo certified at enrollment (ES256): header `typ: ulo-agent+jwt`, `kid` the device id; claims `iss` the device id, `aud` <issuer>/api/v1/agent, `htm`/`htu` this request's method and path, a unique `jti` (a replay is refused), `iat`, and `exp` at most 60 s later. A revoked device is refused (403).")).build()),
        );
    }
}

/// The document: the API's description, and every documented route's operation.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    let routes = crate::routes::documented();
    doc.merge(routes.plain.into_openapi());
    doc.merge(routes.cors.into_openapi());
    // An operation that names no credential is public: it says so rather than inheriting the
    // admin API's (the document-wide default).
    for item in doc.paths.paths.values_mut() {
        for op in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.options,
            &mut item.head,
            &mut item.patch,
            &mut item.trace,
        ]
        .into_iter()
        .flatten()
        {
            op.security.get_or_insert_with(Vec::new);
            describe_optional_body(op);
        }
    }
    doc
}

/// An optional body (`Option<T>` in `#[utoipa::path]`) is described by `T`'s schema:
/// `required: false` already says it may be left out, and a body is never `null`.
fn describe_optional_body(op: &mut Operation) {
    let Some(body) = op.request_body.as_mut() else {
        return;
    };
    if matches!(body.required, Some(Required::True)) {
        return;
    }
    for content in body.content.values_mut() {
        if let Some(RefOr::T(Schema::OneOf(one))) = &content.schema
            && let Some(schema) = one.items.iter().find(|s| matches!(s, RefOr::Ref(_)))
        {
            content.schema = Some(schema.clone());
        }
    }
}

/// The document as JSON, built once.
pub fn json() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| {
        document().to_pretty_json().unwrap_or_else(|e| {
            tracing::error!(error = %e, "the OpenAPI document does not serialize");
            String::from("{}")
        })
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_document_serializes() {
        let json = super::json();
        let doc: serde_json::Value = serde_json::from_str(json).expect("JSON");
        assert_eq!(doc["openapi"], "3.1.0");
        if let Ok(path) = std::env::var("ULO_DUMP_OPENAPI") {
            std::fs::write(path, json).expect("write");
        }
    }
}
