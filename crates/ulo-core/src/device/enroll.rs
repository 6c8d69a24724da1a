//! Enrollment: admins create single-use, expiring tokens; an agent presents one with a CSR and
//! gets a certificate from ulo's device CA.

use crate::log::catalogue as events;
use time::{Duration, OffsetDateTime};

use super::{
    Device, DeviceCertificate, DeviceSettings, DeviceStatus, EnrollmentToken, FEATURE,
    check_agent_version,
};
use crate::auth::{hash_token, random_base62};
use crate::clock::Clock;
use crate::context::{Context, require_write};
use crate::error::{DomainError, Problems};
use crate::ids::DeviceId;
use crate::log::{Client, LogEvent, Target, Transaction};
use crate::store::Store;

/// ulo's device CA: signs device certificates (implemented with the CA key, sealed at rest).
pub trait DeviceCa: Send + Sync {
    /// Checks `csr_pem` (PKCS#10, signed by a P-256 key) and issues a certificate for `device`.
    fn issue(
        &self,
        csr_pem: &str,
        device: DeviceId,
        now: OffsetDateTime,
    ) -> Result<IssuedCertificate, String>;
    /// The CA certificate, PEM.
    fn ca_certificate_pem(&self) -> String;
}

/// A certificate the CA issued, with the key it certifies.
#[derive(Debug, Clone, PartialEq)]
pub struct IssuedCertificate {
    /// The certificate.
    pub certificate: DeviceCertificate,
    /// The certified P-256 public key (uncompressed point, base64url).
    pub public_key: String,
}

/// What an agent sends to enroll.
#[derive(Debug, Clone)]
pub struct Enrollment {
    /// The enrollment token.
    pub token: String,
    /// PKCS#10 CSR, PEM.
    pub csr: String,
    /// `macos` or `linux`.
    pub platform: String,
    /// OS version.
    pub os_version: String,
    /// Host name.
    pub hostname: String,
    /// The agent's version.
    pub agent_version: String,
}

/// A new enrollment token, shown once.
#[derive(Debug, Clone)]
pub struct EnrollmentTokenCreated {
    /// The stored record.
    pub token: EnrollmentToken,
    /// The secret.
    pub secret: String,
}

/// Default and bounds of an enrollment token's life.
const TOKEN_DEFAULT: Duration = Duration::hours(1);
const TOKEN_MIN: Duration = Duration::minutes(1);
const TOKEN_MAX: Duration = Duration::days(30);

/// Creates a single-use enrollment token valid for `expires_in_seconds` (default 1 hour,
/// 60 s to 30 days). Needs SUPER_ADMIN and the Device Logout feature.
pub async fn create_enrollment_token(
    store: &dyn Store,
    clock: &dyn Clock,
    ctx: &Context,
    expires_in_seconds: Option<i64>,
) -> Result<EnrollmentTokenCreated, DomainError> {
    require_write(ctx)?;
    let life = expires_in_seconds.map_or(TOKEN_DEFAULT, Duration::seconds);
    if !(TOKEN_MIN..=TOKEN_MAX).contains(&life) {
        return Err(DomainError::invalid(
            "Invalid enrollment token request",
            "expiresInSeconds: must be between 60 and 2592000 (30 days)",
        ));
    }
    let mut tx = store.begin().await?;
    crate::features::require(tx.as_mut(), FEATURE).await?;
    let now = clock.now();
    let secret = format!("ulo_enroll_{}", random_base62(40));
    let token = EnrollmentToken {
        id: uuid::Uuid::now_v7().to_string(),
        token_hash: hash_token(&secret),
        created_by: ctx.actor.id.clone(),
        created: now,
        expires: now + life,
        used: None,
        device_id: None,
    };
    tx.insert_enrollment_token(&token).await?;
    let ev = LogEvent::build(
        ctx,
        events::device::ENROLLMENT_TOKEN_CREATE,
        now,
        "Create device enrollment token",
    )
    .target(Target::new(
        "DeviceEnrollmentToken",
        &token.id,
        token.id.clone(),
        "device enrollment token",
    ))
    .debug("expiresAt", crate::clock::rfc3339(token.expires))
    .finish();
    tx.append_event(&ev).await?;
    tx.commit().await?;
    Ok(EnrollmentTokenCreated { token, secret })
}

fn validate(e: &Enrollment) -> Result<(), DomainError> {
    let mut p = Problems::default();
    p.check(
        !matches!(e.platform.as_str(), "macos" | "linux"),
        "platform: must be macos or linux",
    );
    let len_ok = |s: &str, max: usize| !s.trim().is_empty() && s.chars().count() <= max;
    p.check(
        !len_ok(&e.os_version, 100),
        "osVersion: must be 1 to 100 characters",
    );
    p.check(
        !len_ok(&e.hostname, 253),
        "hostname: must be 1 to 253 characters",
    );
    p.check(e.token.trim().is_empty(), "token: required");
    p.check(
        e.csr.trim().is_empty(),
        "csr: required (a PEM certificate signing request)",
    );
    p.finish("Invalid enrollment request")
}

/// Enrolls a device: checks the request, the agent's version, then the token (known, unused,
/// unexpired), has the CA certify the CSR's key, and stores the device with the token used,
/// in one transaction (`device.enrollment.create`).
pub async fn enroll(
    store: &dyn Store,
    clock: &dyn Clock,
    ca: &dyn DeviceCa,
    settings: &DeviceSettings,
    client: Client,
    req: &Enrollment,
) -> Result<Device, DomainError> {
    validate(req)?;
    let mut tx = store.begin().await?;
    crate::features::require(tx.as_mut(), FEATURE).await?;
    check_agent_version(&req.agent_version, settings.min_agent_version)?;
    let now = clock.now();
    let token = tx
        .find_enrollment_token(&hash_token(req.token.trim()))
        .await?
        .ok_or_else(|| {
            DomainError::Unauthorized(
                "The enrollment token is not valid: ask an admin for a new one (POST /api/v1/device-enrollment-tokens)".into(),
            )
        })?;
    if let Some(used) = token.used {
        return Err(DomainError::Unauthorized(format!(
            "The enrollment token was already used (at {}); tokens are single-use: ask an admin for a new one",
            crate::clock::rfc3339(used)
        )));
    }
    if token.expires <= now {
        return Err(DomainError::Unauthorized(format!(
            "The enrollment token expired at {}: ask an admin for a new one",
            crate::clock::rfc3339(token.expires)
        )));
    }
    let id = DeviceId::new();
    let issued = ca
        .issue(&req.csr, id, now)
        .map_err(|e| DomainError::invalid("Invalid enrollment request", format!("csr: {e}")))?;
    if !tx.consume_enrollment_token(&token.id, id, now).await? {
        return Err(DomainError::Unauthorized(
            "The enrollment token was already used; tokens are single-use: ask an admin for a new one".into(),
        ));
    }
    let device = Device {
        id,
        status: DeviceStatus::Active,
        platform: req.platform.clone(),
        os_version: req.os_version.trim().to_string(),
        hostname: req.hostname.trim().to_string(),
        agent_version: req.agent_version.trim().to_string(),
        public_key: issued.public_key,
        certificate: issued.certificate,
        created: now,
        last_seen: Some(now),
        console_user: None,
        revoked: None,
    };
    tx.insert_device(&device).await?;
    let ctx = Context {
        authority: crate::context::Authority::Full,
        actor: device.actor(),
        actor_user: None,
        roles: Vec::new(),
        client,
        transaction: Transaction {
            id: crate::ids::TransactionId::new().to_string(),
            transaction_type: "DEVICE".into(),
        },
    };
    let ev = LogEvent::build(
        &ctx,
        events::device::ENROLL,
        now,
        format!("Enroll device {}", device.hostname),
    )
    .target(device.target())
    .debug("platform", device.platform.clone())
    .debug("osVersion", device.os_version.clone())
    .debug("agentVersion", device.agent_version.clone())
    .debug(
        "certificateSerial",
        device.certificate.serial_number.clone(),
    )
    .debug("enrollmentTokenId", token.id.clone())
    .finish();
    tx.append_event(&ev).await?;
    tx.commit().await?;
    Ok(device)
}
