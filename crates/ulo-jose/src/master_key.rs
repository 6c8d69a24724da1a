//! The master key that encrypts signing keys (and other secrets) at rest.

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::path::Path;

use aws_lc_rs::aead::{AES_256_GCM, Aad, NONCE_LEN, Nonce, RandomizedNonceKey};
use base64::Engine;
use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, URL_SAFE_NO_PAD};
use base64::engine::{DecodePaddingMode, general_purpose::STANDARD};
use rand::RngCore;
use zeroize::{Zeroize, Zeroizing};

use crate::error::JoseError;

/// Length of the master key in bytes (AES-256).
const KEY_LEN: usize = 32;
/// Version prefix of sealed strings, so the format can evolve without guessing.
const SEAL_PREFIX: &str = "v1.";
/// Prepended to the caller's AAD so a v1 ciphertext can never be opened as another format.
const SEAL_AAD_DOMAIN: &[u8] = b"ulo-seal-v1\0";
/// AES-GCM tag length.
const TAG_LEN: usize = 16;
/// A key file is one base64 line; anything much larger is not a key file.
const MAX_KEY_FILE_LEN: u64 = 1024;

/// Operators paste keys from many tools, so accept either alphabet with or without padding.
const STANDARD_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);
/// URL-safe counterpart of [`STANDARD_LENIENT`].
const URL_SAFE_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A 256-bit AES-GCM key used to seal secrets at rest; zeroized on drop.
#[derive(Clone)]
pub struct MasterKey(Zeroizing<[u8; KEY_LEN]>);

impl MasterKey {
    /// Generates a fresh random master key.
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        // ThreadRng is a CSPRNG seeded from the OS and, unlike aws-lc's fallible API,
        // cannot fail here, which keeps this constructor infallible.
        rand::rng().fill_bytes(&mut bytes[..]);
        Self(bytes)
    }

    /// Parses standard or URL-safe base64 (padding optional) that must decode to 32 bytes.
    pub fn from_base64(s: &str) -> Result<Self, JoseError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(JoseError::BadMasterKey(
                "it is empty; expected base64 of 32 random bytes (e.g. `openssl rand -base64 32`)"
                    .into(),
            ));
        }
        let decoded = STANDARD_LENIENT
            .decode(s)
            .or_else(|_| URL_SAFE_LENIENT.decode(s))
            .map(Zeroizing::new)
            .map_err(|_| {
                // The input is deliberately not echoed: it is (almost) a secret.
                JoseError::BadMasterKey(
                    "it is not valid base64 (standard or URL-safe); expected base64 of 32 \
                     random bytes (e.g. `openssl rand -base64 32`)"
                        .into(),
                )
            })?;
        if decoded.len() != KEY_LEN {
            return Err(JoseError::BadMasterKey(format!(
                "it decodes to {} bytes but must be exactly {KEY_LEN} bytes \
                 (e.g. `openssl rand -base64 32`)",
                decoded.len()
            )));
        }
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        bytes.copy_from_slice(&decoded);
        Ok(Self(bytes))
    }

    /// Encodes the key as standard padded base64 (the format of the key file).
    pub fn to_base64(&self) -> String {
        STANDARD.encode(&self.0[..])
    }

    /// Reads the key file, or creates it (parent dir must exist) with mode 0600 on unix containing base64 + "\n"; refuses (error) to use an existing file that is group/world readable on unix.
    pub fn load_or_create_file(path: &Path) -> Result<Self, JoseError> {
        match File::open(path) {
            Ok(file) => Self::read_key_file(path, file),
            Err(e) if e.kind() == ErrorKind::NotFound => Self::create_key_file(path),
            Err(e) => Err(io_err(
                format!("cannot open master key file {}", path.display()),
                e,
            )),
        }
    }

    /// Creates a new key file; if another process wins the creation race, uses its key.
    fn create_key_file(path: &Path) -> Result<Self, JoseError> {
        let key = Self::generate();
        let mut opts = OpenOptions::new();
        // create_new fails instead of truncating a key file that appeared meanwhile:
        // overwriting a key would make everything sealed with it unreadable.
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut file = match opts.open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                let file = File::open(path).map_err(|e| {
                    io_err(format!("cannot open master key file {}", path.display()), e)
                })?;
                return Self::read_key_file(path, file);
            }
            Err(e) => {
                let hint = if e.kind() == ErrorKind::NotFound {
                    " (its parent directory must exist)"
                } else {
                    ""
                };
                return Err(io_err(
                    format!("cannot create master key file {}{hint}", path.display()),
                    e,
                ));
            }
        };
        let mut contents = Zeroizing::new(key.to_base64());
        contents.push('\n');
        let written = file
            .write_all(contents.as_bytes())
            .and_then(|()| file.sync_all());
        if let Err(e) = written {
            // A half-written file would block the next start with a confusing parse error;
            // nothing was sealed with this key yet, so removing it is safe.
            drop(file);
            let _ = std::fs::remove_file(path);
            return Err(io_err(
                format!("cannot write master key file {}", path.display()),
                e,
            ));
        }
        Ok(key)
    }

    /// Validates permissions of an opened key file and parses its contents.
    fn read_key_file(path: &Path, file: File) -> Result<Self, JoseError> {
        // Checking the opened handle (fstat) rather than the path avoids a check/use race.
        let meta = file.metadata().map_err(|e| {
            io_err(
                format!("cannot inspect master key file {}", path.display()),
                e,
            )
        })?;
        if !meta.is_file() {
            return Err(JoseError::InsecureKeyFile(format!(
                "{} is not a regular file",
                path.display()
            )));
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(JoseError::InsecureKeyFile(format!(
                    "{} has mode {mode:04o} but must not be accessible by group or others; \
                     run `chmod 600 {}`",
                    path.display(),
                    path.display()
                )));
            }
        }
        let mut contents = Zeroizing::new(String::new());
        file.take(MAX_KEY_FILE_LEN + 1)
            .read_to_string(&mut contents)
            .map_err(|e| io_err(format!("cannot read master key file {}", path.display()), e))?;
        if contents.len() as u64 > MAX_KEY_FILE_LEN {
            return Err(JoseError::BadMasterKey(format!(
                "{} is too large to be a master key file",
                path.display()
            )));
        }
        if contents.trim().is_empty() {
            return Err(JoseError::BadMasterKey(format!(
                "{} is empty; if an earlier start was interrupted while creating it, nothing \
                 was sealed with it and it can be deleted",
                path.display()
            )));
        }
        Self::from_base64(&contents).map_err(|e| match e {
            JoseError::BadMasterKey(msg) => {
                JoseError::BadMasterKey(format!("{} (in {})", msg, path.display()))
            }
            other => other,
        })
    }

    /// AES-256-GCM with a random 96-bit nonce; output "v1." + base64url-no-pad(nonce || ciphertext+tag). `aad` binds the ciphertext to its purpose (e.g. b"signing-key:<kid>").
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<String, JoseError> {
        let key = self.aead_key()?;
        // Reserve room for the tag so appending it does not reallocate and leave a copy of
        // the plaintext behind in freed memory.
        let mut in_out = Vec::with_capacity(plaintext.len() + TAG_LEN);
        in_out.extend_from_slice(plaintext);
        let nonce = match key.seal_in_place_append_tag(Aad::from(full_aad(aad)), &mut in_out) {
            Ok(nonce) => nonce,
            Err(_) => {
                in_out.zeroize();
                return Err(JoseError::Crypto("AES-256-GCM seal failed".into()));
            }
        };
        let mut out = Vec::with_capacity(NONCE_LEN + in_out.len());
        out.extend_from_slice(nonce.as_ref());
        out.extend_from_slice(&in_out);
        Ok(format!("{SEAL_PREFIX}{}", URL_SAFE_NO_PAD.encode(out)))
    }

    /// Decrypts a value produced by [`MasterKey::seal`] with the same `aad`.
    pub fn open(&self, sealed: &str, aad: &[u8]) -> Result<Vec<u8>, JoseError> {
        let body = sealed.trim().strip_prefix(SEAL_PREFIX).ok_or_else(|| {
            JoseError::SealedFormat(format!("expected the {SEAL_PREFIX:?} version prefix"))
        })?;
        let mut raw = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| JoseError::SealedFormat("body is not base64url".into()))?;
        if raw.len() < NONCE_LEN + TAG_LEN {
            return Err(JoseError::SealedFormat("too short".into()));
        }
        let nonce = Nonce::try_assume_unique_for_key(&raw[..NONCE_LEN])
            .map_err(|_| JoseError::SealedFormat("bad nonce".into()))?;
        let key = self.aead_key()?;
        let plain_len = key
            .open_in_place(nonce, Aad::from(full_aad(aad)), &mut raw[NONCE_LEN..])
            .map_err(|_| JoseError::Decrypt)?
            .len();
        // Move the plaintext to the front instead of copying it into a second buffer.
        raw.copy_within(NONCE_LEN..NONCE_LEN + plain_len, 0);
        raw.truncate(plain_len);
        Ok(raw)
    }

    /// Short fingerprint (first 8 hex of sha256) to let operators tell keys apart without revealing them.
    pub fn fingerprint(&self) -> String {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &self.0[..]);
        digest.as_ref()[..4]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Builds the AEAD key; cheap enough to do per call and keeps `MasterKey` plain bytes.
    fn aead_key(&self) -> Result<RandomizedNonceKey, JoseError> {
        RandomizedNonceKey::new(&AES_256_GCM, &self.0[..])
            .map_err(|_| JoseError::Crypto("cannot initialise AES-256-GCM key".into()))
    }
}

impl PartialEq for MasterKey {
    /// Constant-time comparison, so equality checks do not leak key bytes via timing.
    fn eq(&self, other: &Self) -> bool {
        aws_lc_rs::constant_time::verify_slices_are_equal(&self.0[..], &other.0[..]).is_ok()
    }
}

impl Eq for MasterKey {}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MasterKey")
            .field("fingerprint", &self.fingerprint())
            .finish_non_exhaustive()
    }
}

/// Domain-separated AAD actually authenticated by AES-GCM.
fn full_aad(aad: &[u8]) -> Vec<u8> {
    let mut full = Vec::with_capacity(SEAL_AAD_DOMAIN.len() + aad.len());
    full.extend_from_slice(SEAL_AAD_DOMAIN);
    full.extend_from_slice(aad);
    full
}

/// Wraps an I/O error with what was being attempted.
fn io_err(context: String, source: std::io::Error) -> JoseError {
    JoseError::Io { context, source }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_variants_accepted() {
        let key = MasterKey::generate();
        let std_padded = key.to_base64();
        let url_nopad = URL_SAFE_NO_PAD.encode(&key.0[..]);
        assert_eq!(MasterKey::from_base64(&std_padded).ok(), Some(key.clone()));
        assert_eq!(MasterKey::from_base64(&url_nopad).ok(), Some(key.clone()));
        assert_eq!(
            MasterKey::from_base64(&format!("  {std_padded}\n")).ok(),
            Some(key)
        );
    }

    #[test]
    fn bad_base64_rejected() {
        for bad in ["", "not base64!!", &STANDARD.encode([0u8; 16])] {
            let err = MasterKey::from_base64(bad).err();
            assert!(
                matches!(err, Some(JoseError::BadMasterKey(_))),
                "{bad:?}: {err:?}"
            );
        }
        let msg = MasterKey::from_base64(&STANDARD.encode([0u8; 31]))
            .unwrap_err()
            .to_string();
        assert!(msg.contains("31 bytes"), "{msg}");
    }

    #[test]
    fn debug_does_not_leak() {
        let key = MasterKey::generate();
        let dbg = format!("{key:?}");
        assert!(!dbg.contains(&key.to_base64()));
        assert!(dbg.contains(&key.fingerprint()));
        assert_eq!(key.fingerprint().len(), 8);
    }

    #[test]
    fn sealed_format() {
        let key = MasterKey::generate();
        let sealed = key.seal(b"hello", b"aad").unwrap();
        assert!(sealed.starts_with("v1."));
        assert!(!sealed.contains('='));
        // Random nonces: the same plaintext seals differently each time.
        assert_ne!(sealed, key.seal(b"hello", b"aad").unwrap());
        assert!(matches!(
            key.open("v2.AAAA", b"aad"),
            Err(JoseError::SealedFormat(_))
        ));
        assert!(matches!(
            key.open("v1.AAAA", b"aad"),
            Err(JoseError::SealedFormat(_))
        ));
    }
}
