//! The job queue, inside a transaction (claiming and leases are on [`Store`](super::Store)).
//!
//! `jobs_methods!` implements `JobsRead` and `JobsTx` for a backend's transaction.

/// Implements `JobsRead` and `JobsTx` for `$tx` (with `tx` and `enqueued` fields).
macro_rules! jobs_methods {
    ($tx:ident, $dialect:expr) => {
        #[async_trait::async_trait]
        impl ulo_core::store::JobsRead for $tx {
            async fn get_job(&mut self, id: JobId) -> Result<Option<Job>, StoreError> {
                self.flush_pending().await?;
                let sql = format!("SELECT {JOB_COLS} FROM jobs WHERE id=$1");
                let row: Option<JobRow> = sqlx::query_as(AssertSqlSafe(sql.as_str()))
                    .bind(id.to_string())
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
                row.map(Job::try_from).transpose()
            }

            async fn count_jobs(&mut self, kind: Option<&str>) -> Result<JobCounts, StoreError> {
                self.flush_pending().await?;
                let rows: Vec<(String, i64)> = match kind {
                    Some(k) => {
                        sqlx::query_as(
                            "SELECT state, COUNT(*) FROM jobs WHERE kind=$1 GROUP BY state",
                        )
                        .bind(k)
                        .fetch_all(&mut *self.tx)
                        .await
                    }
                    None => {
                        sqlx::query_as("SELECT state, COUNT(*) FROM jobs GROUP BY state")
                            .fetch_all(&mut *self.tx)
                            .await
                    }
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
        }

        #[async_trait::async_trait]
        impl ulo_core::store::JobsTx for $tx {
            async fn enqueue_job(&mut self, j: &NewJob) -> Result<(), StoreError> {
                self.enqueue_jobs(std::slice::from_ref(j)).await
            }

            async fn enqueue_jobs(&mut self, jobs: &[NewJob]) -> Result<(), StoreError> {
                // Written at commit (or before this transaction reads jobs), with the
                // transaction's events: the jobs' ids are new, so nothing can refuse them then
                // that would have refused them now.
                self.enqueued |= !jobs.is_empty();
                self.deferred
                    .extend(crate::tx::jobs::job_pieces($dialect, jobs)?);
                Ok(())
            }

            async fn finish_job(
                &mut self,
                lease: &Lease,
                result: &JobResult,
                now: OffsetDateTime,
            ) -> Result<bool, StoreError> {
                let current = self.finish_jobs(&[(lease, result)], now).await?;
                Ok(current.first().copied().unwrap_or(false))
            }

            async fn finish_jobs(
                &mut self,
                finished: &[(&Lease, &JobResult)],
                now: OffsetDateTime,
            ) -> Result<Vec<bool>, StoreError> {
                self.flush_pending().await?;
                let ids: Vec<String> = finished.iter().map(|(l, _)| l.job.to_string()).collect();
                let endings: Vec<_> = finished
                    .iter()
                    .zip(&ids)
                    .map(|((lease, result), job)| {
                        let lease = ulo_sql::jobs::LeaseRef {
                            job,
                            owner: &lease.owner,
                            attempt: lease.attempt,
                        };
                        (lease, crate::rows::ending(result))
                    })
                    .collect();
                ulo_sql::jobs::finish_all(&mut *self.tx, &endings, to_millis(now))
                    .await
                    .map_err(sql_err)
            }
        }
    };
}

pub(crate) use jobs_methods;

/// Jobs as multi-row inserts of at most `ROWS_PER_INSERT` rows.
pub(crate) fn job_pieces(
    dialect: crate::filter_sql::Dialect,
    jobs: &[ulo_core::job::NewJob],
) -> Result<Vec<crate::batch::Piece>, ulo_core::store::StoreError> {
    use crate::batch::Val;
    use ulo_core::clock::to_millis;
    jobs.chunks(crate::tx::ROWS_PER_INSERT)
        .map(|chunk| {
            let sql = format!(
                "INSERT INTO jobs (id, kind, payload, state, attempts, run_at, deadline, created, updated) VALUES {}",
                crate::tx::values_list(chunk.len(), &["$", "$", crate::tx::json_param(dialect), "'QUEUED'", "0", "$", "$", "$", "$"])
            );
            let mut vals = Vec::with_capacity(chunk.len() * 7);
            for j in chunk {
                vals.extend([
                    Val::Text(j.id.to_string()),
                    Val::Text(j.kind.clone()),
                    Val::JsonText(
                        serde_json::to_string(&j.payload)
                            .map_err(|e| ulo_core::store::StoreError::Invalid(e.to_string()))?,
                    ),
                    Val::Int(to_millis(j.run_at)),
                    Val::Int(to_millis(j.deadline)),
                    Val::Int(to_millis(j.run_at)),
                    Val::Int(to_millis(j.run_at)),
                ]);
            }
            Ok(crate::batch::Piece::new(sql, vals))
        })
        .collect()
}
