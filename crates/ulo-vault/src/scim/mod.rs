//! The SCIM 2.0 service provider at `/scim/v2` (RFC 7643/7644): Users and Groups, bearer
//! token `ULO_VAULT_SCIM_TOKEN`. ulo's provisioning pushes people here.

mod groups;
mod users;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use serde_json::Value;
use ulo_scim::discovery::{AuthenticationScheme, ServiceProviderConfig};
use ulo_scim::wire::{ErrorBody, ListResponse, MEDIA_TYPE, Paging};

use crate::error::{StoreError, VaultError};
use crate::secret;
use crate::vault::Vault;

/// The most resources one page holds.
const MAX_RESULTS: usize = 200;
/// A page's size when the client names none.
const DEFAULT_COUNT: usize = 100;

/// The SCIM routes, under `/scim/v2`.
pub fn router(vault: Arc<Vault>) -> Router {
    Router::new()
        .route("/scim/v2/Users", get(users::list).post(users::create))
        .route(
            "/scim/v2/Users/{id}",
            get(users::get)
                .put(users::replace)
                .patch(users::patch)
                .delete(users::delete),
        )
        .route("/scim/v2/Groups", get(groups::list).post(groups::create))
        .route(
            "/scim/v2/Groups/{id}",
            get(groups::get)
                .put(groups::replace)
                .patch(groups::patch)
                .delete(groups::delete),
        )
        .route(
            "/scim/v2/ServiceProviderConfig",
            get(service_provider_config),
        )
        .layer(middleware::from_fn_with_state(vault.clone(), require_token))
        .with_state(vault)
}

/// Refuses requests without the SCIM bearer token.
async fn require_token(State(vault): State<Arc<Vault>>, req: Request, next: Next) -> Response {
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match given {
        Some(t) if secret::equal(t, &vault.settings.scim_token) => next.run(req).await,
        Some(_) => ScimError(VaultError::Unauthorized(
            "the SCIM bearer token is not valid".into(),
        ))
        .into_response(),
        None => ScimError(VaultError::Unauthorized(
            "send Authorization: Bearer <ULO_VAULT_SCIM_TOKEN>".into(),
        ))
        .into_response(),
    }
}

async fn service_provider_config() -> Response {
    scim_json(
        StatusCode::OK,
        &ServiceProviderConfig::new(
            MAX_RESULTS,
            false,
            false,
            vec![AuthenticationScheme {
                kind: "oauthbearertoken".into(),
                name: "Bearer token".into(),
                description: "ULO_VAULT_SCIM_TOKEN".into(),
                primary: None,
            }],
        ),
    )
}

/// A SCIM answer with the SCIM media type.
pub(crate) fn scim_json(status: StatusCode, body: &impl Serialize) -> Response {
    let mut resp = (status, axum::Json(body)).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(MEDIA_TYPE));
    resp
}

/// A vault error in SCIM's error format (RFC 7644 §3.12).
pub(crate) struct ScimError(pub VaultError);

impl From<VaultError> for ScimError {
    fn from(e: VaultError) -> Self {
        ScimError(e)
    }
}

impl From<StoreError> for ScimError {
    fn from(e: StoreError) -> Self {
        ScimError(e.into())
    }
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let status = self.0.status();
        if status.is_server_error() {
            tracing::error!(error = %self.0, "SCIM request failed");
        }
        let scim_type = match &self.0 {
            VaultError::Conflict(_) | VaultError::Store(StoreError::Conflict(_)) => {
                Some("uniqueness")
            }
            VaultError::Invalid(m) if m.starts_with("invalid filter") => Some("invalidFilter"),
            VaultError::Invalid(m) if m.contains("path") => Some("invalidPath"),
            VaultError::Invalid(_) => Some("invalidValue"),
            _ => None,
        };
        let body = ErrorBody::new(status.as_u16(), scim_type, self.0.public_message());
        scim_json(status, &body)
    }
}

impl From<ulo_scim::patch::PatchError> for ScimError {
    fn from(e: ulo_scim::patch::PatchError) -> Self {
        ScimError(e.into())
    }
}

/// The JSON body of a SCIM request, with a SCIM error when it is not a JSON object.
pub(crate) struct ScimBody(pub serde_json::Map<String, Value>);

impl<S: Send + Sync> axum::extract::FromRequest<S> for ScimBody {
    type Rejection = ScimError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| ScimError(VaultError::invalid(format!("cannot read the body: {e}"))))?;
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(m)) => Ok(ScimBody(m)),
            Ok(_) => Err(ScimError(VaultError::invalid(
                "the body must be a JSON object",
            ))),
            Err(e) => Err(ScimError(VaultError::invalid(format!(
                "the body is not JSON: {e}"
            )))),
        }
    }
}

/// `startIndex` and `count` of a list request (RFC 7644 §3.4.2.4).
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListQuery {
    filter: Option<String>,
    start_index: Option<String>,
    count: Option<String>,
}

impl ListQuery {
    /// The filter, and the page asked for.
    fn parts(&self) -> Result<(Option<ulo_core::filter::Filter>, Paging), VaultError> {
        let filter = match self.filter.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(f) => Some(
                ulo_core::filter::parse(f)
                    .map_err(|e| VaultError::invalid(format!("invalid filter: {e}")))?,
            ),
        };
        let paging = Paging::parse(
            self.start_index.as_deref(),
            self.count.as_deref(),
            DEFAULT_COUNT,
            MAX_RESULTS,
        )
        .map_err(VaultError::invalid)?;
        Ok((filter, paging))
    }
}

/// Filters and pages `resources`, answering a ListResponse.
pub(crate) fn list_response(
    query: &ListQuery,
    resources: Vec<Value>,
) -> Result<Response, ScimError> {
    let (filter, paging) = query.parts()?;
    let case_exact = |p: &ulo_core::filter::AttrPath| {
        matches!(
            p.segments.first().map(String::as_str),
            Some("id" | "externalId")
        )
    };
    let matching: Vec<Value> = resources
        .into_iter()
        .filter(|r| {
            filter
                .as_ref()
                .is_none_or(|f| ulo_core::filter::matches_with(f, r, &case_exact))
        })
        .collect();
    Ok(scim_json(
        StatusCode::OK,
        &ListResponse::page(matching, paging),
    ))
}
