//! The agent's state directory: the device key (mode 0600), what enrollment returned (device
//! id, certificate, the pinned ulo keys), the command being run, acknowledgements not yet
//! delivered, and a local log.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::AgentError;
use crate::clock::ServerClock;

/// What enrollment gave this device.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Enrolled {
    /// The server's base URL, as given at enrollment.
    pub server: String,
    /// ulo's issuer (`iss` of the commands).
    pub issuer: String,
    /// The agent API (`aud` of this agent's requests).
    pub agent_api: String,
    /// This device's id.
    pub device_id: String,
    /// The device certificate, PEM.
    pub certificate: String,
    /// The device CA certificate, PEM.
    pub ca_certificate: String,
    /// ulo's signing keys pinned at enrollment (then by key rollovers): the only keys commands
    /// are accepted from.
    pub jwks: Value,
    /// When the keyset pinned last was issued (older ones are refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keyset_issued_at: Option<i64>,
}

/// An acknowledgement to deliver (kept on disk until the server has it).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PendingAck {
    /// The command.
    pub command_id: String,
    /// Whether the sign-out succeeded.
    pub success: bool,
    /// What happened.
    pub detail: String,
}

/// The command being run now (kept on disk from its start until its acknowledgement is saved):
/// finding it at the next start means a restart interrupted it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Running {
    /// The command.
    pub command_id: String,
    /// The account it signs out.
    pub login: String,
}

/// The state directory.
#[derive(Debug, Clone)]
pub struct StateDir(PathBuf);

/// Writes `bytes` to `path` atomically with `mode` (through a temporary file and a rename).
fn write_private(path: &Path, bytes: &[u8], mode: u32) -> Result<(), AgentError> {
    let tmp = path.with_extension("tmp");
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut f = opts
        .open(&tmp)
        .map_err(|e| AgentError::local(&format!("writing {}", tmp.display()), e))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .map_err(|e| AgentError::local(&format!("writing {}", tmp.display()), e))?;
    fs::rename(&tmp, path).map_err(|e| AgentError::local(&format!("writing {}", path.display()), e))
}

impl StateDir {
    /// The directory at `path`, created (mode 0700) if missing.
    pub fn open(path: &Path) -> Result<Self, AgentError> {
        fs::create_dir_all(path.join("pending-acks"))
            .map_err(|e| AgentError::local(&format!("creating {}", path.display()), e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = fs::set_permissions(path, fs::Permissions::from_mode(0o700));
        }
        Ok(StateDir(path.to_path_buf()))
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.0
    }

    fn key_path(&self) -> PathBuf {
        self.0.join("device-key.pem")
    }

    fn enrolled_path(&self) -> PathBuf {
        self.0.join("device.json")
    }

    /// Stores the device key (PKCS#8 PEM), readable by this user only.
    pub fn save_key(&self, pem: &str) -> Result<(), AgentError> {
        write_private(&self.key_path(), pem.as_bytes(), 0o600)
    }

    /// The device key.
    pub fn key(&self) -> Result<String, AgentError> {
        fs::read_to_string(self.key_path()).map_err(|e| {
            AgentError::local(
                &format!("reading the device key {}", self.key_path().display()),
                e,
            )
        })
    }

    /// Stores what enrollment returned.
    pub fn save_enrolled(&self, e: &Enrolled) -> Result<(), AgentError> {
        let json = serde_json::to_vec_pretty(e).map_err(|e| AgentError::local("device.json", e))?;
        write_private(&self.enrolled_path(), &json, 0o600)
    }

    /// What enrollment returned, `None` when not enrolled.
    pub fn enrolled(&self) -> Result<Option<Enrolled>, AgentError> {
        match fs::read(self.enrolled_path()) {
            Ok(b) => serde_json::from_slice(&b)
                .map(Some)
                .map_err(|e| AgentError::local("reading device.json", e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(AgentError::local("reading device.json", e)),
        }
    }

    fn ack_path(&self, command_id: &str) -> PathBuf {
        // Command ids are UUIDs; anything else is not used as a file name.
        let safe: String = command_id
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        self.0.join("pending-acks").join(format!("{safe}.json"))
    }

    /// Keeps an acknowledgement until it is delivered (survives a restart).
    pub fn save_ack(&self, ack: &PendingAck) -> Result<(), AgentError> {
        let json = serde_json::to_vec(ack).map_err(|e| AgentError::local("ack", e))?;
        write_private(&self.ack_path(&ack.command_id), &json, 0o600)
    }

    /// Forgets a delivered acknowledgement.
    pub fn remove_ack(&self, command_id: &str) {
        let _ = fs::remove_file(self.ack_path(command_id));
    }

    /// Whether this command already ran here (its acknowledgement is pending).
    pub fn has_ack(&self, command_id: &str) -> bool {
        self.ack_path(command_id).exists()
    }

    fn running_path(&self) -> PathBuf {
        self.0.join("running.json")
    }

    /// Records that a command is about to run (one at a time: it replaces any earlier record).
    pub fn save_running(&self, running: &Running) -> Result<(), AgentError> {
        let json = serde_json::to_vec(running).map_err(|e| AgentError::local("running", e))?;
        write_private(&self.running_path(), &json, 0o600)
    }

    /// The command that was running when the agent last stopped without finishing it, if any.
    pub fn running(&self) -> Option<Running> {
        let bytes = fs::read(self.running_path()).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Forgets the running record of `command_id` once its outcome is saved as an
    /// acknowledgement (a record of another command stays).
    pub fn remove_running(&self, command_id: &str) {
        if self.running().is_some_and(|r| r.command_id == command_id) {
            let _ = fs::remove_file(self.running_path());
        }
    }

    /// Acknowledgements not yet delivered.
    pub fn pending_acks(&self) -> Vec<PendingAck> {
        let Ok(dir) = fs::read_dir(self.0.join("pending-acks")) else {
            return Vec::new();
        };
        dir.filter_map(|e| e.ok())
            .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
            .filter_map(|e| fs::read(e.path()).ok())
            .filter_map(|b| serde_json::from_slice(&b).ok())
            .collect()
    }

    /// Appends a line to the local log (`agent.log`) and to stderr.
    pub fn log(&self, line: &str) {
        tracing::info!("{line}");
        let stamp = ulo_time(ServerClock::local_now());
        if let Ok(mut f) = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.0.join("agent.log"))
        {
            let _ = writeln!(f, "{stamp} {line}");
        }
    }
}

fn ulo_time(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_running_record_is_private_and_forgotten_only_for_its_own_command() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::open(dir.path()).unwrap();
        assert_eq!(state.running(), None);
        let running = Running {
            command_id: "c-1".into(),
            login: "ada".into(),
        };
        state.save_running(&running).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.path().join("running.json"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // A restart reads it back.
        let reopened = StateDir::open(dir.path()).unwrap();
        assert_eq!(reopened.running(), Some(running.clone()));
        reopened.remove_running("c-2");
        assert_eq!(reopened.running(), Some(running));
        reopened.remove_running("c-1");
        assert_eq!(reopened.running(), None);
    }
}
