//! Live-runner support: one test body run against each backend, and direct
//! inspection of the database the binary wrote to.
//!
//! A scenario is a plain function `fn name(live: Live)`; `per_backend!(name)`
//! turns it into three tests, `name::sqlite`, `name::postgres` and
//! `name::mysql` (a module and a function may share a name: they live in
//! different namespaces). Filter with `cargo test name::` or `cargo test
//! ::sqlite`. Without the `paste` crate a macro cannot build the identifier
//! `name_sqlite`, hence the module.
//!
//! [`Live`] owns the temporary [`Project`] and the database: a SQLite file
//! `app.db` in the project, or a fresh PostgreSQL/MariaDB database from
//! [`servers`] (skipped when the server is unreachable, unless
//! `RETORT_REQUIRE_SERVERS=1`). [`Live::retort`] runs the binary with
//! `--url <that database>`. The database is read back through the
//! command-line clients (`sqlite3`, `psql -At`, `mariadb -N -B`), never
//! through retort, so that a test sees what is really stored.
//!
//! Conventions of [`Live::rows`]: fields are tab-separated, SQL NULL reads
//! as the empty string on every backend (MariaDB prints `NULL`; it is
//! mapped), and rows come in the order the query asks for.

use std::collections::BTreeSet;
use std::io::Read as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::servers::{self, TestDb};
use super::{Project, Run};

/// Runs a scenario `fn(Live)` once per backend: `per_backend!(a, b)`
/// defines the tests `a::sqlite`, `a::postgres`, `a::mysql`, `b::sqlite`, …
macro_rules! per_backend {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[test]
            fn sqlite() {
                crate::support::live::run_on(crate::support::live::Backend::Sqlite, super::$name)
            }
            #[test]
            fn postgres() {
                crate::support::live::run_on(crate::support::live::Backend::Postgres, super::$name)
            }
            #[test]
            fn mysql() {
                crate::support::live::run_on(crate::support::live::Backend::Mysql, super::$name)
            }
        }
    )+};
}
pub(crate) use per_backend;

/// A database backend of the live runner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file in the project (`sqlite://app.db`).
    Sqlite,
    /// A fresh database on the PostgreSQL server.
    Postgres,
    /// A fresh database on the MySQL/MariaDB server.
    Mysql,
}

/// Builds a [`Live`] with a one-lane project on `backend` and runs `body`,
/// or returns (after `servers` printed why) when the server is missing.
pub fn run_on(backend: Backend, body: fn(Live)) {
    if let Some(live) = Live::new(backend) {
        body(live);
    }
}

/// A project and the database its commands run against.
pub struct Live {
    /// The temporary project (`Project::new()`: one lane, `schema`).
    pub project: Project,
    /// Which backend.
    pub backend: Backend,
    /// The URL passed as `--url`.
    pub url: String,
    server: Option<TestDb>,
}

/// One `_versions` row, as stored (NULL reads as "").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionRow {
    /// Revision id.
    pub version: String,
    /// Lane name.
    pub lane: String,
    /// applied | running | failed.
    pub state: String,
    /// SHA-256 hex of the normalised file.
    pub checksum: String,
    /// Progress JSON ("" when NULL).
    pub progress: String,
    /// Last error ("" when NULL).
    pub error: String,
}

/// One `_versions_log` row, in id order (NULL reads as "").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRow {
    /// upgrade | downgrade | stamp | amend | resolve.
    pub action: String,
    /// Revision id.
    pub version: String,
    /// ok | failed.
    pub outcome: String,
    /// Error text of a failure.
    pub error: String,
}

impl Live {
    /// A one-lane project and a fresh database on `backend`; `None` when
    /// the server is unreachable and not required.
    pub fn new(backend: Backend) -> Option<Live> {
        Live::with_project(backend, Project::new())
    }

    /// A one-lane project on a SQLite file (needs no server, never skipped).
    pub fn sqlite() -> Live {
        Live::new(Backend::Sqlite).expect("SQLite needs no server")
    }

    /// `project` and a fresh database on `backend`.
    pub fn with_project(backend: Backend, project: Project) -> Option<Live> {
        let (url, server) = match backend {
            Backend::Sqlite => ("sqlite://app.db".to_string(), None),
            Backend::Postgres => {
                let db = servers::postgres()?;
                (db.url.clone(), Some(db))
            }
            Backend::Mysql => {
                let db = servers::mysql()?;
                (db.url.clone(), Some(db))
            }
        };
        Some(Live {
            project,
            backend,
            url,
            server,
        })
    }

    /// The server's database name (None on SQLite).
    pub fn database_name(&self) -> Option<&str> {
        self.server.as_ref().map(|s| s.name.as_str())
    }

    /// The SQLite file (SQLite only).
    pub fn sqlite_path(&self) -> PathBuf {
        assert_eq!(self.backend, Backend::Sqlite);
        self.project.root().join("app.db")
    }

    /// Runs `retort --url <url> ARGS` in the project directory.
    pub fn retort(&self, args: &[&str]) -> Run {
        self.retort_url(&self.url, args)
    }

    /// Runs `retort --url <url> ARGS` with another URL (e.g. one with a
    /// password, or a port nothing listens on).
    pub fn retort_url(&self, url: &str, args: &[&str]) -> Run {
        let mut full = vec!["--url", url];
        full.extend_from_slice(args);
        self.project.retort(&full)
    }

    /// Starts `retort --url <url> ARGS` without waiting (stdout and stderr
    /// piped); finish with [`finish`].
    pub fn spawn(&self, args: &[&str]) -> Spawned {
        self.spawn_url(&self.url, args)
    }

    /// [`Live::spawn`] with another URL.
    pub fn spawn_url(&self, url: &str, args: &[&str]) -> Spawned {
        let mut full = vec!["--url".to_string(), url.to_string()];
        full.extend(args.iter().map(|a| a.to_string()));
        let child = self
            .project
            .command(&full)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the retort binary");
        Spawned {
            child,
            args: full,
            root: self.project.root().to_path_buf(),
            started: Instant::now(),
        }
    }

    /// Runs `retort --url <url> ARGS`; `None` when it did not finish within
    /// `limit` (it is killed then).
    pub fn retort_within(&self, limit: Duration, args: &[&str]) -> Option<Run> {
        let spawned = self.spawn(args);
        spawned.wait_within(limit)
    }

    /// Runs `sql` directly on the database; rows as lines of tab-separated
    /// fields (trailing newline removed). `Err` with the client's message.
    pub fn try_query(&self, sql: &str) -> Result<String, String> {
        let mut cmd = match self.backend {
            Backend::Sqlite => {
                let path = self.sqlite_path();
                if !path.exists() {
                    return Err(format!("no database file {}", path.display()));
                }
                let mut cmd = Command::new("sqlite3");
                cmd.args(["-batch", "-noheader", "-separator", "\t"])
                    .args(["-cmd", ".timeout 10000"])
                    .arg(&path)
                    .arg(sql);
                cmd
            }
            Backend::Postgres => {
                let mut cmd = Command::new("psql");
                cmd.args(["-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1"])
                    .args(["-d", &self.url, "-c", sql])
                    .env("PGCONNECT_TIMEOUT", "5");
                cmd
            }
            Backend::Mysql => mysql_client(&self.url, Some(sql)),
        };
        let out = cmd
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run the client for {:?}: {e}", self.backend))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned());
        }
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        Ok(text.strip_suffix('\n').unwrap_or(&text).to_string())
    }

    /// [`Live::try_query`], panicking on failure.
    #[track_caller]
    pub fn query(&self, sql: &str) -> String {
        self.try_query(sql)
            .unwrap_or_else(|e| panic!("{:?}: {sql}: {e}", self.backend))
    }

    /// The rows of `sql`, each a vector of fields (NULL as "").
    #[track_caller]
    pub fn rows(&self, sql: &str) -> Vec<Vec<String>> {
        let text = self.query(sql);
        // A lone NULL in a one-column result reads as no row at all.
        text.lines()
            .map(|l| {
                l.split('\t')
                    .map(|f| {
                        if self.backend == Backend::Mysql && f == "NULL" {
                            String::new()
                        } else {
                            f.to_string()
                        }
                    })
                    .collect()
            })
            .collect()
    }

    /// Runs a whole SQL script (several statements) through the client,
    /// e.g. an `upgrade --sql` script; panics when it fails.
    #[track_caller]
    pub fn run_script(&self, script: &str) {
        use std::io::Write as _;
        let mut cmd = match self.backend {
            Backend::Sqlite => {
                let mut cmd = Command::new("sqlite3");
                cmd.args(["-batch", "-bail"]).arg(self.sqlite_path());
                cmd
            }
            Backend::Postgres => {
                let mut cmd = Command::new("psql");
                cmd.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", &self.url]);
                cmd
            }
            // No `-e`: the script comes on stdin.
            Backend::Mysql => mysql_client(&self.url, None),
        };
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the database client");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(script.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{:?}: script failed: {}\n{script}",
            self.backend,
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The single number `sql` returns.
    #[track_caller]
    pub fn count(&self, sql: &str) -> i64 {
        let text = self.query(sql);
        text.trim()
            .parse()
            .unwrap_or_else(|_| panic!("{sql}: expected a number, got {text:?}"))
    }

    /// Whether the table `name` exists (in the test's database / schema).
    pub fn table_exists(&self, name: &str) -> bool {
        let sql = match self.backend {
            Backend::Sqlite => {
                if !self.sqlite_path().exists() {
                    return false;
                }
                format!(
                    "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '{name}'"
                )
            }
            Backend::Postgres => format!(
                "SELECT count(*) FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_name = '{name}'"
            ),
            Backend::Mysql => format!(
                "SELECT count(*) FROM information_schema.tables \
                 WHERE table_schema = DATABASE() AND table_name = '{name}'"
            ),
        };
        self.count(&sql) == 1
    }

    /// Asserts which of the tables the revisions create exist.
    #[track_caller]
    pub fn assert_tables(&self, present: &[&str], absent: &[&str]) {
        for t in present {
            assert!(
                self.table_exists(t),
                "{:?}: table {t} should exist",
                self.backend
            );
        }
        for t in absent {
            assert!(
                !self.table_exists(t),
                "{:?}: table {t} should not exist",
                self.backend
            );
        }
    }

    /// Every `_versions` row, ordered by version.
    #[track_caller]
    pub fn version_rows(&self) -> Vec<VersionRow> {
        let progress = match self.backend {
            // jsonb and json print as JSON text; cast for a stable client view.
            Backend::Postgres => "progress::text",
            _ => "progress",
        };
        self.rows(&format!(
            "SELECT version, lane, state, checksum, {progress}, error FROM _versions ORDER BY version"
        ))
        .into_iter()
        .map(|r| {
            let f = |i: usize| r.get(i).cloned().unwrap_or_default();
            VersionRow {
                version: f(0),
                lane: f(1),
                state: f(2),
                checksum: f(3),
                progress: f(4),
                error: f(5),
            }
        })
        .collect()
    }

    /// The `_versions_log` rows in id order.
    #[track_caller]
    pub fn log(&self) -> Vec<LogRow> {
        self.rows("SELECT action, version, outcome, error FROM _versions_log ORDER BY id")
            .into_iter()
            .map(|r| {
                let f = |i: usize| r.get(i).cloned().unwrap_or_default();
                LogRow {
                    action: f(0),
                    version: f(1),
                    outcome: f(2),
                    error: f(3),
                }
            })
            .collect()
    }

    /// `(action, version, outcome)` of the log rows after the first `from`.
    #[track_caller]
    pub fn log_since(&self, from: usize) -> Vec<(String, String, String)> {
        self.log()
            .into_iter()
            .skip(from)
            .map(|r| (r.action, r.version, r.outcome))
            .collect()
    }

    /// Asserts that `_versions` holds exactly `expected` (any order), each
    /// row `applied`, in lane `schema`, with a 64-hex checksum, no progress
    /// and no error.
    #[track_caller]
    pub fn assert_applied(&self, expected: &[&str]) {
        let rows = self.version_rows();
        let got: BTreeSet<&str> = rows.iter().map(|r| r.version.as_str()).collect();
        let want: BTreeSet<&str> = expected.iter().copied().collect();
        assert_eq!(got, want, "{:?}: _versions rows", self.backend);
        assert_eq!(
            rows.len(),
            expected.len(),
            "{:?}: duplicate rows",
            self.backend
        );
        for r in &rows {
            assert_eq!(r.state, "applied", "{:?}: {r:?}", self.backend);
            assert_eq!(r.lane, "schema", "{:?}: {r:?}", self.backend);
            assert!(
                is_sha256_hex(&r.checksum),
                "{:?}: checksum of {r:?}",
                self.backend
            );
            assert_eq!(
                r.progress, "",
                "{:?}: progress of an applied row",
                self.backend
            );
            assert_eq!(r.error, "", "{:?}: error of an applied row", self.backend);
        }
    }

    /// For PostgreSQL: the advisory locks held or awaited in this test's
    /// database, as `(classid, objid, objsubid, granted)`.
    pub fn advisory_locks(&self) -> Vec<Vec<String>> {
        assert_eq!(self.backend, Backend::Postgres);
        self.rows(
            "SELECT classid, objid, objsubid, granted FROM pg_locks \
             WHERE locktype = 'advisory' AND database = \
             (SELECT oid FROM pg_database WHERE datname = current_database())",
        )
    }
}

/// 64 lowercase hex digits.
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A `retort` process started by [`Live::spawn`].
pub struct Spawned {
    child: Child,
    args: Vec<String>,
    root: PathBuf,
    started: Instant,
}

impl Spawned {
    /// Waits for the process; `None` (after killing it) when it runs longer
    /// than `limit` since it started.
    pub fn wait_within(mut self, limit: Duration) -> Option<Run> {
        // Drain the pipes in threads so that a chatty process never blocks.
        let mut out = self.child.stdout.take().unwrap();
        let mut err = self.child.stderr.take().unwrap();
        let out_t = std::thread::spawn(move || {
            let mut s = Vec::new();
            let _ = out.read_to_end(&mut s);
            s
        });
        let err_t = std::thread::spawn(move || {
            let mut s = Vec::new();
            let _ = err.read_to_end(&mut s);
            s
        });
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait for retort") {
                break Some(status);
            }
            if self.started.elapsed() > limit {
                let _ = self.child.kill();
                let _ = self.child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let stdout = out_t.join().unwrap();
        let stderr = err_t.join().unwrap();
        let status = status?;
        Some(Run {
            args: self.args,
            code: status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
            root: self.root,
        })
    }

    /// Waits without a limit (well: ten minutes).
    pub fn finish(self) -> Run {
        let args = self.args.join(" ");
        self.wait_within(Duration::from_secs(600))
            .unwrap_or_else(|| panic!("`retort {args}` ran for ten minutes"))
    }

    /// Sends SIGINT (what Ctrl-C sends) to the process.
    pub fn interrupt(&self) {
        let status = Command::new("kill")
            .args(["-s", "INT", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -s INT failed");
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        self.child.try_wait().expect("wait for retort").is_none()
    }
}

/// `mariadb` (or `mysql`) for `mysql://user[:password]@host[:port]/db`,
/// running `sql`, or reading statements from stdin when `None`.
fn mysql_client(url: &str, sql: Option<&str>) -> Command {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.split_once('?').map_or(rest, |(r, _)| r);
    let (authority, db) = rest.split_once('/').unwrap_or((rest, ""));
    let (userinfo, hostport) = authority.rsplit_once('@').unwrap_or(("", authority));
    let (user, password) = match userinfo.split_once(':') {
        Some((u, p)) => (u, Some(p)),
        None => (userinfo, None),
    };
    let (host, port) = hostport.rsplit_once(':').unwrap_or((hostport, "3306"));
    let client = if std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join("mariadb").is_file()))
    {
        "mariadb"
    } else {
        "mysql"
    };
    let mut cmd = Command::new(client);
    cmd.args([
        "--protocol=TCP",
        "--batch",
        "--skip-column-names",
        "--connect-timeout=5",
    ])
    .arg(format!("--host={host}"))
    .arg(format!("--port={port}"));
    if !user.is_empty() {
        cmd.arg(format!("--user={user}"));
    }
    if let Some(p) = password {
        cmd.env("MYSQL_PWD", p);
    }
    if !db.is_empty() {
        cmd.arg(db);
    }
    if let Some(sql) = sql {
        cmd.args(["-e", sql]);
    }
    cmd
}

/// The checksum the offline script records for `rev` (from the `_versions`
/// INSERT of `upgrade --sql`): online and offline share one renderer and
/// one checksum (design §8), so the live row must carry the same value.
pub fn offline_checksum(run: &Run, rev: &str) -> Option<String> {
    run.version_statements().iter().find_map(|stmt| {
        let at = stmt.find(&format!("'{rev}'"))?;
        stmt[at..]
            .split('\'')
            .map(str::trim)
            .find(|field| is_sha256_hex(field))
            .map(str::to_string)
    })
}

/// The helpers read what retort writes: the offline script of a two-step
/// project (same tables and statements as the runner's, design §8), run
/// through each backend's client, reads back as two applied rows and two
/// log rows. Runs today, before the live runner exists.
mod selftest {
    use super::*;

    per_backend!(helpers_read_an_offline_script);

    fn helpers_read_an_offline_script(live: Live) {
        live.project
            .rev("a1a1a1a1a1a1")
            .message("create t1")
            .up("CREATE TABLE t1 (id INTEGER PRIMARY KEY)")
            .down("DROP TABLE t1")
            .write();
        live.project
            .rev("b2b2b2b2b2b2")
            .parent("a1a1a1a1a1a1")
            .message("insert")
            .up("INSERT INTO t1 (id) VALUES (7)")
            .write();
        assert!(!live.table_exists("_versions"));
        let script = live.retort(&["upgrade", "--sql"]);
        script.success();
        live.run_script(&script.stdout);

        live.assert_applied(&["a1a1a1a1a1a1", "b2b2b2b2b2b2"]);
        live.assert_tables(&["t1", "_versions", "_versions_log"], &["t2"]);
        assert_eq!(live.count("SELECT id FROM t1"), 7);
        assert_eq!(
            live.log_since(0),
            [
                (
                    "upgrade".to_string(),
                    "a1a1a1a1a1a1".to_string(),
                    "ok".to_string()
                ),
                (
                    "upgrade".to_string(),
                    "b2b2b2b2b2b2".to_string(),
                    "ok".to_string()
                ),
            ]
        );
        let rows = live.version_rows();
        assert_eq!(
            Some(rows[0].checksum.clone()),
            offline_checksum(&script, "a1a1a1a1a1a1")
        );
        assert!(live.log().iter().all(|r| r.error.is_empty()));
        // NULL reads as "" on every backend.
        assert_eq!(live.rows("SELECT NULL, 1"), [["", "1"]]);
        if live.backend == Backend::Postgres {
            assert!(live.advisory_locks().is_empty());
        }
    }

    #[test]
    fn sha256_hex() {
        assert!(is_sha256_hex(&"ab".repeat(32)));
        assert!(!is_sha256_hex(&"AB".repeat(32)));
        assert!(!is_sha256_hex("abc"));
    }
}
