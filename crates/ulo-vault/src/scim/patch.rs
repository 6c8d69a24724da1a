//! SCIM PATCH (RFC 7644 §3.5.2) applied to a resource's JSON form: `add`, `replace` and
//! `remove`, with or without a path; the caller turns the patched document back into a record.

use serde_json::{Map, Value};
use ulo_core::filter::{self, Filter};

use super::PATCH_SCHEMA;
use crate::error::VaultError;

/// One operation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Operation {
    /// `add`, `replace` or `remove` (lowercased: some clients send `Replace`).
    pub op: String,
    /// The attribute path, if any.
    pub path: Option<String>,
    /// The value (absent for `remove`).
    pub value: Option<Value>,
}

/// Reads a PatchOp body.
pub(crate) fn operations(body: &Map<String, Value>) -> Result<Vec<Operation>, VaultError> {
    let schemas = body.get("schemas").and_then(Value::as_array);
    if !schemas.is_some_and(|s| s.iter().any(|v| v == PATCH_SCHEMA)) {
        return Err(VaultError::invalid(format!(
            "a PATCH body must list the schema {PATCH_SCHEMA}"
        )));
    }
    let ops = body
        .get("Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| VaultError::invalid("a PATCH body needs an Operations array"))?;
    ops.iter()
        .enumerate()
        .map(|(i, o)| {
            let op = o
                .get("op")
                .and_then(Value::as_str)
                .map(str::to_ascii_lowercase)
                .ok_or_else(|| VaultError::invalid(format!("Operations[{i}] has no op")))?;
            if !matches!(op.as_str(), "add" | "replace" | "remove") {
                return Err(VaultError::invalid(format!(
                    "Operations[{i}].op must be add, replace or remove, not {op:?}"
                )));
            }
            let path = o.get("path").and_then(Value::as_str).map(str::to_string);
            let value = o.get("value").cloned();
            if op != "remove" && value.is_none() {
                return Err(VaultError::invalid(format!(
                    "Operations[{i}] ({op}) needs a value"
                )));
            }
            if op == "remove" && path.is_none() {
                return Err(VaultError::invalid(format!(
                    "Operations[{i}] (remove) needs a path"
                )));
            }
            Ok(Operation { op, path, value })
        })
        .collect()
}

/// Applies a path-less or simple-path operation to `doc` (an object). Multi-valued filters
/// (`members[value eq "x"]`) are the caller's: this answers them as `Some(filter)` untouched.
pub(crate) fn apply(
    doc: &mut Map<String, Value>,
    op: &Operation,
) -> Result<Option<Filter>, VaultError> {
    let Some(path) = &op.path else {
        let Some(Value::Object(values)) = &op.value else {
            return Err(VaultError::invalid(
                "an operation without a path needs an object value",
            ));
        };
        for (k, v) in values {
            set(
                doc,
                &k.split('.').map(str::to_string).collect::<Vec<_>>(),
                v.clone(),
                &op.op,
            );
        }
        return Ok(None);
    };
    let parsed = filter::parse_patch_path(path)
        .map_err(|e| VaultError::invalid(format!("invalid path {path:?}: {e}")))?;
    if parsed.attr.uri.is_some() && parsed.attr.segments.is_empty() {
        return Err(VaultError::invalid(format!("invalid path {path:?}")));
    }
    if let Some(f) = parsed.value_filter {
        return Ok(Some(f));
    }
    let segments = parsed.attr.segments;
    match (&op.op[..], &op.value) {
        ("remove", _) => remove(doc, &segments),
        (_, Some(v)) => set(doc, &segments, v.clone(), &op.op),
        (_, None) => {}
    }
    Ok(None)
}

/// Sets `path` to `value`; `add` of an array to an array appends, objects merge.
fn set(doc: &mut Map<String, Value>, path: &[String], value: Value, op: &str) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut cur = doc;
    for p in parents {
        let entry = cur
            .entry(p.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        let Value::Object(next) = entry else { return };
        cur = next;
    }
    match (cur.get_mut(last), value) {
        (Some(Value::Array(existing)), Value::Array(new)) if op == "add" => {
            for v in new {
                if !existing.contains(&v) {
                    existing.push(v);
                }
            }
        }
        (Some(Value::Object(existing)), Value::Object(new)) => {
            for (k, v) in new {
                existing.insert(k, v);
            }
        }
        (_, value) => {
            cur.insert(last.clone(), value);
        }
    }
}

fn remove(doc: &mut Map<String, Value>, path: &[String]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut cur = doc;
    for p in parents {
        match cur.get_mut(p) {
            Some(Value::Object(next)) => cur = next,
            _ => return,
        }
    }
    cur.remove(last);
}

/// A SCIM boolean: `true`/`false`, or the strings some clients send.
pub(crate) fn boolean(v: &Value, name: &str) -> Result<bool, VaultError> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        other => Err(VaultError::invalid(format!(
            "{name} must be true or false, not {other}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ops(v: Value) -> Vec<Operation> {
        operations(v.as_object().unwrap()).unwrap()
    }

    #[test]
    fn patches_apply_with_and_without_paths() {
        let mut doc =
            json!({"userName": "a", "active": true, "name": {"givenName": "A", "familyName": "B"}})
                .as_object()
                .unwrap()
                .clone();
        for op in ops(json!({"schemas": [PATCH_SCHEMA], "Operations": [
            {"op": "Replace", "value": {"active": false, "name": {"givenName": "Ada"}}},
            {"op": "replace", "path": "name.familyName", "value": "Lovelace"},
            {"op": "add", "path": "emails", "value": [{"value": "a@example.com"}]},
            {"op": "remove", "path": "userName"},
        ]})) {
            assert_eq!(apply(&mut doc, &op).unwrap(), None);
        }
        assert_eq!(
            Value::Object(doc),
            json!({"active": false, "name": {"givenName": "Ada", "familyName": "Lovelace"}, "emails": [{"value": "a@example.com"}]})
        );
    }

    #[test]
    fn bad_patches_say_why() {
        let body = json!({"Operations": []});
        assert!(
            operations(body.as_object().unwrap())
                .unwrap_err()
                .to_string()
                .contains("schema")
        );
        let body = json!({"schemas": [PATCH_SCHEMA], "Operations": [{"op": "move", "path": "a"}]});
        assert!(
            operations(body.as_object().unwrap())
                .unwrap_err()
                .to_string()
                .contains("move")
        );
        let mut doc = Map::new();
        let op = Operation {
            op: "replace".into(),
            path: Some("a[".into()),
            value: Some(json!(1)),
        };
        assert!(
            apply(&mut doc, &op)
                .unwrap_err()
                .to_string()
                .contains("invalid path")
        );
        let op = Operation {
            op: "remove".into(),
            path: Some("members[value eq \"x\"]".into()),
            value: None,
        };
        assert!(apply(&mut doc, &op).unwrap().is_some());
    }
}
