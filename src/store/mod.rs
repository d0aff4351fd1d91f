//! The I/O edge: database connections through sqlx, one enum variant per
//! backend behind cargo features (not `sqlx::Any`, whose types are too few
//! and whose dispatch hides which backend a statement runs on).
//!
//! [`Db`] is deliberately narrow, like sqlx's own `Migrate` trait: run a
//! script, read rows of the version table, take and release the run lock.
//! Everything that decides *what* to run lives in `graph` and `runner`.

use std::str::FromStr;
use std::time::Duration;

use sqlx::{AssertSqlSafe, Connection};

use crate::config::DbUrl;
use crate::dialect::Dialect;

/// Errors talking to the database. Messages carry the redacted URL or the
/// statement being run, never a password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The connection could not be opened.
    #[error("could not connect to {url}: {source}")]
    Connect {
        /// The URL, password redacted.
        url: String,
        /// What sqlx reported.
        #[source]
        source: sqlx::Error,
    },
    /// The URL's backend was not compiled into this binary.
    #[error("{url}: support for {dialect} was not compiled into this retort (rebuild with the `{feature}` feature)")]
    NotCompiled {
        /// The URL, password redacted.
        url: String,
        /// The dialect asked for.
        dialect: Dialect,
        /// The cargo feature that provides it.
        feature: &'static str,
    },
    /// A statement failed.
    #[error("{what}: {source}")]
    Query {
        /// What was being done, e.g. `reading _versions`.
        what: String,
        /// What the database reported.
        #[source]
        source: sqlx::Error,
    },
}

/// An open connection to one of the supported backends.
#[derive(Debug)]
#[non_exhaustive]
pub enum Db {
    /// SQLite.
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::SqliteConnection),
    /// PostgreSQL.
    #[cfg(feature = "postgres")]
    Postgres(sqlx::PgConnection),
    /// MySQL / MariaDB.
    #[cfg(feature = "mysql")]
    Mysql(sqlx::MySqlConnection),
}

/// How long SQLite waits for another writer before giving up.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(60);

impl Db {
    /// Opens a connection. A SQLite file is created when missing (as the
    /// `sqlite3` shell does); its journal mode is left as the file has it.
    ///
    /// # Errors
    /// [`Error::Connect`] naming the redacted URL; [`Error::NotCompiled`].
    pub async fn connect(url: &DbUrl) -> Result<Db, Error> {
        let connect_err = |source| Error::Connect {
            url: url.redacted(),
            source,
        };
        match url.dialect() {
            Dialect::Sqlite => {
                #[cfg(feature = "sqlite")]
                {
                    let opts =
                        sqlx::sqlite::SqliteConnectOptions::from_str(url.dangerous_connect_str())
                            .map_err(connect_err)?
                            .create_if_missing(true)
                            .busy_timeout(SQLITE_BUSY_TIMEOUT);
                    let conn = sqlx::SqliteConnection::connect_with(&opts)
                        .await
                        .map_err(connect_err)?;
                    Ok(Db::Sqlite(conn))
                }
                #[cfg(not(feature = "sqlite"))]
                Err(not_compiled(url, "sqlite"))
            }
            Dialect::Postgres => {
                #[cfg(feature = "postgres")]
                {
                    let opts =
                        sqlx::postgres::PgConnectOptions::from_str(url.dangerous_connect_str())
                            .map_err(connect_err)?;
                    let conn = sqlx::PgConnection::connect_with(&opts)
                        .await
                        .map_err(connect_err)?;
                    Ok(Db::Postgres(conn))
                }
                #[cfg(not(feature = "postgres"))]
                Err(not_compiled(url, "postgres"))
            }
            Dialect::Mysql => {
                #[cfg(feature = "mysql")]
                {
                    let opts =
                        sqlx::mysql::MySqlConnectOptions::from_str(url.dangerous_connect_str())
                            .map_err(connect_err)?;
                    let conn = sqlx::MySqlConnection::connect_with(&opts)
                        .await
                        .map_err(connect_err)?;
                    Ok(Db::Mysql(conn))
                }
                #[cfg(not(feature = "mysql"))]
                Err(not_compiled(url, "mysql"))
            }
        }
    }

    /// The dialect of this connection.
    pub fn dialect(&self) -> Dialect {
        match self {
            #[cfg(feature = "sqlite")]
            Db::Sqlite(_) => Dialect::Sqlite,
            #[cfg(feature = "postgres")]
            Db::Postgres(_) => Dialect::Postgres,
            #[cfg(feature = "mysql")]
            Db::Mysql(_) => Dialect::Mysql,
        }
    }

    /// Runs `sql` (one or more `;`-separated statements) in one round trip
    /// through the simple-query protocol. Only SQL that a revision file
    /// holds or that retort rendered reaches here, hence `AssertSqlSafe`.
    ///
    /// # Errors
    /// [`Error::Query`] with `what` as context.
    pub async fn execute_script(&mut self, sql: &str, what: &str) -> Result<(), Error> {
        let raw = sqlx::raw_sql(AssertSqlSafe(sql.to_string()));
        let result = match self {
            #[cfg(feature = "sqlite")]
            Db::Sqlite(c) => raw.execute(&mut *c).await.map(drop),
            #[cfg(feature = "postgres")]
            Db::Postgres(c) => raw.execute(&mut *c).await.map(drop),
            #[cfg(feature = "mysql")]
            Db::Mysql(c) => raw.execute(&mut *c).await.map(drop),
        };
        result.map_err(|source| Error::Query {
            what: what.to_string(),
            source,
        })
    }

    /// Closes the connection cleanly (errors while closing are ignored: the
    /// server drops the session either way).
    pub async fn close(self) {
        match self {
            #[cfg(feature = "sqlite")]
            Db::Sqlite(c) => drop(c.close().await),
            #[cfg(feature = "postgres")]
            Db::Postgres(c) => drop(c.close().await),
            #[cfg(feature = "mysql")]
            Db::Mysql(c) => drop(c.close().await),
        }
    }
}

#[allow(dead_code)] // used only when a backend feature is off
fn not_compiled(url: &DbUrl, feature: &'static str) -> Error {
    Error::NotCompiled {
        url: url.redacted(),
        dialect: url.dialect(),
        feature,
    }
}
