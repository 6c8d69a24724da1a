//! SCIM PATCH (RFC 7644 §3.5.2) applied to a copy of a resource's SCIM form; nothing is stored
//! here. The caller renders the resource, patches the document, and reads it back.
//!
//! One engine serves ulo and the vault. Where the two servers answered differently before
//! they shared it, a [`Shape`] flag keeps each one's behaviour: ulo's resources use
//! [`Shape::STRICT`] (RFC 7644 to the letter), the vault's [`Shape::LENIENT`] (attributes it
//! does not keep are accepted and ignored, filtered removals that match nothing are no error),
//! as ulo's provisioning and other clients expect of a downstream app.

mod edit;
mod path;
#[cfg(test)]
mod tests;

use serde_json::Value;

/// The PatchOp message schema.
pub const PATCH_SCHEMA: &str = crate::urn::PATCH_OP;

/// Why a PATCH was refused: an RFC 7644 §3.12 `scimType` and a detail for a person. Always a
/// 400 (each server maps it onto its own error answer).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{detail}")]
pub struct PatchError {
    /// RFC 7644 §3.12 error keyword (`invalidSyntax`, `invalidPath`, `noTarget`, …).
    pub scim_type: &'static str,
    /// What is wrong.
    pub detail: String,
}

impl PatchError {
    pub(crate) fn new(scim_type: &'static str, detail: impl Into<String>) -> Self {
        PatchError {
            scim_type,
            detail: detail.into(),
        }
    }
}

/// Which operations may select values of a multi-valued attribute with a filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueFilters {
    /// `add`, `replace` and `remove` (`emails[type eq "work"].value`).
    Any,
    /// Only `remove` (`members[value eq "x"]`).
    RemoveOnly,
    /// None: a filtered path is refused.
    Never,
}

/// What a resource type's attributes are and how PATCH treats them.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// Core attributes, canonically spelled (paths match them ignoring case).
    pub core: &'static [&'static str],
    /// Core attributes a client may not change.
    pub read_only: &'static [&'static str],
    /// Multi-valued core attributes.
    pub multi: &'static [&'static str],
    /// The extension schema and its attributes, if any.
    pub extension: Option<(&'static str, &'static [&'static str])>,
    /// Whether attributes and schemas the shape does not list are taken as sent (the caller
    /// ignores what it does not keep) instead of refused with `invalidPath`.
    pub open: bool,
    /// Which operations may carry a value filter.
    pub value_filters: ValueFilters,
    /// Whether a value filter that selects nothing is refused (`noTarget`) or does nothing.
    pub unmatched_fails: bool,
    /// Whether `remove` with a value on a multi-valued attribute removes only the values listed
    /// (as Microsoft Entra ID sends member removals) instead of the whole attribute.
    pub remove_listed: bool,
    /// Whether a PatchOp with an empty `Operations` list is accepted (and changes nothing).
    pub empty_ok: bool,
}

impl Shape {
    /// RFC 7644 to the letter, with no attributes: spread it into a resource's shape.
    pub const STRICT: Shape = Shape {
        core: &[],
        read_only: &[],
        multi: &[],
        extension: None,
        open: false,
        value_filters: ValueFilters::Any,
        unmatched_fails: true,
        remove_listed: false,
        empty_ok: false,
    };

    /// What a downstream app's provisioning clients expect (the vault's rules): attributes the
    /// shape does not list are accepted (and ignored by the caller), a filter that selects
    /// nothing does nothing, no value filters, and an empty PatchOp is a no-op.
    pub const LENIENT: Shape = Shape {
        open: true,
        value_filters: ValueFilters::Never,
        unmatched_fails: false,
        empty_ok: true,
        ..Shape::STRICT
    };
}

/// The kind of an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    /// `add`.
    Add,
    /// `replace`.
    Replace,
    /// `remove`.
    Remove,
}

impl OpKind {
    fn name(self) -> &'static str {
        match self {
            OpKind::Add => "add",
            OpKind::Replace => "replace",
            OpKind::Remove => "remove",
        }
    }
}

/// One operation of a PatchOp body.
#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    /// What it does (`op` is read ignoring case: some clients send `Replace`).
    pub op: OpKind,
    /// The attribute path, trimmed; `None` when absent or empty.
    pub path: Option<String>,
    /// The value (required for `add` and `replace`).
    pub value: Option<Value>,
}

/// Reads a PatchOp body into its operations, refusing a body that is not one.
pub fn operations(body: &Value, shape: &Shape) -> Result<Vec<Operation>, PatchError> {
    if !body["schemas"]
        .as_array()
        .is_some_and(|s| s.iter().any(|v| v == PATCH_SCHEMA))
    {
        return Err(PatchError::new(
            "invalidSyntax",
            format!("schemas must contain {PATCH_SCHEMA}"),
        ));
    }
    let Some(ops) = body.get("Operations").and_then(Value::as_array) else {
        return Err(PatchError::new(
            "invalidSyntax",
            "Operations must be a list",
        ));
    };
    if ops.is_empty() && !shape.empty_ok {
        return Err(PatchError::new(
            "invalidSyntax",
            "Operations must not be empty",
        ));
    }
    ops.iter().map(operation).collect()
}

fn operation(op: &Value) -> Result<Operation, PatchError> {
    let name = op["op"]
        .as_str()
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let kind = match name.as_str() {
        "add" => OpKind::Add,
        "replace" => OpKind::Replace,
        "remove" => OpKind::Remove,
        other => {
            return Err(PatchError::new(
                "invalidSyntax",
                format!("unknown op {other:?}"),
            ));
        }
    };
    let path = op
        .get("path")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_string);
    let value = op.get("value").cloned();
    match kind {
        OpKind::Add | OpKind::Replace if value.is_none() => Err(PatchError::new(
            "invalidValue",
            format!("{} needs a value", kind.name()),
        )),
        OpKind::Remove if path.is_none() => Err(PatchError::new("noTarget", "remove needs a path")),
        _ => Ok(Operation {
            op: kind,
            path,
            value,
        }),
    }
}

/// Applies a PatchOp body to `doc`: [`operations`], then each in turn; fails on the first bad
/// one (`doc` is then partly patched: patch a copy).
pub fn apply(doc: &mut Value, body: &Value, shape: &Shape) -> Result<(), PatchError> {
    apply_operations(doc, &operations(body, shape)?, shape)
}

/// Applies operations already read to `doc`, failing on the first bad one.
pub fn apply_operations(
    doc: &mut Value,
    ops: &[Operation],
    shape: &Shape,
) -> Result<(), PatchError> {
    for op in ops {
        match (op.op, &op.path, &op.value) {
            (OpKind::Remove, Some(p), value) => edit::remove(doc, p, value.as_ref(), shape)?,
            (OpKind::Remove, None, _) => {
                return Err(PatchError::new("noTarget", "remove needs a path"));
            }
            (_, _, None) => {
                return Err(PatchError::new(
                    "invalidValue",
                    format!("{} needs a value", op.op.name()),
                ));
            }
            (kind, None, Some(value)) => {
                let Some(obj) = value.as_object() else {
                    return Err(PatchError::new(
                        "invalidValue",
                        "without a path, value must be an object",
                    ));
                };
                for (k, v) in obj {
                    edit::set(doc, k, v, kind, shape)?;
                }
            }
            (kind, Some(p), Some(value)) => edit::set(doc, p, value, kind, shape)?,
        }
    }
    Ok(())
}
