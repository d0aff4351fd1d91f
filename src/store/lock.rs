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
//!
//! Waiting watches the run's cancel flag (Ctrl-C): every lock is tried
//! without blocking and retried every [`POLL`] until it is granted or the
//! flag is set, so an interrupted wait returns
//! [`Error::LockWaitCancelled`] at once, having taken nothing. (A blocking
//! `pg_advisory_lock`, `GET_LOCK` or `flock` cannot be interrupted from
//! another thread, and a dropped server-side wait would linger in the
//! lock's queue until granted.)

use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

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

/// How long MySQL waits for another deploy before giving up (a day, as
/// `GET_LOCK`'s timeout did; PostgreSQL waits as long as it takes).
const MYSQL_WAIT: Duration = Duration::from_secs(86_400);

/// How often a held lock is tried again (and the cancel flag read).
pub const POLL: Duration = Duration::from_millis(100);

/// Waits until `try_once` takes the lock (`Some`), trying every [`POLL`];
/// [`Error::LockWaitCancelled`] naming `lock` as soon as `cancel` is set,
/// `None` when `deadline` passes first.
async fn wait_for<T, F>(
    lock: &str,
    cancel: &AtomicBool,
    deadline: Option<Instant>,
    mut try_once: F,
) -> Result<Option<T>, Error>
where
    F: AsyncFnMut() -> Result<Option<T>, Error>,
{
    let mut logged = false;
    loop {
        if let Some(held) = try_once().await? {
            return Ok(Some(held));
        }
        if !logged {
            tracing::info!("waiting for {lock}: another retort process holds it");
            logged = true;
        }
        if cancel.load(Ordering::SeqCst) {
            return Err(Error::LockWaitCancelled {
                lock: lock.to_string(),
            });
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(None);
        }
        tokio::time::sleep(POLL).await;
    }
}

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
    /// Opens a dedicated connection and waits for the lock, or until
    /// `cancel` is set.
    ///
    /// # Errors
    /// [`Error::Connect`], [`Error::Query`], [`Error::LockRefused`],
    /// [`Error::LockWaitCancelled`].
    pub async fn acquire(
        url: &DbUrl,
        tables: &VersionTables,
        cancel: &AtomicBool,
    ) -> Result<RunLock, Error> {
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
                    let sql = format!("SELECT pg_try_advisory_lock({PG_KEY})");
                    let lock = format!("the migration lock on {}", url.redacted());
                    let taken = wait_for(&lock, cancel, None, async || {
                        let got: bool = sqlx::query_scalar(AssertSqlSafe(sql.clone()))
                            .bind(table.clone())
                            .fetch_one(&mut conn)
                            .await
                            .map_err(query_err)?;
                        Ok(got.then_some(()))
                    })
                    .await;
                    if let Err(e) = taken {
                        drop(conn.close().await);
                        return Err(e);
                    }
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
                    // GET_LOCK(name, 0): 1 taken, 0 held elsewhere, NULL an
                    // error (which ends the wait).
                    let sql = format!("SELECT GET_LOCK({MYSQL_NAME}, 0)");
                    let lock = format!("the migration lock on {}", url.redacted());
                    let deadline = Instant::now() + MYSQL_WAIT;
                    let mut last: Option<i64> = None;
                    let taken = wait_for(&lock, cancel, Some(deadline), async || {
                        last = sqlx::query_scalar(AssertSqlSafe(sql.clone()))
                            .bind(table.clone())
                            .fetch_one(&mut conn)
                            .await
                            .map_err(query_err)?;
                        Ok(match last {
                            Some(1) => Some(true),
                            Some(_) => None,
                            None => Some(false),
                        })
                    })
                    .await;
                    if !matches!(taken, Ok(Some(true))) {
                        drop(conn.close().await);
                        return Err(taken.err().unwrap_or_else(|| Error::LockRefused {
                            url: url.redacted(),
                            name: format!("retort:sha1({table})"),
                            result: last.map_or("NULL".to_string(), |g| g.to_string()),
                        }));
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
    /// Waits for and takes the lock of `database`, or until `cancel` is
    /// set (`None` on platforms without `flock`).
    ///
    /// # Errors
    /// [`Error::Query`] when the lock file cannot be created or locked,
    /// [`Error::LockWaitCancelled`].
    pub async fn acquire(
        database: &std::path::Path,
        cancel: &AtomicBool,
    ) -> Result<Option<FileLock>, Error> {
        #[cfg(unix)]
        {
            let mut name = database.as_os_str().to_owned();
            name.push("-retort-lock");
            let path = std::path::PathBuf::from(name);
            let io_err = |e: std::io::Error| Error::Query {
                what: format!("locking {}", path.display()),
                cause: sqlx::Error::Io(e),
            };
            let file = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)
                .map_err(io_err)?;
            let lock = format!("the lock file {}", path.display());
            wait_for(&lock, cancel, None, async || {
                match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive)
                {
                    Ok(()) => Ok(Some(())),
                    Err(e) if e == rustix::io::Errno::WOULDBLOCK => Ok(None),
                    Err(e) => Err(io_err(e.into())),
                }
            })
            .await?;
            Ok(Some(FileLock { _file: file }))
        }
        #[cfg(not(unix))]
        {
            let _ = (database, cancel);
            Ok(None)
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    /// A second `flock` on the file, even in the same process, waits;
    /// the cancel flag ends the wait with nothing taken, and the lock is
    /// taken once the first holder lets go.
    #[tokio::test]
    async fn a_file_lock_wait_ends_on_cancel() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("app.db");
        let never = AtomicBool::new(false);
        let first = FileLock::acquire(&db, &never).await.unwrap();
        assert!(first.is_some());
        let cancel = AtomicBool::new(true);
        let started = Instant::now();
        match FileLock::acquire(&db, &cancel).await {
            Err(Error::LockWaitCancelled { lock }) => {
                assert!(lock.ends_with("app.db-retort-lock"), "{lock}");
            }
            other => panic!("expected a cancelled wait, got {other:?}"),
        }
        assert!(started.elapsed() < Duration::from_secs(10));
        drop(first);
        assert!(FileLock::acquire(&db, &cancel).await.unwrap().is_some());
    }
}
