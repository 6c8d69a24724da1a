//! The SCIM filter compiler against real SQLite and (when `ULO_TEST_DATABASE_URL` is set) PostgreSQL:
//! every filter must select the same rows on both databases and agree with `filter::matches`.

use serde_json::{Value, json};
use sqlx::sqlite::SqlitePoolOptions;
use sqlx::{AssertSqlSafe, Connection, PgConnection, Row, SqlitePool};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use ulo_core::filter::{self, AttrPath};
use ulo_store::bind_params;
use ulo_store::filter_sql::{
    ColumnKind, Dialect, FieldResolver, FieldSql, JsonDocResolver, compile,
};

/// System-Log-like events; `published`, `severity`, `seq` and `archived` are also plain columns.
fn events() -> Vec<Value> {
    vec![
        json!({"uuid": "u1", "published": "2024-05-01T10:00:00.000Z", "eventType": "user.session.start",
            "severity": "INFO", "seq": 1, "archived": false,
            "actor": {"id": "00u1", "alternateId": "alice@example.com", "type": "User"},
            "outcome": {"result": "SUCCESS"},
            "target": [{"id": "0oa1", "type": "AppInstance", "alternateId": "Salesforce"}],
            "transaction": {"id": "tx1"},
            "debugContext": {"debugData": {"attempt": 1, "requestUri": "/login/do-login", "mfa": true}}}),
        json!({"uuid": "u2", "published": "2024-05-01T22:00:00.000Z", "eventType": "user.session.start",
            "severity": "WARN", "seq": 2, "archived": false,
            "actor": {"id": "00u2", "alternateId": "bob@example.com", "type": "User"},
            "outcome": {"result": "FAILURE", "reason": "INVALID_CREDENTIALS"},
            "target": [],
            "transaction": {"id": "tx2"},
            "debugContext": {"debugData": {"attempt": 3, "requestUri": "/api/v1/authn?promo=50%_off", "mfa": false}}}),
        json!({"uuid": "u3", "published": "2024-05-02T10:00:00.000Z", "eventType": "user.lifecycle.create",
            "severity": "INFO", "seq": 3, "archived": true,
            "actor": {"id": "00uadmin", "alternateId": "admin@example.com", "type": "User"},
            "outcome": {"result": "SUCCESS", "reason": null},
            "target": [{"id": "00u3", "type": "User", "alternateId": "carol@example.com"},
                       {"id": "00g1", "type": "UserGroup", "alternateId": "Everyone"}],
            "transaction": {"id": "tx3"},
            "debugContext": {"debugData": {"attempt": 1, "requestUri": "/api/v1/users", "mfa": "true"}},
            "urn:ulo:params:ext:1.0:Event": {"tenant": "acme"}}),
        json!({"uuid": "u4", "published": "2024-05-02T22:00:00.000Z", "eventType": "group.user_membership.add",
            "severity": "INFO", "seq": 4, "archived": false,
            "actor": {"id": "00uadmin", "alternateId": "admin@example.com", "type": "User"},
            "outcome": {"result": "SUCCESS"},
            "target": [{"id": "00u3", "type": "User", "alternateId": "carol@example.com"},
                       {"id": "00g2", "type": "UserGroup", "alternateId": "Engineering"}],
            "transaction": {"id": "tx3"},
            "debugContext": {"debugData": {"attempt": 2, "requestUri": "/api/v1/groups/00g2/users/00u3"}}}),
        json!({"uuid": "u5", "published": "2024-05-03T10:00:00.000Z", "eventType": "user.account.lock",
            "severity": "ERROR", "seq": 5, "archived": true,
            "actor": {"id": "system", "type": "SystemPrincipal"},
            "outcome": {"result": "DENY", "reason": "Too many attempts"},
            "transaction": {"id": "tx5"}}),
        json!({"uuid": "u6", "published": "2024-05-03T22:00:00.000Z", "eventType": "policy.evaluate_sign_on",
            "severity": "INFO", "seq": 6, "archived": false,
            "actor": {"id": "00u2", "alternateId": "bob@example.com", "type": "User"},
            "outcome": {"result": "ALLOW", "reason": ""},
            "target": [{"id": "pol1", "type": "Policy"}],
            "debugContext": {"debugData": {"attempt": 2.5, "requestUri": "/api/v1/authn?promo=50ab_off"}}}),
        json!({"uuid": "u7", "published": "2024-05-04T10:00:00.000Z", "eventType": "user.session.end",
            "seq": 7, "archived": false,
            "actor": {"id": "00u7", "alternateId": "Élodie@Example.com", "type": "User"},
            "outcome": {"result": "SUCCESS", "reason": null},
            "target": [{"id": "0oa1", "type": "AppInstance", "alternateId": "Salesforce"}, "legacy-string-target"],
            "transaction": {"id": "tx7"},
            "debugContext": {"debugData": {"attempt": "7", "requestUri": "C:\\temp\\file_1.txt"}}}),
        json!({"uuid": "u8", "published": "2024-05-04T22:00:00.000Z", "eventType": "app.oauth2.token.grant",
            "severity": "info", "seq": 8, "archived": false,
            "actor": {},
            "outcome": {"result": "SUCCESS"},
            "target": [{"id": "0oa2", "type": "AppInstance", "alternateId": "O'Reilly \"Books\""}],
            "transaction": {"id": "tx8"},
            "debugContext": {"debugData": {}}}),
        json!({"uuid": "u9", "published": "2024-05-05T10:00:00.000Z", "eventType": "user.mfa.factor.activate",
            "severity": "WARN", "seq": 9, "archived": false,
            "actor": {"id": "00u1", "alternateId": "alice@example.com", "type": "User"},
            "outcome": null,
            "target": null,
            "transaction": {"id": "tx9"},
            "debugContext": {"debugData": {"attempt": 0, "requestUri": ""}}}),
        json!({"uuid": "u10", "published": "2024-05-05T22:00:00.000Z", "eventType": "system.import.complete",
            "severity": "DEBUG", "seq": 10, "archived": true,
            "actor": {"id": "system", "type": "SystemPrincipal"},
            "outcome": {"result": "SUCCESS"},
            "target": [{"id": "imp1", "type": "Import", "details": {"count": 42}}],
            "transaction": {"id": "tx10"},
            "debugContext": {"debugData": {"attempt": -1, "requestUri": "/api/v1/import"}}}),
    ]
}

/// Filters and the row ids (1-based positions in `events()`) they must select.
const CASES: &[(&str, &[i64])] = &[
    (r#"eventType eq "user.session.start""#, &[1, 2]),
    (r#"eventType eq "USER.Session.START""#, &[1, 2]),
    (r#"eventType sw "user.""#, &[1, 2, 3, 5, 7, 9]),
    (r#"eventType co "SESSION""#, &[1, 2, 7]),
    (r#"eventType ew ".start""#, &[1, 2]),
    (
        r#"eventType ne "user.session.start""#,
        &[3, 4, 5, 6, 7, 8, 9, 10],
    ),
    (r#"eventType eq "x' OR '1'='1""#, &[]),
    (r#"severity eq "info""#, &[1, 3, 4, 6, 8]),
    (r#"severity pr"#, &[1, 2, 3, 4, 5, 6, 8, 9, 10]),
    (r#"severity eq null"#, &[7]),
    (r#"severity ne "INFO""#, &[2, 5, 7, 9, 10]),
    (r#"outcome.result eq "success""#, &[1, 3, 4, 7, 8, 10]),
    (r#"outcome.result ne "SUCCESS""#, &[2, 5, 6, 9]),
    (r#"outcome.result gt "D""#, &[1, 2, 3, 4, 5, 7, 8, 10]),
    (r#"outcome.result lt "b""#, &[1, 2, 3, 4, 5, 6, 7, 8, 10]),
    (r#"outcome.reason pr"#, &[2, 5]),
    (r#"outcome.reason eq null"#, &[1, 3, 4, 7, 8, 9, 10]),
    (r#"outcome.reason ne null"#, &[2, 5, 6]),
    (r#"outcome pr"#, &[1, 2, 3, 4, 5, 6, 7, 8, 10]),
    (r#"target.id eq "00u3""#, &[3, 4]),
    (r#"target.id ne "0oa1""#, &[2, 3, 4, 5, 6, 8, 9, 10]),
    (
        r#"target.type eq "User" and target.alternateId co "EXAMPLE""#,
        &[3, 4],
    ),
    (
        r#"target[type eq "UserGroup" and alternateId eq "everyone"]"#,
        &[3],
    ),
    (
        r#"target[type eq "User"] and target[type eq "UserGroup"]"#,
        &[3, 4],
    ),
    (
        r#"target[id sw "0oa"].alternateId eq "salesforce""#,
        &[1, 7],
    ),
    (r#"target[not (type eq "AppInstance")]"#, &[3, 4, 6, 7, 10]),
    (r#"target pr"#, &[1, 3, 4, 6, 7, 8, 10]),
    (r#"not (target pr)"#, &[2, 5, 9]),
    (r#"target eq null"#, &[5, 9]),
    (r#"target.alternateId eq null"#, &[2, 5, 6, 9, 10]),
    (r#"target.details.count gt 40"#, &[10]),
    (r#"target.alternateId eq "O'Reilly \"Books\"""#, &[8]),
    (r#"debugContext.debugData.attempt gt 2"#, &[2, 6]),
    (r#"debugContext.debugData.attempt ge 2.5"#, &[2, 6]),
    (r#"debugContext.debugData.attempt eq 1"#, &[1, 3]),
    (
        r#"debugContext.debugData.attempt ne 1"#,
        &[2, 4, 5, 6, 7, 8, 9, 10],
    ),
    (r#"debugContext.debugData.attempt lt 1"#, &[9, 10]),
    (r#"debugContext.debugData.attempt eq "7""#, &[7]),
    (
        r#"debugContext.debugData.attempt pr"#,
        &[1, 2, 3, 4, 6, 7, 9, 10],
    ),
    (r#"debugContext.debugData.mfa eq true"#, &[1]),
    (r#"debugContext.debugData.mfa eq false"#, &[2]),
    (
        r#"debugContext.debugData.mfa ne true"#,
        &[2, 3, 4, 5, 6, 7, 8, 9, 10],
    ),
    (r#"debugContext.debugData.mfa eq "TRUE""#, &[3]),
    (r#"debugContext.debugData pr"#, &[1, 2, 3, 4, 6, 7, 9, 10]),
    (r#"debugContext.debugData.requestUri co "50%_""#, &[2]),
    (r#"debugContext.debugData.requestUri co "\\temp\\""#, &[7]),
    (
        r#"debugContext.debugData.requestUri sw "/API/V1/""#,
        &[2, 3, 4, 6, 10],
    ),
    (r#"debugContext.debugData.requestUri ew "_1.txt""#, &[7]),
    (
        r#"debugContext.debugData.requestUri pr"#,
        &[1, 2, 3, 4, 6, 7, 10],
    ),
    (
        r#"published gt "2024-05-03T10:00:00.000Z""#,
        &[6, 7, 8, 9, 10],
    ),
    (
        r#"published ge "2024-05-03T10:00:00.000Z" and published lt "2024-05-04T22:00:00.000Z""#,
        &[5, 6, 7],
    ),
    (r#"published eq "2024-05-02T10:00:00.000Z""#, &[3]),
    (r#"seq gt 8 or seq le 1"#, &[1, 9, 10]),
    (r#"seq eq 3.0"#, &[3]),
    (r#"archived eq true"#, &[3, 5, 10]),
    (r#"archived ne true"#, &[1, 2, 4, 6, 7, 8, 9]),
    (r#"actor.alternateId eq "ÉLODIE@EXAMPLE.COM""#, &[7]),
    (r#"actor.alternateId eq "élodie@example.com""#, &[]),
    (r#"actor pr"#, &[1, 2, 3, 4, 5, 6, 7, 9, 10]),
    (
        r#"actor.alternateId sw "alice" or actor.id eq "system""#,
        &[1, 5, 9, 10],
    ),
    (r#"not (eventType sw "user" or severity eq "INFO")"#, &[10]),
    (
        r#"(eventType sw "user" or eventType sw "group") and not (outcome.result eq "SUCCESS")"#,
        &[2, 5, 9],
    ),
    (r#"transaction.id eq "tx3""#, &[3, 4]),
    (r#"transaction pr"#, &[1, 2, 3, 4, 5, 7, 8, 9, 10]),
    (r#"urn:ulo:params:ext:1.0:Event:tenant eq "acme""#, &[3]),
    (
        r#"urn:ietf:params:scim:schemas:core:2.0:User:eventType eq "user.session.end""#,
        &[7],
    ),
    (r#"uuid eq "U10""#, &[10]),
];

const ROOTS: &[&str] = &[
    "uuid",
    "published",
    "eventType",
    "severity",
    "seq",
    "archived",
    "actor",
    "outcome",
    "target",
    "transaction",
    "debugContext",
    "urn:ulo:params:ext:1.0:Event",
];

/// Four attributes are plain columns; everything else is in the `doc` JSON column.
fn resolver() -> impl FieldResolver {
    let docs = JsonDocResolver {
        column: "doc".to_owned(),
        array_keys: vec!["target".to_owned()],
        allowed_roots: Some(ROOTS.iter().map(|r| (*r).to_owned()).collect()),
    };
    move |path: &AttrPath| {
        let column = |expr: &str, kind| {
            Ok(FieldSql::Column {
                expr: expr.to_owned(),
                kind,
            })
        };
        match (path.uri.as_deref(), path.segments.as_slice()) {
            (None, [name]) if name == "published" => {
                column("published_ms", ColumnKind::TimestampMillis)
            }
            (None, [name]) if name == "severity" => column("severity", ColumnKind::Text),
            (None, [name]) if name == "seq" => column("seq", ColumnKind::Integer),
            (None, [name]) if name == "archived" => column("archived", ColumnKind::Bool),
            _ => docs.resolve(path),
        }
    }
}

fn millis(iso: &str) -> i64 {
    let at = OffsetDateTime::parse(iso, &Rfc3339).unwrap();
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap()
}

/// The ids `matches()` selects, the reference the SQL must agree with.
fn matching_ids(filter: &str) -> Vec<i64> {
    let f = filter::parse(filter).unwrap();
    events()
        .iter()
        .zip(1..)
        .filter(|(doc, _)| filter::matches(&f, doc))
        .map(|(_, id)| id)
        .collect()
}

fn where_clause(
    filter: &str,
    dialect: Dialect,
    first_param: usize,
) -> ulo_store::filter_sql::SqlFragment {
    let f = filter::parse(filter).unwrap_or_else(|e| panic!("{filter}: {e}"));
    compile(&f, dialect, &resolver(), first_param).unwrap_or_else(|e| panic!("{filter}: {e}"))
}

// --- SQLite -------------------------------------------------------------------------------------

async fn sqlite() -> SqlitePool {
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect("sqlite::memory:")
        .await
        .unwrap();
    sqlx::query(
        "CREATE TABLE events (id INTEGER PRIMARY KEY, published_ms BIGINT NOT NULL, severity TEXT, \
         seq BIGINT, archived BOOLEAN, doc TEXT NOT NULL)",
    )
    .execute(&pool)
    .await
    .unwrap();
    for (doc, id) in events().iter().zip(1_i64..) {
        sqlx::query("INSERT INTO events VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(id)
            .bind(millis(doc["published"].as_str().unwrap()))
            .bind(doc["severity"].as_str().map(str::to_owned))
            .bind(doc["seq"].as_i64())
            .bind(doc["archived"].as_bool())
            .bind(doc.to_string())
            .execute(&pool)
            .await
            .unwrap();
    }
    pool
}

async fn sqlite_ids(pool: &SqlitePool, filter: &str) -> Result<Vec<i64>, sqlx::Error> {
    let fragment = where_clause(filter, Dialect::Sqlite, 1);
    let sql = format!("SELECT id FROM events WHERE {} ORDER BY id", fragment.sql);
    let rows = bind_params!(sqlx::query(AssertSqlSafe(sql)), &fragment.params)
        .fetch_all(pool)
        .await?;
    Ok(rows.iter().map(|r| r.get::<i64, _>(0)).collect())
}

#[tokio::test]
async fn sqlite_and_matches_agree_with_the_expected_rows() {
    let pool = sqlite().await;
    let mut failures = Vec::new();
    for (filter, expected) in CASES {
        let in_memory = matching_ids(filter);
        if in_memory != *expected {
            failures.push(format!(
                "matches(): {filter}: got {in_memory:?}, want {expected:?}"
            ));
        }
        match sqlite_ids(&pool, filter).await {
            Ok(ids) if ids == *expected => {}
            Ok(ids) => failures.push(format!("sqlite: {filter}: got {ids:?}, want {expected:?}")),
            Err(e) => failures.push(format!("sqlite: {filter}: {e}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn sqlite_placeholders_start_at_first_param() {
    let pool = sqlite().await;
    let fragment = where_clause(r#"eventType sw "user" and seq ge 2"#, Dialect::Sqlite, 3);
    assert!(
        fragment.sql.contains("$3") && fragment.sql.contains("$4"),
        "{}",
        fragment.sql
    );
    let sql = format!(
        "SELECT id FROM events WHERE id >= $1 AND id <= $2 AND {} ORDER BY id",
        fragment.sql
    );
    let query = sqlx::query(AssertSqlSafe(sql)).bind(3_i64).bind(8_i64);
    let rows = bind_params!(query, &fragment.params)
        .fetch_all(&pool)
        .await
        .unwrap();
    let ids: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(ids, [3, 5, 7]);
}

#[tokio::test]
async fn sqlite_runs_the_largest_filters_the_parser_accepts() {
    let pool = sqlite().await;
    for filter in big_filters() {
        let ids = sqlite_ids(&pool, &filter).await.unwrap();
        assert_eq!(ids, matching_ids(&filter), "{}", &filter[..60]);
    }
}

/// A 4096-character `or` chain and 32 levels of `not (...)`.
fn big_filters() -> Vec<String> {
    let term = r#"uuid eq "u3""#;
    let count = (4096 + 4) / (term.len() + 4);
    let chain = vec![term; count].join(" or ");
    assert!(chain.len() <= 4096);
    let nested = format!("{}seq gt 4{}", "not (".repeat(32), ")".repeat(32));
    let mixed = (0..140)
        .map(|i| format!("seq ne {i}"))
        .collect::<Vec<_>>()
        .join(" and ");
    vec![chain, nested, mixed]
}

// --- PostgreSQL ---------------------------------------------------------------------------------

/// A connection whose `search_path` is a fresh schema, or None when no PostgreSQL is configured.
async fn postgres() -> Option<(PgConnection, String)> {
    let Ok(url) = std::env::var("ULO_TEST_DATABASE_URL") else {
        eprintln!("ULO_TEST_DATABASE_URL is not set; skipping the PostgreSQL half of this test");
        return None;
    };
    let mut conn = PgConnection::connect(&url).await.unwrap();
    let schema = format!("filter_test_{:016x}", rand::random::<u64>());
    for statement in [
        format!("CREATE SCHEMA {schema}"),
        format!("SET search_path TO {schema}"),
        "CREATE TABLE events (id BIGINT PRIMARY KEY, published_ms BIGINT NOT NULL, severity TEXT, \
         seq BIGINT, archived BOOLEAN, doc JSONB NOT NULL)"
            .to_owned(),
    ] {
        sqlx::query(AssertSqlSafe(statement))
            .execute(&mut conn)
            .await
            .unwrap();
    }
    for (doc, id) in events().iter().zip(1_i64..) {
        sqlx::query("INSERT INTO events VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(id)
            .bind(millis(doc["published"].as_str().unwrap()))
            .bind(doc["severity"].as_str().map(str::to_owned))
            .bind(doc["seq"].as_i64())
            .bind(doc["archived"].as_bool())
            .bind(doc.clone())
            .execute(&mut conn)
            .await
            .unwrap();
    }
    Some((conn, schema))
}

async fn drop_schema(mut conn: PgConnection, schema: &str) {
    sqlx::query(AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
        .execute(&mut conn)
        .await
        .unwrap();
}

async fn postgres_ids(conn: &mut PgConnection, filter: &str) -> Result<Vec<i64>, sqlx::Error> {
    let fragment = where_clause(filter, Dialect::Postgres, 1);
    let sql = format!("SELECT id FROM events WHERE {} ORDER BY id", fragment.sql);
    let rows = bind_params!(sqlx::query(AssertSqlSafe(sql)), &fragment.params)
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows.iter().map(|r| r.get::<i64, _>(0)).collect())
}

#[tokio::test]
async fn postgres_agrees_with_the_expected_rows() {
    let Some((mut conn, schema)) = postgres().await else {
        return;
    };
    let mut failures = Vec::new();
    for (filter, expected) in CASES {
        match postgres_ids(&mut conn, filter).await {
            Ok(ids) if ids == *expected => {}
            Ok(ids) => failures.push(format!(
                "postgres: {filter}: got {ids:?}, want {expected:?}"
            )),
            Err(e) => failures.push(format!("postgres: {filter}: {e}")),
        }
    }
    for filter in big_filters() {
        match postgres_ids(&mut conn, &filter).await {
            Ok(ids) if ids == matching_ids(&filter) => {}
            Ok(ids) => failures.push(format!("postgres: big filter: got {ids:?}")),
            Err(e) => failures.push(format!("postgres: big filter: {e}")),
        }
    }
    let fragment = where_clause(r#"eventType sw "user" and seq ge 2"#, Dialect::Postgres, 3);
    let sql = format!(
        "SELECT id FROM events WHERE id >= $1 AND id <= $2 AND {} ORDER BY id",
        fragment.sql
    );
    let query = sqlx::query(AssertSqlSafe(sql)).bind(3_i64).bind(8_i64);
    match bind_params!(query, &fragment.params)
        .fetch_all(&mut conn)
        .await
    {
        Ok(rows) => {
            let ids: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
            if ids != [3, 5, 7] {
                failures.push(format!("postgres: first_param 3: got {ids:?}"));
            }
        }
        Err(e) => failures.push(format!("postgres: first_param 3: {e}")),
    }
    drop_schema(conn, &schema).await;
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// --- Compile errors -----------------------------------------------------------------------------

fn compile_error(filter: &str, resolver: &dyn FieldResolver) -> String {
    let f = filter::parse(filter).unwrap();
    for dialect in [Dialect::Sqlite, Dialect::Postgres] {
        if let Ok(fragment) = compile(&f, dialect, resolver, 1) {
            panic!("{filter} should not compile, got {}", fragment.sql);
        }
    }
    let e = compile(&f, Dialect::Sqlite, resolver, 1).unwrap_err();
    assert_eq!(e.position, 0);
    e.to_string()
}

#[test]
fn reports_unknown_and_mistyped_attributes() {
    let r = resolver();
    let cases = [
        (
            r#"eventtype eq "x""#,
            r#"unknown attribute "eventtype": filterable attributes are uuid, published"#,
        ),
        (
            r#"published eq "yesterday""#,
            r#""yesterday" is not an RFC 3339 timestamp"#,
        ),
        (
            r#"published co "2024""#,
            r#"attribute "published" is a timestamp; use eq, ne, gt, ge, lt or le"#,
        ),
        (
            r#"published gt 5"#,
            r#"attribute "published" is a timestamp; compare it with an RFC 3339 string"#,
        ),
        (r#"seq eq "3""#, r#"attribute "seq" is a number"#),
        (r#"severity eq 3"#, r#"attribute "severity" is text"#),
        (
            r#"archived eq "yes""#,
            r#"attribute "archived" is true or false"#,
        ),
        (
            r#"severity[x pr]"#,
            r#"attribute "severity" is not multi-valued"#,
        ),
    ];
    for (filter, fragment) in cases {
        let message = compile_error(filter, &r);
        assert!(
            message.starts_with("invalid filter at position 0: "),
            "{message}"
        );
        assert!(message.contains(fragment), "{filter}: {message}");
    }
}

#[test]
fn rejects_unsafe_keys_from_resolvers() {
    let bad_keys = ["a'b", "a\"b", "a b", "a}b", "a,b", "", "1a", "a\\b", "é"];
    for key in bad_keys {
        let json = move |_: &AttrPath| {
            Ok(FieldSql::Json {
                column: "doc".to_owned(),
                path: vec!["ok".to_owned(), key.to_owned()],
            })
        };
        let message = compile_error("x pr", &json);
        assert!(
            message.contains("cannot be used in a filter"),
            "{key:?}: {message}"
        );
        let array = move |_: &AttrPath| {
            Ok(FieldSql::JsonArrayAny {
                column: "doc".to_owned(),
                array: vec!["ok".to_owned()],
                element_path: vec![key.to_owned()],
            })
        };
        let message = compile_error("x pr", &array);
        assert!(
            message.contains("cannot be used in a filter"),
            "{key:?}: {message}"
        );
    }
}

#[test]
fn resolver_maps_urns_arrays_and_roots() {
    let r = JsonDocResolver {
        column: "doc".to_owned(),
        array_keys: vec!["emails".to_owned()],
        allowed_roots: None,
    };
    let path = |p: &str| match filter::parse(&format!("{p} pr")).unwrap() {
        filter::Filter::Present(path) => path,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        r.resolve(&path("emails.value")),
        Ok(FieldSql::JsonArrayAny {
            column: "doc".to_owned(),
            array: vec!["emails".to_owned()],
            element_path: vec!["value".to_owned()],
        })
    );
    assert_eq!(
        r.resolve(&path(
            "urn:ietf:params:scim:schemas:core:2.0:User:name.givenName"
        )),
        Ok(FieldSql::Json {
            column: "doc".to_owned(),
            path: vec!["name".to_owned(), "givenName".to_owned()],
        })
    );
    assert_eq!(
        r.resolve(&path(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value"
        )),
        Ok(FieldSql::Json {
            column: "doc".to_owned(),
            path: vec![
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".to_owned(),
                "manager".to_owned(),
                "value".to_owned()
            ],
        })
    );
}
