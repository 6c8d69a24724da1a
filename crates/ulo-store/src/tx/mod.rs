//! The SQL both backends run, one file per area of the store (`users.rs`, `groups.rs`, …):
//! `store_tx!` expands every area's methods and `StoreTx` for a backend's transaction type.
//!
//! Both databases take the same SQL text (`$N` placeholders, `ON CONFLICT`, `RETURNING`, row
//! values); where they differ, the code branches on [`Dialect`](crate::filter_sql::Dialect).

pub(crate) mod admin;
pub(crate) mod apps;
pub(crate) mod devices;
pub(crate) mod groups;
pub(crate) mod jobs;
pub(crate) mod keys;
pub(crate) mod log;
pub(crate) mod logouts;
pub(crate) mod policies;
pub(crate) mod risk;
pub(crate) mod scim;
pub(crate) mod security_events;
pub(crate) mod sessions;
pub(crate) mod settings;
pub(crate) mod ssf;
pub(crate) mod use_contexts;
pub(crate) mod users;
pub(crate) mod workflows;

pub(crate) use log::PendingEvent;

/// Implements every area's traits and `StoreTx` for `$tx` (a struct with a `tx: Conn<$db>`
/// field).
macro_rules! store_tx {
    ($tx:ident, $db:ty, $dialect:expr) => {
        crate::tx::users::users_methods!($tx, $dialect);
        crate::tx::admin::admin_methods!($tx, $dialect);
        crate::tx::groups::groups_methods!($tx, $dialect);
        crate::tx::apps::apps_methods!($tx, $dialect);
        crate::tx::sessions::sessions_methods!($tx, $dialect);
        crate::tx::logouts::logouts_methods!($tx, $dialect);
        crate::tx::jobs::jobs_methods!($tx, $dialect);
        crate::tx::log::log_methods!($tx, $dialect);
        crate::tx::keys::keys_methods!($tx, $dialect);
        crate::tx::settings::settings_methods!($tx, $dialect);
        crate::tx::scim::scim_methods!($tx, $dialect);
        crate::tx::ssf::ssf_methods!($tx, $dialect);
        crate::tx::security_events::security_events_methods!($tx, $dialect);
        crate::tx::devices::devices_methods!($tx, $dialect);
        crate::tx::workflows::workflows_methods!($tx, $dialect);
        crate::tx::risk::risk_methods!($tx, $dialect);
        crate::tx::policies::policies_methods!($tx, $dialect);
        crate::tx::use_contexts::use_contexts_methods!($tx, $dialect);

        #[async_trait::async_trait]
        impl ulo_core::store::StoreTx for $tx {
            async fn commit(mut self: Box<Self>) -> Result<(), StoreError> {
                self.flush_pending().await?;
                let (wake, enqueued) = (self.wake.clone(), self.enqueued);
                let (devices, woken) = (self.devices.clone(), std::mem::take(&mut self.woken));
                // Other nodes' workers learn of new jobs by PostgreSQL NOTIFY (delivered at
                // commit), spaced out by the gate.
                if let (true, Some(notify)) = (enqueued, notify_sql($dialect, "ulo_jobs")) {
                    if self.gate.admit() {
                        sqlx::query(notify)
                            .execute(&mut *self.tx)
                            .await
                            .map_err(db_err)?;
                    }
                }
                self.tx.commit().await.map_err(db_err)?;
                if enqueued {
                    // Jobs become claimable at commit: wake this process's worker now.
                    wake.notify_one();
                }
                // Commands become visible at commit: wake this process's long-polls now.
                devices.wake(&woken);
                Ok(())
            }

            async fn relax_durability(&mut self) -> Result<(), StoreError> {
                if $dialect == crate::filter_sql::Dialect::Postgres {
                    sqlx::query("SET LOCAL synchronous_commit = off")
                        .execute(&mut *self.tx)
                        .await
                        .map_err(db_err)?;
                }
                Ok(())
            }
        }
    };
}

pub(crate) use store_tx;

/// Binds a list of [`crate::filter_sql::SqlParam`] onto a query, in order.
macro_rules! bind_all {
    ($q:expr, $params:expr) => {{
        let mut q = $q;
        for p in $params {
            q = match p {
                SqlParam::Text(s) => q.bind(s.clone()),
                SqlParam::Int(i) => q.bind(*i),
                SqlParam::Float(f) => q.bind(*f),
                SqlParam::Bool(b) => q.bind(*b),
            };
        }
        q
    }};
}

pub(crate) use bind_all;

/// The statement that wakes other processes after commit (PostgreSQL only).
pub(crate) fn notify_sql(
    dialect: crate::filter_sql::Dialect,
    channel: &str,
) -> Option<&'static str> {
    match (dialect, channel) {
        (crate::filter_sql::Dialect::Postgres, "ulo_jobs") => {
            Some("SELECT pg_notify('ulo_jobs', '')")
        }
        _ => None,
    }
}

/// The placeholder of a JSON document bound as text ([`crate::batch::Val::JsonText`]): SQLite
/// stores the text; PostgreSQL casts it to its JSONB column's type.
pub(crate) fn json_param(dialect: crate::filter_sql::Dialect) -> &'static str {
    match dialect {
        crate::filter_sql::Dialect::Sqlite => "$",
        crate::filter_sql::Dialect::Postgres => "$::jsonb",
    }
}

/// Serializes a value to JSON for storage.
pub(crate) fn to_json<T: serde::Serialize>(
    v: &T,
) -> Result<serde_json::Value, ulo_core::store::StoreError> {
    serde_json::to_value(v).map_err(|e| ulo_core::store::StoreError::Corrupt(e.to_string()))
}

/// `(…), (…)` for `rows` rows whose columns are `cols`: each `$` (alone, or with a cast after
/// it: `$::jsonb`) becomes the next numbered placeholder, anything else is kept as a literal.
pub(crate) fn values_list(rows: usize, cols: &[&str]) -> String {
    let mut n = 0;
    let mut out = Vec::with_capacity(rows);
    for _ in 0..rows {
        let row: Vec<String> = cols
            .iter()
            .map(|c| match c.strip_prefix('$') {
                Some(cast) => {
                    n += 1;
                    format!("${n}{cast}")
                }
                None => (*c).to_string(),
            })
            .collect();
        out.push(format!("({})", row.join(",")));
    }
    out.join(",")
}

/// Rows per multi-row `INSERT`: few enough that one statement (with JSON payloads of a few
/// hundred bytes a row) stays well under 16 KiB.
pub(crate) const ROWS_PER_INSERT: usize = 10;
