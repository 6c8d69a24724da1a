//! A write through a read handle: `put_ssf_subject` is an `SsfTx` method, which a read handle
//! (`Box<dyn StoreRead>`) does not have.

use ulo_core::ids::AppId;
use ulo_core::store::{Store, StoreError};

async fn exclude(store: &dyn Store, app: AppId) -> Result<(), StoreError> {
    let mut tx = store.read().await?;
    tx.put_ssf_subject(app, "sub", false).await
}

fn main() {
    drop(exclude);
}
