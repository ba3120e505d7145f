"""`course db migrate --to URL`: copy the gradebook to another database (usually SQLite to
PostgreSQL, for graders and Formgrader on several hosts) with nothing lost.

Every table of nbgrader's schema is copied row for row, ids included, in one transaction on the
target, which nbgrader itself creates and stamps with its alembic version; then both sides are
compared table by table and through `gradebook.dump(full=True)`. Run it while nobody grades.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import gradebook, table
from .coursedir import CourseError
from .gradebook import redact

# Rows per INSERT batch: thousands of submissions hold hundreds of thousands of grades.
CHUNK = 2000
# The one table nbgrader fills on its own when it opens a database (its course id).
BOOKKEEPING = {"course"}


@dataclass
class TableCheck:
    name: str
    source: int
    target: int
    identical: bool


def migrate(source_url: str, target_url: str, *, force: bool = False) -> list[TableCheck]:
    """Copy every row from `source_url` to `target_url`; returns the per-table verification.
    Refuses a target that already holds grades or students unless `force` (then replaced)."""
    from nbgrader.api import Base

    if source_url == target_url:
        raise CourseError("the source and the target are the same database")
    _tools_on_path()
    source, target = _engine(source_url, must_exist=True), _engine(target_url)
    tables = list(Base.metadata.sorted_tables)
    try:
        version = _source_version(source, source_url, tables)
        held = {name: n for name, n in _row_counts(target, tables).items()
                if n and name not in BOOKKEEPING}
        if held and not force:
            raise CourseError(
                f"the target {redact(target_url)} is not empty ("
                + ", ".join(f"{name}: {n} rows" for name, n in held.items())
                + "): give another database, or --force to replace its contents")
        gradebook.open_gradebook(target_url).close()  # nbgrader's schema + alembic stamp
        _copy(source, target, tables, version)
        return _verify(source, target, tables)
    finally:
        source.dispose()
        target.dispose()


def _copy(source: Any, target: Any, tables: list, version: str) -> None:
    from sqlalchemy import insert, select, text

    with _errors(target.url), target.begin() as dst, source.connect() as src:
        for t in reversed(tables):
            dst.execute(t.delete())
        for t in tables:
            for part in src.execute(select(t)).mappings().partitions(CHUNK):
                dst.execute(insert(t), [dict(row) for row in part])
        dst.execute(text("DELETE FROM alembic_version"))
        dst.execute(text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": version})


def _verify(source: Any, target: Any, tables: list) -> list[TableCheck]:
    """Counts and contents of every table (rows sorted by key here: collations differ)."""
    from sqlalchemy import select

    checks = []
    with source.connect() as src, target.connect() as dst:
        for t in tables:
            key = [c.name for c in t.primary_key.columns]

            def rows(conn, t=t, key=key) -> list[tuple]:
                found = conn.execute(select(t)).mappings().all()
                return [tuple(r.values()) for r in sorted(found, key=lambda r: [r[k] for k in key])]

            a, b = rows(src), rows(dst)
            checks.append(TableCheck(t.name, len(a), len(b), a == b))
    return checks


def _source_version(engine: Any, url: str, tables: list) -> str:
    """The source must be a whole gradebook at the schema this nbgrader writes."""
    from sqlalchemy import inspect, text

    with _errors(engine.url), engine.connect() as conn:
        present = set(inspect(conn).get_table_names())
        missing = [t.name for t in tables if t.name not in present]
        if missing or "alembic_version" not in present:
            raise CourseError(f"{redact(url)} is not an nbgrader gradebook "
                              f"(no table {', '.join(missing) or 'alembic_version'})")
        found = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    current = _nbgrader_schema()
    if found != current:
        raise CourseError(f"{redact(url)} has nbgrader's schema {found}, this nbgrader writes "
                          f"{current}: upgrade it first with `nbgrader db upgrade`")
    return found


def _nbgrader_schema() -> str:
    """The alembic head of this nbgrader (what nbgrader's get_alembic_version gives, without
    starting the `alembic` program)."""
    from alembic.script import ScriptDirectory
    from nbgrader.dbutil import ALEMBIC_DIR

    return ScriptDirectory(ALEMBIC_DIR).get_current_head()


def _row_counts(engine: Any, tables: list) -> dict[str, int]:
    from sqlalchemy import func, inspect, select

    with _errors(engine.url), engine.connect() as conn:
        present = set(inspect(conn).get_table_names())
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
                for t in tables if t.name in present}


def _engine(url: str, must_exist: bool = False) -> Any:
    """An engine, or one clear line for a bad URL, an unknown kind or a missing driver."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        parsed = make_url(url)
    except ArgumentError:
        raise CourseError(f"not a database URL: {redact(url)} (expected e.g. "
                          f"postgresql+psycopg://USER:PASSWORD@HOST:5432/DB or "
                          f"sqlite:////path/to/gradebook.db)") from None
    if parsed.get_backend_name() == "sqlite" and must_exist:
        if not parsed.database or not Path(parsed.database).is_file():
            raise CourseError(f"no gradebook at {parsed.database or url}")
    try:
        return create_engine(parsed, future=True)
    except NoSuchModuleError:
        raise CourseError(f"unknown database kind {parsed.drivername!r} in "
                          f"{redact(url)}") from None
    except ImportError as error:
        raise CourseError(
            f"no Python driver for {parsed.drivername} ({error.name} is not installed): "
            f"`pip install -e '.[instructor]'` installs psycopg 3, which URLs of the form "
            f"postgresql+psycopg://... use") from None


class _errors:
    """Database errors (unreachable server, refused password...) as one line, no password."""

    def __init__(self, url: Any):
        self.url = url.render_as_string(hide_password=True)

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, error, tb) -> bool:
        from sqlalchemy.exc import DBAPIError, SQLAlchemyError

        if error is None or not isinstance(error, SQLAlchemyError):
            return False
        cause = error.orig if isinstance(error, DBAPIError) else error
        lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
        raise CourseError(f"database {self.url}: {lines[0] if lines else type(cause).__name__}"
                          ) from None


def _tools_on_path() -> None:
    """nbgrader runs `alembic` to stamp a new gradebook: the environment's bin must be on PATH."""
    bindir = str(Path(sys.executable).parent)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")


# --------------------------------------------------------------------------- the CLI


def cmd_migrate(root: Path, args: argparse.Namespace) -> int:
    source = args.source or gradebook.default_db_url(root)
    checks = migrate(source, args.to, force=args.force)
    print(f"copied {redact(source)} -> {redact(args.to)}")
    print(table.render(["table", "source rows", "target rows", "identical"],
                       [[c.name, str(c.source), str(c.target), "yes" if c.identical else "NO"]
                        for c in checks]))
    same_dump = gradebook.dump(source, full=True) == gradebook.dump(args.to, full=True)
    print(f"grades, comments, students and assignments compared: "
          f"{'identical' if same_dump else 'DIFFERENT'}")
    if not same_dump or not all(c.identical for c in checks):
        raise CourseError("the copy differs from the source (see above); keep using the "
                          "source gradebook")
    print()
    print("Point the course at the new gradebook (every command, nbgrader and Formgrader read "
          "COURSE_DB_URL through nbgrader_config.py):")
    print(f"  export COURSE_DB_URL='{redact(args.to)}'   (with the real password)")
    print("  or, for one command: course --db URL ...")
    return 0


def add_parser(commands: Any) -> None:
    """`course db ...`: registered by the CLI."""
    db = commands.add_parser("db", help="the gradebook database (migrate to PostgreSQL)")
    actions = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    p = actions.add_parser("migrate", help="copy the gradebook to another database, verified")
    p.add_argument("--to", required=True, metavar="URL",
                   help="target, e.g. postgresql+psycopg://USER:PASSWORD@HOST:5432/DB")
    p.add_argument("--from", dest="source", metavar="URL",
                   help="source (default: the course's gradebook: --db, COURSE_DB_URL or "
                        "gradebook.db)")
    p.add_argument("--force", action="store_true",
                   help="replace what the target already holds")
    p.set_defaults(func=cmd_migrate)
