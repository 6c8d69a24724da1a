//! Users: people in the directory, their lifecycle and profile.

use crate::log::catalogue as events;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::clock::serde_rfc3339;
use crate::error::{DomainError, Problems};
use crate::ids::UserId;

/// Where a user is in their lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum UserStatus {
    /// Created, not yet activated.
    Staged,
    /// May sign in.
    Active,
    /// Temporarily blocked.
    Suspended,
    /// Deactivated; may be deleted.
    Deprovisioned,
}

/// Who created the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProvisionedBy {
    /// An HR system or IdP through SCIM.
    Scim,
    /// The admin API.
    Api,
    /// The admin console.
    Console,
}

/// A user's entity risk level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RiskLevel {
    /// Nothing notable.
    Low,
    /// Suspicious.
    Medium,
    /// Likely compromised.
    High,
}

/// An admin role held by a user; API tokens act with their owner's roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AdminRole {
    /// Every admin action.
    SuperAdmin,
    /// Reads only.
    ReadOnlyAdmin,
}

macro_rules! str_enum {
    ($ty:ty { $($variant:ident => $s:literal),+ $(,)? }) => {
        impl $ty {
            /// The wire and storage form.
            pub fn as_str(&self) -> &'static str {
                match self { $(Self::$variant => $s),+ }
            }
        }
        impl std::str::FromStr for $ty {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s { $($s => Ok(Self::$variant),)+ _ => Err(format!("unknown value {s:?}")) }
            }
        }
        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.as_str()) }
        }
    };
}
pub(crate) use str_enum;

str_enum!(UserStatus { Staged => "STAGED", Active => "ACTIVE", Suspended => "SUSPENDED", Deprovisioned => "DEPROVISIONED" });
str_enum!(ProvisionedBy { Scim => "scim", Api => "api", Console => "console" });
str_enum!(RiskLevel { Low => "LOW", Medium => "MEDIUM", High => "HIGH" });
str_enum!(AdminRole { SuperAdmin => "SUPER_ADMIN", ReadOnlyAdmin => "READ_ONLY_ADMIN" });

/// A user's profile: Okta's base attributes. Unknown attributes are refused.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserProfile {
    /// Unique sign-in name, an email address.
    #[serde(default)]
    pub login: String,
    /// Primary email.
    #[serde(default)]
    pub email: String,
    /// Given name.
    #[serde(default)]
    pub first_name: String,
    /// Family name.
    #[serde(default)]
    pub last_name: String,
    /// Name to display.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Casual name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nick_name: Option<String>,
    /// Secondary email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub second_email: Option<String>,
    /// Mobile phone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile_phone: Option<String>,
    /// Job title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Department.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// Organization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    /// Division.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub division: Option<String>,
    /// Cost center.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_center: Option<String>,
    /// Employee number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employee_number: Option<String>,
    /// Manager's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager: Option<String>,
    /// Manager's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager_id: Option<String>,
    /// User type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_type: Option<String>,
    /// Locale, e.g. en_US.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// Time zone, e.g. America/Los_Angeles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
}

const MAX_ATTR: usize = 1024;

/// A minimal email check: one `@`, something on each side, a dot in the domain, no spaces.
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
        && s.len() <= 254
}

impl UserProfile {
    /// Checks the required attributes and their formats (the admin API's rules).
    pub fn validate(&self) -> Result<(), DomainError> {
        self.validate_for(ProvisionedBy::Api)
    }

    /// Checks the profile by the rules of whoever provisions the user. The admin API and console
    /// require an email-shaped login, an email and both names, as Okta does; SCIM clients (HR
    /// systems) send what RFC 7643 requires: a unique `userName` of any form, with name and
    /// emails optional.
    pub fn validate_for(&self, by: ProvisionedBy) -> Result<(), DomainError> {
        if by == ProvisionedBy::Scim {
            return self.validate_scim();
        }
        let mut p = Problems::default();
        p.check(
            self.login.trim().is_empty(),
            "login: The field cannot be left blank",
        );
        p.check(
            !self.login.trim().is_empty() && !is_email(&self.login),
            "login: Username must be in the form of an email address",
        );
        p.check(
            self.email.trim().is_empty(),
            "email: The field cannot be left blank",
        );
        p.check(
            !self.email.trim().is_empty() && !is_email(&self.email),
            "email: Does not match required pattern",
        );
        p.check(
            self.first_name.trim().is_empty(),
            "firstName: The field cannot be left blank",
        );
        p.check(
            self.last_name.trim().is_empty(),
            "lastName: The field cannot be left blank",
        );
        if let Some(e) = &self.second_email {
            p.check(!is_email(e), "secondEmail: Does not match required pattern");
        }
        let too_long = [&self.first_name, &self.last_name, &self.login, &self.email]
            .iter()
            .any(|s| s.len() > MAX_ATTR);
        p.check(too_long, "profile: attributes may be at most 1024 bytes");
        p.finish("Api validation failed: profile")
    }

    fn validate_scim(&self) -> Result<(), DomainError> {
        let mut p = Problems::default();
        p.check(
            self.login.trim().is_empty(),
            "userName: The field cannot be left blank",
        );
        p.check(
            self.login.chars().any(char::is_control),
            "userName: must not contain control characters",
        );
        let too_long = [&self.first_name, &self.last_name, &self.login, &self.email]
            .iter()
            .any(|s| s.len() > MAX_ATTR);
        p.check(too_long, "profile: attributes may be at most 1024 bytes");
        p.finish("Api validation failed: profile")
    }

    /// The login's uniqueness key (NFKC_Casefold, see [`crate::login_key`]).
    pub fn login_key(&self) -> String {
        crate::login_key::login_key(&self.login)
    }

    /// Refuses a login that mixes scripts the way look-alikes do (Cyrillic `а` among Latin
    /// letters); checked when a login is set, so existing accounts keep working.
    pub fn refuse_look_alike_login(&self, by: ProvisionedBy) -> Result<(), DomainError> {
        match crate::login_key::mixed_scripts(&self.login) {
            None => Ok(()),
            Some(why) => {
                let field = if by == ProvisionedBy::Scim {
                    "userName"
                } else {
                    "login"
                };
                Err(DomainError::invalid(
                    "Api validation failed: profile",
                    format!(
                        "{field}: {why}, as look-alikes of other logins do; write it in one script"
                    ),
                ))
            }
        }
    }

    /// Applies the attributes present in a partial update (JSON object) on top of this profile.
    pub fn merged(&self, partial: &serde_json::Value) -> Result<UserProfile, DomainError> {
        let mut base = serde_json::to_value(self)
            .map_err(|e| DomainError::invalid("Api validation failed: profile", e.to_string()))?;
        let (Some(base_map), Some(patch)) = (base.as_object_mut(), partial.as_object()) else {
            return Err(DomainError::invalid(
                "Api validation failed: profile",
                "profile: must be a JSON object",
            ));
        };
        for (k, v) in patch {
            if v.is_null() {
                base_map.remove(k);
            } else {
                base_map.insert(k.clone(), v.clone());
            }
        }
        serde_json::from_value(base)
            .map_err(|e| DomainError::invalid("Api validation failed: profile", e.to_string()))
    }
}

/// A person in the directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// Stable id.
    pub id: UserId,
    /// Lifecycle status.
    pub status: UserStatus,
    /// Who created the user.
    pub provisioned_by: ProvisionedBy,
    /// Entity risk level.
    pub risk_level: RiskLevel,
    /// When created.
    #[serde(with = "serde_rfc3339")]
    pub created: OffsetDateTime,
    /// When last activated.
    #[serde(with = "serde_rfc3339::option")]
    pub activated: Option<OffsetDateTime>,
    /// When the status last changed.
    #[serde(with = "serde_rfc3339::option")]
    pub status_changed: Option<OffsetDateTime>,
    /// When anything last changed.
    #[serde(with = "serde_rfc3339")]
    pub last_updated: OffsetDateTime,
    /// When the password last changed.
    #[serde(with = "serde_rfc3339::option")]
    pub password_changed: Option<OffsetDateTime>,
    /// When the user last signed in.
    #[serde(with = "serde_rfc3339::option")]
    pub last_login: Option<OffsetDateTime>,
    /// Profile attributes.
    pub profile: UserProfile,
}

/// A lifecycle operation on a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    /// STAGED or DEPROVISIONED → ACTIVE.
    Activate,
    /// ACTIVE → SUSPENDED.
    Suspend,
    /// SUSPENDED → ACTIVE.
    Unsuspend,
    /// any → DEPROVISIONED.
    Deactivate,
}

str_enum!(Lifecycle { Activate => "activate", Suspend => "suspend", Unsuspend => "unsuspend", Deactivate => "deactivate" });

impl Lifecycle {
    /// The status this operation leads to from `from`, or why it is not allowed.
    pub fn apply(self, from: UserStatus) -> Result<UserStatus, DomainError> {
        use UserStatus::*;
        let to = match (self, from) {
            (Lifecycle::Activate, Staged | Deprovisioned) => Active,
            (Lifecycle::Suspend, Active) => Suspended,
            (Lifecycle::Unsuspend, Suspended) => Active,
            (Lifecycle::Deactivate, Staged | Active | Suspended) => Deprovisioned,
            _ => {
                return Err(DomainError::InvalidState(format!(
                    "Cannot {} a user whose status is {}",
                    self.as_str(),
                    from
                )));
            }
        };
        Ok(to)
    }

    /// The System Log event type this operation writes.
    pub fn event_type(self) -> crate::log::EventType {
        match self {
            Lifecycle::Activate => events::user::ACTIVATE,
            Lifecycle::Suspend => events::user::SUSPEND,
            Lifecycle::Unsuspend => events::user::UNSUSPEND,
            Lifecycle::Deactivate => events::user::DEACTIVATE,
        }
    }
}

/// Password rules for admin-set passwords.
pub fn validate_password(pw: &str) -> Result<(), DomainError> {
    let mut p = Problems::default();
    p.check(
        pw.chars().count() < 8,
        "password: Password requirements were not met: at least 8 characters",
    );
    p.check(
        pw.len() > 256,
        "password: Password requirements were not met: at most 256 bytes",
    );
    p.finish("Api validation failed: password")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle_transitions() {
        use UserStatus::*;
        assert_eq!(Lifecycle::Activate.apply(Staged).unwrap(), Active);
        assert_eq!(Lifecycle::Activate.apply(Deprovisioned).unwrap(), Active);
        assert!(Lifecycle::Activate.apply(Active).is_err());
        assert_eq!(Lifecycle::Suspend.apply(Active).unwrap(), Suspended);
        assert!(Lifecycle::Suspend.apply(Staged).is_err());
        assert_eq!(Lifecycle::Unsuspend.apply(Suspended).unwrap(), Active);
        assert_eq!(
            Lifecycle::Deactivate.apply(Suspended).unwrap(),
            Deprovisioned
        );
        assert!(Lifecycle::Deactivate.apply(Deprovisioned).is_err());
    }

    #[test]
    fn scim_users_need_only_a_user_name() {
        let p = UserProfile {
            login: "jdoe".into(),
            ..Default::default()
        };
        assert!(
            p.validate().is_err(),
            "the admin API wants an email login and names"
        );
        assert!(p.validate_for(ProvisionedBy::Api).is_err());
        p.validate_for(ProvisionedBy::Scim).unwrap();
        let blank = UserProfile {
            login: " ".into(),
            ..Default::default()
        };
        assert!(blank.validate_for(ProvisionedBy::Scim).is_err());
        let control = UserProfile {
            login: "a\u{7}b".into(),
            ..Default::default()
        };
        assert!(control.validate_for(ProvisionedBy::Scim).is_err());
    }

    #[test]
    fn profile_validation_and_merge() {
        let p = UserProfile {
            login: "a@example.com".into(),
            email: "a@example.com".into(),
            first_name: "A".into(),
            last_name: "B".into(),
            ..Default::default()
        };
        p.validate().unwrap();
        let bad = UserProfile {
            login: "nope".into(),
            ..p.clone()
        };
        assert!(bad.validate().is_err());
        let m = p
            .merged(&serde_json::json!({"title": "CISO", "firstName": "Ada"}))
            .unwrap();
        assert_eq!(m.title.as_deref(), Some("CISO"));
        assert_eq!(m.first_name, "Ada");
        assert!(
            p.merged(&serde_json::json!({"favouriteColour": "red"}))
                .is_err()
        );
    }
}
