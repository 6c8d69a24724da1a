//! `ulo agent run`: poll, verify, sign out, acknowledge; again and again. Survives server
//! outages (exponential backoff with jitter), restarts and clock skew (signed requests use the
//! server's time as last seen in its `Date`).
//!
//! Across restarts a sign-out runs at least once and is never rerun once its outcome is known:
//! the outcome is saved as an acknowledgement before it is sent, and a saved one is resent
//! instead of running the command again. A restart while the command runs (before its outcome
//! is saved) leaves it unacknowledged on the server, which hands it out again: it runs again, as
//! a person must not stay signed in because the agent stopped, and its acknowledgement says so.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use serde_json::json;

use crate::AgentError;
use crate::client::AgentClient;
use crate::clock::ServerClock;
use crate::state::{Enrolled, PendingAck, Running, StateDir};

/// How the agent runs.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The state directory (enrolled before).
    pub state_dir: PathBuf,
    /// Seconds between periodic polls (with ±10 % jitter) when not long-polling.
    pub poll_interval: u64,
    /// Hold a long-poll (answered the moment a command is issued) instead of sleeping.
    pub long_poll: bool,
    /// Poll once, run what came, and return.
    pub once: bool,
    /// The sign-out command line (the account name is appended as its argument).
    pub signout_command: String,
    /// The console user to report instead of detecting one.
    pub console_user: Option<String>,
}

/// How long one long-poll waits on the server (under the 60 s it allows).
const LONG_POLL: u64 = 55;
/// The longest backoff after failures.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// Runs until `stop` resolves (or, with `once`, after one poll). With `once`, a refusal or an
/// unreachable server is an error.
pub async fn run(
    opts: RunOptions,
    stop: impl std::future::Future<Output = ()>,
) -> Result<(), AgentError> {
    let state = StateDir::open(&opts.state_dir)?;
    let enrolled = state.enrolled()?.ok_or_else(|| {
        AgentError::Local(format!(
            "{} holds no enrollment: run `ulo agent enroll` first",
            opts.state_dir.display()
        ))
    })?;
    let client = AgentClient::new(enrolled, &state.key()?, Arc::new(ServerClock::default()))?;
    state.log(&format!(
        "running as device {} against {} ({})",
        client.enrolled().device_id,
        client.enrolled().server,
        if opts.long_poll {
            "long-poll".to_string()
        } else {
            format!("polling every {} s", opts.poll_interval)
        }
    ));
    // The keys commands are verified with: enrollment's, then each verified key rollover.
    let mut pinned = client.enrolled().clone();
    tokio::pin!(stop);
    let mut failures: u32 = 0;
    loop {
        let round = tokio::select! {
            r = round(&client, &state, &opts, &mut pinned) => r,
            _ = &mut stop => return Ok(()),
        };
        let pause = match round {
            Ok(()) => {
                failures = 0;
                if opts.once {
                    return Ok(());
                }
                if opts.long_poll {
                    Duration::ZERO
                } else {
                    jittered(Duration::from_secs(opts.poll_interval.max(1)), 0.1)
                }
            }
            Err(e) => {
                if opts.once {
                    return Err(e);
                }
                failures = failures.saturating_add(1);
                let base = Duration::from_secs(1).saturating_mul(1 << failures.min(9));
                let pause = jittered(base.min(MAX_BACKOFF), 0.5);
                let what = match &e {
                    AgentError::Refused { .. } => "refused",
                    _ => "failed",
                };
                state.log(&format!("poll {what}: {e}; retrying in {pause:?}"));
                pause
            }
        };
        if !pause.is_zero() {
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = &mut stop => return Ok(()),
            }
        }
    }
}

/// `d` ± `spread` (a fraction), so a fleet does not poll in lockstep.
fn jittered(d: Duration, spread: f64) -> Duration {
    let f: f64 = rand::rng().random_range(-spread..=spread);
    d.mul_f64((1.0 + f).max(0.05))
}

/// One round: deliver pending acknowledgements, poll, take a key rollover, run and acknowledge
/// the commands that came.
async fn round(
    client: &AgentClient,
    state: &StateDir,
    opts: &RunOptions,
    pinned: &mut Enrolled,
) -> Result<(), AgentError> {
    for ack in state.pending_acks() {
        deliver(client, state, &ack).await?;
    }
    let console = opts
        .console_user
        .clone()
        .or_else(crate::machine::console_user);
    let report = json!({
        "consoleUser": console,
        "osVersion": crate::machine::os_version(),
        "hostname": crate::machine::hostname(),
        "agentVersion": crate::VERSION,
        "pinnedKids": crate::keyset::kids(&pinned.jwks),
    });
    let wait = if opts.long_poll && !opts.once {
        LONG_POLL
    } else {
        0
    };
    let polled = client.poll(wait, &report).await?;
    if let Some(keyset) = &polled.keyset {
        // Before the commands: they may be signed by a key it brings.
        let now = client.clock().now().unix_timestamp();
        crate::keyset::apply(state, pinned, keyset, now);
    }
    for c in polled.commands {
        let id = c["id"].as_str().unwrap_or_default().to_string();
        if id.is_empty() || state.has_ack(&id) {
            // Already run here; its acknowledgement goes out first thing next round.
            continue;
        }
        let now = client.clock().now().unix_timestamp();
        let ack = match crate::command::verify(pinned, &c, now) {
            Err(why) => {
                state.log(&format!("command {id} NOT run: {why}"));
                PendingAck {
                    command_id: id,
                    success: false,
                    detail: format!("not run: {why}"),
                }
            }
            Ok(s) => {
                // Left on disk by a run that never saved its outcome.
                let interrupted = state.running().is_some_and(|r| r.command_id == id);
                if interrupted {
                    state.log(&format!(
                        "command {id} was interrupted by a restart; running it again"
                    ));
                }
                let running = Running {
                    command_id: id.clone(),
                    login: s.login.clone(),
                };
                if let Err(e) = state.save_running(&running) {
                    // Only a rerun's detail depends on it: the sign-out does not wait on the disk.
                    state.log(&format!(
                        "command {id}: not recorded as running ({e}); running it anyway"
                    ));
                }
                state.log(&format!(
                    "command {id}: signing out {} ({})",
                    s.login, s.user_login
                ));
                let (ok, mut detail) = crate::signout::sign_out(
                    &opts.signout_command,
                    &s.login,
                    Duration::from_secs(120),
                )
                .await;
                if interrupted {
                    detail.push_str(
                        " (run again: a restart of the agent interrupted an earlier run)",
                    );
                }
                state.log(&format!(
                    "command {id}: {} — {detail}",
                    if ok { "SUCCESS" } else { "FAILURE" }
                ));
                PendingAck {
                    command_id: id,
                    success: ok,
                    detail,
                }
            }
        };
        // On disk before it is sent: a restart in between resends it, never reruns the command.
        state.save_ack(&ack)?;
        state.remove_running(&ack.command_id);
        deliver(client, state, &ack).await?;
    }
    Ok(())
}

/// Sends one acknowledgement; forgets it once ulo has it (or refused it for good).
async fn deliver(
    client: &AgentClient,
    state: &StateDir,
    ack: &PendingAck,
) -> Result<(), AgentError> {
    match client.ack(&ack.command_id, ack.success, &ack.detail).await {
        Ok(()) => {
            state.remove_ack(&ack.command_id);
            Ok(())
        }
        Err(AgentError::Refused { status, message }) if status == 404 || status == 409 => {
            // Expired or unknown on the server: nothing more to tell it.
            state.log(&format!(
                "acknowledgement of {} refused: {message}",
                ack.command_id
            ));
            state.remove_ack(&ack.command_id);
            Ok(())
        }
        Err(e) => Err(e),
    }
}
