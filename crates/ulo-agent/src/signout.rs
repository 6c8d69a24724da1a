//! Signing a person out of this machine: a configured command, or by default `loginctl
//! terminate-user` on Linux and the console user's logout (`launchctl bootout gui/<uid>`) on
//! macOS. The command gets the account name as its argument.

use std::time::Duration;

use tokio::process::Command;

/// The default sign-out command for this platform.
pub fn default_command() -> &'static str {
    if cfg!(target_os = "macos") {
        "launchctl bootout gui/$(id -u \"$1\") #"
    } else {
        "loginctl terminate-user"
    }
}

/// Runs `command` (a shell command line) with `login` as its argument (`$1`, safely quoted),
/// for at most `timeout`; answers success and what it printed.
pub async fn sign_out(command: &str, login: &str, timeout: Duration) -> (bool, String) {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!("{command} \"$1\""))
        .arg("ulo-signout")
        .arg(login)
        .kill_on_drop(true);
    let run = tokio::time::timeout(timeout, cmd.output()).await;
    match run {
        Err(_) => (
            false,
            format!("sign-out command timed out after {timeout:?}"),
        ),
        Ok(Err(e)) => (false, format!("could not run the sign-out command: {e}")),
        Ok(Ok(out)) => {
            let mut text = String::from_utf8_lossy(&out.stdout).trim().to_string();
            let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
            if !err.is_empty() {
                if !text.is_empty() {
                    text.push('\n');
                }
                text.push_str(&err);
            }
            let text: String = text.chars().take(1000).collect();
            if out.status.success() {
                let detail = if text.is_empty() {
                    format!("signed out {login}")
                } else {
                    format!("signed out {login}: {text}")
                };
                (true, detail)
            } else {
                (
                    false,
                    format!("sign-out command failed ({}): {text}", out.status),
                )
            }
        }
    }
}
