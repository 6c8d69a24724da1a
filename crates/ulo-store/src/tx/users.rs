//! Users: profiles, password hashes, and the row lock that serializes one user's sign-ins.
//!
//! `users_methods!` implements `UsersRead` and `UsersTx` for a backend's transaction.

/// Implements `UsersRead` and `UsersTx` for `$tx` (with a `tx` field).
macro_rules! users_methods {
    ($tx:ident, $dialect:expr) => {
        impl $tx {
            /// On SQLite a transaction that read a user holds them as `lock_user` would: its
            /// connection is the one writer (a write transaction began IMMEDIATE; a read handle
            /// cannot lock), so nothing else can change or delete the row before it ends.
            fn found_user(&mut self, user: Option<&User>) {
                if let (crate::filter_sql::Dialect::Sqlite, Some(u)) = ($dialect, user) {
                    if !self.locked.contains(&u.id) {
                        self.locked.push(u.id);
                    }
                }
            }
        }

        #[async_trait::async_trait]
        impl ulo_core::store::UsersRead for $tx {
            async fn password_hash(&mut self, id: UserId) -> Result<Option<String>, StoreError> {
                let row: Option<(Option<String>,)> = sqlx::query_as("SELECT password_hash FROM users WHERE id=$1")
                    .bind(id.to_string())
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(row.and_then(|r| r.0))
            }

            async fn get_user(&mut self, id: UserId) -> Result<Option<User>, StoreError> {
                let sql = format!("SELECT {USER_COLS} FROM users u WHERE u.id=$1");
                let row: Option<UserRow> = sqlx::query_as(AssertSqlSafe(sql.as_str())).bind(id.to_string()).fetch_optional(&mut *self.tx).await.map_err(db_err)?;
                let user = row.map(User::try_from).transpose()?;
                self.found_user(user.as_ref());
                Ok(user)
            }

            async fn get_user_by_login(&mut self, login: &str) -> Result<Option<User>, StoreError> {
                let sql = format!("SELECT {USER_COLS} FROM users u WHERE u.login_key=$1");
                let row: Option<UserRow> = sqlx::query_as(AssertSqlSafe(sql.as_str()))
                    .bind(ulo_core::login_key::login_key(login))
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                let user = row.map(User::try_from).transpose()?;
                self.found_user(user.as_ref());
                Ok(user)
            }

            async fn list_users(&mut self, query: &UserQuery) -> Result<Vec<User>, StoreError> {
                // With `risk_at`, the level answered and filtered on counts only the detections
                // active then (see `UserQuery::risk_at`); the time is a trusted integer literal.
                let risk_level = query.risk_at.map(|t| crate::tx::risk::active_level_sql("u.id", &to_millis(t).to_string()));
                let cols = match &risk_level {
                    Some(level) => USER_COLS.replacen("u.risk_level", &format!("{level} AS risk_level"), 1),
                    None => USER_COLS.to_string(),
                };
                let mut sql = Sql::new(&format!("SELECT {cols} FROM users u WHERE 1=1"));
                sql.after("u.id", &query.page);
                let names: Vec<String> = ["firstName", "lastName", "email"].iter().map(|k| format!("lower({})", json_text($dialect, "u.profile", k))).collect();
                let mut exprs: Vec<&str> = vec!["u.login_key"];
                exprs.extend(names.iter().map(String::as_str));
                sql.prefix(&exprs, query.q.as_deref());
                if let Some(f) = &query.filter {
                    sql.filter(f, $dialect, &UserFields { risk_level })?;
                }
                sql.order_limit("u.id", &query.page);
                let rows: Vec<UserRow> = bind_all!(sqlx::query_as(AssertSqlSafe(sql.text.as_str())), &sql.params).fetch_all(&mut *self.tx).await.map_err(db_err)?;
                convert(rows)
            }

            async fn count_users(&mut self) -> Result<i64, StoreError> {
                let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users").fetch_one(&mut *self.tx).await.map_err(db_err)?;
                Ok(n)
            }
        }

        #[async_trait::async_trait]
        impl ulo_core::store::UsersTx for $tx {
            async fn insert_user(&mut self, u: &User, password_hash: Option<&str>) -> Result<(), StoreError> {
                sqlx::query("INSERT INTO users (id, login_key, status, provisioned_by, risk_level, profile, password_hash, created, activated, status_changed, last_updated, password_changed, last_login) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)")
                    .bind(u.id.to_string())
                    .bind(u.profile.login_key())
                    .bind(u.status.as_str())
                    .bind(u.provisioned_by.as_str())
                    .bind(u.risk_level.as_str())
                    .bind(Json(to_json(&u.profile)?))
                    .bind(password_hash)
                    .bind(to_millis(u.created))
                    .bind(u.activated.map(to_millis))
                    .bind(u.status_changed.map(to_millis))
                    .bind(to_millis(u.last_updated))
                    .bind(u.password_changed.map(to_millis))
                    .bind(u.last_login.map(to_millis))
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn update_user(&mut self, u: &User) -> Result<(), StoreError> {
                // Not risk_level: only `RiskTx` writes it, so a user read before a detection and
                // written after it cannot put back the old level.
                sqlx::query("UPDATE users SET login_key=$2, status=$3, provisioned_by=$4, profile=$5, activated=$6, status_changed=$7, last_updated=$8, password_changed=$9, last_login=$10 WHERE id=$1")
                    .bind(u.id.to_string())
                    .bind(u.profile.login_key())
                    .bind(u.status.as_str())
                    .bind(u.provisioned_by.as_str())
                    .bind(Json(to_json(&u.profile)?))
                    .bind(u.activated.map(to_millis))
                    .bind(u.status_changed.map(to_millis))
                    .bind(to_millis(u.last_updated))
                    .bind(u.password_changed.map(to_millis))
                    .bind(u.last_login.map(to_millis))
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn set_password_hash(&mut self, id: UserId, hash: &str) -> Result<(), StoreError> {
                sqlx::query("UPDATE users SET password_hash=$2 WHERE id=$1")
                    .bind(id.to_string())
                    .bind(hash)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn delete_user(&mut self, id: UserId) -> Result<bool, StoreError> {
                let r = sqlx::query("DELETE FROM users WHERE id=$1").bind(id.to_string()).execute(&mut *self.tx).await.map_err(db_err)?;
                self.locked.retain(|u| *u != id);
                Ok(r.rows_affected() == 1)
            }

            async fn lock_user(&mut self, user: UserId) -> Result<bool, StoreError> {
                // The lock lasts until the transaction ends (and the row can only go by this
                // transaction's own delete): a second lock of the same user needs no statement.
                if self.locked.contains(&user) {
                    return Ok(true);
                }
                let lock = if $dialect == crate::filter_sql::Dialect::Postgres { " FOR UPDATE" } else { "" };
                let sql = format!("SELECT id FROM users WHERE id=$1{lock}");
                let row: Option<(String,)> = sqlx::query_as(AssertSqlSafe(sql.as_str())).bind(user.to_string()).fetch_optional(&mut *self.tx).await.map_err(db_err)?;
                if row.is_some() {
                    self.locked.push(user);
                }
                Ok(row.is_some())
            }
        }
    };
}

pub(crate) use users_methods;
