//! SCIM filter language (RFC 7644 §3.4.2.2): AST and parser.
//!
//! Beyond the RFC grammar this accepts dotted paths of any depth (`debugContext.debugData.requestUri`)
//! and `attr[valFilter].sub op value` in filters, which is read as `attr[valFilter and sub op value]`.

use std::fmt;

use serde_json::{Number, Value};

/// Longest accepted input, in characters.
const MAX_LEN: usize = 4096;
/// Deepest accepted nesting of `(`, `not (` and `[`.
const MAX_DEPTH: usize = 32;
/// Schema URNs whose attributes live at the top level of a SCIM document.
const CORE_SCHEMA_PREFIX: &str = "urn:ietf:params:scim:schemas:core:";
/// The operators listed in "expected an operator" errors.
const OPERATOR_LIST: &str = "eq, ne, co, sw, ew, pr, gt, ge, lt, le";

/// A parsed SCIM filter expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// Both sides match.
    And(Box<Filter>, Box<Filter>),
    /// Either side matches.
    Or(Box<Filter>, Box<Filter>),
    /// The inner filter does not match.
    Not(Box<Filter>),
    /// `path op value`.
    Compare {
        /// The attribute compared.
        path: AttrPath,
        /// The comparison operator (never `pr`, see [`Filter::Present`]).
        op: CompareOp,
        /// The literal compared against.
        value: FilterValue,
    },
    /// `path pr`: the attribute has a non-empty value.
    Present(AttrPath),
    /// `emails[type eq "work"]`: some element of the multi-valued `attr` matches `filter`
    /// (paths inside `filter` are relative to the element). The filter form
    /// `emails[type eq "work"].value eq "x"` is parsed as `emails[type eq "work" and value eq "x"]`.
    ValuePath {
        /// The multi-valued attribute.
        attr: AttrPath,
        /// The filter applied to each element.
        filter: Box<Filter>,
    },
}

/// An attribute path: an optional schema URN and dotted attribute names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AttrPath {
    /// The schema URN prefix, e.g. `urn:ietf:params:scim:schemas:core:2.0:User`, without the final `:`.
    pub uri: Option<String>,
    /// Attribute names from the outside in, e.g. `["target", "id"]`.
    pub segments: Vec<String>,
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    /// Equal (strings case-insensitively).
    Eq,
    /// Not equal (strings case-insensitively); a missing attribute is not equal.
    Ne,
    /// Contains (strings, case-insensitively).
    Co,
    /// Starts with (strings, case-insensitively).
    Sw,
    /// Ends with (strings, case-insensitively).
    Ew,
    /// Greater than.
    Gt,
    /// Greater than or equal.
    Ge,
    /// Less than.
    Lt,
    /// Less than or equal.
    Le,
}

/// A literal on the right of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum FilterValue {
    /// A JSON string.
    String(String),
    /// A JSON number.
    Number(Number),
    /// `true` or `false`.
    Bool(bool),
    /// `null`.
    Null,
}

/// Why a filter was rejected, with the character offset where the problem was found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid filter at position {position}: {message}")]
pub struct FilterError {
    /// 0-based character offset in the input (0 when the problem is not tied to a place).
    pub position: usize,
    /// What is wrong, for a person.
    pub message: String,
}

/// A SCIM PATCH operation path such as `members[value eq "x"]` or `emails[type eq "work"].value`.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    /// The attribute addressed (`name.givenName` keeps both segments here).
    pub attr: AttrPath,
    /// The filter selecting elements of a multi-valued `attr`.
    pub value_filter: Option<Filter>,
    /// The sub-attribute after `]`, as in `emails[type eq "work"].value`.
    pub sub_attr: Option<String>,
}

/// Parses a SCIM filter.
pub fn parse(input: &str) -> Result<Filter, FilterError> {
    let mut parser = Parser::new(input)?;
    let filter = parser.parse_or("at the start")?;
    let tok = parser.next()?;
    if tok.tok != Tok::End {
        return Err(parser.err_at(
            &tok,
            format!(
                "unexpected {} after complete expression",
                parser.describe(&tok)
            ),
        ));
    }
    Ok(filter)
}

/// Parses a SCIM PATCH path: `attrPath`, `attrPath[valFilter]` or `attrPath[valFilter].subAttr`.
pub fn parse_patch_path(input: &str) -> Result<PatchPath, FilterError> {
    let mut parser = Parser::new(input)?;
    let tok = parser.next()?;
    let Tok::Word(word) = &tok.tok else {
        return Err(parser.err_at(
            &tok,
            format!(
                "expected an attribute path, found {}",
                parser.describe(&tok)
            ),
        ));
    };
    let attr = parse_attr_path(word, tok.start)?;
    let mut path = PatchPath {
        attr,
        value_filter: None,
        sub_attr: None,
    };
    if parser.peek()?.tok == Tok::LBracket {
        let open = parser.next()?;
        let (filter, close_end) = parser.bracketed_filter(&open)?;
        path.value_filter = Some(filter);
        path.sub_attr = parser.sub_attribute(close_end)?.map(|(name, _)| name);
    }
    let tok = parser.next()?;
    if tok.tok != Tok::End {
        return Err(parser.err_at(
            &tok,
            format!("unexpected {} after the path", parser.describe(&tok)),
        ));
    }
    Ok(path)
}

/// Evaluates a filter against a JSON document, with the same semantics as the SQL compiler:
/// strings compare case-insensitively (ASCII) for `eq ne co sw ew` and byte-wise for `gt ge lt le`;
/// literals only match JSON values of their own type; an array on the path matches if any element
/// matches, while `pr` and `eq null` look at an array itself; `ne` is `not eq` (so a missing attribute
/// is "not equal"); `eq null` means "no non-null value"; `pr` means not null, `""`, `[]` or `{}`.
pub fn matches(filter: &Filter, doc: &Value) -> bool {
    matches_with(filter, doc, &|_| false)
}

/// [`matches`], with string comparisons exact (case-sensitive) for the attributes `case_exact`
/// names — SCIM's `caseExact` attributes such as `id` and `externalId` (RFC 7643 §2.2).
pub fn matches_with(filter: &Filter, doc: &Value, case_exact: &dyn Fn(&AttrPath) -> bool) -> bool {
    match filter {
        Filter::And(a, b) => matches_with(a, doc, case_exact) && matches_with(b, doc, case_exact),
        Filter::Or(a, b) => matches_with(a, doc, case_exact) || matches_with(b, doc, case_exact),
        Filter::Not(inner) => !matches_with(inner, doc, case_exact),
        Filter::Present(path) => values_at(doc, path).into_iter().any(is_present),
        Filter::Compare { path, op, value } => compare_matches(doc, path, *op, value, case_exact(path)),
        Filter::ValuePath { attr, filter } => values_at(doc, attr).into_iter().any(|v| {
            matches!(v, Value::Array(items) if items.iter().any(|item| matches_with(filter, item, case_exact)))
        }),
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(uri) = &self.uri {
            write!(f, "{uri}:")?;
        }
        f.write_str(&self.segments.join("."))
    }
}

impl fmt::Display for CompareOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
        })
    }
}

impl fmt::Display for FilterValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FilterValue::String(s) => write_json_string(f, s),
            FilterValue::Number(n) => write!(f, "{n}"),
            FilterValue::Bool(b) => write!(f, "{b}"),
            FilterValue::Null => f.write_str("null"),
        }
    }
}

/// Writes the filter back in filter syntax; parsing the output yields an equal filter.
impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Filter::Or(a, b) => {
                write!(f, "{a} or ")?;
                write_operand(f, b, matches!(**b, Filter::Or(..)))
            }
            Filter::And(a, b) => {
                write_operand(f, a, matches!(**a, Filter::Or(..)))?;
                f.write_str(" and ")?;
                write_operand(f, b, matches!(**b, Filter::Or(..) | Filter::And(..)))
            }
            Filter::Not(inner) => write!(f, "not ({inner})"),
            Filter::Compare { path, op, value } => write!(f, "{path} {op} {value}"),
            Filter::Present(path) => write!(f, "{path} pr"),
            Filter::ValuePath { attr, filter } => write!(f, "{attr}[{filter}]"),
        }
    }
}

fn write_operand(f: &mut fmt::Formatter<'_>, operand: &Filter, parens: bool) -> fmt::Result {
    if parens {
        write!(f, "({operand})")
    } else {
        write!(f, "{operand}")
    }
}

fn write_json_string(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_str("\"")?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            c if u32::from(c) < 0x20 => write!(f, "\\u{:04x}", u32::from(c))?,
            c => write!(f, "{c}")?,
        }
    }
    f.write_str("\"")
}

// ---------------------------------------------------------------------------------------------
// Lexer

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LParen,
    RParen,
    LBracket,
    RBracket,
    Dot,
    Word(String),
    Str(String),
    Num(Number),
    End,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    start: usize,
    end: usize,
}

struct Lexer {
    chars: Vec<char>,
    pos: usize,
}

fn err(position: usize, message: impl Into<String>) -> FilterError {
    FilterError {
        position,
        message: message.into(),
    }
}

fn is_word_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == '$'
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '$' | '-' | '.' | ':')
}

impl Lexer {
    fn next_token(&mut self) -> Result<Token, FilterError> {
        while self.chars.get(self.pos).is_some_and(|c| c.is_whitespace()) {
            self.pos += 1;
        }
        let start = self.pos;
        let Some(&c) = self.chars.get(start) else {
            return Ok(Token {
                tok: Tok::End,
                start,
                end: start,
            });
        };
        let tok = match c {
            '(' => self.single(Tok::LParen),
            ')' => self.single(Tok::RParen),
            '[' => self.single(Tok::LBracket),
            ']' => self.single(Tok::RBracket),
            '.' => self.single(Tok::Dot),
            '"' => self.string()?,
            '-' | '0'..='9' => self.number()?,
            c if is_word_start(c) => Tok::Word(self.take_while(is_word_char)),
            c => return Err(err(start, format!("unexpected character {c:?}"))),
        };
        Ok(Token {
            tok,
            start,
            end: self.pos,
        })
    }

    fn single(&mut self, tok: Tok) -> Tok {
        self.pos += 1;
        tok
    }

    fn take_while(&mut self, pred: fn(char) -> bool) -> String {
        let start = self.pos;
        while self.chars.get(self.pos).is_some_and(|&c| pred(c)) {
            self.pos += 1;
        }
        self.chars[start..self.pos].iter().collect()
    }

    fn number(&mut self) -> Result<Tok, FilterError> {
        let start = self.pos;
        self.pos += 1;
        let rest =
            self.take_while(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'));
        let text = format!("{}{rest}", self.chars[start]);
        // serde_json enforces the JSON number grammar (no leading zeros, no bare "-", finite).
        serde_json::from_str::<Number>(&text)
            .map(Tok::Num)
            .map_err(|_| err(start, format!("invalid number {text:?}")))
    }

    fn string(&mut self) -> Result<Tok, FilterError> {
        let start = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            let Some(&c) = self.chars.get(self.pos) else {
                return Err(err(
                    self.chars.len(),
                    format!("unterminated string starting at position {start}"),
                ));
            };
            self.pos += 1;
            match c {
                '"' => return Ok(Tok::Str(out)),
                '\\' => out.push(self.escape()?),
                c => out.push(c),
            }
        }
    }

    /// Decodes the escape after a backslash (already consumed).
    fn escape(&mut self) -> Result<char, FilterError> {
        let at = self.pos - 1;
        let Some(&c) = self.chars.get(self.pos) else {
            return Err(err(at, "unterminated escape sequence in string"));
        };
        self.pos += 1;
        Ok(match c {
            '"' => '"',
            '\\' => '\\',
            '/' => '/',
            'b' => '\u{8}',
            'f' => '\u{c}',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'u' => return self.unicode_escape(at),
            c => {
                return Err(err(
                    at,
                    format!(
                        "invalid escape \"\\{c}\" in string (use \\\" \\\\ \\/ \\b \\f \\n \\r \\t or \\uXXXX)"
                    ),
                ));
            }
        })
    }

    fn unicode_escape(&mut self, at: usize) -> Result<char, FilterError> {
        let first = self.hex4(at)?;
        let code = if (0xD800..0xDC00).contains(&first) {
            let second = if self.chars.get(self.pos) == Some(&'\\')
                && self.chars.get(self.pos + 1) == Some(&'u')
            {
                self.pos += 2;
                self.hex4(at)?
            } else {
                0
            };
            if !(0xDC00..0xE000).contains(&second) {
                return Err(err(at, "unpaired surrogate in \\u escape"));
            }
            0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
        } else {
            first
        };
        char::from_u32(code).ok_or_else(|| err(at, "invalid \\u escape"))
    }

    fn hex4(&mut self, at: usize) -> Result<u32, FilterError> {
        let mut code = 0;
        for _ in 0..4 {
            let digit = self
                .chars
                .get(self.pos)
                .and_then(|c| c.to_digit(16))
                .ok_or_else(|| err(at, "\\u must be followed by four hex digits"))?;
            code = code * 16 + digit;
            self.pos += 1;
        }
        Ok(code)
    }
}

// ---------------------------------------------------------------------------------------------
// Parser

struct Parser {
    lexer: Lexer,
    peeked: Option<Token>,
    depth: usize,
    in_value_filter: bool,
}

fn is_keyword(tok: &Tok, keyword: &str) -> bool {
    matches!(tok, Tok::Word(w) if w.eq_ignore_ascii_case(keyword))
}

/// What may follow an attribute path.
enum Operator {
    Present,
    Compare(CompareOp),
}

fn operator(word: &str) -> Option<Operator> {
    let op = match word.to_ascii_lowercase().as_str() {
        "pr" => return Some(Operator::Present),
        "eq" => CompareOp::Eq,
        "ne" => CompareOp::Ne,
        "co" => CompareOp::Co,
        "sw" => CompareOp::Sw,
        "ew" => CompareOp::Ew,
        "gt" => CompareOp::Gt,
        "ge" => CompareOp::Ge,
        "lt" => CompareOp::Lt,
        "le" => CompareOp::Le,
        _ => return None,
    };
    Some(Operator::Compare(op))
}

fn is_value_token(tok: &Tok) -> bool {
    matches!(tok, Tok::Str(_) | Tok::Num(_))
        || ["true", "false", "null"]
            .iter()
            .any(|kw| is_keyword(tok, kw))
}

impl Parser {
    fn new(input: &str) -> Result<Self, FilterError> {
        let chars: Vec<char> = input.chars().take(MAX_LEN + 1).collect();
        if chars.len() > MAX_LEN {
            return Err(err(
                MAX_LEN,
                format!("filter is longer than {MAX_LEN} characters"),
            ));
        }
        if chars.iter().all(|c| c.is_whitespace()) {
            return Err(err(0, "empty filter"));
        }
        Ok(Parser {
            lexer: Lexer { chars, pos: 0 },
            peeked: None,
            depth: 0,
            in_value_filter: false,
        })
    }

    fn peek(&mut self) -> Result<&Token, FilterError> {
        let tok = match self.peeked.take() {
            Some(tok) => tok,
            None => self.lexer.next_token()?,
        };
        Ok(self.peeked.insert(tok))
    }

    fn next(&mut self) -> Result<Token, FilterError> {
        match self.peeked.take() {
            Some(tok) => Ok(tok),
            None => self.lexer.next_token(),
        }
    }

    fn text(&self, tok: &Token) -> String {
        self.lexer.chars[tok.start..tok.end].iter().collect()
    }

    /// Names a token for an error message, e.g. `"xyz"` or `end of input`.
    fn describe(&self, tok: &Token) -> String {
        if tok.tok == Tok::End {
            return "end of input".to_owned();
        }
        let mut text = self.text(tok);
        if text.chars().count() > 40 {
            text = text.chars().take(37).chain("...".chars()).collect();
        }
        if matches!(tok.tok, Tok::Str(_)) {
            format!("string {text}")
        } else {
            format!("\"{text}\"")
        }
    }

    fn err_at(&self, tok: &Token, message: String) -> FilterError {
        err(tok.start, message)
    }

    fn enter(&mut self, tok: &Token) -> Result<(), FilterError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(err(
                tok.start,
                format!("filter nests deeper than {MAX_DEPTH} levels"),
            ));
        }
        Ok(())
    }

    fn parse_or(&mut self, context: &str) -> Result<Filter, FilterError> {
        let mut left = self.parse_and(context)?;
        while is_keyword(&self.peek()?.tok, "or") {
            self.next()?;
            let right = self.parse_and("after \"or\"")?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn parse_and(&mut self, context: &str) -> Result<Filter, FilterError> {
        let mut left = self.parse_unary(context)?;
        while is_keyword(&self.peek()?.tok, "and") {
            self.next()?;
            let right = self.parse_unary("after \"and\"")?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn parse_unary(&mut self, context: &str) -> Result<Filter, FilterError> {
        let tok = self.next()?;
        match &tok.tok {
            Tok::LParen => self.parenthesized(&tok),
            Tok::Word(w) if w.eq_ignore_ascii_case("not") => self.not_or_attribute(&tok),
            Tok::Word(w) => self.attribute_expression(w, &tok),
            _ => Err(self.err_at(
                &tok,
                format!(
                    "expected an attribute path, \"(\" or \"not (\" {context}, found {}",
                    self.describe(&tok)
                ),
            )),
        }
    }

    fn parenthesized(&mut self, open: &Token) -> Result<Filter, FilterError> {
        self.enter(open)?;
        let inner = self.parse_or("after \"(\"")?;
        self.expect_close(Tok::RParen, ")", open)?;
        self.depth -= 1;
        Ok(inner)
    }

    fn expect_close(
        &mut self,
        want: Tok,
        symbol: &str,
        open: &Token,
    ) -> Result<Token, FilterError> {
        let tok = self.next()?;
        if tok.tok == want {
            return Ok(tok);
        }
        let opener = self.text(open);
        let hint = if matches!(tok.tok, Tok::Word(_)) {
            " (combine expressions with \"and\" or \"or\")"
        } else {
            ""
        };
        Err(self.err_at(
            &tok,
            format!(
                "expected \"{symbol}\" to close the \"{opener}\" at position {}, found {}{hint}",
                open.start,
                self.describe(&tok)
            ),
        ))
    }

    /// `not` is negation when followed by `(`, and an attribute named "not" when followed by an operator.
    fn not_or_attribute(&mut self, word: &Token) -> Result<Filter, FilterError> {
        let next = self.peek()?.clone();
        if next.tok == Tok::LParen {
            self.next()?;
            self.enter(word)?;
            let inner = self.parse_or("after \"not (\"")?;
            self.expect_close(Tok::RParen, ")", &next)?;
            self.depth -= 1;
            return Ok(Filter::Not(Box::new(inner)));
        }
        if matches!(&next.tok, Tok::Word(w) if operator(w).is_some()) {
            return self.attribute_expression(&self.text(word), word);
        }
        Err(self.err_at(
            &next,
            format!(
                "expected \"(\" after \"not\", found {} (write: not (expression))",
                self.describe(&next)
            ),
        ))
    }

    fn attribute_expression(&mut self, word: &str, tok: &Token) -> Result<Filter, FilterError> {
        let path = parse_attr_path(word, tok.start)?;
        if self.in_value_filter && path.uri.is_some() {
            return Err(self.err_at(
                tok,
                "attribute paths inside [...] are relative to the element and cannot have a schema URN".to_owned(),
            ));
        }
        if self.peek()?.tok != Tok::LBracket {
            return self.comparison(path, tok.end);
        }
        let open = self.next()?;
        if self.in_value_filter {
            return Err(self.err_at(&open, "value filters [...] cannot be nested".to_owned()));
        }
        let (filter, close_end) = self.bracketed_filter(&open)?;
        let filter = match self.sub_attribute(close_end)? {
            None => filter,
            Some((sub, sub_end)) => {
                let sub_path = AttrPath {
                    uri: None,
                    segments: vec![sub],
                };
                let condition = self.comparison(sub_path, sub_end)?;
                Filter::And(Box::new(filter), Box::new(condition))
            }
        };
        Ok(Filter::ValuePath {
            attr: path,
            filter: Box::new(filter),
        })
    }

    /// Parses `valFilter "]"` after a consumed `[`; returns the filter and where the `]` ends.
    fn bracketed_filter(&mut self, open: &Token) -> Result<(Filter, usize), FilterError> {
        self.enter(open)?;
        self.in_value_filter = true;
        let inner = self.parse_or("after \"[\"")?;
        let close = self.expect_close(Tok::RBracket, "]", open)?;
        self.in_value_filter = false;
        self.depth -= 1;
        Ok((inner, close.end))
    }

    /// Parses an optional `.subAttr` written right after the `]` that ends at `close_end`;
    /// returns the name and where it ends.
    fn sub_attribute(&mut self, close_end: usize) -> Result<Option<(String, usize)>, FilterError> {
        let dot = self.peek()?.clone();
        if dot.tok != Tok::Dot {
            return Ok(None);
        }
        self.next()?;
        if dot.start != close_end {
            return Err(self.err_at(
                &dot,
                "no space is allowed between \"]\" and \".\"".to_owned(),
            ));
        }
        let tok = self.next()?;
        let name = match &tok.tok {
            Tok::Word(w) if tok.start == dot.end && is_attr_name(w) => (w.clone(), tok.end),
            _ => {
                return Err(self.err_at(
                    &tok,
                    format!(
                        "expected a sub-attribute name right after \"].\", found {}",
                        self.describe(&tok)
                    ),
                ));
            }
        };
        Ok(Some(name))
    }

    /// Parses `op value` or `pr` after an attribute path ending at `path_end`.
    fn comparison(&mut self, path: AttrPath, path_end: usize) -> Result<Filter, FilterError> {
        let tok = self.next()?;
        let op = match &tok.tok {
            Tok::Word(w) => operator(w),
            _ => None,
        };
        let Some(op) = op else {
            let position = if tok.tok == Tok::End {
                path_end
            } else {
                tok.start
            };
            return Err(err(
                position,
                format!(
                    "expected a comparison operator ({OPERATOR_LIST}) after \"{path}\", found {}",
                    self.describe(&tok)
                ),
            ));
        };
        let Operator::Compare(op) = op else {
            let next = self.peek()?.clone();
            if is_value_token(&next.tok) {
                return Err(self.err_at(&next, "\"pr\" takes no value".to_owned()));
            }
            return Ok(Filter::Present(path));
        };
        let value = self.value(op)?;
        Ok(Filter::Compare { path, op, value })
    }

    fn value(&mut self, op: CompareOp) -> Result<FilterValue, FilterError> {
        let tok = self.next()?;
        let value = match &tok.tok {
            Tok::Str(s) => FilterValue::String(s.clone()),
            Tok::Num(n) => FilterValue::Number(n.clone()),
            t if is_keyword(t, "true") => FilterValue::Bool(true),
            t if is_keyword(t, "false") => FilterValue::Bool(false),
            t if is_keyword(t, "null") => FilterValue::Null,
            _ => {
                return Err(self.err_at(
                    &tok,
                    format!(
                        "expected a value (a \"string\", a number, true, false or null) after \"{op}\", found {}",
                        self.describe(&tok)
                    ),
                ));
            }
        };
        check_operand(op, &value).map_err(|message| self.err_at(&tok, message))?;
        Ok(value)
    }
}

fn check_operand(op: CompareOp, value: &FilterValue) -> Result<(), String> {
    match (op, value) {
        (CompareOp::Co | CompareOp::Sw | CompareOp::Ew, FilterValue::String(_)) => Ok(()),
        (CompareOp::Co | CompareOp::Sw | CompareOp::Ew, other) => {
            Err(format!("\"{op}\" needs a \"string\" value, found {other}"))
        }
        (
            CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le,
            FilterValue::Bool(_) | FilterValue::Null,
        ) => Err(format!(
            "\"{op}\" needs a \"string\" or number value, found {value}"
        )),
        _ => Ok(()),
    }
}

/// `ATTRNAME` of RFC 7644 (plus a leading `_`), or `$ref`-style names.
fn is_attr_name(name: &str) -> bool {
    let body = name.strip_prefix('$').unwrap_or(name);
    let mut chars = body.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Splits a word token (ASCII only, so byte and char offsets agree) into an [`AttrPath`].
fn parse_attr_path(word: &str, start: usize) -> Result<AttrPath, FilterError> {
    let (uri, names, names_start) = if word.len() > 4 && word[..4].eq_ignore_ascii_case("urn:") {
        let colon = word.rfind(':').unwrap_or(3);
        let uri = &word[..colon];
        if colon <= 4 || uri.contains('$') {
            return Err(err(start, format!("invalid schema URN in \"{word}\"")));
        }
        (Some(uri.to_owned()), &word[colon + 1..], start + colon + 1)
    } else if word.contains(':') {
        return Err(err(
            start,
            format!("invalid attribute path \"{word}\" (a schema prefix must start with \"urn:\")"),
        ));
    } else {
        (None, word, start)
    };
    let mut segments = Vec::new();
    let mut offset = names_start;
    for name in names.split('.') {
        if !is_attr_name(name) {
            let problem = if name.is_empty() {
                "an attribute name is missing".to_owned()
            } else {
                format!("invalid attribute name \"{name}\"")
            };
            return Err(err(offset, format!("{problem} in \"{word}\"")));
        }
        segments.push(name.to_owned());
        offset += name.len() + 1;
    }
    Ok(AttrPath { uri, segments })
}

// ---------------------------------------------------------------------------------------------
// In-memory evaluation

/// The object keys an attribute path addresses in a SCIM JSON document: attributes of core schemas
/// sit at the top level, extension attributes under their schema URN.
fn json_keys(path: &AttrPath) -> Vec<&str> {
    let mut keys = Vec::with_capacity(path.segments.len() + 1);
    if let Some(uri) = &path.uri {
        let is_core = uri.len() >= CORE_SCHEMA_PREFIX.len()
            && uri[..CORE_SCHEMA_PREFIX.len()].eq_ignore_ascii_case(CORE_SCHEMA_PREFIX);
        if !is_core {
            keys.push(uri.as_str());
        }
    }
    keys.extend(path.segments.iter().map(String::as_str));
    keys
}

/// The values at `path`, fanning out over arrays met on the way (the last value is not fanned out).
fn values_at<'v>(doc: &'v Value, path: &AttrPath) -> Vec<&'v Value> {
    let mut current = vec![doc];
    for key in json_keys(path) {
        let mut next = Vec::new();
        for value in current {
            match value {
                Value::Object(map) => next.extend(map.get(key)),
                Value::Array(items) => next.extend(
                    items
                        .iter()
                        .filter_map(|item| item.as_object().and_then(|map| map.get(key))),
                ),
                _ => {}
            }
        }
        current = next;
    }
    current
}

/// `pr`: not null, not an empty string, array or object.
fn is_present(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(items) => !items.is_empty(),
        Value::Object(map) => !map.is_empty(),
        Value::Bool(_) | Value::Number(_) => true,
    }
}

fn compare_matches(
    doc: &Value,
    path: &AttrPath,
    op: CompareOp,
    literal: &FilterValue,
    exact: bool,
) -> bool {
    match (op, literal) {
        (CompareOp::Ne, _) => !compare_matches(doc, path, CompareOp::Eq, literal, exact),
        (CompareOp::Eq, FilterValue::Null) => values_at(doc, path).iter().all(|v| v.is_null()),
        _ => values_at(doc, path).into_iter().any(|value| match value {
            Value::Array(items) => items
                .iter()
                .any(|item| compare_value(item, op, literal, exact)),
            other => compare_value(other, op, literal, exact),
        }),
    }
}

fn compare_value(value: &Value, op: CompareOp, literal: &FilterValue, exact: bool) -> bool {
    match (value, literal) {
        (Value::String(s), FilterValue::String(lit)) if exact => compare_str_exact(s, op, lit),
        (Value::String(s), FilterValue::String(lit)) => compare_str(s, op, lit),
        (Value::Number(n), FilterValue::Number(lit)) => order_holds(op, compare_numbers(n, lit)),
        (Value::Bool(b), FilterValue::Bool(lit)) => op == CompareOp::Eq && b == lit,
        _ => false,
    }
}

fn compare_str_exact(value: &str, op: CompareOp, literal: &str) -> bool {
    match op {
        CompareOp::Eq => value == literal,
        CompareOp::Ne => value != literal,
        CompareOp::Co => value.contains(literal),
        CompareOp::Sw => value.starts_with(literal),
        CompareOp::Ew => value.ends_with(literal),
        CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le => {
            order_holds(op, Some(value.cmp(literal)))
        }
    }
}

fn compare_str(value: &str, op: CompareOp, literal: &str) -> bool {
    let lower = || (value.to_ascii_lowercase(), literal.to_ascii_lowercase());
    match op {
        CompareOp::Eq => value.eq_ignore_ascii_case(literal),
        CompareOp::Ne => !value.eq_ignore_ascii_case(literal),
        CompareOp::Co => {
            let (v, l) = lower();
            v.contains(&l)
        }
        CompareOp::Sw => {
            let (v, l) = lower();
            v.starts_with(&l)
        }
        CompareOp::Ew => {
            let (v, l) = lower();
            v.ends_with(&l)
        }
        CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le => {
            order_holds(op, Some(value.cmp(literal)))
        }
    }
}

fn compare_numbers(a: &Number, b: &Number) -> Option<std::cmp::Ordering> {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        return Some(x.cmp(&y));
    }
    if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
        return Some(x.cmp(&y));
    }
    a.as_f64()?.partial_cmp(&b.as_f64()?)
}

fn order_holds(op: CompareOp, ordering: Option<std::cmp::Ordering>) -> bool {
    use std::cmp::Ordering::{Equal, Greater, Less};
    let Some(ordering) = ordering else {
        return false;
    };
    match op {
        CompareOp::Eq => ordering == Equal,
        CompareOp::Ne => ordering != Equal,
        CompareOp::Gt => ordering == Greater,
        CompareOp::Ge => ordering != Less,
        CompareOp::Lt => ordering == Less,
        CompareOp::Le => ordering != Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
        let f = parse(r#"urn:ietf:params:scim:schemas:core:2.0:User:name.givenName eq "Barbara""#)
            .unwrap();
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
}
