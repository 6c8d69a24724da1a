//! Universal Logout: receipts and their targets, and the upstream identity providers whose logouts
//! ulo accepts.
//!
//! `logouts_methods!` implements `LogoutsRead` and `LogoutsTx` for a backend's transaction.

/// Implements `LogoutsRead` and `LogoutsTx` for `$tx` (with a `tx` field).
macro_rules! logouts_methods {
    ($tx:ident, $dialect:expr) => {
        impl $tx {
            /// A receipt with its targets in one query.
            async fn logout_joined(&mut self, id: ulo_core::ids::LogoutId) -> Result<Option<ulo_core::logout::Logout>, StoreError> {
                let rows: Vec<(String, Option<String>)> = sqlx::query_as("SELECT l.receipt, t.target FROM logouts l LEFT JOIN logout_targets t ON t.logout_id = l.id WHERE l.id=$1 ORDER BY t.position")
                    .bind(id.to_string())
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                let Some((header, _)) = rows.first() else {
                    return Ok(None);
                };
                let mut logout = crate::tx::logouts::receipt_from_json(header)?;
                logout.targets = rows
                    .iter()
                    .filter_map(|(_, t)| t.as_ref())
                    .map(|t| serde_json::from_str(t).map_err(|e| StoreError::Corrupt(format!("logout target: {e}"))))
                    .collect::<Result<_, _>>()?;
                Ok(Some(logout))
            }

            /// A stored receipt header with its target rows.
            async fn logout_with_targets(&mut self, header: &str) -> Result<ulo_core::logout::Logout, StoreError> {
                let mut logout = crate::tx::logouts::receipt_from_json(header)?;
                let rows: Vec<(String,)> = sqlx::query_as("SELECT target FROM logout_targets WHERE logout_id=$1 ORDER BY position")
                    .bind(logout.id.to_string())
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                logout.targets = rows
                    .iter()
                    .map(|r| serde_json::from_str(&r.0).map_err(|e| StoreError::Corrupt(format!("logout target: {e}"))))
                    .collect::<Result<_, _>>()?;
                Ok(logout)
            }
        }

        #[async_trait::async_trait]
        impl ulo_core::store::LogoutsRead for $tx {
            async fn get_logout(&mut self, id: ulo_core::ids::LogoutId) -> Result<Option<ulo_core::logout::Logout>, StoreError> {
                self.logout_joined(id).await
            }

            async fn list_logouts(&mut self, user: Option<UserId>, status: Option<ulo_core::logout::LogoutStatus>, page: &Page) -> Result<Vec<ulo_core::logout::Logout>, StoreError> {
                // Newest first: ids are time-ordered, so "after" a cursor means a smaller id. One
                // query for the page's headers and all their targets.
                let after = page.after.clone().unwrap_or_else(|| "~".into());
                let limit = i64::from(page.limit.max(1));
                let mut conds = Vec::new();
                let mut n = 0;
                let mut next = || {
                    n += 1;
                    format!("${n}")
                };
                if user.is_some() {
                    conds.push(format!("user_id={}", next()));
                }
                if status.is_some() {
                    conds.push(format!("status={}", next()));
                }
                conds.push(format!("id < {}", next()));
                let sql = format!(
                    "SELECT l.id, l.receipt, t.target FROM (SELECT id, receipt FROM logouts WHERE {} ORDER BY id DESC LIMIT {}) l \
                     LEFT JOIN logout_targets t ON t.logout_id = l.id ORDER BY l.id DESC, t.position",
                    conds.join(" AND "),
                    next()
                );
                let mut q = sqlx::query_as::<_, (String, String, Option<String>)>(AssertSqlSafe(sql.as_str()));
                if let Some(u) = user {
                    q = q.bind(u.to_string());
                }
                if let Some(s) = status {
                    q = q.bind(s.as_str());
                }
                let rows = q.bind(after).bind(limit).fetch_all(&mut *self.tx).await.map_err(db_err)?;
                let mut out: Vec<ulo_core::logout::Logout> = Vec::new();
                let mut current: Option<String> = None;
                for (id, header, target) in rows {
                    if current.as_deref() != Some(id.as_str()) {
                        let mut logout = crate::tx::logouts::receipt_from_json(&header)?;
                        logout.targets.clear();
                        out.push(logout);
                        current = Some(id);
                    }
                    if let (Some(t), Some(l)) = (target, out.last_mut()) {
                        l.targets.push(serde_json::from_str(&t).map_err(|e| StoreError::Corrupt(format!("logout target: {e}")))?);
                    }
                }
                Ok(out)
            }

            async fn list_logout_headers(&mut self, user: UserId, status: ulo_core::logout::LogoutStatus, limit: u32) -> Result<Vec<ulo_core::logout::Logout>, StoreError> {
                let rows: Vec<(String,)> = sqlx::query_as("SELECT receipt FROM logouts WHERE user_id=$1 AND status=$2 ORDER BY id DESC LIMIT $3")
                    .bind(user.to_string())
                    .bind(status.as_str())
                    .bind(i64::from(limit.max(1)))
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                rows.iter().map(|(r,)| crate::tx::logouts::receipt_from_json(r)).collect()
            }

            async fn list_upstream_idps(&mut self) -> Result<Vec<ulo_core::logout::upstream::UpstreamIdp>, StoreError> {
                let rows: Vec<(String, String, String, String, i64)> = sqlx::query_as("SELECT id, name, issuer, jwks, created FROM upstream_idps ORDER BY id")
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                rows.into_iter()
                    .map(|(id, name, issuer, jwks, created)| {
                        Ok(ulo_core::logout::upstream::UpstreamIdp {
                            id,
                            name,
                            issuer,
                            jwks: serde_json::from_str(&jwks).map_err(|e| StoreError::Corrupt(format!("identity provider JWKS: {e}")))?,
                            created: ulo_core::clock::from_millis(created),
                        })
                    })
                    .collect()
            }
        }

        #[async_trait::async_trait]
        impl ulo_core::store::LogoutsTx for $tx {
            async fn insert_logout(&mut self, l: &ulo_core::logout::Logout) -> Result<(), StoreError> {
                // The receipt and its targets, new rows of two tables: one round trip (see
                // `crate::batch`) unless they are large.
                for p in crate::batch::pack($dialect, crate::tx::logouts::insert_pieces(l)?) {
                    crate::batch::bind_vals!(sqlx::query(AssertSqlSafe(p.sql)), p.vals)
                        .execute(&mut *self.tx)
                        .await
                        .map_err(db_err)?;
                }
                Ok(())
            }

            async fn get_logout_for_update(&mut self, id: ulo_core::ids::LogoutId) -> Result<Option<ulo_core::logout::Logout>, StoreError> {
                // Lock first, then read the targets in a statement of their own: under READ
                // COMMITTED that statement sees what the previous lock holder committed (a join
                // in the locking statement would read targets from before the wait).
                if $dialect == crate::filter_sql::Dialect::Sqlite {
                    // SQLite's one writer holds the database: nothing can commit in between, so
                    // one query reads the receipt and its targets.
                    return self.logout_joined(id).await;
                }
                let sql = "SELECT receipt FROM logouts WHERE id=$1 FOR UPDATE";
                let row: Option<(String,)> = sqlx::query_as(sql)
                    .bind(id.to_string())
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                match row {
                    None => Ok(None),
                    Some(r) => self.logout_with_targets(&r.0).await.map(Some),
                }
            }

            async fn update_logout(&mut self, l: &ulo_core::logout::Logout) -> Result<(), StoreError> {
                sqlx::query("UPDATE logouts SET status=$2, completed=$3, receipt=$4 WHERE id=$1")
                    .bind(l.id.to_string())
                    .bind(l.status.as_str())
                    .bind(l.completed.map(to_millis))
                    .bind(crate::tx::logouts::receipt_header_json(l)?)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn update_logout_target(&mut self, id: ulo_core::ids::LogoutId, position: usize, t: &ulo_core::logout::LogoutTarget) -> Result<(), StoreError> {
                sqlx::query("UPDATE logout_targets SET status=$3, target=$4 WHERE logout_id=$1 AND position=$2")
                    .bind(id.to_string())
                    .bind(position as i64)
                    .bind(crate::tx::logouts::target_status(t))
                    .bind(crate::tx::logouts::target_json(t)?)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn update_logout_parts(&mut self, l: &ulo_core::logout::Logout, positions: &[usize], header: bool) -> Result<(), StoreError> {
                // Other rows each (a position named twice is written once): one round trip (see
                // `crate::batch`) unless they are large.
                let mut pieces = Vec::with_capacity(positions.len() + 1);
                let mut done = std::collections::BTreeSet::new();
                for p in positions {
                    if let (true, Some(t)) = (done.insert(*p), l.targets.get(*p)) {
                        pieces.push(crate::tx::logouts::target_update_piece(l.id, *p, t)?);
                    }
                }
                if header {
                    pieces.push(crate::tx::logouts::header_update_piece(l)?);
                }
                for p in crate::batch::pack($dialect, pieces) {
                    crate::batch::bind_vals!(sqlx::query(AssertSqlSafe(p.sql)), p.vals)
                        .execute(&mut *self.tx)
                        .await
                        .map_err(db_err)?;
                }
                Ok(())
            }

            async fn insert_upstream_idp(&mut self, i: &ulo_core::logout::upstream::UpstreamIdp) -> Result<(), StoreError> {
                sqlx::query("INSERT INTO upstream_idps (id, name, issuer, jwks, created) VALUES ($1,$2,$3,$4,$5)")
                    .bind(i.id.clone())
                    .bind(i.name.clone())
                    .bind(i.issuer.clone())
                    .bind(i.jwks.to_string())
                    .bind(to_millis(i.created))
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn delete_upstream_idp(&mut self, id: &str) -> Result<bool, StoreError> {
                let r = sqlx::query("DELETE FROM upstream_idps WHERE id=$1")
                    .bind(id)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(r.rows_affected() == 1)
            }
        }
    };
}

pub(crate) use logouts_methods;

/// A receipt's header as stored (its targets are rows of their own).
/// The inserts of a new receipt: its header, then its targets, `ROWS_PER_INSERT` a statement.
pub(crate) fn insert_pieces(
    l: &ulo_core::logout::Logout,
) -> Result<Vec<crate::batch::Piece>, ulo_core::store::StoreError> {
    use crate::batch::{Piece, Val};
    use ulo_core::clock::to_millis;
    let id = l.id.to_string();
    let mut pieces = vec![Piece::new(
        "INSERT INTO logouts (id, user_id, status, created, completed, receipt) VALUES ($1,$2,$3,$4,$5,$6)",
        vec![
            Val::Text(id.clone()),
            Val::Text(l.user_id.to_string()),
            Val::Text(l.status.as_str().to_string()),
            Val::Int(to_millis(l.created)),
            Val::OptInt(l.completed.map(to_millis)),
            Val::Text(receipt_header_json(l)?),
        ],
    )];
    let targets: Vec<(usize, &ulo_core::logout::LogoutTarget)> =
        l.targets.iter().enumerate().collect();
    for chunk in targets.chunks(crate::tx::ROWS_PER_INSERT) {
        let sql = format!(
            "INSERT INTO logout_targets (logout_id, position, status, target) VALUES {}",
            crate::tx::values_list(chunk.len(), &["$", "$", "$", "$"])
        );
        let mut vals = Vec::with_capacity(chunk.len() * 4);
        for (position, t) in chunk {
            vals.extend([
                Val::Text(id.clone()),
                Val::Int(*position as i64),
                Val::Text(target_status(t)),
                Val::Text(target_json(t)?),
            ]);
        }
        pieces.push(Piece::new(sql, vals));
    }
    Ok(pieces)
}

/// The update of one target of a receipt.
pub(crate) fn target_update_piece(
    id: ulo_core::ids::LogoutId,
    position: usize,
    t: &ulo_core::logout::LogoutTarget,
) -> Result<crate::batch::Piece, ulo_core::store::StoreError> {
    use crate::batch::Val;
    Ok(crate::batch::Piece::new(
        "UPDATE logout_targets SET status=$3, target=$4 WHERE logout_id=$1 AND position=$2",
        vec![
            Val::Text(id.to_string()),
            Val::Int(position as i64),
            Val::Text(target_status(t)),
            Val::Text(target_json(t)?),
        ],
    ))
}

/// The update of a receipt's status, completion and header.
pub(crate) fn header_update_piece(
    l: &ulo_core::logout::Logout,
) -> Result<crate::batch::Piece, ulo_core::store::StoreError> {
    use crate::batch::Val;
    Ok(crate::batch::Piece::new(
        "UPDATE logouts SET status=$2, completed=$3, receipt=$4 WHERE id=$1",
        vec![
            Val::Text(l.id.to_string()),
            Val::Text(l.status.as_str().to_string()),
            Val::OptInt(l.completed.map(ulo_core::clock::to_millis)),
            Val::Text(receipt_header_json(l)?),
        ],
    ))
}

pub(crate) fn receipt_header_json(
    l: &ulo_core::logout::Logout,
) -> Result<String, ulo_core::store::StoreError> {
    // The targets are rows of their own: the header is the receipt without them (every field
    // named, so a field added to the receipt is stored too).
    let header = ulo_core::logout::Logout {
        id: l.id,
        user_id: l.user_id,
        user_login: l.user_login.clone(),
        reason: l.reason.clone(),
        scope: l.scope,
        status: l.status,
        created: l.created,
        completed: l.completed,
        transaction_id: l.transaction_id.clone(),
        initiated_by: l.initiated_by.clone(),
        targets: Vec::new(),
    };
    serde_json::to_string(&header).map_err(|e| ulo_core::store::StoreError::Invalid(e.to_string()))
}

/// One receipt target as stored.
pub(crate) fn target_json(
    t: &ulo_core::logout::LogoutTarget,
) -> Result<String, ulo_core::store::StoreError> {
    serde_json::to_string(t).map_err(|e| ulo_core::store::StoreError::Invalid(e.to_string()))
}

/// A target's status as stored.
pub(crate) fn target_status(t: &ulo_core::logout::LogoutTarget) -> String {
    serde_json::to_value(t.status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// A stored receipt.
pub(crate) fn receipt_from_json(
    raw: &str,
) -> Result<ulo_core::logout::Logout, ulo_core::store::StoreError> {
    serde_json::from_str(raw)
        .map_err(|e| ulo_core::store::StoreError::Corrupt(format!("logout receipt: {e}")))
}
