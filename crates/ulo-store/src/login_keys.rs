//! Recomputes the stored login keys when the way logins are compared changes (migration 0016:
//! lower() → NFKC_Casefold). SQL cannot case-fold, so the migration only marks the keys stale
//! and this runs right after the migrations, in one transaction, on whichever node takes the
//! mark first.
//!
//! Two accounts whose logins were distinct before and are one login now (`admin@…` and a
//! fullwidth `ａｄｍｉｎ@…` created beside it) cannot both hold the key. The account that
//! already holds it keeps it, else the one created first; the others keep their old key,
//! which no normalized login can ever equal, so they stay in the directory (by id) but no
//! sign-in or look-up by login reaches them. They are reported in the server's log for an
//! admin to rename or deactivate.

use std::collections::HashMap;

use ulo_core::login_key::login_key;
use ulo_core::store::StoreError;

use crate::rows::db_err;

/// The settings row migration 0016 writes.
const STALE_MARK: &str = "login_keys_stale";

/// A user as the rekeying sees it, in creation order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Keyed {
    pub id: String,
    pub key: String,
    pub login: String,
}

/// What to change: new keys, and the accounts left with their old key (with the account that
/// holds the shared key).
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Plan {
    pub rekey: Vec<(String, String)>,
    pub left_out: Vec<(Keyed, String)>,
}

/// Decides every user's key; `users` in creation order.
pub(crate) fn plan(users: Vec<Keyed>) -> Plan {
    let mut groups: HashMap<String, Vec<Keyed>> = HashMap::new();
    let mut order: Vec<String> = Vec::new();
    for u in users {
        let key = login_key(&u.login);
        let group = groups.entry(key.clone()).or_default();
        if group.is_empty() {
            order.push(key);
        }
        group.push(u);
    }
    let mut out = Plan::default();
    for key in order {
        let Some(mut group) = groups.remove(&key) else {
            continue;
        };
        let holder = group.iter().position(|u| u.key == key).unwrap_or(0);
        let holder = group.remove(holder);
        for other in group {
            out.left_out.push((other, holder.id.clone()));
        }
        if holder.key != key {
            out.rekey.push((holder.id, key));
        }
    }
    out
}

/// The store cannot open: says which step failed, so the operator is not left guessing.
pub(crate) fn rekey_failed(e: StoreError) -> StoreError {
    StoreError::Unavailable(format!(
        "recomputing login keys after migration 0016 (NFKC + case folding): {e}"
    ))
}

macro_rules! rekey_fn {
    ($name:ident, $db:ty, $login_expr:literal) => {
        /// Recomputes stale login keys inside `tx`; answers how many changed, or `None` when
        /// they were not stale.
        pub(crate) async fn $name(
            tx: &mut sqlx::Transaction<'_, $db>,
        ) -> Result<Option<usize>, StoreError> {
            // Deleting the mark first makes this node the one that rekeys: another node's
            // delete waits for this transaction and then finds nothing.
            let taken = sqlx::query("DELETE FROM settings WHERE key=$1")
                .bind(STALE_MARK)
                .execute(&mut **tx)
                .await
                .map_err(db_err)?;
            if taken.rows_affected() == 0 {
                return Ok(None);
            }
            let rows: Vec<(String, String, Option<String>)> = sqlx::query_as(concat!(
                "SELECT id, login_key, ",
                $login_expr,
                " FROM users ORDER BY created, id"
            ))
            .fetch_all(&mut **tx)
            .await
            .map_err(db_err)?;
            let users = rows
                .into_iter()
                .map(|(id, key, login)| Keyed {
                    login: login.unwrap_or_else(|| key.clone()),
                    id,
                    key,
                })
                .collect();
            let plan = plan(users);
            // Two passes: a new key may be another row's old key until that row moves too.
            for pass in 0..2 {
                for (id, key) in &plan.rekey {
                    let value = if pass == 0 {
                        format!("\u{1}rekey\u{1}{id}")
                    } else {
                        key.clone()
                    };
                    sqlx::query("UPDATE users SET login_key=$2 WHERE id=$1")
                        .bind(id)
                        .bind(value)
                        .execute(&mut **tx)
                        .await
                        .map_err(db_err)?;
                }
            }
            for (user, holder) in &plan.left_out {
                tracing::warn!(
                    user = %user.id,
                    login = %user.login,
                    same_login_as = %holder,
                    "this login is now the same as another account's (Unicode NFKC + case folding); that account keeps it and this one can no longer sign in by login: rename or deactivate it"
                );
            }
            Ok(Some(plan.rekey.len()))
        }
    };
}

rekey_fn!(
    rekey_sqlite,
    sqlx::Sqlite,
    "json_extract(profile, '$.login')"
);
rekey_fn!(rekey_postgres, sqlx::Postgres, "profile->>'login'");

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str, key: &str, login: &str) -> Keyed {
        Keyed {
            id: id.into(),
            key: key.into(),
            login: login.into(),
        }
    }

    #[test]
    fn unchanged_keys_are_left_alone_and_changed_ones_recomputed() {
        let p = plan(vec![
            user("1", "ada@example.com", "Ada@example.com"),
            user("2", "straße@example.com", "Straße@example.com"),
        ]);
        assert_eq!(
            p.rekey,
            vec![("2".to_string(), "strasse@example.com".to_string())]
        );
        assert!(p.left_out.is_empty());
    }

    #[test]
    fn the_account_holding_the_key_keeps_it_else_the_first_created() {
        // The real admin holds the key; the fullwidth one was created before or after it.
        for (first, second) in [
            (
                user(
                    "1",
                    "ａｄｍｉｎ@ulo.example.com",
                    "ａｄｍｉｎ@ulo.example.com",
                ),
                user("2", "admin@ulo.example.com", "admin@ulo.example.com"),
            ),
            (
                user("2", "admin@ulo.example.com", "admin@ulo.example.com"),
                user(
                    "1",
                    "ａｄｍｉｎ@ulo.example.com",
                    "ａｄｍｉｎ@ulo.example.com",
                ),
            ),
        ] {
            let p = plan(vec![first, second]);
            assert!(p.rekey.is_empty(), "{p:?}");
            assert_eq!(p.left_out.len(), 1);
            assert_eq!(p.left_out[0].0.id, "1");
            assert_eq!(p.left_out[0].1, "2");
        }
        // Neither holds it: the first created does.
        let p = plan(vec![
            user("1", "straße@example.com", "straße@example.com"),
            user(
                "2",
                "ｓｔｒａｓｓｅ@example.com",
                "ｓｔｒａｓｓｅ@example.com",
            ),
        ]);
        assert_eq!(
            p.rekey,
            vec![("1".to_string(), "strasse@example.com".to_string())]
        );
        assert_eq!(p.left_out[0].0.id, "2");
    }
}
