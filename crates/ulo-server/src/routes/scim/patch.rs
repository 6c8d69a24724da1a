//! PATCH (RFC 7644 §3.5.2) applied to a copy of the resource's SCIM form; nothing is stored here.

use serde_json::{Map, Value};
use ulo_core::filter::{Filter, parse_patch_path};

use super::wire::ScimError;

/// The PatchOp message schema.
const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// What a resource type's attributes are, for resolving and checking paths.
pub struct Shape {
    /// Core attributes, canonically spelled.
    pub core: &'static [&'static str],
    /// Core attributes a client may not change.
    pub read_only: &'static [&'static str],
    /// Multi-valued core attributes.
    pub multi: &'static [&'static str],
    /// The extension schema and its attributes, if any.
    pub extension: Option<(&'static str, &'static [&'static str])>,
}

/// Applies every operation of a PatchOp body to `doc`, or fails on the first bad one.
pub fn apply(doc: &mut Value, body: &Value, shape: &Shape) -> Result<(), ScimError> {
    if !body["schemas"]
        .as_array()
        .is_some_and(|s| s.iter().any(|v| v == PATCH_SCHEMA))
    {
        return Err(ScimError::bad(
            "invalidSyntax",
            format!("schemas must contain {PATCH_SCHEMA}"),
        ));
    }
    let Some(ops) = body.get("Operations").and_then(Value::as_array) else {
        return Err(ScimError::bad("invalidSyntax", "Operations must be a list"));
    };
    if ops.is_empty() {
        return Err(ScimError::bad(
            "invalidSyntax",
            "Operations must not be empty",
        ));
    }
    for op in ops {
        let kind = op["op"]
            .as_str()
            .map(str::to_ascii_lowercase)
            .unwrap_or_default();
        let path = op
            .get("path")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|p| !p.is_empty());
        let value = op.get("value");
        match kind.as_str() {
            "add" | "replace" => {
                let Some(value) = value else {
                    return Err(ScimError::bad(
                        "invalidValue",
                        format!("{kind} needs a value"),
                    ));
                };
                match path {
                    None => {
                        let Some(obj) = value.as_object() else {
                            return Err(ScimError::bad(
                                "invalidValue",
                                "without a path, value must be an object",
                            ));
                        };
                        for (k, v) in obj {
                            set(doc, k, v, kind == "add", shape)?;
                        }
                    }
                    Some(p) => set(doc, p, value, kind == "add", shape)?,
                }
            }
            "remove" => {
                let Some(p) = path else {
                    return Err(ScimError::bad("noTarget", "remove needs a path"));
                };
                remove(doc, p, shape)?;
            }
            other => {
                return Err(ScimError::bad(
                    "invalidSyntax",
                    format!("unknown op {other:?}"),
                ));
            }
        }
    }
    Ok(())
}

/// Where a path points: the container key (None for core) and the canonical attribute name.
struct Resolved {
    container: Option<&'static str>,
    attr: &'static str,
    sub: Option<String>,
    value_filter: Option<Filter>,
    sub_after_filter: Option<String>,
}

fn resolve(path: &str, shape: &Shape) -> Result<Resolved, ScimError> {
    // An extension's whole object may be addressed by its URN alone.
    if let Some((urn, _)) = shape.extension
        && path.eq_ignore_ascii_case(urn)
    {
        return Ok(Resolved {
            container: None,
            attr: urn,
            sub: None,
            value_filter: None,
            sub_after_filter: None,
        });
    }
    let parsed = parse_patch_path(path)
        .map_err(|e| ScimError::bad("invalidPath", format!("{path}: {}", e.message)))?;
    let (container, names): (Option<&'static str>, &'static [&'static str]) = match &parsed.attr.uri
    {
        None => (None, shape.core),
        Some(u)
            if u.to_ascii_lowercase()
                .starts_with("urn:ietf:params:scim:schemas:core:2.0:") =>
        {
            (None, shape.core)
        }
        Some(u) => match shape.extension {
            Some((urn, attrs)) if urn.eq_ignore_ascii_case(u) => (Some(urn), attrs),
            _ => {
                return Err(ScimError::bad(
                    "invalidPath",
                    format!("unknown schema in path {path}"),
                ));
            }
        },
    };
    let first = parsed
        .attr
        .segments
        .first()
        .map(String::as_str)
        .unwrap_or("");
    let Some(attr) = names
        .iter()
        .copied()
        .find(|n| n.eq_ignore_ascii_case(first))
    else {
        return Err(ScimError::bad(
            "invalidPath",
            format!("unknown attribute {first:?} in path {path}"),
        ));
    };
    if container.is_none() && shape.read_only.iter().any(|r| r.eq_ignore_ascii_case(attr)) {
        return Err(ScimError::bad("mutability", format!("{attr} is read-only")));
    }
    if parsed.attr.segments.len() > 2 {
        return Err(ScimError::bad(
            "invalidPath",
            format!("path {path} is too deep"),
        ));
    }
    Ok(Resolved {
        container,
        attr,
        sub: parsed.attr.segments.get(1).cloned(),
        value_filter: parsed.value_filter,
        sub_after_filter: parsed.sub_attr,
    })
}

fn container<'a>(
    doc: &'a mut Value,
    r: &Resolved,
) -> Result<&'a mut Map<String, Value>, ScimError> {
    let root = doc
        .as_object_mut()
        .ok_or_else(|| ScimError::bad("invalidValue", "resource is not an object"))?;
    match r.container {
        None => Ok(root),
        Some(urn) => root
            .entry(urn)
            .or_insert_with(|| Value::Object(Map::new()))
            .as_object_mut()
            .ok_or_else(|| ScimError::bad("invalidValue", format!("{urn} must be an object"))),
    }
}

fn set(
    doc: &mut Value,
    path: &str,
    value: &Value,
    add: bool,
    shape: &Shape,
) -> Result<(), ScimError> {
    let r = resolve(path, shape)?;
    let multi = r.container.is_none() && shape.multi.contains(&r.attr);
    let is_ext_object = shape.extension.is_some_and(|(u, _)| u == r.attr);
    let obj = container(doc, &r)?;
    if is_ext_object {
        let Some(v) = value.as_object() else {
            return Err(ScimError::bad(
                "invalidValue",
                format!("{path} takes an object"),
            ));
        };
        let ext = obj
            .entry(r.attr)
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(e) = ext.as_object_mut() {
            for (k, v) in v {
                e.insert(k.clone(), v.clone());
            }
        }
        return Ok(());
    }
    if let Some(filter) = &r.value_filter {
        let items = obj.get_mut(r.attr).and_then(Value::as_array_mut);
        let mut hit = false;
        if let Some(items) = items {
            for item in items
                .iter_mut()
                .filter(|i| ulo_core::filter::matches(filter, i))
            {
                hit = true;
                match (&r.sub_after_filter, item.as_object_mut()) {
                    (Some(sub), Some(o)) => {
                        o.insert(sub.clone(), value.clone());
                    }
                    (None, Some(o)) => match value.as_object() {
                        Some(v) => o.extend(v.clone()),
                        None => {
                            return Err(ScimError::bad(
                                "invalidValue",
                                format!("{path} takes an object"),
                            ));
                        }
                    },
                    _ => {}
                }
            }
        }
        if !hit {
            return Err(ScimError::bad(
                "noTarget",
                format!("no value matches {path}"),
            ));
        }
        return Ok(());
    }
    match &r.sub {
        Some(sub) => {
            let parent = obj
                .entry(r.attr)
                .or_insert_with(|| Value::Object(Map::new()));
            let Some(p) = parent.as_object_mut() else {
                return Err(ScimError::bad(
                    "invalidPath",
                    format!("{path}: {} has no sub-attributes", r.attr),
                ));
            };
            p.insert(sub.clone(), value.clone());
        }
        None if multi => {
            let new: Vec<Value> = match value {
                Value::Array(a) => a.clone(),
                other => vec![other.clone()],
            };
            let existing = obj.entry(r.attr).or_insert_with(|| Value::Array(vec![]));
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
        None => match (obj.get_mut(r.attr), value) {
            (Some(Value::Object(cur)), Value::Object(v)) if add || r.attr == "name" => {
                cur.extend(v.clone());
            }
            _ => {
                obj.insert(r.attr.to_string(), value.clone());
            }
        },
    }
    Ok(())
}

fn remove(doc: &mut Value, path: &str, shape: &Shape) -> Result<(), ScimError> {
    let r = resolve(path, shape)?;
    if shape.extension.is_some_and(|(u, _)| u == r.attr) {
        if let Some(o) = doc.as_object_mut() {
            o.remove(r.attr);
        }
        return Ok(());
    }
    let obj = container(doc, &r)?;
    if let Some(filter) = &r.value_filter {
        let Some(items) = obj.get_mut(r.attr).and_then(Value::as_array_mut) else {
            return Err(ScimError::bad(
                "noTarget",
                format!("no value matches {path}"),
            ));
        };
        let before = items.len();
        match &r.sub_after_filter {
            None => items.retain(|i| !ulo_core::filter::matches(filter, i)),
            Some(sub) => {
                let mut hit = false;
                for i in items
                    .iter_mut()
                    .filter(|i| ulo_core::filter::matches(filter, i))
                {
                    hit = true;
                    if let Some(o) = i.as_object_mut() {
                        o.retain(|k, _| !k.eq_ignore_ascii_case(sub));
                    }
                }
                if !hit {
                    return Err(ScimError::bad(
                        "noTarget",
                        format!("no value matches {path}"),
                    ));
                }
                return Ok(());
            }
        }
        if items.len() == before {
            return Err(ScimError::bad(
                "noTarget",
                format!("no value matches {path}"),
            ));
        }
        return Ok(());
    }
    match &r.sub {
        Some(sub) => {
            if let Some(Value::Object(p)) = obj.get_mut(r.attr) {
                p.retain(|k, _| !k.eq_ignore_ascii_case(sub));
            }
        }
        None => {
            obj.remove(r.attr);
        }
    }
    Ok(())
}
