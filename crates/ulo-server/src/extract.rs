//! Extractors whose rejections are our JSON errors, never axum's plain-text ones.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::ApiError;

/// A JSON body; wrong content type → 415, malformed or mistyped JSON → 400 saying where.
/// Text containing NUL (U+0000) → 400: PostgreSQL cannot store it and SQLite can, so it is
/// refused here, alike on every backend, rather than failing in the store.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let axum::Json(doc) = axum::Json::<Value>::from_request(req, state)
            .await
            .map_err(json_rejection)?;
        // Every body this API takes is an object; serde would otherwise read a struct from an
        // array by position, accepting `["x"]` as `{"name":"x"}`.
        if !doc.is_object() {
            return Err(ApiError::bad_request(
                "Api validation failed: the request body must be a JSON object",
                vec![format!("body: found {}", json_kind(&doc))],
            ));
        }
        if let Some(at) = nul_path(&doc) {
            let at = if at.is_empty() { "body".into() } else { at };
            return Err(ApiError::bad_request(
                "Api validation failed: text must not contain NUL (U+0000) characters",
                vec![format!("{at}: contains a NUL character")],
            ));
        }
        serde_json::from_value(doc).map(ApiJson).map_err(|e| {
            ApiError::bad_request(
                "Api validation failed: the request body does not match what this call takes",
                vec![e.to_string()],
            )
        })
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Where in `v` a string (or key) holds a NUL, as `a.b[2]` (empty: `v` itself).
fn nul_path(v: &Value) -> Option<String> {
    let join = |head: String, rest: String| {
        if rest.is_empty() || rest.starts_with('[') {
            format!("{head}{rest}")
        } else {
            format!("{head}.{rest}")
        }
    };
    match v {
        Value::String(s) => s.contains('\0').then(String::new),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, x)| nul_path(x).map(|rest| join(format!("[{i}]"), rest))),
        Value::Object(map) => map.iter().find_map(|(k, x)| {
            if k.contains('\0') {
                Some(k.replace('\0', "\\0"))
            } else {
                nul_path(x).map(|rest| join(k.clone(), rest))
            }
        }),
        _ => None,
    }
}

fn json_rejection(rej: JsonRejection) -> ApiError {
    match rej {
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "E0000076",
            "Unsupported media type: send the body as JSON with Content-Type: application/json",
        ),
        JsonRejection::JsonSyntaxError(e) => ApiError::new(
            StatusCode::BAD_REQUEST,
            "E0000003",
            format!("The request body was not well-formed: {}", source_text(&e)),
        ),
        JsonRejection::JsonDataError(e) => ApiError::bad_request(
            "Api validation failed: the request body does not match what this call takes",
            vec![source_text(&e)],
        ),
        JsonRejection::BytesRejection(e) => {
            let status = e.status();
            if status == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    status,
                    "E0000070",
                    "Request body too large: the limit is 1 MiB",
                )
            } else {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "E0000003",
                    format!("Could not read the request body: {e}"),
                )
            }
        }
        other => ApiError::new(
            StatusCode::BAD_REQUEST,
            "E0000003",
            format!("Bad request body: {other}"),
        ),
    }
}

fn source_text(e: &dyn std::error::Error) -> String {
    let mut msg = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        msg = s.to_string();
        src = s.source();
    }
    msg
}

/// Query parameters; a bad one → 400 naming it.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        // A NUL can only arrive percent-encoded; see [`ApiJson`] for why it is refused.
        if parts.uri.query().is_some_and(|q| q.contains("%00")) {
            return Err(ApiError::bad_request(
                "Invalid query parameters: text must not contain NUL (U+0000) characters",
                vec![],
            ));
        }
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|e: QueryRejection| {
                ApiError::bad_request(
                    format!("Invalid query parameters: {}", source_text(&e)),
                    vec![],
                )
            })
    }
}

/// Path parameters; a bad one → 404 (the path names nothing).
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        // No id or login contains a NUL, and PostgreSQL could not even look one up.
        if parts.uri.path().contains("%00") {
            return Err(ApiError::not_found(
                "Not found: Resource not found: the path contains a NUL character",
            ));
        }
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| ApiPath(p.0))
            .map_err(|e: PathRejection| {
                ApiError::not_found(format!("Not found: {}", source_text(&e)))
            })
    }
}
