//! Database connections and the `_versions` / `_versions_log` tables
//! (a later issue).
