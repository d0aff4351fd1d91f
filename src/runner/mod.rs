//! Executes plans. `offline` renders a plan as a SQL script (`--sql`); the
//! online runner (a later issue) feeds the same rendered statements to a
//! connection, so what `--sql` shows is what runs.

pub mod offline;
