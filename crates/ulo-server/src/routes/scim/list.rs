//! Listing and `.search`: filter, sort, 1-based pagination and attribute projection over rendered resources.

use std::cmp::Ordering;

use serde::Deserialize;
use serde_json::{Map, Value, json};
use ulo_scim::urn::SEARCH_REQUEST as SEARCH_SCHEMA;
use ulo_scim::wire::{ListResponse, Paging};

use super::wire::ScimError;

/// The most resources one page holds (advertised as `filter.maxResults`).
pub const MAX_RESULTS: usize = 200;

/// Query parameters of a list, from the URL or a `.search` body.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListParams {
    pub(crate) filter: Option<String>,
    sort_by: Option<String>,
    sort_order: Option<String>,
    start_index: Option<i64>,
    count: Option<i64>,
    attributes: Option<String>,
    excluded_attributes: Option<String>,
}

/// Projection parameters of a single-resource answer.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Projection {
    attributes: Option<String>,
    excluded_attributes: Option<String>,
}

impl Projection {
    /// Applies `attributes` / `excludedAttributes` to one resource.
    pub fn apply(&self, doc: Value) -> Value {
        project(
            doc,
            self.attributes.as_deref(),
            self.excluded_attributes.as_deref(),
        )
    }
}

/// Reads a `.search` body (a SearchRequest) into list parameters.
pub fn search_params(body: &Value) -> Result<ListParams, ScimError> {
    if let Some(s) = body.get("schemas")
        && !s
            .as_array()
            .is_some_and(|a| a.iter().any(|v| v == SEARCH_SCHEMA))
    {
        return Err(ScimError::bad(
            "invalidValue",
            format!("schemas must contain {SEARCH_SCHEMA}"),
        ));
    }
    let list = |k: &str| -> Result<Option<String>, ScimError> {
        match body.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(a)) => Ok(Some(
                a.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(","),
            )),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(ScimError::bad(
                "invalidSyntax",
                format!("{k} must be a list of attribute names"),
            )),
        }
    };
    let string = |k: &str| -> Result<Option<String>, ScimError> {
        match body.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(ScimError::bad(
                "invalidSyntax",
                format!("{k} must be a string"),
            )),
        }
    };
    let int = |k: &str| -> Result<Option<i64>, ScimError> {
        match body.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_i64()
                .map(Some)
                .ok_or_else(|| ScimError::bad("invalidSyntax", format!("{k} must be an integer"))),
        }
    };
    Ok(ListParams {
        filter: string("filter")?,
        sort_by: string("sortBy")?,
        sort_order: string("sortOrder")?,
        start_index: int("startIndex")?,
        count: int("count")?,
        attributes: list("attributes")?,
        excluded_attributes: list("excludedAttributes")?,
    })
}

/// Filters, sorts and pages `docs` into a ListResponse.
pub fn list_response(docs: Vec<Value>, p: &ListParams) -> Result<ListResponse<Value>, ScimError> {
    let filter = match p.filter.as_deref().map(str::trim).filter(|f| !f.is_empty()) {
        Some(f) => Some(ulo_core::filter::parse(f).map_err(|e| {
            ScimError::bad(
                "invalidFilter",
                format!("{} (at {})", e.message, e.position),
            )
        })?),
        None => None,
    };
    let mut hits: Vec<Value> = docs
        .into_iter()
        .filter(|d| {
            filter
                .as_ref()
                .is_none_or(|f| ulo_core::filter::matches_with(f, d, &case_exact))
        })
        .collect();
    if let Some(sort_by) = p.sort_by.as_deref().filter(|s| !s.is_empty()) {
        let descending = match p
            .sort_order
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("ascending") => false,
            Some("descending") => true,
            Some(o) => {
                return Err(ScimError::bad(
                    "invalidValue",
                    format!("sortOrder must be ascending or descending, not {o}"),
                ));
            }
        };
        hits.sort_by(|a, b| {
            let (x, y) = (sort_key(a, sort_by), sort_key(b, sort_by));
            // Resources without a value sort last either way (RFC 7644 §3.4.2.3).
            match (x, y) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Greater,
                (Some(_), None) => Ordering::Less,
                (Some(x), Some(y)) if descending => y.cmp(&x),
                (Some(x), Some(y)) => x.cmp(&y),
            }
        });
    }
    let paging = Paging::new(p.start_index, p.count, MAX_RESULTS, MAX_RESULTS);
    Ok(ListResponse::page(hits, paging)
        .map(|d| project(d, p.attributes.as_deref(), p.excluded_attributes.as_deref())))
}

/// What sorting compares: the first string/number/bool at `path`, strings case-insensitively.
fn sort_key(doc: &Value, path: &str) -> Option<String> {
    let (obj, rest) = split_urn(doc, path);
    let mut cur = obj?;
    for seg in rest.split('.') {
        cur = get_ci(cur, seg)?;
        if let Value::Array(items) = cur {
            cur = items
                .iter()
                .find(|i| i.get("primary") == Some(&Value::Bool(true)))
                .or_else(|| items.first())?;
        }
    }
    match cur {
        Value::String(s) => Some(s.to_lowercase()),
        Value::Number(n) => Some(format!("{:020}", n.as_f64().unwrap_or(0.0) as i64)),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Member of an object by case-insensitive name.
pub fn get_ci<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    v.as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// Splits a fully qualified path (`urn:…:User:department`) into the object it is in and the rest.
fn split_urn<'a>(doc: &'a Value, path: &'a str) -> (Option<&'a Value>, &'a str) {
    if path.to_ascii_lowercase().starts_with("urn:") {
        if let Some(obj) = doc.as_object() {
            for (k, v) in obj {
                if k.starts_with("urn:")
                    && path.len() > k.len()
                    && path[..k.len()].eq_ignore_ascii_case(k)
                {
                    return (Some(v), path[k.len()..].trim_start_matches(':'));
                }
            }
            if let Some(schema) = doc["schemas"].as_array().and_then(|s| {
                s.iter()
                    .filter_map(Value::as_str)
                    .find(|s| path.len() > s.len() && path[..s.len()].eq_ignore_ascii_case(s))
            }) {
                return (Some(doc), path[schema.len()..].trim_start_matches(':'));
            }
        }
        return (None, path);
    }
    (Some(doc), path)
}

/// Applies `attributes` (keep only these, plus `id` and `schemas`) or `excludedAttributes`.
fn project(doc: Value, attributes: Option<&str>, excluded: Option<&str>) -> Value {
    let names = |s: Option<&str>| -> Vec<String> {
        s.map(|s| {
            s.split(',')
                .map(|a| a.trim().to_string())
                .filter(|a| !a.is_empty())
                .collect()
        })
        .unwrap_or_default()
    };
    let (keep, drop) = (names(attributes), names(excluded));
    let Value::Object(map) = doc else { return doc };
    if !keep.is_empty() {
        let mut out = Map::new();
        for always in ["schemas", "id"] {
            if let Some(v) = map.get(always) {
                out.insert(always.into(), v.clone());
            }
        }
        let whole = Value::Object(map.clone());
        for path in &keep {
            copy_path(&whole, &mut out, path);
        }
        return Value::Object(out);
    }
    let mut map = map;
    for path in &drop {
        remove_path(&mut map, path);
    }
    Value::Object(map)
}

/// Copies the attribute at `path` (maybe URN-qualified, maybe `a.b`) from `src` into `out`.
fn copy_path(src: &Value, out: &mut Map<String, Value>, path: &str) {
    let (container_key, rest) = urn_key(src, path);
    let Some(src_obj) = (match &container_key {
        Some(k) => src.get(k),
        None => Some(src),
    }) else {
        return;
    };
    let target = match &container_key {
        Some(k) => out
            .entry(k.clone())
            .or_insert_with(|| Value::Object(Map::new()))
            .as_object_mut(),
        None => Some(out),
    };
    let Some(target) = target else { return };
    let mut segs = rest.splitn(2, '.');
    let first = segs.next().unwrap_or("");
    let Some((k, v)) = src_obj
        .as_object()
        .and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case(first)))
    else {
        return;
    };
    match segs.next() {
        None => {
            target.insert(k.clone(), v.clone());
        }
        Some(sub) => {
            let pick = |item: &Value| -> Option<Value> {
                get_ci(item, sub).map(|s| {
                    let name = item
                        .as_object()
                        .and_then(|o| o.keys().find(|n| n.eq_ignore_ascii_case(sub)).cloned())
                        .unwrap_or_else(|| sub.to_string());
                    json!({ name: s })
                })
            };
            let picked = match v {
                Value::Array(items) => Some(Value::Array(items.iter().filter_map(pick).collect())),
                other => pick(other),
            };
            if let Some(p) = picked {
                match (target.get_mut(k), p) {
                    (Some(Value::Object(existing)), Value::Object(p)) => existing.extend(p),
                    (_, p) => {
                        target.insert(k.clone(), p);
                    }
                }
            }
        }
    }
}

/// Removes the attribute at `path` from `map` (never `id` or `schemas`).
fn remove_path(map: &mut Map<String, Value>, path: &str) {
    let (container_key, rest) = urn_key(&Value::Object(map.clone()), path);
    let target = match &container_key {
        Some(k) => match map.get_mut(k).and_then(Value::as_object_mut) {
            Some(o) => o,
            None => return,
        },
        None => map,
    };
    let mut segs = rest.splitn(2, '.');
    let first = segs.next().unwrap_or("");
    let Some(key) = target
        .keys()
        .find(|k| k.eq_ignore_ascii_case(first))
        .cloned()
    else {
        return;
    };
    if container_key.is_none() && (key == "id" || key == "schemas") {
        return;
    }
    match segs.next() {
        None => {
            target.remove(&key);
        }
        Some(sub) => match target.get_mut(&key) {
            Some(Value::Object(o)) => o.retain(|k, _| !k.eq_ignore_ascii_case(sub)),
            Some(Value::Array(items)) => {
                for i in items.iter_mut().filter_map(Value::as_object_mut) {
                    i.retain(|k, _| !k.eq_ignore_ascii_case(sub));
                }
            }
            _ => {}
        },
    }
}

/// For a URN-qualified path, the extension key it lives under (None for the core schema) and the rest.
fn urn_key(doc: &Value, path: &str) -> (Option<String>, String) {
    let lower = path.to_ascii_lowercase();
    if !lower.starts_with("urn:") {
        return (None, path.to_string());
    }
    if let Some(k) = doc.as_object().and_then(|o| {
        o.keys()
            .find(|k| k.starts_with("urn:") && lower.starts_with(&k.to_ascii_lowercase()))
    }) {
        return (
            Some(k.clone()),
            path[k.len()..].trim_start_matches(':').to_string(),
        );
    }
    match path.rfind(':') {
        Some(i) => (None, path[i + 1..].to_string()),
        None => (None, path.to_string()),
    }
}

/// Attributes whose values compare case-exactly (RFC 7643 §3.1 and §4: `caseExact` true):
/// `id`, `externalId` and everything under `meta`. Attribute names themselves are
/// case-insensitive.
fn case_exact(path: &ulo_core::filter::AttrPath) -> bool {
    path.segments.first().is_some_and(|s| {
        ["id", "externalId", "meta"]
            .iter()
            .any(|a| s.eq_ignore_ascii_case(a))
    })
}
