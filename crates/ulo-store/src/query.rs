//! Dynamic SQL with numbered parameters, shared by both backends.

use ulo_core::filter::{AttrPath, Filter};
use ulo_core::store::{Page, StoreError};

use crate::filter_sql::{
    ColumnKind, Dialect, FieldResolver, FieldSql, JsonDocResolver, SqlParam, compile,
};

/// SQL text and its parameters, numbered `$1…` in order.
pub(crate) struct Sql {
    pub text: String,
    pub params: Vec<SqlParam>,
}

impl Sql {
    pub fn new(text: &str) -> Self {
        Sql {
            text: text.to_string(),
            params: Vec::new(),
        }
    }

    /// Adds a parameter and returns its placeholder.
    pub fn param(&mut self, p: SqlParam) -> String {
        self.params.push(p);
        format!("${}", self.params.len())
    }

    pub fn push(&mut self, s: &str) {
        self.text.push_str(s);
    }

    /// Keyset paging: only ids after the page's cursor.
    pub fn after(&mut self, id_col: &str, page: &Page) {
        if let Some(after) = &page.after {
            let p = self.param(SqlParam::Text(after.clone()));
            self.push(&format!(" AND {id_col} > {p}"));
        }
    }

    /// Case-insensitive prefix search: any of `exprs` (already lower-cased) starts with `q`.
    pub fn prefix(&mut self, exprs: &[&str], q: Option<&str>) {
        if let Some(q) = q.map(str::trim).filter(|q| !q.is_empty()) {
            let p = self.param(SqlParam::Text(format!(
                "{}%",
                like_escape(&q.to_lowercase())
            )));
            let any = exprs
                .iter()
                .map(|e| format!("{e} LIKE {p} ESCAPE '\\'"))
                .collect::<Vec<_>>()
                .join(" OR ");
            self.push(&format!(" AND ({any})"));
        }
    }

    /// Orders by id and takes one page.
    pub fn order_limit(&mut self, id_col: &str, page: &Page) {
        let p = self.param(SqlParam::Int(i64::from(page.limit.max(1))));
        self.push(&format!(" ORDER BY {id_col} LIMIT {p}"));
    }

    /// Appends `AND (<filter>)`.
    pub fn filter(
        &mut self,
        f: &Filter,
        dialect: Dialect,
        resolver: &dyn FieldResolver,
    ) -> Result<(), StoreError> {
        let frag = compile(f, dialect, resolver, self.params.len() + 1)
            .map_err(|e| StoreError::BadQuery(e.to_string()))?;
        self.text.push_str(" AND (");
        self.text.push_str(&frag.sql);
        self.text.push(')');
        self.params.extend(frag.params);
        Ok(())
    }
}

/// Escapes LIKE metacharacters; used with `ESCAPE '\'`.
pub(crate) fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Text of a top-level key of a JSON column.
pub(crate) fn json_text(dialect: Dialect, column: &str, key: &str) -> String {
    match dialect {
        Dialect::Sqlite => format!("json_extract({column}, '$.{key}')"),
        Dialect::Postgres => format!("({column} ->> '{key}')"),
    }
}

/// Maps user filter paths to columns.
pub(crate) struct UserFields {
    /// The SQL of the level `riskLevel` means, when not the stored column (the level from the
    /// detections active at the query's time).
    pub risk_level: Option<String>,
}

impl FieldResolver for UserFields {
    fn resolve(&self, path: &AttrPath) -> Result<FieldSql, String> {
        let seg: Vec<&str> = path.segments.iter().map(String::as_str).collect();
        let col = |expr: &str, kind| {
            Ok(FieldSql::Column {
                expr: expr.to_string(),
                kind,
            })
        };
        match seg.as_slice() {
            ["id"] => col("u.id", ColumnKind::Text),
            ["status"] => col("u.status", ColumnKind::Text),
            ["provisionedBy"] => col("u.provisioned_by", ColumnKind::Text),
            ["riskLevel"] => col(
                self.risk_level.as_deref().unwrap_or("u.risk_level"),
                ColumnKind::Text,
            ),
            ["created"] => col("u.created", ColumnKind::TimestampMillis),
            ["activated"] => col("u.activated", ColumnKind::TimestampMillis),
            ["statusChanged"] => col("u.status_changed", ColumnKind::TimestampMillis),
            ["lastUpdated"] => col("u.last_updated", ColumnKind::TimestampMillis),
            ["passwordChanged"] => col("u.password_changed", ColumnKind::TimestampMillis),
            ["lastLogin"] => col("u.last_login", ColumnKind::TimestampMillis),
            ["profile", attr] => Ok(FieldSql::Json {
                column: "u.profile".into(),
                path: vec![attr.to_string()],
            }),
            _ => Err(format!(
                "unknown attribute {:?}; users can be filtered by id, status, provisionedBy, riskLevel, created, activated, statusChanged, lastUpdated, passwordChanged, lastLogin and profile.<attribute>",
                path.segments.join(".")
            )),
        }
    }
}

/// Maps System Log filter paths into the event document.
pub(crate) fn event_fields() -> JsonDocResolver {
    JsonDocResolver {
        column: "data".into(),
        array_keys: vec!["target".into()],
        allowed_roots: Some(
            [
                "uuid",
                "published",
                "eventType",
                "version",
                "severity",
                "displayMessage",
                "actor",
                "client",
                "outcome",
                "target",
                "transaction",
                "debugContext",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        ),
    }
}
