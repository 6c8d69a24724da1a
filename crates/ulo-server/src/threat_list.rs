//! The operator's threat list file (`ULO_THREAT_LIST_FILE`): read at start, read again when it
//! changes (its modification time or size, checked every few seconds; a file touched but not
//! changed is not reloaded), and consulted for admin API calls (sign-ins consult it in
//! `ulo_core::signin`). A file that cannot be read or holds a bad line leaves the list in force
//! unchanged and says why in the System Log.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};
use tokio::sync::watch;
use ulo_core::context::Context;
use ulo_core::risk::ThreatList;
use ulo_core::risk::sources::{CriticalAction, ThreatListLoad, log_threat_list_load};
use ulo_core::user::User;

use crate::error::ApiError;
use crate::state::AppState;

/// What the watcher last saw of the file.
#[derive(Debug, Default)]
pub struct Seen {
    /// Modification time and size at the last look (`None`: the file could not be read).
    stamp: Option<(Option<SystemTime>, u64)>,
    /// Whether the last look found it unreadable (so it is said once, not every check).
    unreadable: bool,
    /// SHA-256 of the content last put in force, and whether a later content failed to parse.
    loaded: Option<[u8; 32]>,
    failed: Option<[u8; 32]>,
}

/// The file as read at start, before anything else starts.
pub struct AtStart {
    list: ThreatList,
    seen: Seen,
}

/// Reads and parses the file at start. A missing file or a bad line stops the start (before the
/// store is opened): the operator asked for a list, and starting without it would hide that.
pub async fn read_at_start(path: &Path) -> Result<AtStart, String> {
    let failed =
        |e: &dyn std::fmt::Display| format!("ULO_THREAT_LIST_FILE {}: {e}", path.display());
    let meta = tokio::fs::metadata(path).await.map_err(|e| failed(&e))?;
    let text = tokio::fs::read_to_string(path)
        .await
        .map_err(|e| failed(&e))?;
    let list = ThreatList::parse(&text).map_err(|e| failed(&e))?;
    Ok(AtStart {
        list,
        seen: Seen {
            stamp: Some((meta.modified().ok(), meta.len())),
            unreadable: false,
            loaded: Some(digest(&text)),
            failed: None,
        },
    })
}

/// Puts the list read at start in force and logs it; answers what [`watch`] starts from.
pub async fn put_in_force(state: &AppState, path: &Path, at_start: AtStart) -> Seen {
    let n = at_start.list.len();
    state.set_threat_list(at_start.list);
    log(state, path, &ThreatListLoad::Loaded(n)).await;
    at_start.seen
}

/// Looks at the file every `every` until `stop`, reloading it when it changed.
pub async fn watch(
    state: AppState,
    path: PathBuf,
    every: Duration,
    mut seen: Seen,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        check(&state, &path, &mut seen).await;
    }
}

fn digest(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

async fn log(state: &AppState, path: &Path, load: &ThreatListLoad) {
    let file = path.display().to_string();
    match load {
        ThreatListLoad::Loaded(n) => tracing::info!(file, ranges = n, "threat list loaded"),
        other => tracing::error!(
            file,
            ?other,
            "threat list not loaded; the previous list stays"
        ),
    }
    if let Err(e) = log_threat_list_load(state.store.as_ref(), &file, load, state.clock.now()).await
    {
        tracing::warn!(error = %e, "could not log the threat list load");
    }
}

/// One look at the file.
async fn check(state: &AppState, path: &Path, seen: &mut Seen) {
    let read = async {
        let meta = tokio::fs::metadata(path).await?;
        let stamp = (meta.modified().ok(), meta.len());
        if seen.stamp == Some(stamp) {
            return Ok(None);
        }
        let text = tokio::fs::read_to_string(path).await?;
        Ok::<_, std::io::Error>(Some((stamp, text)))
    };
    let (stamp, text) = match read.await {
        Ok(Some(found)) => found,
        Ok(None) => return,
        Err(e) => {
            if !seen.unreadable {
                seen.unreadable = true;
                seen.stamp = None;
                log(state, path, &ThreatListLoad::Unreadable(e.to_string())).await;
            }
            return;
        }
    };
    seen.stamp = Some(stamp);
    seen.unreadable = false;
    let d = digest(&text);
    if seen.loaded == Some(d) && seen.failed.is_none() {
        return;
    }
    if seen.failed == Some(d) {
        return;
    }
    match ThreatList::parse(&text) {
        Ok(list) => {
            let n = list.len();
            state.set_threat_list(list);
            seen.loaded = Some(d);
            seen.failed = None;
            log(state, path, &ThreatListLoad::Loaded(n)).await;
        }
        Err(e) => {
            seen.failed = Some(d);
            log(state, path, &ThreatListLoad::BadLine(e)).await;
        }
    }
}

/// An admin API call authenticated as `user` from `ip`: when the address is listed, records
/// the person's threat-list detection (at most once per person and address an hour) in its own
/// transaction, under the call's context. The call itself goes on.
pub async fn admin_call(
    state: &AppState,
    ctx: &Context,
    user: &User,
    ip: Option<IpAddr>,
) -> Result<(), ApiError> {
    let list = state.threat_list();
    let Some(ip) = ip.filter(|ip| list.find(*ip).is_some()) else {
        return Ok(());
    };
    let mut tx = state.store.begin().await?;
    ulo_core::risk::sources::threat_address_in(
        tx.as_mut(),
        ctx,
        user,
        &list,
        ip,
        CriticalAction::AdminCall,
        &state.config.risk_settings(),
        state.clock.now(),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
