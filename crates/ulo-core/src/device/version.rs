//! Agent versions (`MAJOR.MINOR.PATCH`) and the minimum a server accepts.

use std::fmt;
use std::str::FromStr;

use crate::error::DomainError;

/// A released agent version; pre-release and build suffixes (`-rc.1`, `+abc`) are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct AgentVersion(pub u32, pub u32, pub u32);

impl FromStr for AgentVersion {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let core = s.trim().split(['-', '+']).next().unwrap_or_default();
        let parts: Vec<&str> = core.split('.').collect();
        let bad = || format!("{s:?} is not a version like 1.2.3");
        if parts.is_empty() || parts.len() > 3 {
            return Err(bad());
        }
        let mut n = [0u32; 3];
        for (i, p) in parts.iter().enumerate() {
            n[i] = p.parse().map_err(|_| bad())?;
        }
        Ok(AgentVersion(n[0], n[1], n[2]))
    }
}

impl fmt::Display for AgentVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

/// Refuses an agent below `minimum`, naming the minimum (the seed's "9.46.1 or later").
pub fn check_agent_version(
    reported: &str,
    minimum: Option<AgentVersion>,
) -> Result<(), DomainError> {
    let version: AgentVersion = reported.parse().map_err(|e: String| {
        DomainError::invalid("Invalid agent version", format!("agentVersion: {e}"))
    })?;
    match minimum {
        Some(min) if version < min => Err(DomainError::Forbidden(format!(
            "Agent version {version} is below the minimum this server accepts ({min}): upgrade the ulo agent to {min} or later"
        ))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_compares_and_refuses_old_agents() {
        let v: AgentVersion = "9.46.1".parse().unwrap();
        assert!(v > "9.5.10".parse().unwrap());
        assert_eq!(
            "1.2".parse::<AgentVersion>().unwrap(),
            AgentVersion(1, 2, 0)
        );
        assert_eq!(
            "0.1.0-rc.1".parse::<AgentVersion>().unwrap(),
            AgentVersion(0, 1, 0)
        );
        assert!("x.1".parse::<AgentVersion>().is_err());
        assert!("1.2.3.4".parse::<AgentVersion>().is_err());
        let min = Some(AgentVersion(9, 46, 1));
        assert!(check_agent_version("9.46.1", min).is_ok());
        let err = check_agent_version("9.46.0", min).unwrap_err().to_string();
        assert!(err.contains("9.46.1 or later"), "{err}");
        assert!(check_agent_version("0.0.1", None).is_ok());
        assert!(check_agent_version("", None).is_err());
    }
}
