//! Seals secrets at rest with the operator's master key.

use ulo_core::directory::Sealer;
use ulo_jose::MasterKey;

/// AES-256-GCM sealing with the master key; `purpose` is bound as associated data.
pub struct MasterKeySealer(pub MasterKey);

impl Sealer for MasterKeySealer {
    fn seal(&self, plaintext: &[u8], purpose: &str) -> Result<String, String> {
        self.0
            .seal(plaintext, purpose.as_bytes())
            .map_err(|e| e.to_string())
    }

    fn open(&self, sealed: &str, purpose: &str) -> Result<Vec<u8>, String> {
        self.0
            .open(sealed, purpose.as_bytes())
            .map_err(|e| e.to_string())
    }
}
