//! Request parameters of the OAuth endpoints: a parameter may appear once (RFC 6749 §3.1, §3.2).

use std::collections::BTreeMap;

/// Decoded `application/x-www-form-urlencoded` parameters, with repeats remembered.
#[derive(Debug, Clone, Default)]
pub struct Params {
    values: BTreeMap<String, String>,
    repeated: Vec<String>,
    /// Every pair in order, as received.
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Parses a query string or form body.
    pub fn parse(raw: &[u8]) -> Self {
        Self::from_pairs(
            url::form_urlencoded::parse(raw)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// Builds from decoded pairs.
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut values = BTreeMap::new();
        let mut repeated = Vec::new();
        for (k, v) in &pairs {
            if values.insert(k.clone(), v.clone()).is_some() && !repeated.contains(k) {
                repeated.push(k.clone());
            }
        }
        Params {
            values,
            repeated,
            pairs,
        }
    }

    /// A parameter's value; an empty value counts as absent (RFC 6749 §3.1).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// Whether `name` was sent more than once.
    pub fn is_repeated(&self, name: &str) -> bool {
        self.repeated.iter().any(|r| r == name)
    }

    /// The first repeated parameter, if any.
    pub fn first_repeated(&self) -> Option<&str> {
        self.repeated.first().map(String::as_str)
    }

    /// The pairs as received.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// Re-encodes `pairs` as a query string.
    pub fn encode(pairs: &[(String, String)]) -> String {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_and_empties() {
        let p = Params::parse(b"a=1&b=&a=2&c=x%20y");
        assert!(p.is_repeated("a"));
        assert!(!p.is_repeated("c"));
        assert_eq!(p.get("b"), None);
        assert_eq!(p.get("c"), Some("x y"));
        assert_eq!(p.first_repeated(), Some("a"));
        assert_eq!(p.pairs().len(), 4);
    }
}
