//! Devices, their users, enrollment tokens and commands.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::clock::serde_rfc3339;
use crate::ids::{DeviceCommandId, DeviceId, JobId, LogoutId, UserId};
use crate::log::{Actor, Target};
use crate::user::str_enum;

use super::AgentVersion;

/// The early-access feature that gates everything here.
pub const FEATURE: &str = "device-logout";

/// Server settings for devices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceSettings {
    /// Agents older than this are refused (at enrollment and on every call).
    pub min_agent_version: Option<AgentVersion>,
    /// How long a command waits for its acknowledgement before it expires.
    pub command_ttl: time::Duration,
}

impl Default for DeviceSettings {
    fn default() -> Self {
        DeviceSettings {
            min_agent_version: None,
            command_ttl: time::Duration::hours(24),
        }
    }
}

/// Where a device is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeviceStatus {
    /// Enrolled; its calls are answered.
    Active,
    /// Revoked by an admin; every call it makes is refused.
    Revoked,
}
str_enum!(DeviceStatus { Active => "ACTIVE", Revoked => "REVOKED" });

/// The certificate ulo's device CA issued to a device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceCertificate {
    /// PEM.
    pub pem: String,
    /// Serial number, hex.
    pub serial_number: String,
    /// SHA-256 of the DER, hex.
    pub sha256_fingerprint: String,
    /// Valid from.
    #[serde(with = "serde_rfc3339")]
    pub not_before: OffsetDateTime,
    /// Valid until.
    #[serde(with = "serde_rfc3339")]
    pub not_after: OffsetDateTime,
}

/// An enrolled computer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Device {
    /// Id (also the certificate's subject common name).
    pub id: DeviceId,
    /// Status.
    pub status: DeviceStatus,
    /// `macos`, `linux`…
    pub platform: String,
    /// Operating system version, as the agent reports it.
    pub os_version: String,
    /// Host name, as the agent reports it.
    pub hostname: String,
    /// The agent's version.
    pub agent_version: String,
    /// The device key's public part: the P-256 point (uncompressed, base64url), for verifying
    /// the agent's signed requests.
    pub public_key: String,
    /// Its certificate.
    pub certificate: DeviceCertificate,
    /// Enrolled.
    #[serde(with = "serde_rfc3339")]
    pub created: OffsetDateTime,
    /// Last call from the agent.
    #[serde(with = "serde_rfc3339::option")]
    pub last_seen: Option<OffsetDateTime>,
    /// The console user the agent last reported (the OS account name).
    pub console_user: Option<String>,
    /// Revoked.
    #[serde(with = "serde_rfc3339::option")]
    pub revoked: Option<OffsetDateTime>,
}

impl Device {
    /// The device as a System Log target.
    pub fn target(&self) -> Target {
        Target::new(
            "Device",
            self.id,
            self.hostname.clone(),
            self.hostname.clone(),
        )
    }

    /// The device as the actor of what its agent does.
    pub fn actor(&self) -> Actor {
        Actor {
            id: self.id.to_string(),
            actor_type: "Device".into(),
            alternate_id: self.hostname.clone(),
            display_name: self.hostname.clone(),
        }
    }
}

/// Someone seen signed in on a device (ulo links devices and users by what agents report).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceUser {
    /// The device.
    pub device_id: DeviceId,
    /// The ulo user.
    pub user_id: UserId,
    /// Their account name on the device (what the sign-out command is given).
    pub os_login: String,
    /// First reported.
    #[serde(with = "serde_rfc3339")]
    pub first_seen: OffsetDateTime,
    /// Last reported.
    #[serde(with = "serde_rfc3339")]
    pub last_seen: OffsetDateTime,
}

/// A single-use, expiring token an agent presents to enroll. Only its hash is stored.
#[derive(Debug, Clone, PartialEq)]
pub struct EnrollmentToken {
    /// Id.
    pub id: String,
    /// SHA-256 hex of the token.
    pub token_hash: String,
    /// Who created it (actor id).
    pub created_by: String,
    /// Created.
    pub created: OffsetDateTime,
    /// Refused after this.
    pub expires: OffsetDateTime,
    /// When it was used, if it was.
    pub used: Option<OffsetDateTime>,
    /// The device that used it.
    pub device_id: Option<DeviceId>,
}

/// What a command asks of the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CommandType {
    /// Sign a user out of the computer.
    SignOut,
}
str_enum!(CommandType { SignOut => "SIGN_OUT" });

/// Where a command is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CommandStatus {
    /// Waiting for the device to pick it up.
    Issued,
    /// Handed to the device at least once; waiting for its acknowledgement.
    Delivered,
    /// The device did it.
    Succeeded,
    /// The device tried and failed.
    Failed,
    /// Not acknowledged in time.
    Expired,
}
str_enum!(CommandStatus { Issued => "ISSUED", Delivered => "DELIVERED", Succeeded => "SUCCEEDED", Failed => "FAILED", Expired => "EXPIRED" });

impl CommandStatus {
    /// Whether the command has its final answer.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Expired)
    }
}

/// A command for one device, issued as one target of a logout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceCommand {
    /// Id (the `jti` of the signed command).
    pub id: DeviceCommandId,
    /// The device.
    pub device_id: DeviceId,
    /// What to do.
    #[serde(rename = "type")]
    pub command_type: CommandType,
    /// Where it is.
    pub status: CommandStatus,
    /// The person to sign out.
    pub user_id: UserId,
    /// Their ulo login.
    pub user_login: String,
    /// Their account name on the device.
    pub os_login: String,
    /// The logout this command is a target of.
    pub logout_id: LogoutId,
    /// Its position among the receipt's targets.
    pub target: usize,
    /// The logout's transaction id (System Log correlation).
    pub transaction_id: String,
    /// Issued.
    #[serde(with = "serde_rfc3339")]
    pub created: OffsetDateTime,
    /// Expires unacknowledged after this.
    #[serde(with = "serde_rfc3339")]
    pub expires: OffsetDateTime,
    /// First handed to the device.
    #[serde(with = "serde_rfc3339::option")]
    pub delivered: Option<OffsetDateTime>,
    /// How many times it was handed out.
    pub deliveries: i64,
    /// Acknowledged or expired.
    #[serde(with = "serde_rfc3339::option")]
    pub completed: Option<OffsetDateTime>,
    /// What the device said (or why it expired).
    pub detail: Option<String>,
    /// The job that expires it.
    pub expiry_job: JobId,
}
