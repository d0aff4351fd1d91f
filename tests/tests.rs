//! retort's integration tests: one test binary (style.md rule 9) that drives
//! the real `retort` executable in temporary projects.
//!
//! Modules:
//! - `support`: the project builder, the process runner, snapshot files,
//!   `support::servers` (throw-away PostgreSQL/MySQL databases) and
//!   `support::live` (one scenario per backend, reading the database back);
//! - `it::init`: `retort init` scaffolding;
//! - `it::revision`: `revision` and `merge` write parsable files;
//! - `it::listings`: `heads`, `history`, `branches`, `show` on a branch +
//!   merge graph (Alembic's exact formats, alembic-semantics §9);
//! - `it::offline`: `upgrade --sql` / `downgrade --sql` scripts per dialect
//!   (design §9, alembic-semantics §8);
//! - `it::oracle`: every case recorded from real Alembic 1.20.1
//!   (`tests/oracle/fixtures/`) replayed and compared, with named exceptions
//!   for retort's deliberate differences;
//! - `it::errors`: parse and validation errors, Alembic's error texts, exit
//!   codes;
//! - `it::example`: the example project at the repository root;
//! - `it::live_runner`: the live runner on SQLite, PostgreSQL and MariaDB:
//!   round trips, current/check/history -i, stamp, checksums and amend,
//!   failing revisions, the MySQL journal and resolve, --atomic;
//! - `it::servers`: the database servers CI provides are reachable;
//! - `it::roundtrip`, `it::failure`, `it::lock`: the live runner on SQLite,
//!   PostgreSQL and MariaDB (each scenario once per backend through
//!   `support::live::per_backend!`, e.g. `it::roundtrip::linear::sqlite`):
//!   round trips, stamp, checksums, failing revisions, concurrent runs.
//!
//! Expected values are derived by hand from design.md and
//! alembic-semantics.md; each test says how. Snapshots live in
//! `tests/snapshots/`; `RETORT_BLESS=1 cargo test` rewrites them.

mod it;
mod support;
