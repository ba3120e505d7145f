"""Shared, expensive fixtures: each assignment is graded once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from course import fixtures, notebooks
from course.grading import Grader
from course.qa import Verdict, fixtures_dir, judge_blank, judge_fixture, judge_reference

ROOT = Path(__file__).resolve().parents[1]


class GradedAssignment:
    """Reference, blank and every fixture of one assignment, graded by nbgrader."""

    def __init__(self, assignment: str, tmp: Path):
        self.assignment = assignment
        self.fixtures = fixtures.load_all(fixtures_dir(ROOT, assignment))
        with Grader(ROOT, assignment, workdir=tmp) as grader:
            self.source_nb = grader.source_nb
            items = [("reference", grader.reference()), ("blank", grader.blank())]
            items += [(f.name, notebooks.replace_answers(grader.reference(), f.answers))
                      for f in self.fixtures]
            results = grader.grade_many(items)
        self.reference: Verdict = judge_reference(results[0])
        self.blank: Verdict = judge_blank(results[1])
        self.fixture_verdicts: dict[str, Verdict] = {
            f.name: judge_fixture(r, f) for f, r in zip(self.fixtures, results[2:], strict=True)}


@pytest.fixture(scope="session")
def graded(tmp_path_factory):
    cache: dict[str, GradedAssignment] = {}

    def get(assignment: str) -> GradedAssignment:
        if assignment not in cache:
            cache[assignment] = GradedAssignment(
                assignment, tmp_path_factory.mktemp(f"graded-{assignment}"))
        return cache[assignment]

    return get
