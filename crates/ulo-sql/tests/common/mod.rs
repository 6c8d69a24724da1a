//! What the test binaries share: the test migrations, their scratch databases, and the
//! PostgreSQL server to run on (`ULO_TEST_DATABASE_URL`), if any.

use sqlx::migrate::Migrator;
use ulo_sql::scratch::Scratch;

pub static MIGRATOR: Migrator = sqlx::migrate!("tests/migrations");

pub const SCRATCH: Scratch = Scratch {
    prefix: "ulo_sql_t_",
    template_prefix: "ulo_sql_tpl_",
    migrator: &MIGRATOR,
};

/// The PostgreSQL server's URL, when the tests run on one.
pub fn pg_base() -> Option<String> {
    std::env::var("ULO_TEST_DATABASE_URL")
        .ok()
        .filter(|u| u.starts_with("postgres"))
}
