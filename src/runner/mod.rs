//! Executes plans. `offline` renders a plan as a SQL script (`--sql`);
//! `online` feeds the same rendered statements to a connection, so what
//! `--sql` shows is what runs. `script` holds the per-revision statement
//! lists both of them use; `error` the online runner's errors.

pub mod error;
pub mod offline;
pub mod online;
pub mod schema;
pub mod script;

pub use error::{Error, StatementFailure};
pub use online::{Migrator, Observer, RunReport};
