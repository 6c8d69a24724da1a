//! Keyset paging: `limit` and `after` in, `Link` headers out.

use axum::http::{HeaderMap, HeaderValue, header};
use ulo_core::store::Page;

use crate::error::ApiError;

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
