//! Keyset paging: `limit` and `after` in, `Link` headers out.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use serde::Deserialize;
use serde::de::IgnoredAny;
use ulo_core::store::Page;

use crate::error::ApiError;
use crate::extract::ApiQuery;

/// A list's page from the query: `limit` (1 to `MAX`, `DEFAULT` when left out) and `after` (the
/// id of the previous page's last item). A bad one answers 400, as [`ApiQuery`] does for the
/// list's other parameters.
pub struct Paging<const DEFAULT: u32, const MAX: u32> {
    /// The page to read.
    pub page: Page,
    /// `after` as it was sent (lists that repeat it in their `self` link).
    pub after: Option<String>,
}

/// The paging parameters as sent.
#[derive(Deserialize)]
struct PagingQuery {
    after: Option<String>,
    limit: Option<u32>,
}

impl<S: Send + Sync, const DEFAULT: u32, const MAX: u32> FromRequestParts<S>
    for Paging<DEFAULT, MAX>
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let ApiQuery(q) = ApiQuery::<PagingQuery>::from_request_parts(parts, state).await?;
        Ok(Paging {
            page: page(q.after.clone(), q.limit, DEFAULT, MAX)?,
            after: q.after,
        })
    }
}

impl<const DEFAULT: u32, const MAX: u32> Paging<DEFAULT, MAX> {
    /// The cursor of the next page: the last item's id, when the page came back full.
    pub fn next<T>(&self, items: &[T], id: impl Fn(&T) -> String) -> Option<String> {
        next_after(&self.page, items, id)
    }
}

/// The query of a list that takes paging's parameters and refuses any other (400 naming it).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NothingElse {
    #[serde(rename = "after")]
    _after: Option<IgnoredAny>,
    #[serde(rename = "limit")]
    _limit: Option<IgnoredAny>,
}

/// Checks `limit` against `max` (default `default`).
pub fn limit(raw: Option<u32>, default: u32, max: u32) -> Result<u32, ApiError> {
    match raw {
        None => Ok(default),
        Some(n) if (1..=max).contains(&n) => Ok(n),
        Some(n) => Err(ApiError::bad_request(
            format!("Invalid limit {n}: it must be between 1 and {max}"),
            vec![],
        )),
    }
}

/// A page from query parameters; `after` is the id of the last item of the previous page.
pub fn page(
    after: Option<String>,
    raw_limit: Option<u32>,
    default: u32,
    max: u32,
) -> Result<Page, ApiError> {
    // Ids compare as canonical text in the store: anything else would page wrongly or, worse,
    // answer an empty page that looks like the end.
    let after = after
        .filter(|a| !a.is_empty())
        .map(|a| {
            uuid::Uuid::parse_str(&a).map(|id| id.to_string()).map_err(|_| {
                ApiError::bad_request(
                    format!(
                        "Invalid after cursor {a:?}: use the value from a Link rel=\"next\" header"
                    ),
                    vec![],
                )
            })
        })
        .transpose()?;
    Ok(Page {
        after,
        limit: limit(raw_limit, default, max)?,
    })
}

/// The cursor of the next page: the last item's id, when the page came back full.
pub fn next_after<T>(page: &Page, items: &[T], id: impl Fn(&T) -> String) -> Option<String> {
    (items.len() as u32 == page.limit)
        .then(|| items.last().map(id))
        .flatten()
}

/// Encodes query parameters.
pub fn query_string(params: &[(&str, String)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        s.append_pair(k, v);
    }
    s.finish()
}

/// `Link` headers: `self` always, `next` when a full page came back.
pub fn links(
    base: &str,
    path: &str,
    mut params: Vec<(&str, String)>,
    next_after: Option<String>,
) -> HeaderMap {
    let mut h = HeaderMap::new();
    let self_link = format!("<{base}{path}?{}>; rel=\"self\"", query_string(&params));
    if let Ok(v) = HeaderValue::from_str(&self_link) {
        h.append(header::LINK, v);
    }
    if let Some(after) = next_after {
        params.retain(|(k, _)| *k != "after");
        params.push(("after", after));
        let next = format!("<{base}{path}?{}>; rel=\"next\"", query_string(&params));
        if let Ok(v) = HeaderValue::from_str(&next) {
            h.append(header::LINK, v);
        }
    }
    h
}
