//! Integration tests for ulo-jose: sealing, key files, key generation, signing and verification.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests and harnesses: a panic is a failure report

#[path = "jose/remote.rs"]
mod remote;

use std::path::PathBuf;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use ulo_jose::{
    GeneratedKey, JoseError, KeyAlg, KeyRing, MasterKey, SigningKey, VerifyOptions, generate_key,
    jwk_thumbprint, public_jwk_from_pkcs8, typ, verify_with_jwks,
};

const NOW: i64 = 1_750_000_000;
const ISS: &str = "https://ulo.example";
const AUD: &str = "https://rp.example";

/// RSA generation is slow, so each test binary generates exactly two RSA keys.
fn rsa_keys() -> &'static [GeneratedKey; 2] {
    static KEYS: OnceLock<[GeneratedKey; 2]> = OnceLock::new();
    KEYS.get_or_init(|| {
        [
            generate_key(KeyAlg::RS256).unwrap(),
            generate_key(KeyAlg::RS256).unwrap(),
        ]
    })
}

/// Builds a ring from generated keys (all active, all published).
fn ring_of(keys: &[&GeneratedKey]) -> KeyRing {
    let active = keys
        .iter()
        .map(|k| SigningKey::from_pkcs8_der(k.kid.clone(), k.alg, &k.private_pkcs8_der).unwrap())
        .collect();
    let published = keys.iter().map(|k| k.public_jwk.clone()).collect();
    KeyRing::new(active, published).unwrap()
}

/// A ring with one ES256 and the first RSA key.
fn ring() -> (KeyRing, GeneratedKey) {
    let ec = generate_key(KeyAlg::ES256).unwrap();
    let ring = ring_of(&[&ec, &rsa_keys()[0]]);
    (ring, ec)
}

fn claims() -> Value {
    json!({
        "iss": ISS,
        "aud": AUD,
        "sub": "user-1",
        "iat": NOW,
        "exp": NOW + 300,
        "jti": "j1",
    })
}

fn opts() -> VerifyOptions<'static> {
    VerifyOptions {
        expected_typ: Some(typ::LOGOUT),
        issuer: Some(ISS),
        audience: Some(AUD),
        leeway_secs: 30,
        now_unix: Some(NOW),
    }
}

/// A fresh, empty directory under the system temp dir.
fn temp_dir() -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "ulo-jose-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
}

// ---------- master key ----------

#[test]
fn seal_open_round_trip() {
    let key = MasterKey::generate();
    for plain in [&b""[..], b"x", &[7u8; 5000][..]] {
        let sealed = key.seal(plain, b"signing-key:abc").unwrap();
        assert!(sealed.starts_with("v1."));
        assert_eq!(key.open(&sealed, b"signing-key:abc").unwrap(), plain);
    }
    // Survives a base64 round trip of the key itself.
    let again = MasterKey::from_base64(&key.to_base64()).unwrap();
    let sealed = key.seal(b"secret", b"aad").unwrap();
    assert_eq!(again.open(&sealed, b"aad").unwrap(), b"secret");
}

#[test]
fn open_rejects_tamper_wrong_key_wrong_aad() {
    let key = MasterKey::generate();
    let sealed = key.seal(b"private key bytes", b"signing-key:k1").unwrap();

    let wrong = MasterKey::generate();
    let err = wrong.open(&sealed, b"signing-key:k1").unwrap_err();
    assert!(matches!(err, JoseError::Decrypt));
    assert!(err.to_string().contains("master key may be wrong"), "{err}");

    assert!(matches!(
        key.open(&sealed, b"signing-key:k2"),
        Err(JoseError::Decrypt)
    ));

    // Flip one bit in every byte position of the body (nonce, ciphertext and tag).
    let body = URL_SAFE_NO_PAD.decode(&sealed[3..]).unwrap();
    for i in 0..body.len() {
        let mut t = body.clone();
        t[i] ^= 0x01;
        let tampered = format!("v1.{}", URL_SAFE_NO_PAD.encode(&t));
        assert!(
            matches!(
                key.open(&tampered, b"signing-key:k1"),
                Err(JoseError::Decrypt)
            ),
            "byte {i}"
        );
    }
    // Truncation.
    let truncated = format!("v1.{}", URL_SAFE_NO_PAD.encode(&body[..body.len() - 1]));
    assert!(key.open(&truncated, b"signing-key:k1").is_err());
}

#[test]
fn key_file_created_0600_and_reloaded() {
    let dir = temp_dir();
    let path = dir.join("master.key");
    let created = MasterKey::load_or_create_file(&path).unwrap();
    let contents = std::fs::read_to_string(&path).unwrap();
    assert!(contents.ends_with('\n'));
    assert_eq!(contents.trim_end(), created.to_base64());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "mode {mode:o}");
    }
    let reloaded = MasterKey::load_or_create_file(&path).unwrap();
    assert_eq!(reloaded, created);
    assert_eq!(reloaded.fingerprint(), created.fingerprint());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn key_file_missing_parent_is_an_error() {
    let dir = temp_dir();
    let path = dir.join("missing").join("master.key");
    let err = MasterKey::load_or_create_file(&path).unwrap_err();
    assert!(matches!(err, JoseError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("parent directory"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn key_file_with_garbage_is_rejected() {
    let dir = temp_dir();
    let path = dir.join("master.key");
    write_private(&path, "c2hvcnQ=\n");
    let err = MasterKey::load_or_create_file(&path).unwrap_err();
    assert!(matches!(err, JoseError::BadMasterKey(_)), "{err:?}");
    assert!(err.to_string().contains("master.key"), "{err}");
    write_private(&path, "");
    assert!(matches!(
        MasterKey::load_or_create_file(&path),
        Err(JoseError::BadMasterKey(_))
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Writes a file that only the owner can read, as an operator would.
fn write_private(path: &std::path::Path, contents: &str) {
    std::fs::write(path, contents).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
}

#[cfg(unix)]
#[test]
fn key_file_with_insecure_permissions_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = temp_dir();
    let path = dir.join("master.key");
    let key = MasterKey::load_or_create_file(&path).unwrap();
    for mode in [0o644, 0o640, 0o604, 0o660] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        let err = MasterKey::load_or_create_file(&path).unwrap_err();
        assert!(
            matches!(err, JoseError::InsecureKeyFile(_)),
            "{mode:o}: {err:?}"
        );
        assert!(err.to_string().contains("chmod 600"), "{err}");
    }
    // The refused file is left untouched so the operator can fix and keep it.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
    assert_eq!(MasterKey::load_or_create_file(&path).unwrap(), key);
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---------- key generation ----------

const PRIVATE_MEMBERS: [&str; 6] = ["d", "p", "q", "dp", "dq", "qi"];

fn assert_public_only(jwk: &Value) {
    for m in PRIVATE_MEMBERS {
        assert!(jwk.get(m).is_none(), "JWK leaks {m}: {jwk}");
    }
}

#[test]
fn es256_generation() {
    let key = generate_key(KeyAlg::ES256).unwrap();
    let jwk = &key.public_jwk;
    assert_eq!(jwk["kty"], "EC");
    assert_eq!(jwk["crv"], "P-256");
    assert_eq!(jwk["alg"], "ES256");
    assert_eq!(jwk["use"], "sig");
    assert_eq!(jwk["kid"], key.kid.as_str());
    for c in ["x", "y"] {
        let bytes = URL_SAFE_NO_PAD.decode(jwk[c].as_str().unwrap()).unwrap();
        assert_eq!(bytes.len(), 32, "{c}");
    }
    assert_public_only(jwk);
    // kid is the RFC 7638 thumbprint and stable across re-derivation.
    assert_eq!(key.kid, jwk_thumbprint(jwk).unwrap());
    assert_eq!(
        public_jwk_from_pkcs8(KeyAlg::ES256, &key.private_pkcs8_der).unwrap(),
        key.public_jwk
    );
    assert_eq!(URL_SAFE_NO_PAD.decode(&key.kid).unwrap().len(), 32);
    // Fresh keys differ.
    assert_ne!(generate_key(KeyAlg::ES256).unwrap().kid, key.kid);
}

#[test]
fn rs256_generation() {
    let key = &rsa_keys()[0];
    let jwk = &key.public_jwk;
    assert_eq!(key.alg, KeyAlg::RS256);
    assert_eq!(jwk["kty"], "RSA");
    assert_eq!(jwk["alg"], "RS256");
    assert_eq!(jwk["use"], "sig");
    assert_eq!(jwk["e"], "AQAB");
    assert_eq!(jwk["kid"], key.kid.as_str());
    let n = URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap();
    assert_eq!(n.len(), 256);
    assert_ne!(n[0], 0);
    assert_public_only(jwk);
    assert_eq!(key.kid, jwk_thumbprint(jwk).unwrap());
    assert_eq!(
        public_jwk_from_pkcs8(KeyAlg::RS256, &key.private_pkcs8_der).unwrap(),
        key.public_jwk
    );
    assert_ne!(rsa_keys()[1].kid, key.kid);
}

#[test]
fn sealed_private_key_round_trip() {
    let master = MasterKey::generate();
    let key = generate_key(KeyAlg::ES256).unwrap();
    let aad = format!("signing-key:{}", key.kid);
    let sealed = master.seal(&key.private_pkcs8_der, aad.as_bytes()).unwrap();
    let der = master.open(&sealed, aad.as_bytes()).unwrap();
    let signing = SigningKey::from_pkcs8_der(key.kid.clone(), key.alg, &der).unwrap();
    assert_eq!(signing.public_jwk(), key.public_jwk);
}

// ---------- key ring ----------

#[test]
fn jwks_contains_published_keys_only_public() {
    let (ring, ec) = ring();
    let jwks = ring.jwks();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    for k in keys {
        assert_public_only(k);
    }
    assert_eq!(ring.active_kid(KeyAlg::ES256), Some(ec.kid.as_str()));
    assert_eq!(
        ring.active_kid(KeyAlg::RS256),
        Some(rsa_keys()[0].kid.as_str())
    );
}

#[test]
fn rotation_keeps_previous_key_published() {
    let old = generate_key(KeyAlg::ES256).unwrap();
    let old_ring = ring_of(&[&old]);
    let old_token = old_ring
        .sign(KeyAlg::ES256, typ::LOGOUT, &claims())
        .unwrap();

    let new = generate_key(KeyAlg::ES256).unwrap();
    let active =
        vec![SigningKey::from_pkcs8_der(new.kid.clone(), new.alg, &new.private_pkcs8_der).unwrap()];
    let ring = KeyRing::new(active, vec![new.public_jwk.clone(), old.public_jwk.clone()]).unwrap();
    let new_token = ring.sign(KeyAlg::ES256, typ::LOGOUT, &claims()).unwrap();

    let (header, _) = ring.verify(&new_token, &opts()).unwrap();
    assert_eq!(header.kid.as_deref(), Some(new.kid.as_str()));
    // Tokens signed before the rotation still verify while the old key is published.
    let (header, _) = verify_with_jwks(&old_token, &ring.jwks(), &opts()).unwrap();
    assert_eq!(header.kid.as_deref(), Some(old.kid.as_str()));
    // Once retired (unpublished) they no longer do.
    let retired = json!({ "keys": [new.public_jwk] });
    assert!(matches!(
        verify_with_jwks(&old_token, &retired, &opts()),
        Err(JoseError::UnknownKid(_))
    ));
}

#[test]
fn a_rotated_key_still_signs_as_itself_for_rollover_only() {
    let old = generate_key(KeyAlg::ES256).unwrap();
    let new = generate_key(KeyAlg::ES256).unwrap();
    let sk = |k: &GeneratedKey| {
        SigningKey::from_pkcs8_der(k.kid.clone(), k.alg, &k.private_pkcs8_der).unwrap()
    };
    let published = vec![new.public_jwk.clone(), old.public_jwk.clone()];
    let ring = KeyRing::new(vec![sk(&new)], published.clone())
        .unwrap()
        .with_rollover(vec![sk(&old)])
        .unwrap();
    assert_eq!(
        ring.signing_kids().collect::<Vec<_>>(),
        vec![new.kid.as_str(), old.kid.as_str()]
    );
    // `sign` keeps using the active key; `sign_as` signs with the old one, verifiable by
    // whoever pinned only the old key.
    let token = ring.sign(KeyAlg::ES256, typ::LOGOUT, &claims()).unwrap();
    let (header, _) = ring.verify(&token, &opts()).unwrap();
    assert_eq!(header.kid.as_deref(), Some(new.kid.as_str()));
    let token = ring.sign_as(&old.kid, typ::LOGOUT, &claims()).unwrap();
    let pinned_old = json!({ "keys": [old.public_jwk] });
    let (header, _) = verify_with_jwks(&token, &pinned_old, &opts()).unwrap();
    assert_eq!(header.kid.as_deref(), Some(old.kid.as_str()));
    assert!(matches!(
        ring.sign_as("nope", typ::LOGOUT, &claims()),
        Err(JoseError::UnknownKid(_))
    ));
    // A rollover key must be published, and be the published key.
    let stranger = generate_key(KeyAlg::ES256).unwrap();
    assert!(matches!(
        KeyRing::new(vec![sk(&new)], published.clone())
            .unwrap()
            .with_rollover(vec![sk(&stranger)]),
        Err(JoseError::KeyRing(_))
    ));
    let mut impostor = sk(&stranger);
    impostor.kid = old.kid.clone();
    assert!(matches!(
        KeyRing::new(vec![sk(&new)], published)
            .unwrap()
            .with_rollover(vec![impostor]),
        Err(JoseError::KeyRing(_))
    ));
}

#[test]
fn key_ring_rejects_inconsistent_inputs() {
    let a = generate_key(KeyAlg::ES256).unwrap();
    let b = generate_key(KeyAlg::ES256).unwrap();
    let sk = |k: &GeneratedKey| {
        SigningKey::from_pkcs8_der(k.kid.clone(), k.alg, &k.private_pkcs8_der).unwrap()
    };
    // Two active keys for one alg.
    assert!(matches!(
        KeyRing::new(
            vec![sk(&a), sk(&b)],
            vec![a.public_jwk.clone(), b.public_jwk.clone()]
        ),
        Err(JoseError::KeyRing(_))
    ));
    // Active key not published.
    assert!(matches!(
        KeyRing::new(vec![sk(&a)], vec![b.public_jwk.clone()]),
        Err(JoseError::KeyRing(_))
    ));
    // Published JWK under the active kid belongs to another key.
    let mut swapped = b.public_jwk.clone();
    swapped["kid"] = json!(a.kid);
    assert!(matches!(
        KeyRing::new(vec![sk(&a)], vec![swapped]),
        Err(JoseError::KeyRing(_))
    ));
    // Private material in a published JWK.
    let mut leaky = a.public_jwk.clone();
    leaky["d"] = json!("AAAA");
    assert!(matches!(
        KeyRing::new(vec![], vec![leaky]),
        Err(JoseError::KeyRing(_))
    ));
    // Duplicate kid.
    assert!(matches!(
        KeyRing::new(vec![], vec![a.public_jwk.clone(), a.public_jwk.clone()]),
        Err(JoseError::KeyRing(_))
    ));
    // No active key for the requested alg.
    let ring = KeyRing::new(vec![sk(&a)], vec![a.public_jwk.clone()]).unwrap();
    assert!(matches!(
        ring.sign(KeyAlg::RS256, typ::JWT, &claims()),
        Err(JoseError::NoActiveKey(KeyAlg::RS256))
    ));
    // Claims must be an object.
    assert!(matches!(
        ring.sign(KeyAlg::ES256, typ::JWT, &json!([1, 2])),
        Err(JoseError::Claims(_))
    ));
}

// ---------- sign / verify ----------

#[test]
fn sign_verify_round_trip_both_algs() {
    let (ring, _) = ring();
    for alg in KeyAlg::ALL {
        let token = ring.sign(alg, typ::LOGOUT, &claims()).unwrap();
        let (header, got) = verify_with_jwks(&token, &ring.jwks(), &opts()).unwrap();
        assert_eq!(header.alg, alg.jwt_algorithm());
        assert_eq!(header.typ.as_deref(), Some(typ::LOGOUT));
        assert_eq!(header.kid.as_deref(), ring.active_kid(alg));
        assert_eq!(got, claims());
    }
}

#[test]
fn header_is_exactly_alg_kid_typ() {
    let (ring, ec) = ring();
    let token = ring
        .sign(KeyAlg::ES256, typ::GLOBAL_TOKEN_REVOCATION, &claims())
        .unwrap();
    let header: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(token.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        header,
        json!({"alg": "ES256", "kid": ec.kid, "typ": "global-token-revocation+jwt"})
    );
    // ES256 signatures are fixed-size r || s.
    let sig = URL_SAFE_NO_PAD
        .decode(token.split('.').nth(2).unwrap())
        .unwrap();
    assert_eq!(sig.len(), 64);
}

#[test]
fn typ_matching_is_lenient_per_rfc8725() {
    let (ring, _) = ring();
    let token = ring.sign(KeyAlg::ES256, "Logout+JWT", &claims()).unwrap();
    assert!(ring.verify(&token, &opts()).is_ok());
    let o = VerifyOptions {
        expected_typ: Some("application/logout+jwt"),
        ..opts()
    };
    assert!(ring.verify(&token, &o).is_ok());
    // No expectation: any typ is fine.
    let o = VerifyOptions {
        expected_typ: None,
        ..opts()
    };
    assert!(ring.verify(&token, &o).is_ok());
}

#[test]
fn rejects_wrong_signature_from_other_ring() {
    let (ring, _) = ring();
    let other = ring_of(&[&generate_key(KeyAlg::ES256).unwrap(), &rsa_keys()[1]]);
    for alg in KeyAlg::ALL {
        let forged = other.sign(alg, typ::LOGOUT, &claims()).unwrap();
        // The other ring's kid is unknown to ours...
        assert!(matches!(
            ring.verify(&forged, &opts()),
            Err(JoseError::UnknownKid(_))
        ));
        // ...and relabelling it with our kid does not help: the signature fails.
        let parts: Vec<&str> = forged.split('.').collect();
        let header = json!({"alg": alg.as_str(), "kid": ring.active_kid(alg), "typ": typ::LOGOUT});
        let relabelled = format!("{}.{}.{}", b64(&header), parts[1], parts[2]);
        assert!(matches!(
            ring.verify(&relabelled, &opts()),
            Err(JoseError::BadSignature)
        ));
    }
}

#[test]
fn rejects_modified_payload() {
    let (ring, _) = ring();
    let token = ring.sign(KeyAlg::ES256, typ::LOGOUT, &claims()).unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    let mut c = claims();
    c["sub"] = json!("admin");
    let tampered = format!("{}.{}.{}", parts[0], b64(&c), parts[2]);
    assert!(matches!(
        ring.verify(&tampered, &opts()),
        Err(JoseError::BadSignature)
    ));
}

#[test]
fn rejects_alg_none() {
    let (ring, ec) = ring();
    for alg in ["none", "None", "NONE"] {
        let header = json!({"alg": alg, "kid": ec.kid, "typ": typ::LOGOUT});
        for sig in ["", "AAAA"] {
            let token = format!("{}.{}.{sig}", b64(&header), b64(&claims()));
            let err = ring.verify(&token, &opts()).unwrap_err();
            assert!(matches!(err, JoseError::UnsupportedAlg(_)), "{err:?}");
        }
    }
    // Missing alg entirely.
    let header = json!({"kid": ec.kid, "typ": typ::LOGOUT});
    let token = format!("{}.{}.", b64(&header), b64(&claims()));
    assert!(matches!(
        ring.verify(&token, &opts()),
        Err(JoseError::InvalidToken(_))
    ));
}

#[test]
fn rejects_hs256_signed_with_public_key() {
    let (ring, ec) = ring();
    // Every plausible "public key as HMAC secret" encoding an attacker might try.
    let jwk_json = serde_json::to_vec(&ec.public_jwk).unwrap();
    let secrets: Vec<Vec<u8>> = vec![
        jwk_json,
        ec.public_jwk["x"].as_str().unwrap().as_bytes().to_vec(),
        rsa_keys()[0].public_jwk["n"]
            .as_str()
            .unwrap()
            .as_bytes()
            .to_vec(),
    ];
    for secret in secrets {
        for (alg, kid) in [
            (jsonwebtoken::Algorithm::HS256, ec.kid.clone()),
            (jsonwebtoken::Algorithm::HS256, rsa_keys()[0].kid.clone()),
            (jsonwebtoken::Algorithm::HS512, ec.kid.clone()),
        ] {
            let mut header = jsonwebtoken::Header::new(alg);
            header.kid = Some(kid);
            header.typ = Some(typ::LOGOUT.into());
            let token = jsonwebtoken::encode(
                &header,
                &claims(),
                &jsonwebtoken::EncodingKey::from_secret(&secret),
            )
            .unwrap();
            let err = ring.verify(&token, &opts()).unwrap_err();
            assert!(matches!(err, JoseError::UnsupportedAlg(_)), "{err:?}");
        }
    }
    // Even a JWKS that publishes a symmetric key is not used for HS*.
    let secret = b"shared-secret-shared-secret-0123";
    let jwks = json!({"keys": [{"kty": "oct", "kid": "h", "k": URL_SAFE_NO_PAD.encode(secret)}]});
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = Some("h".into());
    let token = jsonwebtoken::encode(
        &header,
        &claims(),
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )
    .unwrap();
    let o = VerifyOptions {
        expected_typ: None,
        ..opts()
    };
    assert!(matches!(
        verify_with_jwks(&token, &jwks, &o),
        Err(JoseError::UnsupportedAlg(_))
    ));
}

#[test]
fn rejects_alg_key_type_confusion() {
    // An RS256 header pointing at an EC key must not be accepted.
    let (ring, ec) = ring();
    let token = ring.sign(KeyAlg::RS256, typ::LOGOUT, &claims()).unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    let header = json!({"alg": "RS256", "kid": ec.kid, "typ": typ::LOGOUT});
    let confused = format!("{}.{}.{}", b64(&header), parts[1], parts[2]);
    assert!(matches!(
        ring.verify(&confused, &opts()),
        Err(JoseError::InvalidKey(_))
    ));
}

#[test]
fn rejects_wrong_typ() {
    let (ring, _) = ring();
    let token = ring.sign(KeyAlg::ES256, typ::SECEVENT, &claims()).unwrap();
    let err = ring.verify(&token, &opts()).unwrap_err();
    match err {
        JoseError::BadTyp { expected, found } => {
            assert_eq!(expected, typ::LOGOUT);
            assert_eq!(found, typ::SECEVENT);
        }
        other => panic!("unexpected {other:?}"),
    }
    // A missing typ is also rejected when one is expected.
    let token = ring.sign(KeyAlg::ES256, "", &claims()).unwrap();
    assert!(matches!(
        ring.verify(&token, &opts()),
        Err(JoseError::BadTyp { .. })
    ));
}

#[test]
fn rejects_wrong_aud() {
    let (ring, _) = ring();
    let token = ring.sign(KeyAlg::ES256, typ::LOGOUT, &claims()).unwrap();
    let o = VerifyOptions {
        audience: Some("https://other.example"),
        ..opts()
    };
    assert!(matches!(
        ring.verify(&token, &o),
        Err(JoseError::BadAudience { .. })
    ));
    // Array audiences: accepted when they contain ours.
    let mut c = claims();
    c["aud"] = json!(["https://x.example", AUD]);
    let token = ring.sign(KeyAlg::ES256, typ::LOGOUT, &c).unwrap();
    assert!(ring.verify(&token, &opts()).is_ok());
    assert!(ring.verify(&token, &o).is_err());
    // Missing aud when one is required.
    let mut c = claims();
    c.as_object_mut().unwrap().remove("aud");
    let token = ring.sign(KeyAlg::ES256, typ::LOGOUT, &c).unwrap();
    assert!(matches!(
        ring.verify(&token, &opts()),
        Err(JoseError::BadAudience { .. })
    ));
}

#[test]
fn rejects_wrong_iss() {
    let (ring, _) = ring();
    let mut c = claims();
    c["iss"] = json!("https://evil.example");
    let token = ring.sign(KeyAlg::ES256, typ::LOGOUT, &c).unwrap();
    let err = ring.verify(&token, &opts()).unwrap_err();
    assert!(matches!(err, JoseError::BadIssuer { .. }), "{err:?}");
    c.as_object_mut().unwrap().remove("iss");
    let token = ring.sign(KeyAlg::ES256, typ::LOGOUT, &c).unwrap();
    assert!(matches!(
        ring.verify(&token, &opts()),
        Err(JoseError::BadIssuer { .. })
    ));
}

#[test]
fn rejects_expired_with_leeway() {
    let (ring, _) = ring();
    let mut c = claims();
    c["exp"] = json!(NOW - 31);
    let token = ring.sign(KeyAlg::ES256, typ::LOGOUT, &c).unwrap();
    assert!(matches!(
        ring.verify(&token, &opts()),
        Err(JoseError::Expired { .. })
    ));
    // Within the 30 s leeway it is still accepted.
    c["exp"] = json!(NOW - 29);
    let token = ring.sign(KeyAlg::ES256, typ::LOGOUT, &c).unwrap();
    assert!(ring.verify(&token, &opts()).is_ok());
    // Without leeway, exp == now is already expired (RFC 7519: now must be before exp).
    c["exp"] = json!(NOW);
    let token = ring.sign(KeyAlg::ES256, typ::LOGOUT, &c).unwrap();
    let strict = VerifyOptions {
        leeway_secs: 0,
        ..opts()
    };
    assert!(matches!(
        ring.verify(&token, &strict),
        Err(JoseError::Expired { .. })
    ));
    // Non-numeric exp is malformed.
    c["exp"] = json!("tomorrow");
    let token = ring.sign(KeyAlg::ES256, typ::LOGOUT, &c).unwrap();
    assert!(matches!(
        ring.verify(&token, &opts()),
        Err(JoseError::InvalidToken(_))
    ));
}

#[test]
fn system_clock_is_used_without_now() {
    let (ring, _) = ring();
    // claims() lies in 2025, so with the real clock the token is expired.
    let token = ring.sign(KeyAlg::ES256, typ::LOGOUT, &claims()).unwrap();
    let o = VerifyOptions {
        now_unix: None,
        ..opts()
    };
    assert!(matches!(
        ring.verify(&token, &o),
        Err(JoseError::Expired { .. })
    ));
    let now = i64::try_from(jsonwebtoken::get_current_timestamp()).unwrap();
    let mut c = claims();
    c["iat"] = json!(now);
    c["exp"] = json!(now + 60);
    let token = ring.sign(KeyAlg::ES256, typ::LOGOUT, &c).unwrap();
    assert!(ring.verify(&token, &o).is_ok());
}

#[test]
fn rejects_nbf_and_iat_in_future() {
    let (ring, _) = ring();
    let mut c = claims();
    c["nbf"] = json!(NOW + 31);
    let token = ring.sign(KeyAlg::ES256, typ::LOGOUT, &c).unwrap();
    assert!(matches!(
        ring.verify(&token, &opts()),
        Err(JoseError::NotYetValid { .. })
    ));
    c["nbf"] = json!(NOW + 29);
    let token = ring.sign(KeyAlg::ES256, typ::LOGOUT, &c).unwrap();
    assert!(ring.verify(&token, &opts()).is_ok());

    let mut c = claims();
    c["iat"] = json!(NOW + 3600);
    let token = ring.sign(KeyAlg::ES256, typ::LOGOUT, &c).unwrap();
    assert!(matches!(
        ring.verify(&token, &opts()),
        Err(JoseError::IssuedInFuture { .. })
    ));
}

#[test]
fn exp_is_optional_for_sets() {
    // RFC 8417 SETs usually carry iat + jti but no exp.
    let (ring, _) = ring();
    let set = json!({"iss": ISS, "aud": AUD, "iat": NOW, "jti": "s1", "events": {}});
    let token = ring.sign(KeyAlg::RS256, typ::SECEVENT, &set).unwrap();
    let o = VerifyOptions {
        expected_typ: Some(typ::SECEVENT),
        ..opts()
    };
    let (_, got) = ring.verify(&token, &o).unwrap();
    assert_eq!(got, set);
}

#[test]
fn rejects_unknown_kid_and_handles_missing_kid() {
    let (ring, ec) = ring();
    let token = ring.sign(KeyAlg::ES256, typ::LOGOUT, &claims()).unwrap();
    let parts: Vec<&str> = token.split('.').collect();

    let header = json!({"alg": "ES256", "kid": "no-such-key", "typ": typ::LOGOUT});
    let unknown = format!("{}.{}.{}", b64(&header), parts[1], parts[2]);
    match ring.verify(&unknown, &opts()) {
        Err(JoseError::UnknownKid(kid)) => assert_eq!(kid, "no-such-key"),
        other => panic!("unexpected {other:?}"),
    }

    // Without a kid, the single key that fits the alg is used. jsonwebtoken signs here,
    // which also cross-checks interoperability with another JWS implementation.
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.typ = Some(typ::LOGOUT.into());
    let kidless = jsonwebtoken::encode(
        &header,
        &claims(),
        &jsonwebtoken::EncodingKey::from_ec_der(&ec.private_pkcs8_der),
    )
    .unwrap();
    let single = ring_of(&[&ec]);
    let (_, got) = single.verify(&kidless, &opts()).unwrap();
    assert_eq!(got, claims());
    // The ring with an RSA key too still has a single ES256 candidate.
    assert!(ring.verify(&kidless, &opts()).is_ok());
    // Two fitting keys make a kid-less token ambiguous.
    let two_ec = json!({"keys": [ec.public_jwk, generate_key(KeyAlg::ES256).unwrap().public_jwk]});
    assert!(matches!(
        verify_with_jwks(&kidless, &two_ec, &opts()),
        Err(JoseError::MissingKid(2))
    ));
}

#[test]
fn rejects_crit_and_malformed_tokens() {
    let (ring, ec) = ring();
    let token = ring.sign(KeyAlg::ES256, typ::LOGOUT, &claims()).unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    let header = json!({"alg": "ES256", "kid": ec.kid, "typ": typ::LOGOUT, "crit": ["exp"]});
    let crit = format!("{}.{}.{}", b64(&header), parts[1], parts[2]);
    assert!(matches!(
        ring.verify(&crit, &opts()),
        Err(JoseError::InvalidToken(_))
    ));
    for bad in [
        String::new(),
        format!("{}.{}", parts[0], parts[1]),
        format!("{token}.x"),
        format!("{}.{}.{}.x.y", parts[0], parts[1], parts[2]),
        format!("{}.!!.{}", parts[0], parts[2]),
    ] {
        assert!(ring.verify(&bad, &opts()).is_err(), "{bad}");
    }
}

#[test]
fn types_are_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<KeyRing>();
    assert_send_sync::<SigningKey>();
    assert_send_sync::<MasterKey>();
    assert_send_sync::<JoseError>();
}
