//! Workflows: signed webhooks and their sealed secrets.

use super::Page;
use super::StoreError;
use crate::ids::WorkflowId;
use crate::workflow::Workflow;
use async_trait::async_trait;

/// What a read handle or a transaction can read of this area.
#[async_trait]
pub trait WorkflowsRead: Send {
    /// A workflow by id.
    async fn get_workflow(&mut self, id: WorkflowId) -> Result<Option<Workflow>, StoreError>;
    /// Workflows in id order.
    async fn list_workflows(&mut self, page: &Page) -> Result<Vec<Workflow>, StoreError>;
}

/// What a transaction can change in this area (a part of [`StoreTx`](super::StoreTx)).
#[async_trait]
pub trait WorkflowsTx: WorkflowsRead {
    /// Stores a new workflow.
    async fn insert_workflow(&mut self, workflow: &Workflow) -> Result<(), StoreError>;
    /// Replaces a workflow's stored fields (sealed secret included).
    async fn update_workflow(&mut self, workflow: &Workflow) -> Result<(), StoreError>;
    /// Deletes a workflow; false when there was none.
    async fn delete_workflow(&mut self, id: WorkflowId) -> Result<bool, StoreError>;
}
