//! ulo-store's one integration-test binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests and harnesses: a panic is a failure report

/// Runs `test` once per backend with a fresh store.
macro_rules! on_every_backend {
    ($name:ident, $body:expr) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            for backend in ulo_testkit::backends() {
                let db = ulo_testkit::Database::new(backend).await.expect("database");
                let store = db.open().await.expect("open store");
                let f: fn(std::sync::Arc<dyn ulo_core::store::Store>) -> _ = $body;
                f(store).await;
                db.cleanup().await;
            }
        }
    };
}

mod admin;
mod apps;
mod coverage;
mod devices;
mod filter_sql;
mod fixtures;
mod groups;
mod jobs;
mod keys;
mod log;
mod login_keys;
mod logouts;
mod policies;
mod risk;
mod scim;
mod security_events;
mod sessions;
mod ssf;
mod use_contexts;
mod users;
mod workflows;
