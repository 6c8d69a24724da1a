//! The entry to workflows for admins: list, inspect, create, change, (de)activate, rotate the
//! secret, delete, and send a signed test call. Checks the caller's role once here.

use serde_json::json;

use super::model::{RUN_JOB, RunPayload, Workflow, WorkflowStatus, secret_purpose};
use crate::app::OutboundPolicy;
use crate::auth::random_base62;
use crate::clock::{Clock, rfc3339};
use crate::context::{Authority, Context, require_read, require_write};
use crate::directory::Sealer;
use crate::error::{DomainError, Problems};
use crate::ids::WorkflowId;
use crate::job::NewJob;
use crate::log::catalogue as events;
use crate::log::{EventType, LogEvent, Target};
use crate::store::{Page, Store, StoreError, StoreTx};

use time::{Duration, OffsetDateTime};

/// How long ulo keeps trying to deliver one call.
pub const RUN_DEADLINE: Duration = Duration::hours(1);

/// What an admin sets: a name and a URL.
#[derive(Debug, Clone, Default)]
pub struct WorkflowInput {
    /// 1 to 100 characters.
    pub name: Option<String>,
    /// https (http only to loopback when the operator allows it).
    pub url: Option<String>,
}

/// A workflow with its signing secret, shown once (on create and on rotation).
#[derive(Debug, Clone)]
pub struct WorkflowWithSecret {
    /// The workflow.
    pub workflow: Workflow,
    /// The signing secret in the clear.
    pub secret: String,
}

/// Workflows, as an admin sees and acts on them.
pub struct Workflows<'a> {
    /// Where everything is kept.
    pub store: &'a dyn Store,
    /// What time it is.
    pub clock: &'a dyn Clock,
    /// Which outbound URLs admins may configure.
    pub outbound: OutboundPolicy,
    /// Seals signing secrets.
    pub sealer: &'a dyn Sealer,
}

fn parse_id(id: &str) -> Result<WorkflowId, DomainError> {
    id.parse()
        .map_err(|_| DomainError::not_found("workflow", id))
}

/// Configuration changes need SUPER_ADMIN with an unrestricted credential (a logout-only token
/// is refused).
fn require_config(ctx: &Context) -> Result<(), DomainError> {
    require_write(ctx)?;
    if ctx.authority != Authority::Full {
        return Err(DomainError::Forbidden(
            "You do not have permission to perform the requested action: this credential may only log users out".into(),
        ));
    }
    Ok(())
}

fn target(w: &Workflow) -> Target {
    Target::new("Workflow", w.id, w.url.clone(), w.name.clone())
}

fn new_secret() -> String {
    format!("ulo_wfs_{}", random_base62(43))
}

impl Workflows<'_> {
    fn seal(&self, id: WorkflowId, secret: &str) -> Result<String, DomainError> {
        self.sealer
            .seal(secret.as_bytes(), &secret_purpose(id))
            .map_err(|e| DomainError::Store(StoreError::Unavailable(e)))
    }

    fn check(&self, input: &WorkflowInput, creating: bool) -> Result<(), DomainError> {
        let mut p = Problems::default();
        match &input.name {
            Some(n) => p.check(
                n.trim().is_empty() || n.chars().count() > 100,
                "name: must be 1 to 100 characters",
            ),
            None if creating => p.add("name: is required"),
            None => {}
        }
        match &input.url {
            Some(u) => {
                if let Err(e) = self.outbound.check_url("url", u) {
                    p.add(e);
                }
            }
            None if creating => p.add("url: is required"),
            None => {}
        }
        p.finish("Api validation failed: workflow")
    }

    async fn load(tx: &mut dyn StoreTx, id: &str) -> Result<Workflow, DomainError> {
        let wid = parse_id(id)?;
        tx.get_workflow(wid)
            .await?
            .ok_or_else(|| DomainError::not_found("workflow", id))
    }

    fn event(
        ctx: &Context,
        t: EventType,
        now: OffsetDateTime,
        w: &Workflow,
        what: &str,
    ) -> LogEvent {
        LogEvent::build(ctx, t, now, format!("{what} workflow {}", w.name))
            .target(target(w))
            .finish()
    }

    /// Workflows in id order. Any admin role.
    pub async fn list(&self, ctx: &Context, page: &Page) -> Result<Vec<Workflow>, DomainError> {
        require_read(ctx)?;
        if let Some(after) = &page.after {
            parse_id(after)
                .map_err(|_| DomainError::invalid("after", "after: not a workflow id"))?;
        }
        let mut tx = self.store.read().await?;
        Ok(tx.list_workflows(page).await?)
    }

    /// A workflow. Any admin role.
    pub async fn get(&self, ctx: &Context, id: &str) -> Result<Workflow, DomainError> {
        require_read(ctx)?;
        let wid = parse_id(id)?;
        let mut tx = self.store.read().await?;
        tx.get_workflow(wid)
            .await?
            .ok_or_else(|| DomainError::not_found("workflow", id))
    }

    /// Registers a workflow (ACTIVE) with a new signing secret, answered once. SUPER_ADMIN.
    pub async fn create(
        &self,
        ctx: &Context,
        input: &WorkflowInput,
    ) -> Result<WorkflowWithSecret, DomainError> {
        require_config(ctx)?;
        self.check(input, true)?;
        let now = self.clock.now();
        let id = WorkflowId::new();
        let secret = new_secret();
        let workflow = Workflow {
            id,
            name: input.name.clone().unwrap_or_default().trim().to_string(),
            url: input.url.clone().unwrap_or_default(),
            status: WorkflowStatus::Active,
            created: now,
            last_updated: now,
            secret_sealed: self.seal(id, &secret)?,
        };
        let mut tx = self.store.begin().await?;
        tx.insert_workflow(&workflow).await?;
        tx.append_event(&Self::event(
            ctx,
            events::workflow::CREATE,
            now,
            &workflow,
            "Create",
        ))
        .await?;
        tx.commit().await?;
        Ok(WorkflowWithSecret { workflow, secret })
    }

    /// Changes a workflow's name and/or URL. SUPER_ADMIN.
    pub async fn update(
        &self,
        ctx: &Context,
        id: &str,
        input: &WorkflowInput,
    ) -> Result<Workflow, DomainError> {
        require_config(ctx)?;
        self.check(input, false)?;
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let mut w = Self::load(tx.as_mut(), id).await?;
        if let Some(n) = &input.name {
            w.name = n.trim().to_string();
        }
        if let Some(u) = &input.url {
            w.url = u.clone();
        }
        w.last_updated = now;
        tx.update_workflow(&w).await?;
        tx.append_event(&Self::event(
            ctx,
            events::workflow::UPDATE,
            now,
            &w,
            "Update",
        ))
        .await?;
        tx.commit().await?;
        Ok(w)
    }

    /// Activates or deactivates a workflow (no change when it already is). SUPER_ADMIN.
    pub async fn set_status(
        &self,
        ctx: &Context,
        id: &str,
        status: WorkflowStatus,
    ) -> Result<Workflow, DomainError> {
        require_config(ctx)?;
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let mut w = Self::load(tx.as_mut(), id).await?;
        if w.status == status {
            return Ok(w);
        }
        w.status = status;
        w.last_updated = now;
        tx.update_workflow(&w).await?;
        let (t, what) = match status {
            WorkflowStatus::Active => (events::workflow::ACTIVATE, "Activate"),
            WorkflowStatus::Inactive => (events::workflow::DEACTIVATE, "Deactivate"),
        };
        tx.append_event(&Self::event(ctx, t, now, &w, what)).await?;
        tx.commit().await?;
        Ok(w)
    }

    /// Replaces a workflow's signing secret; the new one is answered once. SUPER_ADMIN.
    pub async fn rotate_secret(
        &self,
        ctx: &Context,
        id: &str,
    ) -> Result<WorkflowWithSecret, DomainError> {
        require_config(ctx)?;
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let mut w = Self::load(tx.as_mut(), id).await?;
        let secret = new_secret();
        w.secret_sealed = self.seal(w.id, &secret)?;
        w.last_updated = now;
        tx.update_workflow(&w).await?;
        tx.append_event(&Self::event(
            ctx,
            events::workflow::SECRET_ROTATE,
            now,
            &w,
            "Rotate the secret of",
        ))
        .await?;
        tx.commit().await?;
        Ok(WorkflowWithSecret {
            workflow: w,
            secret,
        })
    }

    /// Deletes a workflow (calls already queued find it gone and stop). SUPER_ADMIN.
    pub async fn delete(&self, ctx: &Context, id: &str) -> Result<(), DomainError> {
        require_config(ctx)?;
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let w = Self::load(tx.as_mut(), id).await?;
        tx.delete_workflow(w.id).await?;
        tx.append_event(&Self::event(
            ctx,
            events::workflow::DELETE,
            now,
            &w,
            "Delete",
        ))
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Queues a signed test call (`eventType` `workflow.test`) so an admin can check the
    /// receiver; an inactive workflow may be tested. Answers the job's id. SUPER_ADMIN.
    pub async fn test(&self, ctx: &Context, id: &str) -> Result<crate::ids::JobId, DomainError> {
        require_config(ctx)?;
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let w = Self::load(tx.as_mut(), id).await?;
        let payload = RunPayload {
            workflow_id: w.id,
            event_type: "workflow.test".into(),
            transaction_id: ctx.transaction.id.clone(),
            user: None,
            detection: json!({}),
            rule: None,
            level: None,
            published: rfc3339(now),
        };
        let job = NewJob::new(RUN_JOB, json!(payload), now, RUN_DEADLINE);
        let job_id = job.id;
        tx.enqueue_job(&job).await?;
        tx.commit().await?;
        Ok(job_id)
    }
}
