#!/usr/bin/env python3
"""Writes a benchmark project for retort (and, with --alembic, the same graph
as an Alembic project).

    gen_graph.py linear|branchy N DIR [--alembic]

linear:  N revisions, each the child of the previous one.
branchy: segments of 10 revisions: a trunk revision, two branches of four,
         and a merge of the two; the next segment starts on the merge.
         Every tenth segment's left branch carries a branch label.

Ids are the first 12 hex digits of sha1("rev<i>"), so files load in an order
unrelated to the graph, as in real projects. Deterministic: the same
arguments write the same files.
"""
import hashlib
import os
import sys


def rev_id(i):
    return hashlib.sha1(f"rev{i}".encode()).hexdigest()[:12]


def linear(n):
    """(id, parents, labels, message) in creation order."""
    out = []
    for i in range(n):
        out.append((rev_id(i), [rev_id(i - 1)] if i else [], [], f"step {i}"))
    return out


def branchy(n):
    out = []
    i = 0
    prev = None
    segment = 0
    while i < n:
        trunk = rev_id(i)
        out.append((trunk, [prev] if prev else [], [], f"trunk {i}"))
        i += 1
        tips = []
        for side in ("left", "right"):
            parent = trunk
            for k in range(4):
                if i >= n:
                    break
                labels = [f"feature{segment}"] if side == "left" and k == 0 and segment % 10 == 0 else []
                out.append((rev_id(i), [parent], labels, f"{side} {i}"))
                parent = rev_id(i)
                i += 1
            tips.append(parent)
        if i >= n:
            break
        out.append((rev_id(i), tips, [], f"merge {i}"))
        prev = rev_id(i)
        i += 1
        segment += 1
    return out


def toml_list(items):
    return "[" + ", ".join(f'"{x}"' for x in items) + "]"


def write_retort(revs, root):
    lane = os.path.join(root, "migrations", "schema")
    os.makedirs(lane, exist_ok=True)
    with open(os.path.join(root, "alembic.toml"), "w") as f:
        f.write('[database]\nurl = "sqlite://bench.db"\n\n[lanes]\nschema = "migrations/schema"\n')
    for n, (rid, parents, labels, message) in enumerate(revs):
        lines = [f'revision = "{rid}"']
        if len(parents) == 1:
            lines.append(f'down_revision = "{parents[0]}"')
        elif parents:
            lines.append(f"down_revision = {toml_list(parents)}")
        if labels:
            lines.append(f"branch_labels = {toml_list(labels)}")
        lines.append(f'message = "{message}"')
        lines.append("created = 2026-11-23T12:00:00Z")
        lines += ["", "[[upgrade]]", 'op = "sql"', f'sql = "CREATE TABLE t{n} (id INTEGER PRIMARY KEY)"',
                  "", "[[downgrade]]", 'op = "sql"', f'sql = "DROP TABLE t{n}"', ""]
        slug = message.replace(" ", "_")
        with open(os.path.join(lane, f"{rid}_{slug}.toml"), "w") as f:
            f.write("\n".join(lines))


ENV_PY = '''from alembic import context

def run_migrations_offline():
    context.configure(url=context.config.get_main_option("sqlalchemy.url"),
                      literal_binds=True, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()

if context.is_offline_mode():
    run_migrations_offline()
else:
    raise SystemExit("the benchmark project is offline only")
'''


def write_alembic(revs, root):
    versions = os.path.join(root, "alembic", "versions")
    os.makedirs(versions, exist_ok=True)
    with open(os.path.join(root, "alembic.ini"), "w") as f:
        f.write("[alembic]\nscript_location = alembic\nsqlalchemy.url = sqlite:///bench.db\n")
    with open(os.path.join(root, "alembic", "env.py"), "w") as f:
        f.write(ENV_PY)
    for n, (rid, parents, labels, message) in enumerate(revs):
        down = "None" if not parents else (repr(parents[0]) if len(parents) == 1 else repr(tuple(parents)))
        body = (f'"""{message}"""\nfrom alembic import op\n\nrevision = {rid!r}\ndown_revision = {down}\n'
                f"branch_labels = {tuple(labels)!r}\ndepends_on = None\n\n"
                f'def upgrade():\n    op.execute("CREATE TABLE t{n} (id INTEGER PRIMARY KEY)")\n\n'
                f'def downgrade():\n    op.execute("DROP TABLE t{n}")\n')
        slug = message.replace(" ", "_")
        with open(os.path.join(versions, f"{rid}_{slug}.py"), "w") as f:
            f.write(body)


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if len(args) != 3 or args[0] not in ("linear", "branchy"):
        sys.exit(__doc__)
    shape, n, root = args[0], int(args[1]), args[2]
    revs = linear(n) if shape == "linear" else branchy(n)
    write_retort(revs, root)
    if "--alembic" in sys.argv:
        write_alembic(revs, root)


if __name__ == "__main__":
    main()
