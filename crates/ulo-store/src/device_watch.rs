//! Wakes agents' long-polls the moment a command is issued to their device: in this process at
//! commit, and on PostgreSQL in every process through `NOTIFY ulo_devices, '<device id>'` (sent
//! by the transaction that inserts the command, so it is delivered at commit and never for a
//! rolled-back one).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::PgListener;
use tokio::sync::watch;
use ulo_core::ids::DeviceId;
use ulo_core::store::CommandWatch;

/// The PostgreSQL channel device commands are announced on.
pub(crate) const CHANNEL: &str = "ulo_devices";

/// Who is waiting for which device: one counter per watched device, bumped on each wake.
#[derive(Debug, Default)]
pub(crate) struct DeviceWatchers {
    map: Mutex<HashMap<DeviceId, watch::Sender<u64>>>,
}

impl DeviceWatchers {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<DeviceId, watch::Sender<u64>>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts watching `device`.
    pub(crate) fn watch(self: &Arc<Self>, device: DeviceId) -> DeviceWatch {
        let rx = self
            .lock()
            .entry(device)
            .or_insert_with(|| watch::channel(0).0)
            .subscribe();
        DeviceWatch {
            rx,
            device,
            owner: self.clone(),
        }
    }

    /// Wakes whoever watches these devices.
    pub(crate) fn wake(&self, devices: &[DeviceId]) {
        let map = self.lock();
        for d in devices {
            if let Some(tx) = map.get(d) {
                tx.send_modify(|n| *n = n.wrapping_add(1));
            }
        }
    }

    /// Wakes every watcher (a lost notification connection may have dropped some wake-ups:
    /// each waiter reads its commands again).
    pub(crate) fn wake_all(&self) {
        for tx in self.lock().values() {
            tx.send_modify(|n| *n = n.wrapping_add(1));
        }
    }
}

/// One long-poll's watch of one device.
pub(crate) struct DeviceWatch {
    rx: watch::Receiver<u64>,
    device: DeviceId,
    owner: Arc<DeviceWatchers>,
}

#[async_trait]
impl CommandWatch for DeviceWatch {
    async fn wait(&mut self, timeout: Duration) -> bool {
        matches!(
            tokio::time::timeout(timeout, self.rx.changed()).await,
            Ok(Ok(()))
        )
    }
}

impl Drop for DeviceWatch {
    fn drop(&mut self) {
        let mut map = self.owner.lock();
        // Our own receiver is still alive here: one left means nobody else watches.
        if map
            .get(&self.device)
            .is_some_and(|tx| tx.receiver_count() <= 1)
        {
            map.remove(&self.device);
        }
    }
}

/// Listens on [`CHANNEL`] and wakes this process's watchers, until `stop` turns true or the
/// watchers are gone. `listener` already listens.
pub(crate) async fn relay(
    mut listener: PgListener,
    watchers: Weak<DeviceWatchers>,
    mut stop: watch::Receiver<bool>,
) {
    let mut failures = 0u32;
    loop {
        let got = tokio::select! {
            got = listener.recv() => got,
            _ = stop.wait_for(|s| *s) => return,
        };
        let Some(w) = watchers.upgrade() else { return };
        match got {
            Ok(n) => {
                failures = 0;
                if let Ok(id) = n.payload().parse::<DeviceId>() {
                    w.wake(&[id]);
                }
            }
            Err(e) => {
                // sqlx reconnects and listens again on the next recv; what was sent meanwhile
                // is lost, so every waiter reads its commands again.
                w.wake_all();
                drop(w);
                failures = failures.saturating_add(1);
                tracing::warn!(error = %e, "LISTEN {CHANNEL} connection failed; reconnecting");
                let wait = Duration::from_millis(100u64.saturating_mul(1 << failures.min(6)));
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = stop.wait_for(|s| *s) => return,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn wakes_only_the_watched_device_and_forgets_unwatched_ones() {
        let w = Arc::new(DeviceWatchers::default());
        let (a, b) = (DeviceId::new(), DeviceId::new());
        let mut wa = w.watch(a);
        let mut wb = w.watch(b);
        // A wake before the wait is not lost.
        w.wake(&[a]);
        assert!(wa.wait(Duration::from_secs(5)).await);
        assert!(!wb.wait(Duration::from_millis(20)).await);
        drop(wa);
        assert!(!w.lock().contains_key(&a));
        assert!(w.lock().contains_key(&b));
        w.wake_all();
        assert!(wb.wait(Duration::from_secs(5)).await);
    }
}
