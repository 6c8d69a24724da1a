//! The shared SQL plumbing on both backends: PostgreSQL runs when `ULO_TEST_DATABASE_URL` is set.

use sqlx::migrate::Migrator;
use ulo_sql::scratch::Scratch;
use ulo_sql::{Backend, SqlError, db_err};

static MIGRATOR: Migrator = sqlx::migrate!("tests/migrations");

const SCRATCH: Scratch = Scratch {
    prefix: "ulo_sql_t_",
    template_prefix: "ulo_sql_tpl_",
    migrator: &MIGRATOR,
};

fn pg_base() -> Option<String> {
    std::env::var("ULO_TEST_DATABASE_URL")
        .ok()
        .filter(|u| u.starts_with("postgres"))
}

/// Inserts a thing into `pool`: `Ok` or the classified error.
macro_rules! insert {
    ($pool:expr, $id:expr, $name:expr) => {
        sqlx::query("INSERT INTO things (id, name) VALUES ($1, $2)")
            .bind($id)
            .bind($name)
            .execute($pool)
            .await
            .map(|_| ())
            .map_err(db_err)
    };
}

#[tokio::test]
async fn sqlite_errors_are_classified() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/t.db", dir.path().display());
    let opts = ulo_sql::pool::sqlite_options(&url).unwrap();
    let writer = ulo_sql::pool::sqlite_writer(&opts).await.unwrap();
    MIGRATOR.run(&writer).await.unwrap();
    let readers = ulo_sql::pool::sqlite_readers(&opts).await.unwrap();

    insert!(&writer, "a", "ada").unwrap();
    // Primary key and unique index alike.
    assert!(matches!(
        insert!(&writer, "a", "bob"),
        Err(SqlError::Unique(_))
    ));
    assert!(matches!(
        insert!(&writer, "b", "ada"),
        Err(SqlError::Unique(_))
    ));
    // A text column read as a number does not decode: corrupt, not unavailable.
    let decoded: Result<(i64,), _> = sqlx::query_as("SELECT name FROM things")
        .fetch_one(&readers)
        .await;
    assert!(matches!(decoded.map_err(db_err), Err(SqlError::Corrupt(_))));
    let missing = sqlx::query("SELECT * FROM nowhere").execute(&writer).await;
    assert!(matches!(
        missing.map_err(db_err),
        Err(SqlError::Unavailable(_))
    ));
    // The readers cannot write; the writer is in WAL mode.
    assert!(insert!(&readers, "c", "cy").is_err());
    let (mode,): (String,) = sqlx::query_as("PRAGMA journal_mode")
        .fetch_one(&writer)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    // A transaction begun and dropped rolls back.
    let mut tx = ulo_sql::begin(&writer).await.unwrap();
    sqlx::query("INSERT INTO things (id, name) VALUES ('d', 'dee')")
        .execute(&mut *tx)
        .await
        .unwrap();
    drop(tx);
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM things")
        .fetch_one(&writer)
        .await
        .unwrap();
    assert_eq!(n, 1);
}

#[tokio::test]
async fn postgres_errors_are_classified() {
    let Some(base) = pg_base() else { return };
    let url = SCRATCH.create(&base).await.unwrap();
    let pool = ulo_sql::pool::postgres(&url, 2).await.unwrap();
    // The scratch database starts migrated (from the template).
    insert!(&pool, "a", "ada").unwrap();
    assert!(matches!(
        insert!(&pool, "a", "bob"),
        Err(SqlError::Unique(_))
    ));
    assert!(matches!(
        insert!(&pool, "b", "ada"),
        Err(SqlError::Unique(_))
    ));
    let decoded: Result<(i64,), _> = sqlx::query_as("SELECT name FROM things")
        .fetch_one(&pool)
        .await;
    assert!(matches!(decoded.map_err(db_err), Err(SqlError::Corrupt(_))));
    let missing = sqlx::query("SELECT * FROM nowhere").execute(&pool).await;
    assert!(matches!(
        missing.map_err(db_err),
        Err(SqlError::Unavailable(_))
    ));
    let mut tx = ulo_sql::begin(&pool).await.unwrap();
    sqlx::query("INSERT INTO things (id, name) VALUES ('d', 'dee')")
        .execute(&mut *tx)
        .await
        .unwrap();
    drop(tx);
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM things")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(n, 1);
    pool.close().await;
    // Only scratch databases are dropped.
    let other = url.replace("ulo_sql_t_", "ulo_sql_x_");
    assert!(matches!(
        SCRATCH.drop(&base, &other).await,
        Err(SqlError::Refused(_))
    ));
    SCRATCH.drop(&base, &url).await.unwrap();
}

#[test]
fn urls_name_their_backend() {
    assert_eq!(Backend::of("sqlite://x.db").unwrap(), Backend::Sqlite);
    assert_eq!(Backend::of("postgres://u@h/db").unwrap(), Backend::Postgres);
    assert_eq!(
        Backend::of("postgresql://u@h/db").unwrap(),
        Backend::Postgres
    );
    let e = Backend::of("mysql://u:secret@h/db").unwrap_err();
    assert!(!e.to_string().contains("secret"), "{e}");
    assert_eq!(
        ulo_sql::redact("postgres://u:pw@h/db"),
        "postgres://u:***@h/db"
    );
}
