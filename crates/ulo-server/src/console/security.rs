//! Security → security events providers, workflows, API tokens, SCIM credentials and
//! administrators: lists, the forms that add to them (their errors beside the field, secrets
//! shown once), and confirmed deletes and revokes. Each change is the admin API's domain call.

mod admins;
mod credentials;
mod providers;
mod workflows;

use axum::Router;
use axum::http::StatusCode;

use super::render::ConsoleError;
use crate::state::AppState;

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(providers::router())
        .merge(workflows::router())
        .merge(credentials::router())
        .merge(admins::router())
}

/// A form's problems, each under the field it names.
#[derive(Debug, Default, Clone)]
pub struct FormErrors {
    /// (field, message) in the order found.
    by_field: Vec<(&'static str, String)>,
    /// Problems of no field (shown on top).
    pub other: Vec<String>,
    /// The one-line summary on top.
    pub summary: Option<String>,
    /// The answer's status (the domain's, or 400 for the form's own problems).
    status: Option<StatusCode>,
}

impl FormErrors {
    /// The messages for `field`.
    pub fn of(&self, field: &str) -> Vec<&str> {
        self.by_field
            .iter()
            .filter(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
            .collect()
    }

    /// Whether `field` has a problem.
    pub fn has(&self, field: &str) -> bool {
        self.by_field.iter().any(|(f, _)| *f == field)
    }

    /// Whether anything is wrong.
    pub fn any(&self) -> bool {
        self.summary.is_some() || !self.by_field.is_empty() || !self.other.is_empty()
    }

    /// A problem with `field` (400).
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.summary
            .get_or_insert_with(|| "Check the fields marked below.".into());
        self.status.get_or_insert(StatusCode::BAD_REQUEST);
        self.by_field.push((field, message.into()));
    }

    /// Answers with `status`.
    pub fn set_status(&mut self, status: StatusCode) {
        self.status = Some(status);
    }

    /// The status to answer with.
    pub fn status(&self) -> StatusCode {
        match self.status {
            Some(s) => s,
            None if self.any() => StatusCode::BAD_REQUEST,
            None => StatusCode::OK,
        }
    }

    /// `e` spread over the form: each cause `path: what` under the field whose API path it
    /// names (`fields`: form field → API path, longest paths first), the rest on top.
    pub fn from_error(e: &ConsoleError, fields: &[(&'static str, &str)]) -> Self {
        let mut out = FormErrors {
            status: Some(e.status),
            ..FormErrors::default()
        };
        if e.status != StatusCode::BAD_REQUEST || e.causes.is_empty() {
            out.summary = Some(e.message.clone());
            out.other.extend(e.causes.iter().cloned());
            return out;
        }
        out.summary = Some("Check the fields marked below.".into());
        for cause in &e.causes {
            let (path, what) = cause.split_once(": ").unwrap_or(("", cause.as_str()));
            match fields.iter().find(|(_, api)| {
                path == *api
                    || path.starts_with(&format!("{api}."))
                    || path.starts_with(&format!("{api} "))
            }) {
                Some((field, _)) => out.add(field, sentence(what)),
                None => out.other.push(cause.clone()),
            }
        }
        out
    }
}

/// `what` as a sentence: capitalised, with a full stop.
pub fn sentence(what: &str) -> String {
    let mut c = what.chars();
    let mut s = match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect::<String>(),
        None => String::new(),
    };
    if !s.ends_with('.') && !s.ends_with(')') {
        s.push('.');
    }
    s
}

/// A secret shown once, right after it was made.
pub struct ShownOnce {
    /// What it is ("The workflow's signing secret").
    pub what: String,
    /// The secret.
    pub value: String,
    /// Where it goes.
    pub hint: String,
}
