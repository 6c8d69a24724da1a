//! ulo's OpenID Connect provider endpoints under `/oauth2/v1`: authorize, token, introspect,
//! revoke, userinfo and RP-initiated logout. The protocol lives in `ulo_core::oidc`; these
//! handlers read HTTP, call it, and write the standard answers.

mod authorize;
mod endpoints;
mod global_token_revocation;
pub(crate) use global_token_revocation::PATH as GLOBAL_TOKEN_REVOCATION_PATH;
mod end_session;
mod page;
mod userinfo;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use ulo_core::app::SigningAlg;
use ulo_core::log::{Client, UserAgent};
use ulo_core::oidc::{ErrorCode, JwtCheck, OAuthError, Params, Provider, TokenKeys};
use ulo_jose::{KeyAlg, KeyRing, VerifyOptions, verify_with_jwks};

use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The routes a browser navigates to (authorize, logout) and Global Token Revocation: never
/// with CORS.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(authorize::authorize, authorize::authorize_post))
        .routes(routes!(global_token_revocation::revoke))
        .routes(routes!(
            end_session::end_session,
            end_session::end_session_post
        ))
}

/// The routes an OAuth client calls itself (token, introspect, revoke, userinfo): a
/// browser-based client calls them across origins, so `crate::cors` wraps them.
pub fn client_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(endpoints::token))
        .routes(routes!(endpoints::introspect))
        .routes(routes!(endpoints::revoke))
        .routes(routes!(userinfo::userinfo, userinfo::userinfo_post))
}

/// Clock skew tolerated on JWT time claims.
const LEEWAY_SECS: u64 = 30;

/// ulo's key ring as the domain's [`TokenKeys`].
struct RingKeys(Arc<KeyRing>);

fn key_alg(alg: SigningAlg) -> KeyAlg {
    match alg {
        SigningAlg::Es256 => KeyAlg::ES256,
        SigningAlg::Rs256 => KeyAlg::RS256,
    }
}

impl TokenKeys for RingKeys {
    fn sign(&self, alg: SigningAlg, typ: &str, claims: &Value) -> Result<String, String> {
        self.0
            .sign(key_alg(alg), typ, claims)
            .map_err(|e| e.to_string())
    }

    fn verify(&self, token: &str, check: &JwtCheck<'_>) -> Result<Value, String> {
        let opts = VerifyOptions {
            expected_typ: check.typ,
            issuer: None,
            audience: None,
            // An expired token is still recognised (id_token_hint); a future one never matters.
            leeway_secs: if check.allow_expired {
                u64::from(u32::MAX)
            } else {
                LEEWAY_SECS
            },
            now_unix: Some(check.now_unix),
        };
        let verified = match check.jwks {
            Some(jwks) => verify_with_jwks(token, jwks, &opts),
            None => self.0.verify(token, &opts),
        };
        verified
            .map(|(_, claims)| claims)
            .map_err(|e| e.to_string())
    }
}

/// The provider over `state` and its current keys.
fn provider<'a>(state: &'a AppState, keys: &'a RingKeys) -> Provider<'a> {
    Provider {
        store: state.store.as_ref(),
        clock: state.clock.as_ref(),
        keys,
        issuer: state.issuer(),
        single_logout: state.config.single_logout(),
        session_influence: &state.config.session_influence,
        risk: state.config.risk_settings(),
    }
}

/// ulo's current keys, for [`provider`].
fn keys(state: &AppState) -> RingKeys {
    RingKeys(state.keys())
}

/// The HTTP client of a request (IP, user agent), for the System Log.
pub(crate) struct RequestClient(pub(crate) Client);

impl FromRequestParts<AppState> for RequestClient {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Self::Rejection> {
        Ok(RequestClient(Client {
            ip_address: crate::auth::client_ip(parts).map(|ip| ip.to_string()),
            user_agent: parts
                .headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(|raw_user_agent| UserAgent {
                    raw_user_agent: raw_user_agent.to_string(),
                }),
            id: None,
        }))
    }
}

/// The form body of a POST, refusing other media types.
fn form_params(headers: &HeaderMap, body: &[u8]) -> Result<Params, OAuthError> {
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    if media.as_deref() != Some("application/x-www-form-urlencoded") {
        return Err(OAuthError::invalid_request(
            "send the parameters as application/x-www-form-urlencoded",
        ));
    }
    Ok(Params::parse(body))
}

/// The form body of a POST: `Err` answers a body that could not be read (as axum would), and
/// the inner result is [`form_params`]'s.
async fn post_form(req: Request, state: &AppState) -> Result<Result<Params, OAuthError>, Response> {
    let headers = req.headers().clone();
    let body = Bytes::from_request(req, state)
        .await
        .map_err(IntoResponse::into_response)?;
    Ok(form_params(&headers, &body))
}

/// The form of a client-authenticated POST (token, introspect, revoke); another media type
/// is refused with the OAuth JSON error.
struct ClientForm(Params);

impl FromRequest<AppState> for ClientForm {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        post_form(req, state)
            .await?
            .map(ClientForm)
            .map_err(oauth_error)
    }
}

/// The parameters of a browser request (authorize, logout): the query of a GET, the form of a
/// POST; a POST of another media type is refused with an error page.
struct BrowserParams(Params);

impl FromRequest<AppState> for BrowserParams {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        if req.method() != Method::POST {
            let query = req.uri().query().unwrap_or_default();
            return Ok(BrowserParams(Params::parse(query.as_bytes())));
        }
        post_form(req, state)
            .await?
            .map(BrowserParams)
            .map_err(|e| page::error(StatusCode::BAD_REQUEST, e.code().as_str(), &e.description()))
    }
}

/// The page a browser endpoint (`endpoint`, for the log) answers when the store fails.
fn store_unavailable(endpoint: &str, e: ulo_core::store::StoreError) -> Response {
    tracing::error!(error = %e, "{endpoint}: store failure");
    page::error(
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
        "ulo cannot reach its store right now; try again shortly.",
    )
}

/// `Cache-Control: no-store` and `Pragma: no-cache`: token answers must never be cached.
fn no_store(resp: &mut Response) {
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

/// A JSON answer that must not be cached.
fn json_no_store(status: StatusCode, body: impl serde::Serialize) -> Response {
    let mut resp = (status, axum::Json(body)).into_response();
    no_store(&mut resp);
    resp
}

/// An OAuth error's body (RFC 6749 §5.2, RFC 6750 §3).
#[derive(serde::Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    error_description: &'a str,
}

/// An OAuth error as RFC 6749 §5.2 answers it: JSON, 400, or 401 with a Basic challenge for
/// client authentication failures; store failures are 503/500 with the detail in the log.
fn oauth_error(e: OAuthError) -> Response {
    let code = e.code();
    let status = match (&e, code) {
        (_, ErrorCode::InvalidClient) => StatusCode::UNAUTHORIZED,
        (OAuthError::Store(s), _) => {
            tracing::error!(error = %s, "OAuth endpoint: store failure");
            if code == ErrorCode::TemporarilyUnavailable {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
        (_, ErrorCode::ServerError) => {
            tracing::error!(error = %e, "OAuth endpoint failed");
            StatusCode::INTERNAL_SERVER_ERROR
        }
        _ => StatusCode::BAD_REQUEST,
    };
    let mut resp = json_no_store(
        status,
        ErrorBody {
            error: code.as_str(),
            error_description: &e.description(),
        },
    );
    if status == StatusCode::UNAUTHORIZED {
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"ulo\""),
        );
    }
    resp
}
