//! `retort init [DIR]` (design §9): scaffolds `alembic.toml` and
//! `migrations/<lane>/`, and the result is a working, empty project.

use crate::support::Project;

#[test]
fn init_creates_the_layout() {
    let p = Project::empty();
    p.retort(&["init"]).success();

    assert!(p.root().join("alembic.toml").is_file(), "alembic.toml");
    // The default lane is `schema` = `migrations/schema` (design §3, the
    // default of `Config::lanes`).
    assert!(
        p.root().join("migrations/schema").is_dir(),
        "migrations/schema"
    );
    let config = p.read("alembic.toml");
    assert!(config.contains("[database]"), "{config}");
    assert!(config.contains("[lanes]"), "{config}");
}

#[test]
fn init_into_a_directory() {
    let p = Project::empty();
    p.retort(&["init", "shop"]).success();
    assert!(p.root().join("shop/alembic.toml").is_file());
    assert!(p.root().join("shop/migrations/schema").is_dir());
    assert!(!p.root().join("alembic.toml").exists());
}

#[test]
fn an_initialised_project_is_usable() {
    let p = Project::empty();
    p.retort(&["init"]).success();

    // No revisions: `heads` lists nothing (Alembic prints nothing, exit 0).
    let heads = p.retort(&["heads"]);
    heads.success();
    assert_eq!(heads.stdout, "");

    // The first revision is a base, and it is the only head.
    p.retort(&["revision", "-m", "first", "--rev-id", "f1f1f1f1f1f1"])
        .success();
    let heads = p.retort(&["heads"]);
    heads.success();
    assert_eq!(heads.stdout, "f1f1f1f1f1f1 (head)\n");
}
