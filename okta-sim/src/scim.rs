//! The SCIM filter subset Okta accepts in `filter` and `search` (eq, ne, sw, co, gt, ge, lt, le, pr, and, or,
//! not, parentheses; https://developer.okta.com/docs/api/#filter).

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    Present(String),
    Compare(String, Op, String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Sw,
    Co,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(pub String);

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open,
    Close,
    Word(String),
    Str(String),
}

fn tokenize(input: &str) -> Result<Vec<Token>, ParseError> {
    let mut tokens = Vec::new();
    let mut chars = input.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            ' ' | '\t' => {
                chars.next();
            }
            '(' => {
                chars.next();
                tokens.push(Token::Open);
            }
            ')' => {
                chars.next();
                tokens.push(Token::Close);
            }
            '"' => {
                chars.next();
                let mut s = String::new();
                loop {
                    match chars.next() {
                        Some('\\') => s.extend(chars.next()),
                        Some('"') => break,
                        Some(c) => s.push(c),
                        None => return Err(ParseError("unterminated string".into())),
                    }
                }
                tokens.push(Token::Str(s));
            }
            _ => {
                let mut w = String::new();
                while let Some(&c) = chars.peek() {
                    if c == ' ' || c == '(' || c == ')' || c == '"' {
                        break;
                    }
                    w.push(c);
                    chars.next();
                }
                tokens.push(Token::Word(w));
            }
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek_word(&self, word: &str) -> bool {
        matches!(self.tokens.get(self.pos), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word))
    }
    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }
    fn or(&mut self) -> Result<Filter, ParseError> {
        let mut left = self.and()?;
        while self.peek_word("or") {
            self.pos += 1;
            left = Filter::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }
    fn and(&mut self) -> Result<Filter, ParseError> {
        let mut left = self.unary()?;
        while self.peek_word("and") {
            self.pos += 1;
            left = Filter::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }
    fn unary(&mut self) -> Result<Filter, ParseError> {
        if self.peek_word("not") {
            self.pos += 1;
            return Ok(Filter::Not(Box::new(self.unary()?)));
        }
        match self.next() {
            Some(Token::Open) => {
                let inner = self.or()?;
                match self.next() {
                    Some(Token::Close) => Ok(inner),
                    _ => Err(ParseError("missing ')'".into())),
                }
            }
            Some(Token::Word(attr)) => {
                let op = match self.next() {
                    Some(Token::Word(op)) => op.to_ascii_lowercase(),
                    _ => return Err(ParseError(format!("missing operator after {attr}"))),
                };
                let op = match op.as_str() {
                    "pr" => return Ok(Filter::Present(attr)),
                    "eq" => Op::Eq,
                    "ne" => Op::Ne,
                    "sw" => Op::Sw,
                    "co" => Op::Co,
                    "gt" => Op::Gt,
                    "ge" => Op::Ge,
                    "lt" => Op::Lt,
                    "le" => Op::Le,
                    other => return Err(ParseError(format!("unknown operator {other}"))),
                };
                let value = match self.next() {
                    Some(Token::Str(s)) => s,
                    Some(Token::Word(w)) if w == "true" || w == "false" || w == "null" || w.parse::<f64>().is_ok() => w,
                    _ => return Err(ParseError(format!("missing value after {attr}"))),
                };
                Ok(Filter::Compare(attr, op, value))
            }
            _ => Err(ParseError("expected an attribute or '('".into())),
        }
    }
}

impl Filter {
    pub fn parse(input: &str) -> Result<Filter, ParseError> {
        let mut parser = Parser { tokens: tokenize(input)?, pos: 0 };
        let filter = parser.or()?;
        if parser.pos != parser.tokens.len() {
            return Err(ParseError("unexpected trailing input".into()));
        }
        Ok(filter)
    }

    /// Every attribute the filter names.
    pub fn attributes(&self) -> Vec<&str> {
        match self {
            Filter::And(a, b) | Filter::Or(a, b) => {
                let mut v = a.attributes();
                v.extend(b.attributes());
                v
            }
            Filter::Not(a) => a.attributes(),
            Filter::Present(attr) | Filter::Compare(attr, _, _) => vec![attr.as_str()],
        }
    }

    /// Evaluates against an object whose attributes may hold several values (e.g. target.id): a comparison
    /// holds when any value satisfies it.
    pub fn matches(&self, values: &dyn Fn(&str) -> Vec<String>) -> bool {
        match self {
            Filter::And(a, b) => a.matches(values) && b.matches(values),
            Filter::Or(a, b) => a.matches(values) || b.matches(values),
            Filter::Not(a) => !a.matches(values),
            Filter::Present(attr) => !values(attr).is_empty(),
            Filter::Compare(attr, Op::Ne, v) => !values(attr).iter().any(|x| x.eq_ignore_ascii_case(v)),
            Filter::Compare(attr, op, v) => values(attr).iter().any(|x| compare(x, *op, v)),
        }
    }
}

fn compare(x: &str, op: Op, v: &str) -> bool {
    match op {
        Op::Eq => x.eq_ignore_ascii_case(v),
        Op::Ne => !x.eq_ignore_ascii_case(v),
        Op::Sw => x.to_ascii_lowercase().starts_with(&v.to_ascii_lowercase()),
        Op::Co => x.to_ascii_lowercase().contains(&v.to_ascii_lowercase()),
        Op::Gt => x > v,
        Op::Ge => x >= v,
        Op::Lt => x < v,
        Op::Le => x <= v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(attr: &str) -> Vec<String> {
        match attr {
            "eventType" => vec!["user.authentication.sso".into()],
            "outcome.result" => vec!["SUCCESS".into()],
            "target.type" => vec!["AppInstance".into(), "AppUser".into()],
            _ => vec![],
        }
    }

    #[test]
    fn parses_and_evaluates() {
        let f = Filter::parse(r#"eventType eq "user.authentication.sso" and (outcome.result eq "SUCCESS" or outcome.result eq "FAILURE")"#).unwrap();
        assert!(f.matches(&event));
        assert!(Filter::parse(r#"target.type eq "AppUser""#).unwrap().matches(&event));
        assert!(!Filter::parse(r#"target.type ne "AppUser""#).unwrap().matches(&event));
        assert!(Filter::parse(r#"eventType sw "user.auth""#).unwrap().matches(&event));
        assert!(Filter::parse(r#"eventType co "SSO""#).unwrap().matches(&event));
        assert!(!Filter::parse(r#"not (eventType co "sso")"#).unwrap().matches(&event));
        assert_eq!(Filter::parse(r#"a eq "1" or b eq "2""#).unwrap().attributes(), vec!["a", "b"]);
    }

    #[test]
    fn rejects_malformed_filters() {
        for bad in
            [r#"eventType eq"#, r#"eventType xx "a""#, r#"(eventType eq "a""#, r#"eventType eq "a" junk"#, r#"eq "a""#]
        {
            assert!(Filter::parse(bad).is_err(), "{bad}");
        }
    }
}
