//! Expires device commands nobody acknowledged: the job runs when the command would expire and
//! records, in the transaction that finishes it, the DEVICE target FAILED with why and
//! `device.desktop_mfa.device_logout.completed` (a command answered meanwhile is left alone).

use async_trait::async_trait;
use time::OffsetDateTime;
use ulo_core::device::ExpireCommand;
use ulo_core::error::DomainError;
use ulo_core::job::{Job, JobResult};
use ulo_core::store::{StoreError, StoreTx};

use crate::logout_delivery::ReceiptListener;
use crate::worker::{Attempt, JobHandler};

/// The job kind.
pub const KIND: &str = ulo_core::device::EXPIRE_JOB;

/// The handler of [`KIND`] jobs.
#[derive(Default)]
pub struct DeviceCommandExpiry {
    listener: Option<ReceiptListener>,
}

impl DeviceCommandExpiry {
    /// Calls `listener` with the receipt after each expiry is recorded.
    pub fn with_listener(mut self, listener: ReceiptListener) -> Self {
        self.listener = Some(listener);
        self
    }
}

fn payload(job: &Job) -> Option<ExpireCommand> {
    serde_json::from_value(job.payload.clone()).ok()
}

#[async_trait]
impl JobHandler for DeviceCommandExpiry {
    async fn run(&self, _job: &Job) -> Attempt {
        // Nothing to send: the work is the record below.
        Attempt::Done
    }

    async fn record(
        &self,
        tx: &mut dyn StoreTx,
        job: &Job,
        _attempt: &Attempt,
        _result: &JobResult,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let Some(p) = payload(job) else {
            tracing::warn!(job = %job.id, "device command expiry job without a command id");
            return Ok(());
        };
        match ulo_core::device::expire_command(tx, p.command_id, now).await {
            Ok(_) => Ok(()),
            Err(DomainError::Store(e)) => Err(e),
            Err(e) => Err(StoreError::Invalid(e.to_string())),
        }
    }

    fn committed(&self, job: &Job) {
        if let (Some(listener), Some(p)) = (&self.listener, payload(job)) {
            listener(p.logout_id);
        }
    }

    fn lock_key(&self, job: &Job) -> Option<String> {
        // Locks the receipt, like the logout deliveries of the same receipt.
        payload(job).map(|p| p.logout_id.to_string())
    }
}
