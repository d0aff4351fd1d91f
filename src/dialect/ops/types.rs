//! Portable column types → each dialect's natural SQL type (the README's
//! "Column types" table is this function written out).
//!
//! sea-query's own names are used where they are the natural ones. Where
//! they are not (its SQLite backend writes `timestamp_text`, `uuid_text`,
//! `real(p, s)`, chosen for SeaORM's type affinity tricks), a custom type
//! name is given instead. SQLite notes: `big_integer` is `integer` so that
//! `INTEGER PRIMARY KEY AUTOINCREMENT` works; `json` is `text` (SQLite has
//! no JSON type and a NUMERIC-affinity column would turn `"1"` into 1).

use sea_query::{Alias, ColumnType as SqType, StringLen};

use super::model::ColumnType;
use crate::dialect::Dialect;

/// The sea-query type of `ty` on `dialect`.
pub fn sea_type(ty: &ColumnType, dialect: Dialect) -> SqType {
    let custom = |name: String| SqType::custom(Alias::new(name));
    match (ty, dialect) {
        (ColumnType::Integer, _) => SqType::Integer,
        (ColumnType::BigInteger, _) => SqType::BigInteger,
        (ColumnType::SmallInteger, _) => SqType::SmallInteger,
        (ColumnType::String(Some(n)), _) => SqType::String(StringLen::N(*n)),
        (ColumnType::String(None), _) => SqType::String(StringLen::None),
        (ColumnType::Text, _) => SqType::Text,
        (ColumnType::Boolean, _) => SqType::Boolean,
        (ColumnType::Float, Dialect::Sqlite) => custom("real".into()),
        (ColumnType::Float, Dialect::Postgres | Dialect::Mysql) => SqType::Float,
        (ColumnType::Double, _) => SqType::Double,
        (ColumnType::Decimal(p, s), Dialect::Sqlite) => custom(format!("numeric({p}, {s})")),
        (ColumnType::Decimal(p, s), Dialect::Postgres | Dialect::Mysql) => {
            SqType::Decimal(Some((*p, *s)))
        }
        (ColumnType::Date, Dialect::Sqlite) => custom("date".into()),
        (ColumnType::Date, Dialect::Postgres | Dialect::Mysql) => SqType::Date,
        (ColumnType::Time, Dialect::Sqlite) => custom("time".into()),
        (ColumnType::Time, Dialect::Postgres | Dialect::Mysql) => SqType::Time,
        (ColumnType::Timestamp, Dialect::Sqlite) => custom("timestamp".into()),
        (ColumnType::Timestamp, Dialect::Postgres) => SqType::Timestamp,
        (ColumnType::Timestamp, Dialect::Mysql) => custom("datetime(6)".into()),
        (ColumnType::TimestampTz, Dialect::Sqlite) => custom("timestamptz".into()),
        (ColumnType::TimestampTz, Dialect::Postgres) => SqType::TimestampWithTimeZone,
        (ColumnType::TimestampTz, Dialect::Mysql) => custom("timestamp(6)".into()),
        (ColumnType::Json, Dialect::Sqlite) => SqType::Text,
        (ColumnType::Json, Dialect::Postgres) => SqType::JsonBinary,
        (ColumnType::Json, Dialect::Mysql) => SqType::Json,
        (ColumnType::Uuid, Dialect::Sqlite | Dialect::Mysql) => custom("char(36)".into()),
        (ColumnType::Uuid, Dialect::Postgres) => SqType::Uuid,
        (ColumnType::Binary, _) => SqType::Blob,
    }
}

#[cfg(test)]
mod tests {
    use sea_query::{
        ColumnDef, MysqlQueryBuilder, PostgresQueryBuilder, SqliteQueryBuilder, Table,
    };

    use super::*;

    fn rendered(ty: &ColumnType, dialect: Dialect) -> String {
        let stmt = Table::create()
            .table("t")
            .col(ColumnDef::new_with_type("c", sea_type(ty, dialect)))
            .to_owned();
        let sql = match dialect {
            Dialect::Sqlite => stmt.to_string(SqliteQueryBuilder),
            Dialect::Postgres => stmt.to_string(PostgresQueryBuilder),
            Dialect::Mysql => stmt.to_string(MysqlQueryBuilder),
        };
        let start = sql.find("c").map(|i| i + 3).unwrap_or(0);
        sql[start..sql.len() - 2].to_string()
    }

    /// The README's "Column types" table, pinned.
    #[test]
    fn type_table() {
        let table: &[(ColumnType, [&str; 3])] = &[
            (ColumnType::Integer, ["integer", "integer", "int"]),
            (ColumnType::BigInteger, ["integer", "bigint", "bigint"]),
            (
                ColumnType::SmallInteger,
                ["smallint", "smallint", "smallint"],
            ),
            (
                ColumnType::String(Some(50)),
                ["varchar(50)", "varchar(50)", "varchar(50)"],
            ),
            (
                ColumnType::String(None),
                ["varchar", "varchar", "varchar(255)"],
            ),
            (ColumnType::Text, ["text", "text", "text"]),
            (ColumnType::Boolean, ["boolean", "bool", "bool"]),
            (ColumnType::Float, ["real", "real", "float"]),
            (ColumnType::Double, ["double", "double precision", "double"]),
            (
                ColumnType::Decimal(10, 2),
                ["numeric(10, 2)", "decimal(10, 2)", "decimal(10, 2)"],
            ),
            (ColumnType::Date, ["date", "date", "date"]),
            (ColumnType::Time, ["time", "time", "time"]),
            (
                ColumnType::Timestamp,
                ["timestamp", "timestamp", "datetime(6)"],
            ),
            (
                ColumnType::TimestampTz,
                ["timestamptz", "timestamp with time zone", "timestamp(6)"],
            ),
            (ColumnType::Json, ["text", "jsonb", "json"]),
            (ColumnType::Uuid, ["char(36)", "uuid", "char(36)"]),
            (ColumnType::Binary, ["blob", "bytea", "blob"]),
        ];
        for (ty, expected) in table {
            for (dialect, want) in Dialect::ALL.iter().zip(expected) {
                assert_eq!(&rendered(ty, *dialect), want, "{ty:?} on {dialect}");
            }
        }
    }
}
