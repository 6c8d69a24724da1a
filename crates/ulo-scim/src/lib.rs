//! SCIM 2.0 (RFC 7643/7644) shared by ulo's SCIM API and the vault's SCIM service provider:
//! the filter language and the PATCH engine. No HTTP here: each server maps
//! [`patch::PatchError`] and [`filter::FilterError`] onto its own error answers.

pub mod filter;
pub mod patch;
