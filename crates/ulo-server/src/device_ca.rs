//! ulo's device CA: a P-256 CA created on first start, its private key sealed with the master
//! key in the store, which certifies the keys agents enroll with (the role of the seed's SCEP
//! certificates).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;
use rcgen::{
    BasicConstraints, CertificateParams, CertificateSigningRequestParams, DistinguishedName,
    DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, SerialNumber,
};
use serde_json::json;
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};
use ulo_core::clock::Clock;
use ulo_core::device::{DeviceCa, DeviceCertificate, IssuedCertificate};
use ulo_core::directory::Sealer;
use ulo_core::ids::DeviceId;
use ulo_core::store::Store;

/// Where the CA lives in the settings.
const SETTING: &str = "device_ca";
/// What the sealed key is bound to.
const PURPOSE: &str = "device-ca";
/// How long a device certificate is valid.
const DEVICE_CERT_LIFE: Duration = Duration::days(365);

/// The CA, loaded.
pub struct RcgenDeviceCa {
    issuer: Issuer<'static, KeyPair>,
    pem: String,
}

impl std::fmt::Debug for RcgenDeviceCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RcgenDeviceCa").finish_non_exhaustive()
    }
}

fn random_serial() -> SerialNumber {
    let mut bytes: [u8; 16] = rand::rng().random();
    // Positive as a DER INTEGER.
    bytes[0] &= 0x7f;
    SerialNumber::from_slice(&bytes)
}

/// Creates the CA on first start (sealed at rest), then loads it.
pub async fn ensure_ca(
    store: &dyn Store,
    sealer: &dyn Sealer,
    clock: &dyn Clock,
) -> Result<RcgenDeviceCa, String> {
    let mut tx = store.begin().await.map_err(|e| e.to_string())?;
    let stored = match tx.get_setting(SETTING).await.map_err(|e| e.to_string())? {
        Some(v) => v,
        None => {
            let now = clock.now();
            let key = KeyPair::generate().map_err(|e| e.to_string())?;
            let mut params = CertificateParams::default();
            let mut dn = DistinguishedName::new();
            dn.push(DnType::CommonName, "ulo device CA");
            params.distinguished_name = dn;
            params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
            params.key_usages = vec![
                KeyUsagePurpose::KeyCertSign,
                KeyUsagePurpose::CrlSign,
                KeyUsagePurpose::DigitalSignature,
            ];
            params.not_before = now - Duration::hours(1);
            params.not_after = now + Duration::days(20 * 365);
            params.serial_number = Some(random_serial());
            let cert = params.self_signed(&key).map_err(|e| e.to_string())?;
            let sealed = sealer.seal(&key.serialize_der(), PURPOSE)?;
            let v = json!({"certificatePem": cert.pem(), "keySealed": sealed});
            tx.put_setting(SETTING, &v, now)
                .await
                .map_err(|e| e.to_string())?;
            tx.commit().await.map_err(|e| e.to_string())?;
            v
        }
    };
    let pem = stored["certificatePem"]
        .as_str()
        .ok_or("device CA setting has no certificate")?
        .to_string();
    let der = sealer.open(
        stored["keySealed"]
            .as_str()
            .ok_or("device CA setting has no key")?,
        PURPOSE,
    )?;
    let key = KeyPair::try_from(der.as_slice()).map_err(|e| format!("device CA key: {e}"))?;
    let issuer = Issuer::from_ca_cert_pem(&pem, key).map_err(|e| format!("device CA: {e}"))?;
    Ok(RcgenDeviceCa { issuer, pem })
}

impl DeviceCa for RcgenDeviceCa {
    fn issue(
        &self,
        csr_pem: &str,
        device: DeviceId,
        now: OffsetDateTime,
    ) -> Result<IssuedCertificate, String> {
        let mut csr = CertificateSigningRequestParams::from_pem(csr_pem).map_err(|e| {
            format!("not a valid PEM certificate signing request with a valid signature ({e})")
        })?;
        if csr.public_key.algorithm() != &rcgen::PKCS_ECDSA_P256_SHA256 {
            return Err("the key must be ECDSA P-256 (ES256)".into());
        }
        // The CA decides what is certified: the device id as subject, client auth, one year.
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, device.to_string());
        dn.push(DnType::OrganizationName, "ulo device");
        let p = &mut csr.params;
        p.distinguished_name = dn;
        p.subject_alt_names = Vec::new();
        p.is_ca = IsCa::NoCa;
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        p.not_before = now - Duration::minutes(5);
        p.not_after = now + DEVICE_CERT_LIFE;
        let serial = random_serial();
        p.serial_number = Some(serial.clone());
        let (not_before, not_after) = (p.not_before, p.not_after);
        let cert = csr.signed_by(&self.issuer).map_err(|e| e.to_string())?;
        use rcgen::PublicKeyData;
        Ok(IssuedCertificate {
            certificate: DeviceCertificate {
                pem: cert.pem(),
                serial_number: hex::encode(serial.to_bytes()),
                sha256_fingerprint: hex::encode(Sha256::digest(cert.der())),
                not_before,
                not_after,
            },
            public_key: URL_SAFE_NO_PAD.encode(csr.public_key.der_bytes()),
        })
    }

    fn ca_certificate_pem(&self) -> String {
        self.pem.clone()
    }
}
