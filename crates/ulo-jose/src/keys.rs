//! Signing key generation, public JWK derivation and the in-memory signing key.

use std::fmt;
use std::str::FromStr;

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair, RSA_PKCS1_SHA256, RsaKeyPair,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::error::JoseError;

/// Smallest RSA modulus accepted for signing, in bytes (2048 bits).
const MIN_RSA_MODULUS_BYTES: usize = 256;
/// JWK members that carry private key material and must never be published.
pub(crate) const PRIVATE_JWK_MEMBERS: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// Signing algorithms ulo creates keys for.
#[allow(clippy::upper_case_acronyms, reason = "JOSE algorithm names")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum KeyAlg {
    /// ECDSA with P-256 and SHA-256.
    ES256,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (2048-bit keys).
    RS256,
}

impl KeyAlg {
    /// Every supported algorithm, in the order keys are created on first start.
    pub const ALL: [KeyAlg; 2] = [KeyAlg::ES256, KeyAlg::RS256];

    /// The JOSE `alg` name.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyAlg::ES256 => "ES256",
            KeyAlg::RS256 => "RS256",
        }
    }

    /// The matching jsonwebtoken algorithm.
    pub fn jwt_algorithm(self) -> jsonwebtoken::Algorithm {
        match self {
            KeyAlg::ES256 => jsonwebtoken::Algorithm::ES256,
            KeyAlg::RS256 => jsonwebtoken::Algorithm::RS256,
        }
    }
}

impl fmt::Display for KeyAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for KeyAlg {
    type Err = JoseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ES256" => Ok(KeyAlg::ES256),
            "RS256" => Ok(KeyAlg::RS256),
            other => Err(JoseError::UnsupportedAlg(other.to_owned())),
        }
    }
}

/// A freshly generated key pair, ready to be sealed and stored.
pub struct GeneratedKey {
    /// RFC 7638 thumbprint of the public key.
    pub kid: String,
    /// Algorithm the key signs with.
    pub alg: KeyAlg,
    /// Unencrypted PKCS#8 v1 private key; seal it and drop it promptly.
    pub private_pkcs8_der: Vec<u8>,
    /// Public JWK including `kid`, `alg` and `use`.
    pub public_jwk: Value,
}

impl fmt::Debug for GeneratedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeneratedKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("private_pkcs8_der", &"[redacted]")
            .field("public_jwk", &self.public_jwk)
            .finish()
    }
}

/// ES256: P-256 via aws_lc_rs::signature::EcdsaKeyPair::generate_pkcs8; RS256: 2048-bit (aws_lc_rs::rsa::KeyPair::generate + to pkcs8 der). kid = RFC 7638 JWK thumbprint (base64url SHA-256).
pub fn generate_key(alg: KeyAlg) -> Result<GeneratedKey, JoseError> {
    let der = match alg {
        KeyAlg::ES256 => {
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .map_err(|_| JoseError::KeyGen("P-256 key generation failed".into()))?
                .as_ref()
                .to_vec()
        }
        KeyAlg::RS256 => {
            let pair = RsaKeyPair::generate(KeySize::Rsa2048)
                .map_err(|_| JoseError::KeyGen("RSA-2048 key generation failed".into()))?;
            let der: Pkcs8V1Der<'static> = pair
                .as_der()
                .map_err(|_| JoseError::KeyGen("cannot encode RSA key as PKCS#8".into()))?;
            der.as_ref().to_vec()
        }
    };
    let public_jwk = public_jwk_from_pkcs8(alg, &der)?;
    let kid = public_jwk
        .get("kid")
        .and_then(Value::as_str)
        .ok_or_else(|| JoseError::KeyGen("public JWK has no kid".into()))?
        .to_owned();
    Ok(GeneratedKey {
        kid,
        alg,
        private_pkcs8_der: der,
        public_jwk,
    })
}

/// Public JWK (kty, crv/x/y or n/e, kid, alg, use:"sig") computed from the pkcs8 private key. Never includes private parts.
pub fn public_jwk_from_pkcs8(alg: KeyAlg, pkcs8_der: &[u8]) -> Result<Value, JoseError> {
    let key = ParsedKey::from_pkcs8(alg, pkcs8_der)?;
    let mut jwk = key.public_components();
    let kid = jwk_thumbprint(&jwk)?;
    insert_metadata(&mut jwk, &kid, alg);
    Ok(jwk)
}

/// RFC 7638 thumbprint (base64url SHA-256) of an EC, RSA or OKP public JWK.
pub fn jwk_thumbprint(jwk: &Value) -> Result<String, JoseError> {
    let member = |name: &str| -> Result<&str, JoseError> {
        jwk.get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| JoseError::InvalidKey(format!("JWK has no string member {name:?}")))
    };
    // Required members in lexicographic order, serialized with serde_json so any unusual
    // characters are escaped exactly as RFC 7638 requires.
    let canonical = match member("kty")? {
        "EC" => json_object(&[
            ("crv", member("crv")?),
            ("kty", "EC"),
            ("x", member("x")?),
            ("y", member("y")?),
        ]),
        "RSA" => json_object(&[("e", member("e")?), ("kty", "RSA"), ("n", member("n")?)]),
        "OKP" => json_object(&[("crv", member("crv")?), ("kty", "OKP"), ("x", member("x")?)]),
        other => {
            return Err(JoseError::InvalidKey(format!(
                "cannot compute a thumbprint for key type {other:?}"
            )));
        }
    };
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, canonical.as_bytes());
    Ok(URL_SAFE_NO_PAD.encode(digest.as_ref()))
}

/// Serializes ordered string members without whitespace (independent of serde_json's map order).
fn json_object(members: &[(&str, &str)]) -> String {
    let body: Vec<String> = members
        .iter()
        .map(|(k, v)| format!("{}:{}", Value::from(*k), Value::from(*v)))
        .collect();
    format!("{{{}}}", body.join(","))
}

/// Adds `kid`, `alg` and `use` to a public JWK.
fn insert_metadata(jwk: &mut Value, kid: &str, alg: KeyAlg) {
    if let Some(obj) = jwk.as_object_mut() {
        obj.insert("kid".into(), Value::from(kid));
        obj.insert("alg".into(), Value::from(alg.as_str()));
        obj.insert("use".into(), Value::from("sig"));
    }
}

/// A parsed private key of either supported type.
enum ParsedKey {
    /// P-256 key producing fixed-length (r || s) signatures as JWS requires.
    Ec(EcdsaKeyPair),
    /// RSA key of at least 2048 bits.
    Rsa(RsaKeyPair),
}

impl ParsedKey {
    /// Parses a PKCS#8 v1 private key for `alg`, rejecting mismatched or weak keys.
    fn from_pkcs8(alg: KeyAlg, der: &[u8]) -> Result<Self, JoseError> {
        match alg {
            KeyAlg::ES256 => EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
                .map(ParsedKey::Ec)
                .map_err(|e| JoseError::InvalidKey(format!("not a PKCS#8 P-256 key: {e}"))),
            KeyAlg::RS256 => {
                let pair = RsaKeyPair::from_pkcs8(der)
                    .map_err(|e| JoseError::InvalidKey(format!("not a PKCS#8 RSA key: {e}")))?;
                if pair.public_modulus_len() < MIN_RSA_MODULUS_BYTES {
                    return Err(JoseError::InvalidKey(format!(
                        "RSA key is {} bits; at least 2048 are required",
                        pair.public_modulus_len() * 8
                    )));
                }
                Ok(ParsedKey::Rsa(pair))
            }
        }
    }

    /// The thumbprint-relevant public members (`kty` plus curve point or modulus/exponent).
    fn public_components(&self) -> Value {
        match self {
            ParsedKey::Ec(pair) => {
                // aws-lc-rs exposes the uncompressed SEC1 point: 0x04 || x || y.
                let point = pair.public_key().as_ref();
                let coords = point.get(1..).unwrap_or_default();
                let (x, y) = coords.split_at(coords.len() / 2);
                json!({
                    "kty": "EC",
                    "crv": "P-256",
                    "x": URL_SAFE_NO_PAD.encode(x),
                    "y": URL_SAFE_NO_PAD.encode(y),
                })
            }
            ParsedKey::Rsa(pair) => {
                let public = pair.public_key();
                json!({
                    "kty": "RSA",
                    "n": URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()),
                    "e": URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero()),
                })
            }
        }
    }

    /// The algorithm this key signs with.
    fn alg(&self) -> KeyAlg {
        match self {
            ParsedKey::Ec(_) => KeyAlg::ES256,
            ParsedKey::Rsa(_) => KeyAlg::RS256,
        }
    }
}

/// A private key held in memory for signing; never serializable and redacted in `Debug`.
pub struct SigningKey {
    /// Key id placed in the JWS header.
    pub kid: String,
    /// Algorithm the key signs with.
    pub alg: KeyAlg,
    /// The parsed key; aws-lc frees and cleanses it on drop.
    key: ParsedKey,
}

impl SigningKey {
    /// Parses an unencrypted PKCS#8 private key (e.g. just opened from the store).
    pub fn from_pkcs8_der(kid: String, alg: KeyAlg, der: &[u8]) -> Result<Self, JoseError> {
        if kid.is_empty() {
            return Err(JoseError::InvalidKey("empty kid".into()));
        }
        let key = ParsedKey::from_pkcs8(alg, der)?;
        Ok(Self { kid, alg, key })
    }

    /// Public JWK of this key with its current `kid`, `alg` and `use: "sig"`.
    pub fn public_jwk(&self) -> Value {
        let mut jwk = self.key.public_components();
        insert_metadata(&mut jwk, &self.kid, self.key.alg());
        jwk
    }

    /// Whether `jwk` describes this key's public half (compares only key material).
    pub(crate) fn matches_public_jwk(&self, jwk: &Value) -> bool {
        let ours = self.key.public_components();
        let Some(ours) = ours.as_object() else {
            return false;
        };
        ours.iter()
            .all(|(name, value)| jwk.get(name) == Some(value))
    }

    /// Produces the raw JWS signature over `message`.
    pub(crate) fn sign_raw(&self, message: &[u8]) -> Result<Vec<u8>, JoseError> {
        // `alg` is a public field; refuse to emit a header that lies about the signature.
        if self.alg != self.key.alg() {
            return Err(JoseError::InvalidKey(format!(
                "key {} is labelled {} but holds a {} key",
                self.kid,
                self.alg,
                self.key.alg()
            )));
        }
        let rng = SystemRandom::new();
        match &self.key {
            ParsedKey::Ec(pair) => pair
                .sign(&rng, message)
                .map(|sig| sig.as_ref().to_vec())
                .map_err(|_| JoseError::Crypto("ECDSA signing failed".into())),
            ParsedKey::Rsa(pair) => {
                let mut sig = vec![0u8; pair.public_modulus_len()];
                pair.sign(&RSA_PKCS1_SHA256, &rng, message, &mut sig)
                    .map_err(|_| JoseError::Crypto("RSA signing failed".into()))?;
                Ok(sig)
            }
        }
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alg_round_trip() {
        for alg in KeyAlg::ALL {
            assert_eq!(alg.as_str().parse::<KeyAlg>().ok(), Some(alg));
            assert_eq!(
                serde_json::to_value(alg).unwrap(),
                Value::from(alg.as_str())
            );
        }
        assert!(matches!(
            "HS256".parse::<KeyAlg>(),
            Err(JoseError::UnsupportedAlg(_))
        ));
    }

    #[test]
    fn rfc7638_example_thumbprint() {
        // The worked example from RFC 7638 section 3.1.
        let jwk = json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        });
        assert_eq!(
            jwk_thumbprint(&jwk).unwrap(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn debug_redacts_private_key() {
        let key = generate_key(KeyAlg::ES256).unwrap();
        let dbg = format!("{key:?}");
        assert!(dbg.contains("redacted"));
        assert!(!dbg.contains(&format!("{:?}", key.private_pkcs8_der)));
        let signing = SigningKey::from_pkcs8_der(key.kid, key.alg, &key.private_pkcs8_der).unwrap();
        assert!(format!("{signing:?}").contains("SigningKey"));
    }

    #[test]
    fn wrong_alg_for_key_rejected() {
        let key = generate_key(KeyAlg::ES256).unwrap();
        assert!(matches!(
            SigningKey::from_pkcs8_der("k".into(), KeyAlg::RS256, &key.private_pkcs8_der),
            Err(JoseError::InvalidKey(_))
        ));
        assert!(matches!(
            public_jwk_from_pkcs8(KeyAlg::ES256, b"garbage"),
            Err(JoseError::InvalidKey(_))
        ));
    }
}
