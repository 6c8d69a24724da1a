//! Imports the `vault_tx!` body needs, in one place for both backends.

pub(crate) use sqlx::AssertSqlSafe;
pub(crate) use time::OffsetDateTime;
pub(crate) use ulo_core::clock::to_millis;

pub(crate) use super::rows::*;
pub(crate) use super::tx::policy_json;
pub(crate) use super::{StoreError, db_err};
pub(crate) use crate::model::*;
