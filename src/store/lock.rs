//! The run lock (design §7.3): one migrating process per database and
//! version table at a time.
//!
//! PostgreSQL takes `pg_advisory_lock` and MySQL/MariaDB `GET_LOCK` on a
//! *dedicated* connection, so the lock never shares a session with the
//! statements (a revision that fails, or a pooled connection, cannot keep
//! it: sqlx's `run_direct` returns early on `?` before `unlock`,
//! lakekeeper/lakekeeper#1790). [`RunLock::release`] unlocks explicitly and
//! closes the connection; if the process dies or the value is dropped
//! without `release`, the server ends the session and frees the lock with
//! it. SQLite needs no run lock: each revision runs in `BEGIN IMMEDIATE`
//! and re-reads the version table first. A `transactional = false` SQLite
//! revision runs outside a transaction, and a data revision in many
//! (steps and batches), so each takes a [`FileLock`] (an exclusive `flock`
//! on `<database file>-retort-lock`) for its duration; the kernel releases
//! it when the process exits, however it exits.

use std::str::FromStr;

use sqlx::{AssertSqlSafe, Connection};

use super::Error;
use crate::config::DbUrl;
use crate::dialect::versions::VersionTables;
use crate::dialect::Dialect;

/// The lock key, derived from the database and the version table so that
/// two projects in one database with different tables do not wait for each
/// other. PostgreSQL: the first 64 bits of an MD5.
const PG_KEY: &str =
    "('x' || substr(md5(current_database() || '.' || $1), 1, 16))::bit(64)::bigint";

/// MySQL lock names are limited to 64 characters: `retort:` + SHA-1 hex.
const MYSQL_NAME: &str = "CONCAT('retort:', SHA1(CONCAT(IFNULL(DATABASE(), ''), '.', ?)))";

/// How long `GET_LOCK` waits for another deploy (seconds).
const MYSQL_WAIT_SECS: i64 = 86_400;

/// A held run lock and the connection that holds it.
#[derive(Debug)]
#[non_exhaustive]
pub enum RunLock {
    /// SQLite: nothing held (revisions lock with `BEGIN IMMEDIATE`).
    None,
    /// PostgreSQL session-level advisory lock.
    #[cfg(feature = "postgres")]
    Postgres {
        /// The dedicated connection.
        conn: sqlx::PgConnection,
        /// The version table name (part of the key).
        table: String,
    },
    /// MySQL/MariaDB named lock.
    #[cfg(feature = "mysql")]
    Mysql {
        /// The dedicated connection.
        conn: sqlx::MySqlConnection,
        /// The version table name (part of the name).
        table: String,
    },
}

impl RunLock {
    /// Opens a dedicated connection and waits for the lock.
    ///
    /// # Errors
    /// [`Error::Connect`], [`Error::Query`], [`Error::LockRefused`].
    pub async fn acquire(url: &DbUrl, tables: &VersionTables) -> Result<RunLock, Error> {
        let table = tables.name().to_string();
        let query_err = |source| Error::Query {
            what: "taking the migration lock".to_string(),
            cause: source,
        };
        let connect_err = |source| Error::Connect {
            url: url.redacted(),
            cause: source,
        };
        match url.dialect() {
            Dialect::Sqlite => Ok(RunLock::None),
            Dialect::Postgres => {
                #[cfg(feature = "postgres")]
                {
                    let opts =
                        sqlx::postgres::PgConnectOptions::from_str(url.dangerous_connect_str())
                            .map_err(connect_err)?;
                    let mut conn = sqlx::PgConnection::connect_with(&opts)
                        .await
                        .map_err(connect_err)?;
                    let sql = format!("SELECT pg_advisory_lock({PG_KEY})");
                    sqlx::query(AssertSqlSafe(sql))
                        .bind(table.clone())
                        .execute(&mut conn)
                        .await
                        .map_err(query_err)?;
                    tracing::debug!(table, "took the PostgreSQL advisory lock");
                    Ok(RunLock::Postgres { conn, table })
                }
                #[cfg(not(feature = "postgres"))]
                Err(super::not_compiled(url, "postgres"))
            }
            Dialect::Mysql => {
                #[cfg(feature = "mysql")]
                {
                    let opts =
                        sqlx::mysql::MySqlConnectOptions::from_str(url.dangerous_connect_str())
                            .map_err(connect_err)?;
                    let mut conn = sqlx::MySqlConnection::connect_with(&opts)
                        .await
                        .map_err(connect_err)?;
                    let sql = format!("SELECT GET_LOCK({MYSQL_NAME}, {MYSQL_WAIT_SECS})");
                    let got: Option<i64> = sqlx::query_scalar(AssertSqlSafe(sql))
                        .bind(table.clone())
                        .fetch_one(&mut conn)
                        .await
                        .map_err(query_err)?;
                    if got != Some(1) {
                        drop(conn.close().await);
                        return Err(Error::LockRefused {
                            url: url.redacted(),
                            name: format!("retort:sha1({table})"),
                            result: got.map_or("NULL".to_string(), |g| g.to_string()),
                        });
                    }
                    tracing::debug!(table, "took the MySQL named lock");
                    Ok(RunLock::Mysql { conn, table })
                }
                #[cfg(not(feature = "mysql"))]
                Err(super::not_compiled(url, "mysql"))
            }
        }
    }

    /// Unlocks and closes the dedicated connection. Failures are logged,
    /// not returned: closing the session frees the lock either way.
    pub async fn release(self) {
        match self {
            RunLock::None => {}
            #[cfg(feature = "postgres")]
            RunLock::Postgres { mut conn, table } => {
                let sql = format!("SELECT pg_advisory_unlock({PG_KEY})");
                if let Err(e) = sqlx::query(AssertSqlSafe(sql))
                    .bind(table)
                    .execute(&mut conn)
                    .await
                {
                    tracing::warn!("pg_advisory_unlock failed ({e}); closing the session frees it");
                }
                drop(conn.close().await);
            }
            #[cfg(feature = "mysql")]
            RunLock::Mysql { mut conn, table } => {
                let sql = format!("SELECT RELEASE_LOCK({MYSQL_NAME})");
                if let Err(e) = sqlx::query(AssertSqlSafe(sql))
                    .bind(table)
                    .execute(&mut conn)
                    .await
                {
                    tracing::warn!("RELEASE_LOCK failed ({e}); closing the session frees it");
                }
                drop(conn.close().await);
            }
        }
    }
}

/// An exclusive `flock` on a file beside a SQLite database, held while a
/// `transactional = false` revision runs (see the module notes). Released
/// when dropped, or by the kernel when the process ends.
///
/// Why a separate file: SQLite locks the database with POSIX `fcntl` locks,
/// which a process loses when it closes *any* descriptor of that file, so
/// retort must not open the database file itself.
#[derive(Debug)]
pub struct FileLock {
    #[cfg(unix)]
    _file: std::fs::File,
}

impl FileLock {
    /// Waits for and takes the lock of `database` (`None` on platforms
    /// without `flock`).
    ///
    /// # Errors
    /// The lock file cannot be created or locked.
    pub fn acquire(database: &std::path::Path) -> std::io::Result<Option<FileLock>> {
        #[cfg(unix)]
        {
            let mut name = database.as_os_str().to_owned();
            name.push("-retort-lock");
            let file = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(std::path::PathBuf::from(name))?;
            rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive)?;
            Ok(Some(FileLock { _file: file }))
        }
        #[cfg(not(unix))]
        {
            let _ = database;
            Ok(None)
        }
    }
}
