//! The answers many operations share (`#/components/responses`): errors, and CORS preflights.

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};

/// A header of type `ty` described by `description`.
fn header(ty: Type, description: &str) -> utoipa::openapi::header::Header {
    HeaderBuilder::new()
        .schema(ObjectBuilder::new().schema_type(ty))
        .description(Some(description))
        .build()
}

/// Declares a shared answer: its name, description, whether its body is an `Error`, and headers.
macro_rules! shared_response {
    ($(#[$doc:meta])* $name:ident, $description:expr, $error_body:expr, [$(($header:expr, $ty:expr, $hdesc:expr)),* $(,)?]) => {
        $(#[$doc])*
        pub struct $name;

        impl<'r> utoipa::ToResponse<'r> for $name {
            fn response() -> (&'r str, RefOr<utoipa::openapi::response::Response>) {
                let mut r = ResponseBuilder::new().description($description);
                if $error_body {
                    r = r.content(
                        "application/json",
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name("Error")))
                            .build(),
                    );
                }
                $(r = r.header($header, header($ty, $hdesc));)*
                (stringify!($name), r.build().into())
            }
        }
    };
}

shared_response!(
    /// `BadRequest`.
    BadRequest,
    "Invalid request: a query parameter, the body or a field in it (E0000001 with errorCauses, or E0000003 for a malformed body).",
    true,
    [
    ]
);

shared_response!(
    /// `Unauthorized`.
    Unauthorized,
    "Missing, malformed, unknown or revoked token, or its owner is not active (E0000011).",
    true,
    [
        ("WWW-Authenticate", Type::String, "SSWS realm=\"ulo\""),
    ]
);

shared_response!(
    /// `Forbidden`.
    Forbidden,
    "The token's owner lacks the role this call needs (E0000006): any admin role to read, SUPER_ADMIN to change things; or the token is limited to scopes and cannot call the admin API.",
    true,
    [
    ]
);

shared_response!(
    /// `NotFound`.
    NotFound,
    "The resource named in the path does not exist, or a path parameter is not valid (E0000007).",
    true,
    [
    ]
);

shared_response!(
    /// `Conflict`.
    Conflict,
    "A uniqueness rule would be broken (E0000183) or the resource's state does not allow this (E0000038).",
    true,
    [
    ]
);

shared_response!(
    /// `PayloadTooLarge`.
    PayloadTooLarge,
    "The body is over 1 MiB (E0000070).",
    true,
    [
    ]
);

shared_response!(
    /// `UnsupportedMediaType`.
    UnsupportedMediaType,
    "The body is not sent as Content-Type: application/json (E0000076).",
    true,
    [
    ]
);

shared_response!(
    /// `TooManyRequests`.
    TooManyRequests,
    "Too many failed authentications from this address (E0000047); retry after the given seconds.",
    true,
    [
        ("Retry-After", Type::Integer, "Seconds to wait."),
    ]
);

shared_response!(
    /// `ServiceUnavailable`.
    ServiceUnavailable,
    "The store cannot be reached; try again shortly (E0000010).",
    true,
    [
    ]
);

shared_response!(
    /// `InternalError`.
    InternalError,
    "An unexpected failure (E0000009); details are in the server log under errorId.",
    true,
    [
    ]
);

shared_response!(
    /// `ReceiverUnauthorized`.
    ReceiverUnauthorized,
    "Missing, malformed or unknown receiver credential (E0000011): send the Shared Signals receiver credential ulo issued for the app as Authorization: Bearer <token>.",
    true,
    [
        ("WWW-Authenticate", Type::String, "Bearer realm=\"ulo-ssf\""),
    ]
);

shared_response!(
    /// `CorsPreflight`.
    CorsPreflight,
    "CORS preflight answer. From the origin (scheme://host[:port]) of a redirect URI registered for an active OIDC app: Access-Control-Allow-Origin echoes that origin, with the allowed methods (GET, POST), request headers (Authorization, Content-Type) and Access-Control-Max-Age (600 s); the origins are looked up on every request, so a newly registered or deactivated app counts at once. From any other origin (and `null`) the answer carries no Access-Control-Allow-Origin, so the browser refuses the call. No Access-Control-Allow-Credentials: these endpoints never use ulo's cookie.",
    false,
    [
        ("Access-Control-Allow-Origin", Type::String, "The request's Origin, only when it is a registered redirect URI's origin."),
        ("Access-Control-Allow-Methods", Type::String, "GET,POST"),
        ("Access-Control-Allow-Headers", Type::String, "authorization,content-type"),
        ("Access-Control-Max-Age", Type::String, "600"),
        ("Vary", Type::String, "origin, access-control-request-method, access-control-request-headers"),
    ]
);

// The sets of answers many operations share; `responses(...)` of `#[utoipa::path]` takes them
// beside its `(status = …)` tuples. Each status refers to its shared answer above.

/// What any call authenticated with an admin API token may answer besides its own statuses:
/// bad or missing token, lacking role, throttled, failure, store unreachable.
#[derive(utoipa::IntoResponses)]
pub enum AdminErrors {
    /// 401.
    #[response(status = 401)]
    Unauthorized(#[ref_response] Unauthorized),
    /// 403.
    #[response(status = 403)]
    Forbidden(#[ref_response] Forbidden),
    /// 429.
    #[response(status = 429)]
    TooManyRequests(#[ref_response] TooManyRequests),
    /// 500.
    #[response(status = 500)]
    InternalError(#[ref_response] InternalError),
    /// 503.
    #[response(status = 503)]
    ServiceUnavailable(#[ref_response] ServiceUnavailable),
}

/// What any call of a Shared Signals receiver may answer besides its own statuses: bad or
/// missing receiver credential, failure, store unreachable.
#[derive(utoipa::IntoResponses)]
pub enum ReceiverErrors {
    /// 401.
    #[response(status = 401)]
    ReceiverUnauthorized(#[ref_response] ReceiverUnauthorized),
    /// 500.
    #[response(status = 500)]
    InternalError(#[ref_response] InternalError),
    /// 503.
    #[response(status = 503)]
    ServiceUnavailable(#[ref_response] ServiceUnavailable),
}

/// What any call that reads the store may answer: failure, store unreachable.
#[derive(utoipa::IntoResponses)]
pub enum ServerErrors {
    /// 500.
    #[response(status = 500)]
    InternalError(#[ref_response] InternalError),
    /// 503.
    #[response(status = 503)]
    ServiceUnavailable(#[ref_response] ServiceUnavailable),
}

/// What any call taking a JSON body may answer for the body: invalid, over 1 MiB, not JSON.
#[derive(utoipa::IntoResponses)]
pub enum JsonBodyErrors {
    /// 400.
    #[response(status = 400)]
    BadRequest(#[ref_response] BadRequest),
    /// 413.
    #[response(status = 413)]
    PayloadTooLarge(#[ref_response] PayloadTooLarge),
    /// 415.
    #[response(status = 415)]
    UnsupportedMediaType(#[ref_response] UnsupportedMediaType),
}
