//! Several writes in one round trip. A [`Piece`] is one INSERT, UPDATE or DELETE with its own
//! `$1…` placeholders and owned values; [`pack`] joins consecutive pieces into statements of at
//! most [`BUDGET`] bytes, renumbering each piece's placeholders after the ones before it:
//!
//! * SQLite takes several statements in one query string (sqlx runs them in turn on its
//!   connection thread, binding `$N` to the N-th value of the whole string): one hop to that
//!   thread instead of one per statement;
//! * PostgreSQL takes one statement per query, so the pieces but the last become
//!   data-modifying `WITH` clauses, which PostgreSQL runs exactly once each, all against the
//!   statement's snapshot. Only pieces that touch different rows, and do not need to see each
//!   other's changes, may share a statement: every caller's pieces are such (new rows of
//!   different tables, or one row's update beside another table's insert).

use crate::filter_sql::Dialect;

/// One value to bind.
#[derive(Debug, Clone)]
pub(crate) enum Val {
    Text(String),
    OptText(Option<String>),
    Int(i64),
    OptInt(Option<i64>),
    /// A JSON document (JSONB on PostgreSQL, TEXT on SQLite) already serialized, bound as text (its placeholder casts it on
    /// PostgreSQL: see `crate::tx::json_param`).
    JsonText(String),
}

/// One statement with `$1…` placeholders and its values, in order.
#[derive(Debug, Clone)]
pub(crate) struct Piece {
    pub(crate) sql: String,
    pub(crate) vals: Vec<Val>,
    /// About how many bytes it takes on the wire.
    pub(crate) size: usize,
}

impl Piece {
    /// A piece; `size` counts the text and the values.
    pub(crate) fn new(sql: impl Into<String>, vals: Vec<Val>) -> Piece {
        let sql = sql.into();
        let size = sql.len()
            + vals
                .iter()
                .map(|v| match v {
                    Val::Text(s) | Val::OptText(Some(s)) | Val::JsonText(s) => s.len() + 8,
                    _ => 12,
                })
                .sum::<usize>();
        Piece { sql, vals, size }
    }

    /// A piece whose size is known (e.g. from the caller's own serialization).
    pub(crate) fn sized(sql: impl Into<String>, vals: Vec<Val>, size: usize) -> Piece {
        Piece {
            sql: sql.into(),
            vals,
            size,
        }
    }
}

/// Bytes per packed statement: a PostgreSQL message over 16 KiB can stall ~40 ms on a TLS
/// connection (record split + Nagle), far more than the round trips saved.
pub(crate) const BUDGET: usize = 12 * 1024;

/// Values per packed statement, well under SQLite's limit on a placeholder's number (32,766).
const MAX_VALS: usize = 2_000;

/// `sql` with every placeholder `$N` (outside string literals) made `$N+offset`.
pub(crate) fn renumber(sql: &str, offset: usize) -> String {
    if offset == 0 {
        return sql.to_string();
    }
    let mut out = String::with_capacity(sql.len() + 16);
    let mut chars = sql.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        if c == '\'' {
            quoted = !quoted;
        }
        if c != '$' || quoted || !chars.peek().is_some_and(char::is_ascii_digit) {
            out.push(c);
            continue;
        }
        let mut n = 0usize;
        while let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
            n = n * 10 + d as usize;
            chars.next();
        }
        out.push('$');
        out.push_str(&(n + offset).to_string());
    }
    out
}

/// One statement made of consecutive pieces.
#[derive(Debug)]
pub(crate) struct Packed {
    pub(crate) sql: String,
    pub(crate) vals: Vec<Val>,
}

/// `pieces` joined into as few statements as the budget allows, in order.
pub(crate) fn pack(dialect: Dialect, pieces: Vec<Piece>) -> Vec<Packed> {
    let mut groups: Vec<Vec<Piece>> = Vec::new();
    let (mut bytes, mut vals) = (0, 0);
    for p in pieces {
        let fits = bytes + p.size <= BUDGET && vals + p.vals.len() <= MAX_VALS;
        if !fits || groups.is_empty() {
            (bytes, vals) = (0, 0);
            groups.push(Vec::new());
        }
        bytes += p.size;
        vals += p.vals.len();
        if let Some(g) = groups.last_mut() {
            g.push(p);
        }
    }
    groups.into_iter().map(|g| join(dialect, g)).collect()
}

/// Pieces as one statement, whatever their size.
pub(crate) fn join(dialect: Dialect, pieces: Vec<Piece>) -> Packed {
    let n = pieces.len();
    let mut sql = String::new();
    let mut vals = Vec::new();
    for (i, p) in pieces.into_iter().enumerate() {
        let text = renumber(&p.sql, vals.len());
        match dialect {
            Dialect::Sqlite => {
                if i > 0 {
                    sql.push_str(";\n");
                }
                sql.push_str(&text);
            }
            Dialect::Postgres if i + 1 < n => {
                sql.push_str(if i == 0 { "WITH " } else { ", " });
                sql.push_str(&format!("w{i} AS ({text})"));
            }
            Dialect::Postgres => {
                if i > 0 {
                    sql.push(' ');
                }
                sql.push_str(&text);
            }
        }
        vals.extend(p.vals);
    }
    Packed { sql, vals }
}

/// Binds [`Val`]s onto a query, in order.
macro_rules! bind_vals {
    ($q:expr, $vals:expr) => {{
        let mut q = $q;
        for v in $vals {
            q = match v {
                crate::batch::Val::Text(s) => q.bind(s),
                crate::batch::Val::OptText(s) => q.bind(s),
                crate::batch::Val::Int(i) => q.bind(i),
                crate::batch::Val::OptInt(i) => q.bind(i),
                crate::batch::Val::JsonText(s) => q.bind(s),
            };
        }
        q
    }};
}

pub(crate) use bind_vals;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renumbers_placeholders_outside_literals() {
        assert_eq!(
            renumber(
                "a=$1 AND b=$12 AND c='$1' AND json_extract(d, '$.x')=$2",
                10
            ),
            "a=$11 AND b=$22 AND c='$1' AND json_extract(d, '$.x')=$12"
        );
        assert_eq!(renumber("x=$1", 0), "x=$1");
    }

    fn piece(sql: &str, n: usize) -> Piece {
        Piece::new(sql, (0..n).map(|i| Val::Int(i as i64)).collect())
    }

    #[test]
    fn joins_for_each_dialect() {
        let ps = || {
            vec![
                piece("INSERT INTO a VALUES ($1,$2)", 2),
                piece("UPDATE b SET x=$1 WHERE id=$2", 2),
                piece("DELETE FROM c WHERE id=$1", 1),
            ]
        };
        let s = join(Dialect::Sqlite, ps());
        assert_eq!(
            s.sql,
            "INSERT INTO a VALUES ($1,$2);\nUPDATE b SET x=$3 WHERE id=$4;\nDELETE FROM c WHERE id=$5"
        );
        assert_eq!(s.vals.len(), 5);
        let p = join(Dialect::Postgres, ps());
        assert_eq!(
            p.sql,
            "WITH w0 AS (INSERT INTO a VALUES ($1,$2)), w1 AS (UPDATE b SET x=$3 WHERE id=$4) DELETE FROM c WHERE id=$5"
        );
        assert_eq!(
            join(
                Dialect::Postgres,
                vec![piece("DELETE FROM c WHERE id=$1", 1)]
            )
            .sql,
            "DELETE FROM c WHERE id=$1"
        );
    }

    #[test]
    fn packs_within_the_budget_in_order() {
        let big = |n: usize| {
            Piece::sized(
                format!("INSERT INTO t VALUES ($1, 'p{n}')"),
                vec![Val::Int(0)],
                BUDGET / 2,
            )
        };
        let packed = pack(Dialect::Sqlite, vec![big(0), big(1), big(2)]);
        assert_eq!(packed.len(), 2);
        assert_eq!(
            packed[0].sql,
            "INSERT INTO t VALUES ($1, 'p0');\nINSERT INTO t VALUES ($2, 'p1')"
        );
        assert_eq!(packed[1].sql, "INSERT INTO t VALUES ($1, 'p2')");
        let huge = Piece::sized("INSERT INTO t VALUES ($1)", vec![Val::Int(0)], BUDGET * 2);
        assert_eq!(pack(Dialect::Postgres, vec![huge, big(3)]).len(), 2);
        assert!(pack(Dialect::Postgres, Vec::new()).is_empty());
    }
}
