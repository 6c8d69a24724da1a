//! The filter AST, its errors, and its display in filter syntax.

use std::fmt;

use serde_json::Number;

/// A parsed SCIM filter expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// Both sides match.
    And(Box<Filter>, Box<Filter>),
    /// Either side matches.
    Or(Box<Filter>, Box<Filter>),
    /// The inner filter does not match.
    Not(Box<Filter>),
    /// `path op value`.
    Compare {
        /// The attribute compared.
        path: AttrPath,
        /// The comparison operator (never `pr`, see [`Filter::Present`]).
        op: CompareOp,
        /// The literal compared against.
        value: FilterValue,
    },
    /// `path pr`: the attribute has a non-empty value.
    Present(AttrPath),
    /// `emails[type eq "work"]`: some element of the multi-valued `attr` matches `filter`
    /// (paths inside `filter` are relative to the element). The filter form
    /// `emails[type eq "work"].value eq "x"` is parsed as `emails[type eq "work" and value eq "x"]`.
    ValuePath {
        /// The multi-valued attribute.
        attr: AttrPath,
        /// The filter applied to each element.
        filter: Box<Filter>,
    },
}

/// An attribute path: an optional schema URN and dotted attribute names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AttrPath {
    /// The schema URN prefix, e.g. `urn:ietf:params:scim:schemas:core:2.0:User`, without the final `:`.
    pub uri: Option<String>,
    /// Attribute names from the outside in, e.g. `["target", "id"]`.
    pub segments: Vec<String>,
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    /// Equal (strings case-insensitively).
    Eq,
    /// Not equal (strings case-insensitively); a missing attribute is not equal.
    Ne,
    /// Contains (strings, case-insensitively).
    Co,
    /// Starts with (strings, case-insensitively).
    Sw,
    /// Ends with (strings, case-insensitively).
    Ew,
    /// Greater than.
    Gt,
    /// Greater than or equal.
    Ge,
    /// Less than.
    Lt,
    /// Less than or equal.
    Le,
}

/// A literal on the right of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum FilterValue {
    /// A JSON string.
    String(String),
    /// A JSON number.
    Number(Number),
    /// `true` or `false`.
    Bool(bool),
    /// `null`.
    Null,
}

/// Why a filter was rejected, with the character offset where the problem was found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid filter at position {position}: {message}")]
pub struct FilterError {
    /// 0-based character offset in the input (0 when the problem is not tied to a place).
    pub position: usize,
    /// What is wrong, for a person.
    pub message: String,
}

/// A SCIM PATCH operation path such as `members[value eq "x"]` or `emails[type eq "work"].value`.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    /// The attribute addressed (`name.givenName` keeps both segments here).
    pub attr: AttrPath,
    /// The filter selecting elements of a multi-valued `attr`.
    pub value_filter: Option<Filter>,
    /// The sub-attribute after `]`, as in `emails[type eq "work"].value`.
    pub sub_attr: Option<String>,
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(uri) = &self.uri {
            write!(f, "{uri}:")?;
        }
        f.write_str(&self.segments.join("."))
    }
}

impl fmt::Display for CompareOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
        })
    }
}

impl fmt::Display for FilterValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FilterValue::String(s) => write_json_string(f, s),
            FilterValue::Number(n) => write!(f, "{n}"),
            FilterValue::Bool(b) => write!(f, "{b}"),
            FilterValue::Null => f.write_str("null"),
        }
    }
}

/// Writes the filter back in filter syntax; parsing the output yields an equal filter.
impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Filter::Or(a, b) => {
                write!(f, "{a} or ")?;
                write_operand(f, b, matches!(**b, Filter::Or(..)))
            }
            Filter::And(a, b) => {
                write_operand(f, a, matches!(**a, Filter::Or(..)))?;
                f.write_str(" and ")?;
                write_operand(f, b, matches!(**b, Filter::Or(..) | Filter::And(..)))
            }
            Filter::Not(inner) => write!(f, "not ({inner})"),
            Filter::Compare { path, op, value } => write!(f, "{path} {op} {value}"),
            Filter::Present(path) => write!(f, "{path} pr"),
            Filter::ValuePath { attr, filter } => write!(f, "{attr}[{filter}]"),
        }
    }
}

fn write_operand(f: &mut fmt::Formatter<'_>, operand: &Filter, parens: bool) -> fmt::Result {
    if parens {
        write!(f, "({operand})")
    } else {
        write!(f, "{operand}")
    }
}

fn write_json_string(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_str("\"")?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            c if u32::from(c) < 0x20 => write!(f, "\\u{:04x}", u32::from(c))?,
            c => write!(f, "{c}")?,
        }
    }
    f.write_str("\"")
}
