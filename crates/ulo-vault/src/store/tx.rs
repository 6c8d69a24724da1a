//! The one body of SQL both backends run: `vault_tx!` implements [`super::Tx`] for a backend's
//! transaction type. Both databases take the same text (`$N` placeholders, `ON CONFLICT`,
//! `RETURNING`).

/// Implements `Tx` for `$tx` (a struct with `tx: sqlx::Transaction<'static, $db>`, `wake` and
/// `enqueued` fields).
macro_rules! vault_tx {
    ($tx:ident) => {
        #[async_trait::async_trait]
        impl crate::store::Tx for $tx {
            async fn commit(self: Box<Self>) -> Result<(), StoreError> {
                let (wake, enqueued) = (self.wake.clone(), self.enqueued);
                self.tx.commit().await.map_err(db_err)?;
                if enqueued {
                    // Jobs become claimable at commit: wake the worker now.
                    wake.notify_one();
                }
                Ok(())
            }

            async fn insert_person(&mut self, p: &Person) -> Result<(), StoreError> {
                sqlx::query("INSERT INTO people (id, user_name, user_name_key, external_id, email_key, active, provisioned_by, resource, tokens_not_before, created, updated) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)")
                    .bind(&p.id)
                    .bind(&p.user_name)
                    .bind(p.user_name.to_lowercase())
                    .bind(&p.external_id)
                    .bind(p.email().map(|e| e.to_lowercase()))
                    .bind(i64::from(p.active))
                    .bind(p.provisioned_by.as_str())
                    .bind(p.attributes.to_string())
                    .bind(p.tokens_not_before.map(to_millis))
                    .bind(to_millis(p.created))
                    .bind(to_millis(p.updated))
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn update_person(&mut self, p: &Person) -> Result<(), StoreError> {
                sqlx::query("UPDATE people SET user_name=$2, user_name_key=$3, external_id=$4, email_key=$5, active=$6, provisioned_by=$7, resource=$8, tokens_not_before=$9, updated=$10 WHERE id=$1")
                    .bind(&p.id)
                    .bind(&p.user_name)
                    .bind(p.user_name.to_lowercase())
                    .bind(&p.external_id)
                    .bind(p.email().map(|e| e.to_lowercase()))
                    .bind(i64::from(p.active))
                    .bind(p.provisioned_by.as_str())
                    .bind(p.attributes.to_string())
                    .bind(p.tokens_not_before.map(to_millis))
                    .bind(to_millis(p.updated))
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn delete_person(&mut self, id: &str) -> Result<bool, StoreError> {
                sqlx::query("DELETE FROM shares WHERE principal_type='person' AND principal_id=$1")
                    .bind(id)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                let r = sqlx::query("DELETE FROM people WHERE id=$1")
                    .bind(id)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(r.rows_affected() > 0)
            }

            async fn person(&mut self, id: &str) -> Result<Option<Person>, StoreError> {
                let row: Option<PersonRow> = sqlx::query_as(AssertSqlSafe(format!("SELECT {PERSON_COLS} FROM people WHERE id=$1")))
                    .bind(id)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                row.map(Person::try_from).transpose()
            }

            async fn person_by_user_name(&mut self, user_name: &str) -> Result<Option<Person>, StoreError> {
                let row: Option<PersonRow> = sqlx::query_as(AssertSqlSafe(format!("SELECT {PERSON_COLS} FROM people WHERE user_name_key=$1")))
                    .bind(user_name.to_lowercase())
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                row.map(Person::try_from).transpose()
            }

            async fn person_by_external_id(&mut self, id: &str) -> Result<Option<Person>, StoreError> {
                let row: Option<PersonRow> = sqlx::query_as(AssertSqlSafe(format!("SELECT {PERSON_COLS} FROM people WHERE external_id=$1")))
                    .bind(id)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                row.map(Person::try_from).transpose()
            }

            async fn people_by_email(&mut self, email: &str) -> Result<Vec<Person>, StoreError> {
                let rows: Vec<PersonRow> = sqlx::query_as(AssertSqlSafe(format!("SELECT {PERSON_COLS} FROM people WHERE email_key=$1 ORDER BY id")))
                    .bind(email.to_lowercase())
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                all(rows)
            }

            async fn people(&mut self) -> Result<Vec<Person>, StoreError> {
                let rows: Vec<PersonRow> = sqlx::query_as(AssertSqlSafe(format!("SELECT {PERSON_COLS} FROM people ORDER BY id")))
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                all(rows)
            }

            async fn insert_group(&mut self, g: &Group) -> Result<(), StoreError> {
                sqlx::query("INSERT INTO scim_groups (id, display_name, display_name_key, external_id, created, updated) VALUES ($1,$2,$3,$4,$5,$6)")
                    .bind(&g.id)
                    .bind(&g.display_name)
                    .bind(g.display_name.to_lowercase())
                    .bind(&g.external_id)
                    .bind(to_millis(g.created))
                    .bind(to_millis(g.updated))
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn update_group(&mut self, g: &Group) -> Result<(), StoreError> {
                sqlx::query("UPDATE scim_groups SET display_name=$2, display_name_key=$3, external_id=$4, updated=$5 WHERE id=$1")
                    .bind(&g.id)
                    .bind(&g.display_name)
                    .bind(g.display_name.to_lowercase())
                    .bind(&g.external_id)
                    .bind(to_millis(g.updated))
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn delete_group(&mut self, id: &str) -> Result<bool, StoreError> {
                sqlx::query("DELETE FROM shares WHERE principal_type='group' AND principal_id=$1")
                    .bind(id)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                let r = sqlx::query("DELETE FROM scim_groups WHERE id=$1")
                    .bind(id)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(r.rows_affected() > 0)
            }

            async fn group(&mut self, id: &str) -> Result<Option<Group>, StoreError> {
                let row: Option<GroupRow> = sqlx::query_as(AssertSqlSafe(format!("SELECT {GROUP_COLS} FROM scim_groups WHERE id=$1")))
                    .bind(id)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(row.map(Group::from))
            }

            async fn group_by_name(&mut self, name: &str) -> Result<Option<Group>, StoreError> {
                let row: Option<GroupRow> = sqlx::query_as(AssertSqlSafe(format!("SELECT {GROUP_COLS} FROM scim_groups WHERE display_name_key=$1")))
                    .bind(name.to_lowercase())
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(row.map(Group::from))
            }

            async fn groups(&mut self) -> Result<Vec<Group>, StoreError> {
                let rows: Vec<GroupRow> = sqlx::query_as(AssertSqlSafe(format!("SELECT {GROUP_COLS} FROM scim_groups ORDER BY id")))
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(rows.into_iter().map(Group::from).collect())
            }

            async fn group_members(&mut self, group_id: &str) -> Result<Vec<String>, StoreError> {
                let rows: Vec<(String,)> = sqlx::query_as("SELECT person_id FROM group_members WHERE group_id=$1 ORDER BY person_id")
                    .bind(group_id)
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(rows.into_iter().map(|r| r.0).collect())
            }

            async fn add_group_member(&mut self, group_id: &str, person_id: &str) -> Result<(), StoreError> {
                sqlx::query("INSERT INTO group_members (group_id, person_id) VALUES ($1,$2) ON CONFLICT DO NOTHING")
                    .bind(group_id)
                    .bind(person_id)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn remove_group_member(&mut self, group_id: &str, person_id: &str) -> Result<(), StoreError> {
                sqlx::query("DELETE FROM group_members WHERE group_id=$1 AND person_id=$2")
                    .bind(group_id)
                    .bind(person_id)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn insert_session(&mut self, s: &Session) -> Result<(), StoreError> {
                sqlx::query("INSERT INTO sessions (id, person_id, secret_hash, created, expires, ended) VALUES ($1,$2,$3,$4,$5,$6)")
                    .bind(&s.id)
                    .bind(&s.person_id)
                    .bind(&s.secret_hash)
                    .bind(to_millis(s.created))
                    .bind(to_millis(s.expires))
                    .bind(s.ended.map(to_millis))
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn session_by_hash(&mut self, hash: &str) -> Result<Option<Session>, StoreError> {
                let row: Option<SessionRow> = sqlx::query_as(AssertSqlSafe(format!("SELECT {SESSION_COLS} FROM sessions WHERE secret_hash=$1")))
                    .bind(hash)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(row.map(Session::from))
            }

            async fn end_session(&mut self, id: &str, now: OffsetDateTime, reason: &str) -> Result<bool, StoreError> {
                let r = sqlx::query("UPDATE sessions SET ended=$2, end_reason=$3 WHERE id=$1 AND ended IS NULL")
                    .bind(id)
                    .bind(to_millis(now))
                    .bind(reason)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(r.rows_affected() > 0)
            }

            async fn end_person_sessions(&mut self, person_id: &str, now: OffsetDateTime, reason: &str) -> Result<u64, StoreError> {
                let r = sqlx::query("UPDATE sessions SET ended=$2, end_reason=$3 WHERE person_id=$1 AND ended IS NULL AND expires > $2")
                    .bind(person_id)
                    .bind(to_millis(now))
                    .bind(reason)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(r.rows_affected())
            }

            async fn insert_login(&mut self, l: &OidcLogin) -> Result<(), StoreError> {
                // Sign-ins never finished would pile up: drop the expired ones as new ones start.
                sqlx::query("DELETE FROM oidc_logins WHERE expires < $1")
                    .bind(to_millis(l.created))
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                sqlx::query("INSERT INTO oidc_logins (state_hash, nonce, verifier_sealed, created, expires) VALUES ($1,$2,$3,$4,$5)")
                    .bind(&l.state_hash)
                    .bind(&l.nonce)
                    .bind(&l.verifier_sealed)
                    .bind(to_millis(l.created))
                    .bind(to_millis(l.expires))
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn take_login(&mut self, state_hash: &str) -> Result<Option<OidcLogin>, StoreError> {
                let row: Option<LoginRow> = sqlx::query_as(AssertSqlSafe(format!("DELETE FROM oidc_logins WHERE state_hash=$1 RETURNING {LOGIN_COLS}")))
                    .bind(state_hash)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(row.map(OidcLogin::from))
            }

            async fn insert_app(&mut self, a: &ManagedApp) -> Result<(), StoreError> {
                sqlx::query("INSERT INTO managed_apps (id, name, name_key, sign_in_url, connector_type, connector_url, connector_secret_sealed, created, updated) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)")
                    .bind(&a.id)
                    .bind(&a.name)
                    .bind(a.name.to_lowercase())
                    .bind(&a.sign_in_url)
                    .bind(&a.connector_type)
                    .bind(&a.connector_url)
                    .bind(&a.connector_secret_sealed)
                    .bind(to_millis(a.created))
                    .bind(to_millis(a.updated))
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn app(&mut self, id: &str) -> Result<Option<ManagedApp>, StoreError> {
                let row: Option<AppRow> = sqlx::query_as(AssertSqlSafe(format!("SELECT {APP_COLS} FROM managed_apps WHERE id=$1")))
                    .bind(id)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(row.map(ManagedApp::from))
            }

            async fn apps(&mut self) -> Result<Vec<ManagedApp>, StoreError> {
                let rows: Vec<AppRow> = sqlx::query_as(AssertSqlSafe(format!("SELECT {APP_COLS} FROM managed_apps ORDER BY id")))
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(rows.into_iter().map(ManagedApp::from).collect())
            }

            async fn insert_account(&mut self, a: &Account) -> Result<(), StoreError> {
                sqlx::query("INSERT INTO accounts (id, app_id, username, password_sealed, candidate_sealed, policy, status, rotated_at, rotation_error, created, updated) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)")
                    .bind(&a.id)
                    .bind(&a.app_id)
                    .bind(&a.username)
                    .bind(&a.password_sealed)
                    .bind(&a.candidate_sealed)
                    .bind(policy_json(&a.policy)?)
                    .bind(a.status.as_str())
                    .bind(a.rotated_at.map(to_millis))
                    .bind(&a.rotation_error)
                    .bind(to_millis(a.created))
                    .bind(to_millis(a.updated))
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn update_account(&mut self, a: &Account) -> Result<(), StoreError> {
                sqlx::query("UPDATE accounts SET password_sealed=$2, candidate_sealed=$3, policy=$4, status=$5, rotated_at=$6, rotation_error=$7, updated=$8 WHERE id=$1")
                    .bind(&a.id)
                    .bind(&a.password_sealed)
                    .bind(&a.candidate_sealed)
                    .bind(policy_json(&a.policy)?)
                    .bind(a.status.as_str())
                    .bind(a.rotated_at.map(to_millis))
                    .bind(&a.rotation_error)
                    .bind(to_millis(a.updated))
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn account(&mut self, id: &str) -> Result<Option<Account>, StoreError> {
                let row: Option<AccountRow> = sqlx::query_as(AssertSqlSafe(format!("SELECT {ACCOUNT_COLS} FROM accounts WHERE id=$1")))
                    .bind(id)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                row.map(Account::try_from).transpose()
            }

            async fn accounts(&mut self) -> Result<Vec<Account>, StoreError> {
                let rows: Vec<AccountRow> = sqlx::query_as(AssertSqlSafe(format!("SELECT {ACCOUNT_COLS} FROM accounts ORDER BY id")))
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                all(rows)
            }

            async fn accounts_for_person(&mut self, person_id: &str) -> Result<Vec<Account>, StoreError> {
                let rows: Vec<AccountRow> = sqlx::query_as(AssertSqlSafe(format!(
                    "SELECT {ACCOUNT_COLS} FROM accounts WHERE id IN (\
                       SELECT account_id FROM shares WHERE principal_type='person' AND principal_id=$1 \
                       UNION SELECT s.account_id FROM shares s JOIN group_members m ON s.principal_type='group' AND s.principal_id=m.group_id WHERE m.person_id=$1\
                     ) ORDER BY id")))
                    .bind(person_id)
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                all(rows)
            }

            async fn put_share(&mut self, account_id: &str, with: &Principal, now: OffsetDateTime) -> Result<bool, StoreError> {
                let r = sqlx::query("INSERT INTO shares (account_id, principal_type, principal_id, created) VALUES ($1,$2,$3,$4) ON CONFLICT DO NOTHING")
                    .bind(account_id)
                    .bind(with.kind())
                    .bind(with.id())
                    .bind(to_millis(now))
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(r.rows_affected() > 0)
            }

            async fn delete_share(&mut self, account_id: &str, with: &Principal) -> Result<bool, StoreError> {
                let r = sqlx::query("DELETE FROM shares WHERE account_id=$1 AND principal_type=$2 AND principal_id=$3")
                    .bind(account_id)
                    .bind(with.kind())
                    .bind(with.id())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(r.rows_affected() > 0)
            }

            async fn shares(&mut self, account_id: &str) -> Result<Vec<Principal>, StoreError> {
                let rows: Vec<(String, String)> = sqlx::query_as("SELECT principal_type, principal_id FROM shares WHERE account_id=$1 ORDER BY created, principal_id")
                    .bind(account_id)
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                rows.into_iter()
                    .map(|(kind, id)| match kind.as_str() {
                        "person" => Ok(Principal::Person(id)),
                        "group" => Ok(Principal::Group(id)),
                        other => Err(StoreError::Corrupt(format!("share.principal_type: {other}"))),
                    })
                    .collect()
            }

            async fn append_event(&mut self, e: &AuditEvent) -> Result<(), StoreError> {
                sqlx::query("INSERT INTO audit_events (id, published, event_type, actor_type, actor_id, actor_name, target_type, target_id, target_name, jti, outcome, reason, detail) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)")
                    .bind(&e.id)
                    .bind(to_millis(e.published))
                    .bind(&e.event_type)
                    .bind(&e.actor.kind)
                    .bind(&e.actor.id)
                    .bind(&e.actor.display_name)
                    .bind(e.target.as_ref().map(|t| t.kind.clone()))
                    .bind(e.target.as_ref().map(|t| t.id.clone()))
                    .bind(e.target.as_ref().map(|t| t.display_name.clone()))
                    .bind(&e.jti)
                    .bind(&e.outcome)
                    .bind(&e.reason)
                    .bind(e.detail.to_string())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn events(&mut self, condition: &crate::store::EventCondition, after: Option<&str>, limit: i64) -> Result<Vec<AuditEvent>, StoreError> {
                let (sql, binds) = crate::store::events::select_sql(condition, &format!("SELECT {EVENT_COLS} FROM audit_events"));
                let mut query = sqlx::query_as(AssertSqlSafe(sql))
                    .bind(after.unwrap_or("").to_string())
                    .bind(limit);
                for value in binds {
                    query = query.bind(value);
                }
                let rows: Vec<EventRow> = query
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                all(rows)
            }

            async fn remember_jti(&mut self, jti: &str, expires: OffsetDateTime, now: OffsetDateTime) -> Result<bool, StoreError> {
                // One statement, so the primary key decides between concurrent deliveries; an
                // expired record is taken over as if it were absent.
                let r = sqlx::query("INSERT INTO seen_jtis (jti, expires) VALUES ($1,$2) ON CONFLICT (jti) DO UPDATE SET expires=excluded.expires WHERE seen_jtis.expires <= $3")
                    .bind(jti)
                    .bind(to_millis(expires))
                    .bind(to_millis(now))
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(r.rows_affected() == 1)
            }

            async fn purge_jtis(&mut self, now: OffsetDateTime) -> Result<u64, StoreError> {
                let r = sqlx::query("DELETE FROM seen_jtis WHERE expires <= $1")
                    .bind(to_millis(now))
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                Ok(r.rows_affected())
            }

            async fn enqueue(&mut self, j: &Job) -> Result<(), StoreError> {
                sqlx::query("INSERT INTO jobs (id, kind, subject, payload, state, attempts, run_at, deadline, last_error, created, updated) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$10)")
                    .bind(&j.id)
                    .bind(&j.kind)
                    .bind(&j.subject)
                    .bind(j.payload.to_string())
                    .bind(j.state.as_str())
                    .bind(j.attempts)
                    .bind(to_millis(j.run_at))
                    .bind(to_millis(j.deadline))
                    .bind(&j.last_error)
                    .bind(to_millis(j.created))
                    .execute(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                self.enqueued = true;
                Ok(())
            }

            async fn open_job(&mut self, kind: &str, subject: &str) -> Result<Option<Job>, StoreError> {
                let row: Option<JobRow> = sqlx::query_as(AssertSqlSafe(format!("SELECT {JOB_COLS} FROM jobs WHERE kind=$1 AND subject=$2 AND state IN ('QUEUED','RUNNING') ORDER BY id LIMIT 1")))
                    .bind(kind)
                    .bind(subject)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                row.map(Job::try_from).transpose()
            }

            async fn job(&mut self, id: &str) -> Result<Option<Job>, StoreError> {
                let row: Option<JobRow> = sqlx::query_as(AssertSqlSafe(format!("SELECT {JOB_COLS} FROM jobs WHERE id=$1")))
                    .bind(id)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                row.map(Job::try_from).transpose()
            }

            async fn finish_jobs(&mut self, finished: &[(&Job, &str, &ulo_core::job::JobResult)], now: OffsetDateTime) -> Result<Vec<bool>, StoreError> {
                use ulo_core::job::JobResult;
                use ulo_sql::jobs::{Ending, LeaseRef};
                let endings: Vec<(LeaseRef<'_>, Ending<'_>)> = finished
                    .iter()
                    .map(|(job, owner, result)| {
                        let lease = LeaseRef { job: &job.id, owner, attempt: job.attempts };
                        let ending = match result {
                            JobResult::Done => Ending::Done,
                            JobResult::Retry { at, error } => Ending::Retry { at: to_millis(*at), error },
                            JobResult::Dead { error } => Ending::Dead { error },
                        };
                        (lease, ending)
                    })
                    .collect();
                if endings.iter().any(|(_, e)| matches!(e, Ending::Retry { .. })) {
                    self.enqueued = true;
                }
                Ok(ulo_sql::jobs::finish_all(&mut *self.tx, &endings, to_millis(now)).await?)
            }
        }
    };
}

pub(crate) use vault_tx;

/// The stored form of a policy.
pub(crate) fn policy_json(p: &crate::password::Policy) -> Result<String, super::StoreError> {
    serde_json::to_string(p).map_err(|e| super::StoreError::Corrupt(format!("policy: {e}")))
}
