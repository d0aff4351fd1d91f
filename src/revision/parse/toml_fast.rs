//! A fast path for the common shape of TOML revision files.
//!
//! Nearly every revision file is a header of `key = "string"` lines plus
//! `[[upgrade]]`/`[[downgrade]]` tables of string keys, as the scaffold
//! writes them. Parsing that with the full TOML document model (spans,
//! `Cow`s, a map per table) was 40–60 % of the instructions of `heads` and
//! `history` at 5,000 revisions. This module reads that shape directly.
//!
//! It is an accelerator, never an authority: [`parse`] returns `None` for
//! anything outside the small grammar below *and* for every file that would
//! be an error, and the caller then runs the full parser
//! ([`super::toml_format`]), which produces the result or the error message.
//! So errors and unusual syntax always take the one well-tested path, and a
//! `Some` result is exactly what the full parser returns for the same text
//! (checked by the differential tests at the end of this file, over the
//! repository's files and thousands of mutated ones).
//!
//! The grammar: LF line ends (any `\r` or other control character except
//! tab falls back); comments; bare keys; `[[upgrade]]`, `[[downgrade]]`,
//! `[[verify]]` headers written exactly so; values that are basic strings
//! (escapes `\"`, `\\`, `\n`, `\t`, `\r` only), literal strings, multi-line
//! basic and literal strings (no line-ending backslash, no quotes right
//! before the closing delimiter), `true`/`false`, decimal integers without
//! underscores, offset or local date-times with a `T`, and arrays of
//! single-line strings (which may span lines, with comments and a trailing
//! comma). Inline tables, dotted or quoted keys, floats and every other
//! form fall back.

use super::toml_format::{names, toml_datetime_to_utc};
use super::{parse_created, Parsed};
use crate::dialect::Dialect;
use crate::revision::{SqlStep, Step, StepKind, Verify};

/// A value of the fast grammar, with the 1-based line it starts on (for
/// arrays, each item's line).
enum Value<'a> {
    Str(std::borrow::Cow<'a, str>),
    Bool(bool),
    Int(i64),
    Datetime(toml::value::Datetime),
    Array(Vec<(std::borrow::Cow<'a, str>, usize)>),
}

/// Which table the following keys belong to.
#[derive(Clone, Copy, PartialEq)]
enum Section {
    Header,
    Upgrade,
    Downgrade,
    Verify,
}

/// One `[[...]]` table being read: its header line and its keys in order.
struct Table<'a> {
    section: Section,
    line: usize,
    keys: Vec<(&'a str, Value<'a>)>,
}

/// Parses `content` if it is in the fast grammar and valid; `None` means
/// "use the full parser" (which also reports every error).
pub(super) fn parse(content: &str) -> Option<Parsed> {
    let bytes = content.as_bytes();
    if bytes
        .iter()
        .any(|&b| (b < 0x20 && b != b'\n' && b != b'\t') || b == 0x7f)
    {
        return None;
    }
    let mut cur = Cursor {
        s: content,
        pos: 0,
        line: 1,
    };
    let mut header: Vec<(&str, usize, Value<'_>)> = Vec::new();
    let mut tables: Vec<Table<'_>> = Vec::new();
    let mut section = Section::Header;
    loop {
        cur.skip_ws();
        match cur.peek() {
            None => break,
            Some(b'\n') => {
                cur.newline();
                continue;
            }
            Some(b'#') => {
                cur.skip_comment();
                continue;
            }
            Some(b'[') => {
                let line = cur.line;
                section = cur.header()?;
                tables.push(Table {
                    section,
                    line,
                    keys: Vec::new(),
                });
            }
            Some(_) => {
                let line = cur.line;
                let key = cur.bare_key()?;
                cur.skip_ws();
                cur.eat(b'=')?;
                cur.skip_ws();
                let value = cur.value()?;
                match tables.last_mut() {
                    Some(table) if section != Section::Header => {
                        if table.keys.iter().any(|(k, _)| *k == key) {
                            return None;
                        }
                        table.keys.push((key, value));
                    }
                    _ => {
                        if header.iter().any(|(k, _, _)| *k == key) {
                            return None;
                        }
                        header.push((key, line, value));
                    }
                }
            }
        }
        cur.end_of_line()?;
    }
    build(header, tables)
}

/// Maps the read tables onto [`Parsed`] exactly as the full parser does;
/// `None` where the full parser would report an error.
fn build(header: Vec<(&str, usize, Value<'_>)>, tables: Vec<Table<'_>>) -> Option<Parsed> {
    let mut parsed = Parsed::default();
    let mut static_downgrade = false;
    for (key, line, value) in header {
        match (key, value) {
            ("revision", Value::Str(s)) => parsed.revision = Some((s.into_owned(), line)),
            ("down_revision", value) => parsed.down_revisions = strings(value, line)?,
            ("message", Value::Str(s)) => parsed.message = s.into_owned(),
            ("created", Value::Datetime(dt)) => parsed.created = Some(toml_datetime_to_utc(&dt)?),
            ("created", Value::Str(s)) => parsed.created = Some(parse_created(&s).ok()?),
            ("branch_labels", value) => parsed.branch_labels = names(strings(value, line)?),
            ("depends_on", value) => parsed.depends_on = names(strings(value, line)?),
            ("transactional", Value::Bool(b)) => parsed.transactional = Some(b),
            ("template", Value::Bool(b)) => parsed.template = Some(b),
            // `upgrade = []` / `downgrade = []`: no steps (a later
            // `[[downgrade]]` is a TOML error: fall back).
            ("upgrade", Value::Array(items)) if items.is_empty() => {
                if tables.iter().any(|t| t.section == Section::Upgrade) {
                    return None;
                }
            }
            ("downgrade", Value::Array(items)) if items.is_empty() => {
                static_downgrade = true;
                parsed.downgrade = Some(Vec::new());
            }
            ("verify", Value::Array(items)) if items.is_empty() => {
                if tables.iter().any(|t| t.section == Section::Verify) {
                    return None;
                }
            }
            _ => return None,
        }
    }
    let mut verify_index = 0;
    for table in tables {
        match table.section {
            Section::Upgrade => parsed.upgrade.push(step(table)?),
            Section::Downgrade => {
                if static_downgrade {
                    return None;
                }
                parsed
                    .downgrade
                    .get_or_insert_with(Vec::new)
                    .push(step(table)?);
            }
            Section::Verify => {
                verify_index += 1;
                parsed.verify.push(verify(table, verify_index)?);
            }
            Section::Header => return None,
        }
    }
    Some(parsed)
}

fn strings(value: Value<'_>, line: usize) -> Option<Vec<(String, usize)>> {
    match value {
        Value::Str(s) => Some(vec![(s.into_owned(), line)]),
        Value::Array(items) => Some(
            items
                .into_iter()
                .map(|(s, line)| (s.into_owned(), line))
                .collect(),
        ),
        _ => None,
    }
}

fn step(table: Table<'_>) -> Option<Step> {
    let line = table.line;
    let op = table.keys.iter().find_map(|(k, v)| match (k, v) {
        (&"op", Value::Str(s)) => Some(s.clone()),
        _ => None,
    })?;
    if op != "sql" {
        let mut fields = toml::Table::new();
        for (key, value) in table.keys {
            if key == "op" {
                continue;
            }
            let value = match value {
                Value::Str(s) => toml::Value::String(s.into_owned()),
                Value::Bool(b) => toml::Value::Boolean(b),
                Value::Int(i) => toml::Value::Integer(i),
                Value::Datetime(dt) => toml::Value::Datetime(dt),
                Value::Array(items) => toml::Value::Array(
                    items
                        .into_iter()
                        .map(|(s, _)| toml::Value::String(s.into_owned()))
                        .collect(),
                ),
            };
            fields.insert(key.to_string(), value);
        }
        return Some(Step {
            line,
            kind: StepKind::Operation {
                op: op.into_owned(),
                fields,
            },
        });
    }
    let mut step = SqlStep::default();
    let mut sql = None;
    for (key, value) in table.keys {
        let Value::Str(text) = value else {
            return None;
        };
        match key {
            "op" => {}
            "sql" => sql = Some(text),
            name => {
                let dialect = Dialect::from_name(name)?;
                if step.variants.insert(dialect, text.into_owned()).is_some() {
                    return None;
                }
            }
        }
    }
    let sql = sql?;
    if sql.trim().is_empty() {
        return None;
    }
    step.sql = sql.into_owned();
    Some(Step {
        line,
        kind: StepKind::Sql(step),
    })
}

fn verify(table: Table<'_>, index: usize) -> Option<Verify> {
    let (mut name, mut sql, mut expect) = (None, None, None);
    for (key, value) in table.keys {
        match (key, value) {
            ("name", Value::Str(s)) => name = Some(s.into_owned()),
            ("sql", Value::Str(s)) => sql = Some(s.into_owned()),
            ("expect", Value::Int(i)) => expect = Some(i as f64),
            _ => return None,
        }
    }
    Some(Verify {
        line: table.line,
        name: name.unwrap_or_else(|| format!("check {index}")),
        sql: sql?,
        expect: expect?,
    })
}

/// A position in the file and its 1-based line.
struct Cursor<'a> {
    s: &'a str,
    pos: usize,
    line: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos).copied()
    }

    fn rest(&self) -> &'a str {
        &self.s[self.pos..]
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        (self.peek() == Some(byte)).then(|| self.pos += 1)
    }

    fn newline(&mut self) {
        self.pos += 1;
        self.line += 1;
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    /// `# …` up to (not including) the newline.
    fn skip_comment(&mut self) {
        match self.rest().find('\n') {
            Some(n) => self.pos += n,
            None => self.pos = self.s.len(),
        }
    }

    /// Whitespace, an optional comment, then a newline or the end.
    fn end_of_line(&mut self) -> Option<()> {
        self.skip_ws();
        if self.peek() == Some(b'#') {
            self.skip_comment();
        }
        match self.peek() {
            None => Some(()),
            Some(b'\n') => {
                self.newline();
                Some(())
            }
            Some(_) => None,
        }
    }

    /// `[[upgrade]]`, `[[downgrade]]` or `[[verify]]`, written exactly so.
    fn header(&mut self) -> Option<Section> {
        for (text, section) in [
            ("[[upgrade]]", Section::Upgrade),
            ("[[downgrade]]", Section::Downgrade),
            ("[[verify]]", Section::Verify),
        ] {
            if self.rest().starts_with(text) {
                self.pos += text.len();
                return Some(section);
            }
        }
        None
    }

    fn bare_key(&mut self) -> Option<&'a str> {
        let start = self.pos;
        while matches!(
            self.peek(),
            Some(b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-')
        ) {
            self.pos += 1;
        }
        (self.pos > start).then(|| &self.s[start..self.pos])
    }

    fn value(&mut self) -> Option<Value<'a>> {
        let rest = self.rest();
        if rest.starts_with("\"\"\"") {
            return self.ml_basic().map(Value::Str);
        }
        if rest.starts_with("'''") {
            return self.ml_literal().map(Value::Str);
        }
        match self.peek()? {
            b'"' => self.basic().map(Value::Str),
            b'\'' => self.literal().map(Value::Str),
            b'[' => self.array().map(Value::Array),
            b't' | b'f' => self.boolean().map(Value::Bool),
            b'0'..=b'9' | b'+' | b'-' => self.number_or_datetime(),
            _ => None,
        }
    }

    fn basic(&mut self) -> Option<std::borrow::Cow<'a, str>> {
        self.pos += 1;
        let start = self.pos;
        let bytes = self.s.as_bytes();
        let mut end = start;
        let mut escaped = false;
        loop {
            match *bytes.get(end)? {
                b'"' => break,
                b'\\' => {
                    escaped = true;
                    end += 2;
                }
                b'\n' => return None,
                _ => end += 1,
            }
        }
        let raw = self.s.get(start..end)?;
        self.pos = end + 1;
        if escaped {
            unescape(raw).map(std::borrow::Cow::Owned)
        } else {
            Some(std::borrow::Cow::Borrowed(raw))
        }
    }

    fn literal(&mut self) -> Option<std::borrow::Cow<'a, str>> {
        self.pos += 1;
        let rest = self.rest();
        let end = rest.find(['\'', '\n'])?;
        if rest.as_bytes()[end] != b'\'' {
            return None;
        }
        self.pos += end + 1;
        Some(std::borrow::Cow::Borrowed(&rest[..end]))
    }

    /// The body of a multi-line string opened by `delim` (three quotes):
    /// the newline right after the opening is trimmed; the body may not end
    /// in the quote character (`""""` forms fall back).
    fn ml_body(&mut self, delim: &str) -> Option<&'a str> {
        self.pos += 3;
        if self.peek() == Some(b'\n') {
            self.newline();
        }
        let rest = self.rest();
        let end = rest.find(delim)?;
        let body = &rest[..end];
        if rest[end + 3..].starts_with(&delim[..1]) {
            return None;
        }
        self.line += body.bytes().filter(|&b| b == b'\n').count();
        self.pos += end + 3;
        Some(body)
    }

    fn ml_basic(&mut self) -> Option<std::borrow::Cow<'a, str>> {
        let body = self.ml_body("\"\"\"")?;
        if body.contains('\\') {
            // No line-ending backslash: every backslash must be a simple
            // escape, and then the text is unescaped.
            return unescape(body).map(std::borrow::Cow::Owned);
        }
        Some(std::borrow::Cow::Borrowed(body))
    }

    fn ml_literal(&mut self) -> Option<std::borrow::Cow<'a, str>> {
        self.ml_body("'''").map(std::borrow::Cow::Borrowed)
    }

    fn boolean(&mut self) -> Option<bool> {
        let rest = self.rest();
        let (value, len) = if rest.starts_with("true") {
            (true, 4)
        } else if rest.starts_with("false") {
            (false, 5)
        } else {
            return None;
        };
        self.pos += len;
        self.at_value_end().then_some(value)
    }

    /// After a bare value: whitespace, a comment, `,`, `]` or the line end.
    fn at_value_end(&self) -> bool {
        matches!(
            self.peek(),
            None | Some(b' ' | b'\t' | b'\n' | b'#' | b',' | b']')
        )
    }

    /// A decimal integer (no underscores, no leading zeros) or a date-time
    /// with a `T` (parsed by `toml`'s own date-time type).
    fn number_or_datetime(&mut self) -> Option<Value<'a>> {
        let start = self.pos;
        while matches!(
            self.peek(),
            Some(b'0'..=b'9' | b'-' | b'+' | b':' | b'.' | b'T' | b'Z')
        ) {
            self.pos += 1;
        }
        if !self.at_value_end() {
            return None;
        }
        let token = &self.s[start..self.pos];
        let digits = token.strip_prefix(['+', '-']).unwrap_or(token);
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            if digits.len() > 1 && digits.starts_with('0') {
                return None;
            }
            return token.parse().ok().map(Value::Int);
        }
        if token.len() >= 19 && token.as_bytes()[10] == b'T' {
            return token.parse().ok().map(Value::Datetime);
        }
        None
    }

    /// `[ "a", 'b', ]` of single-line strings; whitespace, newlines and
    /// comments between items.
    fn array(&mut self) -> Option<Vec<(std::borrow::Cow<'a, str>, usize)>> {
        self.pos += 1;
        let mut items = Vec::new();
        loop {
            self.skip_blank()?;
            match self.peek()? {
                b']' => {
                    self.pos += 1;
                    return Some(items);
                }
                b'"' | b'\''
                    if !self.rest().starts_with("\"\"\"") && !self.rest().starts_with("'''") =>
                {
                    let line = self.line;
                    let item = if self.peek() == Some(b'"') {
                        self.basic()?
                    } else {
                        self.literal()?
                    };
                    items.push((item, line));
                    self.skip_blank()?;
                    match self.peek()? {
                        b',' => self.pos += 1,
                        b']' => {}
                        _ => return None,
                    }
                }
                _ => return None,
            }
        }
    }

    /// Whitespace, newlines and comments (inside an array).
    fn skip_blank(&mut self) -> Option<()> {
        loop {
            self.skip_ws();
            match self.peek() {
                Some(b'\n') => self.newline(),
                Some(b'#') => self.skip_comment(),
                _ => return Some(()),
            }
        }
    }
}

/// Resolves the simple escapes; `None` for any other escape.
fn unescape(raw: &str) -> Option<String> {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        out.push(match chars.next()? {
            '"' => '"',
            '\\' => '\\',
            'n' => '\n',
            't' => '\t',
            'r' => '\r',
            _ => return None,
        });
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    //! Differential tests: wherever the fast path answers, its answer must
    //! be the full parser's.
    use super::super::toml_format::parse_toml;
    use super::*;
    use std::path::Path;

    /// The fast path's answer, checked against the full parser's.
    fn both(text: &str) -> Option<Parsed> {
        let path = Path::new("m/ae1_x.toml");
        let fast = parse(text);
        if let Some(fast) = &fast {
            match parse_toml(text, path) {
                Ok(full) => assert_eq!(fast, &full, "fast and full parsers differ on:\n{text}"),
                Err(e) => panic!("fast path accepted what the full parser rejects ({e}):\n{text}"),
            }
        }
        fast
    }

    /// Files in the shapes users write; each must take the fast path.
    const FAST: &[&str] = &[
        "revision = \"a1\"\n",
        "revision = \"b2\"\ndown_revision = \"a1\"\nmessage = \"add account\"\n\
         created = 2026-11-23T12:00:00Z\n\n[[upgrade]]\nop = \"sql\"\n\
         sql = \"CREATE TABLE t (id INTEGER PRIMARY KEY)\"\n\n[[downgrade]]\nop = \"sql\"\nsql = \"DROP TABLE t\"\n",
        "# a comment\nrevision = 'c3'  # trailing\ndown_revision = [\"a1\", 'b2',]\n\
         branch_labels = [\n  \"billing\", # first\n  \"x-y\"\n]\ndepends_on = []\n\
         transactional = false\ntemplate = true\nmessage = \"\"\"\nline one\nline \\\"two\\\"\\n\\tend\"\"\"\n\
         created = 2026-11-23T12:00:00.5+02:00\n",
        "revision = \"d4\"\nmessage = '''\nraw \\n text\n'''\ncreated = \"2026-11-23 12:00:00\"\n\
         [[upgrade]]\nop = \"sql\"\nsql = \"\"\"\nCREATE TABLE a (x TEXT DEFAULT 'q');\nINSERT INTO a VALUES ('\\\\');\n\"\"\"\n\
         postgresql = '''CREATE TABLE a (x TEXT)'''\nmysql = \"CREATE TABLE a (x VARCHAR(5))\"\n\
         [[downgrade]]\nop = \"sql\"\nsql = \"DROP TABLE a\"\n[[upgrade]]\nop = \"sql\"\nsql = \"SELECT 1\"\n",
        "revision = \"e5\"\ndowngrade = []\n[[upgrade]]\nop = \"populate_field\"\ntable = \"users\"\n\
         column = \"status\"\nvalue = \"'new'\"\nbatch_size = 500\nonly_null = true\nkeys = [\"a\", \"b\"]\n\
         [[verify]]\nname = \"none left\"\nsql = \"SELECT count(*) FROM users WHERE status IS NULL\"\nexpect = 0\n\
         [[verify]]\nsql = \"SELECT 1\"\nexpect = -3\n",
        "revision = \"f6\"\nupgrade = []\nverify = []\n",
        "\n\n  revision\t=\t\"g7\"   \n# end",
    ];

    /// Valid files outside the fast grammar, or invalid ones: the fast path
    /// must decline them all.
    const SLOW: &[&str] = &[
        "revision = \"a1\"\r\nmessage = \"x\"\r\n",
        "revision = \"a1\"\n[[upgrade]]\nop = \"create_table\"\ntable = \"t\"\ncolumns = [{ name = \"id\", type = \"integer\" }]\n",
        "revision = \"a1\"\n[[upgrade]]\nop = \"update\"\nset = { email = \"lower(email)\" }\n",
        "\"revision\" = \"a1\"\n",
        "revision.x = \"a1\"\n",
        "revision = \"a\\u0031\"\n",
        "revision = \"a1\"\nmessage = \"\"\"\nline \\\n  joined\"\"\"\n",
        "revision = \"a1\"\nmessage = \"\"\"x\"\"\"\"\n",
        "revision = \"a1\"\n[[verify]]\nsql = \"SELECT 1\"\nexpect = 1.5\n",
        "revision = \"a1\"\n[upgrade]\nop = \"sql\"\nsql = \"x\"\n",
        "revision = \"a1\"\n[[ upgrade ]]\nop = \"sql\"\nsql = \"x\"\n",
        "revision = \"a1\"\ncreated = 2026-11-23\n",
        "revision = \"a1\"\ncreated = 2026-11-23 12:00:00Z\n",
        // invalid: each is an error of the full parser
        "revision = \"a1\"\nrevision = \"a2\"\n",
        "revision = \"a1\"\nrevison = \"a2\"\n",
        "revision = 1\n",
        "revision = \"a1\"\ntransactional = \"no\"\n",
        "revision = \"a1\"\n[[upgrade]]\nsql = \"x\"\n",
        "revision = \"a1\"\n[[upgrade]]\nop = \"sql\"\n",
        "revision = \"a1\"\n[[upgrade]]\nop = \"sql\"\nsql = \"  \"\n",
        "revision = \"a1\"\n[[upgrade]]\nop = \"sql\"\nsql = \"x\"\npostgres = \"y\"\npostgresql = \"z\"\n",
        "revision = \"a1\"\n[[upgrade]]\nop = \"sql\"\nsql = \"x\"\noracle = \"y\"\n",
        "revision = \"a1\"\n[[upgrade]]\nop = \"sql\"\nsql = \"x\"\nsql = \"y\"\n",
        "revision = \"a1\"\ndowngrade = []\n[[downgrade]]\nop = \"sql\"\nsql = \"x\"\n",
        "revision = \"a1\"\n[[verify]]\nsql = \"SELECT 1\"\n",
        "revision = \"a1\" x\n",
        "revision = \"a1\nmessage = \"x\"\n",
        "revision = \"a1\"\ncreated = 2026-13-45T12:00:00Z\n",
        "revision = \"a1\"\nmessage = \"a\u{1}b\"\n",
        "revision = \"a1\"\nbatch = 012\n",
    ];

    #[test]
    fn common_shapes_take_the_fast_path_and_match() {
        for text in FAST {
            assert!(both(text).is_some(), "fast path declined:\n{text}");
        }
    }

    #[test]
    fn other_shapes_and_errors_fall_back() {
        for text in SLOW {
            assert!(both(text).is_none(), "fast path accepted:\n{text}");
        }
    }

    #[test]
    fn step_and_key_lines_match_the_full_parser() {
        let parsed = both(
            "\nrevision = \"a1\"\ndown_revision = [\n  \"b2\",\n  \"c3\"\n]\n\n[[upgrade]]\nop = \"sql\"\nsql = \"\"\"\nx\n\"\"\"\n\n[[upgrade]]\nop = \"sql\"\nsql = \"y\"\n",
        )
        .unwrap();
        assert_eq!(parsed.revision, Some(("a1".to_string(), 2)));
        assert_eq!(parsed.down_revisions[1], ("c3".to_string(), 5));
        assert_eq!(
            parsed.upgrade.iter().map(|s| s.line).collect::<Vec<_>>(),
            [8, 14]
        );
    }

    /// What `retort revision` writes takes the fast path (otherwise every
    /// new project would load through the slow parser unnoticed).
    #[test]
    fn scaffolded_files_take_the_fast_path() {
        use crate::revision::scaffold::{RevisionSpec, Templates};
        use crate::revision::FileFormat;
        use chrono::{TimeZone, Utc};
        for (message, down, labels, depends) in [
            ("add account table", vec!["1975ea83b712"], vec![], vec![]),
            (
                "merge \"a\" and 'b'",
                vec!["aaa", "bbb"],
                vec!["billing"],
                vec!["3f4e9a0b1c2d", "data"],
            ),
            ("", vec![], vec![], vec![]),
        ] {
            let spec = RevisionSpec {
                id: "ae1027a6acf0".to_string(),
                down_revisions: down.iter().map(|s| s.to_string()).collect(),
                branch_labels: labels.iter().map(|s| s.to_string()).collect(),
                depends_on: depends.iter().map(|s| s.to_string()).collect(),
                message: message.to_string(),
                created: Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap(),
                lane: "schema".to_string(),
            };
            let text = Templates::default()
                .render_revision(&spec, FileFormat::Toml)
                .unwrap();
            assert!(both(&text).is_some(), "fast path declined:\n{text}");
        }
    }

    /// The repository's example revision files.
    fn example_files() -> Vec<String> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        let mut texts = Vec::new();
        for lane in ["schema", "data"] {
            for entry in std::fs::read_dir(root.join(lane)).unwrap() {
                let path = entry.unwrap().path();
                if path.extension().is_some_and(|e| e == "toml") {
                    texts.push(std::fs::read_to_string(path).unwrap());
                }
            }
        }
        texts
    }

    #[test]
    fn example_project_files_match() {
        let texts = example_files();
        assert!(texts.len() >= 8);
        for text in &texts {
            both(text);
        }
    }

    /// Thousands of mutations of every sample (deleted, inserted and
    /// duplicated pieces): whenever the fast path answers, the full parser
    /// must give the same answer.
    #[test]
    fn mutated_files_never_disagree() {
        const PIECES: &[&str] = &[
            "\"",
            "'",
            "\"\"\"",
            "'''",
            "[",
            "]",
            "[[",
            "]]",
            "=",
            "#",
            "\n",
            "\\",
            "\\n",
            ",",
            " ",
            "\t",
            "\r",
            "{",
            "}",
            ".",
            "true",
            "0",
            "01",
            "-",
            "T",
            "Z",
            "2026-11-23T12:00:00Z",
            "op = \"sql\"",
            "sql = \"x\"",
            "[[upgrade]]",
            "[[downgrade]]",
            "[[verify]]",
            "expect = 1",
            "revision = \"z9\"",
            "message = \"m\"",
            "é",
            "\u{1}",
        ];
        let mut samples: Vec<String> = FAST.iter().map(|s| s.to_string()).collect();
        samples.extend(example_files());
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n.max(1) as u64) as usize
        };
        let (mut fast, mut total) = (0, 0);
        for sample in &samples {
            let bounds: Vec<usize> = sample
                .char_indices()
                .map(|(i, _)| i)
                .chain([sample.len()])
                .collect();
            for _ in 0..600 {
                let mut text = sample.clone();
                for _ in 0..1 + next(3) {
                    let b: Vec<usize> = text
                        .char_indices()
                        .map(|(i, _)| i)
                        .chain([text.len()])
                        .collect();
                    let at = b[next(b.len())];
                    match next(3) {
                        0 => {
                            let end =
                                b[(b.iter().position(|&x| x == at).unwrap_or(0) + 1 + next(4))
                                    .min(b.len() - 1)];
                            text.replace_range(at..end, "");
                        }
                        1 => text.insert_str(at, PIECES[next(PIECES.len())]),
                        _ => {
                            let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
                            let end = text[at..].find('\n').map_or(text.len(), |i| at + i + 1);
                            let line = text[start..end].to_string();
                            text.insert_str(start, &line);
                        }
                    }
                }
                total += 1;
                if both(&text).is_some() {
                    fast += 1;
                }
            }
            let _ = &bounds;
        }
        // The mutations must exercise both outcomes.
        eprintln!("{fast} of {total} mutated files took the fast path");
        assert!(
            fast > total / 20 && fast < total,
            "{fast} of {total} took the fast path"
        );
    }
}
