//! The rule-file parser: blocks of `rule` headers and indented fields, patterns in
//! s-expressions, and expressions (see the module documentation of [`super`] for the format).

use super::expr::{BinOp, Expr, Func, UnOp};
use super::{AttrSpec, Pat, RuleClass, RuleError};
use crate::graph::Op;
use crate::optimize::language::op_name;

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LParen,
    RParen,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    Comma,
    Semi,
    Assign,
    Dot,
    Sym(&'static str),
    Var(String),
    Ident(String),
    Num(f64),
    Str(String),
    Placeholder(String),
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    line: usize,
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::LParen => "'('".into(),
        Tok::RParen => "')'".into(),
        Tok::LBracket => "'['".into(),
        Tok::RBracket => "']'".into(),
        Tok::LBrace => "'{'".into(),
        Tok::RBrace => "'}'".into(),
        Tok::Comma => "','".into(),
        Tok::Semi => "';'".into(),
        Tok::Assign => "'='".into(),
        Tok::Dot => "'.'".into(),
        Tok::Sym(s) => format!("'{s}'"),
        Tok::Var(v) => format!("'?{v}'"),
        Tok::Ident(i) => format!("'{i}'"),
        Tok::Num(n) => format!("'{n}'"),
        Tok::Str(s) => format!("'{s}'"),
        Tok::Placeholder(p) => format!("'%{p}'"),
    }
}

fn tokenize(
    text: &str,
    line: usize,
    err: &dyn Fn(usize, String) -> RuleError,
) -> Result<Vec<Token>, RuleError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let word = |start: usize| -> (String, usize) {
        let mut j = start;
        while j < chars.len() && (chars[j].is_ascii_alphanumeric() || chars[j] == '_') {
            j += 1;
        }
        (chars[start..j].iter().collect(), j)
    };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let (tok, len) = match c {
            ' ' | '\t' | '\r' => {
                i += 1;
                continue;
            }
            '(' => (Tok::LParen, 1),
            ')' => (Tok::RParen, 1),
            '[' => (Tok::LBracket, 1),
            ']' => (Tok::RBracket, 1),
            '{' => (Tok::LBrace, 1),
            '}' => (Tok::RBrace, 1),
            ',' => (Tok::Comma, 1),
            ';' => (Tok::Semi, 1),
            '.' if !next.is_some_and(|n| n.is_ascii_digit()) => (Tok::Dot, 1),
            '=' if next == Some('=') => (Tok::Sym("=="), 2),
            '=' if next == Some('>') => {
                return Err(err(
                    line,
                    "'=>' is not rule syntax: write the two sides as 'lhs' and 'rhs' lines".into(),
                ))
            }
            '=' => (Tok::Assign, 1),
            '!' if next == Some('=') => (Tok::Sym("!="), 2),
            '<' if next == Some('=') => (Tok::Sym("<="), 2),
            '>' if next == Some('=') => (Tok::Sym(">="), 2),
            '<' => (Tok::Sym("<"), 1),
            '>' => (Tok::Sym(">"), 1),
            '+' => (Tok::Sym("+"), 1),
            '-' => (Tok::Sym("-"), 1),
            '*' => (Tok::Sym("*"), 1),
            '/' => (Tok::Sym("/"), 1),
            '?' | '%' => {
                let (w, j) = word(i + 1);
                if w.is_empty() {
                    return Err(err(line, format!("'{c}' must be followed by a name")));
                }
                let tok = if c == '?' {
                    Tok::Var(w)
                } else {
                    Tok::Placeholder(w)
                };
                out.push(Token { tok, line });
                i = j;
                continue;
            }
            '\'' => {
                let end = chars[i + 1..]
                    .iter()
                    .position(|&d| d == '\'')
                    .ok_or_else(|| err(line, "unterminated string".into()))?;
                let s: String = chars[i + 1..i + 1 + end].iter().collect();
                (Tok::Str(s), end + 2)
            }
            c if c.is_ascii_digit() || c == '.' => {
                let mut j = i;
                while j < chars.len()
                    && (chars[j].is_ascii_digit()
                        || chars[j] == '.'
                        || chars[j] == 'e'
                        || chars[j] == 'E'
                        || ((chars[j] == '-' || chars[j] == '+')
                            && matches!(chars[j - 1], 'e' | 'E')))
                {
                    j += 1;
                }
                let s: String = chars[i..j].iter().collect();
                let v: f64 = s
                    .parse()
                    .map_err(|_| err(line, format!("'{s}' is not a number")))?;
                out.push(Token {
                    tok: Tok::Num(v),
                    line,
                });
                i = j;
                continue;
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let (w, j) = word(i);
                out.push(Token {
                    tok: Tok::Ident(w),
                    line,
                });
                i = j;
                continue;
            }
            other => return Err(err(line, format!("unexpected character '{other}'"))),
        };
        out.push(Token { tok, line });
        i += len;
    }
    Ok(out)
}

/// A cursor over the tokens of one field.
struct Cursor<'a> {
    toks: Vec<Token>,
    pos: usize,
    /// Line of the field keyword (for errors at the end of the field).
    line: usize,
    file: &'a str,
    /// Whether bare names are graph sources (terms) rather than errors (rules).
    sources: bool,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|t| &t.tok)
    }
    fn peek2(&self) -> Option<&Tok> {
        self.toks.get(self.pos + 1).map(|t| &t.tok)
    }
    fn line(&self) -> usize {
        self.toks
            .get(self.pos)
            .or_else(|| self.toks.last())
            .map(|t| t.line)
            .unwrap_or(self.line)
    }
    fn err(&self, reason: String) -> RuleError {
        RuleError {
            file: self.file.to_string(),
            line: self.line(),
            reason,
        }
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).map(|t| t.tok.clone());
        self.pos += 1;
        t
    }
    fn eat(&mut self, t: &Tok) -> bool {
        if self.peek() == Some(t) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn expect(&mut self, t: &Tok, what: &str) -> Result<(), RuleError> {
        match self.peek() {
            Some(x) if x == t => {
                self.pos += 1;
                Ok(())
            }
            Some(x) => Err(self.err(format!("expected {what}, found {}", describe(x)))),
            None => Err(self.err(format!("expected {what}, found the end of the line"))),
        }
    }
    fn done(&self) -> Result<(), RuleError> {
        match self.peek() {
            None => Ok(()),
            Some(t) => Err(self.err(format!("unexpected {} after the end", describe(t)))),
        }
    }

    /// `(op[attrs] args...)`, `?var`, a number, `{expr}`, or (terms) a source name.
    fn pattern(&mut self) -> Result<Pat, RuleError> {
        match self.next() {
            Some(Tok::Var(v)) => Ok(Pat::Var(v)),
            Some(Tok::Num(n)) => Ok(Pat::Scalar(n)),
            Some(Tok::Sym("-")) => match self.next() {
                Some(Tok::Num(n)) => Ok(Pat::Scalar(-n)),
                _ => Err(self.err("'-' in a pattern must precede a number".into())),
            },
            Some(Tok::LBrace) => {
                let e = self.expr()?;
                self.expect(&Tok::RBrace, "'}'")?;
                Ok(Pat::Computed(e))
            }
            Some(Tok::Ident(name)) if self.sources => Ok(Pat::Source(name)),
            Some(Tok::Ident(name)) => Err(self.err(format!(
                "'{name}' is neither a variable (write ?{name}) nor an application (write ({name} ...))"
            ))),
            Some(Tok::LParen) => {
                let line = self.line();
                let name = match self.next() {
                    Some(Tok::Ident(n)) => n,
                    Some(t) => {
                        return Err(self.err(format!("expected an op name, found {}", describe(&t))))
                    }
                    None => return Err(self.err("expected an op name".into())),
                };
                let op = op_name(&name).ok_or_else(|| {
                    self.err(format!("unknown op '{name}' (ops: {})", Op::NAMES.join(", ")))
                })?;
                let attrs = if self.eat(&Tok::LBracket) {
                    self.attrs()?
                } else {
                    AttrSpec::Any
                };
                let mut args = Vec::new();
                while !self.eat(&Tok::RParen) {
                    if self.peek().is_none() {
                        return Err(self.err(format!("unclosed '(' of '{name}'")));
                    }
                    args.push(self.pattern()?);
                }
                Ok(Pat::Apply {
                    op,
                    attrs,
                    args,
                    line,
                })
            }
            Some(t) => Err(self.err(format!("expected a pattern, found {}", describe(&t)))),
            None => Err(self.err("expected a pattern".into())),
        }
    }

    /// After `[`: `?p`, `?p, k=e, ...` or `k=e, ...`, up to `]`.
    fn attrs(&mut self) -> Result<AttrSpec, RuleError> {
        let mut base = None;
        let mut fields = Vec::new();
        if let Some(Tok::Var(v)) = self.peek() {
            if self.peek2() != Some(&Tok::Dot) {
                base = Some(v.clone());
                self.pos += 1;
                if !self.eat(&Tok::Comma) {
                    self.expect(&Tok::RBracket, "']' or ','")?;
                    return Ok(AttrSpec::Bind(base.expect("set")));
                }
            }
        }
        loop {
            if self.eat(&Tok::RBracket) {
                break;
            }
            let key = match self.next() {
                Some(Tok::Ident(k)) => k,
                _ => return Err(self.err("expected an attribute name (key=value)".into())),
            };
            self.expect(&Tok::Assign, "'=' after the attribute name")?;
            let value = self.expr()?;
            if fields.iter().any(|(k, _)| *k == key) {
                return Err(self.err(format!("attribute '{key}' is given twice")));
            }
            fields.push((key, value));
            if !self.eat(&Tok::Comma) {
                self.expect(&Tok::RBracket, "']' or ','")?;
                break;
            }
        }
        Ok(AttrSpec::Build { base, fields })
    }

    fn expr(&mut self) -> Result<Expr, RuleError> {
        let mut e = self.and_expr()?;
        while matches!(self.peek(), Some(Tok::Ident(w)) if w == "or") {
            self.pos += 1;
            e = Expr::Binary(BinOp::Or, Box::new(e), Box::new(self.and_expr()?));
        }
        Ok(e)
    }
    fn and_expr(&mut self) -> Result<Expr, RuleError> {
        let mut e = self.not_expr()?;
        while matches!(self.peek(), Some(Tok::Ident(w)) if w == "and") {
            self.pos += 1;
            e = Expr::Binary(BinOp::And, Box::new(e), Box::new(self.not_expr()?));
        }
        Ok(e)
    }
    fn not_expr(&mut self) -> Result<Expr, RuleError> {
        if matches!(self.peek(), Some(Tok::Ident(w)) if w == "not") {
            self.pos += 1;
            return Ok(Expr::Unary(UnOp::Not, Box::new(self.not_expr()?)));
        }
        self.cmp_expr()
    }
    fn cmp_expr(&mut self) -> Result<Expr, RuleError> {
        let a = self.sum()?;
        let op = match self.peek() {
            Some(Tok::Sym("==")) => BinOp::Eq,
            Some(Tok::Sym("!=")) => BinOp::Ne,
            Some(Tok::Sym("<")) => BinOp::Lt,
            Some(Tok::Sym("<=")) => BinOp::Le,
            Some(Tok::Sym(">")) => BinOp::Gt,
            Some(Tok::Sym(">=")) => BinOp::Ge,
            Some(Tok::Assign) => return Err(self.err("'=' compares nothing: write '=='".into())),
            _ => return Ok(a),
        };
        self.pos += 1;
        Ok(Expr::Binary(op, Box::new(a), Box::new(self.sum()?)))
    }
    fn sum(&mut self) -> Result<Expr, RuleError> {
        let mut e = self.product()?;
        loop {
            let op = match self.peek() {
                Some(Tok::Sym("+")) => BinOp::Add,
                Some(Tok::Sym("-")) => BinOp::Sub,
                _ => return Ok(e),
            };
            self.pos += 1;
            e = Expr::Binary(op, Box::new(e), Box::new(self.product()?));
        }
    }
    fn product(&mut self) -> Result<Expr, RuleError> {
        let mut e = self.unary()?;
        loop {
            let op = match self.peek() {
                Some(Tok::Sym("*")) => BinOp::Mul,
                Some(Tok::Sym("/")) => BinOp::Div,
                _ => return Ok(e),
            };
            self.pos += 1;
            e = Expr::Binary(op, Box::new(e), Box::new(self.unary()?));
        }
    }
    fn unary(&mut self) -> Result<Expr, RuleError> {
        if self.eat(&Tok::Sym("-")) {
            return Ok(Expr::Unary(UnOp::Neg, Box::new(self.unary()?)));
        }
        self.atom()
    }
    fn atom(&mut self) -> Result<Expr, RuleError> {
        match self.next() {
            Some(Tok::Num(n)) => Ok(Expr::Num(n)),
            Some(Tok::Str(s)) => Ok(Expr::Str(s)),
            Some(Tok::LParen) => {
                let e = self.expr()?;
                self.expect(&Tok::RParen, "')'")?;
                Ok(e)
            }
            Some(Tok::LBracket) => {
                let mut items = Vec::new();
                if !self.eat(&Tok::RBracket) {
                    loop {
                        items.push(self.expr()?);
                        if !self.eat(&Tok::Comma) {
                            self.expect(&Tok::RBracket, "']' or ','")?;
                            break;
                        }
                    }
                }
                Ok(Expr::List(items))
            }
            Some(Tok::Var(v)) => {
                if self.eat(&Tok::Dot) {
                    match self.next() {
                        Some(Tok::Ident(field)) => Ok(Expr::Field(v, field)),
                        _ => Err(self.err(format!("expected a field name after '?{v}.'"))),
                    }
                } else {
                    Ok(Expr::Tensor(v))
                }
            }
            Some(Tok::Ident(name)) => match name.as_str() {
                "true" => Ok(Expr::Bool(true)),
                "false" => Ok(Expr::Bool(false)),
                "secret" | "public" | "server" | "real" | "int"
                    if self.peek() != Some(&Tok::LParen) =>
                {
                    Ok(Expr::Str(name))
                }
                _ => {
                    let (f, arg_kinds) = Func::lookup(&name).ok_or_else(|| {
                        self.err(format!(
                            "unknown function '{name}' (functions: {})",
                            Func::ALL.iter().map(|f| f.0).collect::<Vec<_>>().join(", ")
                        ))
                    })?;
                    self.expect(&Tok::LParen, &format!("'(' after '{name}'"))?;
                    let mut args = Vec::new();
                    if !self.eat(&Tok::RParen) {
                        loop {
                            args.push(self.expr()?);
                            if !self.eat(&Tok::Comma) {
                                self.expect(&Tok::RParen, "')' or ','")?;
                                break;
                            }
                        }
                    }
                    if args.len() != arg_kinds.len() {
                        return Err(self.err(format!(
                            "'{name}' takes {} argument(s), got {}",
                            arg_kinds.len(),
                            args.len()
                        )));
                    }
                    for (a, &tensor) in args.iter().zip(arg_kinds) {
                        if tensor != matches!(a, Expr::Tensor(_)) {
                            return Err(self.err(if tensor {
                                format!("'{name}' takes a tensor variable (?x)")
                            } else {
                                format!(
                                    "'{name}' takes a value; a tensor variable is read with shape(), rank(), dim() ..."
                                )
                            }));
                        }
                    }
                    Ok(Expr::Call(f, args))
                }
            },
            Some(t) => Err(self.err(format!("expected a value, found {}", describe(&t)))),
            None => Err(self.err("expected a value".into())),
        }
    }

    /// One root (`pattern`) or several (`?a = pattern; ?b = pattern`).
    fn roots(&mut self) -> Result<Vec<(Option<String>, Pat)>, RuleError> {
        let multi = matches!(self.peek(), Some(Tok::Var(_))) && self.peek2() == Some(&Tok::Assign);
        if !multi {
            let p = self.pattern()?;
            self.done()?;
            return Ok(vec![(None, p)]);
        }
        let mut roots = Vec::new();
        loop {
            let v = match self.next() {
                Some(Tok::Var(v)) => v,
                _ => return Err(self.err("expected '?name = pattern'".into())),
            };
            self.expect(&Tok::Assign, "'='")?;
            roots.push((Some(v), self.pattern()?));
            if !self.eat(&Tok::Semi) {
                self.done()?;
                break;
            }
        }
        Ok(roots)
    }
}

/// A rule as written, after `for` and `let` expansion.
#[derive(Debug, Clone)]
pub struct RuleDef {
    pub name: String,
    pub class: RuleClass,
    pub both: bool,
    pub lhs: Vec<(Option<String>, Pat)>,
    pub rhs: Vec<(Option<String>, Pat)>,
    pub conditions: Vec<Expr>,
    pub why: String,
    pub line: usize,
}

struct Field {
    key: String,
    line: usize,
    tokens: Vec<Token>,
    text: String,
}

const KEYWORDS: &[&str] = &["lhs", "rhs", "let", "if", "why", "for"];

/// Parses a rule file.
pub fn parse_rules(text: &str, file: &str) -> Result<Vec<RuleDef>, RuleError> {
    let err = |line: usize, reason: String| RuleError {
        file: file.to_string(),
        line,
        reason,
    };
    // Split into blocks: (header line, header text, fields).
    let mut blocks: Vec<(usize, String, Vec<Field>)> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indented = raw.starts_with([' ', '\t']);
        if !indented {
            if !(trimmed == "rule" || trimmed.starts_with("rule ")) {
                return Err(err(
                    line,
                    "expected 'rule NAME exact|approx' at the start of a line (fields are indented)"
                        .into(),
                ));
            }
            blocks.push((line, trimmed.to_string(), Vec::new()));
            continue;
        }
        let Some((_, _, fields)) = blocks.last_mut() else {
            return Err(err(line, "an indented line outside a rule".into()));
        };
        let first = trimmed.split_whitespace().next().unwrap_or("");
        if KEYWORDS.contains(&first) {
            let rest = trimmed[first.len()..].trim().to_string();
            let tokens = if first == "why" {
                Vec::new()
            } else {
                tokenize(&rest, line, &err)?
            };
            fields.push(Field {
                key: first.to_string(),
                line,
                tokens,
                text: rest,
            });
        } else {
            let Some(field) = fields.last_mut() else {
                return Err(err(
                    line,
                    format!(
                        "expected a field ({}) , found '{first}'",
                        KEYWORDS.join(", ")
                    ),
                ));
            };
            if field.key == "why" {
                field.text.push(' ');
                field.text.push_str(trimmed);
            } else {
                field.tokens.extend(tokenize(trimmed, line, &err)?);
            }
        }
    }
    let mut rules = Vec::new();
    for (line, header, fields) in blocks {
        rules.extend(parse_block(line, &header, fields, file)?);
    }
    Ok(rules)
}

fn parse_block(
    line: usize,
    header: &str,
    fields: Vec<Field>,
    file: &str,
) -> Result<Vec<RuleDef>, RuleError> {
    let err = |line: usize, reason: String| RuleError {
        file: file.to_string(),
        line,
        reason,
    };
    let words: Vec<&str> = header.split_whitespace().collect();
    let (name, class, both) = match words.as_slice() {
        ["rule", name, class, rest @ ..] => {
            let class = match *class {
                "exact" => RuleClass::Exact,
                "approx" => RuleClass::Approx,
                other => {
                    return Err(err(
                        line,
                        format!("rule class must be 'exact' or 'approx', not '{other}'"),
                    ))
                }
            };
            let both = match rest {
                [] => false,
                ["both"] => true,
                _ => {
                    return Err(err(
                        line,
                        format!(
                            "unexpected '{}' after the rule class (only 'both' may follow)",
                            rest.join(" ")
                        ),
                    ))
                }
            };
            (name.to_string(), class, both)
        }
        _ => return Err(err(line, "expected 'rule NAME exact|approx [both]'".into())),
    };
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(err(
            line,
            format!("rule name '{name}' may only hold letters, digits, '-' and '_'"),
        ));
    }
    let single = |key: &str| -> Result<Option<&Field>, RuleError> {
        let mut found = fields.iter().filter(|f| f.key == key);
        let first = found.next();
        if let Some(dup) = found.next() {
            return Err(err(
                dup.line,
                format!("rule '{name}' has a second '{key}' line"),
            ));
        }
        Ok(first)
    };
    let lhs =
        single("lhs")?.ok_or_else(|| err(line, format!("rule '{name}' has no 'lhs' line")))?;
    let rhs =
        single("rhs")?.ok_or_else(|| err(line, format!("rule '{name}' has no 'rhs' line")))?;
    let why = single("why")?.ok_or_else(|| {
        err(
            line,
            format!("rule '{name}' has no 'why' line (one line of rationale)"),
        )
    })?;
    // `for %f in op op ...`
    let expansions: Vec<Option<(String, &'static str)>> = match single("for")? {
        None => vec![None],
        Some(f) => {
            let mut toks = f.tokens.iter().map(|t| &t.tok);
            let placeholder = match toks.next() {
                Some(Tok::Placeholder(p)) => p.clone(),
                _ => return Err(err(f.line, "expected 'for %name in op op ...'".into())),
            };
            if !matches!(toks.next(), Some(Tok::Ident(w)) if w == "in") {
                return Err(err(f.line, "expected 'in' after the placeholder".into()));
            }
            let mut ops = Vec::new();
            for t in toks {
                match t {
                    Tok::Ident(w) => ops.push(Some((
                        placeholder.clone(),
                        op_name(w).ok_or_else(|| err(f.line, format!("unknown op '{w}'")))?,
                    ))),
                    other => {
                        return Err(err(
                            f.line,
                            format!("expected an op name, found {}", describe(other)),
                        ))
                    }
                }
            }
            if ops.is_empty() {
                return Err(err(f.line, "'for' lists no ops".into()));
            }
            ops
        }
    };
    let mut out = Vec::new();
    for expansion in expansions {
        let cursor = |f: &Field| -> Result<Cursor<'_>, RuleError> {
            let mut toks = f.tokens.clone();
            for t in &mut toks {
                if let Tok::Placeholder(p) = &t.tok {
                    match &expansion {
                        Some((name, op)) if name == p => t.tok = Tok::Ident(op.to_string()),
                        _ => {
                            return Err(err(
                                t.line,
                                format!("unknown placeholder '%{p}' (no 'for %{p} in ...' line)"),
                            ))
                        }
                    }
                }
            }
            Ok(Cursor {
                toks,
                pos: 0,
                line: f.line,
                file,
                sources: false,
            })
        };
        let lhs_roots = cursor(lhs)?.roots()?;
        let mut lets: Vec<(String, Pat)> = Vec::new();
        for f in fields.iter().filter(|f| f.key == "let") {
            let mut c = cursor(f)?;
            let v = match c.next() {
                Some(Tok::Var(v)) => v,
                _ => return Err(err(f.line, "expected 'let ?name = pattern'".into())),
            };
            c.expect(&Tok::Assign, "'='")?;
            let p = c.pattern()?;
            c.done()?;
            if lets.iter().any(|(n, _)| *n == v) {
                return Err(err(f.line, format!("'?{v}' is bound twice")));
            }
            lets.push((v, substitute(&p, &lets)));
        }
        let rhs_roots: Vec<(Option<String>, Pat)> = cursor(rhs)?
            .roots()?
            .into_iter()
            .map(|(v, p)| (v, substitute(&p, &lets)))
            .collect();
        let mut conditions = Vec::new();
        for f in fields.iter().filter(|f| f.key == "if") {
            let mut c = cursor(f)?;
            conditions.push(c.expr()?);
            c.done()?;
        }
        out.push(RuleDef {
            name: match &expansion {
                Some((_, op)) => format!("{name}/{op}"),
                None => name.clone(),
            },
            class,
            both,
            lhs: lhs_roots,
            rhs: rhs_roots,
            conditions,
            why: why.text.clone(),
            line,
        });
    }
    Ok(out)
}

/// Replaces `let`-bound variables by their patterns.
fn substitute(p: &Pat, lets: &[(String, Pat)]) -> Pat {
    match p {
        Pat::Var(v) => match lets.iter().find(|(n, _)| n == v) {
            Some((_, bound)) => bound.clone(),
            None => p.clone(),
        },
        Pat::Apply {
            op,
            attrs,
            args,
            line,
        } => Pat::Apply {
            op,
            attrs: attrs.clone(),
            args: args.iter().map(|a| substitute(a, lets)).collect(),
            line: *line,
        },
        other => other.clone(),
    }
}

/// Parses a term: a pattern whose bare names are graph sources (tests and examples).
pub fn parse_term(text: &str) -> Result<Pat, RuleError> {
    let err = |line: usize, reason: String| RuleError {
        file: "term".to_string(),
        line,
        reason,
    };
    let mut c = Cursor {
        toks: tokenize(text, 1, &err)?,
        pos: 0,
        line: 1,
        file: "term",
        sources: true,
    };
    let p = c.pattern()?;
    c.done()?;
    Ok(p)
}
