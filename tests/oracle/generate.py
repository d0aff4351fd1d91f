#!/usr/bin/env python3
"""Differential oracle for retort: record what real Alembic does on a set of graph shapes.

WHAT IT DOES
    For every graph shape defined below (as plain data: id, down_revision, branch_labels,
    depends_on, message) this script
      1. writes a throwaway Alembic project in a temp dir (alembic.ini + the stock `generic`
         env.py, SQLite URL, offline `--sql` mode, transaction_per_migration left at its
         default False -- SQLite output has no BEGIN/COMMIT either way),
      2. writes one `<id>_<slug>.py` revision file per node whose upgrade()/downgrade() emit
         `SELECT 'up <id>'` / `SELECT 'down <id>'`,
      3. runs a generated list of Alembic command lines against it (heads, branches, history,
         show, upgrade/downgrade/stamp --sql with many targets and ranges, error cases),
      4. saves the results as tests/oracle/fixtures/<shape>.json (schema: README.md).

    Commands run *in process* through `alembic.config.main(argv)` with file-descriptor level
    capture of stdout/stderr (a subprocess per case would take ~0.4 s each).  To make sure
    that is faithful, a sample of cases per shape is re-run through the real `alembic` console
    script in a subprocess and compared (exit code, stdout); any mismatch aborts the run.

    Every case is run under several PYTHONHASHSEED values (Python set/frozenset iteration order
    of strings depends on it).  Outputs are normalised (see `normalise_stdout`); fields that
    still differ between seeds are listed in the case's "unstable" field and their per-seed
    variants are kept in "variants".

HOW TO RE-RUN
    python3 -m venv /work/venv-alembic
    /work/venv-alembic/bin/pip install alembic==1.20.1      # SQLAlchemy/Mako come with it
    /work/venv-alembic/bin/python tests/oracle/generate.py  # from the repo root
    Options: --only SHAPE[,SHAPE]  --no-verify  --verify-sample N  --seeds 0,1,2  --keep DIR

ALEMBIC VERSION
    Generated with Alembic 1.20.1 (SQLAlchemy 2.1.9, Mako 1.4.3, CPython 3.11.7).
    The script refuses to run with another Alembic version unless --any-version is given.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ALEMBIC_VERSION = "1.20.1"
HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures"
PROJECT_PLACEHOLDER = "<project>"


# --------------------------------------------------------------------------------------------
# Shapes (creation order; file names are "<id>_<slug>.py", Alembic loads them sorted by name)
# --------------------------------------------------------------------------------------------

def R(id, down=None, labels=(), deps=(), msg=None):
    if isinstance(down, str):
        down = [down]
    return {
        "id": id,
        "down_revision": list(down or []),
        "branch_labels": list(labels),
        "depends_on": list(deps),
        "message": msg or f"rev {id}",
    }


SHAPES: dict[str, list[dict]] = {}

SHAPES["linear"] = [R(f"a{i}", None if i == 1 else f"a{i-1}") for i in range(1, 7)]

# linear chain with 12-hex ids: shared prefixes (ae10.., ae1b..), load order != creation
# order, and a label `feature` on the 3rd revision next to an id starting with `fe`.
SHAPES["prefixes"] = [
    R("ae1027a6acf0", None, msg="create account"),
    R("1975ea83b712", "ae1027a6acf0", msg="add email"),
    R("fe00c0ffee11", "1975ea83b712", labels=["feature"], msg="feature start"),
    R("ae1b55c0ffee", "fe00c0ffee11", msg="add index"),
    R("ae10f00dbeef", "ae1b55c0ffee", msg="drop column"),
    R("3512b954651e", "ae10f00dbeef", msg="rename table"),
]

SHAPES["branch_merge"] = [
    R("a"),
    R("b", "a"),
    R("c1", "b", labels=["c1branch"]),
    R("d1", "c1"),
    R("c2", "b"),
    R("d2", "c2"),
    R("m", ("d1", "d2"), msg="merge d1 d2"),
    R("e", "m"),
]

SHAPES["two_bases_labels"] = [
    R("a1", None, labels=["alpha"]),
    R("a2", "a1"),
    R("a3", "a2"),
    R("b1", None, labels=["beta"]),
    R("b2", "b1", deps=["a2"]),
    R("b3", "b2"),
]

# y1 depends on x2, which is a versioned head -> x2 is an "effective head"
SHAPES["depends_on_head"] = [
    R("x1", None, labels=["xb"]),
    R("x2", "x1"),
    R("y1", None, labels=["yb"], deps=["x2"]),
    R("y2", "y1"),
]

# three heads merged at once; tuple order differs from creation and load order
SHAPES["three_heads_merge"] = [
    R("r0", None, msg="root"),
    R("k7", "r0"),
    R("c3", "r0", labels=["cee"]),
    R("f2", "r0"),
    R("k7a", "k7"),
    R("mm", ("f2", "k7a", "c3"), msg="merge three"),
    R("t9", "mm", msg="top"),
]

SHAPES["unmerged_heads"] = [
    R("u0", None),
    R("u1", "u0"),
    R("ux1", "u1", labels=["xside"]),
    R("uy1", "u1"),
    R("ux2", "ux1"),
    R("uy2", "uy1", labels=["yside"]),
    R("ux3", "ux2"),
]

# file-name order != id order != creation order: 'a1B_...' < 'a1Bx_...' < 'a1_...' because
# 'B' (0x42) < '_' (0x5f) < 'x' (0x78), while plain id order is a1 < a1B < a1Bx < a1x.
SHAPES["load_order"] = [
    R("m0", None),
    R("z9", "m0"),
    R("a1B", "m0"),
    R("a1", "m0"),
    R("z9x", "z9"),
    R("a1Bx", "a1B"),
    R("a1x", "a1"),
    R("q", ("z9x", "a1x", "a1Bx"), msg="merge all"),
]


def random_dag(seed: int, n: int) -> list[dict]:
    """Seeded random DAG with branches, merges, labels, depends_on (ids and labels)."""
    label_pool = ["billing", "auth", "reports", "search", "audit", "feat", "ebay", "cafe"]
    while True:
        rng = random.Random(seed)
        revs: list[dict] = []
        used: set[str] = set()
        labels_left = list(label_pool)
        rng.shuffle(labels_left)

        def new_id() -> str:
            while True:
                if revs and rng.random() < 0.25:
                    base = rng.choice(revs)["id"]
                    k = rng.choice([3, 4, 4, 5])
                    cand = base[:k] + "".join(rng.choice("0123456789abcdef") for _ in range(12 - k))
                else:
                    cand = "".join(rng.choice("0123456789abcdef") for _ in range(12))
                if cand not in used and not cand.isdigit():
                    used.add(cand)
                    return cand

        for i in range(n):
            children = {d for r in revs for d in r["down_revision"]}
            heads = [r["id"] for r in revs if r["id"] not in children]
            roots = sum(1 for r in revs if not r["down_revision"])
            x = rng.random()
            if not revs or (x < 0.08 and roots < 2):
                down: list[str] = []
            elif x < 0.26 and len(heads) >= 2:
                down = rng.sample(heads, 3 if len(heads) >= 3 and rng.random() < 0.3 else 2)
            elif x < 0.45:
                down = [rng.choice(revs)["id"]]
            else:
                down = [rng.choice(heads)]
            rid = new_id()
            labels = []
            if labels_left and rng.random() < 0.18:
                labels = [labels_left.pop()]
            deps = []
            if len(revs) > 2 and rng.random() < 0.18:
                anc = ancestors_of(revs, down)
                cands = [r for r in revs if r["id"] not in anc and r["id"] not in down]
                if rng.random() < 0.15:
                    cands = [r for r in revs if r["id"] in anc]  # redundant dep (normalised away)
                if cands:
                    t = rng.choice(cands)
                    if t["branch_labels"] and rng.random() < 0.4:
                        deps = [t["branch_labels"][0]]
                    else:
                        deps = [t["id"]]
            revs.append(R(rid, down, labels=labels, deps=deps, msg=f"step {i}"))
        merges = sum(1 for r in revs if len(r["down_revision"]) > 1)
        ndeps = sum(1 for r in revs if r["depends_on"])
        nlabels = sum(1 for r in revs if r["branch_labels"])
        if merges >= 2 and ndeps >= 2 and nlabels >= 2:
            return revs
        seed += 1000


def ancestors_of(revs: list[dict], ids, with_deps=False) -> set[str]:
    by = {r["id"]: r for r in revs}
    for r in revs:
        for lb in r["branch_labels"]:
            by.setdefault(lb, r)
    out: set[str] = set()
    stack = list(ids)
    while stack:
        i = stack.pop()
        r = by[i]
        if r["id"] in out:
            continue
        out.add(r["id"])
        stack.extend(r["down_revision"])
        if with_deps:
            stack.extend(r["depends_on"])
    return out


SHAPES["random_a"] = random_dag(11, 18)
SHAPES["random_b"] = random_dag(22, 24)
SHAPES["random_c"] = random_dag(33, 30)


# --------------------------------------------------------------------------------------------
# Case generation
# --------------------------------------------------------------------------------------------

def slug(msg: str) -> str:
    return "_".join(re.findall(r"\w+", msg.lower()))[:40]


def file_name(r: dict) -> str:
    return f"{r['id']}_{slug(r['message'])}.py"


def build_cases(revs: list[dict], seed: int) -> list[list[str]]:
    rng = random.Random(seed)
    ids = [r["id"] for r in revs]
    load = sorted(revs, key=file_name)
    load_ids = [r["id"] for r in load]
    labels = [lb for r in revs for lb in r["branch_labels"]]
    children = {d for r in revs for d in r["down_revision"]}
    vheads = [i for i in load_ids if i not in children]
    lbl_owner = {lb: r["id"] for r in revs for lb in r["branch_labels"]}
    deps_targets = {lbl_owner.get(d, d) for r in revs for d in r["depends_on"]}
    real_heads = [i for i in vheads if i not in deps_targets]
    anc = {i: ancestors_of(revs, [i]) for i in ids}  # down_revision only, inclusive
    big = len(revs) > 10

    def sample(xs, k):
        xs = list(xs)
        return xs if len(xs) <= k else rng.sample(xs, k)

    cases: list[list[str]] = []
    add = cases.append

    # ---- listings
    for a in (["heads"], ["heads", "-v"], ["heads", "--resolve-dependencies"],
              ["branches"], ["branches", "-v"], ["history"], ["history", "-v"],
              ["history", "-r", "base:heads"], ["history", "-r", ":"],
              ["history", "-r", "base:"], ["history", "-r", ":heads"],
              ["history", "-r", ":head"], ["history", "-r", "nosuch"],
              ["history", "-r", f"{ids[0]}:{ids[-1]}:{ids[0]}"]):
        add(a)
    pairs = [(a, d) for d in load_ids for a in load_ids if a != d and a in anc[d]]
    for a, d in sample(pairs, 12 if big else 30):
        add(["history", "-r", f"{a}:{d}"])
        add(["history", "-r", f"{d}:{a}"])
    for i in sample(load_ids, 6 if big else len(ids)):
        add(["history", "-r", f"{i}:"])
        add(["history", "-r", f":{i}"])
    for lb in labels:
        add(["history", "-r", f"{lb}@base:{lb}@head"])
        add(["history", "-r", f"{lb}:"])
    add(["history", "--rev-range=-2:"])
    add(["history", "--rev-range=-1:"])
    add(["history", "-r", "base:+2"])
    for i in load_ids:
        add(["show", i])
    for t in ["head", "heads", "base", "nosuch"] + labels + [f"{lb}@head" for lb in labels]:
        add(["show", t])

    # ---- identifiers to try as targets
    keys = [k for k in ids + labels]
    prefixes: list[str] = []
    for k in ids:
        for n in (3, 4, 5):
            if len(k) > n:
                prefixes.append(k[:n])
    for a in keys:
        for b in keys:
            if a < b:
                n = 0
                while n < min(len(a), len(b)) and a[n] == b[n]:
                    n += 1
                if n >= 1:
                    prefixes.append(a[:n])
    for lb in labels:
        prefixes += [lb[:3], lb[:4]]
    prefixes = [p for p in dict.fromkeys(prefixes) if p not in keys and p]
    if big:
        prefixes = sample(prefixes, 25)

    single: list[str] = ["head", "heads", "base", "zzzz", "zz", "nosuch@head", "+1", "+2",
                         "-1", "+0", "head-1", "head-2", "heads-1", "base+1", "base+2",
                         "base+0", "head+1", "heads+1"]
    single += ids + prefixes
    for lb in labels:
        single += [lb, f"{lb}@head", f"{lb}@heads", f"{lb}@base", f"{lb}@+1", f"{lb}@+2",
                   f"{lb}@-1", f"{lb}@head-1", f"{lb}@base+1", f"{lb}@base+2", f"nosuch@{lb}"]
        for i in sample(ids, 3 if big else len(ids)):
            single.append(f"{lb}@{i}")
    for i in (sample(ids, 10) if big else ids):
        single += [f"{i}+1", f"{i}+2", f"{i}-1", f"{i}-2"]
    for i in sample(ids, 2):
        single += [f"{i}+99", f"{i}-99"]
    single = list(dict.fromkeys(single))

    for t in single:
        add(["upgrade", "--sql", t])

    # ---- upgrade ranges
    ups = sample(pairs, 60) if big else pairs
    for a, d in ups:
        add(["upgrade", "--sql", f"{a}:{d}"])
    unrelated = [(a, b) for a in load_ids for b in load_ids
                 if a != b and a not in anc[b] and b not in anc[a]]
    for a, b in sample(unrelated, 15 if big else 8):
        add(["upgrade", "--sql", f"{a}:{b}"])
    for a, d in sample(pairs, 6):
        add(["upgrade", "--sql", f"{d}:{a}"])  # reversed: Alembic does not check
    for i in (sample(ids, 8) if big else ids):
        for t in ("head", "heads", "+1", "+2", "-1"):
            add(["upgrade", "--sql", f"{i}:{t}"])
    for lb in labels:
        add(["upgrade", "--sql", f"base:{lb}@head"])
        add(["upgrade", "--sql", f"{lb}@base:{lb}@head"])
    add(["upgrade", "--sql", "base:heads"])
    add(["upgrade", "--sql", "base:head"])
    add(["upgrade", "--sql", "heads:heads"])
    add(["upgrade", f"{ids[0]}:{ids[-1]}"])           # Range revision not allowed (no --sql)
    add(["upgrade", "--sql", f"{ids[0]}:{ids[-1]}:{ids[0]}"])

    # ---- downgrade ranges
    starts = list(dict.fromkeys(vheads + real_heads + sample([i for i in ids if i not in vheads], 3 if big else 2)))
    for s in starts:
        targets = ["base", "-1", "-2", "-99", "+1", "-0", "base+1", "base+2", "head", "heads",
                   f"{s}-1", f"{s}-2", f"{s}+1", "zzzz"]
        targets += [x for x in (sample(ids, 14) if big else ids)]
        targets += [f"{x}+1" for x in sample(ids, 3 if big else 4)]
        targets += [f"{x}-1" for x in sample(ids, 3 if big else 4)]
        for lb in labels:
            targets += [f"{lb}@base", f"{lb}@-1", f"{lb}@-2", f"{lb}@base+1", f"{lb}@head-1"]
            targets += [f"{lb}@{x}" for x in sample(ids, 2 if big else 4)]
        for t in dict.fromkeys(targets):
            add(["downgrade", "--sql", f"{s}:{t}"])
    add(["downgrade", "--sql", "heads:base"])
    add(["downgrade", "--sql", "head:base"])
    add(["downgrade", "--sql", "base"])                  # requires <fromrev>:<torev>
    add(["downgrade", "--sql", f"{ids[-1]}:{ids[0]}:{ids[0]}"])
    add(["downgrade", f"{ids[-1]}:{ids[0]}"])          # Range revision not allowed

    # ---- stamp --sql
    for t in ["head", "heads", "base"] + sample(ids, 6 if big else len(ids)):
        add(["stamp", "--sql", t])
    for lb in labels:
        add(["stamp", "--sql", f"{lb}@head"])
    for a, d in sample(pairs, 5):
        add(["stamp", "--sql", f"{a}:{d}"])
        add(["stamp", "--sql", f"{d}:{a}"])
    if len(vheads) >= 2:
        add(["stamp", "--sql", vheads[0], vheads[1]])
    for a, d in sample(pairs, 2):
        add(["stamp", "--sql", a, d])
    add(["stamp", "--sql", "--purge", "head"])
    if len(pairs) >= 2:
        (a1, d1), (a2, d2) = pairs[0], pairs[-1]
        if a1 != a2:
            add(["stamp", "--sql", f"{a1}:{d1}", f"{a2}:{d2}"])

    return [list(c) for c in dict.fromkeys(tuple(c) for c in cases)]


# --------------------------------------------------------------------------------------------
# Project writing
# --------------------------------------------------------------------------------------------

ALEMBIC_INI = """\
[alembic]
script_location = %(here)s/migrations
prepend_sys_path = .
sqlalchemy.url = sqlite:///%(here)s/oracle.db

[loggers]
keys = root,sqlalchemy,alembic

[handlers]
keys = console

[formatters]
keys = generic

[logger_root]
level = WARNING
handlers = console
qualname =

[logger_sqlalchemy]
level = WARNING
handlers =
qualname = sqlalchemy.engine

[logger_alembic]
level = INFO
handlers =
qualname = alembic

[handler_console]
class = StreamHandler
args = (sys.stderr,)
level = NOTSET
formatter = generic

[formatter_generic]
format = %(levelname)-5.5s [%(name)s] %(message)s
datefmt = %H:%M:%S
"""

# the stock `alembic init` (generic template) env.py, comments removed; offline path used.
ENV_PY = '''\
from logging.config import fileConfig

from sqlalchemy import engine_from_config
from sqlalchemy import pool

from alembic import context

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name)
target_metadata = None


def run_migrations_offline() -> None:
    url = config.get_main_option("sqlalchemy.url")
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        transaction_per_migration=False,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    with connectable.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
'''


def py_down(r):
    d = r["down_revision"]
    if not d:
        return "None"
    if len(d) == 1:
        return repr(d[0])
    return repr(tuple(d))


def py_tuple_or_none(xs):
    return repr(tuple(xs)) if xs else "None"


def revision_source(r: dict) -> str:
    return f'''"""{r["message"]}"""
from alembic import op

revision = {r["id"]!r}
down_revision = {py_down(r)}
branch_labels = {py_tuple_or_none(r["branch_labels"])}
depends_on = {py_tuple_or_none(r["depends_on"])}


def upgrade():
    op.execute("SELECT 'up {r["id"]}'")


def downgrade():
    op.execute("SELECT 'down {r["id"]}'")
'''


def write_project(root: Path, revs: list[dict]) -> None:
    (root / "migrations" / "versions").mkdir(parents=True)
    (root / "alembic.ini").write_text(ALEMBIC_INI)
    (root / "migrations" / "env.py").write_text(ENV_PY)
    for r in revs:
        (root / "migrations" / "versions" / file_name(r)).write_text(revision_source(r))


# --------------------------------------------------------------------------------------------
# Worker: run cases in-process (one Python process per hash seed)
# --------------------------------------------------------------------------------------------

@contextlib.contextmanager
def capture_fds():
    """Redirect fd 1 and 2 to temp files; yields a dict filled with the text on exit."""
    out: dict = {}
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with tempfile.TemporaryFile() as fo, tempfile.TemporaryFile() as fe:
        os.dup2(fo.fileno(), 1)
        os.dup2(fe.fileno(), 2)
        try:
            yield out
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
            fo.seek(0)
            fe.seek(0)
            out["stdout"] = fo.read().decode("utf-8", "replace")
            out["stderr"] = fe.read().decode("utf-8", "replace")


def run_inprocess(argv: list[str]) -> dict:
    import warnings

    import alembic.config

    res: dict = {}
    with warnings.catch_warnings(record=True) as wlist:
        warnings.simplefilter("always")
        with capture_fds() as cap:
            try:
                alembic.config.main(argv=list(argv), prog="alembic")
                res["exit"] = 0
            except SystemExit as e:
                code = e.code
                if code is None:
                    code = 0
                elif not isinstance(code, int):
                    print(code, file=sys.stderr)
                    code = 1
                res["exit"] = code & 0xFF
            except BaseException as e:  # noqa: BLE001 - a crash of Alembic itself
                traceback.print_exc()
                res["exit"] = 1
                res["exception"] = f"{type(e).__name__}: {e}".rstrip(": ").rstrip()
                if res["exception"] == type(e).__name__ + ":":
                    res["exception"] = type(e).__name__
    res["stdout"] = cap["stdout"]
    res["stderr"] = cap["stderr"]
    res["warnings"] = [f"{w.category.__name__}: {w.message}" for w in wlist]
    return res


def graph_info(project: Path) -> dict:
    """Alembic's own view of the revision map (load order, derived sets, propagated labels)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config(str(project / "alembic.ini"))
    sd = ScriptDirectory.from_config(cfg)
    rm = sd.revision_map
    revs = []
    load = [r for r in rm._revision_map.values() if r is not None]
    seen, load_order = set(), []
    for r in load:  # dict insertion order = load order of files; labels point to the same objs
        if r.revision not in seen:
            seen.add(r.revision)
            load_order.append(r)
    for r in load_order:
        revs.append({
            "id": r.revision,
            "branch_labels": sorted(r.branch_labels),
            "nextrev": sorted(r.nextrev),
            "all_nextrev": sorted(r._all_nextrev),
            "versioned_down_revisions": list(r._versioned_down_revisions),
            "normalized_down_revisions": sorted(r._normalized_down_revisions),
            "normalized_dependencies": sorted(r._normalized_resolved_dependencies),
            "is_head": r.is_head,
            "is_real_head": r._is_real_head,
            "is_base": r.is_base,
            "is_real_base": r._is_real_base,
            "is_branch_point": r.is_branch_point,
            "is_real_branch_point": r._is_real_branch_point,
            "is_merge_point": r.is_merge_point,
        })
    return {
        "load_order": [r.revision for r in load_order],
        "heads": list(rm.heads),
        "real_heads": list(rm._real_heads),
        "bases": list(rm.bases),
        "real_bases": list(rm._real_bases),
        "revisions": revs,
    }


def worker_main(project: str, cases_file: str, out_file: str, want_graph: bool) -> None:
    sys.dont_write_bytecode = True
    os.chdir(project)
    cases = json.loads(Path(cases_file).read_text())
    results = [run_inprocess(a) for a in cases]
    out = {"results": results}
    if want_graph:
        out["graph"] = graph_info(Path(project))
    Path(out_file).write_text(json.dumps(out))


# --------------------------------------------------------------------------------------------
# Post-processing
# --------------------------------------------------------------------------------------------

STEP_RE = re.compile(r"^-- Running (upgrade|downgrade|stamp_revision) (.*)$")


def parse_steps(stdout: str) -> list[str]:
    """The `-- Running ...` comment lines in order, without the leading `-- Running `."""
    steps = []
    for line in stdout.splitlines():
        m = STEP_RE.match(line)
        if m:
            steps.append(f"{m.group(1)} {m.group(2)}")
    return steps


def normalise_stdout(text: str, project: str, all_labels: set[str]) -> str:
    """Make Alembic's listing output deterministic (applied to every recorded stdout):
      1. the temp project directory -> "<project>";
      2. a parenthesised group "(x, y)" whose items are all branch labels -> items sorted;
      3. "Branch names: ..." and "Branches into: ..." lines -> items sorted;
      4. in `branches` output, each run of consecutive child lines "<spaces> -> ..." -> sorted.
    """
    text = text.replace(project, PROJECT_PLACEHOLDER)

    def grp(m):
        items = m.group(1).split(", ")
        if all(i in all_labels for i in items):
            return "(" + ", ".join(sorted(items)) + ")"
        return m.group(0)

    lines = []
    for line in text.split("\n"):
        for pfx in ("Branch names: ", "Branches into: "):
            if line.startswith(pfx):
                line = pfx + ", ".join(sorted(line[len(pfx):].split(", ")))
        line = re.sub(r"\(([^()]*)\)", grp, line)
        lines.append(line)
    out, run = [], []
    for line in lines:
        if re.match(r"^ +-> ", line):
            run.append(line)
            continue
        out.extend(sorted(run))
        run = []
        out.append(line)
    out.extend(sorted(run))
    return "\n".join(out)


def failed_text(stdout: str) -> str | None:
    for line in stdout.splitlines():
        if line.startswith("FAILED: "):
            return line[len("FAILED: "):]
    return None


def make_case(argv, res, project, all_labels) -> dict:
    stdout = normalise_stdout(res["stdout"], project, all_labels)
    case: dict = {"argv": argv, "exit": res["exit"]}
    steps = parse_steps(stdout)
    if "--sql" in argv or steps:
        case["steps"] = steps
    case["stdout"] = stdout
    err = failed_text(stdout)
    if err is not None:
        case["error"] = err
    if "exception" in res:
        case["crash"] = True
        case["exception"] = res["exception"].replace(project, PROJECT_PLACEHOLDER)
    if res["exit"] == 2:
        tail = [l for l in res["stderr"].splitlines() if l.strip()]
        case["usage_error"] = tail[-1] if tail else ""
    warns = [w.replace(project, PROJECT_PLACEHOLDER) for w in res["warnings"]]
    if warns:
        case["warnings"] = warns
    return case


# --------------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------------

def run_shape(name: str, revs: list[dict], seeds: list[int], verify_n: int, keep: str | None) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix=f"oracle_{name}_"))
    project = tmp / "proj"
    try:
        write_project(project, revs)
        cases = build_cases(revs, seed=sum(map(ord, name)))
        (tmp / "cases.json").write_text(json.dumps(cases))
        per_seed = {}
        graph = None
        for s in seeds:
            env = dict(os.environ, PYTHONHASHSEED=str(s), PYTHONDONTWRITEBYTECODE="1")
            outf = tmp / f"out_{s}.json"
            cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", str(project),
                   str(tmp / "cases.json"), str(outf)] + (["--graph"] if s == seeds[0] else [])
            subprocess.run(cmd, env=env, check=True)
            data = json.loads(outf.read_text())
            per_seed[s] = data["results"]
            graph = data.get("graph", graph)
        all_labels = {lb for r in graph["revisions"] for lb in r["branch_labels"]}
        all_labels |= {lb for r in revs for lb in r["branch_labels"]}
        proj_s = str(project)
        out_cases = []
        n_unstable = 0
        for idx, argv in enumerate(cases):
            made = {s: make_case(argv, per_seed[s][idx], proj_s, all_labels) for s in seeds}
            base = dict(made[seeds[0]])
            unstable = sorted({k for s in seeds[1:] for k in set(base) | set(made[s])
                               if made[s].get(k) != base.get(k)})
            if unstable:
                n_unstable += 1
                base["unstable"] = unstable
                base["variants"] = {str(s): {k: made[s].get(k) for k in unstable} for s in seeds}
            out_cases.append(base)

        # faithfulness check: real console script in a subprocess vs in-process result
        mism = []
        if verify_n:
            rng = random.Random(7)
            idxs = sorted(set(rng.sample(range(len(cases)), min(verify_n, len(cases)))) |
                          {i for i, c in enumerate(out_cases) if c.get("crash") or c["exit"] not in (0, 255)})
            alembic_bin = str(Path(sys.executable).parent / "alembic")
            env = dict(os.environ, PYTHONHASHSEED=str(seeds[0]), PYTHONDONTWRITEBYTECODE="1")

            def one(i):
                p = subprocess.run([alembic_bin] + cases[i], cwd=project, env=env,
                                   capture_output=True, text=True)
                mine = per_seed[seeds[0]][i]
                # compare after normalisation: set iteration order can differ between two
                # processes even with the same PYTHONHASHSEED (label sets), see README
                if p.returncode != mine["exit"] or (
                        normalise_stdout(p.stdout, proj_s, all_labels)
                        != normalise_stdout(mine["stdout"], proj_s, all_labels)):
                    return (cases[i], p.returncode, mine["exit"], p.stdout[-300:], mine["stdout"][-300:])
                return None

            with ThreadPoolExecutor(4) as ex:
                mism = [m for m in ex.map(one, idxs) if m]
            if mism:
                for m in mism[:5]:
                    print("VERIFY MISMATCH", name, m, file=sys.stderr)
                raise SystemExit(f"in-process results differ from the CLI for {name}")
        print(f"{name}: {len(cases)} cases, {n_unstable} unstable across seeds "
              f"{seeds}, verified {len(idxs) if verify_n else 0} via CLI", file=sys.stderr)

        return {
            "shape": name,
            "alembic_version": ALEMBIC_VERSION,
            "generator": "tests/oracle/generate.py",
            "hash_seeds": seeds,
            "project": {
                "dialect": "sqlite",
                "mode": "offline --sql",
                "transaction_per_migration": False,
                "file_template": "%(rev)s_%(slug)s",
                "upgrade_sql": "SELECT 'up <id>'",
                "downgrade_sql": "SELECT 'down <id>'",
                "docstring": "the message only",
            },
            "revisions": [dict(r, file=file_name(r)) for r in revs],
            "graph": graph,
            "cases": out_cases,
        }
    finally:
        if keep:
            dst = Path(keep) / name
            shutil.rmtree(dst, ignore_errors=True)
            shutil.copytree(project, dst)
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--worker", nargs=3, metavar=("PROJECT", "CASES", "OUT"))
    ap.add_argument("--graph", action="store_true")
    ap.add_argument("--only", default="")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--no-verify", action="store_true")
    ap.add_argument("--verify-sample", type=int, default=25)
    ap.add_argument("--keep", help="copy each generated Alembic project into this directory")
    ap.add_argument("--any-version", action="store_true")
    a = ap.parse_args()
    if a.worker:
        worker_main(*a.worker, want_graph=a.graph)
        return
    import alembic

    if alembic.__version__ != ALEMBIC_VERSION and not a.any_version:
        raise SystemExit(f"need alembic=={ALEMBIC_VERSION}, found {alembic.__version__}")
    seeds = [int(s) for s in a.seeds.split(",")]
    names = [n for n in SHAPES if not a.only or n in a.only.split(",")]
    FIXTURES.mkdir(parents=True, exist_ok=True)

    def go(n):
        fx = run_shape(n, SHAPES[n], seeds, 0 if a.no_verify else a.verify_sample, a.keep)
        (FIXTURES / f"{n}.json").write_text(json.dumps(fx, indent=1, ensure_ascii=False) + "\n")
        return n, len(fx["cases"])

    with ThreadPoolExecutor(2) as ex:
        done = list(ex.map(go, names))
    print("wrote", ", ".join(f"{n} ({c} cases)" for n, c in done), file=sys.stderr)


if __name__ == "__main__":
    main()
