//! Setting and removing what a resolved path points at.

use serde_json::{Map, Value};

use super::path::{Resolved, resolve};
use super::{OpKind, PatchError, Shape, ValueFilters};
use crate::filter::{Filter, matches};

/// Refuses a value filter the shape does not take for `op`.
fn check_filter(r: &Resolved, path: &str, op: OpKind, shape: &Shape) -> Result<(), PatchError> {
    if r.value_filter.is_none() {
        return Ok(());
    }
    match (shape.value_filters, op) {
        (ValueFilters::Any, _) | (ValueFilters::RemoveOnly, OpKind::Remove) => Ok(()),
        (ValueFilters::RemoveOnly, _) => Err(PatchError::new(
            "invalidPath",
            format!("path {path:?}: a filter applies only to remove"),
        )),
        (ValueFilters::Never, _) => Err(PatchError::new(
            "invalidPath",
            format!("path {path:?}: filtered paths are not supported here"),
        )),
    }
}

/// The object holding the attribute: the document, or its extension object (made if absent).
fn container<'a>(
    doc: &'a mut Value,
    r: &Resolved,
) -> Result<&'a mut Map<String, Value>, PatchError> {
    let root = doc
        .as_object_mut()
        .ok_or_else(|| PatchError::new("invalidValue", "resource is not an object"))?;
    match &r.container {
        None => Ok(root),
        Some(urn) => root
            .entry(urn.clone())
            .or_insert_with(|| Value::Object(Map::new()))
            .as_object_mut()
            .ok_or_else(|| PatchError::new("invalidValue", format!("{urn} must be an object"))),
    }
}

fn no_target(path: &str) -> PatchError {
    PatchError::new("noTarget", format!("no value matches {path}"))
}

/// The values of a multi-valued attribute a filter applies to; `None` when the attribute has
/// none (an attribute that is there but not a list is an error).
fn filtered_items<'a>(
    obj: &'a mut Map<String, Value>,
    attr: &str,
    path: &str,
) -> Result<Option<&'a mut Vec<Value>>, PatchError> {
    match obj.get_mut(attr) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => Ok(Some(items)),
        Some(_) => Err(no_target(path)),
    }
}

/// `add` or `replace` of `value` at `path`.
pub(super) fn set(
    doc: &mut Value,
    path: &str,
    value: &Value,
    op: OpKind,
    shape: &Shape,
) -> Result<(), PatchError> {
    let r = resolve(path, shape)?;
    check_filter(&r, path, op, shape)?;
    let add = op == OpKind::Add;
    let obj = container(doc, &r)?;
    if r.whole_extension {
        let Some(v) = value.as_object() else {
            return Err(PatchError::new(
                "invalidValue",
                format!("{path} takes an object"),
            ));
        };
        let ext = obj
            .entry(r.attr.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(e) = ext.as_object_mut() {
            for (k, v) in v {
                e.insert(k.clone(), v.clone());
            }
        }
        return Ok(());
    }
    if let Some(filter) = &r.value_filter {
        return set_filtered(obj, &r, filter, path, value, shape);
    }
    match &r.sub {
        Some(sub) => {
            let parent = obj
                .entry(r.attr.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            let Some(p) = parent.as_object_mut() else {
                return Err(PatchError::new(
                    "invalidPath",
                    format!("{path}: {} has no sub-attributes", r.attr),
                ));
            };
            p.insert(sub.clone(), value.clone());
        }
        None if r.multi => {
            let new: Vec<Value> = match value {
                Value::Array(a) => a.clone(),
                other => vec![other.clone()],
            };
            let existing = obj
                .entry(r.attr.clone())
                .or_insert_with(|| Value::Array(vec![]));
            match existing {
                Value::Array(items) if add => {
                    for v in new {
                        if !items.contains(&v) {
                            items.push(v);
                        }
                    }
                }
                other => *other = Value::Array(new),
            }
        }
        // `name` takes the sub-attributes sent and keeps the others, on replace too.
        None => match (obj.get_mut(&r.attr), value) {
            (Some(Value::Object(cur)), Value::Object(v)) if add || r.attr == "name" => {
                cur.extend(v.clone());
            }
            _ => {
                obj.insert(r.attr.clone(), value.clone());
            }
        },
    }
    Ok(())
}

/// `add` or `replace` on the values a filter selects (`emails[type eq "work"].value`).
fn set_filtered(
    obj: &mut Map<String, Value>,
    r: &Resolved,
    filter: &Filter,
    path: &str,
    value: &Value,
    shape: &Shape,
) -> Result<(), PatchError> {
    let mut hit = false;
    if let Some(items) = filtered_items(obj, &r.attr, path)? {
        for item in items.iter_mut().filter(|i| matches(filter, i)) {
            hit = true;
            match (&r.sub_after_filter, item.as_object_mut()) {
                (Some(sub), Some(o)) => {
                    o.insert(sub.clone(), value.clone());
                }
                (None, Some(o)) => match value.as_object() {
                    Some(v) => o.extend(v.clone()),
                    None => {
                        return Err(PatchError::new(
                            "invalidValue",
                            format!("{path} takes an object"),
                        ));
                    }
                },
                _ => {}
            }
        }
    }
    if !hit && shape.unmatched_fails {
        return Err(no_target(path));
    }
    Ok(())
}

/// `remove` at `path`; `value` lists the values to remove where the shape allows it.
pub(super) fn remove(
    doc: &mut Value,
    path: &str,
    value: Option<&Value>,
    shape: &Shape,
) -> Result<(), PatchError> {
    let r = resolve(path, shape)?;
    check_filter(&r, path, OpKind::Remove, shape)?;
    if r.whole_extension {
        if let Some(o) = doc.as_object_mut() {
            o.remove(&r.attr);
        }
        return Ok(());
    }
    let obj = container(doc, &r)?;
    if let Some(filter) = &r.value_filter {
        return remove_filtered(obj, &r, filter, path, shape);
    }
    match &r.sub {
        Some(sub) => {
            if let Some(Value::Object(p)) = obj.get_mut(&r.attr) {
                p.retain(|k, _| !k.eq_ignore_ascii_case(sub));
            }
        }
        None if shape.remove_listed && r.multi => remove_listed(obj, &r.attr, value)?,
        None => {
            obj.remove(&r.attr);
        }
    }
    Ok(())
}

/// `remove` of the values a filter selects, or of a sub-attribute of each.
fn remove_filtered(
    obj: &mut Map<String, Value>,
    r: &Resolved,
    filter: &Filter,
    path: &str,
    shape: &Shape,
) -> Result<(), PatchError> {
    let Some(items) = filtered_items(obj, &r.attr, path)? else {
        return match shape.unmatched_fails {
            true => Err(no_target(path)),
            false => Ok(()),
        };
    };
    let hit = match &r.sub_after_filter {
        None => {
            let before = items.len();
            items.retain(|i| !matches(filter, i));
            items.len() != before
        }
        Some(sub) => {
            let mut hit = false;
            for i in items.iter_mut().filter(|i| matches(filter, i)) {
                hit = true;
                if let Some(o) = i.as_object_mut() {
                    o.retain(|k, _| !k.eq_ignore_ascii_case(sub));
                }
            }
            hit
        }
    };
    if !hit && shape.unmatched_fails {
        return Err(no_target(path));
    }
    Ok(())
}

/// `remove` of a multi-valued attribute with a value: only the values listed go (compared by
/// their `value` sub-attribute when they have one); with no value or an empty list, all go.
fn remove_listed(
    obj: &mut Map<String, Value>,
    attr: &str,
    value: Option<&Value>,
) -> Result<(), PatchError> {
    let listed = match value {
        None | Some(Value::Null) => &[][..],
        Some(Value::Array(items)) => items.as_slice(),
        Some(_) => {
            return Err(PatchError::new(
                "invalidValue",
                format!("{attr}: remove takes a list of values"),
            ));
        }
    };
    if listed.is_empty() {
        obj.remove(attr);
        return Ok(());
    }
    let key = |v: &Value| v.get("value").cloned().unwrap_or_else(|| v.clone());
    let gone: Vec<Value> = listed.iter().map(key).collect();
    if let Some(Value::Array(items)) = obj.get_mut(attr) {
        items.retain(|i| !gone.contains(&key(i)));
    }
    Ok(())
}
