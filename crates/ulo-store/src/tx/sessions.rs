//! Sign-in state, sessions (with the apps each signed in to and the expiry sweep), OAuth codes and
//! tokens, and the memory of one-time JWT ids.
//!
//! `sessions_methods!` implements `SessionsRead` and `SessionsTx` for a backend's transaction.

/// Implements `SessionsRead` and `SessionsTx` for `$tx` (with a `tx` field).
macro_rules! sessions_methods {
    ($tx:ident, $dialect:expr) => {
        #[async_trait::async_trait]
        impl ulo_core::store::SessionsRead for $tx {
            async fn sign_in_state(&mut self, user: UserId) -> Result<SignInState, StoreError> {
                let row: Option<(Option<String>, Option<i64>, i64, Option<i64>, Option<i64>)> = sqlx::query_as("SELECT totp_sealed, totp_verified, failed_attempts, locked_until, totp_last_step FROM sign_in_state WHERE user_id=$1")
                    .bind(user.to_string()).fetch_optional(&mut *self.tx).await.map_err(db_err)?;
                Ok(row.map(|(t, v, f, l, s)| SignInState { totp_sealed: t, totp_verified: v.map(from_millis), failed_attempts: f, locked_until: l.map(from_millis), totp_last_step: s }).unwrap_or_default())
            }

            async fn find_session(&mut self, secret_hash: &str) -> Result<Option<Session>, StoreError> {
                let sql = format!("SELECT {SESSION_COLS} FROM sessions WHERE secret_hash=$1");
                let row: Option<SessionRow> = sqlx::query_as(AssertSqlSafe(sql.as_str())).bind(secret_hash).fetch_optional(&mut *self.tx).await.map_err(db_err)?;
                row.map(Session::try_from).transpose()
            }

            async fn get_session(&mut self, id: SessionId) -> Result<Option<Session>, StoreError> {
                let sql = format!("SELECT {SESSION_COLS} FROM sessions WHERE id=$1");
                let row: Option<SessionRow> = sqlx::query_as(AssertSqlSafe(sql.as_str())).bind(id.to_string()).fetch_optional(&mut *self.tx).await.map_err(db_err)?;
                row.map(Session::try_from).transpose()
            }

            async fn list_open_sessions(&mut self, user: UserId) -> Result<Vec<Session>, StoreError> {
                let sql = format!("SELECT {SESSION_COLS} FROM sessions WHERE user_id=$1 AND ended IS NULL ORDER BY created, id");
                let rows: Vec<SessionRow> = sqlx::query_as(AssertSqlSafe(sql.as_str())).bind(user.to_string()).fetch_all(&mut *self.tx).await.map_err(db_err)?;
                convert(rows)
            }

            async fn list_session_apps(&mut self, session: SessionId) -> Result<Vec<AppId>, StoreError> {
                let rows: Vec<(String,)> = sqlx::query_as("SELECT app_id FROM session_apps WHERE session_id=$1 ORDER BY first_signed_in, app_id")
                    .bind(session.to_string())
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                rows.into_iter()
                    .map(|(a,)| a.parse().map_err(|_| StoreError::Corrupt(format!("session_apps.app_id: bad id {a:?}"))))
                    .collect()
            }

            async fn any_expired_sessions(&mut self, now: OffsetDateTime, idle_cutoff: OffsetDateTime) -> Result<bool, StoreError> {
                let row: Option<(String,)> = sqlx::query_as("SELECT id FROM sessions WHERE ended IS NULL AND (expires <= $1 OR last_used <= $2) LIMIT 1")
                    .bind(to_millis(now))
                    .bind(to_millis(idle_cutoff))
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(row.is_some())
            }

            async fn find_refresh_token(&mut self, hash: &str) -> Result<Option<RefreshToken>, StoreError> {
                let sql = format!("SELECT {REFRESH_COLS} FROM refresh_tokens WHERE token_hash=$1");
                let row: Option<RefreshRow> = sqlx::query_as(AssertSqlSafe(sql.as_str())).bind(hash).fetch_optional(&mut *self.tx).await.map_err(db_err)?;
                row.map(RefreshToken::try_from).transpose()
            }

            async fn get_access_token(&mut self, jti: &str) -> Result<Option<AccessTokenRecord>, StoreError> {
                let sql = format!("SELECT {ACCESS_COLS} FROM access_tokens WHERE jti=$1");
                let row: Option<AccessRow> = sqlx::query_as(AssertSqlSafe(sql.as_str())).bind(jti).fetch_optional(&mut *self.tx).await.map_err(db_err)?;
                row.map(AccessTokenRecord::try_from).transpose()
            }

            async fn list_grants(&mut self, user: UserId, now: OffsetDateTime) -> Result<Vec<GrantSummary>, StoreError> {
                let rows: Vec<(String, i64, i64)> = sqlx::query_as(LIVE_GRANTS_SQL).bind(user.to_string()).bind(to_millis(now)).fetch_all(&mut *self.tx).await.map_err(db_err)?;
                grant_summaries(rows)
            }
        }

        #[async_trait::async_trait]
        impl ulo_core::store::SessionsTx for $tx {
            async fn put_sign_in_state(&mut self, user: UserId, st: &SignInState) -> Result<(), StoreError> {
                sqlx::query("INSERT INTO sign_in_state (user_id, totp_sealed, totp_verified, failed_attempts, locked_until, totp_last_step) VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT (user_id) DO UPDATE SET totp_sealed=excluded.totp_sealed, totp_verified=excluded.totp_verified, failed_attempts=excluded.failed_attempts, locked_until=excluded.locked_until, totp_last_step=excluded.totp_last_step")
                    .bind(user.to_string()).bind(st.totp_sealed.as_deref()).bind(st.totp_verified.map(to_millis)).bind(st.failed_attempts).bind(st.locked_until.map(to_millis)).bind(st.totp_last_step)
                    .execute(&mut *self.tx).await.map_err(db_err)?;
                Ok(())
            }

            async fn insert_session(&mut self, x: &Session) -> Result<(), StoreError> {
                sqlx::query("INSERT INTO sessions (id, user_id, secret_hash, created, last_used, expires, ip_address, user_agent, amr, ended, end_reason) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)")
                    .bind(x.id.to_string()).bind(x.user_id.to_string()).bind(&x.secret_hash).bind(to_millis(x.created)).bind(to_millis(x.last_used)).bind(to_millis(x.expires))
                    .bind(x.ip_address.as_deref()).bind(x.user_agent.as_deref()).bind(x.amr.join(" ")).bind(x.ended.map(to_millis)).bind(x.end_reason.as_deref())
                    .execute(&mut *self.tx).await.map_err(db_err)?;
                Ok(())
            }

            async fn touch_session(&mut self, id: SessionId, now: OffsetDateTime) -> Result<(), StoreError> {
                sqlx::query("UPDATE sessions SET last_used=$2 WHERE id=$1").bind(id.to_string()).bind(to_millis(now)).execute(&mut *self.tx).await.map_err(db_err)?;
                Ok(())
            }

            async fn end_session(&mut self, id: SessionId, reason: &str, now: OffsetDateTime) -> Result<bool, StoreError> {
                let r = sqlx::query("UPDATE sessions SET ended=$2, end_reason=$3 WHERE id=$1 AND ended IS NULL")
                    .bind(id.to_string()).bind(to_millis(now)).bind(reason).execute(&mut *self.tx).await.map_err(db_err)?;
                Ok(r.rows_affected() == 1)
            }

            async fn record_session_app(&mut self, session: SessionId, app: AppId, now: OffsetDateTime) -> Result<(), StoreError> {
                sqlx::query("INSERT INTO session_apps (session_id, app_id, first_signed_in) VALUES ($1,$2,$3) ON CONFLICT (session_id, app_id) DO NOTHING")
                    .bind(session.to_string())
                    .bind(app.to_string())
                    .bind(to_millis(now))
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn claim_expired_sessions(&mut self, now: OffsetDateTime, idle_cutoff: OffsetDateTime, limit: u32) -> Result<Vec<Session>, StoreError> {
                // SQLite has one writer: the write transaction this runs in already excludes
                // every other sweep.
                let lock = if $dialect == crate::filter_sql::Dialect::Postgres { " FOR UPDATE SKIP LOCKED" } else { "" };
                let sql = format!("SELECT {SESSION_COLS} FROM sessions WHERE ended IS NULL AND (expires <= $1 OR last_used <= $2) ORDER BY created, id LIMIT $3{lock}");
                let rows: Vec<SessionRow> = sqlx::query_as(AssertSqlSafe(sql.as_str()))
                    .bind(to_millis(now))
                    .bind(to_millis(idle_cutoff))
                    .bind(i64::from(limit))
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                convert(rows)
            }

            async fn insert_auth_code(&mut self, c: &AuthCode) -> Result<(), StoreError> {
                sqlx::query("INSERT INTO auth_codes (code_hash, app_id, user_id, session_id, redirect_uri, scope, nonce, code_challenge, code_challenge_method, auth_time, created, expires, used, grant_id) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)")
                    .bind(&c.code_hash).bind(c.app_id.to_string()).bind(c.user_id.to_string()).bind(c.session_id.to_string()).bind(&c.redirect_uri).bind(&c.scope)
                    .bind(c.nonce.as_deref()).bind(c.code_challenge.as_deref()).bind(c.code_challenge_method.as_deref()).bind(to_millis(c.auth_time))
                    .bind(to_millis(c.created)).bind(to_millis(c.expires)).bind(c.used.map(to_millis)).bind(c.grant_id.to_string())
                    .execute(&mut *self.tx).await.map_err(db_err)?;
                Ok(())
            }

            async fn redeem_auth_code(&mut self, code_hash: &str, now: OffsetDateTime) -> Result<Option<AuthCode>, StoreError> {
                let sql = format!("SELECT {CODE_COLS} FROM auth_codes WHERE code_hash=$1");
                let row: Option<CodeRow> = sqlx::query_as(AssertSqlSafe(sql.as_str())).bind(code_hash).fetch_optional(&mut *self.tx).await.map_err(db_err)?;
                let Some(code) = row.map(AuthCode::try_from).transpose()? else { return Ok(None) };
                // Compare-and-set: of two concurrent redemptions only one sees `used` empty.
                let r = sqlx::query("UPDATE auth_codes SET used=$2 WHERE code_hash=$1 AND used IS NULL").bind(code_hash).bind(to_millis(now)).execute(&mut *self.tx).await.map_err(db_err)?;
                if r.rows_affected() == 0 && code.used.is_none() {
                    return Ok(Some(AuthCode { used: Some(now), ..code }));
                }
                Ok(Some(code))
            }

            async fn insert_refresh_token(&mut self, t: &RefreshToken) -> Result<(), StoreError> {
                sqlx::query("INSERT INTO refresh_tokens (id, grant_id, token_hash, app_id, user_id, session_id, scope, auth_time, created, expires, rotated, revoked) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)")
                    .bind(t.id.to_string()).bind(t.grant_id.to_string()).bind(&t.token_hash).bind(t.app_id.to_string()).bind(t.user_id.to_string())
                    .bind(t.session_id.map(|s| s.to_string())).bind(&t.scope).bind(to_millis(t.auth_time)).bind(to_millis(t.created)).bind(to_millis(t.expires))
                    .bind(t.rotated.map(to_millis)).bind(t.revoked.map(to_millis))
                    .execute(&mut *self.tx).await.map_err(db_err)?;
                Ok(())
            }

            async fn rotate_refresh_token(&mut self, id: RefreshTokenId, now: OffsetDateTime) -> Result<bool, StoreError> {
                let r = sqlx::query("UPDATE refresh_tokens SET rotated=$2 WHERE id=$1 AND rotated IS NULL AND revoked IS NULL")
                    .bind(id.to_string()).bind(to_millis(now)).execute(&mut *self.tx).await.map_err(db_err)?;
                Ok(r.rows_affected() == 1)
            }

            async fn revoke_grant(&mut self, grant: GrantId, now: OffsetDateTime) -> Result<u64, StoreError> {
                let a = sqlx::query("UPDATE refresh_tokens SET revoked=$2 WHERE grant_id=$1 AND revoked IS NULL AND rotated IS NULL")
                    .bind(grant.to_string()).bind(to_millis(now)).execute(&mut *self.tx).await.map_err(db_err)?;
                // Rotated ancestors are dead already; mark them too so the family reads as revoked.
                sqlx::query("UPDATE refresh_tokens SET revoked=$2 WHERE grant_id=$1 AND revoked IS NULL")
                    .bind(grant.to_string()).bind(to_millis(now)).execute(&mut *self.tx).await.map_err(db_err)?;
                let b = sqlx::query("UPDATE access_tokens SET revoked=$2 WHERE grant_id=$1 AND revoked IS NULL AND expires > $2")
                    .bind(grant.to_string()).bind(to_millis(now)).execute(&mut *self.tx).await.map_err(db_err)?;
                Ok(a.rows_affected() + b.rows_affected())
            }

            async fn insert_access_token(&mut self, t: &AccessTokenRecord) -> Result<(), StoreError> {
                sqlx::query("INSERT INTO access_tokens (jti, app_id, user_id, grant_id, scope, created, expires, revoked) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)")
                    .bind(&t.jti).bind(t.app_id.to_string()).bind(t.user_id.map(|u| u.to_string())).bind(t.grant_id.map(|g| g.to_string()))
                    .bind(&t.scope).bind(to_millis(t.created)).bind(to_millis(t.expires)).bind(t.revoked.map(to_millis))
                    .execute(&mut *self.tx).await.map_err(db_err)?;
                Ok(())
            }

            async fn revoke_access_token(&mut self, jti: &str, now: OffsetDateTime) -> Result<bool, StoreError> {
                let r = sqlx::query("UPDATE access_tokens SET revoked=$2 WHERE jti=$1 AND revoked IS NULL").bind(jti).bind(to_millis(now)).execute(&mut *self.tx).await.map_err(db_err)?;
                Ok(r.rows_affected() == 1)
            }

            async fn revoke_user_tokens(&mut self, user: UserId, now: OffsetDateTime) -> Result<Vec<GrantSummary>, StoreError> {
                let rows: Vec<(String, i64, i64)> = sqlx::query_as(LIVE_GRANTS_SQL).bind(user.to_string()).bind(to_millis(now)).fetch_all(&mut *self.tx).await.map_err(db_err)?;
                // Nothing live: what is left unrevoked is expired or rotated away, unusable already.
                if rows.is_empty() {
                    return Ok(Vec::new());
                }
                sqlx::query("UPDATE refresh_tokens SET revoked=$2 WHERE user_id=$1 AND revoked IS NULL").bind(user.to_string()).bind(to_millis(now)).execute(&mut *self.tx).await.map_err(db_err)?;
                sqlx::query("UPDATE access_tokens SET revoked=$2 WHERE user_id=$1 AND revoked IS NULL").bind(user.to_string()).bind(to_millis(now)).execute(&mut *self.tx).await.map_err(db_err)?;
                grant_summaries(rows)
            }

            async fn remember_jti(&mut self, namespace: &str, jti: &str, expires: OffsetDateTime, now: OffsetDateTime) -> Result<bool, StoreError> {
                let r = sqlx::query(crate::common::REMEMBER_JTI_SQL)
                    .bind(namespace).bind(jti).bind(to_millis(expires)).bind(to_millis(now))
                    .execute(&mut *self.tx).await.map_err(db_err)?;
                Ok(r.rows_affected() == 1)
            }
        }
    };
}

pub(crate) use sessions_methods;
