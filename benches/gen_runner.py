#!/usr/bin/env python3
"""Writes the runner benchmark's inputs (benches/runner.sh) into DIR:

  DIR/project/alembic.toml, DIR/project/migrations/schema/*.sql
      N trivial revisions in a chain, retort's SQL format (design 4.2):
      CREATE TABLE t_<i> (id INTEGER PRIMARY KEY); INSERT INTO t_<i> VALUES (1);
  DIR/baseline_sqlite.sql, DIR/baseline_postgres.sql
      the limit: the same statements, one transaction per revision, plus one
      INSERT into a _versions table shaped like retort's (design 7.1), for
      `sqlite3 FILE < script` and `psql -f script`.

usage: gen_runner.py N DIR
"""

import hashlib
import os
import sys


def rev_id(i):
    return "%012x" % i


def revision_file(i):
    parent = "-- down_revision: %s\n" % rev_id(i - 1) if i > 1 else ""
    return (
        "-- revision: %s\n%s-- message: t %d\n-- created: 2026-11-23T12:00:00Z\n"
        "-- depends_on:\n\n-- migrate:upgrade\n"
        "CREATE TABLE t_%d (id INTEGER PRIMARY KEY);\nINSERT INTO t_%d VALUES (1);\n\n"
        "-- migrate:downgrade\nDROP TABLE t_%d;\n" % (rev_id(i), parent, i, i, i, i)
    )


VERSIONS_DDL = {
    "sqlite": 'CREATE TABLE IF NOT EXISTS "_versions" ( "version" text NOT NULL PRIMARY KEY, '
    '"lane" text NOT NULL, "state" text NOT NULL, "checksum" text NOT NULL, '
    '"message" text NOT NULL, "applied_at" text NOT NULL, "execution_ms" integer NULL, '
    '"progress" text NULL, "error" text NULL, "applied_by" text NOT NULL );',
    "postgres": 'CREATE TABLE IF NOT EXISTS "_versions" ( "version" varchar(255) NOT NULL PRIMARY KEY, '
    '"lane" varchar(255) NOT NULL, "state" varchar(16) NOT NULL, "checksum" varchar(64) NOT NULL, '
    '"message" text NOT NULL, "applied_at" timestamp with time zone NOT NULL, '
    '"execution_ms" bigint NULL, "progress" jsonb NULL, "error" text NULL, '
    '"applied_by" varchar(255) NOT NULL );',
}
NOW = {
    "sqlite": "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
    "postgres": "CURRENT_TIMESTAMP",
}


def checksum(text):
    # design 4: SHA-256 of the file, line ends normalised, trailing
    # whitespace removed (close enough for the baseline's row).
    norm = "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").split("\n"))
    return hashlib.sha256(norm.encode()).hexdigest()


def main():
    n, out = int(sys.argv[1]), sys.argv[2]
    schema = os.path.join(out, "project", "migrations", "schema")
    os.makedirs(schema, exist_ok=True)
    with open(os.path.join(out, "project", "alembic.toml"), "w") as f:
        f.write(
            '[database]\nurl = "sqlite://bench.db"\n\n[lanes]\nschema = "migrations/schema"\n\n'
            '[revision]\nformat = "sql"\n'
        )
    sums = []
    for i in range(1, n + 1):
        text = revision_file(i)
        with open(os.path.join(schema, "%s_t_%d.sql" % (rev_id(i), i)), "w") as f:
            f.write(text)
        sums.append(checksum(text))
    for dialect in ("sqlite", "postgres"):
        lines = ["BEGIN;", VERSIONS_DDL[dialect], "COMMIT;"]
        for i in range(1, n + 1):
            lines += [
                "BEGIN;",
                "CREATE TABLE t_%d (id INTEGER PRIMARY KEY);" % i,
                "INSERT INTO t_%d VALUES (1);" % i,
                "INSERT INTO \"_versions\" (\"version\", \"lane\", \"state\", \"checksum\", "
                "\"message\", \"applied_at\", \"execution_ms\", \"progress\", \"error\", "
                "\"applied_by\") VALUES ('%s', 'schema', 'applied', '%s', 't %d', %s, 1, "
                "NULL, NULL, 'bench@localhost');" % (rev_id(i), sums[i - 1], i, NOW[dialect]),
                "COMMIT;",
            ]
        with open(os.path.join(out, "baseline_%s.sql" % dialect), "w") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
