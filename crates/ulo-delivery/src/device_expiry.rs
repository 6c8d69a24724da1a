//! Expires device commands nobody acknowledged: the job runs when the command would expire and
//! records, in the transaction that finishes it, the DEVICE target FAILED with why and
//! `device.desktop_mfa.device_logout.completed` (a command answered meanwhile is left alone).

use async_trait::async_trait;
use time::OffsetDateTime;
use ulo_core::device::ExpireCommand;
use ulo_core::error::DomainError;
use ulo_core::job::Job;
use ulo_core::store::{Store, StoreError, StoreTx};

use crate::logout_delivery::ReceiptListener;
use crate::{Attempt, Finished, JobKind, Ran};

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

#[async_trait]
impl JobKind for DeviceCommandExpiry {
    const KIND: &'static str = KIND;
    type Queue = dyn Store;
    type Payload = ExpireCommand;
    type Outcome = ();

    async fn run(&self, _job: &Job, _command: &ExpireCommand) -> Ran<()> {
        // Nothing to send: the work is the record below.
        Attempt::Done.into()
    }

    async fn record(
        &self,
        tx: &mut (dyn StoreTx + 'static),
        finished: &[Finished<'_, Self>],
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        for f in finished {
            match ulo_core::device::expire_command(tx, f.payload.command_id, now).await {
                Ok(_) => {}
                Err(DomainError::Store(e)) => return Err(e),
                Err(e) => return Err(StoreError::Invalid(e.to_string())),
            }
        }
        Ok(())
    }

    fn committed(&self, command: &ExpireCommand, _: &()) {
        if let Some(listener) = &self.listener {
            listener(command.logout_id);
        }
    }

    fn lock_key(&self, command: &ExpireCommand) -> Option<String> {
        // Locks the receipt, like the logout deliveries of the same receipt.
        Some(command.logout_id.to_string())
    }
}
