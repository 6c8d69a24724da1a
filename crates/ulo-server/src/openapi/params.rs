//! The query parameters many operations share; `params(...)` of `#[utoipa::path]` takes them
//! beside its `("name" = …)` tuples, in place.

use utoipa::IntoParams;

/// The keyset cursor of a list call. `limit` stays with each operation: its bounds and default
/// differ from list to list.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct After {
    /// Keyset cursor: the id of the last item of the previous page (an empty value means the first page; anything not a UUID answers 400). Take it from the Link rel="next" header rather than building it.
    #[param(pattern = "^[^\\u0000]*$")]
    pub after: Option<String>,
}
