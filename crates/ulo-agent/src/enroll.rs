//! `ulo agent enroll`: a new P-256 key (kept in the state directory, mode 0600), a CSR, and the
//! enrollment token; ulo answers with the device certificate and its signing keys, which the
//! agent pins.

use std::path::Path;
use std::time::Duration;

use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair};
use serde_json::{Value, json};

use crate::AgentError;
use crate::client::{http_client, summary};
use crate::state::{Enrolled, StateDir};

/// What to enroll with.
#[derive(Debug, Clone)]
pub struct EnrollOptions {
    /// ulo's base URL.
    pub server: String,
    /// The one-time enrollment token.
    pub token: String,
    /// The state directory.
    pub state_dir: std::path::PathBuf,
    /// The version to report (this agent's by default; tests report others).
    pub agent_version: String,
}

/// Enrolls this machine; refuses when the state directory already holds an enrollment.
pub async fn enroll(opts: &EnrollOptions) -> Result<Enrolled, AgentError> {
    let state = StateDir::open(Path::new(&opts.state_dir))?;
    if let Some(e) = state.enrolled()? {
        return Err(AgentError::Local(format!(
            "{} already holds device {} enrolled with {}: remove it to enroll again",
            opts.state_dir.display(),
            e.device_id,
            e.server
        )));
    }
    let key = KeyPair::generate().map_err(|e| AgentError::local("generating the device key", e))?;
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "ulo agent");
    params.distinguished_name = dn;
    let csr = params
        .serialize_request(&key)
        .and_then(|c| c.pem())
        .map_err(|e| AgentError::local("making the CSR", e))?;
    let server = opts.server.trim_end_matches('/').to_string();
    let body = json!({
        "token": opts.token,
        "csr": csr,
        "platform": crate::machine::platform(),
        "osVersion": crate::machine::os_version(),
        "hostname": crate::machine::hostname(),
        "agentVersion": opts.agent_version,
    });
    let resp = http_client(Duration::from_secs(30))?
        .post(format!("{server}/api/v1/agent/enroll"))
        .json(&body)
        .send()
        .await
        .map_err(|e| AgentError::Unavailable(e.to_string()))?;
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    if !status.is_success() {
        let message = summary(&text);
        return Err(if status.is_server_error() {
            AgentError::Unavailable(message)
        } else {
            AgentError::Refused {
                status: status.as_u16(),
                message,
            }
        });
    }
    let v: Value = serde_json::from_str(&text)
        .map_err(|e| AgentError::Unavailable(format!("unreadable enrollment answer: {e}")))?;
    let field = |k: &str| {
        v[k].as_str()
            .map(str::to_string)
            .ok_or_else(|| AgentError::Unavailable(format!("enrollment answer without {k}")))
    };
    let enrolled = Enrolled {
        server,
        issuer: field("issuer")?,
        agent_api: field("agentApi")?,
        device_id: field("deviceId")?,
        certificate: field("certificate")?,
        ca_certificate: field("caCertificate")?,
        jwks: v["jwks"].clone(),
        keyset_issued_at: None,
    };
    // The key first: a device.json without its key would be an enrollment that cannot sign.
    state.save_key(&key.serialize_pem())?;
    state.save_enrolled(&enrolled)?;
    state.log(&format!(
        "enrolled as device {} with {}",
        enrolled.device_id, enrolled.server
    ));
    Ok(enrolled)
}
