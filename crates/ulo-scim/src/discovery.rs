//! The ServiceProviderConfig document (RFC 7643 §5): what a provider supports.

use serde::Serialize;

use crate::resource::Meta;
use crate::urn;

/// `ServiceProviderConfig`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ScimServiceProviderConfig))]
#[serde(rename_all = "camelCase")]
pub struct ServiceProviderConfig {
    /// Always the ServiceProviderConfig URN.
    pub schemas: Vec<String>,
    /// PATCH.
    pub patch: Supported,
    /// Bulk operations.
    pub bulk: Bulk,
    /// Filters, and the most resources a page holds.
    pub filter: Filter,
    /// Password changes.
    pub change_password: Supported,
    /// `sortBy`.
    pub sort: Supported,
    /// ETags.
    pub etag: Supported,
    /// How clients authenticate.
    pub authentication_schemes: Vec<AuthenticationScheme>,
    /// Where it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

impl ServiceProviderConfig {
    /// A provider that supports PATCH and filters (pages of at most `max_results`), no bulk
    /// operations and no password changes; `sort` and `etag` as given.
    pub fn new(
        max_results: usize,
        sort: bool,
        etag: bool,
        authentication_schemes: Vec<AuthenticationScheme>,
    ) -> Self {
        ServiceProviderConfig {
            schemas: vec![urn::SERVICE_PROVIDER_CONFIG.to_string()],
            patch: Supported { supported: true },
            bulk: Bulk {
                supported: false,
                max_operations: 0,
                max_payload_size: 0,
            },
            filter: Filter {
                supported: true,
                max_results,
            },
            change_password: Supported { supported: false },
            sort: Supported { supported: sort },
            etag: Supported { supported: etag },
            authentication_schemes,
            meta: None,
        }
    }
}

/// `{"supported": …}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ScimSupported))]
pub struct Supported {
    /// Whether the feature is supported.
    pub supported: bool,
}

/// `bulk`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ScimBulk))]
#[serde(rename_all = "camelCase")]
pub struct Bulk {
    /// Whether bulk operations are supported.
    pub supported: bool,
    /// The most operations in one request.
    pub max_operations: u32,
    /// The largest request, in bytes.
    pub max_payload_size: u32,
}

/// `filter`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ScimFilter))]
#[serde(rename_all = "camelCase")]
pub struct Filter {
    /// Whether filters are supported.
    pub supported: bool,
    /// The most resources one answer holds.
    pub max_results: usize,
}

/// One authentication scheme.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ScimAuthenticationScheme))]
pub struct AuthenticationScheme {
    /// e.g. `oauthbearertoken`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Its name.
    pub name: String,
    /// How to use it.
    pub description: String,
    /// Whether it is the preferred one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary: Option<bool>,
}
