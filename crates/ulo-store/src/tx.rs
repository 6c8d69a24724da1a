//! The one body of SQL both backends run: `store_tx!` expands it for a backend's transaction type.
//!
//! Both databases take the same SQL text (`$N` placeholders, `ON CONFLICT`, `RETURNING`, row
//! values); where they differ, the code branches on [`Dialect`].

/// Implements `StoreTx` for `$tx` (a struct with a `tx: Conn<$db>` field).
macro_rules! store_tx {
    ($tx:ident, $db:ty, $dialect:expr) => {
        crate::tx_devices::device_methods!($tx, $dialect);
        crate::tx_sessions::session_methods!($tx, $dialect);

        impl $tx {
            /// Writes the events appended so far, a few rows per statement.
            async fn flush_events(&mut self) -> Result<(), StoreError> {
                let events = std::mem::take(&mut self.events);
                for chunk in crate::tx::event_chunks(&events) {
                    let sql = format!(
                        "INSERT INTO log_events (uuid, published, event_type, transaction_id, search, data) VALUES {}",
                        crate::tx::values_list(chunk.len(), &["$", "$", "$", "$", "$", "$"])
                    );
                    let mut q = sqlx::query(AssertSqlSafe(sql.as_str()));
                    for e in chunk {
                        q = q
                            .bind(&e.uuid)
                            .bind(e.published)
                            .bind(&e.event_type)
                            .bind(&e.transaction_id)
                            .bind(&e.search)
                            .bind(Json(&e.data));
                    }
                    q.execute(&mut *self.tx).await.map_err(db_err)?;
                }
                Ok(())
            }

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
                let mut logout = crate::tx::receipt_from_json(header)?;
                logout.targets = rows
                    .iter()
                    .filter_map(|(_, t)| t.as_ref())
                    .map(|t| serde_json::from_str(t).map_err(|e| StoreError::Corrupt(format!("logout target: {e}"))))
                    .collect::<Result<_, _>>()?;
                Ok(Some(logout))
            }

            /// A stored receipt header with its target rows.
            async fn logout_with_targets(&mut self, header: &str) -> Result<ulo_core::logout::Logout, StoreError> {
                let mut logout = crate::tx::receipt_from_json(header)?;
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
        impl ulo_core::store::StoreTx for $tx {
            async fn commit(mut self: Box<Self>) -> Result<(), StoreError> {
                self.flush_events().await?;
                let (wake, enqueued) = (self.wake.clone(), self.enqueued);
                let (devices, woken) = (self.devices.clone(), std::mem::take(&mut self.woken));
                // Other nodes' workers learn of new jobs by PostgreSQL NOTIFY (delivered at
                // commit), spaced out by the gate.
                if let (true, Some(notify)) = (enqueued, notify_sql($dialect, "ulo_jobs")) {
                    if self.gate.admit() {
                        sqlx::query(notify).execute(&mut *self.tx).await.map_err(db_err)?;
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
                sqlx::query("UPDATE users SET login_key=$2, status=$3, provisioned_by=$4, risk_level=$5, profile=$6, activated=$7, status_changed=$8, last_updated=$9, password_changed=$10, last_login=$11 WHERE id=$1")
                    .bind(u.id.to_string())
                    .bind(u.profile.login_key())
                    .bind(u.status.as_str())
                    .bind(u.provisioned_by.as_str())
                    .bind(u.risk_level.as_str())
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
                row.map(User::try_from).transpose()
            }

            async fn get_user_by_login(&mut self, login: &str) -> Result<Option<User>, StoreError> {
                let sql = format!("SELECT {USER_COLS} FROM users u WHERE u.login_key=$1");
                let row: Option<UserRow> = sqlx::query_as(AssertSqlSafe(sql.as_str()))
                    .bind(ulo_core::login_key::login_key(login))
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                row.map(User::try_from).transpose()
            }

            async fn delete_user(&mut self, id: UserId) -> Result<bool, StoreError> {
                let r = sqlx::query("DELETE FROM users WHERE id=$1").bind(id.to_string()).execute(&mut *self.tx).await.map_err(db_err)?;
                Ok(r.rows_affected() == 1)
            }

            async fn list_users(&mut self, query: &UserQuery) -> Result<Vec<User>, StoreError> {
                let mut sql = Sql::new(&format!("SELECT {USER_COLS} FROM users u WHERE 1=1"));
                sql.after("u.id", &query.page);
                let names: Vec<String> = ["firstName", "lastName", "email"].iter().map(|k| format!("lower({})", json_text($dialect, "u.profile", k))).collect();
                let mut exprs: Vec<&str> = vec!["u.login_key"];
                exprs.extend(names.iter().map(String::as_str));
                sql.prefix(&exprs, query.q.as_deref());
                if let Some(f) = &query.filter {
                    sql.filter(f, $dialect, &UserFields)?;
                }
                sql.order_limit("u.id", &query.page);
                let rows: Vec<UserRow> = bind_all!(sqlx::query_as(AssertSqlSafe(sql.text.as_str())), &sql.params).fetch_all(&mut *self.tx).await.map_err(db_err)?;
                convert(rows)
            }

            async fn count_users(&mut self) -> Result<i64, StoreError> {
                let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users").fetch_one(&mut *self.tx).await.map_err(db_err)?;
                Ok(n)
            }

            async fn insert_group(&mut self, g: &Group) -> Result<(), StoreError> {
                sqlx::query("INSERT INTO directory_groups (id, name_key, profile, created, last_updated, last_membership_updated) VALUES ($1,$2,$3,$4,$5,$6)")
                    .bind(g.id.to_string())
                    .bind(g.profile.name_key())
                    .bind(Json(to_json(&g.profile)?))
                    .bind(to_millis(g.created))
                    .bind(to_millis(g.last_updated))
                    .bind(to_millis(g.last_membership_updated))
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn update_group(&mut self, g: &Group) -> Result<(), StoreError> {
                sqlx::query("UPDATE directory_groups SET name_key=$2, profile=$3, last_updated=$4, last_membership_updated=$5 WHERE id=$1")
                    .bind(g.id.to_string())
                    .bind(g.profile.name_key())
                    .bind(Json(to_json(&g.profile)?))
                    .bind(to_millis(g.last_updated))
                    .bind(to_millis(g.last_membership_updated))
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn get_group(&mut self, id: GroupId) -> Result<Option<Group>, StoreError> {
                let sql = format!("SELECT {GROUP_COLS} FROM directory_groups g WHERE g.id=$1");
                let row: Option<GroupRow> = sqlx::query_as(AssertSqlSafe(sql.as_str())).bind(id.to_string()).fetch_optional(&mut *self.tx).await.map_err(db_err)?;
                row.map(Group::try_from).transpose()
            }

            async fn delete_group(&mut self, id: GroupId) -> Result<bool, StoreError> {
                let r = sqlx::query("DELETE FROM directory_groups WHERE id=$1").bind(id.to_string()).execute(&mut *self.tx).await.map_err(db_err)?;
                Ok(r.rows_affected() == 1)
            }

            async fn list_groups(&mut self, q: Option<&str>, page: &Page) -> Result<Vec<Group>, StoreError> {
                let mut sql = Sql::new(&format!("SELECT {GROUP_COLS} FROM directory_groups g WHERE 1=1"));
                sql.after("g.id", page);
                sql.prefix(&["g.name_key"], q);
                sql.order_limit("g.id", page);
                let rows: Vec<GroupRow> = bind_all!(sqlx::query_as(AssertSqlSafe(sql.text.as_str())), &sql.params).fetch_all(&mut *self.tx).await.map_err(db_err)?;
                convert(rows)
            }

            async fn add_member(&mut self, group: GroupId, user: UserId, now: OffsetDateTime) -> Result<bool, StoreError> {
                let r = sqlx::query("INSERT INTO group_members (group_id, user_id, created) VALUES ($1,$2,$3) ON CONFLICT DO NOTHING")
                    .bind(group.to_string())
                    .bind(user.to_string())
                    .bind(to_millis(now))
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(r.rows_affected() == 1)
            }

            async fn remove_member(&mut self, group: GroupId, user: UserId) -> Result<bool, StoreError> {
                let r = sqlx::query("DELETE FROM group_members WHERE group_id=$1 AND user_id=$2")
                    .bind(group.to_string())
                    .bind(user.to_string())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(r.rows_affected() == 1)
            }

            async fn list_members(&mut self, group: GroupId, page: &Page) -> Result<Vec<User>, StoreError> {
                let sql = format!("SELECT {USER_COLS} FROM users u JOIN group_members m ON m.user_id = u.id WHERE m.group_id=$1 AND u.id > $2 ORDER BY u.id LIMIT $3");
                let rows: Vec<UserRow> = sqlx::query_as(AssertSqlSafe(sql.as_str()))
                    .bind(group.to_string())
                    .bind(page.after.clone().unwrap_or_default())
                    .bind(i64::from(page.limit.max(1)))
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                convert(rows)
            }

            async fn list_user_groups(&mut self, user: UserId) -> Result<Vec<Group>, StoreError> {
                let sql = format!("SELECT {GROUP_COLS} FROM directory_groups g JOIN group_members m ON m.group_id = g.id WHERE m.user_id=$1 ORDER BY g.id");
                let rows: Vec<GroupRow> = sqlx::query_as(AssertSqlSafe(sql.as_str())).bind(user.to_string()).fetch_all(&mut *self.tx).await.map_err(db_err)?;
                convert(rows)
            }

            async fn insert_app(&mut self, a: &App) -> Result<(), StoreError> {
                sqlx::query("INSERT INTO apps (id, label, app_type, status, client_id, oidc, logout, provisioning, client_secret_hash, scim_token_sealed, created, last_updated) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)")
                    .bind(a.id.to_string())
                    .bind(&a.label)
                    .bind(a.app_type.as_str())
                    .bind(a.status.as_str())
                    .bind(a.oidc.as_ref().map(|o| o.client_id.clone()))
                    .bind(a.oidc.as_ref().map(to_json).transpose()?.map(Json))
                    .bind(Json(to_json(&a.logout)?))
                    .bind(a.provisioning.as_ref().map(to_json).transpose()?.map(Json))
                    .bind(a.secrets.client_secret_hash.as_deref())
                    .bind(a.secrets.scim_token_sealed.as_deref())
                    .bind(to_millis(a.created))
                    .bind(to_millis(a.last_updated))
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn update_app(&mut self, a: &App) -> Result<(), StoreError> {
                sqlx::query("UPDATE apps SET label=$2, status=$3, client_id=$4, oidc=$5, logout=$6, provisioning=$7, client_secret_hash=$8, scim_token_sealed=$9, last_updated=$10 WHERE id=$1")
                    .bind(a.id.to_string())
                    .bind(&a.label)
                    .bind(a.status.as_str())
                    .bind(a.oidc.as_ref().map(|o| o.client_id.clone()))
                    .bind(a.oidc.as_ref().map(to_json).transpose()?.map(Json))
                    .bind(Json(to_json(&a.logout)?))
                    .bind(a.provisioning.as_ref().map(to_json).transpose()?.map(Json))
                    .bind(a.secrets.client_secret_hash.as_deref())
                    .bind(a.secrets.scim_token_sealed.as_deref())
                    .bind(to_millis(a.last_updated))
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn get_app(&mut self, id: AppId) -> Result<Option<App>, StoreError> {
                let sql = format!("SELECT {APP_COLS} FROM apps a WHERE a.id=$1");
                let row: Option<AppRow> = sqlx::query_as(AssertSqlSafe(sql.as_str())).bind(id.to_string()).fetch_optional(&mut *self.tx).await.map_err(db_err)?;
                row.map(App::try_from).transpose()
            }

            async fn get_app_by_client_id(&mut self, client_id: &str) -> Result<Option<App>, StoreError> {
                let sql = format!("SELECT {APP_COLS} FROM apps a WHERE a.client_id=$1");
                let row: Option<AppRow> = sqlx::query_as(AssertSqlSafe(sql.as_str())).bind(client_id).fetch_optional(&mut *self.tx).await.map_err(db_err)?;
                row.map(App::try_from).transpose()
            }

            async fn get_desktop_mfa_app(&mut self) -> Result<Option<App>, StoreError> {
                let sql = format!("SELECT {APP_COLS} FROM apps a WHERE a.app_type='desktop-mfa'");
                let row: Option<AppRow> = sqlx::query_as(AssertSqlSafe(sql.as_str())).fetch_optional(&mut *self.tx).await.map_err(db_err)?;
                row.map(App::try_from).transpose()
            }

            async fn delete_app(&mut self, id: AppId) -> Result<bool, StoreError> {
                let r = sqlx::query("DELETE FROM apps WHERE id=$1").bind(id.to_string()).execute(&mut *self.tx).await.map_err(db_err)?;
                Ok(r.rows_affected() == 1)
            }

            async fn list_apps(&mut self, q: Option<&str>, page: &Page) -> Result<Vec<App>, StoreError> {
                let mut sql = Sql::new(&format!("SELECT {APP_COLS} FROM apps a WHERE 1=1"));
                sql.after("a.id", page);
                sql.prefix(&["lower(a.label)"], q);
                sql.order_limit("a.id", page);
                let rows: Vec<AppRow> = bind_all!(sqlx::query_as(AssertSqlSafe(sql.text.as_str())), &sql.params).fetch_all(&mut *self.tx).await.map_err(db_err)?;
                convert(rows)
            }

            async fn assign_user(&mut self, app: AppId, user: UserId, now: OffsetDateTime) -> Result<bool, StoreError> {
                let r = sqlx::query("INSERT INTO app_user_assignments (app_id, user_id, created) VALUES ($1,$2,$3) ON CONFLICT DO NOTHING")
                    .bind(app.to_string())
                    .bind(user.to_string())
                    .bind(to_millis(now))
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(r.rows_affected() == 1)
            }

            async fn unassign_user(&mut self, app: AppId, user: UserId) -> Result<bool, StoreError> {
                let r = sqlx::query("DELETE FROM app_user_assignments WHERE app_id=$1 AND user_id=$2")
                    .bind(app.to_string())
                    .bind(user.to_string())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(r.rows_affected() == 1)
            }

            async fn assign_group(&mut self, app: AppId, group: GroupId, now: OffsetDateTime) -> Result<bool, StoreError> {
                let r = sqlx::query("INSERT INTO app_group_assignments (app_id, group_id, created) VALUES ($1,$2,$3) ON CONFLICT DO NOTHING")
                    .bind(app.to_string())
                    .bind(group.to_string())
                    .bind(to_millis(now))
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(r.rows_affected() == 1)
            }

            async fn unassign_group(&mut self, app: AppId, group: GroupId) -> Result<bool, StoreError> {
                let r = sqlx::query("DELETE FROM app_group_assignments WHERE app_id=$1 AND group_id=$2")
                    .bind(app.to_string())
                    .bind(group.to_string())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(r.rows_affected() == 1)
            }

            async fn list_app_users(&mut self, app: AppId, page: &Page) -> Result<Vec<User>, StoreError> {
                let sql = format!("SELECT {USER_COLS} FROM users u JOIN app_user_assignments x ON x.user_id = u.id WHERE x.app_id=$1 AND u.id > $2 ORDER BY u.id LIMIT $3");
                let rows: Vec<UserRow> = sqlx::query_as(AssertSqlSafe(sql.as_str()))
                    .bind(app.to_string())
                    .bind(page.after.clone().unwrap_or_default())
                    .bind(i64::from(page.limit.max(1)))
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                convert(rows)
            }

            async fn list_app_groups(&mut self, app: AppId) -> Result<Vec<Group>, StoreError> {
                let sql = format!("SELECT {GROUP_COLS} FROM directory_groups g JOIN app_group_assignments x ON x.group_id = g.id WHERE x.app_id=$1 ORDER BY g.id");
                let rows: Vec<GroupRow> = sqlx::query_as(AssertSqlSafe(sql.as_str())).bind(app.to_string()).fetch_all(&mut *self.tx).await.map_err(db_err)?;
                convert(rows)
            }

            async fn list_user_app_links(&mut self, user: UserId) -> Result<Vec<AppLink>, StoreError> {
                let sql = format!(
                    "SELECT {APP_COLS}, x.via FROM apps a JOIN (\
                       SELECT app_id, '' AS via FROM app_user_assignments WHERE user_id=$1 \
                       UNION ALL \
                       SELECT ga.app_id, ga.group_id AS via FROM app_group_assignments ga JOIN group_members m ON m.group_id = ga.group_id WHERE m.user_id=$1\
                     ) x ON x.app_id = a.id ORDER BY a.id, x.via"
                );
                let rows: Vec<LinkRow> = sqlx::query_as(AssertSqlSafe(sql.as_str())).bind(user.to_string()).fetch_all(&mut *self.tx).await.map_err(db_err)?;
                let mut links: Vec<AppLink> = Vec::new();
                for r in rows {
                    let via = r.via;
                    let app = App::try_from(r.app)?;
                    if links.last().map(|l| l.app.id) != Some(app.id) {
                        links.push(AppLink { app, direct: false, groups: Vec::new() });
                    }
                    if let Some(link) = links.last_mut() {
                        if via.is_empty() {
                            link.direct = true;
                        } else {
                            link.groups.push(via.parse().map_err(|e| StoreError::Corrupt(format!("group id {via:?}: {e}")))?);
                        }
                    }
                }
                Ok(links)
            }

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

            async fn find_api_token(&mut self, hash: &str) -> Result<Option<ApiToken>, StoreError> {
                let sql = format!("SELECT {TOKEN_COLS} FROM api_tokens WHERE token_hash=$1 AND revoked IS NULL");
                let row: Option<TokenRow> = sqlx::query_as(AssertSqlSafe(sql.as_str())).bind(hash).fetch_optional(&mut *self.tx).await.map_err(db_err)?;
                row.map(ApiToken::try_from).transpose()
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

            async fn get_api_token(&mut self, id: ApiTokenId) -> Result<Option<ApiToken>, StoreError> {
                let sql = format!("SELECT {TOKEN_COLS} FROM api_tokens WHERE id=$1");
                let row: Option<TokenRow> = sqlx::query_as(AssertSqlSafe(sql.as_str())).bind(id.to_string()).fetch_optional(&mut *self.tx).await.map_err(db_err)?;
                row.map(ApiToken::try_from).transpose()
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

            async fn list_api_tokens(&mut self, user: UserId) -> Result<Vec<ApiToken>, StoreError> {
                let sql = format!("SELECT {TOKEN_COLS} FROM api_tokens WHERE user_id=$1 ORDER BY id");
                let rows: Vec<TokenRow> = sqlx::query_as(AssertSqlSafe(sql.as_str())).bind(user.to_string()).fetch_all(&mut *self.tx).await.map_err(db_err)?;
                convert(rows)
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

            async fn lock_user(&mut self, user: UserId) -> Result<bool, StoreError> {
                let lock = if $dialect == crate::filter_sql::Dialect::Postgres { " FOR UPDATE" } else { "" };
                let sql = format!("SELECT id FROM users WHERE id=$1{lock}");
                let row: Option<(String,)> = sqlx::query_as(AssertSqlSafe(sql.as_str())).bind(user.to_string()).fetch_optional(&mut *self.tx).await.map_err(db_err)?;
                Ok(row.is_some())
            }

            async fn sign_in_state(&mut self, user: UserId) -> Result<SignInState, StoreError> {
                let row: Option<(Option<String>, Option<i64>, i64, Option<i64>, Option<i64>)> = sqlx::query_as("SELECT totp_sealed, totp_verified, failed_attempts, locked_until, totp_last_step FROM sign_in_state WHERE user_id=$1")
                    .bind(user.to_string()).fetch_optional(&mut *self.tx).await.map_err(db_err)?;
                Ok(row.map(|(t, v, f, l, s)| SignInState { totp_sealed: t, totp_verified: v.map(from_millis), failed_attempts: f, locked_until: l.map(from_millis), totp_last_step: s }).unwrap_or_default())
            }

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

            async fn touch_session(&mut self, id: SessionId, now: OffsetDateTime) -> Result<(), StoreError> {
                sqlx::query("UPDATE sessions SET last_used=$2 WHERE id=$1").bind(id.to_string()).bind(to_millis(now)).execute(&mut *self.tx).await.map_err(db_err)?;
                Ok(())
            }

            async fn end_session(&mut self, id: SessionId, reason: &str, now: OffsetDateTime) -> Result<bool, StoreError> {
                let r = sqlx::query("UPDATE sessions SET ended=$2, end_reason=$3 WHERE id=$1 AND ended IS NULL")
                    .bind(id.to_string()).bind(to_millis(now)).bind(reason).execute(&mut *self.tx).await.map_err(db_err)?;
                Ok(r.rows_affected() == 1)
            }

            async fn list_open_sessions(&mut self, user: UserId) -> Result<Vec<Session>, StoreError> {
                let sql = format!("SELECT {SESSION_COLS} FROM sessions WHERE user_id=$1 AND ended IS NULL ORDER BY created, id");
                let rows: Vec<SessionRow> = sqlx::query_as(AssertSqlSafe(sql.as_str())).bind(user.to_string()).fetch_all(&mut *self.tx).await.map_err(db_err)?;
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

            async fn find_refresh_token(&mut self, hash: &str) -> Result<Option<RefreshToken>, StoreError> {
                let sql = format!("SELECT {REFRESH_COLS} FROM refresh_tokens WHERE token_hash=$1");
                let row: Option<RefreshRow> = sqlx::query_as(AssertSqlSafe(sql.as_str())).bind(hash).fetch_optional(&mut *self.tx).await.map_err(db_err)?;
                row.map(RefreshToken::try_from).transpose()
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

            async fn get_access_token(&mut self, jti: &str) -> Result<Option<AccessTokenRecord>, StoreError> {
                let sql = format!("SELECT {ACCESS_COLS} FROM access_tokens WHERE jti=$1");
                let row: Option<AccessRow> = sqlx::query_as(AssertSqlSafe(sql.as_str())).bind(jti).fetch_optional(&mut *self.tx).await.map_err(db_err)?;
                row.map(AccessTokenRecord::try_from).transpose()
            }

            async fn revoke_access_token(&mut self, jti: &str, now: OffsetDateTime) -> Result<bool, StoreError> {
                let r = sqlx::query("UPDATE access_tokens SET revoked=$2 WHERE jti=$1 AND revoked IS NULL").bind(jti).bind(to_millis(now)).execute(&mut *self.tx).await.map_err(db_err)?;
                Ok(r.rows_affected() == 1)
            }

            async fn list_grants(&mut self, user: UserId, now: OffsetDateTime) -> Result<Vec<GrantSummary>, StoreError> {
                let rows: Vec<(String, i64, i64)> = sqlx::query_as(LIVE_GRANTS_SQL).bind(user.to_string()).bind(to_millis(now)).fetch_all(&mut *self.tx).await.map_err(db_err)?;
                grant_summaries(rows)
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

            async fn insert_signing_key(&mut self, k: &SigningKeyRecord) -> Result<(), StoreError> {
                sqlx::query("INSERT INTO signing_keys (kid, alg, state, private_sealed, public_jwk, created, state_changed) VALUES ($1,$2,$3,$4,$5,$6,$7)")
                    .bind(&k.kid)
                    .bind(&k.alg)
                    .bind(k.state.as_str())
                    .bind(&k.private_sealed)
                    .bind(Json(k.public_jwk.clone()))
                    .bind(to_millis(k.created))
                    .bind(k.state_changed.map(to_millis))
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn list_signing_keys(&mut self) -> Result<Vec<SigningKeyRecord>, StoreError> {
                let rows: Vec<KeyRow> = sqlx::query_as("SELECT kid, alg, state, private_sealed, public_jwk, created, state_changed FROM signing_keys ORDER BY created, kid")
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                convert(rows)
            }

            async fn set_signing_key_state(&mut self, kid: &str, state: KeyState, now: OffsetDateTime) -> Result<bool, StoreError> {
                let r = sqlx::query("UPDATE signing_keys SET state=$2, state_changed=$3 WHERE kid=$1")
                    .bind(kid)
                    .bind(state.as_str())
                    .bind(to_millis(now))
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(r.rows_affected() == 1)
            }

            async fn get_setting(&mut self, key: &str) -> Result<Option<serde_json::Value>, StoreError> {
                let row: Option<(Json<serde_json::Value>,)> = sqlx::query_as("SELECT value FROM settings WHERE key=$1")
                    .bind(key)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(row.map(|r| r.0 .0))
            }

            async fn put_setting(&mut self, key: &str, value: &serde_json::Value, now: OffsetDateTime) -> Result<(), StoreError> {
                sqlx::query("INSERT INTO settings (key, value, updated) VALUES ($1,$2,$3) ON CONFLICT (key) DO UPDATE SET value=excluded.value, updated=excluded.updated")
                    .bind(key)
                    .bind(Json(value.clone()))
                    .bind(to_millis(now))
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn append_event(&mut self, e: &LogEvent) -> Result<(), StoreError> {
                // Written with the transaction's other events at commit (or before a read of the
                // log in this transaction): one multi-row insert instead of one per event.
                self.events.push(crate::tx::PendingEvent::of(e)?);
                Ok(())
            }

            async fn query_events(&mut self, q: &EventQuery) -> Result<Vec<LogEvent>, StoreError> {
                self.flush_events().await?;
                let mut sql = Sql::new("SELECT data FROM log_events WHERE 1=1");
                if let Some(since) = q.since {
                    let p = sql.param(SqlParam::Int(to_millis(since)));
                    sql.push(&format!(" AND published >= {p}"));
                }
                if let Some(until) = q.until {
                    let p = sql.param(SqlParam::Int(to_millis(until)));
                    sql.push(&format!(" AND published < {p}"));
                }
                let desc = q.sort == SortOrder::Descending;
                if let Some((published, uuid)) = &q.after {
                    let a = sql.param(SqlParam::Int(to_millis(*published)));
                    let b = sql.param(SqlParam::Text(uuid.to_string()));
                    let op = if desc { "<" } else { ">" };
                    sql.push(&format!(" AND (published, uuid) {op} ({a}, {b})"));
                }
                for kw in &q.keywords {
                    let p = sql.param(SqlParam::Text(format!("%{}%", like_escape(&kw.to_lowercase()))));
                    sql.push(&format!(" AND search LIKE {p} ESCAPE '\\'"));
                }
                if let Some(f) = &q.filter {
                    sql.filter(f, $dialect, &event_fields())?;
                }
                let p = sql.param(SqlParam::Int(i64::from(q.limit.max(1))));
                let dir = if desc { "DESC" } else { "ASC" };
                sql.push(&format!(" ORDER BY published {dir}, uuid {dir} LIMIT {p}"));
                let rows: Vec<EventRow> = bind_all!(sqlx::query_as(AssertSqlSafe(sql.text.as_str())), &sql.params).fetch_all(&mut *self.tx).await.map_err(db_err)?;
                convert(rows)
            }

            async fn get_event(&mut self, id: EventId) -> Result<Option<LogEvent>, StoreError> {
                self.flush_events().await?;
                let row: Option<EventRow> = sqlx::query_as("SELECT data FROM log_events WHERE uuid=$1")
                    .bind(id.to_string())
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                row.map(LogEvent::try_from).transpose()
            }

            async fn enqueue_job(&mut self, j: &NewJob) -> Result<(), StoreError> {
                self.enqueued = true;
                sqlx::query("INSERT INTO jobs (id, kind, payload, state, attempts, run_at, deadline, created, updated) VALUES ($1,$2,$3,'QUEUED',0,$4,$5,$6,$6)")
                    .bind(j.id.to_string())
                    .bind(&j.kind)
                    .bind(Json(j.payload.clone()))
                    .bind(to_millis(j.run_at))
                    .bind(to_millis(j.deadline))
                    .bind(to_millis(j.run_at))
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn enqueue_jobs(&mut self, jobs: &[NewJob]) -> Result<(), StoreError> {
                // Small statements: a message over 16 KiB can stall ~40 ms on a TLS connection
                // (record split + Nagle), far more than the round trips saved.
                for chunk in jobs.chunks(crate::tx::ROWS_PER_INSERT) {
                    self.enqueued = true;
                    let sql = format!(
                        "INSERT INTO jobs (id, kind, payload, state, attempts, run_at, deadline, created, updated) VALUES {}",
                        crate::tx::values_list(chunk.len(), &["$", "$", "$", "'QUEUED'", "0", "$", "$", "$", "$"])
                    );
                    let mut q = sqlx::query(AssertSqlSafe(sql.as_str()));
                    for j in chunk {
                        q = q
                            .bind(j.id.to_string())
                            .bind(j.kind.clone())
                            .bind(Json(j.payload.clone()))
                            .bind(to_millis(j.run_at))
                            .bind(to_millis(j.deadline))
                            .bind(to_millis(j.run_at))
                            .bind(to_millis(j.run_at));
                    }
                    q.execute(&mut *self.tx).await.map_err(db_err)?;
                }
                Ok(())
            }

            async fn get_job(&mut self, id: JobId) -> Result<Option<Job>, StoreError> {
                let sql = format!("SELECT {JOB_COLS} FROM jobs WHERE id=$1");
                let row: Option<JobRow> = sqlx::query_as(AssertSqlSafe(sql.as_str())).bind(id.to_string()).fetch_optional(&mut *self.tx).await.map_err(db_err)?;
                row.map(Job::try_from).transpose()
            }

            async fn finish_job(&mut self, lease: &Lease, result: &JobResult, now: OffsetDateTime) -> Result<bool, StoreError> {
                let now = to_millis(now);
                let q = match result {
                    JobResult::Done => sqlx::query("UPDATE jobs SET state='DONE', lease_owner=NULL, lease_until=NULL, updated=$4, finished=$4 WHERE id=$1 AND state='RUNNING' AND lease_owner=$2 AND attempts=$3")
                        .bind(lease.job.to_string()).bind(&lease.owner).bind(lease.attempt).bind(now),
                    JobResult::Retry { at, error } => sqlx::query("UPDATE jobs SET state='QUEUED', lease_owner=NULL, lease_until=NULL, updated=$4, run_at=$5, last_error=$6 WHERE id=$1 AND state='RUNNING' AND lease_owner=$2 AND attempts=$3")
                        .bind(lease.job.to_string()).bind(&lease.owner).bind(lease.attempt).bind(now).bind(to_millis(*at)).bind(error.clone()),
                    JobResult::Dead { error } => sqlx::query("UPDATE jobs SET state='DEAD', lease_owner=NULL, lease_until=NULL, updated=$4, finished=$4, last_error=$5 WHERE id=$1 AND state='RUNNING' AND lease_owner=$2 AND attempts=$3")
                        .bind(lease.job.to_string()).bind(&lease.owner).bind(lease.attempt).bind(now).bind(error.clone()),
                };
                let r = q.execute(&mut *self.tx).await.map_err(db_err)?;
                Ok(r.rows_affected() == 1)
            }

            async fn finish_jobs(&mut self, finished: &[(&Lease, &JobResult)], now: OffsetDateTime) -> Result<Vec<bool>, StoreError> {
                let mut current = vec![false; finished.len()];
                // Successes, the common case, a few dozen per statement; retries and failures
                // carry their own columns and go one by one.
                let done: Vec<usize> = (0..finished.len()).filter(|i| finished[*i].1 == &JobResult::Done).collect();
                for chunk in done.chunks(50) {
                    let mut sql = String::from("UPDATE jobs SET state='DONE', lease_owner=NULL, lease_until=NULL, updated=$1, finished=$1 WHERE state='RUNNING' AND (");
                    for (n, _) in chunk.iter().enumerate() {
                        if n > 0 {
                            sql.push_str(" OR ");
                        }
                        sql.push_str(&format!("(id=${} AND lease_owner=${} AND attempts=${})", 3 * n + 2, 3 * n + 3, 3 * n + 4));
                    }
                    sql.push_str(") RETURNING id");
                    let mut q = sqlx::query_as::<_, (String,)>(AssertSqlSafe(sql.as_str())).bind(to_millis(now));
                    for i in chunk {
                        let lease = finished[*i].0;
                        q = q.bind(lease.job.to_string()).bind(&lease.owner).bind(lease.attempt);
                    }
                    let ids: std::collections::HashSet<String> = q.fetch_all(&mut *self.tx).await.map_err(db_err)?.into_iter().map(|r| r.0).collect();
                    for i in chunk {
                        current[*i] = ids.contains(&finished[*i].0.job.to_string());
                    }
                }
                for (i, (lease, result)) in finished.iter().enumerate() {
                    if *result != &JobResult::Done {
                        current[i] = self.finish_job(lease, result, now).await?;
                    }
                }
                Ok(current)
            }

            async fn count_jobs(&mut self, kind: Option<&str>) -> Result<JobCounts, StoreError> {
                let rows: Vec<(String, i64)> = match kind {
                    Some(k) => sqlx::query_as("SELECT state, COUNT(*) FROM jobs WHERE kind=$1 GROUP BY state").bind(k).fetch_all(&mut *self.tx).await,
                    None => sqlx::query_as("SELECT state, COUNT(*) FROM jobs GROUP BY state").fetch_all(&mut *self.tx).await,
                }
                .map_err(db_err)?;
                let mut c = JobCounts::default();
                for (state, n) in rows {
                    match state.as_str() {
                        "QUEUED" => c.queued = n,
                        "RUNNING" => c.running = n,
                        "DONE" => c.done = n,
                        "DEAD" => c.dead = n,
                        other => return Err(StoreError::Corrupt(format!("job state {other:?}"))),
                    }
                }
                Ok(c)
            }

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

            async fn find_scim_credential(&mut self, hash: &str) -> Result<Option<ulo_core::scim::ScimCredential>, StoreError> {
                let row: Option<(String, String, String, String, i64, Option<i64>)> = sqlx::query_as("SELECT id, name, token_prefix, token_hash, created, revoked FROM scim_credentials WHERE token_hash=$1 AND revoked IS NULL")
                    .bind(hash)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                row.map(crate::tx::scim_credential_from_row).transpose()
            }

            async fn list_scim_credentials(&mut self) -> Result<Vec<ulo_core::scim::ScimCredential>, StoreError> {
                let rows: Vec<(String, String, String, String, i64, Option<i64>)> = sqlx::query_as("SELECT id, name, token_prefix, token_hash, created, revoked FROM scim_credentials ORDER BY id")
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                rows.into_iter().map(crate::tx::scim_credential_from_row).collect()
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

            async fn list_scim_external_ids(&mut self, resource_type: &str) -> Result<Vec<(String, String)>, StoreError> {
                sqlx::query_as("SELECT resource_id, external_id FROM scim_external_ids WHERE resource_type=$1 ORDER BY resource_id")
                    .bind(resource_type)
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(db_err)
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
                let sql = format!("SELECT {LINK_COLS} FROM app_user_links WHERE app_id=$1 AND user_id=$2", LINK_COLS = crate::tx::LINK_COLS);
                let row: Option<crate::tx::LinkRow> = sqlx::query_as(AssertSqlSafe(sql.as_str()))
                    .bind(app.to_string())
                    .bind(user.to_string())
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                row.map(crate::tx::link_from_row).transpose()
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

            async fn list_app_user_links(&mut self, app: AppId, page: &Page) -> Result<Vec<ulo_core::provisioning::AppUserLink>, StoreError> {
                let sql = format!("SELECT {LINK_COLS} FROM app_user_links WHERE app_id=$1 AND user_id > $2 ORDER BY user_id LIMIT $3", LINK_COLS = crate::tx::LINK_COLS);
                let rows: Vec<crate::tx::LinkRow> = sqlx::query_as(AssertSqlSafe(sql.as_str()))
                    .bind(app.to_string())
                    .bind(page.after.clone().unwrap_or_default())
                    .bind(i64::from(page.limit.max(1)))
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                rows.into_iter().map(crate::tx::link_from_row).collect()
            }

            async fn list_user_app_user_links(&mut self, user: UserId) -> Result<Vec<ulo_core::provisioning::AppUserLink>, StoreError> {
                let sql = format!("SELECT {LINK_COLS} FROM app_user_links WHERE user_id=$1 ORDER BY app_id", LINK_COLS = crate::tx::LINK_COLS);
                let rows: Vec<crate::tx::LinkRow> = sqlx::query_as(AssertSqlSafe(sql.as_str()))
                    .bind(user.to_string())
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                rows.into_iter().map(crate::tx::link_from_row).collect()
            }

            async fn insert_logout(&mut self, l: &ulo_core::logout::Logout) -> Result<(), StoreError> {
                sqlx::query("INSERT INTO logouts (id, user_id, status, created, completed, receipt) VALUES ($1,$2,$3,$4,$5,$6)")
                    .bind(l.id.to_string())
                    .bind(l.user_id.to_string())
                    .bind(l.status.as_str())
                    .bind(to_millis(l.created))
                    .bind(l.completed.map(to_millis))
                    .bind(crate::tx::receipt_header_json(l)?)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                let targets: Vec<(usize, &ulo_core::logout::LogoutTarget)> = l.targets.iter().enumerate().collect();
                for chunk in targets.chunks(crate::tx::ROWS_PER_INSERT) {
                    let sql = format!(
                        "INSERT INTO logout_targets (logout_id, position, status, target) VALUES {}",
                        crate::tx::values_list(chunk.len(), &["$", "$", "$", "$"])
                    );
                    let mut q = sqlx::query(AssertSqlSafe(sql.as_str()));
                    for (position, t) in chunk {
                        q = q
                            .bind(l.id.to_string())
                            .bind(*position as i64)
                            .bind(crate::tx::target_status(t))
                            .bind(crate::tx::target_json(t)?);
                    }
                    q.execute(&mut *self.tx).await.map_err(db_err)?;
                }
                Ok(())
            }

            async fn get_logout(&mut self, id: ulo_core::ids::LogoutId) -> Result<Option<ulo_core::logout::Logout>, StoreError> {
                self.logout_joined(id).await
            }

            async fn get_logout_for_update(&mut self, id: ulo_core::ids::LogoutId) -> Result<Option<ulo_core::logout::Logout>, StoreError> {
                // Lock first, then read the targets in a statement of their own: under READ
                // COMMITTED that statement sees what the previous lock holder committed (a join
                // in the locking statement would read targets from before the wait).
                let lock = if $dialect == crate::filter_sql::Dialect::Postgres { " FOR UPDATE" } else { "" };
                let sql = format!("SELECT receipt FROM logouts WHERE id=$1{lock}");
                let row: Option<(String,)> = sqlx::query_as(AssertSqlSafe(sql.as_str()))
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
                    .bind(crate::tx::receipt_header_json(l)?)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn update_logout_target(&mut self, id: ulo_core::ids::LogoutId, position: usize, t: &ulo_core::logout::LogoutTarget) -> Result<(), StoreError> {
                sqlx::query("UPDATE logout_targets SET status=$3, target=$4 WHERE logout_id=$1 AND position=$2")
                    .bind(id.to_string())
                    .bind(position as i64)
                    .bind(crate::tx::target_status(t))
                    .bind(crate::tx::target_json(t)?)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(())
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
                        let mut logout = crate::tx::receipt_from_json(&header)?;
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

            async fn delete_upstream_idp(&mut self, id: &str) -> Result<bool, StoreError> {
                let r = sqlx::query("DELETE FROM upstream_idps WHERE id=$1")
                    .bind(id)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(r.rows_affected() == 1)
            }

            async fn insert_ssf_credential(&mut self, c: &ulo_core::ssf::SsfCredential) -> Result<(), StoreError> {
                sqlx::query("INSERT INTO ssf_credentials (id, app_id, token_prefix, token_hash, created) VALUES ($1,$2,$3,$4,$5)")
                    .bind(c.id.clone())
                    .bind(c.app_id.to_string())
                    .bind(c.token_prefix.clone())
                    .bind(c.token_hash.clone())
                    .bind(to_millis(c.created))
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn find_ssf_credential(&mut self, hash: &str) -> Result<Option<ulo_core::ssf::SsfCredential>, StoreError> {
                let row: Option<(String, String, String, String, i64)> = sqlx::query_as("SELECT id, app_id, token_prefix, token_hash, created FROM ssf_credentials WHERE token_hash=$1")
                    .bind(hash)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                row.map(|(id, app, token_prefix, token_hash, created)| {
                    Ok(ulo_core::ssf::SsfCredential {
                        id,
                        app_id: crate::rows::parse("app id", &app)?,
                        token_prefix,
                        created: ulo_core::clock::from_millis(created),
                        token_hash,
                    })
                })
                .transpose()
            }

            async fn get_ssf_stream(&mut self, app: AppId) -> Result<Option<ulo_core::ssf::SsfStream>, StoreError> {
                let row: Option<(String,)> = sqlx::query_as("SELECT config FROM ssf_streams WHERE app_id=$1")
                    .bind(app.to_string())
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                row.map(|r| serde_json::from_str(&r.0).map_err(|e| StoreError::Corrupt(format!("SSF stream: {e}"))))
                    .transpose()
            }

            async fn put_ssf_stream(&mut self, st: &ulo_core::ssf::SsfStream) -> Result<(), StoreError> {
                let config = serde_json::to_string(st).map_err(|e| StoreError::Invalid(e.to_string()))?;
                sqlx::query("INSERT INTO ssf_streams (app_id, stream_id, config) VALUES ($1,$2,$3) ON CONFLICT (app_id) DO UPDATE SET stream_id=excluded.stream_id, config=excluded.config")
                    .bind(st.app_id.to_string())
                    .bind(st.stream_id.clone())
                    .bind(config)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn delete_ssf_stream(&mut self, app: AppId) -> Result<bool, StoreError> {
                for table in ["ssf_poll_sets", "ssf_subjects"] {
                    let sql = format!("DELETE FROM {table} WHERE app_id=$1");
                    sqlx::query(AssertSqlSafe(sql.as_str()))
                        .bind(app.to_string())
                        .execute(&mut *self.tx)
                        .await
                        .map_err(db_err)?;
                }
                let r = sqlx::query("DELETE FROM ssf_streams WHERE app_id=$1")
                    .bind(app.to_string())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(r.rows_affected() == 1)
            }

            async fn put_ssf_subject(&mut self, app: AppId, subject: &str, included: bool) -> Result<(), StoreError> {
                sqlx::query("INSERT INTO ssf_subjects (app_id, subject, included) VALUES ($1,$2,$3) ON CONFLICT (app_id, subject) DO UPDATE SET included=excluded.included")
                    .bind(app.to_string())
                    .bind(subject)
                    .bind(included)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn ssf_subject_excluded(&mut self, app: AppId, subject: &str) -> Result<bool, StoreError> {
                let row: Option<(bool,)> = sqlx::query_as("SELECT included FROM ssf_subjects WHERE app_id=$1 AND subject=$2")
                    .bind(app.to_string())
                    .bind(subject)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(row.is_some_and(|r| !r.0))
            }

            async fn enqueue_ssf_set(&mut self, app: AppId, jti: &str, set: &str, delivery: Option<&serde_json::Value>, now: OffsetDateTime) -> Result<(), StoreError> {
                let seq: (i64,) = sqlx::query_as("SELECT COALESCE(MAX(seq), 0) + 1 FROM ssf_poll_sets WHERE app_id=$1")
                    .bind(app.to_string())
                    .fetch_one(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                sqlx::query("INSERT INTO ssf_poll_sets (app_id, jti, seq, set_jwt, delivery, created) VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT (app_id, jti) DO NOTHING")
                    .bind(app.to_string())
                    .bind(jti)
                    .bind(seq.0)
                    .bind(set)
                    .bind(delivery.map(|d| d.to_string()))
                    .bind(to_millis(now))
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn poll_ssf_sets(&mut self, app: AppId, limit: u32) -> Result<Vec<(String, String)>, StoreError> {
                sqlx::query_as("SELECT jti, set_jwt FROM ssf_poll_sets WHERE app_id=$1 ORDER BY seq LIMIT $2")
                    .bind(app.to_string())
                    .bind(i64::from(limit))
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(db_err)
            }

            async fn ack_ssf_set(&mut self, app: AppId, jti: &str) -> Result<Option<Option<serde_json::Value>>, StoreError> {
                let row: Option<(Option<String>,)> = sqlx::query_as("DELETE FROM ssf_poll_sets WHERE app_id=$1 AND jti=$2 RETURNING delivery")
                    .bind(app.to_string())
                    .bind(jti)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(row.map(|r| r.0.and_then(|d| serde_json::from_str(&d).ok())))
            }
        }
    };
}

pub(crate) use store_tx;

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

/// Serializes a value to JSON for storage.
pub(crate) fn to_json<T: serde::Serialize>(
    v: &T,
) -> Result<serde_json::Value, ulo_core::store::StoreError> {
    serde_json::to_value(v).map_err(|e| ulo_core::store::StoreError::Corrupt(e.to_string()))
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

/// A receipt's header as stored (its targets are rows of their own).
pub(crate) fn receipt_header_json(
    l: &ulo_core::logout::Logout,
) -> Result<String, ulo_core::store::StoreError> {
    let mut v =
        serde_json::to_value(l).map_err(|e| ulo_core::store::StoreError::Invalid(e.to_string()))?;
    if let Some(o) = v.as_object_mut() {
        o.insert("targets".into(), serde_json::Value::Array(Vec::new()));
    }
    Ok(v.to_string())
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

/// A System Log event waiting for its transaction's commit.
pub(crate) struct PendingEvent {
    pub(crate) uuid: String,
    pub(crate) published: i64,
    pub(crate) event_type: String,
    pub(crate) transaction_id: String,
    pub(crate) search: String,
    pub(crate) data: serde_json::Value,
    size: usize,
}

impl PendingEvent {
    /// The row an event is stored as.
    pub(crate) fn of(
        e: &ulo_core::log::LogEvent,
    ) -> Result<PendingEvent, ulo_core::store::StoreError> {
        let data = to_json(e)?;
        let search = crate::rows::event_search_text(e);
        let size = data.to_string().len() + search.len() + 128;
        Ok(PendingEvent {
            uuid: e.uuid.to_string(),
            published: ulo_core::clock::to_millis(e.published),
            event_type: e.event_type.clone(),
            transaction_id: e.transaction.id.clone(),
            search,
            data,
            size,
        })
    }
}

/// Events split into statements of at most ~12 KiB (see `ROWS_PER_INSERT`) and 50 rows.
pub(crate) fn event_chunks(events: &[PendingEvent]) -> Vec<&[PendingEvent]> {
    const BUDGET: usize = 12 * 1024;
    let mut chunks = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (i, e) in events.iter().enumerate() {
        if i > start && (bytes + e.size > BUDGET || i - start == 50) {
            chunks.push(&events[start..i]);
            start = i;
            bytes = 0;
        }
        bytes += e.size;
    }
    if start < events.len() {
        chunks.push(&events[start..]);
    }
    chunks
}

/// `(…), (…)` for `rows` rows whose columns are `cols`: each `$` becomes the next numbered
/// placeholder, anything else is kept as a literal.
pub(crate) fn values_list(rows: usize, cols: &[&str]) -> String {
    let mut n = 0;
    let mut out = Vec::with_capacity(rows);
    for _ in 0..rows {
        let row: Vec<String> = cols
            .iter()
            .map(|c| {
                if *c == "$" {
                    n += 1;
                    format!("${n}")
                } else {
                    (*c).to_string()
                }
            })
            .collect();
        out.push(format!("({})", row.join(",")));
    }
    out.join(",")
}

/// Rows per multi-row `INSERT`: few enough that one statement (with JSON payloads of a few
/// hundred bytes a row) stays well under 16 KiB.
pub(crate) const ROWS_PER_INSERT: usize = 10;
