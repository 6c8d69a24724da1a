//! A write through a read handle: `insert_user` is a `UsersTx` method, which a read handle
//! (`Box<dyn StoreRead>`) does not have.

use ulo_core::store::{Store, StoreError};
use ulo_core::user::User;

async fn create(store: &dyn Store, user: &User) -> Result<(), StoreError> {
    let mut tx = store.read().await?;
    tx.insert_user(user, None).await
}

fn main() {
    drop(create);
}
