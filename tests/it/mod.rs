//! The test modules; see `tests/tests.rs` for what each covers.

mod cli_fixes;
mod data_checks;
mod data_convert;
mod data_fixtures;
mod data_lane;
mod data_live;
mod data_once;
mod data_spans;
mod errors;
mod example;
mod failure;
mod init;
mod listings;
mod live_runner;
mod lock;
mod offline;
mod ops_roundtrip;
mod ops_sqlite_rebuild;
mod oracle;
mod revision;
mod roundtrip;
mod servers;
