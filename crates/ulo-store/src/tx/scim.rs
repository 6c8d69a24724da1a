//! SCIM: the service provider's credentials and the externalIds and attributes clients wrote, and
//! provisioning links to apps.
//!
//! `scim_methods!` implements `ScimRead` and `ScimTx` for a backend's transaction.

/// Implements `ScimRead` and `ScimTx` for `$tx` (with a `tx` field).
macro_rules! scim_methods {
    ($tx:ident, $dialect:expr) => {
        #[async_trait::async_trait]
        impl ulo_core::store::ScimRead for $tx {
            async fn find_scim_credential(&mut self, hash: &str) -> Result<Option<ulo_core::scim::ScimCredential>, StoreError> {
                let row: Option<(String, String, String, String, i64, Option<i64>)> = sqlx::query_as("SELECT id, name, token_prefix, token_hash, created, revoked FROM scim_credentials WHERE token_hash=$1 AND revoked IS NULL")
                    .bind(hash)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                row.map(crate::tx::scim::scim_credential_from_row).transpose()
            }

            async fn list_scim_credentials(&mut self) -> Result<Vec<ulo_core::scim::ScimCredential>, StoreError> {
                let rows: Vec<(String, String, String, String, i64, Option<i64>)> = sqlx::query_as("SELECT id, name, token_prefix, token_hash, created, revoked FROM scim_credentials ORDER BY id")
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                rows.into_iter().map(crate::tx::scim::scim_credential_from_row).collect()
            }

            async fn list_scim_external_ids(&mut self, resource_type: &str) -> Result<Vec<(String, String)>, StoreError> {
                sqlx::query_as("SELECT resource_id, external_id FROM scim_external_ids WHERE resource_type=$1 ORDER BY resource_id")
                    .bind(resource_type)
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(db_err)
            }

            async fn get_scim_external_id(&mut self, resource_type: &str, resource_id: &str) -> Result<Option<String>, StoreError> {
                let row: Option<(String,)> = sqlx::query_as("SELECT external_id FROM scim_external_ids WHERE resource_type=$1 AND resource_id=$2")
                    .bind(resource_type).bind(resource_id).fetch_optional(&mut *self.tx).await.map_err(db_err)?;
                Ok(row.map(|r| r.0))
            }

            async fn get_scim_attributes(&mut self, resource_type: &str, resource_id: &str) -> Result<Option<serde_json::Value>, StoreError> {
                let row: Option<(Json<serde_json::Value>,)> = sqlx::query_as("SELECT attributes FROM scim_attributes WHERE resource_type=$1 AND resource_id=$2")
                    .bind(resource_type).bind(resource_id).fetch_optional(&mut *self.tx).await.map_err(db_err)?;
                Ok(row.map(|r| r.0 .0))
            }

            async fn list_scim_attributes(&mut self, resource_type: &str) -> Result<Vec<(String, serde_json::Value)>, StoreError> {
                let rows: Vec<(String, Json<serde_json::Value>)> = sqlx::query_as("SELECT resource_id, attributes FROM scim_attributes WHERE resource_type=$1 ORDER BY resource_id")
                    .bind(resource_type)
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(rows.into_iter().map(|(id, a)| (id, a.0)).collect())
            }

            async fn get_app_user_link(&mut self, app: AppId, user: UserId) -> Result<Option<ulo_core::provisioning::AppUserLink>, StoreError> {
                let sql = format!("SELECT {LINK_COLS} FROM app_user_links WHERE app_id=$1 AND user_id=$2", LINK_COLS = crate::tx::scim::LINK_COLS);
                let row: Option<crate::tx::scim::LinkRow> = sqlx::query_as(AssertSqlSafe(sql.as_str()))
                    .bind(app.to_string())
                    .bind(user.to_string())
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                row.map(crate::tx::scim::link_from_row).transpose()
            }

            async fn list_app_user_links(&mut self, app: AppId, page: &Page) -> Result<Vec<ulo_core::provisioning::AppUserLink>, StoreError> {
                let sql = format!("SELECT {LINK_COLS} FROM app_user_links WHERE app_id=$1 AND user_id > $2 ORDER BY user_id LIMIT $3", LINK_COLS = crate::tx::scim::LINK_COLS);
                let rows: Vec<crate::tx::scim::LinkRow> = sqlx::query_as(AssertSqlSafe(sql.as_str()))
                    .bind(app.to_string())
                    .bind(page.after.clone().unwrap_or_default())
                    .bind(i64::from(page.limit.max(1)))
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                rows.into_iter().map(crate::tx::scim::link_from_row).collect()
            }

            async fn list_user_app_user_links(&mut self, user: UserId) -> Result<Vec<ulo_core::provisioning::AppUserLink>, StoreError> {
                let sql = format!("SELECT {LINK_COLS} FROM app_user_links WHERE user_id=$1 ORDER BY app_id", LINK_COLS = crate::tx::scim::LINK_COLS);
                let rows: Vec<crate::tx::scim::LinkRow> = sqlx::query_as(AssertSqlSafe(sql.as_str()))
                    .bind(user.to_string())
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                rows.into_iter().map(crate::tx::scim::link_from_row).collect()
            }
        }

        #[async_trait::async_trait]
        impl ulo_core::store::ScimTx for $tx {
            async fn insert_scim_credential(&mut self, c: &ulo_core::scim::ScimCredential) -> Result<(), StoreError> {
                sqlx::query("INSERT INTO scim_credentials (id, name, token_prefix, token_hash, created, revoked) VALUES ($1,$2,$3,$4,$5,$6)")
                    .bind(&c.id)
                    .bind(&c.name)
                    .bind(&c.token_prefix)
                    .bind(&c.token_hash)
                    .bind(to_millis(c.created))
                    .bind(c.revoked.map(to_millis))
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn revoke_scim_credential(&mut self, id: &str, now: OffsetDateTime) -> Result<bool, StoreError> {
                let r = sqlx::query("UPDATE scim_credentials SET revoked=$2 WHERE id=$1 AND revoked IS NULL")
                    .bind(id)
                    .bind(to_millis(now))
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(r.rows_affected() > 0)
            }

            async fn put_scim_external_id(&mut self, resource_type: &str, resource_id: &str, external_id: Option<&str>) -> Result<(), StoreError> {
                match external_id {
                    Some(ext) => sqlx::query("INSERT INTO scim_external_ids (resource_type, resource_id, external_id) VALUES ($1,$2,$3) ON CONFLICT (resource_type, resource_id) DO UPDATE SET external_id=excluded.external_id")
                        .bind(resource_type)
                        .bind(resource_id)
                        .bind(ext)
                        .execute(&mut *self.tx)
                        .await,
                    None => sqlx::query("DELETE FROM scim_external_ids WHERE resource_type=$1 AND resource_id=$2")
                        .bind(resource_type)
                        .bind(resource_id)
                        .execute(&mut *self.tx)
                        .await,
                }
                .map_err(db_err)?;
                Ok(())
            }

            async fn put_scim_attributes(&mut self, resource_type: &str, resource_id: &str, attributes: Option<&serde_json::Value>) -> Result<(), StoreError> {
                match attributes {
                    Some(a) => sqlx::query("INSERT INTO scim_attributes (resource_type, resource_id, attributes) VALUES ($1,$2,$3) ON CONFLICT (resource_type, resource_id) DO UPDATE SET attributes=excluded.attributes")
                        .bind(resource_type)
                        .bind(resource_id)
                        .bind(Json(a.clone()))
                        .execute(&mut *self.tx)
                        .await,
                    None => sqlx::query("DELETE FROM scim_attributes WHERE resource_type=$1 AND resource_id=$2")
                        .bind(resource_type)
                        .bind(resource_id)
                        .execute(&mut *self.tx)
                        .await,
                }
                .map_err(db_err)?;
                Ok(())
            }

            async fn put_app_user_link(&mut self, l: &ulo_core::provisioning::AppUserLink) -> Result<(), StoreError> {
                sqlx::query("INSERT INTO app_user_links (app_id, user_id, remote_id, state, desired, last_error, last_status, last_synced, created, updated) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) \
                    ON CONFLICT (app_id, user_id) DO UPDATE SET remote_id=excluded.remote_id, state=excluded.state, desired=excluded.desired, last_error=excluded.last_error, last_status=excluded.last_status, last_synced=excluded.last_synced, updated=excluded.updated")
                    .bind(l.app_id.to_string())
                    .bind(l.user_id.to_string())
                    .bind(l.remote_id.clone())
                    .bind(l.state.as_str())
                    .bind(l.desired.as_str())
                    .bind(l.last_error.clone())
                    .bind(l.last_status)
                    .bind(l.last_synced.map(to_millis))
                    .bind(to_millis(l.created))
                    .bind(to_millis(l.updated))
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }
        }
    };
}

pub(crate) use scim_methods;

/// A `scim_credentials` row (id, name, prefix, hash, created, revoked) as a credential.
pub(crate) fn scim_credential_from_row(
    (id, name, token_prefix, token_hash, created, revoked): (
        String,
        String,
        String,
        String,
        i64,
        Option<i64>,
    ),
) -> Result<ulo_core::scim::ScimCredential, ulo_core::store::StoreError> {
    Ok(ulo_core::scim::ScimCredential {
        id,
        name,
        token_prefix,
        token_hash,
        created: ulo_core::clock::from_millis(created),
        revoked: revoked.map(ulo_core::clock::from_millis),
    })
}

/// The columns of an `app_user_links` row, in [`LinkRow`] order.
pub(crate) const LINK_COLS: &str = "app_id, user_id, remote_id, state, desired, last_error, last_status, last_synced, created, updated";

/// An `app_user_links` row.
pub(crate) type LinkRow = (
    String,
    String,
    Option<String>,
    String,
    String,
    Option<String>,
    Option<i64>,
    Option<i64>,
    i64,
    i64,
);

/// An `app_user_links` row as a link.
pub(crate) fn link_from_row(
    (
        app_id,
        user_id,
        remote_id,
        state,
        desired,
        last_error,
        last_status,
        last_synced,
        created,
        updated,
    ): LinkRow,
) -> Result<ulo_core::provisioning::AppUserLink, ulo_core::store::StoreError> {
    use ulo_core::clock::from_millis;
    use ulo_core::store::StoreError;
    let bad = |what: &str, e: String| StoreError::Corrupt(format!("app_user_links.{what}: {e}"));
    Ok(ulo_core::provisioning::AppUserLink {
        app_id: app_id.parse().map_err(|_| bad("app_id", app_id.clone()))?,
        user_id: user_id
            .parse()
            .map_err(|_| bad("user_id", user_id.clone()))?,
        remote_id,
        state: state.parse().map_err(|e| bad("state", e))?,
        desired: desired.parse().map_err(|e| bad("desired", e))?,
        last_error,
        last_status,
        last_synced: last_synced.map(from_millis),
        created: from_millis(created),
        updated: from_millis(updated),
    })
}
