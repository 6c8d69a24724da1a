//! Apps and who is assigned to them.
//!
//! `apps_methods!` implements `AppsRead` and `AppsTx` for a backend's transaction.

/// Implements `AppsRead` and `AppsTx` for `$tx` (with a `tx` field).
macro_rules! apps_methods {
    ($tx:ident, $dialect:expr) => {
        #[async_trait::async_trait]
        impl ulo_core::store::AppsRead for $tx {
            async fn get_app(&mut self, id: AppId) -> Result<Option<App>, StoreError> {
                let sql = format!("SELECT {APP_COLS} FROM apps a WHERE a.id=$1");
                let row: Option<AppRow> = sqlx::query_as(AssertSqlSafe(sql.as_str())).bind(id.to_string()).fetch_optional(&mut *self.tx).await.map_err(db_err)?;
                row.map(App::try_from).transpose()
            }

            async fn get_apps(&mut self, ids: &[AppId]) -> Result<Vec<App>, StoreError> {
                let mut out = Vec::with_capacity(ids.len());
                for chunk in ids.chunks(100) {
                    let places: Vec<String> = (1..=chunk.len()).map(|n| format!("${n}")).collect();
                    let sql = format!("SELECT {APP_COLS} FROM apps a WHERE a.id IN ({})", places.join(","));
                    let mut q = sqlx::query_as::<_, AppRow>(AssertSqlSafe(sql.as_str()));
                    for id in chunk {
                        q = q.bind(id.to_string());
                    }
                    let rows = q.fetch_all(&mut *self.tx).await.map_err(db_err)?;
                    out.extend(convert::<AppRow, App>(rows)?);
                }
                Ok(out)
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

            async fn list_apps(&mut self, q: Option<&str>, page: &Page) -> Result<Vec<App>, StoreError> {
                let mut sql = Sql::new(&format!("SELECT {APP_COLS} FROM apps a WHERE 1=1"));
                sql.after("a.id", page);
                sql.prefix(&["lower(a.label)"], q);
                sql.order_limit("a.id", page);
                let rows: Vec<AppRow> = bind_all!(sqlx::query_as(AssertSqlSafe(sql.text.as_str())), &sql.params).fetch_all(&mut *self.tx).await.map_err(db_err)?;
                convert(rows)
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
        }

        #[async_trait::async_trait]
        impl ulo_core::store::AppsTx for $tx {
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

            async fn delete_app(&mut self, id: AppId) -> Result<bool, StoreError> {
                let r = sqlx::query("DELETE FROM apps WHERE id=$1").bind(id.to_string()).execute(&mut *self.tx).await.map_err(db_err)?;
                Ok(r.rows_affected() == 1)
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
        }
    };
}

pub(crate) use apps_methods;
