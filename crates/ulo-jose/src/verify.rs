//! JWT verification against a JWKS document.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation};
use serde_json::Value;

use crate::error::JoseError;

/// What [`verify_with_jwks`] checks besides the signature.
#[derive(Debug, Clone, Copy, Default)]
pub struct VerifyOptions<'a> {
    /// Required `typ` header (compared case-insensitively, `application/` prefix optional).
    pub expected_typ: Option<&'a str>,
    /// Required `iss` claim.
    pub issuer: Option<&'a str>,
    /// Audience that the `aud` claim (string or array) must contain.
    pub audience: Option<&'a str>,
    /// Clock skew tolerated for `exp`, `nbf` and `iat`, in seconds.
    pub leeway_secs: u64,
    /// Current Unix time for deterministic tests; `None` uses the system clock.
    pub now_unix: Option<i64>,
}

/// Verifies a JWT against a JWKS document: asymmetric algorithms only, `typ`/kid/exp/nbf/iat/iss/aud checked per `opts`.
///
/// `exp`, `nbf` and `iat` are validated when present but not required, because SETs
/// (RFC 8417) legitimately omit `exp`; callers that require them should check the claims.
/// When `opts.audience` is `None` the `aud` claim is not checked.
pub fn verify_with_jwks(
    token: &str,
    jwks: &Value,
    opts: &VerifyOptions<'_>,
) -> Result<(Header, Value), JoseError> {
    let token = token.trim();
    let (alg, header) = checked_header(token)?;
    let jwk = select_key(jwks, header.kid.as_deref(), alg)?;
    verify_signed(token, alg, &PublicKey::from_jwk(jwk)?, opts)
}

/// One public key ready to verify signatures: parse a JWK once, verify many tokens (a device's
/// key on every agent request).
#[derive(Clone)]
pub struct PublicKey {
    jwk: Value,
    key: DecodingKey,
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublicKey").field("jwk", &self.jwk).finish()
    }
}

impl PublicKey {
    /// The key of a public JWK.
    pub fn from_jwk(jwk: &Value) -> Result<PublicKey, JoseError> {
        let parsed: Jwk = serde_json::from_value(jwk.clone())
            .map_err(|e| JoseError::InvalidKey(format!("unusable JWK: {e}")))?;
        let key = DecodingKey::from_jwk(&parsed)
            .map_err(|e| JoseError::InvalidKey(format!("unusable JWK: {e}")))?;
        Ok(PublicKey {
            jwk: jwk.clone(),
            key,
        })
    }
}

/// Verifies a JWT signed by `key` (whatever its `kid`): as [`verify_with_jwks`] with a set of
/// that one key, without looking the key up.
pub fn verify_with_key(
    token: &str,
    key: &PublicKey,
    opts: &VerifyOptions<'_>,
) -> Result<(Header, Value), JoseError> {
    let token = token.trim();
    let (alg, _) = checked_header(token)?;
    if !key_fits(&key.jwk, alg) {
        return Err(JoseError::InvalidKey(format!(
            "the key cannot verify {} signatures",
            alg_name(alg)
        )));
    }
    verify_signed(token, alg, key, opts)
}

/// The token's header, with its algorithm: asymmetric, unambiguous, no critical extensions.
fn checked_header(token: &str) -> Result<(Algorithm, Header), JoseError> {
    let raw_header = raw_header(token)?;
    let alg_name = raw_header
        .get("alg")
        .and_then(Value::as_str)
        .ok_or_else(|| JoseError::InvalidToken("header has no alg".into()))?;
    // Decide on the algorithm before touching any key, so `none` and HMAC (the classic
    // "sign with the public key as HMAC secret" confusion) can never reach verification.
    let alg = asymmetric_alg(alg_name)?;

    let header = jsonwebtoken::decode_header(token)
        .map_err(|e| JoseError::InvalidToken(format!("malformed header: {e}")))?;
    // Guards against parser differentials such as duplicate "alg" members.
    if header.alg != alg {
        return Err(JoseError::InvalidToken("ambiguous alg header".into()));
    }
    // RFC 7515 4.1.11: extensions listed in "crit" must be understood; we support none.
    if header.crit.is_some() {
        return Err(JoseError::InvalidToken(
            "unsupported critical header parameters".into(),
        ));
    }
    Ok((alg, header))
}

/// Checks the signature with `key`, then `typ` and the claims per `opts`.
fn verify_signed(
    token: &str,
    alg: Algorithm,
    key: &PublicKey,
    opts: &VerifyOptions<'_>,
) -> Result<(Header, Value), JoseError> {
    // Only the signature is left to jsonwebtoken; claims are checked below so that an
    // explicit `now_unix` applies uniformly and errors are specific.
    let mut validation = Validation::new(alg);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let data =
        jsonwebtoken::decode::<Value>(token, &key.key, &validation).map_err(map_jwt_error)?;

    if let Some(expected) = opts.expected_typ {
        check_typ(expected, data.header.typ.as_deref())?;
    }
    check_claims(&data.claims, opts)?;
    Ok((data.header, data.claims))
}

/// Decodes the header segment to JSON, also checking the compact JWS shape.
fn raw_header(token: &str) -> Result<Value, JoseError> {
    let parts: Vec<&str> = token.split('.').collect();
    match parts.len() {
        3 => {}
        5 => {
            return Err(JoseError::InvalidToken(
                "encrypted JWTs (JWE) are not supported".into(),
            ));
        }
        n => {
            return Err(JoseError::InvalidToken(format!(
                "expected 3 dot-separated parts, found {n}"
            )));
        }
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(parts[0])
        .map_err(|_| JoseError::InvalidToken("header is not base64url".into()))?;
    let header: Value = serde_json::from_slice(&bytes)
        .map_err(|_| JoseError::InvalidToken("header is not JSON".into()))?;
    if !header.is_object() {
        return Err(JoseError::InvalidToken(
            "header is not a JSON object".into(),
        ));
    }
    Ok(header)
}

/// Maps an `alg` header value to an allowed asymmetric algorithm.
fn asymmetric_alg(name: &str) -> Result<Algorithm, JoseError> {
    let alg = match name {
        "ES256" => Algorithm::ES256,
        "ES384" => Algorithm::ES384,
        "RS256" => Algorithm::RS256,
        "RS384" => Algorithm::RS384,
        "RS512" => Algorithm::RS512,
        "PS256" => Algorithm::PS256,
        "PS384" => Algorithm::PS384,
        "PS512" => Algorithm::PS512,
        "EdDSA" => Algorithm::EdDSA,
        other => return Err(JoseError::UnsupportedAlg(other.to_owned())),
    };
    Ok(alg)
}

/// Key type and curve (if any) a JWK must have to verify `alg`.
fn required_kty_crv(alg: Algorithm) -> (&'static str, Option<&'static str>) {
    match alg {
        Algorithm::ES256 => ("EC", Some("P-256")),
        Algorithm::ES384 => ("EC", Some("P-384")),
        Algorithm::EdDSA => ("OKP", Some("Ed25519")),
        _ => ("RSA", None),
    }
}

/// Whether `jwk` may verify `alg` signatures.
fn key_fits(jwk: &Value, alg: Algorithm) -> bool {
    let (kty, crv) = required_kty_crv(alg);
    let str_member = |name: &str| jwk.get(name).and_then(Value::as_str);
    if str_member("kty") != Some(kty) {
        return false;
    }
    if crv.is_some() && str_member("crv") != crv {
        return false;
    }
    // Optional restrictions published with the key must be honoured.
    if jwk.get("alg").is_some() && str_member("alg") != Some(alg_name(alg)) {
        return false;
    }
    if jwk.get("use").is_some() && str_member("use") != Some("sig") {
        return false;
    }
    if let Some(ops) = jwk.get("key_ops") {
        let allows_verify = ops
            .as_array()
            .is_some_and(|ops| ops.iter().any(|op| op.as_str() == Some("verify")));
        if !allows_verify {
            return false;
        }
    }
    true
}

/// The JOSE name of an algorithm accepted by [`asymmetric_alg`].
fn alg_name(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::ES256 => "ES256",
        Algorithm::ES384 => "ES384",
        Algorithm::RS256 => "RS256",
        Algorithm::RS384 => "RS384",
        Algorithm::RS512 => "RS512",
        Algorithm::PS256 => "PS256",
        Algorithm::PS384 => "PS384",
        Algorithm::PS512 => "PS512",
        Algorithm::EdDSA => "EdDSA",
        _ => "unsupported",
    }
}

/// Finds the key for `kid` (or the only fitting key when the token has no kid).
fn select_key<'j>(
    jwks: &'j Value,
    kid: Option<&str>,
    alg: Algorithm,
) -> Result<&'j Value, JoseError> {
    let keys = jwks
        .get("keys")
        .and_then(Value::as_array)
        .ok_or_else(|| JoseError::InvalidKey("JWKS has no \"keys\" array".into()))?;
    match kid {
        Some(kid) => {
            let mut named = keys
                .iter()
                .filter(|k| k.get("kid").and_then(Value::as_str) == Some(kid))
                .peekable();
            if named.peek().is_none() {
                return Err(JoseError::UnknownKid(kid.to_owned()));
            }
            named.find(|k| key_fits(k, alg)).ok_or_else(|| {
                JoseError::InvalidKey(format!(
                    "key {kid:?} cannot verify {} signatures",
                    alg_name(alg)
                ))
            })
        }
        None => {
            let fitting: Vec<&Value> = keys.iter().filter(|k| key_fits(k, alg)).collect();
            match fitting.as_slice() {
                [only] => Ok(only),
                others => Err(JoseError::MissingKid(others.len())),
            }
        }
    }
}

/// Translates jsonwebtoken errors into this crate's variants.
fn map_jwt_error(e: jsonwebtoken::errors::Error) -> JoseError {
    match e.kind() {
        ErrorKind::InvalidSignature => JoseError::BadSignature,
        ErrorKind::InvalidEcdsaKey
        | ErrorKind::InvalidEddsaKey
        | ErrorKind::InvalidRsaKey(_)
        | ErrorKind::InvalidKeyFormat => JoseError::InvalidKey(e.to_string()),
        _ => JoseError::InvalidToken(e.to_string()),
    }
}

/// Normalizes a media type per RFC 7515 4.1.9: case-insensitive, `application/` implied.
fn normalize_typ(typ: &str) -> String {
    let typ = typ.trim().to_ascii_lowercase();
    if typ.contains('/') {
        typ
    } else {
        format!("application/{typ}")
    }
}

/// Checks the `typ` header, which jsonwebtoken ignores but RFC 8725 relies on to keep
/// one kind of token from being accepted as another.
fn check_typ(expected: &str, found: Option<&str>) -> Result<(), JoseError> {
    match found {
        Some(found) if normalize_typ(found) == normalize_typ(expected) => Ok(()),
        found => Err(JoseError::BadTyp {
            expected: expected.to_owned(),
            found: found.unwrap_or("<none>").to_owned(),
        }),
    }
}

/// Reads an optional NumericDate claim, rejecting non-numeric values.
fn numeric_date(claims: &Value, name: &str) -> Result<Option<i64>, JoseError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            // Fractional seconds are allowed by RFC 7519; `as` saturates out-of-range floats.
            .or_else(|| n.as_f64().map(|f| f.floor() as i64))
            .map(Some)
            .ok_or_else(|| JoseError::InvalidToken(format!("{name} claim is out of range"))),
        Some(_) => Err(JoseError::InvalidToken(format!(
            "{name} claim is not a number"
        ))),
    }
}

/// Validates time, issuer and audience claims.
fn check_claims(claims: &Value, opts: &VerifyOptions<'_>) -> Result<(), JoseError> {
    if !claims.is_object() {
        return Err(JoseError::InvalidToken(
            "claims are not a JSON object".into(),
        ));
    }
    let now = opts.now_unix.unwrap_or_else(|| {
        i64::try_from(jsonwebtoken::get_current_timestamp()).unwrap_or(i64::MAX)
    });
    let leeway = i64::try_from(opts.leeway_secs).unwrap_or(i64::MAX);

    if let Some(exp) = numeric_date(claims, "exp")? {
        // RFC 7519 4.1.4: the current time must be before exp.
        if now >= exp.saturating_add(leeway) {
            return Err(JoseError::Expired { exp, now });
        }
    }
    if let Some(nbf) = numeric_date(claims, "nbf")?
        && nbf > now.saturating_add(leeway)
    {
        return Err(JoseError::NotYetValid { nbf, now });
    }
    if let Some(iat) = numeric_date(claims, "iat")?
        && iat > now.saturating_add(leeway)
    {
        return Err(JoseError::IssuedInFuture { iat, now });
    }

    if let Some(expected) = opts.issuer {
        let found = claims.get("iss").and_then(Value::as_str);
        if found != Some(expected) {
            return Err(JoseError::BadIssuer {
                expected: expected.to_owned(),
                found: found.unwrap_or("<none>").to_owned(),
            });
        }
    }

    if let Some(expected) = opts.audience {
        let ok = match claims.get("aud") {
            Some(Value::String(aud)) => aud == expected,
            Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(expected)),
            _ => false,
        };
        if !ok {
            return Err(JoseError::BadAudience {
                expected: expected.to_owned(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typ_normalization() {
        assert!(check_typ("logout+jwt", Some("application/logout+jwt")).is_ok());
        assert!(check_typ("application/logout+jwt", Some("Logout+JWT")).is_ok());
        assert!(check_typ("JWT", Some("jwt")).is_ok());
        assert!(check_typ("logout+jwt", Some("secevent+jwt")).is_err());
        assert!(check_typ("logout+jwt", None).is_err());
        assert!(check_typ("logout+jwt", Some("text/logout+jwt")).is_err());
    }

    #[test]
    fn numeric_dates() {
        let claims = serde_json::json!({"a": 5, "b": 5.9, "c": "5", "d": null});
        assert_eq!(numeric_date(&claims, "a").ok(), Some(Some(5)));
        assert_eq!(numeric_date(&claims, "b").ok(), Some(Some(5)));
        assert!(numeric_date(&claims, "c").is_err());
        assert!(numeric_date(&claims, "d").is_err());
        assert_eq!(numeric_date(&claims, "e").ok(), Some(None));
    }

    #[test]
    fn malformed_tokens() {
        let jwks = serde_json::json!({"keys": []});
        let opts = VerifyOptions::default();
        for token in ["", "a.b", "a.b.c.d", "a.b.c.d.e", "!!.b.c", "e30.e30.e30"] {
            let err = verify_with_jwks(token, &jwks, &opts);
            assert!(err.is_err(), "{token}");
        }
    }
}
