//! Groups and their members.
//!
//! `groups_methods!` implements `GroupsRead` and `GroupsTx` for a backend's transaction.

/// Implements `GroupsRead` and `GroupsTx` for `$tx` (with a `tx` field).
macro_rules! groups_methods {
    ($tx:ident, $dialect:expr) => {
        #[async_trait::async_trait]
        impl ulo_core::store::GroupsRead for $tx {
            async fn get_group(&mut self, id: GroupId) -> Result<Option<Group>, StoreError> {
                let sql = format!("SELECT {GROUP_COLS} FROM directory_groups g WHERE g.id=$1");
                let row: Option<GroupRow> = sqlx::query_as(AssertSqlSafe(sql.as_str())).bind(id.to_string()).fetch_optional(&mut *self.tx).await.map_err(db_err)?;
                row.map(Group::try_from).transpose()
            }

            async fn list_groups(&mut self, q: Option<&str>, page: &Page) -> Result<Vec<Group>, StoreError> {
                let mut sql = Sql::new(&format!("SELECT {GROUP_COLS} FROM directory_groups g WHERE 1=1"));
                sql.after("g.id", page);
                sql.prefix(&["g.name_key"], q);
                sql.order_limit("g.id", page);
                let rows: Vec<GroupRow> = bind_all!(sqlx::query_as(AssertSqlSafe(sql.text.as_str())), &sql.params).fetch_all(&mut *self.tx).await.map_err(db_err)?;
                convert(rows)
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
        }

        #[async_trait::async_trait]
        impl ulo_core::store::GroupsTx for $tx {
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

            async fn delete_group(&mut self, id: GroupId) -> Result<bool, StoreError> {
                let r = sqlx::query("DELETE FROM directory_groups WHERE id=$1").bind(id.to_string()).execute(&mut *self.tx).await.map_err(db_err)?;
                Ok(r.rows_affected() == 1)
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
        }
    };
}

pub(crate) use groups_methods;
