//! Rotation policy and the password generator (aws-lc-rs's CSPRNG, rejection sampling so every
//! character is uniformly likely).

use serde::{Deserialize, Serialize};

use crate::error::VaultError;

const LOWER: &str = "abcdefghijklmnopqrstuvwxyz";
const UPPER: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const DIGITS: &str = "0123456789";
/// Symbols that survive shells, URLs and form posts without quoting surprises.
const SYMBOLS: &str = "!#%*+,-.:=?@^_~";

/// Shortest password a policy may ask for.
pub const MIN_LENGTH: u32 = 8;
/// Longest password a policy may ask for.
pub const MAX_LENGTH: u32 = 128;

/// How new passwords for an account are made: a length and the character classes that must
/// each appear at least once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Policy {
    /// Number of characters.
    #[serde(default = "default_length")]
    pub length: u32,
    /// Use `a-z`.
    #[serde(default = "yes")]
    pub lowercase: bool,
    /// Use `A-Z`.
    #[serde(default = "yes")]
    pub uppercase: bool,
    /// Use `0-9`.
    #[serde(default = "yes")]
    pub digits: bool,
    /// Use a set of punctuation.
    #[serde(default = "yes")]
    pub symbols: bool,
}

fn default_length() -> u32 {
    24
}

fn yes() -> bool {
    true
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            length: default_length(),
            lowercase: true,
            uppercase: true,
            digits: true,
            symbols: true,
        }
    }
}

impl Policy {
    fn classes(&self) -> Vec<&'static str> {
        [
            (self.lowercase, LOWER),
            (self.uppercase, UPPER),
            (self.digits, DIGITS),
            (self.symbols, SYMBOLS),
        ]
        .into_iter()
        .filter_map(|(on, set)| on.then_some(set))
        .collect()
    }

    /// Checks the policy can be met.
    pub fn validate(&self) -> Result<(), VaultError> {
        if !(MIN_LENGTH..=MAX_LENGTH).contains(&self.length) {
            return Err(VaultError::invalid(format!(
                "policy.length must be between {MIN_LENGTH} and {MAX_LENGTH}, not {}",
                self.length
            )));
        }
        if self.classes().is_empty() {
            return Err(VaultError::invalid(
                "policy must allow at least one of lowercase, uppercase, digits, symbols",
            ));
        }
        Ok(())
    }

    /// Whether `password` meets the policy (every enabled class present, nothing else, length).
    pub fn accepts(&self, password: &str) -> bool {
        let classes = self.classes();
        password.chars().count() == self.length as usize
            && password
                .chars()
                .all(|c| classes.iter().any(|s| s.contains(c)))
            && classes
                .iter()
                .all(|s| password.chars().any(|c| s.contains(c)))
    }

    /// A new random password meeting the policy.
    pub fn generate(&self) -> Result<String, VaultError> {
        self.validate()?;
        let classes = self.classes();
        let alphabet: Vec<char> = classes.iter().flat_map(|s| s.chars()).collect();
        // Draw until every class appears: with ≥ 8 characters this rarely takes a second try.
        for _ in 0..1000 {
            let mut out = String::with_capacity(self.length as usize);
            for _ in 0..self.length {
                out.push(alphabet[uniform(alphabet.len())?]);
            }
            if self.accepts(&out) {
                return Ok(out);
            }
        }
        Err(VaultError::Internal(
            "could not generate a password meeting the policy".into(),
        ))
    }
}

/// A uniformly random index below `n` (n ≤ 256).
fn uniform(n: usize) -> Result<usize, VaultError> {
    let n = u8::try_from(n - 1).map_err(|_| VaultError::Internal("alphabet too large".into()))?
        as usize
        + 1;
    // Reject bytes from the incomplete last block so each index is equally likely.
    let limit = 256 - (256 % n);
    loop {
        let mut b = [0u8; 1];
        aws_lc_rs::rand::fill(&mut b)
            .map_err(|_| VaultError::Internal("the system random generator failed".into()))?;
        if (b[0] as usize) < limit {
            return Ok(b[0] as usize % n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_meet_the_policy_and_differ() {
        let p = Policy {
            length: 12,
            symbols: false,
            ..Policy::default()
        };
        let a = p.generate().unwrap();
        let b = p.generate().unwrap();
        assert!(p.accepts(&a), "{a}");
        assert_eq!(a.len(), 12);
        assert!(a.chars().all(char::is_alphanumeric));
        assert_ne!(a, b);
        let digits = Policy {
            length: 8,
            lowercase: false,
            uppercase: false,
            symbols: false,
            digits: true,
        };
        assert!(
            digits
                .generate()
                .unwrap()
                .chars()
                .all(|c| c.is_ascii_digit())
        );
    }

    #[test]
    fn impossible_policies_are_refused() {
        let short = Policy {
            length: 4,
            ..Policy::default()
        };
        assert!(
            short
                .validate()
                .unwrap_err()
                .to_string()
                .contains("between 8")
        );
        let none = Policy {
            lowercase: false,
            uppercase: false,
            digits: false,
            symbols: false,
            ..Policy::default()
        };
        assert!(none.validate().is_err());
        let json: Result<Policy, _> = serde_json::from_str(r#"{"length":20,"colour":true}"#);
        assert!(json.is_err(), "unknown fields are refused");
        let json: Policy = serde_json::from_str(r#"{"length":20}"#).unwrap();
        assert_eq!(
            json,
            Policy {
                length: 20,
                ..Policy::default()
            }
        );
    }
}
