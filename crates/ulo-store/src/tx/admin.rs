//! Admin roles and API tokens.
//!
//! `admin_methods!` implements `AdminRead` and `AdminTx` for a backend's transaction.

/// Implements `AdminRead` and `AdminTx` for `$tx` (with a `tx` field).
macro_rules! admin_methods {
    ($tx:ident, $dialect:expr) => {
        #[async_trait::async_trait]
        impl ulo_core::store::AdminRead for $tx {
            async fn list_roles(&mut self, user: UserId) -> Result<Vec<AdminRole>, StoreError> {
                let rows: Vec<(String,)> = sqlx::query_as("SELECT role FROM admin_roles WHERE user_id=$1 ORDER BY role")
                    .bind(user.to_string())
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                rows.into_iter().map(|(r,)| r.parse().map_err(StoreError::Corrupt)).collect()
            }

            async fn role_holders(&mut self, role: AdminRole) -> Result<Vec<User>, StoreError> {
                let lock = if $dialect == crate::filter_sql::Dialect::Postgres { " FOR UPDATE" } else { "" };
                let sql = format!("SELECT {USER_COLS} FROM users u JOIN admin_roles r ON r.user_id = u.id WHERE r.role=$1 ORDER BY u.id{lock}");
                let rows: Vec<UserRow> = sqlx::query_as(AssertSqlSafe(sql.as_str())).bind(role.as_str()).fetch_all(&mut *self.tx).await.map_err(db_err)?;
                convert(rows)
            }

            async fn find_api_token_owner(&mut self, hash: &str) -> Result<Option<(ApiToken, User, Vec<AdminRole>)>, StoreError> {
                let agg = if $dialect == crate::filter_sql::Dialect::Postgres { "string_agg(r.role, ',')" } else { "group_concat(r.role, ',')" };
                let sql = format!(
                    "SELECT {TOKEN_OWNER_COLS}, {USER_COLS}, (SELECT {agg} FROM admin_roles r WHERE r.user_id = u.id) AS roles \
                     FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash=$1 AND t.revoked IS NULL"
                );
                let row: Option<TokenOwnerRow> = sqlx::query_as(AssertSqlSafe(sql.as_str())).bind(hash).fetch_optional(&mut *self.tx).await.map_err(db_err)?;
                row.map(<(ApiToken, User, Vec<AdminRole>)>::try_from).transpose()
            }

            async fn find_api_token(&mut self, hash: &str) -> Result<Option<ApiToken>, StoreError> {
                let sql = format!("SELECT {TOKEN_COLS} FROM api_tokens WHERE token_hash=$1 AND revoked IS NULL");
                let row: Option<TokenRow> = sqlx::query_as(AssertSqlSafe(sql.as_str())).bind(hash).fetch_optional(&mut *self.tx).await.map_err(db_err)?;
                row.map(ApiToken::try_from).transpose()
            }

            async fn get_api_token(&mut self, id: ApiTokenId) -> Result<Option<ApiToken>, StoreError> {
                let sql = format!("SELECT {TOKEN_COLS} FROM api_tokens WHERE id=$1");
                let row: Option<TokenRow> = sqlx::query_as(AssertSqlSafe(sql.as_str())).bind(id.to_string()).fetch_optional(&mut *self.tx).await.map_err(db_err)?;
                row.map(ApiToken::try_from).transpose()
            }

            async fn list_api_tokens(&mut self, user: UserId) -> Result<Vec<ApiToken>, StoreError> {
                let sql = format!("SELECT {TOKEN_COLS} FROM api_tokens WHERE user_id=$1 ORDER BY id");
                let rows: Vec<TokenRow> = sqlx::query_as(AssertSqlSafe(sql.as_str())).bind(user.to_string()).fetch_all(&mut *self.tx).await.map_err(db_err)?;
                convert(rows)
            }
        }

        #[async_trait::async_trait]
        impl ulo_core::store::AdminTx for $tx {
            async fn grant_role(&mut self, user: UserId, role: AdminRole, now: OffsetDateTime) -> Result<bool, StoreError> {
                let r = sqlx::query("INSERT INTO admin_roles (user_id, role, created) VALUES ($1,$2,$3) ON CONFLICT DO NOTHING")
                    .bind(user.to_string())
                    .bind(role.as_str())
                    .bind(to_millis(now))
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(r.rows_affected() == 1)
            }

            async fn revoke_role(&mut self, user: UserId, role: AdminRole) -> Result<bool, StoreError> {
                let r = sqlx::query("DELETE FROM admin_roles WHERE user_id=$1 AND role=$2")
                    .bind(user.to_string())
                    .bind(role.as_str())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(r.rows_affected() == 1)
            }

            async fn insert_api_token(&mut self, t: &ApiToken) -> Result<(), StoreError> {
                sqlx::query("INSERT INTO api_tokens (id, user_id, name, token_prefix, token_hash, created, last_used, revoked, scopes) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)")
                    .bind(t.id.to_string())
                    .bind(t.user_id.to_string())
                    .bind(&t.name)
                    .bind(&t.token_prefix)
                    .bind(&t.token_hash)
                    .bind(to_millis(t.created))
                    .bind(t.last_used.map(to_millis))
                    .bind(t.revoked.map(to_millis))
                    .bind(t.scopes.as_ref().map(|s| serde_json::json!(s).to_string()))
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn touch_api_token(&mut self, id: ApiTokenId, now: OffsetDateTime) -> Result<(), StoreError> {
                sqlx::query("UPDATE api_tokens SET last_used=$2 WHERE id=$1")
                    .bind(id.to_string())
                    .bind(to_millis(now))
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn revoke_api_token(&mut self, id: ApiTokenId, now: OffsetDateTime) -> Result<bool, StoreError> {
                let r = sqlx::query("UPDATE api_tokens SET revoked=$2 WHERE id=$1 AND revoked IS NULL")
                    .bind(id.to_string())
                    .bind(to_millis(now))
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(r.rows_affected() == 1)
            }
        }
    };
}

pub(crate) use admin_methods;
