//! Groups: sets of users, used for app assignment and policy scoping.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::clock::serde_rfc3339;
use crate::error::{DomainError, Problems};
use crate::ids::GroupId;

/// A group's editable attributes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GroupProfile {
    /// Unique name.
    #[serde(default)]
    pub name: String,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl GroupProfile {
    /// Checks the name.
    pub fn validate(&self) -> Result<(), DomainError> {
        let mut p = Problems::default();
        p.check(
            self.name.trim().is_empty(),
            "name: The field cannot be left blank",
        );
        p.check(self.name.len() > 255, "name: at most 255 bytes");
        p.check(
            self.description.as_ref().is_some_and(|d| d.len() > 1024),
            "description: at most 1024 bytes",
        );
        p.finish("Api validation failed: group profile")
    }

    /// Lower-cased name, the uniqueness key.
    pub fn name_key(&self) -> String {
        self.name.trim().to_lowercase()
    }
}

/// A set of users.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    /// Stable id.
    pub id: GroupId,
    /// When created.
    #[serde(with = "serde_rfc3339")]
    pub created: OffsetDateTime,
    /// When the profile last changed.
    #[serde(with = "serde_rfc3339")]
    pub last_updated: OffsetDateTime,
    /// When membership last changed.
    #[serde(with = "serde_rfc3339")]
    pub last_membership_updated: OffsetDateTime,
    /// Name and description.
    pub profile: GroupProfile,
}
