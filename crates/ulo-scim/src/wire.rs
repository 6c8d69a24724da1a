//! The SCIM messages both servers send: the error body (RFC 7644 §3.12), the ListResponse
//! (§3.4.2) and its `startIndex`/`count` paging (§3.4.2.4).

use serde::Serialize;

use crate::urn;

/// The SCIM media type.
pub const MEDIA_TYPE: &str = "application/scim+json";

/// An error answer's body (RFC 7644 §3.12).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ScimErrorBody))]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// Always the error message URN.
    pub schemas: Vec<String>,
    /// The HTTP status, as a string.
    pub status: String,
    /// The RFC 7644 §3.12 keyword, for 400 and 409 answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scim_type: Option<String>,
    /// What went wrong, for a person.
    pub detail: String,
}

impl ErrorBody {
    /// An error body for `status` (e.g. 404), an optional keyword and a detail.
    pub fn new(status: u16, scim_type: Option<&str>, detail: impl Into<String>) -> Self {
        ErrorBody {
            schemas: vec![urn::ERROR.to_string()],
            status: status.to_string(),
            scim_type: scim_type.map(str::to_string),
            detail: detail.into(),
        }
    }
}

/// Where a page starts (1-based) and how many resources it holds at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    /// 1-based index of the first resource.
    pub start_index: usize,
    /// The most resources on the page.
    pub count: usize,
}

impl Paging {
    /// Clamps a request's `startIndex` and `count` (RFC 7644 §3.4.2.4): a start below 1 is 1, a
    /// negative count is 0, no count is `default_count`, and no page holds more than `max`.
    pub fn new(
        start_index: Option<i64>,
        count: Option<i64>,
        default_count: usize,
        max: usize,
    ) -> Self {
        let start = start_index.unwrap_or(1).max(1);
        let count = match count {
            None => default_count,
            Some(c) => usize::try_from(c.max(0)).unwrap_or(usize::MAX),
        };
        Paging {
            start_index: usize::try_from(start).unwrap_or(usize::MAX),
            count: count.min(max),
        }
    }

    /// [`Paging::new`] from query-string text; an unreadable number is refused with a message
    /// naming the parameter.
    pub fn parse(
        start_index: Option<&str>,
        count: Option<&str>,
        default_count: usize,
        max: usize,
    ) -> Result<Self, String> {
        let int = |v: Option<&str>, name: &str| -> Result<Option<i64>, String> {
            v.map(|s| {
                s.trim()
                    .parse::<i64>()
                    .map_err(|_| format!("{name} must be an integer, not {s:?}"))
            })
            .transpose()
        };
        Ok(Self::new(
            int(start_index, "startIndex")?,
            int(count, "count")?,
            default_count,
            max,
        ))
    }
}

/// A list answer (RFC 7644 §3.4.2): one page of the matching resources.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ScimListResponse))]
#[serde(rename_all = "camelCase")]
pub struct ListResponse<T> {
    /// Always the ListResponse URN.
    pub schemas: Vec<String>,
    /// How many resources matched, on every page.
    pub total_results: usize,
    /// 1-based index of the first resource on this page.
    pub start_index: usize,
    /// How many resources this page holds.
    pub items_per_page: usize,
    /// This page's resources.
    #[serde(rename = "Resources")]
    pub resources: Vec<T>,
}

impl<T> ListResponse<T> {
    /// The page `paging` selects from every matching resource.
    pub fn page(matching: Vec<T>, paging: Paging) -> Self {
        let total = matching.len();
        let resources: Vec<T> = matching
            .into_iter()
            .skip(paging.start_index.saturating_sub(1))
            .take(paging.count)
            .collect();
        ListResponse {
            schemas: vec![urn::LIST_RESPONSE.to_string()],
            total_results: total,
            start_index: paging.start_index,
            items_per_page: resources.len(),
            resources,
        }
    }

    /// All of `items` as one page.
    pub fn whole(items: Vec<T>) -> Self {
        Self::page(
            items,
            Paging {
                start_index: 1,
                count: usize::MAX,
            },
        )
    }

    /// The same page with each resource turned into another form.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> ListResponse<U> {
        ListResponse {
            schemas: self.schemas,
            total_results: self.total_results,
            start_index: self.start_index,
            items_per_page: self.items_per_page,
            resources: self.resources.into_iter().map(f).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paging_clamps_as_rfc_7644_says() {
        assert_eq!(
            Paging::new(None, None, 100, 200),
            Paging {
                start_index: 1,
                count: 100
            }
        );
        assert_eq!(
            Paging::new(Some(0), Some(-3), 100, 200),
            Paging {
                start_index: 1,
                count: 0
            }
        );
        assert_eq!(
            Paging::new(Some(7), Some(5000), 100, 200),
            Paging {
                start_index: 7,
                count: 200
            }
        );
        assert_eq!(
            Paging::parse(Some(" 2 "), Some("3"), 100, 200),
            Ok(Paging {
                start_index: 2,
                count: 3
            })
        );
        assert_eq!(
            Paging::parse(Some("x"), None, 100, 200),
            Err("startIndex must be an integer, not \"x\"".to_string())
        );
    }

    #[test]
    fn a_list_response_pages_and_counts() {
        let page = ListResponse::page(vec![1, 2, 3, 4, 5], Paging::new(Some(2), Some(2), 10, 10));
        assert_eq!(
            serde_json::to_value(&page).unwrap(),
            json!({
                "schemas": [urn::LIST_RESPONSE],
                "totalResults": 5, "startIndex": 2, "itemsPerPage": 2, "Resources": [2, 3],
            })
        );
        let past = ListResponse::page(vec![1], Paging::new(Some(9), None, 10, 10));
        assert_eq!((past.total_results, past.items_per_page), (1, 0));
        assert_eq!(ListResponse::whole(vec!["a"]).items_per_page, 1);
    }

    #[test]
    fn an_error_body_has_the_status_as_a_string() {
        let e = ErrorBody::new(409, Some("uniqueness"), "taken");
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            json!({"schemas": [urn::ERROR], "status": "409", "scimType": "uniqueness", "detail": "taken"})
        );
        let e = ErrorBody::new(404, None, "gone");
        assert!(serde_json::to_value(&e).unwrap().get("scimType").is_none());
    }
}
