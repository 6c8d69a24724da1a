//! The filter lexer: words, strings, numbers and brackets, with character offsets.

use serde_json::Number;

use super::FilterError;

/// A token kind.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
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
pub(super) struct Token {
    pub(super) tok: Tok,
    pub(super) start: usize,
    pub(super) end: usize,
}

pub(super) struct Lexer {
    pub(super) chars: Vec<char>,
    pub(super) pos: usize,
}

pub(super) fn err(position: usize, message: impl Into<String>) -> FilterError {
    FilterError {
        position,
        message: message.into(),
    }
}

pub(super) fn is_word_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == '$'
}

pub(super) fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '$' | '-' | '.' | ':')
}

impl Lexer {
    pub(super) fn next_token(&mut self) -> Result<Token, FilterError> {
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

    pub(super) fn single(&mut self, tok: Tok) -> Tok {
        self.pos += 1;
        tok
    }

    pub(super) fn take_while(&mut self, pred: fn(char) -> bool) -> String {
        let start = self.pos;
        while self.chars.get(self.pos).is_some_and(|&c| pred(c)) {
            self.pos += 1;
        }
        self.chars[start..self.pos].iter().collect()
    }

    pub(super) fn number(&mut self) -> Result<Tok, FilterError> {
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

    pub(super) fn string(&mut self) -> Result<Tok, FilterError> {
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
    pub(super) fn escape(&mut self) -> Result<char, FilterError> {
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

    pub(super) fn unicode_escape(&mut self, at: usize) -> Result<char, FilterError> {
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

    pub(super) fn hex4(&mut self, at: usize) -> Result<u32, FilterError> {
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
