//! Resolving a PATCH path against a resource's [`Shape`].

use super::{PatchError, Shape};
use crate::filter::{Filter, parse_patch_path};

/// Where core attributes' schema URNs start: their attributes sit at the top level.
const CORE_PREFIX: &str = "urn:ietf:params:scim:schemas:core:2.0:";

/// Where a path points.
pub(super) struct Resolved {
    /// The object holding the attribute: `None` for the top level, else a schema URN.
    pub container: Option<String>,
    /// The attribute, canonically spelled when the shape lists it.
    pub attr: String,
    /// Whether `attr` is the extension's whole object (`path` was its URN).
    pub whole_extension: bool,
    /// The sub-attribute of a dotted path (`name.givenName`).
    pub sub: Option<String>,
    /// The filter selecting values of a multi-valued attribute.
    pub value_filter: Option<Filter>,
    /// The sub-attribute after the filter (`emails[type eq "work"].value`).
    pub sub_after_filter: Option<String>,
    /// Whether the attribute is a multi-valued core attribute.
    pub multi: bool,
}

pub(super) fn resolve(path: &str, shape: &Shape) -> Result<Resolved, PatchError> {
    // An extension's whole object may be addressed by its URN alone.
    if let Some((urn, _)) = shape.extension
        && path.eq_ignore_ascii_case(urn)
    {
        return Ok(Resolved {
            container: None,
            attr: urn.to_string(),
            whole_extension: true,
            sub: None,
            value_filter: None,
            sub_after_filter: None,
            multi: false,
        });
    }
    let parsed = parse_patch_path(path).map_err(|e| {
        PatchError::new(
            "invalidPath",
            format!("invalid path {path:?}: {}", e.message),
        )
    })?;
    let (container, names): (Option<String>, &'static [&'static str]) = match &parsed.attr.uri {
        None => (None, shape.core),
        Some(u) if u.to_ascii_lowercase().starts_with(CORE_PREFIX) => (None, shape.core),
        Some(u) => match shape.extension {
            Some((urn, attrs)) if urn.eq_ignore_ascii_case(u) => (Some(urn.to_string()), attrs),
            _ if shape.open => (Some(u.clone()), &[]),
            _ => {
                return Err(PatchError::new(
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
    let attr = match names.iter().find(|n| n.eq_ignore_ascii_case(first)) {
        Some(n) => (*n).to_string(),
        None if shape.open && !first.is_empty() => first.to_string(),
        None => {
            return Err(PatchError::new(
                "invalidPath",
                format!("unknown attribute {first:?} in path {path}"),
            ));
        }
    };
    if container.is_none()
        && shape
            .read_only
            .iter()
            .any(|r| r.eq_ignore_ascii_case(&attr))
    {
        return Err(PatchError::new(
            "mutability",
            format!("{attr} is read-only"),
        ));
    }
    if parsed.attr.segments.len() > 2 {
        return Err(PatchError::new(
            "invalidPath",
            format!("path {path} is too deep"),
        ));
    }
    let multi = container.is_none() && shape.multi.contains(&attr.as_str());
    Ok(Resolved {
        container,
        attr,
        whole_extension: false,
        sub: parsed.attr.segments.get(1).cloned(),
        value_filter: parsed.value_filter,
        sub_after_filter: parsed.sub_attr,
        multi,
    })
}
