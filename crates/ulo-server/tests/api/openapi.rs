//! The OpenAPI document at `/api/v1/openapi.json` stays true: it is public and well-formed, every
//! route it documents exists on the server (and answers only statuses it documents), every route
//! the router serves is documented, and every `$ref` in it resolves.
//!
//! The document is generated from the handlers (`src/openapi/`): each route is registered with
//! `utoipa_axum`'s `routes!`, which takes its path and method from the handler's
//! `#[utoipa::path]`, so a route cannot be served without its operation. What could still escape
//! is a route added around that (`.route(...)` or a plain axum router): the tests below look for
//! such code, and ask the server for every method the document does not name on its paths.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::header::{CONTENT_TYPE, LINK};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use ulo_testkit::{ADMIN_TOKEN, Backend, TestServer};

/// How many operations the document had when it was first generated from the handlers: fewer
/// means a route lost its `#[utoipa::path]` (and with it its place in the router).
const OPERATIONS_AT_LEAST: usize = 111;

/// Routes the document leaves out, each with why. None today: SCIM is documented too.
/// Folders of routers the OpenAPI document leaves out, with why.
const UNDOCUMENTED_ROUTERS: &[(&str, &str)] = &[(
    "console/",
    "the admin console's HTML pages at /admin (SPEC §4): a user interface over the same domain calls, not an API",
)];

/// The router's answer to a path it does not know.
const FALLBACK_SUMMARY: &str = "Not found: Resource not found: no such path";

const OPENAPI_PATH: &str = "/api/v1/openapi.json";
const STREAM_PATH: &str = "/api/v1/logs/stream";
/// Device enrollment: public, the one-time token in the body authenticates.
const AGENT_ENROLL_PATH: &str = "/api/v1/agent/enroll";
const GLOBAL_TOKEN_REVOCATION_PATH: &str = "/oauth2/v1/global-token-revocation";

/// The security scheme a path needs: the admin API takes an admin API token, the Shared Signals
/// transmitter an app receiver's credential, Global Token Revocation a scoped API token or an
/// upstream identity provider's JWT; the document itself and the rest are public.
fn required_scheme(path: &str) -> Option<&'static str> {
    if path == OPENAPI_PATH || path == AGENT_ENROLL_PATH {
        None
    } else if path.starts_with("/api/v1/agent/") {
        Some("DeviceAgent")
    } else if path.starts_with("/api/v1/") {
        Some("SSWS")
    } else if path.starts_with("/scim/v2/") {
        Some("ScimBearer")
    } else if path.starts_with("/ssf/") {
        Some("SsfReceiver")
    } else if path == GLOBAL_TOKEN_REVOCATION_PATH {
        Some("GlobalTokenRevocation")
    } else {
        None
    }
}

const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Fetches the document with no credentials: it is public documentation.
async fn fetch_document(s: &TestServer) -> Value {
    let resp = s
        .http
        .get(format!("{}{OPENAPI_PATH}", s.url))
        .send()
        .await
        .expect("request the OpenAPI document");
    assert_eq!(resp.status(), StatusCode::OK, "the document needs no token");
    assert_eq!(
        media_type(resp.headers()).as_deref(),
        Some("application/json")
    );
    let text = resp.text().await.expect("read the OpenAPI document");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("the document is not JSON: {e}"))
}

/// The media type of a response, without parameters.
fn media_type(headers: &reqwest::header::HeaderMap) -> Option<String> {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
}

/// One documented operation.
struct Operation<'a> {
    path: &'a str,
    method: &'a str,
    op: &'a Value,
    /// Path-level and operation-level parameters.
    params: Vec<&'a Value>,
}

/// Every operation of the document, resolving `$ref` parameters.
fn operations(doc: &Value) -> Vec<Operation<'_>> {
    let paths = doc["paths"].as_object().expect("paths is an object");
    let mut out = Vec::new();
    for (path, item) in paths {
        let item = item.as_object().expect("a path item is an object");
        for method in METHODS {
            let Some(op) = item.get(*method) else {
                continue;
            };
            let mut params: Vec<&Value> = Vec::new();
            for list in [item.get("parameters"), op.get("parameters")]
                .into_iter()
                .flatten()
            {
                for p in list.as_array().expect("parameters is an array") {
                    params.push(resolve(doc, p));
                }
            }
            out.push(Operation {
                path,
                method,
                op,
                params,
            });
        }
    }
    out
}

/// Follows a `$ref` (transitively) inside the document.
fn resolve<'a>(doc: &'a Value, mut v: &'a Value) -> &'a Value {
    for _ in 0..16 {
        match v.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                v = r
                    .strip_prefix('#')
                    .and_then(|p| doc.pointer(p))
                    .unwrap_or_else(|| panic!("$ref {r} does not resolve"));
            }
            None => return v,
        }
    }
    panic!("$ref chain too long at {v}");
}

/// The `{name}` segments of a path template.
fn template_params(path: &str) -> Vec<&str> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .collect()
}

/// A concrete path for an operation: each path parameter becomes its first enum value when it has
/// one, else a random UUID (which names nothing, so handlers answer their own 404, never the
/// router's fallback).
fn concrete_path(doc: &Value, o: &Operation<'_>) -> String {
    let mut path = o.path.to_string();
    for name in template_params(o.path) {
        let param = o
            .params
            .iter()
            .find(|p| p["in"] == "path" && p["name"] == name)
            .unwrap_or_else(|| {
                panic!(
                    "{} {}: path parameter {name} is not declared",
                    o.method, o.path
                )
            });
        let schema = resolve(doc, &param["schema"]);
        let value = schema["enum"]
            .get(0)
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
        path = path.replace(&format!("{{{name}}}"), &value);
    }
    path
}

#[tokio::test]
async fn the_document_is_public_openapi_3_1() {
    let s = TestServer::start(Backend::Sqlite).await.expect("start");
    let doc = fetch_document(&s).await;
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["title"], "ulo admin API");
    assert_eq!(doc["info"]["version"], "0.1.0");
    let scheme = &doc["components"]["securitySchemes"]["SSWS"];
    assert_eq!(scheme["type"], "apiKey");
    assert_eq!(scheme["in"], "header");
    assert_eq!(scheme["name"], "Authorization");
    s.stop().await;
}

/// The `.rs` files under `dir`.
fn rust_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_route_is_registered_with_its_operation() {
    // Routes reach the router only through `routes!` (path and method from the handler's
    // `#[utoipa::path]`): a `.route(...)` or `.nest(...)` would serve a path the document omits.
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 20, "found the sources");
    let mut found = Vec::new();
    for file in &files {
        let rel = file.strip_prefix(&src).expect("under src");
        let rel = rel.to_string_lossy().replace('\\', "/");
        if UNDOCUMENTED_ROUTERS
            .iter()
            .any(|(folder, _)| rel.starts_with(folder))
        {
            continue;
        }
        let text = std::fs::read_to_string(file).expect("read");
        for (n, line) in text.lines().enumerate() {
            for call in [".route(", ".route_service(", ".nest(", ".nest_service("] {
                // The console is mounted once, at /admin (see UNDOCUMENTED_ROUTERS).
                if line.contains(call) && !line.contains("console::router(") {
                    found.push(format!("{rel}:{}: {}", n + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "routes registered around the OpenAPI document (use `routes!` with a `#[utoipa::path]` \
         handler, or name the router in UNDOCUMENTED_ROUTERS with why):\n{}",
        found.join("\n")
    );
    // And the whole router is the documented routes plus the routers named above.
    let lib = std::fs::read_to_string(src.join("lib.rs")).expect("lib.rs");
    let body = lib
        .split("pub fn router(")
        .nth(1)
        .and_then(|rest| rest.split("\n}\n").next())
        .expect("crate::router");
    let merged: Vec<&str> = body
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with(".merge("))
        .collect();
    assert_eq!(
        merged,
        [".merge(plain)", ".merge("],
        "crate::router serves routes::documented() only"
    );
}

#[tokio::test]
async fn every_served_route_is_documented() {
    let s = TestServer::start(Backend::Sqlite).await.expect("start");
    let doc = fetch_document(&s).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("HTTP client");
    // On a documented path, a method the document does not name is not served: 405.
    let mut problems = Vec::new();
    let paths = doc["paths"].as_object().expect("paths");
    for (path, item) in paths {
        let probe = path.replace(['{', '}'], "");
        for method in METHODS {
            let documented = item.get(*method).is_some()
                // axum answers HEAD with the GET handler (no body).
                || (*method == "head" && item.get("get").is_some());
            if documented {
                continue;
            }
            let m = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).expect("method");
            let resp = http
                .request(m, format!("{}{probe}", s.url))
                .header("Authorization", format!("SSWS {ADMIN_TOKEN}"))
                .send()
                .await
                .expect("send");
            if resp.status() != StatusCode::METHOD_NOT_ALLOWED {
                problems.push(format!(
                    "{} {path}: answered {}, not documented",
                    method.to_ascii_uppercase(),
                    resp.status()
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "served but not documented:\n{}",
        problems.join("\n")
    );
    s.stop().await;
}

#[tokio::test]
async fn the_document_is_well_formed() {
    let s = TestServer::start(Backend::Sqlite).await.expect("start");
    let doc = fetch_document(&s).await;

    // Every $ref is internal and resolves; every component is used.
    let mut refs = BTreeSet::new();
    collect_refs(&doc, &mut refs);
    assert!(!refs.is_empty(), "the document uses no $ref at all");
    for r in &refs {
        let pointer = r
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("$ref {r} is not internal"));
        assert!(doc.pointer(pointer).is_some(), "$ref {r} does not resolve");
    }
    for (kind, items) in doc["components"].as_object().expect("components") {
        if kind == "securitySchemes" {
            continue;
        }
        for name in items.as_object().expect("a components map").keys() {
            let r = format!("#/components/{kind}/{}", escape_pointer(name));
            assert!(refs.contains(&r), "{r} is never used");
        }
    }

    let schemes = doc["components"]["securitySchemes"]
        .as_object()
        .expect("securitySchemes");
    let mut schemes_used = BTreeSet::new();
    let mut ids = BTreeSet::new();
    for o in operations(&doc) {
        let what = format!("{} {}", o.method, o.path);
        let id = o.op["operationId"].as_str().unwrap_or_default();
        assert!(!id.is_empty(), "{what}: no operationId");
        assert!(ids.insert(id.to_string()), "{what}: operationId {id} twice");
        let responses = o.op["responses"].as_object().expect("responses");
        assert!(
            // The authorization endpoint's success is a redirect.
            responses
                .keys()
                .any(|c| c.starts_with('2') || c.starts_with('3')),
            "{what}: no success answer documented"
        );
        // Path parameters declared exactly as templated.
        let declared: BTreeSet<&str> = o
            .params
            .iter()
            .filter(|p| p["in"] == "path")
            .map(|p| {
                assert_eq!(p["required"], true, "{what}: path parameters are required");
                p["name"].as_str().expect("parameter name")
            })
            .collect();
        let templated: BTreeSet<&str> = template_params(o.path).into_iter().collect();
        assert_eq!(declared, templated, "{what}: path parameters");
        // Each part of the API needs its own credential; the rest is public.
        let security = o.op.get("security").unwrap_or(&doc["security"]);
        if let Some(scheme) = required_scheme(o.path) {
            assert_eq!(security, &json!([{ scheme: [] }]), "{what}: security");
            assert!(schemes.contains_key(scheme), "{what}: no scheme {scheme}");
            assert!(responses.contains_key("401"), "{what}: 401 undocumented");
            schemes_used.insert(scheme);
        } else {
            assert_eq!(security, &json!([]), "{what}: should be public");
        }
        // OAuth endpoints take forms (RFC 6749): their errors are 400s of their own.
        if let Some(body) = o.op.get("requestBody").filter(|b| is_form(b)) {
            let schema = resolve(&doc, &body["content"][FORM]["schema"]);
            assert_eq!(schema["type"], "object", "{what}: a form is an object");
            assert!(responses.contains_key("400"), "{what}: 400 undocumented");
        }
        // Bodies are JSON objects that refuse unknown fields, as the handlers' serde types do.
        // OAuth endpoints follow their protocol instead: unknown members are ignored, and a body
        // in another media type is an invalid_request (400). A Security Event Token is a
        // compact JWS (`application/secevent+jwt`), a string, and has its own checks below.
        if let Some(body) =
            o.op.get("requestBody")
                .filter(|b| !is_form(b) && !is_set(b) && !is_scim(b))
        {
            let schema = resolve(&doc, &body["content"]["application/json"]["schema"]);
            assert_eq!(schema["type"], "object", "{what}: a body is an object");
            let oauth = o.path.starts_with("/oauth2/");
            if !oauth {
                assert_eq!(
                    schema["additionalProperties"], false,
                    "{what}: the server denies unknown fields"
                );
            }
            let codes: &[&str] = if oauth { &["400"] } else { &["400", "415"] };
            for code in codes {
                assert!(responses.contains_key(*code), "{what}: {code} undocumented");
            }
        }
        // SCIM bodies are objects in SCIM's media type. They keep attributes ulo does not know
        // as written (RFC 7643 §3: extensions and other attributes), so unknown members are
        // allowed; a body that is not an object or not JSON answers 400 invalidSyntax, another
        // media type 415.
        if let Some(body) = o.op.get("requestBody").filter(|b| is_scim(b)) {
            let schema = resolve(&doc, &body["content"][SCIM]["schema"]);
            assert_eq!(schema["type"], "object", "{what}: a SCIM body is an object");
            for code in ["400", "415"] {
                assert!(responses.contains_key(code), "{what}: {code} undocumented");
            }
        }
        // A SET is a compact JWS; what is wrong with one is an RFC 8935 error (400).
        if let Some(body) = o.op.get("requestBody").filter(|b| is_set(b)) {
            let schema = resolve(&doc, &body["content"][SECEVENT]["schema"]);
            assert_eq!(schema["type"], "string", "{what}: a SET is a string");
            assert!(responses.contains_key("400"), "{what}: 400 undocumented");
        }
    }
    for name in schemes.keys() {
        assert!(
            schemes_used.contains(name.as_str()),
            "security scheme {name} is never used"
        );
    }
    s.stop().await;
}

const FORM: &str = "application/x-www-form-urlencoded";

/// Whether a request body is a form rather than JSON.
const SECEVENT: &str = "application/secevent+jwt";

/// SCIM's media type (RFC 7644 §3.1).
const SCIM: &str = "application/scim+json";

/// A body in SCIM's media type.
fn is_scim(body: &Value) -> bool {
    body["content"].get(SCIM).is_some()
}

fn is_form(body: &Value) -> bool {
    body["content"].get(FORM).is_some()
}

/// A body that is a Security Event Token (RFC 8417), sent as `application/secevent+jwt`.
fn is_set(body: &Value) -> bool {
    body["content"].get(SECEVENT).is_some()
}

fn escape_pointer(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

fn collect_refs(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => {
                        out.insert(r.clone());
                    }
                    _ => collect_refs(v, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn every_documented_route_exists() {
    let s = TestServer::start(Backend::Sqlite).await.expect("start");
    let doc = fetch_document(&s).await;
    let mut problems: BTreeMap<String, String> = BTreeMap::new();
    let ops = operations(&doc);
    assert!(
        ops.len() >= OPERATIONS_AT_LEAST,
        "too few operations documented"
    );
    // Judge each operation's own answer: a redirect is an answer, not a hop to follow.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("HTTP client");
    // SCIM takes its own credential: with it, SCIM operations answer past authentication (lists,
    // 404s for ids that name nothing, 400s for empty bodies), and those answers are judged too.
    let scim = http
        .post(format!("{}/api/v1/scim-credentials", s.url))
        .header("Authorization", format!("SSWS {ADMIN_TOKEN}"))
        .json(&json!({"name": "OpenAPI check"}))
        .send()
        .await
        .expect("create a SCIM credential");
    assert_eq!(scim.status(), StatusCode::CREATED);
    let scim: Value = scim.json().await.expect("SCIM credential");
    let scim_token = scim["token"].as_str().expect("token").to_string();
    for o in &ops {
        if o.path == STREAM_PATH {
            continue;
        }
        let what = format!("{} {}", o.method.to_ascii_uppercase(), o.path);
        let method = Method::from_bytes(o.method.to_ascii_uppercase().as_bytes()).expect("method");
        let path = concrete_path(&doc, o);
        let auth = if o.path.starts_with("/scim/v2/") {
            format!("Bearer {scim_token}")
        } else {
            format!("SSWS {ADMIN_TOKEN}")
        };
        let mut req = http
            .request(method, format!("{}{path}", s.url))
            .header("Authorization", auth);
        match o.op.get("requestBody") {
            Some(b) if is_form(b) => req = req.form(&[("", "")]),
            Some(_) => req = req.json(&json!({})),
            None => {}
        }
        let resp = req.send().await.expect("send");
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap_or_default();
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::String(text.clone()));

        if status == StatusCode::METHOD_NOT_ALLOWED {
            problems.insert(
                what,
                format!("405 for {path}: the router does not serve it"),
            );
            continue;
        }
        if status == StatusCode::NOT_FOUND && body["errorSummary"] == FALLBACK_SUMMARY {
            problems.insert(what, format!("the router's fallback 404 for {path}"));
            continue;
        }
        // The answer is one the document promises, in a media type it names.
        let responses = &o.op["responses"];
        let Some(documented) = responses.get(status.as_str()).map(|r| resolve(&doc, r)) else {
            problems.insert(
                what,
                format!("undocumented status {status} for {path}: {body}"),
            );
            continue;
        };
        match (documented.get("content"), media_type(&headers)) {
            (Some(content), Some(mt)) => {
                if content.get(&mt).is_none() {
                    problems.insert(what, format!("{status} answered {mt}, not documented"));
                    continue;
                }
            }
            (Some(_), None) => {
                problems.insert(
                    what,
                    format!("{status} answered no body, one is documented"),
                );
                continue;
            }
            (None, Some(mt)) if !text.is_empty() => {
                problems.insert(
                    what,
                    format!("{status} answered a {mt} body, none documented"),
                );
                continue;
            }
            (None, _) => {}
        }
        let link_documented = documented
            .get("headers")
            .and_then(|h| h.as_object())
            .is_some_and(|h| h.keys().any(|k| k.eq_ignore_ascii_case("link")));
        let link_sent = headers.contains_key(LINK);
        if status.is_success() && link_documented != link_sent {
            problems.insert(
                what,
                format!("Link header documented: {link_documented}, sent: {link_sent}"),
            );
        }
    }
    assert!(
        problems.is_empty(),
        "the document and the server disagree:\n{}",
        problems
            .iter()
            .map(|(k, v)| format!("  {k}: {v}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    s.stop().await;
}

#[tokio::test]
async fn the_log_stream_is_an_event_stream() {
    let s = TestServer::start(Backend::Sqlite).await.expect("start");
    let doc = fetch_document(&s).await;
    let documented = &doc["paths"][STREAM_PATH]["get"]["responses"]["200"]["content"];
    assert!(
        documented.get("text/event-stream").is_some(),
        "the stream is documented as text/event-stream: {documented}"
    );
    // The stream never ends: look at the headers, then drop the response.
    let resp = s
        .http
        .get(format!("{}{STREAM_PATH}", s.url))
        .header("Authorization", format!("SSWS {ADMIN_TOKEN}"))
        .send()
        .await
        .expect("open the stream");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        media_type(resp.headers()).as_deref(),
        Some("text/event-stream")
    );
    drop(resp);
    s.stop().await;
}
