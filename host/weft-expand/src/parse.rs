//! Parsing a string into literal text and macros.

/// A malformed macro: where (byte offset in the string) and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("macro syntax error at position {position}: {message}")]
pub struct SyntaxError {
    pub position: usize,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Segment {
    Text(String),
    Macro(Expr),
}

/// Whose hostname or address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// The nodes carrying a service, optionally one of them.
    Service { name: String, index: Option<usize> },
    /// The node the task runs on.
    Own,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Expr {
    Host(Target),
    /// An address of the given type (`bind_v4` unless named).
    Ip {
        kind: String,
        target: Target,
    },
    Num(String),
    Instance(String),
    Owner,
    Join(Box<Expr>, String),
    Map(Box<Expr>, String),
}

/// Checks a string's macro syntax without expanding it.
pub fn check(text: &str) -> Result<(), SyntaxError> {
    parse(text).map(|_| ())
}

pub(crate) fn parse(text: &str) -> Result<Vec<Segment>, SyntaxError> {
    let mut segments = Vec::new();
    let mut literal = String::new();
    let mut rest = text;
    let mut offset = 0;
    while let Some(start) = rest.find('%') {
        literal.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        if let Some(stripped) = after.strip_prefix('%') {
            literal.push('%');
            offset += start + 2;
            rest = stripped;
            continue;
        }
        let Some(end) = after.find('%') else {
            return Err(SyntaxError {
                position: offset + start,
                message: "a macro opened with '%' is not closed".into(),
            });
        };
        if !literal.is_empty() {
            segments.push(Segment::Text(std::mem::take(&mut literal)));
        }
        let body_at = offset + start + 1;
        let mut parser = Parser {
            text: &after[..end],
            at: 0,
            base: body_at,
        };
        let expr = parser.expr()?;
        parser.skip_spaces();
        if parser.at != parser.text.len() {
            return Err(parser.error("unexpected text after the macro"));
        }
        segments.push(Segment::Macro(expr));
        offset += start + 1 + end + 1;
        rest = &after[end + 1..];
    }
    literal.push_str(rest);
    if !literal.is_empty() {
        segments.push(Segment::Text(literal));
    }
    Ok(segments)
}

struct Parser<'a> {
    text: &'a str,
    at: usize,
    /// Offset of `text` in the whole string, for error positions.
    base: usize,
}

impl Parser<'_> {
    fn error(&self, message: &str) -> SyntaxError {
        SyntaxError {
            position: self.base + self.at,
            message: message.into(),
        }
    }

    fn rest(&self) -> &str {
        &self.text[self.at..]
    }

    fn skip_spaces(&mut self) {
        while self.rest().starts_with(' ') {
            self.at += 1;
        }
    }

    fn eat(&mut self, token: &str) -> bool {
        if self.rest().starts_with(token) {
            self.at += token.len();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, token: &str) -> Result<(), SyntaxError> {
        self.skip_spaces();
        if self.eat(token) {
            Ok(())
        } else {
            Err(self.error(&format!("expected '{token}'")))
        }
    }

    fn expr(&mut self) -> Result<Expr, SyntaxError> {
        self.skip_spaces();
        for (function, is_join) in [("join(", true), ("map(", false)] {
            if self.eat(function) {
                let inner = self.expr()?;
                self.skip_spaces();
                let literal = if is_join && self.rest().starts_with(')') {
                    ",".to_string()
                } else {
                    self.expect(",")?;
                    self.literal()?
                };
                self.expect(")")?;
                return Ok(if is_join {
                    Expr::Join(Box::new(inner), literal)
                } else {
                    Expr::Map(Box::new(inner), literal)
                });
            }
        }
        let start = self.at;
        if self.eat("cluster.owner") {
            return Ok(Expr::Owner);
        }
        if self.eat("num.service.") {
            return Ok(Expr::Num(self.name()?));
        }
        if self.eat("instance.self.service.") {
            return Ok(Expr::Instance(self.name()?));
        }
        if self.eat("host.") {
            return Ok(Expr::Host(self.target()?));
        }
        if self.eat("ip.") {
            let kind = if self.rest().starts_with("service.") || self.rest().starts_with("self") {
                "bind_v4".to_string()
            } else {
                let kind = self.word();
                if kind.is_empty() || !self.eat(".") {
                    return Err(self.error("expected an address type such as access_v4, then '.'"));
                }
                kind
            };
            return Ok(Expr::Ip {
                kind,
                target: self.target()?,
            });
        }
        self.at = start;
        Err(self.error("unknown macro: expected host., ip., num.service., instance.self.service., cluster.owner, join( or map("))
    }

    fn target(&mut self) -> Result<Target, SyntaxError> {
        if self.eat("service.") {
            let name = self.name()?;
            let index = if self.eat("[") {
                let digits = self.rest().chars().take_while(char::is_ascii_digit).count();
                let index = self.rest()[..digits]
                    .parse()
                    .map_err(|_| self.error("expected a number in '[...]'"))?;
                self.at += digits;
                if !self.eat("]") {
                    return Err(self.error("expected ']'"));
                }
                Some(index)
            } else {
                None
            };
            Ok(Target::Service { name, index })
        } else if self.eat("self") {
            Ok(Target::Own)
        } else {
            Err(self.error("expected 'service.NAME' or 'self'"))
        }
    }

    /// A service name: `[\w.-]+`.
    fn name(&mut self) -> Result<String, SyntaxError> {
        let length = self
            .rest()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
            .count();
        if length == 0 {
            return Err(self.error("expected a service name"));
        }
        let name = self.rest()[..length].to_string();
        self.at += length;
        Ok(name)
    }

    fn word(&mut self) -> String {
        let length = self
            .rest()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .count();
        let word = self.rest()[..length].to_string();
        self.at += length;
        word
    }

    /// A quoted literal: '...' or "...".
    fn literal(&mut self) -> Result<String, SyntaxError> {
        self.skip_spaces();
        let quote = match self.rest().chars().next() {
            Some(q @ ('\'' | '"')) => q,
            _ => return Err(self.error("expected a quoted literal")),
        };
        self.at += 1;
        let Some(length) = self.rest().find(quote) else {
            return Err(self.error("the quoted literal is not closed"));
        };
        let literal = self.rest()[..length].to_string();
        self.at += length + 1;
        Ok(literal)
    }
}
