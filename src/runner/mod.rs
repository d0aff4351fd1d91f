//! Executes plans. `offline` renders a plan as a SQL script (`--sql`); the
//! online runner (a later issue) feeds the same rendered statements to a
//! connection, so what `--sql` shows is what runs. `script` holds the
//! per-revision statement lists both of them use.

pub mod offline;
pub mod script;
