//! SCIM 2.0 (RFC 7643/7644) shared by ulo's SCIM API and the vault's SCIM service provider:
//! the filter language, the PATCH engine, and the wire shapes both servers send (errors,
//! ListResponse and its paging, User and Group resources, the discovery documents). No HTTP
//! here: each server maps [`patch::PatchError`] and [`filter::FilterError`] onto its own error
//! answers, and sends these shapes as `application/scim+json` ([`wire::MEDIA_TYPE`]).

pub mod discovery;
pub mod filter;
pub mod patch;
pub mod resource;
pub mod urn;
pub mod wire;
