//! Compiles a ulo-core filter AST to SQL for SQLite and PostgreSQL.
//!
//! Every compiled predicate is two-valued (never SQL `NULL`), so `not (...)` is the exact complement
//! and the result agrees with [`ulo_core::filter::matches`] on both databases. Strings compare with
//! ASCII case folding (`lower()` in SQLite, `lower(x COLLATE "C")` in PostgreSQL) and order byte-wise.
//! `matches` looks into every array on a path, the SQL only into arrays the resolver declares
//! ([`FieldSql::JsonArrayAny`]) and `attr[...]` filters, so resolvers must declare their array keys.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use ulo_core::filter::{AttrPath, CompareOp, Filter, FilterError, FilterValue};

/// Schema URNs whose attributes live at the top level of a SCIM document.
const CORE_SCHEMA_PREFIX: &str = "urn:ietf:params:scim:schemas:core:";

/// The SQL flavour to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite with the JSON1 functions; JSON documents are stored as TEXT.
    Sqlite,
    /// PostgreSQL; JSON documents are stored as JSONB.
    Postgres,
}

/// The SQL type of a plain column, which decides the literals it can be compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// Text, compared with string literals.
    Text,
    /// BIGINT unix milliseconds, compared with RFC 3339 string literals.
    TimestampMillis,
    /// An integer, compared with number literals.
    Integer,
    /// A boolean (0/1 in SQLite), compared with `true`/`false`.
    Bool,
}

/// Where the value of an attribute path lives in SQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldSql {
    /// A plain column or SQL expression (trusted: it comes from our code, never from the user).
    Column {
        /// The SQL expression.
        expr: String,
        /// Its type.
        kind: ColumnKind,
    },
    /// A value inside a JSON document column (SQLite: TEXT holding JSON; PostgreSQL: JSONB), at `path` (object keys).
    Json {
        /// The JSON column (trusted SQL).
        column: String,
        /// Object keys from the document root (validated before use).
        path: Vec<String>,
    },
    /// Any element of the JSON array at `array` inside the JSON column; `element_path` is applied to each element.
    JsonArrayAny {
        /// The JSON column (trusted SQL).
        column: String,
        /// Object keys from the document root to the array.
        array: Vec<String>,
        /// Object keys from an element to the value compared (may be empty).
        element_path: Vec<String>,
    },
}

/// Maps filter attribute paths to SQL; an `Err(reason)` becomes an "unknown attribute" [`FilterError`].
pub trait FieldResolver {
    /// Resolves one attribute path.
    fn resolve(&self, path: &AttrPath) -> Result<FieldSql, String>;
}

/// Any `Fn(&AttrPath) -> Result<FieldSql, String>` is a resolver, handy for composing resolvers.
impl<F> FieldResolver for F
where
    F: Fn(&AttrPath) -> Result<FieldSql, String>,
{
    fn resolve(&self, path: &AttrPath) -> Result<FieldSql, String> {
        self(path)
    }
}

/// Maps every path into one JSON column; top-level keys listed in `array_keys` hold arrays.
///
/// A core-schema URN prefix (`urn:ietf:params:scim:schemas:core:...`) is ignored; any other URN is the
/// first object key, as SCIM stores extension attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonDocResolver {
    /// The JSON column (trusted SQL).
    pub column: String,
    /// Top-level keys whose values are arrays (e.g. `target` in System Log events).
    pub array_keys: Vec<String>,
    /// When set, the only top-level keys a filter may use.
    pub allowed_roots: Option<Vec<String>>,
}

impl FieldResolver for JsonDocResolver {
    fn resolve(&self, path: &AttrPath) -> Result<FieldSql, String> {
        let keys = document_keys(path);
        let Some((root, rest)) = keys.split_first() else {
            return Err("the path is empty".to_owned());
        };
        if let Some(allowed) = &self.allowed_roots
            && !allowed.contains(root)
        {
            return Err(format!("filterable attributes are {}", allowed.join(", ")));
        }
        if self.array_keys.contains(root) {
            return Ok(FieldSql::JsonArrayAny {
                column: self.column.clone(),
                array: vec![root.clone()],
                element_path: rest.to_vec(),
            });
        }
        Ok(FieldSql::Json {
            column: self.column.clone(),
            path: keys,
        })
    }
}

/// A bind parameter of a compiled filter.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlParam {
    /// Bound as TEXT.
    Text(String),
    /// Bound as BIGINT.
    Int(i64),
    /// Bound as DOUBLE PRECISION.
    Float(f64),
    /// Bound as BOOLEAN.
    Bool(bool),
}

/// A boolean SQL expression and the parameters its `$N` placeholders refer to, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct SqlFragment {
    /// The expression, safe to put in a `WHERE` clause (wrapped in parentheses).
    pub sql: String,
    /// Values for `$first_param`, `$first_param + 1`, ...
    pub params: Vec<SqlParam>,
}

/// Compiles `filter` to a boolean SQL expression with `$N` placeholders numbered from `first_param` (≥ 1).
///
/// Errors carry position 0: the AST no longer knows where in the input a path was written.
pub fn compile(
    filter: &Filter,
    dialect: Dialect,
    resolver: &dyn FieldResolver,
    first_param: usize,
) -> Result<SqlFragment, FilterError> {
    let mut compiler = Compiler {
        dialect,
        resolver,
        params: Vec::new(),
        first_param,
        aliases: 0,
    };
    let sql = compiler.filter(filter, &Scope::Root)?;
    Ok(SqlFragment {
        sql,
        params: compiler.params,
    })
}

/// Binds a [`SqlFragment`]'s params (anything iterating `&SqlParam`) to any sqlx query, in order.
///
/// `let q = ulo_store::bind_params!(sqlx::query(sql), &fragment.params);`
#[macro_export]
macro_rules! bind_params {
    ($query:expr, $params:expr) => {{
        let mut query = $query;
        for param in $params {
            let param: &$crate::filter_sql::SqlParam = param;
            query = match param {
                $crate::filter_sql::SqlParam::Text(v) => query.bind(::std::clone::Clone::clone(v)),
                $crate::filter_sql::SqlParam::Int(v) => query.bind(*v),
                $crate::filter_sql::SqlParam::Float(v) => query.bind(*v),
                $crate::filter_sql::SqlParam::Bool(v) => query.bind(*v),
            };
        }
        query
    }};
}

fn error(message: impl Into<String>) -> FilterError {
    FilterError {
        position: 0,
        message: message.into(),
    }
}

/// The object keys an attribute path addresses in a SCIM JSON document (see [`JsonDocResolver`]).
fn document_keys(path: &AttrPath) -> Vec<String> {
    let mut keys = Vec::with_capacity(path.segments.len() + 1);
    if let Some(uri) = &path.uri {
        let is_core = uri
            .get(..CORE_SCHEMA_PREFIX.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(CORE_SCHEMA_PREFIX));
        if !is_core {
            keys.push(uri.clone());
        }
    }
    keys.extend(path.segments.iter().cloned());
    keys
}

/// Keys end up inside SQL string literals, so only a conservative alphabet is accepted:
/// names (`[A-Za-z_$][A-Za-z0-9_-]*`) and schema URNs (`urn:` then `[A-Za-z0-9:._-]`).
fn check_key(key: &str) -> Result<(), FilterError> {
    let is_name = {
        let mut chars = key.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    let is_urn = key.len() > 4
        && key[..4].eq_ignore_ascii_case("urn:")
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '.' | '_' | '-'));
    if is_name || is_urn {
        Ok(())
    } else {
        Err(error(format!(
            "attribute name \"{key}\" cannot be used in a filter"
        )))
    }
}

fn check_keys(keys: &[String]) -> Result<(), FilterError> {
    keys.iter().try_for_each(|k| check_key(k))
}

/// Escapes LIKE wildcards for `ESCAPE '\'`.
fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn timestamp_millis(text: &str) -> Result<i64, String> {
    let at = OffsetDateTime::parse(text, &Rfc3339).map_err(|e| e.to_string())?;
    i64::try_from(at.unix_timestamp_nanos().div_euclid(1_000_000)).map_err(|e| e.to_string())
}

/// A location inside a JSON document.
#[derive(Debug, Clone)]
struct JsonLoc {
    /// SQLite: the document column. PostgreSQL: a JSONB expression (the column or an array element).
    base: String,
    /// SQLite only: a runtime JSON path (an array element's `fullkey`) the keys are appended to.
    prefix: Option<String>,
    /// Object keys below `base`/`prefix`.
    keys: Vec<String>,
}

impl JsonLoc {
    fn root(column: &str) -> Self {
        JsonLoc {
            base: column.to_owned(),
            prefix: None,
            keys: Vec::new(),
        }
    }

    fn child(&self, keys: &[String]) -> Self {
        let mut loc = self.clone();
        loc.keys.extend(keys.iter().cloned());
        loc
    }

    /// SQLite JSON path expression, e.g. `'$."a"."b"'` or `(e1.fullkey || '."b"')`.
    fn sqlite_path(&self) -> String {
        let suffix: String = self.keys.iter().map(|k| format!(".\"{k}\"")).collect();
        match &self.prefix {
            None => format!("'${suffix}'"),
            Some(prefix) if suffix.is_empty() => prefix.clone(),
            Some(prefix) => format!("({prefix} || '{suffix}')"),
        }
    }

    /// PostgreSQL text-array path literal, e.g. `'{"a","b"}'`.
    fn pg_path(&self) -> String {
        let keys: Vec<String> = self.keys.iter().map(|k| format!("\"{k}\"")).collect();
        format!("'{{{}}}'", keys.join(","))
    }

    /// PostgreSQL JSONB value at this location (NULL when missing).
    fn pg_json(&self) -> String {
        if self.keys.is_empty() {
            self.base.clone()
        } else {
            format!("({} #> {})", self.base, self.pg_path())
        }
    }

    /// PostgreSQL text of the value at this location (strings unquoted).
    fn pg_text(&self) -> String {
        format!("({} #>> {})", self.base, self.pg_path())
    }
}

/// What an attribute path resolved to.
enum Target {
    Column { expr: String, kind: ColumnKind },
    Json(JsonLoc),
    ArrayAny { array: JsonLoc, rest: Vec<String> },
}

/// Where attribute paths are looked up: through the resolver, or relative to an array element.
enum Scope {
    Root,
    Element(JsonLoc),
}

/// A comparison with the negations (`ne`, `eq null`) already taken out.
#[derive(Clone, Copy)]
enum Test<'f> {
    Present,
    NonNull,
    Str(StrOp, &'f str),
    Num(NumOp, &'f serde_json::Number),
    Bool(bool),
}

#[derive(Clone, Copy)]
enum StrOp {
    Eq,
    Co,
    Sw,
    Ew,
    Order(&'static str),
}

#[derive(Clone, Copy)]
enum NumOp {
    Eq,
    Order(&'static str),
}

fn order_symbol(op: CompareOp) -> Option<&'static str> {
    match op {
        CompareOp::Gt => Some(">"),
        CompareOp::Ge => Some(">="),
        CompareOp::Lt => Some("<"),
        CompareOp::Le => Some("<="),
        _ => None,
    }
}

/// The positive test for `op value`, for any op except `ne` and any value except `null`.
fn test_for<'f>(op: CompareOp, value: &'f FilterValue) -> Result<Test<'f>, FilterError> {
    let unsupported = || error(format!("\"{op}\" cannot be used with {value}"));
    Ok(match value {
        FilterValue::String(s) => Test::Str(
            match op {
                CompareOp::Eq => StrOp::Eq,
                CompareOp::Co => StrOp::Co,
                CompareOp::Sw => StrOp::Sw,
                CompareOp::Ew => StrOp::Ew,
                _ => StrOp::Order(order_symbol(op).ok_or_else(unsupported)?),
            },
            s,
        ),
        FilterValue::Number(n) => Test::Num(
            match op {
                CompareOp::Eq => NumOp::Eq,
                _ => NumOp::Order(order_symbol(op).ok_or_else(unsupported)?),
            },
            n,
        ),
        FilterValue::Bool(b) if op == CompareOp::Eq => Test::Bool(*b),
        FilterValue::Bool(_) | FilterValue::Null => return Err(unsupported()),
    })
}

fn number_param(n: &serde_json::Number) -> SqlParam {
    match n.as_i64() {
        Some(i) => SqlParam::Int(i),
        None => SqlParam::Float(n.as_f64().unwrap_or(f64::NAN)),
    }
}

/// Joins operands as a balanced tree so long `and`/`or` chains stay shallow for the SQL parsers.
fn balanced(parts: &[String], op: &str) -> String {
    match parts {
        [single] => single.clone(),
        _ => {
            let (left, right) = parts.split_at(parts.len() / 2);
            format!("({} {op} {})", balanced(left, op), balanced(right, op))
        }
    }
}

/// Collects the operands of a chain of the same logical operator, left to right.
fn chain_operands<'f>(filter: &'f Filter, is_and: bool, out: &mut Vec<&'f Filter>) {
    match filter {
        Filter::And(a, b) if is_and => {
            chain_operands(a, is_and, out);
            chain_operands(b, is_and, out);
        }
        Filter::Or(a, b) if !is_and => {
            chain_operands(a, is_and, out);
            chain_operands(b, is_and, out);
        }
        other => out.push(other),
    }
}

struct Compiler<'r> {
    dialect: Dialect,
    resolver: &'r dyn FieldResolver,
    params: Vec<SqlParam>,
    first_param: usize,
    aliases: usize,
}

impl Compiler<'_> {
    fn param(&mut self, value: SqlParam) -> String {
        let n = self.first_param + self.params.len();
        self.params.push(value);
        format!("${n}")
    }

    fn filter(&mut self, filter: &Filter, scope: &Scope) -> Result<String, FilterError> {
        match filter {
            Filter::And(..) => self.chain(filter, scope, true),
            Filter::Or(..) => self.chain(filter, scope, false),
            Filter::Not(inner) => Ok(format!("(NOT {})", self.filter(inner, scope)?)),
            Filter::Present(path) => self.test(path, scope, Test::Present),
            Filter::Compare { path, op, value } => self.compare(path, *op, value, scope),
            Filter::ValuePath { attr, filter } => self.value_path(attr, filter, scope),
        }
    }

    fn chain(
        &mut self,
        filter: &Filter,
        scope: &Scope,
        is_and: bool,
    ) -> Result<String, FilterError> {
        let mut operands = Vec::new();
        chain_operands(filter, is_and, &mut operands);
        let parts = operands
            .into_iter()
            .map(|f| self.filter(f, scope))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(balanced(&parts, if is_and { "AND" } else { "OR" }))
    }

    /// `ne` is `not eq` and `eq null` is "has no non-null value", so missing attributes behave alike everywhere.
    fn compare(
        &mut self,
        path: &AttrPath,
        op: CompareOp,
        value: &FilterValue,
        scope: &Scope,
    ) -> Result<String, FilterError> {
        match (op, value) {
            (CompareOp::Ne, _) => Ok(format!(
                "(NOT {})",
                self.compare(path, CompareOp::Eq, value, scope)?
            )),
            (CompareOp::Eq, FilterValue::Null) => {
                Ok(format!("(NOT {})", self.test(path, scope, Test::NonNull)?))
            }
            _ => {
                let test = test_for(op, value)
                    .map_err(|e| error(format!("{} (attribute \"{path}\")", e.message)))?;
                self.test(path, scope, test)
            }
        }
    }

    fn target(&self, path: &AttrPath, scope: &Scope) -> Result<Target, FilterError> {
        match scope {
            Scope::Element(element) => {
                if path.uri.is_some() {
                    return Err(error(format!(
                        "attribute \"{path}\" inside [...] must be relative to the element"
                    )));
                }
                check_keys(&path.segments)?;
                Ok(Target::Json(element.child(&path.segments)))
            }
            Scope::Root => {
                let field = self
                    .resolver
                    .resolve(path)
                    .map_err(|reason| error(format!("unknown attribute \"{path}\": {reason}")))?;
                target_of(field)
            }
        }
    }

    fn test(
        &mut self,
        path: &AttrPath,
        scope: &Scope,
        test: Test<'_>,
    ) -> Result<String, FilterError> {
        match self.target(path, scope)? {
            Target::Column { expr, kind } => self.column_test(&expr, kind, test, path),
            Target::Json(loc) => self.json_test(&loc, test),
            // `pr` and null tests look at the array itself; comparisons at its elements.
            Target::ArrayAny { array, rest }
                if rest.is_empty() && matches!(test, Test::Present | Test::NonNull) =>
            {
                self.json_test(&array, test)
            }
            Target::ArrayAny { array, rest } => self.exists(&array, |c, element| {
                c.json_test(&element.child(&rest), test)
            }),
        }
    }

    fn value_path(
        &mut self,
        attr: &AttrPath,
        filter: &Filter,
        scope: &Scope,
    ) -> Result<String, FilterError> {
        let each = |c: &mut Self, element: JsonLoc| c.filter(filter, &Scope::Element(element));
        match self.target(attr, scope)? {
            Target::Column { .. } => Err(error(format!(
                "attribute \"{attr}\" is not multi-valued, so it cannot have a [...] filter"
            ))),
            Target::Json(loc) => self.exists(&loc, each),
            Target::ArrayAny { array, rest } if rest.is_empty() => self.exists(&array, each),
            Target::ArrayAny { array, rest } => {
                self.exists(&array, |c, outer| c.exists(&outer.child(&rest), each))
            }
        }
    }

    /// `EXISTS` over the elements of the array at `loc` (no rows when it is not an array).
    fn exists(
        &mut self,
        loc: &JsonLoc,
        body: impl FnOnce(&mut Self, JsonLoc) -> Result<String, FilterError>,
    ) -> Result<String, FilterError> {
        self.aliases += 1;
        let alias = format!("ulo_e{}", self.aliases);
        match self.dialect {
            Dialect::Sqlite => {
                let element = JsonLoc {
                    base: loc.base.clone(),
                    prefix: Some(format!("{alias}.fullkey")),
                    keys: Vec::new(),
                };
                let inner = body(self, element)?;
                let (doc, path) = (&loc.base, loc.sqlite_path());
                // json_each also walks objects and scalars, hence the type check.
                Ok(format!(
                    "EXISTS (SELECT 1 FROM json_each({doc}, {path}) AS {alias} \
                     WHERE json_type({doc}, {path}) = 'array' AND {inner})"
                ))
            }
            Dialect::Postgres => {
                let element = JsonLoc::root(&format!("{alias}.value"));
                let inner = body(self, element)?;
                let json = loc.pg_json();
                Ok(format!(
                    "EXISTS (SELECT 1 FROM jsonb_array_elements(CASE WHEN jsonb_typeof({json}) = 'array' \
                     THEN {json} ELSE '[]'::jsonb END) AS {alias}(value) WHERE {inner})"
                ))
            }
        }
    }

    fn json_test(&mut self, loc: &JsonLoc, test: Test<'_>) -> Result<String, FilterError> {
        Ok(match self.dialect {
            Dialect::Sqlite => self.sqlite_json_test(loc, test),
            Dialect::Postgres => self.pg_json_test(loc, test),
        })
    }

    fn sqlite_json_test(&mut self, loc: &JsonLoc, test: Test<'_>) -> String {
        let (doc, path) = (&loc.base, loc.sqlite_path());
        let ty = format!("json_type({doc}, {path})");
        let value = format!("json_extract({doc}, {path})");
        match test {
            Test::Present => format!(
                "(CASE coalesce({ty}, 'null') WHEN 'null' THEN 0 WHEN 'text' THEN {value} <> '' \
                 WHEN 'array' THEN json_array_length({doc}, {path}) > 0 \
                 WHEN 'object' THEN {value} <> '{{}}' ELSE 1 END)"
            ),
            Test::NonNull => format!("(coalesce({ty}, 'null') <> 'null')"),
            Test::Str(op, s) => {
                let cmp = self.string_comparison(&value, op, s);
                format!("(coalesce({ty}, '') = 'text' AND {cmp})")
            }
            Test::Num(op, n) => {
                let cmp = self.number_comparison(&value, op, n);
                format!("(coalesce({ty}, '') IN ('integer', 'real') AND {cmp})")
            }
            Test::Bool(b) => format!("(coalesce({ty}, '') = '{b}')"),
        }
    }

    fn pg_json_test(&mut self, loc: &JsonLoc, test: Test<'_>) -> String {
        let json = loc.pg_json();
        let text = loc.pg_text();
        let ty = format!("jsonb_typeof({json})");
        match test {
            Test::Present => format!(
                "(CASE coalesce({ty}, 'null') WHEN 'null' THEN FALSE WHEN 'string' THEN {text} <> '' \
                 WHEN 'array' THEN jsonb_array_length({json}) > 0 \
                 WHEN 'object' THEN {json} <> '{{}}'::jsonb ELSE TRUE END)"
            ),
            Test::NonNull => format!("(coalesce({ty}, 'null') <> 'null')"),
            Test::Str(op, s) => {
                let cmp = self.string_comparison(&text, op, s);
                format!("(coalesce({ty}, '') = 'string' AND {cmp})")
            }
            Test::Num(op, n) => {
                // CASE, not AND: PostgreSQL may evaluate AND operands in any order, and the cast must only see numbers.
                let cmp = self.number_comparison(&format!("({text})::numeric"), op, n);
                format!("(CASE WHEN {ty} = 'number' THEN {cmp} ELSE FALSE END)")
            }
            Test::Bool(b) => format!("(coalesce({ty}, '') = 'boolean' AND {json} = '{b}'::jsonb)"),
        }
    }

    /// Compares a non-NULL text expression; case folding and ordering are ASCII/byte-wise in both dialects.
    fn string_comparison(&mut self, expr: &str, op: StrOp, literal: &str) -> String {
        let folded = match self.dialect {
            Dialect::Sqlite => format!("lower({expr})"),
            Dialect::Postgres => format!("lower({expr} COLLATE \"C\")"),
        };
        let lower = literal.to_ascii_lowercase();
        // E'\\' is one backslash whatever standard_conforming_strings says.
        let escape = match self.dialect {
            Dialect::Sqlite => "'\\'",
            Dialect::Postgres => "E'\\\\'",
        };
        let like = |pattern: String| format!("{folded} LIKE {pattern} ESCAPE {escape}");
        match op {
            StrOp::Eq => format!("{folded} = {}", self.param(SqlParam::Text(lower))),
            StrOp::Co => like(self.param(SqlParam::Text(format!("%{}%", like_escape(&lower))))),
            StrOp::Sw => like(self.param(SqlParam::Text(format!("{}%", like_escape(&lower))))),
            StrOp::Ew => like(self.param(SqlParam::Text(format!("%{}", like_escape(&lower))))),
            StrOp::Order(symbol) => {
                let ordered = match self.dialect {
                    Dialect::Sqlite => expr.to_owned(),
                    Dialect::Postgres => format!("({expr} COLLATE \"C\")"),
                };
                let param = self.param(SqlParam::Text(literal.to_owned()));
                format!("{ordered} {symbol} {param}")
            }
        }
    }

    fn number_comparison(&mut self, expr: &str, op: NumOp, literal: &serde_json::Number) -> String {
        let symbol = match op {
            NumOp::Eq => "=",
            NumOp::Order(symbol) => symbol,
        };
        format!("{expr} {symbol} {}", self.param(number_param(literal)))
    }

    fn column_test(
        &mut self,
        expr: &str,
        kind: ColumnKind,
        test: Test<'_>,
        path: &AttrPath,
    ) -> Result<String, FilterError> {
        let expr = format!("({expr})");
        let comparison = match (kind, test) {
            (_, Test::NonNull) => return Ok(format!("({expr} IS NOT NULL)")),
            (ColumnKind::Text, Test::Present) => {
                return Ok(format!("({expr} IS NOT NULL AND {expr} <> '')"));
            }
            (_, Test::Present) => return Ok(format!("({expr} IS NOT NULL)")),
            (ColumnKind::Text, Test::Str(op, s)) => self.string_comparison(&expr, op, s),
            (ColumnKind::Integer, Test::Num(op, n)) => self.number_comparison(&expr, op, n),
            (ColumnKind::Bool, Test::Bool(b)) => {
                format!("{expr} = {}", self.param(SqlParam::Bool(b)))
            }
            (ColumnKind::TimestampMillis, Test::Str(op, s)) => {
                self.timestamp_comparison(&expr, op, s, path)?
            }
            (kind, _) => return Err(error(kind_mismatch(kind, path))),
        };
        // The NULL check keeps the result two-valued, so NOT works as a complement.
        Ok(format!("({expr} IS NOT NULL AND {comparison})"))
    }

    fn timestamp_comparison(
        &mut self,
        expr: &str,
        op: StrOp,
        literal: &str,
        path: &AttrPath,
    ) -> Result<String, FilterError> {
        let symbol = match op {
            StrOp::Eq => "=",
            StrOp::Order(symbol) => symbol,
            StrOp::Co | StrOp::Sw | StrOp::Ew => {
                return Err(error(format!(
                    "attribute \"{path}\" is a timestamp; use eq, ne, gt, ge, lt or le"
                )));
            }
        };
        let millis = timestamp_millis(literal).map_err(|reason| {
            error(format!(
                "\"{literal}\" is not an RFC 3339 timestamp such as \"2024-05-01T10:00:00Z\" ({reason})"
            ))
        })?;
        Ok(format!(
            "{expr} {symbol} {}",
            self.param(SqlParam::Int(millis))
        ))
    }
}

fn kind_mismatch(kind: ColumnKind, path: &AttrPath) -> String {
    match kind {
        ColumnKind::Text => format!("attribute \"{path}\" is text; compare it with a \"string\""),
        ColumnKind::TimestampMillis => format!(
            "attribute \"{path}\" is a timestamp; compare it with an RFC 3339 string such as \"2024-05-01T10:00:00Z\""
        ),
        ColumnKind::Integer => {
            format!("attribute \"{path}\" is a number; compare it with a number")
        }
        ColumnKind::Bool => {
            format!("attribute \"{path}\" is true or false; use eq or ne with true or false")
        }
    }
}

fn target_of(field: FieldSql) -> Result<Target, FilterError> {
    Ok(match field {
        FieldSql::Column { expr, kind } => Target::Column { expr, kind },
        FieldSql::Json { column, path } => {
            check_keys(&path)?;
            Target::Json(JsonLoc::root(&column).child(&path))
        }
        FieldSql::JsonArrayAny {
            column,
            array,
            element_path,
        } => {
            if array.is_empty() {
                return Err(error("an array attribute needs a non-empty path"));
            }
            check_keys(&array)?;
            check_keys(&element_path)?;
            Target::ArrayAny {
                array: JsonLoc::root(&column).child(&array),
                rest: element_path,
            }
        }
    })
}
