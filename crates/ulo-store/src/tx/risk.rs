//! Risk detections about users, and the entity risk level on the user's row.
//!
//! `risk_methods!` implements `RiskRead` and `RiskTx` for a backend's transaction.

/// Implements `RiskRead` and `RiskTx` for `$tx` (with a `tx` field).
macro_rules! risk_methods {
    ($tx:ident, $dialect:expr) => {
        #[async_trait::async_trait]
        impl ulo_core::store::RiskRead for $tx {
            async fn active_detections(&mut self, user: UserId, now: OffsetDateTime) -> Result<Vec<ulo_core::risk::Detection>, StoreError> {
                let sql = format!("SELECT {} FROM risk_detections WHERE user_id=$1 AND ended IS NULL AND expires > $2 ORDER BY created DESC, id DESC", crate::tx::risk::DETECTION_COLS);
                let rows: Vec<crate::tx::risk::DetectionRow> = sqlx::query_as(AssertSqlSafe(sql.as_str()))
                    .bind(user.to_string())
                    .bind(to_millis(now))
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                convert(rows)
            }

            async fn recent_detections(&mut self, user: UserId, limit: u32) -> Result<Vec<ulo_core::risk::Detection>, StoreError> {
                let sql = format!("SELECT {} FROM risk_detections WHERE user_id=$1 ORDER BY created DESC, id DESC LIMIT $2", crate::tx::risk::DETECTION_COLS);
                let rows: Vec<crate::tx::risk::DetectionRow> = sqlx::query_as(AssertSqlSafe(sql.as_str()))
                    .bind(user.to_string())
                    .bind(i64::from(limit))
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                convert(rows)
            }
        }

        #[async_trait::async_trait]
        impl ulo_core::store::RiskTx for $tx {
            async fn insert_detection(&mut self, d: &ulo_core::risk::Detection) -> Result<(), StoreError> {
                let p = crate::tx::risk::insert_piece(d)?;
                crate::batch::bind_vals!(sqlx::query(AssertSqlSafe(p.sql)), p.vals)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn record_detection(&mut self, d: &ulo_core::risk::Detection, level: ulo_core::user::RiskLevel, now: OffsetDateTime, keep: u32) -> Result<(), StoreError> {
                // One round trip (see `crate::batch`): a new row, the user's row (unchanged when
                // the level is), and deletes of other, inactive rows.
                let user = d.user_id.to_string();
                let pieces = vec![
                    crate::tx::risk::insert_piece(d)?,
                    crate::batch::Piece::new(
                        "UPDATE users SET risk_level=$2 WHERE id=$1 AND risk_level<>$2",
                        vec![crate::batch::Val::Text(user.clone()), crate::batch::Val::Text(level.as_str().to_string())],
                    ),
                    crate::batch::Piece::new(
                        crate::tx::risk::PRUNE_SQL,
                        vec![crate::batch::Val::Text(user), crate::batch::Val::Int(to_millis(now)), crate::batch::Val::Int(i64::from(keep))],
                    ),
                ];
                let p = crate::batch::join($dialect, pieces);
                crate::batch::bind_vals!(sqlx::query(AssertSqlSafe(p.sql)), p.vals)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn end_detections(&mut self, user: UserId, now: OffsetDateTime) -> Result<Vec<ulo_core::ids::DetectionId>, StoreError> {
                let rows: Vec<(String,)> = sqlx::query_as("UPDATE risk_detections SET ended=$2 WHERE user_id=$1 AND ended IS NULL AND expires > $2 RETURNING id")
                    .bind(user.to_string())
                    .bind(to_millis(now))
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                let mut ids = rows.iter().map(|r| parse("detection id", &r.0)).collect::<Result<Vec<ulo_core::ids::DetectionId>, _>>()?;
                ids.sort_by_key(|id| id.to_string());
                Ok(ids)
            }

            async fn prune_detections(&mut self, user: UserId, now: OffsetDateTime, keep: u32) -> Result<u64, StoreError> {
                let r = sqlx::query(crate::tx::risk::PRUNE_SQL)
                .bind(user.to_string())
                .bind(to_millis(now))
                .bind(i64::from(keep))
                .execute(&mut *self.tx)
                .await
                .map_err(db_err)?;
                Ok(r.rows_affected())
            }

            async fn purge_detections(&mut self, before: OffsetDateTime) -> Result<u64, StoreError> {
                let r = sqlx::query("DELETE FROM risk_detections WHERE COALESCE(ended, expires) < $1")
                    .bind(to_millis(before))
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(r.rows_affected())
            }

            async fn set_user_risk_level(&mut self, user: UserId, level: ulo_core::user::RiskLevel) -> Result<bool, StoreError> {
                let r = sqlx::query("UPDATE users SET risk_level=$2 WHERE id=$1")
                    .bind(user.to_string())
                    .bind(level.as_str())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(r.rows_affected() == 1)
            }

            async fn refresh_risk_levels(&mut self, now: OffsetDateTime) -> Result<Vec<UserId>, StoreError> {
                // Only stored levels above LOW can be stale: a detection writes its level at once,
                // so only an expiry lowers a level without a write.
                let level = crate::tx::risk::active_level_sql("users.id", "$1");
                let sql = format!("UPDATE users SET risk_level = {level} WHERE risk_level <> 'LOW' AND risk_level <> {level} RETURNING id");
                let rows: Vec<(String,)> = sqlx::query_as(AssertSqlSafe(sql.as_str()))
                    .bind(to_millis(now))
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                let mut ids = rows.iter().map(|r| parse("user id", &r.0)).collect::<Result<Vec<UserId>, _>>()?;
                ids.sort_by_key(|id| id.to_string());
                Ok(ids)
            }
        }
    };
}

pub(crate) use risk_methods;

use ulo_core::clock::from_millis;
use ulo_core::risk::Detection;
use ulo_core::store::StoreError;

use crate::rows::parse;

/// Deletes the inactive detections of user `$1` at `$2` beyond the `$3` newest.
pub(crate) const PRUNE_SQL: &str = "DELETE FROM risk_detections WHERE id IN (SELECT id FROM (\
     SELECT id, ROW_NUMBER() OVER (ORDER BY created DESC, id DESC) AS n FROM risk_detections \
     WHERE user_id=$1 AND (ended IS NOT NULL OR expires <= $2)) t WHERE n > $3)";

/// The insert of a new detection.
pub(crate) fn insert_piece(d: &Detection) -> Result<crate::batch::Piece, StoreError> {
    use crate::batch::Val;
    Ok(crate::batch::Piece::new(
        "INSERT INTO risk_detections (id, user_id, type, level, source, reasons, issuer, created, expires, ended) \
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)",
        vec![
            Val::Text(d.id.to_string()),
            Val::Text(d.user_id.to_string()),
            Val::Text(d.detection_type.as_str().to_string()),
            Val::Text(d.level.as_str().to_string()),
            Val::Text(d.source.clone()),
            Val::Text(
                serde_json::to_string(&d.reasons)
                    .map_err(|e| StoreError::Invalid(e.to_string()))?,
            ),
            Val::OptText(d.issuer.clone()),
            Val::Int(ulo_core::clock::to_millis(d.created)),
            Val::Int(ulo_core::clock::to_millis(d.expires)),
            Val::OptInt(d.ended.map(ulo_core::clock::to_millis)),
        ],
    ))
}

/// The columns a [`DetectionRow`] reads.
pub(crate) const DETECTION_COLS: &str =
    "id, user_id, type, level, source, reasons, issuer, created, expires, ended";

/// A stored detection.
#[derive(sqlx::FromRow)]
pub(crate) struct DetectionRow {
    id: String,
    user_id: String,
    #[sqlx(rename = "type")]
    detection_type: String,
    level: String,
    source: String,
    reasons: String,
    issuer: Option<String>,
    created: i64,
    expires: i64,
    ended: Option<i64>,
}

impl TryFrom<DetectionRow> for Detection {
    type Error = StoreError;
    fn try_from(r: DetectionRow) -> Result<Self, StoreError> {
        Ok(Detection {
            id: parse("detection id", &r.id)?,
            user_id: parse("user id", &r.user_id)?,
            detection_type: parse("detection type", &r.detection_type)?,
            level: parse("risk level", &r.level)?,
            source: r.source,
            reasons: serde_json::from_str(&r.reasons)
                .map_err(|e| StoreError::Corrupt(format!("detection reasons: {e}")))?,
            issuer: r.issuer,
            created: from_millis(r.created),
            expires: from_millis(r.expires),
            ended: r.ended.map(from_millis),
        })
    }
}

/// The entity risk level (`'LOW'`, `'MEDIUM'` or `'HIGH'`) of the user whose id is the SQL
/// expression `user_id`, from their detections active at `now` (an SQL expression: a
/// placeholder or a literal of Unix milliseconds): the highest one's, LOW when none is.
pub(crate) fn active_level_sql(user_id: &str, now: &str) -> String {
    format!(
        "(SELECT CASE MAX(CASE d.level WHEN 'HIGH' THEN 3 WHEN 'MEDIUM' THEN 2 ELSE 1 END) \
         WHEN 3 THEN 'HIGH' WHEN 2 THEN 'MEDIUM' ELSE 'LOW' END \
         FROM risk_detections d WHERE d.user_id = {user_id} AND d.ended IS NULL AND d.expires > {now})"
    )
}
