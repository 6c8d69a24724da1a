//! How console pages are answered: the frame every page shares ([`Shell`]), rendering a template
//! with the console's headers, and errors shown as a page or, for an htmx request, in place.

use askama::Template;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ulo_core::error::DomainError;
use ulo_core::store::StoreError;

use crate::error::ApiError;

/// The console's Content-Security-Policy: scripts, styles and everything else from ulo only; no
/// inline script or style, no framing, forms post to ulo only.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The part of the navigation a page belongs to (the seeds' menu).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// No menu entry (errors, sign-in).
    None,
    /// The dashboard.
    Dashboard,
    /// Directory → People.
    People,
    /// Directory → Groups.
    Groups,
    /// Applications.
    Applications,
    /// Devices.
    Devices,
    /// Security → Entity Risk Policy.
    RiskPolicy,
    /// Security → Security events providers.
    Providers,
    /// Security → Workflows.
    Workflows,
    /// Security → API tokens.
    ApiTokens,
    /// Security → SCIM credentials.
    ScimCredentials,
    /// Security → Admins.
    Admins,
    /// Settings → Features.
    Features,
    /// Reports → System Log.
    SystemLog,
    /// Logouts (receipts).
    Logouts,
}

impl Section {
    /// The name templates compare with.
    pub fn key(self) -> &'static str {
        match self {
            Section::None => "",
            Section::Dashboard => "dashboard",
            Section::People => "people",
            Section::Groups => "groups",
            Section::Applications => "applications",
            Section::Devices => "devices",
            Section::RiskPolicy => "risk-policy",
            Section::Providers => "providers",
            Section::Workflows => "workflows",
            Section::ApiTokens => "api-tokens",
            Section::ScimCredentials => "scim-credentials",
            Section::Admins => "admins",
            Section::Features => "features",
            Section::SystemLog => "system-log",
            Section::Logouts => "logouts",
        }
    }
}

/// What the frame of every page needs: the title, where it sits in the menu, who is signed in,
/// whether they may change things, and the csrf token every change carries.
#[derive(Debug, Clone)]
pub struct Shell {
    /// The page's title (also its `<h1>`).
    pub title: String,
    /// The menu entry to mark current.
    pub section: &'static str,
    /// Who is signed in (empty: nobody; the menu is not shown).
    pub admin: String,
    /// Whether write controls are shown (SUPER_ADMIN).
    pub can_write: bool,
    /// The csrf token bound to the console cookie; htmx sends it as `X-CSRF-Token`, forms as
    /// the hidden field `csrf`.
    pub csrf: String,
    /// A one-line notice at the top of the page (after a change).
    pub notice: Option<String>,
}

impl Shell {
    /// A frame with nobody signed in.
    pub fn bare(title: &str) -> Self {
        Shell {
            title: title.to_string(),
            section: "",
            admin: String::new(),
            can_write: false,
            csrf: String::new(),
            notice: None,
        }
    }

    /// The same frame with a notice.
    pub fn with_notice(mut self, notice: impl Into<String>) -> Self {
        self.notice = Some(notice.into());
        self
    }

    /// The `hx-headers` attribute value carrying the csrf token.
    pub fn hx_headers(&self) -> String {
        serde_json::json!({ "X-CSRF-Token": self.csrf }).to_string()
    }
}

/// A rendered template as an answer with the console's headers.
pub fn page<T: Template>(template: &T) -> Response {
    page_with(StatusCode::OK, template)
}

/// A rendered template with `status`.
pub fn page_with<T: Template>(status: StatusCode, template: &T) -> Response {
    match template.render() {
        Ok(html) => {
            let mut resp = crate::routes::page::html_response(status, html, CSP);
            resp.headers_mut().insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            resp
        }
        Err(e) => ConsoleError::from(ApiError::internal(format!("template: {e}"))).bare(),
    }
}

/// Whether the request came from htmx (answer a fragment, not a page).
pub fn is_htmx(headers: &HeaderMap) -> bool {
    headers.contains_key("hx-request")
}

/// An error to show a person: the status, one line they can act on, and each problem.
#[derive(Debug, Clone)]
pub struct ConsoleError {
    /// HTTP status.
    pub status: StatusCode,
    /// What went wrong and what to do.
    pub message: String,
    /// Each problem (a field's error, say).
    pub causes: Vec<String>,
}

/// Result of console handlers.
pub type ConsoleResult<T> = Result<T, ConsoleError>;

#[derive(Template)]
#[template(path = "console/error.html")]
struct ErrorPage<'a> {
    shell: Shell,
    error: &'a ConsoleError,
}

#[derive(Template)]
#[template(path = "console/_alert.html")]
struct ErrorFragment<'a> {
    error: &'a ConsoleError,
}

impl ConsoleError {
    /// An error with no causes.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ConsoleError {
            status,
            message: message.into(),
            causes: Vec::new(),
        }
    }

    /// A whole page in `shell`'s frame.
    pub fn page(&self, mut shell: Shell) -> Response {
        shell.title = self.title().to_string();
        page_with(self.status, &ErrorPage { shell, error: self })
    }

    /// A page without the menu (nobody known is signed in).
    pub fn bare(&self) -> Response {
        self.page(Shell::bare(self.title()))
    }

    /// The error in place: the alert alone, for htmx to swap in where the request came from.
    pub fn fragment(&self) -> Response {
        page_with(self.status, &ErrorFragment { error: self })
    }

    /// A page for a browser navigation, the alert alone for htmx.
    pub fn answer(&self, headers: &HeaderMap, shell: Shell) -> Response {
        if is_htmx(headers) {
            self.fragment()
        } else {
            self.page(shell)
        }
    }

    /// The page's title.
    pub fn title(&self) -> &'static str {
        match self.status {
            StatusCode::BAD_REQUEST => "Please check the form",
            StatusCode::FORBIDDEN => "Not allowed",
            StatusCode::NOT_FOUND => "Not found",
            StatusCode::CONFLICT => "Not possible now",
            StatusCode::UNAUTHORIZED => "Sign in again",
            StatusCode::TOO_MANY_REQUESTS => "Too many requests",
            s if s.is_server_error() => "Something went wrong",
            _ => "Could not do that",
        }
    }
}

impl From<ApiError> for ConsoleError {
    fn from(e: ApiError) -> Self {
        let message = if e.status.is_server_error() && e.status != StatusCode::SERVICE_UNAVAILABLE {
            "ulo could not complete this. Nothing was half-done; try again, and if it keeps failing look at the server's log.".to_string()
        } else {
            e.summary
        };
        ConsoleError {
            status: e.status,
            message,
            causes: e.causes,
        }
    }
}

impl From<DomainError> for ConsoleError {
    fn from(e: DomainError) -> Self {
        ApiError::from(e).into()
    }
}

impl From<StoreError> for ConsoleError {
    fn from(e: StoreError) -> Self {
        ApiError::from(e).into()
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        self.bare()
    }
}

/// A 303 to a console path.
pub fn see_other(location: &str) -> Response {
    crate::routes::page::see_other(location)
}

/// Formats a time for tables: `2026-12-06 03:12 UTC`.
pub fn when(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

/// [`when`] of an optional time, `—` when absent.
pub fn when_opt(t: Option<time::OffsetDateTime>) -> String {
    t.map(when).unwrap_or_else(|| "—".to_string())
}
