//! Add Application: the form (OIDC, logout and provisioning settings), its errors beside each
//! field, and the page that shows the new client secret once.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use ulo_core::app::GrantType;
use ulo_core::app::{
    AppInput, AppType, LogoutInput, LogoutProtocol, OidcInput, ProvisioningInput, ScimInput,
    SubjectFormat, TokenEndpointAuthMethod,
};

use crate::console::render::{ConsoleError, Section, Shell, page, page_with, see_other};
use crate::console::session::Console;
use crate::state::AppState;

/// Errors of a form: one line on top, and each problem beside the field it is about.
#[derive(Debug, Default, Clone)]
pub struct FieldErrors {
    /// What happened, on top of the form.
    pub summary: Option<String>,
    /// Problems no field owns.
    pub general: Vec<String>,
    fields: Vec<(String, String)>,
}

impl FieldErrors {
    /// No error.
    pub fn none() -> Self {
        FieldErrors::default()
    }

    /// Nothing yet, under `summary`.
    pub fn titled(summary: &str) -> Self {
        FieldErrors {
            summary: Some(summary.to_string()),
            ..FieldErrors::default()
        }
    }

    /// One problem no field owns, under `summary`.
    pub fn general(summary: &str, message: impl Into<String>) -> Self {
        let mut e = FieldErrors::titled(summary);
        e.general.push(message.into());
        e
    }

    /// One problem of `field`, under `summary`.
    pub fn single(summary: &str, field: &str, message: impl Into<String>) -> Self {
        let mut e = FieldErrors::titled(summary);
        e.add(field, message);
        e
    }

    /// Records a problem of `field`.
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.fields.push((field.to_string(), message.into()));
    }

    /// An error answered by the domain, each cause (`key: message`) put beside the field `map`
    /// names for its key (the key itself is then left out), the rest on top.
    pub fn of(summary: &str, e: &ConsoleError, map: &[(&str, &str)]) -> Self {
        let mut out = FieldErrors::titled(summary);
        if e.causes.is_empty() {
            // One message: beside a field when it names one (a conflict, say), else on top.
            match map
                .iter()
                .find(|(k, _)| e.message.starts_with(&format!("{k}: ")))
            {
                Some((k, f)) => out.add(f, &e.message[k.len() + 2..]),
                None => out.general.push(e.message.clone()),
            }
            return out;
        }
        for c in &e.causes {
            let found = c
                .split_once(": ")
                .and_then(|(k, rest)| map.iter().find(|(m, _)| *m == k).map(|(_, f)| (*f, rest)));
            match found {
                Some((f, rest)) => out.add(f, rest),
                None => out.general.push(c.clone()),
            }
        }
        out
    }

    /// Whether there is nothing to show.
    pub fn is_empty(&self) -> bool {
        self.summary.is_none() && self.general.is_empty() && self.fields.is_empty()
    }

    /// The problems of `field`, joined; `None` when it has none.
    pub fn field(&self, field: &str) -> Option<String> {
        let all: Vec<&str> = self
            .fields
            .iter()
            .filter(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
            .collect();
        (!all.is_empty()).then(|| all.join("; "))
    }

    /// `true`/`false` for `aria-invalid`.
    pub fn invalid(&self, field: &str) -> &'static str {
        if self.fields.iter().any(|(f, _)| f == field) {
            "true"
        } else {
            "false"
        }
    }

    /// Each field's problem with the field's name from `labels`, for a list on top that links
    /// to the field.
    pub fn items(&self, labels: &[(&str, &str)]) -> Vec<FieldItem> {
        self.fields
            .iter()
            .map(|(f, m)| FieldItem {
                field: f.clone(),
                label: labels
                    .iter()
                    .find(|(k, _)| k == f)
                    .map_or_else(|| f.clone(), |(_, l)| (*l).to_string()),
                message: m.clone(),
            })
            .collect()
    }

    /// Whether some problem sits beside a field.
    pub fn has_fields(&self) -> bool {
        !self.fields.is_empty()
    }
}

/// A field's problem, for the list on top of a form.
pub struct FieldItem {
    /// The field's id.
    pub field: String,
    /// Its name on the form.
    pub label: String,
    /// The problem.
    pub message: String,
}

/// The names of the Add Application form's fields.
pub const APP_LABELS: &[(&str, &str)] = &[
    ("label", "Application label"),
    ("app_type", "Type"),
    ("redirect_uris", "Sign-in redirect URIs"),
    ("post_logout_redirect_uris", "Sign-out redirect URIs"),
    ("grant_types", "Grant types"),
    ("auth_method", "Client authentication"),
    ("jwks", "Client's public keys"),
    ("logout_enabled", "Logout"),
    ("logout_protocol", "Protocol"),
    ("logout_endpoint", "Endpoint"),
    ("subject_format", "The person is named by"),
    ("scim_base_url", "SCIM base URL"),
    ("scim_token", "SCIM bearer token"),
];

/// Where the domain's keys of an app's input are shown in the console's forms.
pub const APP_FIELDS: &[(&str, &str)] = &[
    ("label", "label"),
    ("type", "app_type"),
    ("oidc.redirectUris", "redirect_uris"),
    ("oidc.postLogoutRedirectUris", "post_logout_redirect_uris"),
    ("oidc.grantTypes", "grant_types"),
    ("oidc.tokenEndpointAuthMethod", "auth_method"),
    ("oidc.jwks", "jwks"),
    ("logout", "logout_enabled"),
    ("logout.protocol", "logout_protocol"),
    ("logout.endpoint", "logout_endpoint"),
    ("logout.subjectFormat", "subject_format"),
    ("provisioning", "scim_base_url"),
    ("provisioning.scim.baseUrl", "scim_base_url"),
    ("provisioning.scim.token", "scim_token"),
];

/// The protocols a logout-enabled app speaks, as the form offers them.
pub const PROTOCOLS: &[(&str, &str, &str)] = &[
    (
        "global-token-revocation",
        "Universal Logout (Global Token Revocation)",
        "ulo POSTs a signed request naming the person to the app's Universal Logout endpoint.",
    ),
    (
        "oidc-backchannel",
        "OIDC Back-Channel Logout",
        "ulo POSTs a logout token to the app's back-channel logout URI.",
    ),
    (
        "ssf",
        "Shared Signals (SSF)",
        "ulo pushes a CAEP session-revoked event to the app's SSF receiver endpoint.",
    ),
];

/// A protocol's name in the console.
pub fn protocol_name(p: LogoutProtocol) -> &'static str {
    PROTOCOLS
        .iter()
        .find(|(k, _, _)| *k == p.as_str())
        .map_or("", |(_, n, _)| n)
}

/// The token endpoint authentication methods offered.
pub const AUTH_METHODS: &[(&str, &str)] = &[
    ("client_secret_basic", "Client secret (HTTP Basic)"),
    ("client_secret_post", "Client secret (form post)"),
    (
        "private_key_jwt",
        "Private key JWT (the client's public keys)",
    ),
    ("none", "None: a public client with PKCE"),
];

/// The Add Application form.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct NewApp {
    /// Label.
    #[serde(default)]
    pub label: String,
    /// `oidc` or `desktop-mfa`.
    #[serde(default)]
    pub app_type: String,
    /// One per line.
    #[serde(default)]
    pub redirect_uris: String,
    /// One per line.
    #[serde(default)]
    pub post_logout_redirect_uris: String,
    /// A token endpoint auth method.
    #[serde(default)]
    pub auth_method: String,
    /// Grant type checkboxes.
    pub grant_authorization_code: Option<String>,
    /// Grant type checkbox.
    pub grant_refresh_token: Option<String>,
    /// Grant type checkbox.
    pub grant_client_credentials: Option<String>,
    /// Whether back-channel logout tokens carry `sid`.
    pub backchannel_session_required: Option<String>,
    /// The client's public keys (JWKS JSON) for private_key_jwt.
    #[serde(default)]
    pub jwks: String,
    /// "on": Universal Logout reaches the app.
    pub logout_enabled: Option<String>,
    /// A protocol of [`PROTOCOLS`].
    #[serde(default)]
    pub logout_protocol: String,
    /// The endpoint ulo calls.
    #[serde(default)]
    pub logout_endpoint: String,
    /// `email` or `iss_sub`.
    #[serde(default)]
    pub subject_format: String,
    /// SCIM base URL.
    #[serde(default)]
    pub scim_base_url: String,
    /// SCIM bearer token (never shown back).
    #[serde(default)]
    pub scim_token: String,
}

impl NewApp {
    fn blank() -> Self {
        NewApp {
            app_type: "oidc".into(),
            auth_method: "client_secret_basic".into(),
            grant_authorization_code: Some("on".into()),
            grant_refresh_token: Some("on".into()),
            logout_protocol: "global-token-revocation".into(),
            subject_format: "email".into(),
            ..NewApp::default()
        }
    }

    /// The API's input for this form, or what the console itself could not read.
    fn input(&self) -> Result<AppInput, FieldErrors> {
        let mut errors = FieldErrors::titled(NOT_CREATED);
        let app_type = match self.app_type.as_str() {
            "oidc" => Some(AppType::Oidc),
            "desktop-mfa" => Some(AppType::DesktopMfa),
            _ => {
                errors.add("app_type", "Choose OIDC app or Desktop MFA.");
                None
            }
        };
        // Only OIDC apps authenticate at the token endpoint.
        let auth_method = match app_type {
            Some(AppType::Oidc) => parse_enum::<TokenEndpointAuthMethod>(&self.auth_method)
                .or_else(|| {
                    errors.add("auth_method", "Choose one of the methods listed.");
                    None
                }),
            _ => Some(TokenEndpointAuthMethod::None),
        };
        let jwks = match self.jwks.trim() {
            "" => None,
            text => match serde_json::from_str::<serde_json::Value>(text) {
                Ok(v) => Some(v),
                Err(e) => {
                    errors.add(
                        "jwks",
                        format!("not JSON ({e}): paste the JWKS, {{\"keys\":[…]}}"),
                    );
                    None
                }
            },
        };
        let protocol = match self.logout_protocol.as_str() {
            "" => None,
            p => match p.parse::<LogoutProtocol>() {
                Ok(p) => Some(p),
                Err(_) => {
                    errors.add("logout_protocol", "Choose one of the protocols listed.");
                    None
                }
            },
        };
        let subject_format = match self.subject_format.as_str() {
            "" | "email" => SubjectFormat::Email,
            "iss_sub" => SubjectFormat::IssSub,
            _ => {
                errors.add("subject_format", "Choose email or issuer and subject.");
                SubjectFormat::Email
            }
        };
        let (Some(app_type), Some(auth_method), false) =
            (app_type, auth_method, errors.has_fields())
        else {
            return Err(errors);
        };
        let mut grants = Vec::new();
        for (on, g) in [
            (&self.grant_authorization_code, GrantType::AuthorizationCode),
            (&self.grant_refresh_token, GrantType::RefreshToken),
            (&self.grant_client_credentials, GrantType::ClientCredentials),
        ] {
            if on.is_some() {
                grants.push(g);
            }
        }
        let endpoint = non_empty(&self.logout_endpoint);
        let scim = non_empty(&self.scim_base_url).map(|base_url| ProvisioningInput {
            scim: ScimInput {
                base_url,
                token: non_empty(&self.scim_token),
            },
        });
        Ok(match app_type {
            AppType::Oidc => AppInput {
                label: self.label.clone(),
                app_type,
                oidc: Some(OidcInput {
                    redirect_uris: lines(&self.redirect_uris),
                    post_logout_redirect_uris: lines(&self.post_logout_redirect_uris),
                    token_endpoint_auth_method: Some(auth_method),
                    backchannel_logout_session_required: self
                        .backchannel_session_required
                        .is_some(),
                    grant_types: Some(grants),
                    jwks,
                    ..OidcInput::default()
                }),
                logout: Some(LogoutInput {
                    enabled: self.logout_enabled.is_some(),
                    protocol,
                    endpoint,
                    subject_format: Some(subject_format),
                }),
                provisioning: scim,
            },
            // The managed computers: no sign-on part; a protocol, endpoint or SCIM target typed
            // in anyway goes to the domain, which says why it does not belong.
            AppType::DesktopMfa => AppInput {
                label: self.label.clone(),
                app_type,
                oidc: None,
                logout: Some(LogoutInput {
                    enabled: self.logout_enabled.is_some(),
                    protocol: endpoint.is_some().then_some(protocol).flatten(),
                    endpoint,
                    subject_format: None,
                }),
                provisioning: scim,
            },
        })
    }
}

const NOT_CREATED: &str = "The application was not created.";

fn non_empty(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

fn lines(s: &str) -> Vec<String> {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// A serde enum from its wire name.
fn parse_enum<T: serde::de::DeserializeOwned>(s: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(s.to_string())).ok()
}

#[derive(Template)]
#[template(path = "console/app_new.html")]
struct NewAppPage {
    shell: Shell,
    form: NewApp,
    errors: FieldErrors,
    labels: &'static [(&'static str, &'static str)],
    protocols: &'static [(&'static str, &'static str, &'static str)],
    auth_methods: &'static [(&'static str, &'static str)],
}

/// `GET /admin/apps/new`.
pub async fn new_app(admin: Console) -> Response {
    page(&NewAppPage {
        shell: admin.shell("Add Application", Section::Applications),
        form: NewApp::blank(),
        errors: FieldErrors::none(),
        labels: APP_LABELS,
        protocols: PROTOCOLS,
        auth_methods: AUTH_METHODS,
    })
}

#[derive(Template)]
#[template(path = "console/app_created.html")]
struct CreatedPage {
    shell: Shell,
    id: String,
    label: String,
    client_id: String,
    client_secret: String,
}

/// `POST /admin/apps/new`: creates the app (`createApp`'s domain call); shows the client secret
/// once, or goes to the app when it has none.
pub async fn create(
    State(state): State<AppState>,
    admin: Console,
    Form(form): Form<NewApp>,
) -> Response {
    let shell = admin.shell("Add Application", Section::Applications);
    let failed = |status: StatusCode, errors: FieldErrors, form: NewApp| {
        let form = NewApp {
            scim_token: String::new(),
            ..form
        };
        page_with(
            status,
            &NewAppPage {
                shell: shell.clone(),
                form,
                errors,
                labels: APP_LABELS,
                protocols: PROTOCOLS,
                auth_methods: AUTH_METHODS,
            },
        )
    };
    let input = match form.input() {
        Ok(i) => i,
        Err(errors) => return failed(StatusCode::BAD_REQUEST, errors, form),
    };
    match state.directory().create_app(&admin.ctx, input).await {
        Ok(created) => {
            let id = created.app.id.to_string();
            match created.client_secret {
                Some(secret) => page(&CreatedPage {
                    shell: admin.shell("Application created", Section::Applications),
                    id,
                    label: created.app.label,
                    client_id: created.app.oidc.map(|o| o.client_id).unwrap_or_default(),
                    client_secret: secret,
                }),
                None => see_other(&format!("/admin/apps/{id}?done=created")),
            }
        }
        Err(e) => {
            let e = ConsoleError::from(e);
            let errors = if e.status == StatusCode::CONFLICT {
                FieldErrors::single(NOT_CREATED, "app_type", e.message.clone())
            } else {
                FieldErrors::of(NOT_CREATED, &e, APP_FIELDS)
            };
            failed(e.status, errors, form)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_go_beside_their_fields_and_the_rest_on_top() {
        let e = ConsoleError {
            status: StatusCode::BAD_REQUEST,
            message: "Api validation failed: app".into(),
            causes: vec![
                "label: The field cannot be left blank".into(),
                "logout.endpoint: must have a host".into(),
                "something else".into(),
            ],
        };
        let f = FieldErrors::of("x", &e, APP_FIELDS);
        assert_eq!(
            f.field("label").as_deref(),
            Some("The field cannot be left blank")
        );
        assert_eq!(
            f.field("logout_endpoint").as_deref(),
            Some("must have a host")
        );
        assert_eq!(f.invalid("logout_endpoint"), "true");
        assert_eq!(f.invalid("label_x"), "false");
        assert_eq!(f.general, vec!["something else".to_string()]);
    }

    #[test]
    fn the_form_reads_as_the_apis_input() {
        let form = NewApp {
            label: "Vault".into(),
            redirect_uris: " https://a.example/cb \n\nhttps://b.example/cb".into(),
            logout_enabled: Some("on".into()),
            logout_endpoint: "https://a.example/logout".into(),
            ..NewApp::blank()
        };
        let input = form.input().expect("valid");
        let o = input.oidc.expect("oidc");
        assert_eq!(
            o.redirect_uris,
            ["https://a.example/cb", "https://b.example/cb"]
        );
        assert_eq!(
            o.grant_types,
            Some(vec![GrantType::AuthorizationCode, GrantType::RefreshToken])
        );
        let l = input.logout.expect("logout");
        assert!(l.enabled);
        assert_eq!(l.protocol, Some(LogoutProtocol::GlobalTokenRevocation));
        let bad = NewApp {
            auth_method: "magic".into(),
            jwks: "{".into(),
            ..NewApp::blank()
        };
        let errors = bad.input().expect_err("invalid");
        assert!(errors.field("auth_method").is_some());
        assert!(errors.field("jwks").is_some());
    }
}
