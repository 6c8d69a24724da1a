//! The PATCH engine on a strict shape (ulo's) and an open, lenient one (the vault's).

use serde_json::{Value, json};

use super::*;

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

const USER: Shape = Shape {
    core: &[
        "schemas", "id", "meta", "userName", "name", "active", "emails",
    ],
    read_only: &["id", "meta", "schemas"],
    multi: &["emails"],
    extension: Some((ENTERPRISE, &["employeeNumber", "manager"])),
    ..Shape::STRICT
};

/// The vault's Groups.
const OPEN_GROUP: Shape = Shape {
    remove_listed: true,
    value_filters: ValueFilters::RemoveOnly,
    multi: &["members"],
    core: &["displayName", "externalId", "members"],
    ..Shape::LENIENT
};

fn body(ops: Value) -> Value {
    json!({"schemas": [PATCH_SCHEMA], "Operations": ops})
}

fn patched(doc: Value, ops: Value, shape: &Shape) -> Result<Value, PatchError> {
    let mut doc = doc;
    apply(&mut doc, &body(ops), shape)?;
    Ok(doc)
}

fn user() -> Value {
    json!({
        "userName": "ada",
        "active": true,
        "name": {"givenName": "A", "familyName": "B"},
        "emails": [{"value": "a@example.com", "type": "work"}],
    })
}

#[test]
fn patches_apply_with_and_without_paths() {
    let doc = patched(
        user(),
        json!([
            {"op": "Replace", "value": {"active": false, "name": {"givenName": "Ada"}}},
            {"op": "replace", "path": "name.familyName", "value": "Lovelace"},
            {"op": "add", "path": "emails", "value": [{"value": "b@example.com"}]},
            {"op": "add", "path": "EMAILS", "value": {"value": "b@example.com"}},
            {"op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:User:userName", "value": "ada2"},
        ]),
        &USER,
    )
    .unwrap();
    assert_eq!(
        doc,
        json!({
            "userName": "ada2",
            "active": false,
            "name": {"givenName": "Ada", "familyName": "Lovelace"},
            "emails": [{"value": "a@example.com", "type": "work"}, {"value": "b@example.com"}],
        })
    );
}

#[test]
fn replace_of_a_multi_valued_attribute_replaces_it() {
    let doc = patched(
        user(),
        json!([{"op": "replace", "path": "emails", "value": [{"value": "c@example.com"}]}]),
        &USER,
    )
    .unwrap();
    assert_eq!(doc["emails"], json!([{"value": "c@example.com"}]));
}

#[test]
fn value_filters_select_values() {
    let doc = patched(
        user(),
        json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "w@example.com"}]),
        &USER,
    )
    .unwrap();
    assert_eq!(doc["emails"][0]["value"], "w@example.com");
    let doc = patched(
        user(),
        json!([{"op": "remove", "path": "emails[type eq \"work\"]"}]),
        &USER,
    )
    .unwrap();
    assert_eq!(doc["emails"], json!([]));
    let e = patched(
        user(),
        json!([{"op": "remove", "path": "emails[type eq \"home\"]"}]),
        &USER,
    )
    .unwrap_err();
    assert_eq!(e.scim_type, "noTarget");
}

#[test]
fn extension_attributes_live_under_their_urn() {
    let doc = patched(
        user(),
        json!([
            {"op": "add", "path": format!("{ENTERPRISE}:employeeNumber"), "value": "42"},
            {"op": "add", "path": ENTERPRISE, "value": {"manager": {"value": "m"}}},
        ]),
        &USER,
    )
    .unwrap();
    assert_eq!(
        doc[ENTERPRISE],
        json!({"employeeNumber": "42", "manager": {"value": "m"}})
    );
    let doc = patched(doc, json!([{"op": "remove", "path": ENTERPRISE}]), &USER).unwrap();
    assert!(doc.get(ENTERPRISE).is_none());
}

#[test]
fn strict_shapes_refuse_what_they_do_not_know() {
    let kind = |ops: Value| patched(user(), ops, &USER).unwrap_err().scim_type;
    assert_eq!(
        kind(json!([{"op": "replace", "path": "nickName", "value": "x"}])),
        "invalidPath"
    );
    assert_eq!(
        kind(json!([{"op": "replace", "path": "urn:example:x:1.0:Thing:a", "value": "x"}])),
        "invalidPath"
    );
    assert_eq!(
        kind(json!([{"op": "replace", "path": "id", "value": "x"}])),
        "mutability"
    );
    assert_eq!(
        kind(json!([{"op": "replace", "path": "name.givenName.x", "value": "x"}])),
        "invalidPath"
    );
    assert_eq!(
        kind(json!([{"op": "replace", "path": "a[", "value": 1}])),
        "invalidPath"
    );
    assert_eq!(kind(json!([])), "invalidSyntax");
    assert_eq!(
        kind(json!([{"op": "move", "path": "active"}])),
        "invalidSyntax"
    );
    assert_eq!(
        kind(json!([{"op": "add", "path": "active"}])),
        "invalidValue"
    );
    assert_eq!(kind(json!([{"op": "remove"}])), "noTarget");
    assert_eq!(kind(json!([{"op": "add", "value": 1}])), "invalidValue");
    let e = apply(&mut user(), &json!({"Operations": []}), &USER).unwrap_err();
    assert_eq!(e.scim_type, "invalidSyntax");
    assert!(e.detail.contains(PATCH_SCHEMA), "{e}");
}

#[test]
fn open_shapes_keep_unknown_attributes_as_sent() {
    let doc = patched(
        json!({"displayName": "g"}),
        json!([
            {"op": "add", "path": "title", "value": "t"},
            {"op": "replace", "path": "urn:example:x:1.0:Thing:a", "value": 1},
            {"op": "replace", "path": "DISPLAYNAME", "value": "h"},
        ]),
        &OPEN_GROUP,
    )
    .unwrap();
    assert_eq!(
        doc,
        json!({"displayName": "h", "title": "t", "urn:example:x:1.0:Thing": {"a": 1}})
    );
    assert!(
        patched(json!({}), json!([]), &OPEN_GROUP)
            .unwrap()
            .as_object()
            .unwrap()
            .is_empty()
    );
}

#[test]
fn lenient_member_removal() {
    let group =
        || json!({"displayName": "g", "members": [{"value": "a"}, {"value": "b"}, {"value": "c"}]});
    let members = |doc: Value| doc["members"].clone();
    // A filter that matches nobody is not an error.
    let doc = patched(
        group(),
        json!([{"op": "remove", "path": "members[value eq \"z\"]"}]),
        &OPEN_GROUP,
    )
    .unwrap();
    assert_eq!(members(doc), group()["members"]);
    let doc = patched(
        group(),
        json!([{"op": "remove", "path": "members[value eq \"b\"]"}]),
        &OPEN_GROUP,
    )
    .unwrap();
    assert_eq!(members(doc), json!([{"value": "a"}, {"value": "c"}]));
    // Listed values go, compared by value.
    let doc = patched(
        group(),
        json!([{"op": "remove", "path": "members", "value": [{"value": "a", "display": "A"}]}]),
        &OPEN_GROUP,
    )
    .unwrap();
    assert_eq!(members(doc), json!([{"value": "b"}, {"value": "c"}]));
    // No value: all go.
    let doc = patched(
        group(),
        json!([{"op": "remove", "path": "members"}]),
        &OPEN_GROUP,
    )
    .unwrap();
    assert!(doc.get("members").is_none());
    // Filters apply only to remove.
    let e = patched(
        group(),
        json!([{"op": "replace", "path": "members[value eq \"a\"]", "value": {"value": "x"}}]),
        &OPEN_GROUP,
    )
    .unwrap_err();
    assert!(e.detail.contains("only to remove"), "{e}");
    let never = Shape {
        value_filters: ValueFilters::Never,
        ..OPEN_GROUP
    };
    assert!(
        patched(
            group(),
            json!([{"op": "remove", "path": "members[value eq \"a\"]"}]),
            &never
        )
        .is_err()
    );
}

#[test]
fn strict_member_removal_removes_the_attribute() {
    let strict = Shape {
        open: false,
        value_filters: ValueFilters::Any,
        unmatched_fails: true,
        remove_listed: false,
        empty_ok: false,
        ..OPEN_GROUP
    };
    let doc = patched(
        json!({"members": [{"value": "a"}, {"value": "b"}]}),
        json!([{"op": "remove", "path": "members", "value": [{"value": "a"}]}]),
        &strict,
    )
    .unwrap();
    assert!(doc.get("members").is_none());
}
