//! SQL dialects and everything rendered per dialect: step SQL, the
//! `_versions` bookkeeping statements, and statement splitting. Pure: no I/O.

use std::fmt;

/// A SQL dialect retort can render for. Matched exhaustively everywhere (no
/// `_` arm), so adding one makes the compiler list every place to change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum Dialect {
    /// SQLite 3 (embedded default).
    Sqlite,
    /// PostgreSQL.
    Postgres,
    /// MySQL and MariaDB.
    Mysql,
}

impl Dialect {
    /// Every dialect, in a fixed order.
    pub const ALL: [Dialect; 3] = [Dialect::Sqlite, Dialect::Postgres, Dialect::Mysql];

    /// The name used in revision files for per-dialect variants and in the
    /// `dialect` template variable: `sqlite`, `postgresql`, `mysql`.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Sqlite => "sqlite",
            Dialect::Postgres => "postgresql",
            Dialect::Mysql => "mysql",
        }
    }

    /// Parses a variant key as written in revision files (`sqlite`,
    /// `postgresql`/`postgres`, `mysql`/`mariadb`).
    pub fn from_name(name: &str) -> Option<Dialect> {
        match name {
            "sqlite" => Some(Dialect::Sqlite),
            "postgresql" | "postgres" => Some(Dialect::Postgres),
            "mysql" | "mariadb" => Some(Dialect::Mysql),
            _ => None,
        }
    }

    /// Whether DDL runs inside transactions (MySQL commits it implicitly).
    pub fn transactional_ddl(self) -> bool {
        match self {
            Dialect::Sqlite | Dialect::Postgres => true,
            Dialect::Mysql => false,
        }
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
