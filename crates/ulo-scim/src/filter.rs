//! SCIM filter language (RFC 7644 §3.4.2.2): AST and parser.
//!
//! Beyond the RFC grammar this accepts dotted paths of any depth (`debugContext.debugData.requestUri`)
//! and `attr[valFilter].sub op value` in filters, which is read as `attr[valFilter and sub op value]`.

mod ast;
mod eval;
mod lexer;
mod parser;
#[cfg(test)]
mod tests;

pub use ast::{AttrPath, CompareOp, Filter, FilterError, FilterValue, PatchPath};
pub use eval::{matches, matches_with};
pub use parser::{parse, parse_patch_path};

/// Longest accepted input, in characters.
const MAX_LEN: usize = 4096;
/// Deepest accepted nesting of `(`, `not (` and `[`.
const MAX_DEPTH: usize = 32;
/// Schema URNs whose attributes live at the top level of a SCIM document.
const CORE_SCHEMA_PREFIX: &str = "urn:ietf:params:scim:schemas:core:";
/// The operators listed in "expected an operator" errors.
const OPERATOR_LIST: &str = "eq, ne, co, sw, ew, pr, gt, ge, lt, le";
