"""`course db migrate`: a real SQLite gradebook (the class graded in conftest, plus what an
instructor types by hand) copied to a real PostgreSQL server, with nothing lost."""

from __future__ import annotations

import shutil
import socket
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from course import cli, gradebook
from course.coursedir import scratch_course

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "01_neurona"


def _counts_sqlite(path: Path) -> dict[str, int]:
    from nbgrader.api import Base

    with sqlite3.connect(path) as conn:
        return {t.name: conn.execute(f"SELECT count(*) FROM {t.name}").fetchone()[0]
                for t in Base.metadata.sorted_tables}


def _counts_postgres(url: str) -> dict[str, int]:
    import psycopg
    from nbgrader.api import Base

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        return {t.name: conn.execute(f"SELECT count(*) FROM {t.name}").fetchone()[0]
                for t in Base.metadata.sorted_tables}


def _hand_work(db_url: str) -> None:
    """What the instructor adds after autograding: names, a due date, an extension, a manual
    score with a comment, extra credit, a flag (non-ASCII on purpose)."""
    with gradebook.open_gradebook(db_url) as gb:
        students = sorted(s.id for s in gb.students)
        for i, student in enumerate(students):
            gb.update_or_create_student(student, first_name=f"Ñandú {i}", last_name="Pérez",
                                        email=f"alumno{i}@universidad.edu.ar",
                                        lms_user_id=f"moodle-{i}")
        gb.update_or_create_assignment(ASSIGNMENT, duedate=datetime(2025, 3, 14, 23, 59))
        submission = gb.find_submission(ASSIGNMENT, students[0])
        submission.extension = timedelta(days=2, hours=3)
        notebook = submission.notebooks[0]
        notebook.flagged = True
        manual = [g for g in notebook.grades if g.auto_score is None]
        assert manual, "01_neurona has a reflection question graded by hand"
        manual[0].manual_score = 1.5
        manual[0].extra_credit = 0.5
        notebook.comments[0].manual_comment = "Bien razonado: ¿y si la función no es lineal?"
        gb.db.commit()


@pytest.fixture(scope="module")
def course(graded, tmp_path_factory):
    """A course whose gradebook.db is a copy of the class graded locally, with hand work."""
    course = scratch_course(ROOT, tmp_path_factory.mktemp("migrate") / "course", [ASSIGNMENT])
    shutil.copy2(graded(ASSIGNMENT).course / "gradebook.db", course / "gradebook.db")
    _hand_work(f"sqlite:///{course / 'gradebook.db'}")
    return course


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_migrate_to_postgresql_loses_nothing(course, postgres, capsys, monkeypatch):
    monkeypatch.delenv("COURSE_DB_URL", raising=False)
    source = f"sqlite:///{course / 'gradebook.db'}"
    target = postgres.create_database("migrated")
    before = gradebook.dump(source, full=True)

    code, out, err = run(capsys, "--root", str(course), "db", "migrate", "--to", target)
    assert code == 0, err
    assert "NO" not in out.split() and "identical" in out, out
    assert postgres.password not in out, "the password is never printed"
    assert "COURSE_DB_URL" in out and "--db" in out, "it says how to use the new gradebook"

    # Checked here independently of the tool: the database drivers themselves.
    counts = _counts_sqlite(course / "gradebook.db")
    assert counts == _counts_postgres(target)
    assert all(counts[t] > 0 for t in ("student", "submitted_assignment", "grade", "comment"))
    after = gradebook.dump(target, full=True)
    assert after == before
    first = sorted(after["students"])[0]
    assert after["students"][first] == ("Ñandú 0", "Pérez", "alumno0@universidad.edu.ar",
                                        "moodle-0")
    assert after["assignments"][ASSIGNMENT]["duedate"] == "2025-03-14T23:59:00"
    entry = after[f"{ASSIGNMENT}/{first}"]
    assert entry["extension"] is not None
    assert any(v[1] == 1.5 and v[2] == 0.5 for k, v in entry["cells"].items()
               if not k.endswith(("comment", "late_penalty", "flagged")))
    assert any(v[1] and v[1].startswith("Bien razonado") for k, v in entry["cells"].items()
               if k.endswith(":comment"))

    # The target now holds a gradebook: a second copy is refused and changes nothing...
    code, out, err = run(capsys, "--root", str(course), "db", "migrate", "--to", target)
    assert code == 2
    assert "not empty" in err and "--force" in err and len(err.strip().splitlines()) == 1
    assert gradebook.dump(target, full=True) == before
    # ...unless forced, which replaces it (here with the same content).
    code, out, err = run(capsys, "--root", str(course), "db", "migrate", "--to", target,
                         "--from", source, "--force")
    assert code == 0, err
    assert _counts_postgres(target) == counts


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("target, expected", [
    # (the port is found when the test runs: test ids must not change between runs)
    ("postgresql+psycopg://course:s3cr3t@127.0.0.1:{closed_port}/gradebook", "refused"),
    ("postgresql+asyncpg://course:s3cr3t@127.0.0.1/gradebook", "no Python driver"),
    ("nosuchdb://course:s3cr3t@127.0.0.1/gradebook", "unknown database kind"),
    ("gradebook at my server", "not a database URL"),
])
def test_bad_targets_are_one_clear_line(course, capsys, monkeypatch, target, expected):
    monkeypatch.delenv("COURSE_DB_URL", raising=False)
    target = target.replace("{closed_port}", str(_closed_port()))
    if "asyncpg" in target:  # the case needs a driver this environment does not have
        assert not _importable("asyncpg")
    code, out, err = run(capsys, "--root", str(course), "db", "migrate", "--to", target)
    assert code == 2
    assert expected in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "s3cr3t" not in err + out


def test_source_must_be_a_gradebook(course, postgres, capsys, tmp_path):
    missing = f"sqlite:///{tmp_path / 'nothing.db'}"
    target = postgres.url("postgres")
    code, _, err = run(capsys, "--root", str(course), "db", "migrate", "--from", missing,
                       "--to", target)
    assert code == 2 and "no gradebook at" in err
    assert not (tmp_path / "nothing.db").exists(), "a missing source is not created"


def _importable(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None
