"""Shared, expensive fixtures: each assignment is graded once per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from course import fixtures, notebooks
from course.coursedir import notebook_path
from course.grading import grade_class
from course.qa import Verdict, fixtures_dir, judge_blank, judge_fixture, judge_reference

ROOT = Path(__file__).resolve().parents[1]


class GradedAssignment:
    """Reference, blank and every fixture of one assignment, graded as one class by
    `course autograde`'s pipeline; the class course stays in `self.course` (gradebook.db,
    submitted/STUDENT, autograded/STUDENT) for the tests that look further."""

    def __init__(self, assignment: str, tmp: Path):
        self.assignment = assignment
        self.course = tmp / "course"
        self.fixtures = fixtures.load_all(fixtures_dir(ROOT, assignment))
        self.source_nb = notebooks.read(notebook_path(ROOT, "source", assignment))
        release_nb = notebooks.read(notebook_path(ROOT, "release", assignment))
        reference = notebooks.solved_copy(release_nb, self.source_nb)
        self.submissions = {"reference": reference, "blank": release_nb}
        self.submissions.update({f.name: notebooks.replace_answers(reference, f.answers)
                                 for f in self.fixtures})
        self.results = grade_class(ROOT, assignment, list(self.submissions.items()),
                                   self.course)
        self.reference: Verdict = judge_reference(self.results["reference"])
        self.blank: Verdict = judge_blank(self.results["blank"])
        self.fixture_verdicts: dict[str, Verdict] = {
            f.name: judge_fixture(self.results[f.name], f) for f in self.fixtures}


@pytest.hookimpl(tryfirst=True)  # before xdist's own, which reads the groups
def pytest_collection_modifyitems(config, items):
    """`make test` runs two pytest processes (xdist, --dist loadgroup). Expensive shared
    fixtures are built once: every test that reads an assignment's graded class goes to the
    same process, and so do the tests of a module that share a module or session fixture of
    this suite (a graded class of hostile submissions, a JupyterLab server, a venv)."""
    for item in items:
        names = getattr(item, "fixturenames", ())
        if "graded" in names:
            callspec = getattr(item, "callspec", None)
            assignment = (callspec.params.get("assignment") if callspec else None) or getattr(
                item.module, "ASSIGNMENT", None)
            if assignment:
                item.add_marker(pytest.mark.xdist_group(f"graded-{assignment}"))
                continue
        if any(_shared(defs) for defs in _fixture_defs(item).values()):
            item.add_marker(pytest.mark.xdist_group(f"module-{item.module.__name__}"))


class _GroupsCheck:
    @pytest.hookimpl(trylast=True)  # after xdist's own
    def pytest_collection_modifyitems(self, config, items):
        """Fail loudly if xdist did not group what was marked (classes graded twice)."""
        if not config.getoption("loadgroup", default=False):
            return
        lost = [item.nodeid for item in items
                if item.get_closest_marker("xdist_group") and "@" not in item.nodeid]
        if lost:
            raise pytest.UsageError(f"pytest-xdist did not group {lost[0]} (and {len(lost) - 1}"
                                    f" more): this pytest and pytest-xdist do not work together")


def pytest_configure(config):
    config.pluginmanager.register(_GroupsCheck(), "course-xdist-groups-check")


def _fixture_defs(item) -> dict:
    info = getattr(item, "_fixtureinfo", None)
    return dict(info.name2fixturedefs) if info else {}


def _shared(defs) -> bool:
    """A module or session fixture of this suite (pytest's own have no baseid)."""
    return bool(defs) and defs[-1].scope in ("module", "session") and bool(defs[-1].baseid)


@pytest.fixture(scope="session")
def graded(tmp_path_factory):
    cache: dict[str, GradedAssignment] = {}

    def get(assignment: str) -> GradedAssignment:
        if assignment not in cache:
            cache[assignment] = GradedAssignment(
                assignment, tmp_path_factory.mktemp(f"graded-{assignment}"))
        return cache[assignment]

    return get


@pytest.fixture(scope="session")
def postgres():
    """A private PostgreSQL server on 127.0.0.1 (tests/pg.py: Debian's package, installed when
    missing); `postgres.create_database(name)` gives the URL of a new empty database."""
    import pg

    try:
        server = pg.Server().start()
    except pg.Unavailable as error:
        if os.environ.get("CI"):  # CI is Debian as root: there it must work
            raise
        pytest.skip(f"no PostgreSQL on this machine: {error}")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_url(postgres):
    return postgres.create_database("gradebook")
