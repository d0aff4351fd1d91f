//! The database servers of the next milestone's tests are reachable: each
//! test creates a uniquely named database, uses it, and checks that the
//! guard dropped it. Without a server the test prints `skipped: …` and
//! passes, unless `RETORT_REQUIRE_SERVERS=1` (as in `.ci/run`).

use crate::support::servers;

#[test]
fn postgres_database_is_created_and_dropped() {
    let Some(db) = servers::postgres() else {
        return;
    };
    let name = db.name.clone();
    db.query("CREATE TABLE probe (id INTEGER PRIMARY KEY)");
    db.query("INSERT INTO probe VALUES (41)");
    assert_eq!(db.query("SELECT id + 1 FROM probe").trim(), "42");
    assert!(db.database_exists(&name));
    let admin = servers::postgres().expect("reachable a moment ago");
    drop(db);
    assert!(!admin.database_exists(&name), "{name} was dropped");
}

#[test]
fn mysql_database_is_created_and_dropped() {
    let Some(db) = servers::mysql() else { return };
    let name = db.name.clone();
    db.query("CREATE TABLE probe (id INTEGER PRIMARY KEY)");
    db.query("INSERT INTO probe VALUES (41)");
    assert_eq!(db.query("SELECT id + 1 FROM probe").trim(), "42");
    assert!(db.database_exists(&name));
    let admin = servers::mysql().expect("reachable a moment ago");
    drop(db);
    assert!(!admin.database_exists(&name), "{name} was dropped");
}
