//! The filter parser: precedence `not` > `and` > `or`, value paths, and PATCH paths.

use super::lexer::{Lexer, Tok, Token, err};
use super::{
    AttrPath, CompareOp, Filter, FilterError, FilterValue, MAX_DEPTH, MAX_LEN, OPERATOR_LIST,
    PatchPath,
};

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
