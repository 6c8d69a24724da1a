//! A read handle is not a transaction: it cannot be committed, nor passed where a
//! transaction is wanted.

use ulo_core::store::{Store, StoreError, StoreTx};

async fn change(tx: &mut dyn StoreTx) -> Result<(), StoreError> {
    tx.put_setting("k", &serde_json::json!(1), time::OffsetDateTime::UNIX_EPOCH)
        .await
}

async fn commit(store: &dyn Store) -> Result<(), StoreError> {
    let mut tx = store.read().await?;
    change(tx.as_mut()).await?;
    tx.commit().await
}

fn main() {
    drop(commit);
}
