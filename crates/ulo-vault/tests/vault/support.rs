//! The harness: a vault on a fresh database of a backend, ulo configured with the vault as a
//! logout-enabled, SCIM-provisioned OIDC app, the demo app, and a browser.

use std::sync::Arc;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use ulo_core::outbound::OutboundPolicy;
use ulo_testkit::{Backend, TestServer};
use ulo_vault::clock::SystemClock;
use ulo_vault::demo_app::{DemoApp, DemoServer};
use ulo_vault::store::scratch;
use ulo_vault::{Options, RetryPolicy, Running};

pub const ADMIN_TOKEN: &str = "vault-admin-token-0123456789abcdef";
pub const SCIM_TOKEN: &str = "vault-scim-token-0123456789abcdef";
pub const CONNECTOR_SECRET: &str = "demo-connector-secret-0123456789";
pub const PASSWORD: &str = "correct horse battery staple";
pub const WAIT: Duration = Duration::from_secs(60);

/// The vault's store for one test.
pub struct VaultDb {
    pub url: String,
    _dir: tempfile::TempDir,
    pg_base: Option<String>,
}

impl VaultDb {
    pub async fn new(backend: Backend) -> VaultDb {
        let dir = tempfile::tempdir().expect("temp dir");
        match backend {
            Backend::Sqlite => VaultDb {
                url: format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join("vault.db").display()
                ),
                _dir: dir,
                pg_base: None,
            },
            Backend::Postgres => {
                let base = std::env::var(ulo_testkit::PG_ENV).expect("PG URL");
                let url = scratch::create_postgres_database(&base)
                    .await
                    .expect("scratch database");
                VaultDb {
                    url,
                    _dir: dir,
                    pg_base: Some(base),
                }
            }
        }
    }

    pub async fn cleanup(self) {
        if let Some(base) = &self.pg_base {
            let _ = scratch::drop_postgres_database(base, &self.url).await;
        }
    }
}

/// Fast retries so tests see a rotation retried within seconds.
pub fn quick_retries() -> RetryPolicy {
    RetryPolicy {
        base: Duration::from_millis(200),
        cap: Duration::from_millis(800),
        deadline: Duration::from_secs(600),
    }
}

/// The vault's registration at ulo.
pub struct UloApp {
    pub app_id: String,
    pub client_id: String,
    pub client_secret: String,
}

/// Registers the vault at ulo: OIDC client, Global Token Revocation with `iss_sub`, SCIM
/// provisioning to the vault.
pub async fn register_vault(ulo: &TestServer, vault_url: &str) -> UloApp {
    let (status, app) = ulo
        .post(
            "/api/v1/apps",
            json!({
                "label": "Vault",
                "type": "oidc",
                "oidc": {
                    "redirectUris": [format!("{vault_url}/oidc/callback")],
                    "tokenEndpointAuthMethod": "client_secret_basic",
                },
                "logout": {
                    "enabled": true,
                    "protocol": "global-token-revocation",
                    "endpoint": format!("{vault_url}/global-token-revocation"),
                    "subjectFormat": "iss_sub",
                },
                "provisioning": {"scim": {"baseUrl": format!("{vault_url}/scim/v2"), "token": SCIM_TOKEN}},
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "register the vault at ulo: {app}");
    UloApp {
        app_id: app["id"].as_str().expect("app id").into(),
        client_id: app["oidc"]["clientId"].as_str().expect("client id").into(),
        client_secret: app["oidc"]["clientSecret"]
            .as_str()
            .expect("client secret")
            .into(),
    }
}

/// The vault's options for a test: ulo as its identity provider, quick retries and polling.
fn vault_options(
    ulo: &TestServer,
    ulo_app: &UloApp,
    db: &VaultDb,
    master_key: &ulo_jose::MasterKey,
    adjust: fn(&mut Options),
) -> Options {
    let mut opts = Options::new(
        db.url.clone(),
        ulo.url.clone(),
        ulo_app.client_id.clone(),
        ulo_app.client_secret.clone(),
        ADMIN_TOKEN,
        SCIM_TOKEN,
        master_key.clone(),
        Arc::new(SystemClock),
    );
    opts.retry = quick_retries();
    opts.poll = Duration::from_millis(100);
    // The demo app listens on loopback, as in the README's demo.
    opts.outbound = loopback_allowed();
    adjust(&mut opts);
    opts
}

/// A vault for a test: ulo knows it, it knows ulo.
pub struct Harness {
    pub ulo: TestServer,
    pub ulo_app: UloApp,
    pub vault: Running,
    pub db: VaultDb,
    pub http: reqwest::Client,
    master_key: ulo_jose::MasterKey,
    adjust: fn(&mut Options),
}

impl Harness {
    /// ulo and a vault on `backend`, with the worker running and quick retries.
    pub async fn start(backend: Backend) -> Harness {
        Self::start_with(backend, |_| {}).await
    }

    /// Like [`Harness::start`], adjusting the vault's options.
    pub async fn start_with(backend: Backend, adjust: fn(&mut Options)) -> Harness {
        let ulo = TestServer::start(backend).await.expect("ulo starts");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the vault");
        let vault_url = format!("http://{}", listener.local_addr().expect("address"));
        let ulo_app = register_vault(&ulo, &vault_url).await;
        let db = VaultDb::new(backend).await;
        let master_key = ulo_jose::MasterKey::generate();
        let opts = vault_options(&ulo, &ulo_app, &db, &master_key, adjust);
        let vault = ulo_vault::start(opts, listener)
            .await
            .expect("vault starts");
        Harness {
            ulo,
            ulo_app,
            vault,
            db,
            http: reqwest::Client::new(),
            master_key,
            adjust,
        }
    }

    /// Stops the vault and starts a new one at the same address on the same database, as a
    /// restart of the vault process does.
    pub async fn restart_vault(self) -> Harness {
        let Harness {
            ulo,
            ulo_app,
            vault,
            db,
            http,
            master_key,
            adjust,
        } = self;
        let addr = vault.addr;
        vault.stop().await;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .expect("rebind the vault's address");
        let opts = vault_options(&ulo, &ulo_app, &db, &master_key, adjust);
        let vault = ulo_vault::start(opts, listener)
            .await
            .expect("the vault restarts");
        Harness {
            ulo,
            ulo_app,
            vault,
            db,
            http,
            master_key,
            adjust,
        }
    }

    pub async fn stop(self) {
        self.vault.stop().await;
        self.db.cleanup().await;
        self.ulo.stop().await;
    }

    /// Calls the vault's admin API.
    pub async fn admin(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.vault.url))
            .bearer_auth(ADMIN_TOKEN);
        if let Some(b) = body {
            req = req.json(&b);
        }
        answer(req.send().await.expect("vault admin call")).await
    }

    /// A person at ulo (active, with a password), assigned to the vault: ulo provisions them
    /// by SCIM. Answers ulo's user id once the vault has them.
    pub async fn provisioned_person(&self, login: &str, first: &str) -> String {
        let uid = self.ulo_person(login, first).await;
        self.assign(&uid).await;
        self.wait_provisioned(&uid).await;
        uid
    }

    /// A person at ulo, not yet assigned to the vault.
    pub async fn ulo_person(&self, login: &str, first: &str) -> String {
        let (status, user) = self
            .ulo
            .post(
                "/api/v1/users?activate=true",
                json!({"profile": {"login": login, "email": login, "firstName": first, "lastName": "Tester"},
                       "credentials": {"password": {"value": PASSWORD}}}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{user}");
        user["id"].as_str().expect("user id").to_string()
    }

    /// Assigns the vault to a ulo user.
    pub async fn assign(&self, uid: &str) {
        let (status, body) = self
            .ulo
            .post(
                &format!("/api/v1/apps/{}/users", self.ulo_app.app_id),
                json!({"id": uid}),
            )
            .await;
        assert!(status.is_success(), "assign: {status} {body}");
    }

    /// Waits until ulo's provisioning link for `uid` is SYNCED; answers the vault's id.
    pub async fn wait_provisioned(&self, uid: &str) -> String {
        let path = format!("/api/v1/apps/{}/users/{uid}", self.ulo_app.app_id);
        ulo_testkit::wait_for("SCIM provisioning to the vault", WAIT, || async {
            let (status, body) = self.ulo.get(&path).await;
            (status == StatusCode::OK && body["provisioning"]["state"] == "SYNCED")
                .then(|| {
                    body["provisioning"]["remoteId"]
                        .as_str()
                        .map(str::to_string)
                })
                .flatten()
        })
        .await
    }

    /// A managed app for `demo` with an account shared with `user_names`; answers the account id.
    pub async fn shared_account(
        &self,
        demo_url: &str,
        username: &str,
        password: &str,
        user_names: &[&str],
    ) -> String {
        let (status, app) = self
            .admin(
                Method::POST,
                "/api/apps",
                Some(json!({"name": format!("Demo {username}"), "signInUrl": demo_url,
                            "connector": {"type": "http", "url": format!("{demo_url}/connector"), "secret": CONNECTOR_SECRET}})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{app}");
        let (status, account) = self
            .admin(
                Method::POST,
                "/api/accounts",
                Some(json!({"appId": app["id"], "username": username, "password": password, "policy": {"length": 24}})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{account}");
        let id = account["id"].as_str().expect("account id").to_string();
        for u in user_names {
            let (status, body) = self
                .admin(Method::PUT, &format!("/api/accounts/{id}/shares/{u}"), None)
                .await;
            assert_eq!(status, StatusCode::NO_CONTENT, "share with {u}: {body}");
        }
        id
    }

    /// The vault's audit events matching `filter`.
    pub async fn audit(&self, filter: &str) -> Vec<Value> {
        let (status, body) = self
            .admin(
                Method::GET,
                &format!("/api/audit?filter={}", urlencode(filter)),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body.as_array().cloned().unwrap_or_default()
    }

    /// The vault's audit events of Universal Logout request `jti`, once every type in
    /// `expected` is among them (jobs record theirs after the app answered).
    pub async fn audit_story(&self, jti: &str, expected: &[&str]) -> Vec<Value> {
        let filter = format!("jti eq \"{jti}\"");
        let what = format!("the vault's audit events {expected:?} of {jti}");
        ulo_testkit::wait_for(&what, WAIT, || async {
            let story = self.audit(&filter).await;
            let has = |t: &&str| story.iter().any(|e| e["type"] == *t);
            expected.iter().all(has).then_some(story)
        })
        .await
    }
}

/// The outbound policy of tests and the demo: plain http to loopback allowed.
pub fn loopback_allowed() -> OutboundPolicy {
    OutboundPolicy {
        allow_http_loopback: true,
    }
}

/// Starts the demo app with `accounts`.
pub async fn demo(accounts: &[(&str, &str)]) -> (Arc<DemoApp>, DemoServer) {
    let app = DemoApp::new(
        CONNECTOR_SECRET,
        accounts.iter().map(|(u, p)| (u.to_string(), p.to_string())),
        Arc::new(SystemClock),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the demo app");
    let server = DemoServer::start(app.clone(), listener).expect("demo app starts");
    (app, server)
}

pub fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Status and JSON body (Null when empty, a string when not JSON).
pub async fn answer(resp: reqwest::Response) -> (StatusCode, Value) {
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    let json = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, json)
}

/// A browser: keeps cookies, shows each redirect.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("browser")
}

fn location(base: &str, resp: &reqwest::Response) -> String {
    let l = resp
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("no Location in a {} answer", resp.status()))
        .to_string();
    if l.starts_with('/') {
        let u = url::Url::parse(base).expect("base URL");
        format!("{}{l}", u.origin().ascii_serialization())
    } else {
        l
    }
}

/// Signs `login` in to the vault through ulo's sign-in form, as a browser does: the vault's
/// /login, ulo's authorize and login form, back to the vault's callback, then its page.
/// Answers the vault page's HTML.
pub async fn sign_in_to_vault(browser: &reqwest::Client, h: &Harness, login: &str) -> String {
    let mut url = format!("{}/login", h.vault.url);
    for _ in 0..10 {
        let resp = browser.get(&url).send().await.expect("browser GET");
        let status = resp.status();
        if status.is_redirection() {
            url = location(&url, &resp);
            continue;
        }
        let html = resp.text().await.expect("page");
        assert_eq!(status, StatusCode::OK, "GET {url}: {html}");
        let parsed = url::Url::parse(&url).expect("URL");
        if url.starts_with(&h.ulo.url) && parsed.path() == "/login" {
            let return_to = parsed
                .query_pairs()
                .find(|(k, _)| k == "return_to")
                .map(|(_, v)| v.into_owned())
                .expect("return_to");
            let resp = browser
                .post(format!("{}/login", h.ulo.url))
                .form(&[
                    ("username", login),
                    ("password", PASSWORD),
                    ("return_to", &return_to),
                    (
                        "csrf",
                        &hidden(&html, "csrf").expect("the form's CSRF token"),
                    ),
                ])
                .send()
                .await
                .expect("post ulo's sign-in form");
            assert_eq!(resp.status(), StatusCode::SEE_OTHER, "signed in at ulo");
            url = location(&h.ulo.url, &resp);
            continue;
        }
        assert!(url.starts_with(&h.vault.url), "ended at {url}: {html}");
        return html;
    }
    panic!("too many redirects signing in to the vault");
}

/// The value of the hidden input `name` in a page.
pub fn hidden(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let len = html[start..].find('"')?;
    Some(html[start..start + len].to_string())
}

/// Signs in to the demo app; answers the session cookie (`name=value`).
pub async fn demo_sign_in(demo_url: &str, username: &str, password: &str) -> Option<String> {
    let resp = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .post(format!("{demo_url}/login"))
        .form(&[("username", username), ("password", password)])
        .send()
        .await
        .expect("demo sign-in");
    if resp.status() != StatusCode::SEE_OTHER {
        return None;
    }
    resp.headers()
        .get(reqwest::header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|c| c.split(';').next())
        .map(str::to_string)
}

/// The demo app's `/me` status with `cookie`.
pub async fn demo_me(demo_url: &str, cookie: &str) -> StatusCode {
    reqwest::Client::new()
        .get(format!("{demo_url}/me"))
        .header("Cookie", cookie)
        .send()
        .await
        .expect("demo /me")
        .status()
}

/// Reveals an account's password through the person API with the browser's session.
pub async fn reveal(browser: &reqwest::Client, h: &Harness, account: &str) -> (StatusCode, Value) {
    answer(
        browser
            .post(format!("{}/api/me/accounts/{account}/reveal", h.vault.url))
            .header("Origin", h.vault.url.as_str())
            .send()
            .await
            .expect("reveal"),
    )
    .await
}

/// Waits for ulo's receipt of a logout to complete; answers it.
pub async fn final_receipt(ulo: &TestServer, logout_id: &str) -> Value {
    ulo_testkit::wait_for("the logout receipt to complete", WAIT, || async {
        let (status, body) = ulo.get(&format!("/api/v1/logouts/{logout_id}")).await;
        (status == StatusCode::OK && body["status"] != "IN_PROGRESS").then_some(body)
    })
    .await
}

/// The receipt's target for ulo app `app_id`.
pub fn app_target<'a>(receipt: &'a Value, app_id: &str) -> &'a Value {
    receipt["targets"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["id"] == app_id))
        .unwrap_or_else(|| panic!("no target {app_id} in {receipt:#}"))
}
