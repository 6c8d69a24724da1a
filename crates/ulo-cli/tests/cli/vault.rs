//! `ulo vault` as processes: its own flags and defaults, and the README's demo end to end (the
//! steps of `scripts/vault-demo.sh`, each asserted).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use ulo_testkit::wait_for;

use crate::procs::{self, Serve, serve};

fn ulo(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ulo"))
        .args(args)
        .env("ULO_LOG", "warn")
        .env_remove("ULO_VAULT_LISTEN")
        .env_remove("ULO_VAULT_DATA_DIR")
        .env_remove("ULO_VAULT_DEMO_LISTEN")
        .output()
        .expect("run ulo");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The help text of the flag `--name` (up to the next flag).
fn flag_help<'a>(help: &'a str, name: &str) -> &'a str {
    let start = help
        .find(&format!("  --{name} "))
        .unwrap_or_else(|| panic!("no --{name} in:\n{help}"));
    let rest = &help[start + 2..];
    let end = rest[2..].find("  --").map_or(rest.len(), |i| i + 2);
    &rest[..end]
}

#[test]
fn vault_help_shows_the_vaults_own_flags_and_defaults_and_ulo_serve_keeps_its_own() {
    let (ok, help, err) = ulo(&["vault", "serve", "--help"]);
    assert!(ok, "{err}");
    let listen = flag_help(&help, "listen");
    assert!(listen.contains("ULO_VAULT_LISTEN"), "{listen}");
    assert!(listen.contains("[default: 127.0.0.1:8300]"), "{listen}");
    let data_dir = flag_help(&help, "data-dir");
    assert!(data_dir.contains("ULO_VAULT_DATA_DIR"), "{data_dir}");
    assert!(
        data_dir.contains("[default: ./ulo-vault-data]"),
        "{data_dir}"
    );
    assert!(flag_help(&help, "database-url").contains("ULO_VAULT_DATABASE_URL"));
    let loopback = flag_help(&help, "outbound-allow-http-loopback");
    assert!(
        loopback.contains("ULO_OUTBOUND_ALLOW_HTTP_LOOPBACK")
            && loopback.contains("[default: false]"),
        "{loopback}"
    );
    for (flag, env) in [
        ("idp-issuer", "ULO_VAULT_IDP_ISSUER"),
        ("client-id", "ULO_VAULT_CLIENT_ID"),
        ("client-secret", "ULO_VAULT_CLIENT_SECRET"),
    ] {
        assert!(flag_help(&help, flag).contains(env), "--{flag}: {help}");
    }
    for ulo_only in [
        "8080",
        "./ulo-data",
        "ULO_LISTEN",
        "ULO_DATA_DIR",
        "--issuer",
        "--config",
    ] {
        assert!(!help.contains(ulo_only), "{ulo_only} in:\n{help}");
    }

    let (ok, help, err) = ulo(&["vault", "demo-app", "--help"]);
    assert!(ok, "{err}");
    let listen = flag_help(&help, "listen");
    assert!(listen.contains("ULO_VAULT_DEMO_LISTEN"), "{listen}");
    assert!(listen.contains("[default: 127.0.0.1:8400]"), "{listen}");

    let (ok, help, err) = ulo(&["serve", "--help"]);
    assert!(ok, "{err}");
    for ulo_flag in ["--config", "--data-dir", "--database-url", "--issuer"] {
        assert!(help.contains(ulo_flag), "{ulo_flag} in:\n{help}");
    }
    assert!(
        flag_help(&help, "listen").contains("[default: 127.0.0.1:8080]"),
        "{help}"
    );
    assert!(!help.contains("ULO_VAULT"), "{help}");
    assert!(help.contains("ULO_SINGLE_LOGOUT_ALL_APPS"), "{help}");
}

#[test]
fn ulos_flags_before_vault_are_refused_with_where_to_put_them() {
    let (ok, _, err) = ulo(&[
        "--listen",
        "127.0.0.1:1",
        "vault",
        "serve",
        "--idp-issuer",
        "http://127.0.0.1:9",
        "--client-id",
        "c",
        "--client-secret",
        "s",
        "--admin-token",
        "a",
        "--scim-token",
        "b",
    ]);
    assert!(!ok);
    assert!(err.contains("ulo vault serve --listen ADDR"), "{err}");
}

/// ulo's admin token in the demo.
const ULO_TOKEN: &str = "ulo_demo_bootstrap_token_0123456789abcdef";
const VAULT_ADMIN: &str = "vault_admin_token_0123456789abcdef";
const VAULT_SCIM: &str = "vault_scim_token_0123456789abcdef";
const CONNECTOR_SECRET: &str = "demo-connector-secret-0123456789";
const INITIAL: &str = "initial-Passw0rd-for-the-team";
const PASSWORD: &str = "correct horse battery staple";
const WAIT: Duration = Duration::from_secs(20);

/// Status and JSON body (Null when empty, a string when not JSON).
async fn answer(resp: reqwest::Response) -> (StatusCode, Value) {
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    let json = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, json)
}

/// The README's demo: three processes and an HTTP client for each role.
struct Demo {
    ulo: Serve,
    vault: Serve,
    demo: Serve,
    http: reqwest::Client,
    app_id: String,
}

impl Demo {
    async fn ulo_call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.ulo.url))
            .header("Authorization", format!("SSWS {ULO_TOKEN}"));
        if let Some(b) = body {
            req = req.json(&b);
        }
        answer(req.send().await.expect("call ulo")).await
    }

    async fn vault_call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.vault.url))
            .bearer_auth(VAULT_ADMIN);
        if let Some(b) = body {
            req = req.json(&b);
        }
        answer(req.send().await.expect("call the vault")).await
    }

    /// A person at ulo, assigned to the vault; answers ulo's id once SCIM synced them.
    async fn person(&self, login: &str, first: &str) -> String {
        let (status, user) = self
            .ulo_call(
                Method::POST,
                "/api/v1/users?activate=true",
                Some(json!({"profile": {"login": login, "email": login, "firstName": first, "lastName": "Example"},
                            "credentials": {"password": {"value": PASSWORD}}})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{user}");
        let id = user["id"].as_str().expect("user id").to_string();
        let (status, body) = self
            .ulo_call(
                Method::POST,
                &format!("/api/v1/apps/{}/users", self.app_id),
                Some(json!({"id": id})),
            )
            .await;
        assert!(status.is_success(), "assign: {status} {body}");
        let path = format!("/api/v1/apps/{}/users/{id}", self.app_id);
        wait_for(&format!("SCIM provisioning of {login}"), WAIT, || async {
            let (status, link) = self.ulo_call(Method::GET, &path, None).await;
            (status == StatusCode::OK && link["provisioning"]["state"] == "SYNCED").then_some(())
        })
        .await;
        id
    }

    /// Signs `login` in to the vault through ulo's sign-in form, as a browser does.
    async fn sign_in(&self, login: &str) -> reqwest::Client {
        let browser = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("browser");
        let mut url = reqwest::Url::parse(&format!("{}/login", self.vault.url)).unwrap();
        for _ in 0..10 {
            let resp = browser.get(url.clone()).send().await.expect("browser GET");
            let status = resp.status();
            if status.is_redirection() {
                let to = resp.headers()["location"].to_str().unwrap().to_string();
                url = url.join(&to).expect("redirect URL");
                continue;
            }
            let page = resp.text().await.unwrap_or_default();
            assert_eq!(status, StatusCode::OK, "GET {url}: {page}");
            if url.as_str().starts_with(&self.ulo.url) && url.path() == "/login" {
                let return_to = url
                    .query_pairs()
                    .find(|(k, _)| k == "return_to")
                    .map(|(_, v)| v.into_owned())
                    .expect("return_to");
                // The form's CSRF token, bound to the cookie the page set.
                let marker = "name=\"csrf\" value=\"";
                let start = page.find(marker).expect("a CSRF token") + marker.len();
                let csrf = &page[start..start + page[start..].find('"').expect("token end")];
                let resp = browser
                    .post(format!("{}/login", self.ulo.url))
                    .form(&[
                        ("username", login),
                        ("password", PASSWORD),
                        ("return_to", &return_to),
                        ("csrf", csrf),
                    ])
                    .send()
                    .await
                    .expect("ulo's sign-in form");
                assert_eq!(
                    resp.status(),
                    StatusCode::SEE_OTHER,
                    "{login} signs in at ulo"
                );
                let to = resp.headers()["location"].to_str().unwrap().to_string();
                url = url.join(&to).expect("redirect URL");
                continue;
            }
            assert!(
                url.as_str().starts_with(&self.vault.url),
                "ended at {url}: {page}"
            );
            return browser;
        }
        panic!("too many redirects signing {login} in to the vault");
    }

    /// Reveals an account's password with a signed-in browser.
    async fn reveal(&self, browser: &reqwest::Client, account: &str) -> (StatusCode, Value) {
        answer(
            browser
                .post(format!(
                    "{}/api/me/accounts/{account}/reveal",
                    self.vault.url
                ))
                .header("Origin", self.vault.url.as_str())
                .send()
                .await
                .expect("reveal"),
        )
        .await
    }

    /// Signs in to the demo app; answers its session cookie when the password works.
    async fn demo_sign_in(&self, password: &str) -> Option<String> {
        let resp = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .post(format!("{}/login", self.demo.url))
            .form(&[("username", "team-social"), ("password", password)])
            .send()
            .await
            .expect("demo sign-in");
        if resp.status() != StatusCode::SEE_OTHER {
            return None;
        }
        resp.headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .and_then(|c| c.split(';').next())
            .map(str::to_string)
    }

    /// The demo app's `GET /me` with a session cookie.
    async fn demo_me(&self, cookie: &str) -> StatusCode {
        self.http
            .get(format!("{}/me", self.demo.url))
            .header("Cookie", cookie)
            .send()
            .await
            .expect("demo /me")
            .status()
    }
}

/// A loopback port free right now (the vault's URL must be known before ulo can register it).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Starts the three processes as the README does, registering the vault at ulo in between.
async fn start_demo(dir: &Path) -> Demo {
    let http = reqwest::Client::new();
    let ulo = serve(
        &dir.join("ulo"),
        &[
            ("ULO_BOOTSTRAP_TOKEN", ULO_TOKEN.to_string()),
            ("ULO_OUTBOUND_ALLOW_HTTP_LOOPBACK", "1".to_string()),
        ],
    )
    .await
    .expect("ulo serve starts");
    // Another process may take the free port before the vault binds it: then try another.
    let mut last_error = String::new();
    for attempt in 0..3 {
        let vault_url = format!("http://127.0.0.1:{}", free_port());
        let (status, app) = answer(
            http.post(format!("{}/api/v1/apps", ulo.url))
                .header("Authorization", format!("SSWS {ULO_TOKEN}"))
                .json(&json!({
                    "label": format!("Vault {attempt}"), "type": "oidc",
                    "oidc": {"redirectUris": [format!("{vault_url}/oidc/callback")], "tokenEndpointAuthMethod": "client_secret_basic"},
                    "logout": {"enabled": true, "protocol": "global-token-revocation",
                               "endpoint": format!("{vault_url}/global-token-revocation"), "subjectFormat": "iss_sub"},
                    "provisioning": {"scim": {"baseUrl": format!("{vault_url}/scim/v2"), "token": VAULT_SCIM}},
                }))
                .send()
                .await
                .expect("register the vault at ulo"),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{app}");
        let vault_dir = dir.join("vault");
        let vault = procs::ulo(
            &[
                "vault",
                "serve",
                "--listen",
                vault_url.trim_start_matches("http://"),
                "--data-dir",
                vault_dir.to_str().unwrap(),
                "--idp-issuer",
                &ulo.url,
            ],
            &[
                ("ULO_VAULT_ADMIN_TOKEN", VAULT_ADMIN.to_string()),
                ("ULO_VAULT_SCIM_TOKEN", VAULT_SCIM.to_string()),
                // The demo app's connector is on loopback.
                ("ULO_OUTBOUND_ALLOW_HTTP_LOOPBACK", "1".to_string()),
                (
                    "ULO_VAULT_CLIENT_ID",
                    app["oidc"]["clientId"].as_str().unwrap().to_string(),
                ),
                (
                    "ULO_VAULT_CLIENT_SECRET",
                    app["oidc"]["clientSecret"].as_str().unwrap().to_string(),
                ),
            ],
        )
        .await;
        let vault = match vault {
            Ok(v) => v,
            Err(e) if e.contains("listening on") => {
                last_error = e;
                continue;
            }
            Err(e) => panic!("ulo vault serve: {e}"),
        };
        assert_eq!(vault.url, vault_url, "{}", vault.banner);
        let demo = procs::ulo(
            &[
                "vault",
                "demo-app",
                "--listen",
                "127.0.0.1:0",
                "--connector-secret",
                CONNECTOR_SECRET,
                "--account",
                &format!("team-social:{INITIAL}"),
            ],
            &[],
        )
        .await
        .expect("ulo vault demo-app starts");
        return Demo {
            ulo,
            vault,
            demo,
            http,
            app_id: app["id"].as_str().unwrap().to_string(),
        };
    }
    panic!("the vault found no free port: {last_error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_demo_runs_as_processes_and_tells_its_story() {
    let dir = tempfile::tempdir().unwrap();
    let d = start_demo(dir.path()).await;
    for url in [
        format!("{}/health", d.vault.url),
        format!("{}/", d.demo.url),
    ] {
        let status = d.http.get(&url).send().await.map(|r| r.status());
        assert_eq!(status.ok(), Some(StatusCode::OK), "GET {url}");
    }

    // ulo provisions Ada and Grace to the vault by SCIM.
    let ada = d.person("ada@example.com", "Ada").await;
    d.person("grace@example.com", "Grace").await;
    let (status, people) = d.vault_call(Method::GET, "/api/people", None).await;
    assert_eq!(status, StatusCode::OK, "{people}");
    assert!(
        people
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["provisionedBy"] == "scim"),
        "{people:#}"
    );

    // The vault admin adds the demo app and a shared account.
    let (status, app) = d
        .vault_call(
            Method::POST,
            "/api/apps",
            Some(json!({"name": "Demo app", "signInUrl": format!("{}/", d.demo.url),
                        "connector": {"type": "http", "url": format!("{}/connector", d.demo.url), "secret": CONNECTOR_SECRET}})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{app}");
    let (status, account) = d
        .vault_call(
            Method::POST,
            "/api/accounts",
            Some(json!({"appId": app["id"], "username": "team-social", "password": INITIAL, "policy": {"length": 24}})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{account}");
    let account = account["id"].as_str().unwrap().to_string();
    for who in ["ada@example.com", "grace@example.com"] {
        let (status, body) = d
            .vault_call(
                Method::PUT,
                &format!("/api/accounts/{account}/shares/{who}"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    }

    // Ada signs in to the vault through ulo, reveals the password, signs in to the demo app.
    let ada_browser = d.sign_in("ada@example.com").await;
    let (status, revealed) = d.reveal(&ada_browser, &account).await;
    assert_eq!(status, StatusCode::OK, "{revealed}");
    let old = revealed["password"].as_str().unwrap().to_string();
    assert_eq!(old, INITIAL);
    let demo_cookie = d
        .demo_sign_in(&old)
        .await
        .expect("the revealed password works");
    assert_eq!(d.demo_me(&demo_cookie).await, StatusCode::OK);

    // ulo clears Ada's sessions with Universal Logout; the receipt shows the vault SUCCEEDED.
    let (status, started) = d
        .ulo_call(
            Method::DELETE,
            &format!("/api/v1/users/{ada}/sessions?oauthTokens=true&universalLogout=true"),
            None,
        )
        .await;
    assert!(status.is_success(), "{status} {started}");
    let logout = started["id"].as_str().expect("logout id").to_string();
    let receipt = wait_for("ulo's receipt", WAIT, || async {
        let (status, r) = d
            .ulo_call(Method::GET, &format!("/api/v1/logouts/{logout}"), None)
            .await;
        (status == StatusCode::OK && r["status"] != "IN_PROGRESS").then_some(r)
    })
    .await;
    let target = receipt["targets"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["id"] == d.app_id.as_str()))
        .unwrap_or_else(|| panic!("no vault target in {receipt:#}"));
    assert_eq!(
        target["status"],
        "SUCCEEDED",
        "{receipt:#}\nvault log:\n{}",
        d.vault.log()
    );

    // What changed: Ada's vault session, her demo-app session, and the password.
    let rotated = wait_for("the rotation", WAIT, || async {
        let (_, a) = d
            .vault_call(Method::GET, &format!("/api/accounts/{account}"), None)
            .await;
        (a["status"] == "OK" && a["rotatedAt"].is_string()).then_some(a)
    })
    .await;
    assert!(rotated.get("password").is_none(), "{rotated}");
    let (status, _) = answer(
        ada_browser
            .get(format!("{}/api/me/accounts", d.vault.url))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "Ada's vault session is gone"
    );
    wait_for("the demo-app session to end", WAIT, || async {
        (d.demo_me(&demo_cookie).await == StatusCode::UNAUTHORIZED).then_some(())
    })
    .await;
    assert!(
        d.demo_sign_in(&old).await.is_none(),
        "the old password is refused"
    );
    let grace_browser = d.sign_in("grace@example.com").await;
    let (status, new) = d.reveal(&grace_browser, &account).await;
    assert_eq!(status, StatusCode::OK, "{new}");
    let new = new["password"].as_str().unwrap().to_string();
    assert_ne!(new, old);
    let grace_cookie = d.demo_sign_in(&new).await.expect("the new password works");
    assert_eq!(d.demo_me(&grace_cookie).await, StatusCode::OK);

    // Both logs tell it under the Universal Logout request's jti.
    let tx = receipt["transactionId"].as_str().expect("transactionId");
    let (status, events) = answer(
        d.http
            .get(format!("{}/api/v1/logs", d.ulo.url))
            .header("Authorization", format!("SSWS {ULO_TOKEN}"))
            .query(&[(
                "filter",
                format!(
                    "eventType eq \"app.universal_logout.delivery\" and transaction.id eq \"{tx}\""
                ),
            )])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{events}");
    let jti = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["target"]
                .as_array()
                .is_some_and(|t| t.iter().any(|t| t["id"] == d.app_id.as_str()))
        })
        .find_map(|e| e["debugContext"]["debugData"]["jti"].as_str())
        .unwrap_or_else(|| panic!("no delivery to the vault with a jti in {events:#}"))
        .to_string();
    // The vault records `account.sessions.end` after the demo app answered the connector,
    // which is after the app's session already ended (what the wait above saw): wait for the
    // events themselves.
    let expected = [
        "person.universal_logout",
        "account.sessions.end",
        "account.password.rotate",
    ];
    let story = wait_for("the vault's audit of the logout", WAIT, || async {
        let (status, story) = answer(
            d.http
                .get(format!("{}/api/audit", d.vault.url))
                .bearer_auth(VAULT_ADMIN)
                .query(&[("filter", format!("jti eq \"{jti}\""))])
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{story}");
        let types: Vec<&str> = story
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["type"].as_str())
            .collect();
        expected
            .iter()
            .all(|t| types.contains(t))
            .then(|| story.clone())
    })
    .await;
    assert_eq!(
        story[0]["target"]["displayName"], "ada@example.com",
        "{story:#}"
    );
}
