//! Signing keys: created on first start, private parts sealed with the master key, rotated on demand.

use ulo_core::auth::{KeyState, SigningKeyRecord};
use ulo_core::clock::Clock;
use ulo_core::context::Context;
use ulo_core::directory::Sealer;
use ulo_core::error::DomainError;
use ulo_core::log::catalogue as events;
use ulo_core::log::{LogEvent, Target};
use ulo_core::store::{Store, StoreError};
use ulo_jose::{KeyAlg, KeyRing, SigningKey, generate_key};

fn purpose(kid: &str) -> String {
    format!("signing-key:{kid}")
}

fn unavailable(e: impl std::fmt::Display) -> DomainError {
    DomainError::Store(StoreError::Unavailable(e.to_string()))
}

/// Generates a key of `alg` and its sealed record, ACTIVE.
fn new_record(
    alg: KeyAlg,
    sealer: &dyn Sealer,
    clock: &dyn Clock,
) -> Result<SigningKeyRecord, DomainError> {
    let k = generate_key(alg).map_err(unavailable)?;
    let sealed = sealer
        .seal(&k.private_pkcs8_der, &purpose(&k.kid))
        .map_err(unavailable)?;
    Ok(SigningKeyRecord {
        kid: k.kid,
        alg: alg.as_str().to_string(),
        state: KeyState::Active,
        private_sealed: sealed,
        public_jwk: k.public_jwk,
        created: clock.now(),
        state_changed: None,
    })
}

/// Makes sure an ACTIVE key exists for every algorithm ulo signs with.
pub async fn ensure_keys(
    store: &dyn Store,
    sealer: &dyn Sealer,
    clock: &dyn Clock,
) -> Result<(), DomainError> {
    let mut tx = store.begin().await?;
    let keys = tx.list_signing_keys().await?;
    let mut created = false;
    for alg in KeyAlg::ALL {
        if !keys
            .iter()
            .any(|k| k.alg == alg.as_str() && k.state == KeyState::Active)
        {
            tx.insert_signing_key(&new_record(alg, sealer, clock)?)
                .await?;
            created = true;
        }
    }
    if created {
        tx.commit().await?;
    }
    Ok(())
}

/// Opens the sealed private key of `k`.
fn open_key(
    sealer: &dyn Sealer,
    k: &SigningKeyRecord,
    alg: KeyAlg,
) -> Result<SigningKey, DomainError> {
    let der = sealer.open(&k.private_sealed, &purpose(&k.kid)).map_err(|e| {
        unavailable(format!(
            "cannot open signing key {}: {e}. Is ULO_MASTER_KEY (or the master key file) the one this store was created with?",
            k.kid
        ))
    })?;
    SigningKey::from_pkcs8_der(k.kid.clone(), alg, &der).map_err(unavailable)
}

/// Loads the key ring: the newest ACTIVE key per algorithm signs; ACTIVE and PUBLISHED keys are
/// published; the PUBLISHED ones (rotated, not retired) still sign key rollovers for device
/// agents that pinned them.
pub async fn load_ring(store: &dyn Store, sealer: &dyn Sealer) -> Result<KeyRing, DomainError> {
    let mut tx = store.read().await?;
    let keys = tx.list_signing_keys().await?;
    drop(tx);
    let mut active = Vec::new();
    let mut published = Vec::new();
    let mut rollover = Vec::new();
    for alg in KeyAlg::ALL {
        let newest = keys
            .iter()
            .filter(|k| k.alg == alg.as_str() && k.state == KeyState::Active)
            .max_by_key(|k| k.created);
        if let Some(k) = newest {
            active.push(open_key(sealer, k, alg)?);
        }
        // Newest first, so a rollover is signed by the most recent key an agent pinned.
        let mut older: Vec<&SigningKeyRecord> = keys
            .iter()
            .filter(|k| k.alg == alg.as_str() && k.state != KeyState::Retired)
            .filter(|k| newest.is_none_or(|n| n.kid != k.kid))
            .collect();
        older.sort_by_key(|k| std::cmp::Reverse(k.created));
        for k in older {
            rollover.push(open_key(sealer, k, alg)?);
        }
    }
    for k in &keys {
        if matches!(k.state, KeyState::Active | KeyState::Published) {
            published.push(k.public_jwk.clone());
        }
    }
    // An older ACTIVE key of the same alg (after a rotation race) is published, not used to sign.
    KeyRing::new(active, published)
        .and_then(|r| r.with_rollover(rollover))
        .map_err(unavailable)
}

/// Adds a new ACTIVE key for `alg`; the previous ones stay published until retired.
pub async fn rotate(
    store: &dyn Store,
    sealer: &dyn Sealer,
    clock: &dyn Clock,
    ctx: &Context,
    alg: KeyAlg,
) -> Result<SigningKeyRecord, DomainError> {
    let record = new_record(alg, sealer, clock)?;
    let now = clock.now();
    let mut tx = store.begin().await?;
    for k in tx.list_signing_keys().await? {
        if k.alg == alg.as_str() && k.state == KeyState::Active {
            tx.set_signing_key_state(&k.kid, KeyState::Published, now)
                .await?;
        }
    }
    tx.insert_signing_key(&record).await?;
    let ev = LogEvent::build(
        ctx,
        events::system::SIGNING_KEY_ROTATE,
        now,
        format!("Rotate {} signing key", alg.as_str()),
    )
    .target(Target::new(
        "SigningKey",
        &record.kid,
        record.kid.clone(),
        alg.as_str(),
    ))
    .finish();
    tx.append_event(&ev).await?;
    tx.commit().await?;
    Ok(record)
}

/// Retires a PUBLISHED key: it leaves the JWKS. The active signing key cannot be retired.
pub async fn retire(
    store: &dyn Store,
    clock: &dyn Clock,
    ctx: &Context,
    kid: &str,
) -> Result<(), DomainError> {
    let now = clock.now();
    let mut tx = store.begin().await?;
    let keys = tx.list_signing_keys().await?;
    let key = keys
        .iter()
        .find(|k| k.kid == kid)
        .ok_or_else(|| DomainError::not_found("signing key", kid))?;
    match key.state {
        KeyState::Active => {
            return Err(DomainError::InvalidState(format!(
                "Key {kid} is the active {} key; rotate first, then retire it",
                key.alg
            )));
        }
        KeyState::Retired => {
            return Err(DomainError::InvalidState(format!(
                "Key {kid} is already retired"
            )));
        }
        KeyState::Published => {}
    }
    tx.set_signing_key_state(kid, KeyState::Retired, now)
        .await?;
    let ev = LogEvent::build(
        ctx,
        events::system::SIGNING_KEY_RETIRE,
        now,
        format!("Retire signing key {kid}"),
    )
    .target(Target::new(
        "SigningKey",
        kid,
        kid.to_string(),
        key.alg.clone(),
    ))
    .finish();
    tx.append_event(&ev).await?;
    tx.commit().await?;
    Ok(())
}

/// Every key record (for `ulo keys list`).
pub async fn list(store: &dyn Store) -> Result<Vec<SigningKeyRecord>, DomainError> {
    let mut tx = store.read().await?;
    Ok(tx.list_signing_keys().await?)
}
