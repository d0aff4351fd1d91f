//! Portable schema operations (design §5.1): the typed model, its parsing
//! from a step's TOML table, the per-dialect rendering through sea-query,
//! SQLite table rebuilds, the schema model replayed from earlier
//! revisions, and derived inverses. Pure: no I/O.
//!
//! Why checks come first: sea-query's SQLite backend panics on ALTERs it
//! cannot express (modify column, several options, constraints on
//! existing tables). Every operation is routed *before* a builder is
//! called: to a plain ALTER, to a rebuild (SQLite), or to a
//! [`Problem`]. Nothing here panics on any input.
//!
//! - [`model`]: [`Operation`], [`TableShape`] and their parts;
//! - [`parse`]: raw TOML table → [`Operation`] (strict keys);
//! - [`types`]: column types per dialect;
//! - [`mod@render`]: [`render()`]: an operation → statements per dialect;
//! - [`sqlite_rebuild`]: the 12-step SQLite table rebuild;
//! - [`schema`]: [`SchemaModel`], the shapes known before a step;
//! - [`inverse`]: derived downgrades;
//! - [`introspect`]: SQLite catalog rows → [`TableShape`] (online).

use std::fmt;

pub mod introspect;
pub mod inverse;
pub mod model;
pub mod parse;
pub mod render;
pub mod schema;
pub mod sqlite_rebuild;
pub mod types;

pub use inverse::invert;
pub use model::{
    Check, Column, ColumnChange, ColumnType, ConstraintKind, DefaultValue, Dependent,
    DependentKind, FkAction, ForeignKey, Index, Operation, TableShape, Unique,
};
pub use parse::parse_operation;
pub use render::{render, OpContext, Rendered, FOREIGN_KEYS_OFF, FOREIGN_KEYS_ON};
pub use schema::{SchemaModel, TableState, Taint};

/// Why an operation cannot be parsed, rendered or inverted. The caller
/// ([`crate::dialect::render`]) adds the revision, file, step, line and
/// dialect.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Problem {
    /// `op` names no operation.
    UnknownOp(String),
    /// A key the operation does not take.
    UnknownKey {
        /// The key, with its path (e.g. `columns[2].nulable`).
        key: String,
        /// The keys accepted there.
        valid: &'static [&'static str],
    },
    /// A missing key or a bad value.
    Invalid {
        /// The key, with its path.
        key: String,
        /// What is wrong and what is expected.
        message: String,
    },
    /// The dialect cannot express the operation.
    Unsupported(String),
    /// A SQLite rebuild (or a MySQL MODIFY) needs the table's current
    /// definition, which is not known.
    NeedShape(String),
    /// No inverse can be derived.
    NotInvertible(String),
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::UnknownOp(op) => write!(
                f,
                "unknown operation `{op}`; schema operations are: {}; data operations \
                 (a revision with one is a data revision) are: {}",
                Operation::NAMES.join(", "),
                crate::data::model::DATA_OPS.join(", ")
            ),
            Problem::UnknownKey { key, valid } => {
                write!(
                    f,
                    "unknown key `{key}`; valid keys are: {}",
                    valid.join(", ")
                )
            }
            Problem::Invalid { key, message } => write!(f, "`{key}`: {message}"),
            Problem::Unsupported(s) | Problem::NeedShape(s) | Problem::NotInvertible(s) => {
                f.write_str(s)
            }
        }
    }
}
#[cfg(test)]
mod tests;
