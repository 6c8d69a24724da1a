//! The Shared Signals transmitter: receiver credentials, streams, subjects and SETs queued for
//! polling.

use super::StoreError;
use crate::ids::AppId;
use async_trait::async_trait;
use time::OffsetDateTime;

/// What a read handle or a transaction can read of this area.
#[async_trait]
pub trait SsfRead: Send {
    /// A receiver credential by token hash.
    async fn find_ssf_credential(
        &mut self,
        hash: &str,
    ) -> Result<Option<crate::ssf::SsfCredential>, StoreError>;
    /// An app's stream.
    async fn get_ssf_stream(
        &mut self,
        app: AppId,
    ) -> Result<Option<crate::ssf::SsfStream>, StoreError>;
    /// Whether a receiver removed a subject from an app's stream.
    async fn ssf_subject_excluded(&mut self, app: AppId, subject: &str)
    -> Result<bool, StoreError>;
    /// Up to `limit` queued SETs (jti, SET), oldest first.
    async fn poll_ssf_sets(
        &mut self,
        app: AppId,
        limit: u32,
    ) -> Result<Vec<(String, String)>, StoreError>;
}

/// What a transaction can change in this area (a part of [`StoreTx`](super::StoreTx)).
#[async_trait]
pub trait SsfTx: SsfRead {
    /// Stores a receiver credential.
    async fn insert_ssf_credential(
        &mut self,
        credential: &crate::ssf::SsfCredential,
    ) -> Result<(), StoreError>;
    /// Inserts or replaces an app's stream.
    async fn put_ssf_stream(&mut self, stream: &crate::ssf::SsfStream) -> Result<(), StoreError>;
    /// Deletes an app's stream with its subjects and queued SETs; false when there was none.
    async fn delete_ssf_stream(&mut self, app: AppId) -> Result<bool, StoreError>;
    /// Marks a subject included in (or excluded from) an app's stream.
    async fn put_ssf_subject(
        &mut self,
        app: AppId,
        subject: &str,
        included: bool,
    ) -> Result<(), StoreError>;
    /// Queues a SET for polling, with the logout delivery it carries (if any).
    async fn enqueue_ssf_set(
        &mut self,
        app: AppId,
        jti: &str,
        set: &str,
        delivery: Option<&serde_json::Value>,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// Removes an acknowledged SET; answers the delivery it carried (`None` when the jti is not
    /// queued).
    async fn ack_ssf_set(
        &mut self,
        app: AppId,
        jti: &str,
    ) -> Result<Option<Option<serde_json::Value>>, StoreError>;
}
