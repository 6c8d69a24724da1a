//! Use contexts: the context each session and refresh-token family began in, and the other
//! contexts it was used in since (session influence).

use super::StoreError;
use crate::session_influence::{UseContext, UseSubject};
use async_trait::async_trait;

/// What a read handle or a transaction can read of this area.
#[async_trait]
pub trait UseContextsRead: Send {
    /// The contexts `subject` was used in, the one it began in first, then in the order seen.
    async fn list_use_contexts(
        &mut self,
        subject: UseSubject,
    ) -> Result<Vec<UseContext>, StoreError>;
}

/// What a transaction can change in this area (a part of [`StoreTx`](super::StoreTx)).
#[async_trait]
pub trait UseContextsTx: UseContextsRead {
    /// Records a context of its subject; false (and nothing changes) when the subject already
    /// has one with the same network and client family. Of concurrent callers recording the
    /// same context, exactly one gets true.
    async fn insert_use_context(&mut self, context: &UseContext) -> Result<bool, StoreError>;
}
