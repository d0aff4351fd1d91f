//! Throw-away databases on the PostgreSQL and MySQL/MariaDB servers, for
//! tests of the live runner.
//!
//! The servers come from `RETORT_TEST_POSTGRES_URL` and
//! `RETORT_TEST_MYSQL_URL` (defaults below, matching `.ci/run`). Each
//! [`TestDb`] is a database with a unique name, dropped when the guard is
//! dropped. When a server is unreachable the test prints
//! `skipped: <server> unreachable` and returns early, unless
//! `RETORT_REQUIRE_SERVERS=1` (set by CI), which turns that into a failure.
//!
//! Databases are created with the `psql` and `mariadb` (or `mysql`) clients
//! rather than sqlx: the tests stay synchronous and need no runtime.

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Default PostgreSQL server (the local cluster; TLS off saves ~100 ms per
/// connection, design §8).
pub const DEFAULT_POSTGRES_URL: &str =
    "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable";
/// Default MySQL/MariaDB server.
pub const DEFAULT_MYSQL_URL: &str = "mysql://root@127.0.0.1:3306/";

/// A database server kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    /// PostgreSQL.
    Postgres,
    /// MySQL or MariaDB.
    Mysql,
}

impl Server {
    fn name(self) -> &'static str {
        match self {
            Server::Postgres => "PostgreSQL",
            Server::Mysql => "MySQL",
        }
    }

    fn admin_url(self) -> String {
        let (var, default) = match self {
            Server::Postgres => ("RETORT_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL),
            Server::Mysql => ("RETORT_TEST_MYSQL_URL", DEFAULT_MYSQL_URL),
        };
        std::env::var(var).unwrap_or_else(|_| default.to_string())
    }
}

/// Whether unreachable servers fail the test instead of skipping it.
pub fn servers_required() -> bool {
    std::env::var_os("RETORT_REQUIRE_SERVERS").is_some_and(|v| v == "1")
}

/// A fresh PostgreSQL database, or `None` (after printing why) when the
/// server is unreachable and servers are not required.
pub fn postgres() -> Option<TestDb> {
    TestDb::create(Server::Postgres)
}

/// A fresh MySQL/MariaDB database, or `None` as for [`postgres`].
pub fn mysql() -> Option<TestDb> {
    TestDb::create(Server::Mysql)
}

/// A uniquely named database; dropped with the guard.
pub struct TestDb {
    server: Server,
    admin: ServerUrl,
    /// The database name (`retort_test_<pid>_<n>_<nanos>`).
    pub name: String,
    /// The URL of this database, for `retort --url`.
    pub url: String,
}

impl TestDb {
    fn create(server: Server) -> Option<TestDb> {
        let raw = server.admin_url();
        let admin = ServerUrl::parse(&raw);
        if let Err(why) = run_sql(server, &admin, None, "SELECT 1") {
            let message = format!("skipped: {} unreachable ({})", server.name(), why.trim());
            if servers_required() {
                panic!("{message}; RETORT_REQUIRE_SERVERS=1 requires the server");
            }
            eprintln!("{message}");
            return None;
        }
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!(
            "retort_test_{}_{}_{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        run_sql(server, &admin, None, &format!("CREATE DATABASE {name}"))
            .unwrap_or_else(|e| panic!("create database {name}: {e}"));
        let url = admin.with_database(&name);
        Some(TestDb {
            server,
            admin,
            name,
            url,
        })
    }

    /// Runs `sql` in this database; returns the rows as tab-separated lines
    /// without headers.
    ///
    /// # Panics
    /// When the statement fails.
    pub fn query(&self, sql: &str) -> String {
        run_sql(self.server, &self.admin, Some(&self.name), sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// Whether a database named `name` exists on this server.
    pub fn database_exists(&self, name: &str) -> bool {
        let sql = match self.server {
            Server::Postgres => {
                format!("SELECT count(*) FROM pg_database WHERE datname = '{name}'")
            }
            Server::Mysql => format!(
                "SELECT count(*) FROM information_schema.schemata WHERE schema_name = '{name}'"
            ),
        };
        run_sql(self.server, &self.admin, None, &sql)
            .unwrap()
            .trim()
            == "1"
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let sql = match self.server {
            // FORCE: a connection the test leaked must not keep the database.
            Server::Postgres => format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            Server::Mysql => format!("DROP DATABASE IF EXISTS {}", self.name),
        };
        if let Err(e) = run_sql(self.server, &self.admin, None, &sql) {
            eprintln!("warning: could not drop {}: {e}", self.name);
        }
    }
}

/// The parts of a server URL the command-line clients need.
#[derive(Debug, Clone)]
struct ServerUrl {
    scheme: String,
    user: String,
    password: Option<String>,
    host: String,
    port: Option<u16>,
    database: String,
    query: String,
}

impl ServerUrl {
    /// Parses `scheme://[user[:password]@]host[:port][/database][?query]`.
    fn parse(url: &str) -> ServerUrl {
        let (scheme, rest) = url.split_once("://").expect("a URL with ://");
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (authority, database) = rest.split_once('/').unwrap_or((rest, ""));
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (u, h),
            None => ("", authority),
        };
        let (user, password) = match userinfo.split_once(':') {
            Some((u, p)) => (u.to_string(), Some(p.to_string())),
            None => (userinfo.to_string(), None),
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), p.parse().ok()),
            None => (hostport.to_string(), None),
        };
        ServerUrl {
            scheme: scheme.to_string(),
            user,
            password,
            host,
            port,
            database: database.to_string(),
            query: query.to_string(),
        }
    }

    /// The same server with another database.
    fn with_database(&self, database: &str) -> String {
        let mut url = format!("{}://", self.scheme);
        if !self.user.is_empty() {
            url.push_str(&self.user);
            if let Some(p) = &self.password {
                url.push(':');
                url.push_str(p);
            }
            url.push('@');
        }
        url.push_str(&self.host);
        if let Some(port) = self.port {
            url.push_str(&format!(":{port}"));
        }
        url.push('/');
        url.push_str(database);
        if !self.query.is_empty() {
            url.push('?');
            url.push_str(&self.query);
        }
        url
    }
}

/// Runs one SQL text through the server's command-line client, in
/// `database` or the URL's own. Returns stdout, or the error output.
fn run_sql(
    server: Server,
    url: &ServerUrl,
    database: Option<&str>,
    sql: &str,
) -> Result<String, String> {
    let mut cmd = match server {
        Server::Postgres => {
            let target = url.with_database(database.unwrap_or(&url.database));
            let mut cmd = Command::new("psql");
            cmd.args([
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                &target,
                "-c",
                sql,
            ])
            .env("PGCONNECT_TIMEOUT", "5");
            cmd
        }
        Server::Mysql => {
            let client = if which("mariadb") { "mariadb" } else { "mysql" };
            let mut cmd = Command::new(client);
            cmd.args([
                "--protocol=TCP",
                "--batch",
                "--skip-column-names",
                "--connect-timeout=5",
            ])
            .arg(format!("--host={}", url.host))
            .arg(format!("--port={}", url.port.unwrap_or(3306)));
            if !url.user.is_empty() {
                cmd.arg(format!("--user={}", url.user));
            }
            // Through the environment, so that it never shows in `ps`.
            if let Some(p) = &url.password {
                cmd.env("MYSQL_PWD", p);
            }
            let db = database.unwrap_or(&url.database);
            if !db.is_empty() {
                cmd.arg(db);
            }
            cmd.args(["-e", sql]);
            cmd
        }
    };
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run the {} client: {e}", server.name()))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn which(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}
