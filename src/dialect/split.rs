//! Splits a SQL text into statements, per dialect.
//!
//! Why a hand-written scanner: the candidates that know SQL (sqlparser's
//! tokenizer) are not in the dependency set, and a tokenizer alone still
//! does not know that the `;` inside `CREATE TRIGGER … BEGIN … END` belongs
//! to the trigger. Splitting needs only a little lexing: quotes, comments,
//! dollar quotes and a `BEGIN`/`CASE`/`END` depth count inside the bodies of
//! triggers, procedures and functions. This scanner does exactly that and
//! nothing more, byte by byte (every delimiter is ASCII, so slicing at them
//! never splits a UTF-8 character).
//!
//! What it knows, per dialect:
//! - all: `'…'` strings with `''`, `--` line comments, `/* */` comments, `;`;
//! - SQLite: `"…"`, `` `…` `` and `[…]` identifiers;
//! - PostgreSQL: `"…"` identifiers, `E'…'` strings with backslash escapes,
//!   `$tag$…$tag$` dollar quotes, nested `/* /* */ */` comments,
//!   `BEGIN ATOMIC … END` function bodies;
//! - MySQL/MariaDB: backslash escapes in `'…'` and `"…"` strings (the
//!   default `sql_mode`), `` `…` `` identifiers, `#` comments, `-- ` comments
//!   only when followed by a space or a line end, `/*! … */` executable
//!   comments count as code, `END IF`/`END LOOP`/`END WHILE`/`END REPEAT`
//!   inside compound statements. The client-side `DELIMITER` command is not
//!   SQL and is not understood.
//!
//! Unterminated quotes or comments run to the end of the text, which then
//! forms the last statement: the database reports the real error.

use super::Dialect;

/// Splits `sql` into statements for `dialect`: each statement is trimmed and
/// returned without its trailing `;`; statements holding nothing but
/// whitespace and comments are dropped, and so are comments after a
/// statement's last token (so `SELECT 1 -- note` can be followed by `;`
/// safely). Comments before a statement stay with it.
pub fn split_statements(sql: &str, dialect: Dialect) -> Vec<String> {
    Splitter::new(sql, dialect).run()
}

/// Words that make a `CREATE …` statement one with a compound body.
const COMPOUND_KINDS: [&str; 4] = ["TRIGGER", "PROCEDURE", "FUNCTION", "EVENT"];

/// How many leading words may precede the compound kind (`CREATE OR
/// REPLACE DEFINER = CURRENT_USER TEMPORARY TRIGGER …`).
const HEADER_WORDS: usize = 8;

struct Splitter<'a> {
    s: &'a str,
    b: &'a [u8],
    dialect: Dialect,
    i: usize,
    out: Vec<String>,
    /// Start of the current statement.
    start: usize,
    /// End of the current statement's last code token, if it has one.
    code_end: Option<usize>,
    /// Words seen in the current statement.
    words: usize,
    /// The first word is CREATE.
    create: bool,
    /// A `(` has been seen (the header is over).
    paren: bool,
    /// The statement is a CREATE TRIGGER/PROCEDURE/FUNCTION/EVENT.
    compound: bool,
    /// BEGIN/CASE nesting inside a compound body.
    depth: usize,
    /// An END was seen inside a body; the next token decides what it ends.
    pending_end: bool,
}

fn is_word_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80
}

impl<'a> Splitter<'a> {
    fn new(s: &'a str, dialect: Dialect) -> Self {
        Splitter {
            s,
            b: s.as_bytes(),
            dialect,
            i: 0,
            out: Vec::new(),
            start: 0,
            code_end: None,
            words: 0,
            create: false,
            paren: false,
            compound: false,
            depth: 0,
            pending_end: false,
        }
    }

    fn peek(&self, offset: usize) -> Option<u8> {
        self.b.get(self.i + offset).copied()
    }

    fn run(mut self) -> Vec<String> {
        while let Some(c) = self.peek(0) {
            self.step(c);
        }
        self.finish_statement();
        self.out
    }

    fn step(&mut self, c: u8) {
        match c {
            _ if c.is_ascii_whitespace() => self.i += 1,
            b'-' if self.peek(1) == Some(b'-') && self.line_comment_ok() => self.line_comment(),
            b'#' if self.dialect == Dialect::Mysql => self.line_comment(),
            b'/' if self.peek(1) == Some(b'*') => self.block_comment(),
            b'\'' => self.quoted(b'\'', self.dialect == Dialect::Mysql),
            b'"' => self.quoted(b'"', self.dialect == Dialect::Mysql),
            b'`' if self.dialect != Dialect::Postgres => self.quoted(b'`', false),
            b'[' if self.dialect == Dialect::Sqlite => self.bracketed(),
            b'$' if self.dialect == Dialect::Postgres && self.dollar_tag().is_some() => {
                self.dollar_quoted()
            }
            b';' => self.semicolon(),
            _ if is_word_byte(c) => self.word(),
            _ => {
                if c == b'(' {
                    self.paren = true;
                }
                self.code_token(self.i + 1);
            }
        }
    }

    /// Marks `self.i..end` as code and moves past it.
    fn code_token(&mut self, end: usize) {
        self.resolve_pending_end(None);
        self.i = end;
        self.code_end = Some(end);
    }

    /// MySQL needs whitespace (or the end) after `--` for a comment.
    fn line_comment_ok(&self) -> bool {
        match self.dialect {
            Dialect::Mysql => self.peek(2).is_none_or(|c| c.is_ascii_whitespace()),
            Dialect::Sqlite | Dialect::Postgres => true,
        }
    }

    fn line_comment(&mut self) {
        self.i = self.s[self.i..]
            .find('\n')
            .map_or(self.b.len(), |n| self.i + n + 1);
    }

    fn block_comment(&mut self) {
        let executable = self.dialect == Dialect::Mysql && self.peek(2) == Some(b'!');
        let nests = self.dialect == Dialect::Postgres;
        let mut j = self.i + 2;
        let mut level = 1usize;
        while j < self.b.len() {
            if self.b[j] == b'*' && self.b.get(j + 1) == Some(&b'/') {
                level -= 1;
                j += 2;
                if level == 0 {
                    break;
                }
            } else if nests && self.b[j] == b'/' && self.b.get(j + 1) == Some(&b'*') {
                level += 1;
                j += 2;
            } else {
                j += 1;
            }
        }
        let end = j.min(self.b.len());
        if executable {
            self.code_token(end);
        } else {
            self.i = end;
        }
    }

    /// A quoted string or identifier closed by `quote`, where a doubled quote
    /// stands for itself and, with `backslash`, `\x` for `x`.
    fn quoted(&mut self, quote: u8, backslash: bool) {
        let mut j = self.i + 1;
        while j < self.b.len() {
            let c = self.b[j];
            if backslash && c == b'\\' {
                j += 2;
            } else if c == quote {
                if self.b.get(j + 1) == Some(&quote) {
                    j += 2;
                } else {
                    j += 1;
                    break;
                }
            } else {
                j += 1;
            }
        }
        self.code_token(j.min(self.b.len()));
    }

    fn bracketed(&mut self) {
        let end = self.s[self.i..]
            .find(']')
            .map_or(self.b.len(), |n| self.i + n + 1);
        self.code_token(end);
    }

    /// At a `$`: the opening `$tag$` (tag may be empty), when this is one.
    /// A `$` right after a word character belongs to an identifier, and
    /// `$1` is a parameter, not a quote.
    fn dollar_tag(&self) -> Option<&'a str> {
        if self.i > 0 && is_word_byte(self.b[self.i - 1]) {
            return None;
        }
        let rest = &self.s[self.i + 1..];
        let close = rest.find('$')?;
        let tag = &rest[..close];
        let mut chars = tag.chars();
        let valid = match chars.next() {
            None => true,
            Some(first) => {
                (first.is_alphabetic() || first == '_')
                    && chars.all(|c| c.is_alphanumeric() || c == '_')
            }
        };
        valid.then(|| &self.s[self.i..self.i + close + 2])
    }

    fn dollar_quoted(&mut self) {
        let Some(tag) = self.dollar_tag() else {
            return self.code_token(self.i + 1);
        };
        let body = self.i + tag.len();
        let end = self.s[body..]
            .find(tag)
            .map_or(self.b.len(), |n| body + n + tag.len());
        self.code_token(end);
    }

    fn word(&mut self) {
        let mut j = self.i;
        while j < self.b.len() && is_word_byte(self.b[j]) {
            j += 1;
        }
        let word = &self.s[self.i..j];
        // PostgreSQL `E'…'`: a string with backslash escapes.
        if self.dialect == Dialect::Postgres
            && word.eq_ignore_ascii_case("e")
            && self.b.get(j) == Some(&b'\'')
        {
            self.resolve_pending_end(None);
            self.i = j;
            return self.quoted(b'\'', true);
        }
        let upper = word.to_ascii_uppercase();
        if self.resolve_pending_end(Some(&upper)) {
            // `END IF`, `END CASE`, … : the word belonged to the END.
            self.i = j;
            self.code_end = Some(j);
            return;
        }
        self.track_word(&upper);
        self.i = j;
        self.code_end = Some(j);
    }

    /// Keeps the header and BEGIN/CASE/END depth of the current statement.
    fn track_word(&mut self, upper: &str) {
        if self.words == 0 {
            self.create = upper == "CREATE";
        }
        self.words += 1;
        if self.create
            && !self.compound
            && !self.paren
            && self.words <= HEADER_WORDS
            && COMPOUND_KINDS.contains(&upper)
        {
            self.compound = true;
        }
        if !self.compound {
            return;
        }
        match upper {
            "BEGIN" => self.depth += 1,
            "CASE" if self.depth > 0 => self.depth += 1,
            "END" if self.depth > 0 => self.pending_end = true,
            _ => {}
        }
    }

    /// Settles a pending END given the next token (`None`: not a word).
    /// Returns true when `next` was consumed as part of the END.
    fn resolve_pending_end(&mut self, next: Option<&str>) -> bool {
        if !self.pending_end {
            return false;
        }
        self.pending_end = false;
        match next {
            // MySQL closes IF/LOOP/WHILE/REPEAT, which never opened a level.
            Some("IF" | "LOOP" | "WHILE" | "REPEAT") if self.dialect == Dialect::Mysql => true,
            Some("CASE") if self.dialect == Dialect::Mysql => {
                self.depth = self.depth.saturating_sub(1);
                true
            }
            _ => {
                self.depth = self.depth.saturating_sub(1);
                false
            }
        }
    }

    fn semicolon(&mut self) {
        self.resolve_pending_end(None);
        if self.depth > 0 {
            self.i += 1;
            return;
        }
        self.finish_statement();
        self.i += 1;
        self.start = self.i;
    }

    /// Ends the current statement (its text stops at its last code token).
    fn finish_statement(&mut self) {
        if let Some(end) = self.code_end {
            let text = self.s[self.start..end].trim();
            if !text.is_empty() {
                self.out.push(text.to_string());
            }
        }
        self.code_end = None;
        self.words = 0;
        self.create = false;
        self.paren = false;
        self.compound = false;
        self.depth = 0;
        self.pending_end = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(sql: &str, d: Dialect) -> Vec<String> {
        split_statements(sql, d)
    }

    fn all(sql: &str) -> Vec<String> {
        let first = split(sql, Dialect::Sqlite);
        for d in Dialect::ALL {
            assert_eq!(split(sql, d), first, "{d} differs on {sql:?}");
        }
        first
    }

    #[test]
    fn basic_split_trim_and_drop_empty() {
        assert_eq!(all("SELECT 1; SELECT 2;"), ["SELECT 1", "SELECT 2"]);
        assert_eq!(all("  SELECT 1  "), ["SELECT 1"]);
        assert_eq!(all(";;  ; \n"), Vec::<String>::new());
        assert_eq!(all(""), Vec::<String>::new());
        assert_eq!(all("a;\n\n;b"), ["a", "b"]);
        assert_eq!(
            all("CREATE TABLE t (\n  id INTEGER\n);\nINSERT INTO t VALUES (1);"),
            [
                "CREATE TABLE t (\n  id INTEGER\n)",
                "INSERT INTO t VALUES (1)"
            ]
        );
    }

    #[test]
    fn quotes_hide_semicolons() {
        assert_eq!(all("SELECT 'a;b'; SELECT 2"), ["SELECT 'a;b'", "SELECT 2"]);
        assert_eq!(all("SELECT 'it''s;'; x"), ["SELECT 'it''s;'", "x"]);
        assert_eq!(
            all("SELECT \"a;\"\"b\" FROM t; x"),
            ["SELECT \"a;\"\"b\" FROM t", "x"]
        );
        assert_eq!(
            all("SELECT ';' || '--' || '/*'; x"),
            ["SELECT ';' || '--' || '/*'", "x"]
        );
    }

    #[test]
    fn backslash_escapes_only_where_the_dialect_has_them() {
        let sql = r"SELECT 'a\'; b'; SELECT 2";
        assert_eq!(split(sql, Dialect::Mysql), [r"SELECT 'a\'; b'", "SELECT 2"]);
        assert_eq!(
            split(sql, Dialect::Sqlite),
            [r"SELECT 'a\'", "b'; SELECT 2"]
        );
        assert_eq!(
            split(sql, Dialect::Postgres),
            [r"SELECT 'a\'", "b'; SELECT 2"]
        );
        let sql = r"SELECT E'a\'; b'; SELECT 2";
        assert_eq!(
            split(sql, Dialect::Postgres),
            [r"SELECT E'a\'; b'", "SELECT 2"]
        );
        let sql = r#"SELECT "a\"; b"; SELECT 2"#;
        assert_eq!(
            split(sql, Dialect::Mysql),
            [r#"SELECT "a\"; b""#, "SELECT 2"]
        );
        // `e` at the end of a word is not an E-string prefix.
        let sql = r"SELECT some'a\'; x'";
        assert_eq!(split(sql, Dialect::Postgres), [r"SELECT some'a\'", "x'"]);
    }

    #[test]
    fn backticks_and_brackets() {
        assert_eq!(
            split("SELECT `a;b`; x", Dialect::Mysql),
            ["SELECT `a;b`", "x"]
        );
        assert_eq!(
            split("SELECT `a;b`; x", Dialect::Sqlite),
            ["SELECT `a;b`", "x"]
        );
        assert_eq!(
            split("SELECT [a;b]; x", Dialect::Sqlite),
            ["SELECT [a;b]", "x"]
        );
        assert_eq!(
            split("SELECT a[1]; x", Dialect::Postgres),
            ["SELECT a[1]", "x"]
        );
    }

    #[test]
    fn comments() {
        assert_eq!(all("-- a; b\nSELECT 1; x"), ["-- a; b\nSELECT 1", "x"]);
        assert_eq!(all("/* a; b */ SELECT 1; x"), ["/* a; b */ SELECT 1", "x"]);
        assert_eq!(all("SELECT 1; -- trailing only\n"), ["SELECT 1"]);
        assert_eq!(all("SELECT 1 -- note\n"), ["SELECT 1"]);
        assert_eq!(all("SELECT 1 /* note */ ;x"), ["SELECT 1", "x"]);
        assert_eq!(all("-- only a comment"), Vec::<String>::new());
        assert_eq!(all("/* unterminated ; comment"), Vec::<String>::new());
        assert_eq!(
            all("SELECT 1 /* x */ + 2; y"),
            ["SELECT 1 /* x */ + 2", "y"]
        );
    }

    #[test]
    fn mysql_comment_rules() {
        assert_eq!(
            split("# c;\nSELECT 1; x", Dialect::Mysql),
            ["# c;\nSELECT 1", "x"]
        );
        assert_eq!(
            split("SELECT 1 # c;\n; x", Dialect::Mysql),
            ["SELECT 1", "x"]
        );
        assert_eq!(
            split("SELECT 1 # x; y", Dialect::Postgres),
            ["SELECT 1 # x", "y"]
        );
        // `--x` is not a comment in MySQL (it is `- -x`).
        assert_eq!(
            split("SELECT 1--1; x", Dialect::Mysql),
            ["SELECT 1--1", "x"]
        );
        assert_eq!(
            split("SELECT 1--\nx; y", Dialect::Mysql),
            ["SELECT 1--\nx", "y"]
        );
        // Executable comments are code.
        assert_eq!(
            split("/*!40101 SET NAMES utf8 */;\nSELECT 1", Dialect::Mysql),
            ["/*!40101 SET NAMES utf8 */", "SELECT 1"]
        );
    }

    #[test]
    fn postgres_nested_comments() {
        let sql = "/* a /* b; */ c; */ SELECT 1; x";
        assert_eq!(
            split(sql, Dialect::Postgres),
            ["/* a /* b; */ c; */ SELECT 1", "x"]
        );
        assert_eq!(
            split(sql, Dialect::Sqlite),
            ["/* a /* b; */ c", "*/ SELECT 1", "x"]
        );
    }

    #[test]
    fn dollar_quotes() {
        let f =
            "CREATE FUNCTION f() RETURNS int AS $$\nBEGIN\n  RETURN 1;\nEND;\n$$ LANGUAGE plpgsql";
        let sql = format!("{f};\nSELECT f();");
        assert_eq!(split(&sql, Dialect::Postgres), [f, "SELECT f()"]);
        let tagged = "DO $body$ BEGIN PERFORM 1; RAISE NOTICE '$$'; END $body$";
        assert_eq!(
            split(&format!("{tagged}; x"), Dialect::Postgres),
            [tagged, "x"]
        );
        // `$1` is a parameter; `a$b$` is an identifier.
        assert_eq!(
            split("SELECT $1; SELECT a$b$; x", Dialect::Postgres),
            ["SELECT $1", "SELECT a$b$", "x"]
        );
        assert_eq!(
            split("SELECT $1, $2; x", Dialect::Postgres),
            ["SELECT $1, $2", "x"]
        );
        // Unterminated: to the end.
        assert_eq!(split("SELECT $$a; b", Dialect::Postgres), ["SELECT $$a; b"]);
        // Not a dollar quote in SQLite.
        assert_eq!(
            split("SELECT $$a; b$$", Dialect::Sqlite),
            ["SELECT $$a", "b$$"]
        );
    }

    #[test]
    fn sqlite_trigger_bodies() {
        let trig = "CREATE TRIGGER t AFTER INSERT ON a BEGIN\n  UPDATE b SET n = n + 1;\n  INSERT INTO c VALUES (CASE WHEN new.x THEN 1 ELSE 2 END);\nEND";
        let sql = format!("{trig};\nSELECT 1;");
        assert_eq!(split(&sql, Dialect::Sqlite), [trig, "SELECT 1"]);
        let temp = "create temp trigger if not exists t before delete on a begin select raise(abort, 'no;'); end";
        assert_eq!(split(&format!("{temp}; x"), Dialect::Sqlite), [temp, "x"]);
        // A BEGIN outside a trigger is a transaction statement.
        assert_eq!(
            all("BEGIN; SELECT 1; COMMIT;"),
            ["BEGIN", "SELECT 1", "COMMIT"]
        );
        // A column named `begin` in a table is not a body.
        assert_eq!(
            split(
                "CREATE TABLE trigger_log (begin INT, \"end\" INT); x",
                Dialect::Sqlite
            ),
            ["CREATE TABLE trigger_log (begin INT, \"end\" INT)", "x"]
        );
        assert_eq!(
            split(
                "CREATE TABLE t (function TEXT, begin INT); x",
                Dialect::Sqlite
            ),
            ["CREATE TABLE t (function TEXT, begin INT)", "x"]
        );
        // CASE … END at the top level does not touch the depth.
        assert_eq!(
            all("SELECT CASE WHEN 1 THEN 2 END; x"),
            ["SELECT CASE WHEN 1 THEN 2 END", "x"]
        );
    }

    #[test]
    fn mysql_compound_bodies() {
        let trig = "CREATE DEFINER=`root`@`%` TRIGGER t BEFORE INSERT ON a FOR EACH ROW\nBEGIN\n  IF NEW.x < 0 THEN\n    SET NEW.x = 0;\n  END IF;\n  CASE NEW.y WHEN 1 THEN SET NEW.z = 1; ELSE SET NEW.z = 2; END CASE;\n  WHILE 0 DO SET @a = 1; END WHILE;\n  lbl: LOOP LEAVE lbl; END LOOP lbl;\n  BEGIN SET @b = 1; END;\nEND";
        let sql = format!("{trig};\nSELECT 1;");
        assert_eq!(split(&sql, Dialect::Mysql), [trig, "SELECT 1"]);
        let proc_ = "CREATE PROCEDURE p() BEGIN SELECT IF(1, 'a', 'b'); END";
        assert_eq!(split(&format!("{proc_}; x"), Dialect::Mysql), [proc_, "x"]);
        let one = "CREATE TRIGGER t BEFORE INSERT ON a FOR EACH ROW SET NEW.x = 1";
        assert_eq!(split(&format!("{one}; x"), Dialect::Mysql), [one, "x"]);
    }

    #[test]
    fn postgres_begin_atomic() {
        let f = "CREATE FUNCTION f(a int) RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN a > 0 THEN 1 END; SELECT 2; END";
        assert_eq!(split(&format!("{f}; x"), Dialect::Postgres), [f, "x"]);
        let trig = "CREATE TRIGGER t BEFORE INSERT ON a FOR EACH ROW EXECUTE FUNCTION f()";
        assert_eq!(split(&format!("{trig}; x"), Dialect::Postgres), [trig, "x"]);
    }

    #[test]
    fn unterminated_quotes_run_to_the_end() {
        assert_eq!(all("SELECT 'abc; SELECT 2"), ["SELECT 'abc; SELECT 2"]);
        assert_eq!(all("SELECT \"abc; SELECT 2"), ["SELECT \"abc; SELECT 2"]);
        assert_eq!(split("SELECT [abc; x", Dialect::Sqlite), ["SELECT [abc; x"]);
        assert_eq!(split("SELECT 'a\\", Dialect::Mysql), ["SELECT 'a\\"]);
    }

    #[test]
    fn unicode_is_kept_whole() {
        assert_eq!(
            all("SELECT 'é;ü'; SELECT ñ; -- ü\n"),
            ["SELECT 'é;ü'", "SELECT ñ"]
        );
        assert_eq!(
            split("SELECT $é$ ; $é$; x", Dialect::Postgres),
            ["SELECT $é$ ; $é$", "x"]
        );
    }

    #[test]
    fn never_panics_on_odd_input() {
        let inputs = [
            "$",
            "$$",
            "$a",
            "'",
            "\"",
            "`",
            "[",
            "/*",
            "/",
            "-",
            "--",
            "#",
            "E",
            "E'",
            "\\",
            "'\\",
            "CREATE",
            "CREATE TRIGGER",
            "CREATE TRIGGER BEGIN END END END;;",
            "END;",
            "é",
            "$é",
            "/*!",
            "CREATE TRIGGER t BEGIN CASE",
            "x$",
            "x$$y",
            "BEGIN END IF;",
        ];
        for s in inputs {
            for d in Dialect::ALL {
                let _ = split(s, d);
            }
        }
    }
}
