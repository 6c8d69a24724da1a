//! Parser, display and evaluation tests.

use super::*;
use serde_json::{Value, json};

fn path(p: &str) -> AttrPath {
    AttrPath {
        uri: None,
        segments: p.split('.').map(str::to_owned).collect(),
    }
}

fn cmp(p: &str, op: CompareOp, value: FilterValue) -> Filter {
    Filter::Compare {
        path: path(p),
        op,
        value,
    }
}

fn s(v: &str) -> FilterValue {
    FilterValue::String(v.to_owned())
}

fn num(v: &str) -> FilterValue {
    FilterValue::Number(serde_json::from_str(v).unwrap())
}

fn and(a: Filter, b: Filter) -> Filter {
    Filter::And(Box::new(a), Box::new(b))
}

fn or(a: Filter, b: Filter) -> Filter {
    Filter::Or(Box::new(a), Box::new(b))
}

fn pr(p: &str) -> Filter {
    Filter::Present(path(p))
}

fn parse_err(input: &str) -> FilterError {
    match parse(input) {
        Ok(f) => panic!("{input:?} should not parse, got {f:?}"),
        Err(e) => e,
    }
}

fn assert_err(input: &str, position: usize, fragment: &str) {
    let e = parse_err(input);
    assert_eq!(e.position, position, "{input:?}: {e}");
    assert!(e.message.contains(fragment), "{input:?}: {e}");
}

#[test]
fn parses_a_comparison() {
    assert_eq!(
        parse(r#"userName eq "bjensen""#).unwrap(),
        cmp("userName", CompareOp::Eq, s("bjensen"))
    );
}

#[test]
fn parses_every_operator_case_insensitively() {
    let ops = [
        ("eq", CompareOp::Eq),
        ("NE", CompareOp::Ne),
        ("Co", CompareOp::Co),
        ("sW", CompareOp::Sw),
        ("ew", CompareOp::Ew),
        ("GT", CompareOp::Gt),
        ("ge", CompareOp::Ge),
        ("lt", CompareOp::Lt),
        ("LE", CompareOp::Le),
    ];
    for (word, op) in ops {
        let f = parse(&format!(r#"a {word} "x""#)).unwrap();
        assert_eq!(f, cmp("a", op, s("x")), "{word}");
    }
    assert_eq!(parse("title PR").unwrap(), pr("title"));
}

#[test]
fn parses_dotted_and_urn_paths() {
    assert_eq!(
        parse(r#"debugContext.debugData.requestUri sw "/api""#).unwrap(),
        cmp(
            "debugContext.debugData.requestUri",
            CompareOp::Sw,
            s("/api")
        )
    );
    let f =
        parse(r#"urn:ietf:params:scim:schemas:core:2.0:User:name.givenName eq "Barbara""#).unwrap();
    let Filter::Compare { path, .. } = f else {
        panic!("not a comparison")
    };
    assert_eq!(
        path.uri.as_deref(),
        Some("urn:ietf:params:scim:schemas:core:2.0:User")
    );
    assert_eq!(path.segments, ["name", "givenName"]);
    assert_eq!(
        path.to_string(),
        "urn:ietf:params:scim:schemas:core:2.0:User:name.givenName"
    );
    assert_eq!(self::path("target.id").to_string(), "target.id");
    assert_eq!(parse("meta.$ref pr").unwrap(), pr("meta.$ref"));
}

#[test]
fn parses_literals() {
    let cases = [
        (
            r#""a\"b\\c\/d\n\t\u00e9\ud83d\ude00""#,
            s("a\"b\\c/d\n\té😀"),
        ),
        (r#""""#, s("")),
        ("42", num("42")),
        ("-7", num("-7")),
        ("2.5", num("2.5")),
        ("1e3", num("1e3")),
        ("-0.5E-2", num("-0.5E-2")),
        ("true", FilterValue::Bool(true)),
        ("FALSE", FilterValue::Bool(false)),
        ("Null", FilterValue::Null),
    ];
    for (literal, value) in cases {
        let f = parse(&format!("a eq {literal}")).unwrap();
        assert_eq!(f, cmp("a", CompareOp::Eq, value), "{literal}");
    }
}

#[test]
fn precedence_is_not_then_and_then_or() {
    assert_eq!(
        parse("a pr or b pr and c pr").unwrap(),
        or(pr("a"), and(pr("b"), pr("c")))
    );
    assert_eq!(
        parse("a pr and b pr or c pr").unwrap(),
        or(and(pr("a"), pr("b")), pr("c"))
    );
    assert_eq!(
        parse("not (a pr) and b pr").unwrap(),
        and(Filter::Not(Box::new(pr("a"))), pr("b"))
    );
    assert_eq!(
        parse("(a pr or b pr) and c pr").unwrap(),
        and(or(pr("a"), pr("b")), pr("c"))
    );
    assert_eq!(
        parse("a pr and b pr and c pr").unwrap(),
        and(and(pr("a"), pr("b")), pr("c"))
    );
    assert_eq!(parse("NOT(a pr)").unwrap(), Filter::Not(Box::new(pr("a"))));
}

#[test]
fn parses_value_paths() {
    let f = parse(r#"emails[type eq "work" and value co "@example.com"]"#).unwrap();
    assert_eq!(
        f,
        Filter::ValuePath {
            attr: path("emails"),
            filter: Box::new(and(
                cmp("type", CompareOp::Eq, s("work")),
                cmp("value", CompareOp::Co, s("@example.com"))
            )),
        }
    );
    let f = parse(r#"emails[type eq "work"].value ew "@x.org" or title pr"#).unwrap();
    assert_eq!(
        f,
        or(
            Filter::ValuePath {
                attr: path("emails"),
                filter: Box::new(and(
                    cmp("type", CompareOp::Eq, s("work")),
                    cmp("value", CompareOp::Ew, s("@x.org"))
                )),
            },
            pr("title")
        )
    );
    let f = parse(r#"emails[not (type eq "work")]"#).unwrap();
    assert!(matches!(f, Filter::ValuePath { .. }));
}

#[test]
fn an_attribute_may_be_called_not() {
    assert_eq!(
        parse("not eq 1").unwrap(),
        cmp("not", CompareOp::Eq, num("1"))
    );
}

#[test]
fn reports_helpful_errors() {
    assert_err("", 0, "empty filter");
    assert_err("   ", 0, "empty filter");
    assert_err(
        "outcome.result",
        14,
        r#"expected a comparison operator (eq, ne, co, sw, ew, pr, gt, ge, lt, le) after "outcome.result""#,
    );
    assert_err(
        r#"outcome.result is "x""#,
        15,
        "expected a comparison operator",
    );
    assert_err(
        r#"displayName eq "abc"#,
        19,
        "unterminated string starting at position 15",
    );
    assert_err(r#"(a pr or b pr"#, 13, r#"expected ")""#);
    assert_err(
        r#"(a pr b pr)"#,
        6,
        r#"expected ")" to close the "(" at position 0, found "b""#,
    );
    assert_err(
        r#"a eq 1 xyz"#,
        7,
        r#"unexpected "xyz" after complete expression"#,
    );
    assert_err(
        r#"a eq 1 )"#,
        7,
        r#"unexpected ")" after complete expression"#,
    );
    assert_err(r#"a pr "x""#, 5, r#""pr" takes no value"#);
    assert_err(r#"a co 5"#, 5, r#""co" needs a "string" value, found 5"#);
    assert_err(r#"a sw true"#, 5, r#""sw" needs a "string" value"#);
    assert_err(
        r#"a gt true"#,
        5,
        r#""gt" needs a "string" or number value, found true"#,
    );
    assert_err(r#"a le null"#, 5, "found null");
    assert_err(r#"a eq"#, 4, "expected a value");
    assert_err(r#"a eq b"#, 5, "expected a value");
    assert_err(r#"a eq "\x""#, 6, r#"invalid escape "\x""#);
    assert_err(r#"a eq "\u12""#, 6, "four hex digits");
    assert_err(r#"a eq "\ud800""#, 6, "unpaired surrogate");
    assert_err(r#"a eq 01"#, 5, r#"invalid number "01""#);
    assert_err(r#"a eq 1e999"#, 5, "invalid number");
    assert_err(r#"a eq @"#, 5, "unexpected character '@'");
    assert_err(r#"not a eq 1"#, 4, r#"expected "(" after "not""#);
    assert_err(r#"and a pr"#, 4, "expected a comparison operator");
    assert_err(
        r#"a pr and"#,
        8,
        r#"expected an attribute path, "(" or "not (" after "and", found end of input"#,
    );
    assert_err(r#"a pr or ("#, 9, "found end of input");
    assert_err(r#"a..b pr"#, 2, "an attribute name is missing");
    assert_err(r#"a.1b pr"#, 2, r#"invalid attribute name "1b""#);
    assert_err(r#"foo:bar pr"#, 0, "must start with \"urn:\"");
    assert_err(r#"urn:a:b: pr"#, 8, "an attribute name is missing");
    assert_err(r#"emails[type eq "a"] .value pr"#, 20, "no space");
    assert_err(r#"emails[a[b pr]]"#, 8, "cannot be nested");
    assert_err(r#"emails[urn:x:y:type pr]"#, 7, "relative to the element");
    assert_err(r#"emails[type eq "a""#, 18, r#"expected "]""#);
    assert_err(
        r#"emails[type eq "a"]"#.trim_end_matches(']'),
        18,
        r#"expected "]""#,
    );
}

#[test]
fn error_display_names_the_position() {
    let e = parse(r#"userName eq "x" xyz"#).unwrap_err();
    assert_eq!(
        e.to_string(),
        r#"invalid filter at position 16: unexpected "xyz" after complete expression"#
    );
    let e: Box<dyn std::error::Error> = Box::new(e);
    assert!(e.to_string().starts_with("invalid filter at position 16"));
}

#[test]
fn rejects_overlong_input() {
    let long = format!("a eq \"{}\"", "x".repeat(5000));
    assert_err(&long, 4096, "longer than 4096 characters");
    // Exactly at the limit is fine.
    let at_limit = format!("a eq \"{}\"", "x".repeat(4096 - 7));
    assert_eq!(at_limit.chars().count(), 4096);
    assert!(parse(&at_limit).is_ok());
    // The limit counts characters, not bytes.
    let wide = format!("a eq \"{}\"", "é".repeat(4000));
    assert!(parse(&wide).is_ok());
}

#[test]
fn rejects_deep_nesting() {
    let nested = |n: usize| format!("{}a pr{}", "(".repeat(n), ")".repeat(n));
    assert!(parse(&nested(32)).is_ok());
    assert_err(&nested(33), 32, "deeper than 32");
    let nots = |n: usize| format!("{}a pr{}", "not (".repeat(n), ")".repeat(n));
    assert!(parse(&nots(32)).is_ok());
    assert!(parse(&nots(33)).is_err());
    let brackets = format!("{}x[a pr]{}", "(".repeat(31), ")".repeat(31));
    assert!(parse(&brackets).is_ok());
    let brackets = format!("{}x[a pr]{}", "(".repeat(32), ")".repeat(32));
    assert!(parse(&brackets).is_err());
    // A stack-busting attempt is rejected quickly instead of overflowing.
    assert!(parse(&"(".repeat(4000)).is_err());
}

#[test]
fn long_flat_chains_parse() {
    // 512 terms make 4092 characters: the longest chain under the limit.
    let chain = vec!["a pr"; 512].join(" or ");
    let f = parse(&chain).unwrap();
    assert!(matches(&f, &json!({"a": 1})));
    assert!(!matches(&f, &json!({"b": 1})));
}

#[test]
fn parses_patch_paths() {
    let p = parse_patch_path("name.givenName").unwrap();
    assert_eq!(
        p,
        PatchPath {
            attr: path("name.givenName"),
            value_filter: None,
            sub_attr: None
        }
    );
    let p = parse_patch_path(r#"members[value eq "2819c223"]"#).unwrap();
    assert_eq!(p.attr, path("members"));
    assert_eq!(
        p.value_filter,
        Some(cmp("value", CompareOp::Eq, s("2819c223")))
    );
    assert_eq!(p.sub_attr, None);
    let p = parse_patch_path(r#"emails[type eq "work"].value"#).unwrap();
    assert_eq!(p.attr, path("emails"));
    assert_eq!(p.sub_attr.as_deref(), Some("value"));
    let p = parse_patch_path(
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
    )
    .unwrap();
    assert_eq!(
        p.attr.uri.as_deref(),
        Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
    );
    assert_eq!(p.attr.segments, ["manager", "value"]);
}

#[test]
fn rejects_bad_patch_paths() {
    let cases = [
        ("", 0, "empty"),
        (
            "name givenName",
            5,
            r#"unexpected "givenName" after the path"#,
        ),
        ("\"x\"", 0, "expected an attribute path"),
        (
            "emails[type eq \"work\"].",
            23,
            "expected a sub-attribute name",
        ),
        (
            "emails[type eq \"work\"]. value",
            24,
            "expected a sub-attribute name",
        ),
        (
            "emails[type eq \"work\"].a.b",
            23,
            "expected a sub-attribute name",
        ),
        ("emails[type eq \"work\"", 21, "expected \"]\""),
        ("emails[]", 7, "expected an attribute path"),
    ];
    for (input, position, fragment) in cases {
        let e = parse_patch_path(input).unwrap_err();
        assert_eq!(e.position, position, "{input:?}: {e}");
        assert!(e.message.contains(fragment), "{input:?}: {e}");
    }
}

fn log_event() -> Value {
    json!({
        "eventType": "user.session.start",
        "severity": "INFO",
        "published": "2024-05-01T10:00:00.000Z",
        "actor": {"id": "00u1", "alternateId": "Alice@Example.com", "type": "User"},
        "outcome": {"result": "SUCCESS", "reason": null},
        "target": [
            {"id": "app1", "type": "AppInstance", "alternateId": "Salesforce"},
            {"id": "g1", "type": "UserGroup", "alternateId": ""}
        ],
        "debugContext": {"debugData": {"attempt": 3, "requestUri": "/login?x=50%_off", "flag": true}},
        "tags": [],
        "empty": {},
        "urn:ulo:ext:1.0:Event": {"tenant": "acme"}
    })
}

fn check(filter: &str, expected: bool) {
    let f = parse(filter).unwrap();
    assert_eq!(matches(&f, &log_event()), expected, "{filter}");
}

#[test]
fn case_exact_attributes_compare_exactly() {
    let doc: Value =
        serde_json::json!({"id": "AbC", "userName": "Ada", "meta": {"version": "W/\"X\""}});
    let exact = |p: &AttrPath| p.segments.first().is_some_and(|s| s == "id" || s == "meta");
    let f = |s: &str| parse(s).unwrap();
    assert!(matches_with(&f(r#"id eq "AbC""#), &doc, &exact));
    assert!(!matches_with(&f(r#"id eq "abc""#), &doc, &exact));
    assert!(!matches_with(&f(r#"id sw "ab""#), &doc, &exact));
    assert!(matches_with(&f(r#"id ne "abc""#), &doc, &exact));
    assert!(
        matches_with(&f(r#"userName eq "ADA""#), &doc, &exact),
        "others stay case-insensitive"
    );
    assert!(
        matches(&f(r#"id eq "abc""#), &doc),
        "plain matches is unchanged"
    );
}

#[test]
fn matches_strings_case_insensitively() {
    check(r#"eventType eq "USER.SESSION.START""#, true);
    check(r#"eventType ne "user.session.start""#, false);
    check(r#"eventType co "SESSION""#, true);
    check(r#"eventType sw "user.""#, true);
    check(r#"eventType ew ".Start""#, true);
    check(r#"eventType ew "session""#, false);
    check(r#"actor.alternateId eq "alice@example.com""#, true);
    check(r#"debugContext.debugData.requestUri co "50%_""#, true);
    check(r#"debugContext.debugData.requestUri co "50%x""#, false);
    check(r#"eventType co """#, true);
}

#[test]
fn matches_ordering_byte_wise() {
    check(r#"published gt "2024-05-01T09:00:00Z""#, true);
    check(r#"published lt "2024-05-01T09:00:00Z""#, false);
    check(r#"published ge "2024-05-01T10:00:00.000Z""#, true);
    check(r#"published le "2024-05-01T10:00:00.000Z""#, true);
    check(r#"severity lt "a""#, true);
    check(r#"severity gt "a""#, false);
}

#[test]
fn matches_numbers_and_bools() {
    check("debugContext.debugData.attempt eq 3", true);
    check("debugContext.debugData.attempt eq 3.0", true);
    check("debugContext.debugData.attempt gt 2.5", true);
    check("debugContext.debugData.attempt le 2", false);
    check(r#"debugContext.debugData.attempt eq "3""#, false);
    check("debugContext.debugData.flag eq true", true);
    check("debugContext.debugData.flag eq false", false);
    check("debugContext.debugData.flag ne false", true);
    check("eventType eq 3", false);
}

#[test]
fn matches_null_present_and_missing() {
    check("outcome.reason eq null", true);
    check("outcome.missing eq null", true);
    check("outcome.result eq null", false);
    check("outcome.reason ne null", false);
    check("outcome.result ne null", true);
    check("outcome.reason pr", false);
    check("outcome.result pr", true);
    check("tags pr", false);
    check("empty pr", false);
    check("target pr", true);
    check("nothing pr", false);
    check(r#"nothing ne "x""#, true);
    check(r#"nothing eq "x""#, false);
    check("tags eq null", false);
}

#[test]
fn matches_arrays_if_any_element_matches() {
    check(r#"target.id eq "g1""#, true);
    check(r#"target.id ne "g1""#, false);
    check(r#"target.id eq "nope""#, false);
    check(
        r#"target.type eq "usergroup" and target.alternateId eq "salesforce""#,
        true,
    );
    check(
        r#"target[type eq "usergroup" and alternateId eq "salesforce"]"#,
        false,
    );
    check(
        r#"target[type eq "AppInstance" and alternateId eq "salesforce"]"#,
        true,
    );
    check(r#"target[type eq "AppInstance"].id eq "app1""#, true);
    check(r#"target[type eq "AppInstance"].id eq "g1""#, false);
    check("target.alternateId pr", true);
    check(r#"target[alternateId pr and type eq "UserGroup"]"#, false);
    check("target.missing eq null", true);
    check("tags[a pr]", false);
    check("actor[id pr]", false);
}

#[test]
fn matches_logic_and_urns() {
    check(r#"not (eventType eq "x")"#, true);
    check(r#"eventType eq "x" or severity eq "info""#, true);
    check(r#"eventType eq "x" and severity eq "info""#, false);
    check(r#"urn:ulo:ext:1.0:Event:tenant eq "acme""#, true);
    check(
        r#"urn:ietf:params:scim:schemas:core:2.0:User:eventType sw "user""#,
        true,
    );
}

#[test]
fn display_round_trips() {
    let inputs = [
        r#"a eq "x" or b pr and not (c ne 1 or d gt -2.5e3)"#,
        r#"(a pr or b pr) and (c pr or d pr)"#,
        r#"a pr and (b pr and c pr)"#,
        r#"a pr or (b pr or c pr)"#,
        r#"emails[type eq "work" and value co "q\"\\\u0001"].display sw "é""#,
        r#"urn:x:y:2.0:Z:a.b eq true and c eq null"#,
    ];
    for input in inputs {
        let f = parse(input).unwrap();
        let again = parse(&f.to_string()).unwrap();
        assert_eq!(f, again, "{input} -> {f}");
    }
}

/// A small xorshift generator so the fuzz test needs no dependency and is reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const PIECES: &[&str] = &[
    "a",
    "b.c",
    "emails",
    "target.id",
    "urn:x:y:",
    "urn:",
    "not",
    "and",
    "or",
    "eq",
    "ne",
    "co",
    "sw",
    "ew",
    "pr",
    "gt",
    "ge",
    "lt",
    "le",
    "(",
    ")",
    "[",
    "]",
    ".",
    " ",
    " ",
    " ",
    "\"",
    "\"x\"",
    "\\",
    "\\u",
    "\\ud800",
    "d83d",
    "1",
    "-",
    "0",
    "1e",
    "e5",
    ".5",
    "true",
    "false",
    "null",
    "$ref",
    ":",
    "é",
    "😀",
    "\u{0}",
    "\t",
    "\n",
    "@",
    "%",
    "_",
    "'",
    "x",
];

fn garbage(rng: &mut Rng) -> String {
    let mut out = String::new();
    for _ in 0..rng.below(24) {
        if rng.below(10) == 0 {
            out.push(char::from_u32(rng.below(0x11_0000) as u32).unwrap_or('?'));
        } else {
            out.push_str(PIECES[rng.below(PIECES.len())]);
        }
    }
    out
}

fn well_formed(rng: &mut Rng, depth: usize) -> String {
    let leaf = [
        r#"a eq "x""#,
        "b.c pr",
        "n gt 2",
        r#"emails[type eq "w"]"#,
        r#"emails[type eq "w"].value sw "q""#,
        "d ne null",
        "f eq false",
    ];
    if depth == 0 || rng.below(3) == 0 {
        return leaf[rng.below(leaf.len())].to_owned();
    }
    let l = well_formed(rng, depth - 1);
    let r = well_formed(rng, depth - 1);
    match rng.below(4) {
        0 => format!("{l} and {r}"),
        1 => format!("{l} or {r}"),
        2 => format!("not ({l})"),
        _ => format!("({l}) and ({r})"),
    }
}

/// A well-formed filter with a few random edits, so that many inputs get deep into the parser.
fn mutated(rng: &mut Rng) -> String {
    let mut chars: Vec<char> = well_formed(rng, 3).chars().collect();
    for _ in 0..=rng.below(3) {
        let at = rng.below(chars.len() + 1);
        match rng.below(3) {
            0 if at < chars.len() => {
                chars.remove(at);
            }
            _ => {
                let piece = PIECES[rng.below(PIECES.len())];
                chars.splice(at..at, piece.chars());
            }
        }
    }
    chars.into_iter().collect()
}

#[test]
fn never_panics_on_garbage() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let doc = log_event();
    let mut parsed = 0;
    for i in 0..30_000 {
        let input = if i % 2 == 0 {
            garbage(&mut rng)
        } else {
            mutated(&mut rng)
        };
        let _ = parse_patch_path(&input);
        if let Ok(f) = parse(&input) {
            parsed += 1;
            let _ = matches(&f, &doc);
            assert_eq!(parse(&f.to_string()).as_ref(), Ok(&f), "{input:?}");
        }
    }
    assert!(parsed > 0, "the generator should hit some valid filters");
}

#[test]
fn well_formed_filters_round_trip_and_truncations_do_not_panic() {
    let mut rng = Rng(42);
    let doc = log_event();
    for _ in 0..2_000 {
        let input = well_formed(&mut rng, 4);
        let f = parse(&input).unwrap_or_else(|e| panic!("{input}: {e}"));
        let _ = matches(&f, &doc);
        assert_eq!(parse(&f.to_string()), Ok(f.clone()), "{input}");
        let chars: Vec<char> = input.chars().collect();
        for cut in 0..chars.len() {
            let prefix: String = chars[..cut].iter().collect();
            if let Err(e) = parse(&prefix) {
                assert!(e.position <= cut, "{prefix:?}: {e}");
            }
        }
    }
}
