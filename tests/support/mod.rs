//! Test support: a project builder ([`Project`]), a runner for the `retort`
//! binary ([`Run`]), snapshot files ([`assert_snapshot`]) and, in
//! [`servers`], throw-away PostgreSQL and MySQL databases.
//!
//! Every test builds its own project in a temporary directory, so tests run
//! in parallel and never touch the repository (or its `app.db`).

// Not every helper is used by every milestone's tests (the server helpers
// are for the live runner); unused ones must not fail `clippy -D warnings`.
#![allow(dead_code)]

pub mod live;
pub mod servers;

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A temporary project directory with an `alembic.toml`.
pub struct Project {
    dir: tempfile::TempDir,
    lanes: Vec<(String, String)>,
}

impl Project {
    /// A project with one lane, `schema = "migrations/schema"`, and a SQLite
    /// URL: behaves exactly like an Alembic project (design §6).
    pub fn new() -> Project {
        Project::with_lanes(&[("schema", "migrations/schema")])
    }

    /// A project with the given lanes (name, directory) in config order.
    pub fn with_lanes(lanes: &[(&str, &str)]) -> Project {
        let mut config = String::from("[database]\nurl = \"sqlite://app.db\"\n\n[lanes]\n");
        for (name, dir) in lanes {
            writeln!(config, "{name} = \"{dir}\"").unwrap();
        }
        config.push_str("\n[revision]\nformat = \"toml\"\n");
        let project = Project::with_config(&config);
        let lanes: Vec<(String, String)> = lanes
            .iter()
            .map(|(n, d)| (n.to_string(), d.to_string()))
            .collect();
        for (_, dir) in &lanes {
            fs::create_dir_all(project.root().join(dir)).unwrap();
        }
        Project { lanes, ..project }
    }

    /// A project whose `alembic.toml` is exactly `config` (no lane
    /// directories are created; write files with [`Project::file`]).
    pub fn with_config(config: &str) -> Project {
        let project = Project::empty();
        project.file("alembic.toml", config);
        Project {
            lanes: vec![("schema".into(), "migrations/schema".into())],
            ..project
        }
    }

    /// An empty directory: no config at all (for `init`).
    pub fn empty() -> Project {
        let dir = tempfile::Builder::new()
            .prefix("retort-test-")
            .tempdir()
            .expect("create a temporary directory");
        Project {
            dir,
            lanes: Vec::new(),
        }
    }

    /// A copy of this repository's example project (`alembic.toml` and
    /// `migrations/`), so that tests never write next to the real one.
    pub fn example() -> Project {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        let project = Project::empty();
        fs::copy(
            repo.join("alembic.toml"),
            project.root().join("alembic.toml"),
        )
        .unwrap();
        copy_dir(&repo.join("migrations"), &project.root().join("migrations"));
        Project {
            lanes: vec![
                ("schema".into(), "migrations/schema".into()),
                ("data".into(), "migrations/data".into()),
            ],
            ..project
        }
    }

    /// The project directory.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `content` to `rel` (creating directories); returns the path.
    pub fn file(&self, rel: &str, content: &str) -> PathBuf {
        let path = self.root().join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, content).unwrap();
        path
    }

    /// Reads `rel`.
    pub fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.root().join(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
    }

    /// File names in the directory `rel`, sorted (empty when it is missing).
    pub fn files_in(&self, rel: &str) -> Vec<String> {
        let Ok(entries) = fs::read_dir(self.root().join(rel)) else {
            return Vec::new();
        };
        let mut names: Vec<String> = entries
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// The directory of `lane` as configured.
    pub fn lane_dir(&self, lane: &str) -> &str {
        self.lanes
            .iter()
            .find(|(name, _)| name == lane)
            .map(|(_, dir)| dir.as_str())
            .unwrap_or_else(|| panic!("no lane {lane} in this project"))
    }

    /// Starts a revision file with id `id` in the first lane; finish it
    /// with [`RevisionFile::write`].
    pub fn rev(&self, id: &str) -> RevisionFile<'_> {
        RevisionFile {
            project: self,
            lane: self.lanes.first().map(|l| l.0.clone()).unwrap_or_default(),
            id: id.to_string(),
            parents: Vec::new(),
            labels: Vec::new(),
            depends_on: Vec::new(),
            message: format!("revision {id}"),
            up: Vec::new(),
            down: Vec::new(),
            sql_format: false,
            transactional: true,
            body: None,
            named: None,
        }
    }

    /// Starts revision `id`, message `create <table>`, that creates and drops `table`.
    pub fn table_rev(&self, id: &str, table: &str) -> RevisionFile<'_> {
        self.rev(id)
            .message(&format!("create {table}"))
            .up(&format!("CREATE TABLE {table} (id INTEGER PRIMARY KEY)"))
            .down(&format!("DROP TABLE {table}"))
    }

    /// Runs `retort ARGS` in the project directory.
    pub fn retort(&self, args: &[&str]) -> Run {
        self.retort_env(args, &[])
    }

    /// The `retort ARGS` command every run uses (project dir, clean env), not started.
    pub fn command<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_retort"));
        cmd.args(args)
            .current_dir(self.root())
            .env_remove("DATABASE_URL")
            .env_remove("RUST_LOG")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        cmd
    }

    /// Runs `retort ARGS` in the project directory with extra environment.
    pub fn retort_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut cmd = self.command(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("run the retort binary");
        Run {
            args: args.iter().map(|a| a.to_string()).collect(),
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            root: self.root().to_path_buf(),
        }
    }
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A revision file being described; [`RevisionFile::write`] writes it in the
/// TOML format (design §4.1) or, after [`RevisionFile::sql_format`], the SQL
/// format (§4.2). The file name is `<id>_<slug>.<ext>`.
pub struct RevisionFile<'p> {
    project: &'p Project,
    lane: String,
    id: String,
    parents: Vec<String>,
    labels: Vec<String>,
    depends_on: Vec<String>,
    message: String,
    /// Upgrade steps: default SQL and (dialect, SQL) variants.
    up: Vec<(String, Vec<(String, String)>)>,
    down: Vec<String>,
    sql_format: bool,
    transactional: bool,
    /// Verbatim TOML after the header, instead of `up`/`down`.
    body: Option<String>,
    /// A file name instead of `<id>_<slug>.<ext>`.
    named: Option<String>,
}

impl RevisionFile<'_> {
    /// The lane (default: the project's first lane).
    pub fn lane(mut self, lane: &str) -> Self {
        self.lane = lane.to_string();
        self
    }
    /// Adds a `down_revision` (call twice, or use `parents`, for a merge).
    pub fn parent(mut self, id: &str) -> Self {
        self.parents.push(id.to_string());
        self
    }
    /// Sets every `down_revision`, in order.
    pub fn parents(mut self, ids: &[&str]) -> Self {
        self.parents = ids.iter().map(|s| s.to_string()).collect();
        self
    }
    /// Adds a branch label.
    pub fn label(mut self, label: &str) -> Self {
        self.labels.push(label.to_string());
        self
    }
    /// Adds a `depends_on` entry (id or label).
    pub fn depends_on(mut self, id: &str) -> Self {
        self.depends_on.push(id.to_string());
        self
    }
    /// The message (also the file name's slug).
    pub fn message(mut self, message: &str) -> Self {
        self.message = message.to_string();
        self
    }
    /// Adds an upgrade `sql` step.
    pub fn up(mut self, sql: &str) -> Self {
        self.up.push((sql.to_string(), Vec::new()));
        self
    }
    /// Adds a per-dialect variant (`sqlite`, `postgresql`, `mysql`) to the
    /// last upgrade step (TOML format only).
    pub fn variant(mut self, dialect: &str, sql: &str) -> Self {
        let step = self.up.last_mut().expect("variant() after up()");
        step.1.push((dialect.to_string(), sql.to_string()));
        self
    }
    /// Adds a downgrade `sql` step.
    pub fn down(mut self, sql: &str) -> Self {
        self.down.push(sql.to_string());
        self
    }
    /// Writes the SQL format instead of TOML.
    pub fn sql_format(mut self) -> Self {
        self.sql_format = true;
        self
    }
    /// Marks the revision `transactional = false`.
    pub fn non_transactional(mut self) -> Self {
        self.transactional = false;
        self
    }
    /// Verbatim TOML after the header (`revision` .. `message`), for steps `up` cannot write.
    ///
    /// No `created` line or empty step list is added: line numbers in
    /// `toml` follow the header's last line.
    pub fn body(mut self, toml: &str) -> Self {
        self.body = Some(toml.to_string());
        self
    }
    /// Writes to `name` in the lane instead of `<id>_<slug>.<ext>` (again: replaces it).
    pub fn named(mut self, name: &str) -> Self {
        self.named = Some(name.to_string());
        self
    }

    /// The file name this revision gets.
    pub fn file_name(&self) -> String {
        if let Some(name) = &self.named {
            return name.clone();
        }
        let ext = if self.sql_format { "sql" } else { "toml" };
        format!("{}_{}.{ext}", self.id, slug(&self.message))
    }

    /// Writes the file; returns its path relative to the project root.
    pub fn write(self) -> String {
        let rel = format!("{}/{}", self.project.lane_dir(&self.lane), self.file_name());
        let content = if self.body.is_some() {
            self.to_toml_with_body()
        } else if self.sql_format {
            self.to_sql()
        } else {
            self.to_toml()
        };
        self.project.file(&rel, &content);
        rel
    }

    /// The TOML lines from `revision` to `message`.
    fn toml_header(&self) -> String {
        let mut s = String::new();
        writeln!(s, "revision = {}", toml_str(&self.id)).unwrap();
        match self.parents.as_slice() {
            [] => {}
            [one] => writeln!(s, "down_revision = {}", toml_str(one)).unwrap(),
            many => writeln!(s, "down_revision = {}", toml_list(many)).unwrap(),
        }
        if !self.labels.is_empty() {
            writeln!(s, "branch_labels = {}", toml_list(&self.labels)).unwrap();
        }
        if !self.depends_on.is_empty() {
            writeln!(s, "depends_on = {}", toml_list(&self.depends_on)).unwrap();
        }
        writeln!(s, "message = {}", toml_str(&self.message)).unwrap();
        s
    }

    fn to_toml_with_body(&self) -> String {
        assert!(
            self.up.is_empty() && self.down.is_empty() && self.transactional && !self.sql_format,
            "body() is the whole rest of a TOML file: no up(), down(), \
             non_transactional() or sql_format() with it"
        );
        self.toml_header() + self.body.as_deref().unwrap_or_default()
    }

    fn to_toml(&self) -> String {
        let mut s = self.toml_header();
        writeln!(s, "created = 2026-11-23T12:00:00Z").unwrap();
        if !self.transactional {
            s.push_str("transactional = false\n");
        }
        // Empty step lists must be written before the first [[table]].
        if self.up.is_empty() {
            s.push_str("upgrade = []\n");
        }
        if self.down.is_empty() {
            s.push_str("downgrade = []\n");
        }
        for (sql, variants) in &self.up {
            write!(s, "\n[[upgrade]]\nop = \"sql\"\nsql = {}\n", toml_str(sql)).unwrap();
            for (dialect, text) in variants {
                writeln!(s, "{dialect} = {}", toml_str(text)).unwrap();
            }
        }
        for sql in &self.down {
            write!(
                s,
                "\n[[downgrade]]\nop = \"sql\"\nsql = {}\n",
                toml_str(sql)
            )
            .unwrap();
        }
        s
    }

    fn to_sql(&self) -> String {
        assert!(
            self.up.iter().all(|(_, v)| v.is_empty()),
            "the SQL format has no per-dialect variants"
        );
        let mut s = String::new();
        writeln!(s, "-- revision: {}", self.id).unwrap();
        if !self.parents.is_empty() {
            writeln!(s, "-- down_revision: {}", self.parents.join(", ")).unwrap();
        }
        if !self.labels.is_empty() {
            writeln!(s, "-- branch_labels: {}", self.labels.join(", ")).unwrap();
        }
        writeln!(s, "-- message: {}", self.message).unwrap();
        writeln!(s, "-- created: 2026-11-23T12:00:00Z").unwrap();
        if !self.transactional {
            writeln!(s, "-- transactional: false").unwrap();
        }
        if self.depends_on.is_empty() {
            writeln!(s, "-- depends_on:").unwrap();
        } else {
            writeln!(s, "-- depends_on: {}", self.depends_on.join(", ")).unwrap();
        }
        s.push_str("\n-- migrate:upgrade\n");
        for (sql, _) in &self.up {
            writeln!(s, "{};", sql.trim_end_matches(';')).unwrap();
        }
        s.push_str("\n-- migrate:downgrade\n");
        for sql in &self.down {
            writeln!(s, "{};", sql.trim_end_matches(';')).unwrap();
        }
        s
    }
}

/// Alembic's slug: the `\w+` words of the message, lowercased, joined by `_`.
pub fn slug(message: &str) -> String {
    message
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join("_")
}

fn toml_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn toml_list(items: &[String]) -> String {
    let items: Vec<String> = items.iter().map(|s| toml_str(s)).collect();
    format!("[{}]", items.join(", "))
}

/// The outcome of one `retort` process.
pub struct Run {
    /// The arguments, for failure messages.
    pub args: Vec<String>,
    /// The exit code (-1 when killed by a signal).
    pub code: i32,
    /// Everything written to stdout.
    pub stdout: String,
    /// Everything written to stderr.
    pub stderr: String,
    root: PathBuf,
}

impl Run {
    /// Asserts exit code 0.
    #[track_caller]
    pub fn success(&self) -> &Run {
        self.code(0)
    }

    /// Asserts the exit code.
    #[track_caller]
    pub fn code(&self, expected: i32) -> &Run {
        assert_eq!(
            self.code,
            expected,
            "`retort {}` exited with {} (expected {expected})\n--- stdout\n{}--- stderr\n{}",
            self.args.join(" "),
            self.code,
            self.stdout,
            self.stderr
        );
        self
    }

    /// Asserts exit code 1 and that stderr contains `text`.
    #[track_caller]
    pub fn fails_with(&self, text: &str) -> &Run {
        self.code(1);
        assert!(
            self.stderr.contains(text),
            "`retort {}`: stderr lacks {text:?}\n--- stderr\n{}",
            self.args.join(" "),
            self.stderr
        );
        self
    }

    /// stdout with the project path replaced by `[ROOT]`.
    pub fn stdout(&self) -> String {
        normalize(&self.stdout, &self.root)
    }

    /// stderr with the project path replaced by `[ROOT]`.
    pub fn stderr(&self) -> String {
        normalize(&self.stderr, &self.root)
    }

    /// The lines of stdout that start with `-- Running ` (the step comments
    /// of an offline script), with trailing whitespace removed: a downgrade
    /// to base ends in `-> ` in Alembic, and editors strip that space.
    pub fn running_lines(&self) -> Vec<String> {
        self.stdout
            .lines()
            .filter(|l| l.starts_with("-- Running "))
            .map(|l| l.trim_end().to_string())
            .collect()
    }

    /// The statements of an offline script: the text between blank lines
    /// (Alembic follows every statement with a blank line), comments apart.
    pub fn statements(&self) -> Vec<String> {
        self.stdout
            .split("\n\n")
            .map(str::trim)
            .filter(|s| !s.is_empty() && !s.starts_with("-- "))
            .map(str::to_string)
            .collect()
    }

    /// Statements that write the version table itself (INSERT INTO or
    /// DELETE FROM `_versions`, not `_versions_log`), quotes ignored: from
    /// the line that starts one to the line that ends with `;`.
    pub fn version_statements(&self) -> Vec<String> {
        let starts = |line: &str| {
            let t: String = line.chars().filter(|c| !matches!(c, '"' | '`')).collect();
            let t = t.to_ascii_uppercase();
            ["INSERT INTO _VERSIONS", "DELETE FROM _VERSIONS"]
                .iter()
                .any(|p| {
                    t.strip_prefix(p)
                        .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '(']))
                })
        };
        let mut out = Vec::new();
        let mut current: Option<String> = None;
        for line in self.stdout.lines() {
            if current.is_none() && starts(line) {
                current = Some(String::new());
            }
            if let Some(stmt) = current.as_mut() {
                stmt.push_str(line);
                stmt.push('\n');
                if line.trim_end().ends_with(';') {
                    out.push(current.take().unwrap());
                }
            }
        }
        out
    }

    /// Asserts that every step of an offline script runs in its own
    /// transaction: each `-- Running` comment comes right after a `BEGIN;`
    /// (no other step in between), and every `BEGIN;` is closed.
    #[track_caller]
    pub fn each_step_in_its_own_transaction(&self) -> &Run {
        let mut last = None;
        let (mut begins, mut commits) = (0, 0);
        for line in self.stdout.lines().map(str::trim_end) {
            if line == "BEGIN;" {
                assert_ne!(
                    last,
                    Some('B'),
                    "BEGIN inside a transaction:\n{}",
                    self.stdout
                );
                begins += 1;
                last = Some('B');
            } else if line == "COMMIT;" {
                assert!(last.is_some(), "COMMIT first:\n{}", self.stdout);
                commits += 1;
                last = Some('C');
            } else if line.starts_with("-- Running ") {
                assert_eq!(
                    last,
                    Some('B'),
                    "{line:?} is not alone in a transaction:\n{}",
                    self.stdout
                );
                last = Some('R');
            }
        }
        assert_eq!(begins, commits, "unbalanced BEGIN/COMMIT:\n{}", self.stdout);
        assert_ne!(
            last,
            Some('B'),
            "ends inside a transaction:\n{}",
            self.stdout
        );
        self
    }

    /// Asserts that neither stdout nor stderr contains `secret`.
    #[track_caller]
    pub fn never_shows(&self, secret: &str) -> &Run {
        assert!(
            !self.stdout.contains(secret) && !self.stderr.contains(secret),
            "`retort {}` printed {secret:?}\n--- stdout\n{}--- stderr\n{}",
            self.args.join(" "),
            self.stdout,
            self.stderr
        );
        self
    }
}

/// Replaces the project directory (as given and canonicalised) by `[ROOT]`.
pub fn normalize(text: &str, root: &Path) -> String {
    let mut out = text.to_string();
    let mut roots = vec![root.to_path_buf()];
    if let Ok(canonical) = root.canonicalize() {
        roots.push(canonical);
    }
    // Longest first, so that a canonical path containing the other is
    // replaced whole.
    roots.sort_by_key(|r| std::cmp::Reverse(r.as_os_str().len()));
    for r in roots {
        out = out.replace(&*r.to_string_lossy(), "[ROOT]");
    }
    out
}

/// Replaces ISO timestamps (`2026-11-23T12:00:00Z`, `2026-11-23 12:00:00.123`)
/// by `[TIMESTAMP]`, for output that records the time of the run.
pub fn normalize_timestamps(text: &str) -> String {
    let b = text.as_bytes();
    let digits =
        |i: usize, n: usize| i + n <= b.len() && b[i..i + n].iter().all(u8::is_ascii_digit);
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        let is_ts = digits(i, 4)
            && b.get(i + 4) == Some(&b'-')
            && digits(i + 5, 2)
            && b.get(i + 7) == Some(&b'-')
            && digits(i + 8, 2)
            && matches!(b.get(i + 10), Some(b'T' | b' '))
            && digits(i + 11, 2)
            && b.get(i + 13) == Some(&b':')
            && digits(i + 14, 2)
            && b.get(i + 16) == Some(&b':')
            && digits(i + 17, 2);
        if !is_ts {
            let ch = text[i..].chars().next().unwrap();
            out.push(ch);
            i += ch.len_utf8();
            continue;
        }
        i += 19;
        if b.get(i) == Some(&b'.') {
            i += 1;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
        }
        if matches!(b.get(i), Some(b'Z')) {
            i += 1;
        } else if b.get(i) == Some(&b'+') && digits(i + 1, 2) && b.get(i + 3) == Some(&b':') {
            i += 6;
        }
        out.push_str("[TIMESTAMP]");
    }
    out
}

/// Compares `actual` with `tests/snapshots/<name>.txt`.
///
/// With `RETORT_BLESS=1` the file is (re)written instead. A missing file
/// fails the test, so that CI never passes on output nobody reviewed.
#[track_caller]
pub fn assert_snapshot(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(format!("{name}.txt"));
    if std::env::var_os("RETORT_BLESS").is_some_and(|v| v == "1") {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, actual).unwrap();
        return;
    }
    let Ok(expected) = fs::read_to_string(&path) else {
        panic!(
            "no snapshot {}; review this output and rerun with RETORT_BLESS=1 to keep it:\n{actual}",
            path.display()
        );
    };
    if expected != actual {
        panic!(
            "snapshot {} differs (rerun with RETORT_BLESS=1 to accept):\n{}",
            path.display(),
            line_diff(&expected, actual)
        );
    }
}

/// A small line diff: `-` expected, `+` actual, ` ` both.
fn line_diff(expected: &str, actual: &str) -> String {
    let (e, a): (Vec<&str>, Vec<&str>) =
        (expected.split('\n').collect(), actual.split('\n').collect());
    // Longest common subsequence table; outputs here are small.
    let mut lcs = vec![vec![0usize; a.len() + 1]; e.len() + 1];
    for i in (0..e.len()).rev() {
        for j in (0..a.len()).rev() {
            lcs[i][j] = if e[i] == a[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, String::new());
    while i < e.len() || j < a.len() {
        if i < e.len() && j < a.len() && e[i] == a[j] {
            writeln!(out, "  {}", e[i]).unwrap();
            i += 1;
            j += 1;
        } else if j < a.len() && (i == e.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            writeln!(out, "+ {}", a[j]).unwrap();
            j += 1;
        } else {
            writeln!(out, "- {}", e[i]).unwrap();
            i += 1;
        }
    }
    out
}

/// Asserts that `needles` occur in `haystack` in this order.
#[track_caller]
pub fn assert_in_order(haystack: &str, needles: &[&str]) {
    let mut from = 0;
    for needle in needles {
        match haystack[from..].find(needle) {
            Some(pos) => from += pos + needle.len(),
            None => panic!("{needle:?} not found (in this order) in:\n{haystack}"),
        }
    }
}

/// The support code's own checks: the files the builder writes are what
/// the contract's formats say, and the normalisers do what they claim.
mod selftest {
    use super::*;

    #[test]
    fn builder_writes_design_4_1_toml() {
        let p = Project::new();
        let rel = p
            .rev("eee555")
            .parents(&["ccc333", "ddd444"])
            .label("feature")
            .depends_on("abc")
            .message("Merge: the \"branches\"")
            .up("SELECT 1")
            .variant("postgresql", "SELECT 2")
            .write();
        assert_eq!(rel, "migrations/schema/eee555_merge_the_branches.toml");
        assert_eq!(
            p.read(&rel),
            "revision = \"eee555\"\n\
             down_revision = [\"ccc333\", \"ddd444\"]\n\
             branch_labels = [\"feature\"]\n\
             depends_on = [\"abc\"]\n\
             message = \"Merge: the \\\"branches\\\"\"\n\
             created = 2026-11-23T12:00:00Z\n\
             downgrade = []\n\
             \n[[upgrade]]\nop = \"sql\"\nsql = \"SELECT 1\"\npostgresql = \"SELECT 2\"\n"
        );
    }

    #[test]
    fn builder_writes_design_4_2_sql() {
        let p = Project::new();
        let rel = p
            .rev("aaa111")
            .parent("zzz999")
            .message("raw")
            .up("SELECT 1;")
            .down("SELECT 2")
            .sql_format()
            .write();
        assert_eq!(
            p.read(&rel),
            "-- revision: aaa111\n-- down_revision: zzz999\n-- message: raw\n\
             -- created: 2026-11-23T12:00:00Z\n-- depends_on:\n\n\
             -- migrate:upgrade\nSELECT 1;\n\n-- migrate:downgrade\nSELECT 2;\n"
        );
    }

    #[test]
    fn normalisers() {
        assert_eq!(
            normalize_timestamps(
                "at 2026-11-23T12:00:00Z, 2026-11-23 12:00:00.123456+00:00 and 2026-11-23."
            ),
            "at [TIMESTAMP], [TIMESTAMP] and 2026-11-23."
        );
        let root = Path::new("/tmp/retort-test-x");
        assert_eq!(
            normalize("Path: /tmp/retort-test-x/a.toml", root),
            "Path: [ROOT]/a.toml"
        );
        assert_eq!(slug("Add account table!"), "add_account_table");
        assert_eq!(line_diff("a\nb", "a\nc"), "  a\n+ c\n- b\n");
    }

    fn fake(stdout: &str) -> Run {
        Run {
            args: vec![],
            code: 0,
            stdout: stdout.to_string(),
            stderr: String::new(),
            root: PathBuf::from("/nowhere"),
        }
    }

    #[test]
    fn script_helpers() {
        let run = fake(
            "CREATE TABLE IF NOT EXISTS _versions (\n    version VARCHAR(64) NOT NULL\n);\n\n\
             BEGIN;\n\n-- Running upgrade  -> a1\n\nCREATE TABLE t (id INTEGER);\n\n\
             INSERT INTO \"_versions\" (version, lane)\n    VALUES ('a1', 'schema');\n\n\
             INSERT INTO _versions_log (version) VALUES ('a1');\n\nCOMMIT;\n\n\
             BEGIN;\n\n-- Running downgrade a1 -> \n\nDELETE FROM _versions WHERE version = 'a1';\n\nCOMMIT;\n\n",
        );
        run.each_step_in_its_own_transaction();
        assert_eq!(
            run.running_lines(),
            ["-- Running upgrade  -> a1", "-- Running downgrade a1 ->"]
        );
        assert_eq!(
            run.version_statements(),
            [
                "INSERT INTO \"_versions\" (version, lane)\n    VALUES ('a1', 'schema');\n",
                "DELETE FROM _versions WHERE version = 'a1';\n"
            ]
        );
        let two_steps_one_tx =
            fake("BEGIN;\n-- Running upgrade  -> a\n-- Running upgrade a -> b\nCOMMIT;\n");
        let caught = std::panic::catch_unwind(|| {
            two_steps_one_tx.each_step_in_its_own_transaction();
        });
        assert!(caught.is_err());
    }
}
