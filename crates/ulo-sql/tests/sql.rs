//! The shared SQL plumbing on both backends: PostgreSQL runs when `ULO_TEST_DATABASE_URL` is set.

mod common;

use common::{MIGRATOR, SCRATCH, pg_base};
use ulo_sql::{Backend, SqlError, db_err};

/// The checks both backends must pass, on a migrated, empty `pool` (`readers` may be it).
macro_rules! classifies_errors {
    ($pool:expr, $readers:expr) => {{
        let insert = |id: &'static str, name: &'static str| {
            sqlx::query("INSERT INTO things (id, name) VALUES ($1, $2)")
                .bind(id)
                .bind(name)
                .execute($pool)
        };
        insert("a", "ada").await.map_err(db_err).unwrap();
        // Primary key and unique index alike.
        let e = insert("a", "bob").await.map_err(db_err);
        assert!(matches!(e, Err(SqlError::Unique(_))), "{e:?}");
        let e = insert("b", "ada").await.map_err(db_err);
        assert!(matches!(e, Err(SqlError::Unique(_))), "{e:?}");
        // A text column read as a number does not decode: corrupt, not unavailable.
        let decoded: Result<(i64,), _> = sqlx::query_as("SELECT name FROM things")
            .fetch_one($readers)
            .await;
        let e = decoded.map_err(db_err);
        assert!(matches!(e, Err(SqlError::Corrupt(_))), "{e:?}");
        let e = sqlx::query("SELECT * FROM nowhere")
            .execute($pool)
            .await
            .map_err(db_err);
        assert!(matches!(e, Err(SqlError::Unavailable(_))), "{e:?}");
        // A transaction begun and dropped rolls back.
        let mut tx = ulo_sql::begin($pool).await.unwrap();
        sqlx::query("INSERT INTO things (id, name) VALUES ('d', 'dee')")
            .execute(&mut *tx)
            .await
            .unwrap();
        drop(tx);
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM things")
            .fetch_one($readers)
            .await
            .unwrap();
        assert_eq!(n, 1);
    }};
}

#[tokio::test]
async fn sqlite_errors_are_classified() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/t.db", dir.path().display());
    let opts = ulo_sql::pool::sqlite_options(&url).unwrap();
    let writer = ulo_sql::pool::sqlite_writer(&opts).await.unwrap();
    MIGRATOR.run(&writer).await.unwrap();
    let readers = ulo_sql::pool::sqlite_readers(&opts).await.unwrap();
    classifies_errors!(&writer, &readers);
    // The readers cannot write; the writer is in WAL mode.
    let written = sqlx::query("DELETE FROM things").execute(&readers).await;
    assert!(written.is_err());
    let (mode,): (String,) = sqlx::query_as("PRAGMA journal_mode")
        .fetch_one(&writer)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
}

#[tokio::test]
async fn postgres_errors_are_classified() {
    let Some(base) = pg_base() else { return };
    // The scratch database starts migrated (cloned from the template).
    let url = SCRATCH.create(&base).await.unwrap();
    let pool = ulo_sql::pool::postgres(&url, 2).await.unwrap();
    classifies_errors!(&pool, &pool);
    pool.close().await;
    // Only scratch databases are dropped.
    let other = url.replace("ulo_sql_t_", "ulo_sql_x_");
    let e = SCRATCH.drop(&base, &other).await;
    assert!(matches!(e, Err(SqlError::Refused(_))), "{e:?}");
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
