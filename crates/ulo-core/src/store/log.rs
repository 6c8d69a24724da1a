//! The System Log.

use super::StoreError;
use crate::ids::EventId;
use crate::log::EventQuery;
use crate::log::LogEvent;
use async_trait::async_trait;

/// What a read handle or a transaction can read of this area.
#[async_trait]
pub trait LogRead: Send {
    /// Queries events.
    async fn query_events(&mut self, query: &EventQuery) -> Result<Vec<LogEvent>, StoreError>;
    /// An event by id.
    async fn get_event(&mut self, id: EventId) -> Result<Option<LogEvent>, StoreError>;
}

/// What a transaction can change in this area (a part of [`StoreTx`](super::StoreTx)).
#[async_trait]
pub trait LogTx: LogRead {
    /// Appends an event.
    async fn append_event(&mut self, event: &LogEvent) -> Result<(), StoreError>;
}
