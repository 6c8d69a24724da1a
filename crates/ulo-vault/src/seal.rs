//! Secrets at rest: AES-256-GCM under the vault's master key, each bound to its purpose and
//! record (the AAD) so a sealed value cannot be moved to another record or field.

use ulo_jose::MasterKey;

use crate::error::VaultError;

/// Seals and opens the vault's secrets.
pub struct Sealer(MasterKey);

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Sealer")
            .field(&self.0.fingerprint())
            .finish()
    }
}

/// What a sealed value is, and whose.
#[derive(Debug, Clone, Copy)]
pub enum Purpose<'a> {
    /// An account's current password.
    Password(&'a str),
    /// A generated password not yet confirmed by the app.
    Candidate(&'a str),
    /// A managed app's connector secret.
    ConnectorSecret(&'a str),
    /// The PKCE verifier of a sign-in (by state hash).
    PkceVerifier(&'a str),
}

impl Purpose<'_> {
    fn aad(&self) -> String {
        match self {
            Self::Password(id) => format!("ulo-vault:account-password:{id}"),
            Self::Candidate(id) => format!("ulo-vault:account-candidate:{id}"),
            Self::ConnectorSecret(id) => format!("ulo-vault:connector-secret:{id}"),
            Self::PkceVerifier(h) => format!("ulo-vault:pkce-verifier:{h}"),
        }
    }
}

impl Sealer {
    /// A sealer with `key`.
    pub fn new(key: MasterKey) -> Self {
        Sealer(key)
    }

    /// Seals `plain` for `purpose`.
    pub fn seal(&self, plain: &str, purpose: Purpose<'_>) -> Result<String, VaultError> {
        self.0
            .seal(plain.as_bytes(), purpose.aad().as_bytes())
            .map_err(|e| VaultError::Internal(format!("sealing a secret: {e}")))
    }

    /// Opens a value sealed for `purpose`.
    pub fn open(&self, sealed: &str, purpose: Purpose<'_>) -> Result<String, VaultError> {
        let plain = self
            .0
            .open(sealed, purpose.aad().as_bytes())
            .map_err(|e| VaultError::Internal(format!("opening a sealed secret: {e}")))?;
        String::from_utf8(plain)
            .map_err(|_| VaultError::Internal("a sealed secret is not UTF-8".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_for_their_purpose() {
        let s = Sealer::new(MasterKey::generate());
        let sealed = s.seal("hunter2", Purpose::Password("a1")).unwrap();
        assert!(!sealed.contains("hunter2"));
        assert_eq!(s.open(&sealed, Purpose::Password("a1")).unwrap(), "hunter2");
        assert!(s.open(&sealed, Purpose::Password("a2")).is_err());
        assert!(s.open(&sealed, Purpose::Candidate("a1")).is_err());
    }
}
