"""Grading notebooks with nbgrader's own autograder, in isolated scratch course directories.

Each submission is graded in a copy of a template course (config, source, gradebook holding
the assignment), so several can run in parallel with no shared SQLite file, and the scores
are exactly what `nbgrader autograde` gives.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from nbformat import NotebookNode

from . import notebooks
from .coursedir import (
    CourseError,
    nbgrader,
    nbgrader_checked,
    notebook_path,
    scratch_course,
    scratch_env,
)


@dataclass
class CellScore:
    score: float
    max_score: float
    error: str = ""  # first line of the error the cell raised, if any


@dataclass
class GradeResult:
    label: str
    cells: dict[str, CellScore] = field(default_factory=dict)  # autograded test cells only
    seconds: float = 0.0
    failure: str = ""  # grading itself failed (not the student's code)

    @property
    def score(self) -> float:
        return sum(c.score for c in self.cells.values())

    @property
    def max_score(self) -> float:
        return sum(c.max_score for c in self.cells.values())

    def by_exercise(self) -> dict[str, tuple[float, float]]:
        totals: dict[str, tuple[float, float]] = {}
        for gid, cell in self.cells.items():
            got, top = totals.get(notebooks.exercise_of(gid), (0.0, 0.0))
            totals[notebooks.exercise_of(gid)] = (got + cell.score, top + cell.max_score)
        return totals


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)


class Grader:
    """Grades many versions of one assignment; build once, grade in parallel."""

    def __init__(self, root: Path, assignment: str, workdir: Path | None = None,
                 cell_timeout: int | None = None):
        self.root, self.assignment = root, assignment
        self._own_tmp = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix=f"grade-{assignment}-"))
        self.extra_env = {"COURSE_CELL_TIMEOUT": str(cell_timeout)} if cell_timeout else {}
        self.template = scratch_course(root, self.workdir / "template", [assignment])
        nbgrader_checked(self.template, "generate_assignment", assignment, "--force",
                         env=scratch_env(self.template, **self.extra_env))
        self.source_nb = notebooks.read(notebook_path(self.template, "source", assignment))
        self.release_nb = notebooks.read(notebook_path(self.template, "release", assignment))

    def reference(self) -> NotebookNode:
        return notebooks.solved_copy(self.release_nb, self.source_nb)

    def blank(self) -> NotebookNode:
        return self.release_nb

    def grade(self, label: str, nb: NotebookNode) -> GradeResult:
        """Autograde one notebook as student `label` in its own copy of the template; nbgrader
        itself failing (not the student's code) is tried once more."""
        result = self._grade_once(label, nb)
        return self._grade_once(label, nb) if result.failure else result

    def _grade_once(self, label: str, nb: NotebookNode) -> GradeResult:
        started = time.monotonic()
        course = self.workdir / "runs" / student_id(label)
        if course.exists():
            shutil.rmtree(course)
        shutil.copytree(self.template, course, ignore=shutil.ignore_patterns("release"))
        student = "alumno"
        notebooks.write(nb, notebook_path(course, "submitted", self.assignment, student))
        run = nbgrader(course, "autograde", self.assignment, "--student", student, "--force",
                       env=scratch_env(course, **self.extra_env))
        result = GradeResult(label)
        try:
            result.cells = read_scores(course, self.assignment, student)
        except Exception as error:  # noqa: BLE001 - reported with nbgrader's own log
            result.failure = f"{error}\n{run.output[-2000:]}"
        if run.returncode != 0 and not result.failure:
            result.failure = run.output[-2000:]
        result.seconds = time.monotonic() - started
        return result

    def grade_many(self, items: list[tuple[str, NotebookNode]],
                   workers: int | None = None, on_result=None) -> list[GradeResult]:
        with ThreadPoolExecutor(max_workers=workers or default_workers()) as pool:
            futures = [pool.submit(self.grade, label, nb) for label, nb in items]
            results = []
            for future in futures:
                results.append(future.result())
                if on_result:
                    on_result(results[-1])
        return results

    def close(self) -> None:
        if self._own_tmp:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Grader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_scores(course: Path, assignment: str, student: str,
                db_url: str | None = None) -> dict[str, CellScore]:
    """Autograded test-cell scores from the gradebook, with the error each failing cell raised
    (read from the autograded notebook)."""
    from nbgrader.api import Gradebook

    errors = cell_errors(notebook_path(course, "autograded", assignment, student))
    with Gradebook(db_url or f"sqlite:///{course / 'gradebook.db'}") as gb:
        submitted = gb.find_submission_notebook(assignment, assignment, student)
        scores = {}
        for grade in submitted.grades:
            if grade.cell_type != "code" or grade.auto_score is None:
                continue
            scores[grade.name] = CellScore(float(grade.score), float(grade.max_score),
                                           errors.get(grade.name, ""))
    if not scores:
        raise CourseError(f"no autograded cells recorded for {assignment}")
    return scores


def cell_errors(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    found = {}
    for cell in notebooks.read(path).cells:
        gid = notebooks.grade_id(cell)
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                found[gid] = f"{output.ename}: {output.evalue}".splitlines()[0][:160]
                break
            if output.output_type == "stream" and output.name == "stderr":
                found[gid] = "wrote to stderr: " + output.text.strip().splitlines()[0][:140]
                break
    return found


def student_id(label: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in label)


def grade_class(root: Path, assignment: str, items: list[tuple[str, NotebookNode]],
                course: Path, workers: int | None = None, **options) -> dict[str, GradeResult]:
    """Grade many notebooks as the students of a class course at `course` with
    `course autograde`'s own pipeline (course.batch); the course stays for inspection
    (gradebook.db, submitted/, autograded/, .grading/). Returns results by label."""
    from . import batch

    scratch_course(root, course, [assignment])
    students = {label: student_id(label) for label, _ in items}
    for label, nb in items:
        notebooks.write(nb, notebook_path(course, "submitted", assignment, students[label]))
    summary = batch.autograde(course, assignment, workers=workers,
                              db_url=f"sqlite:///{course / 'gradebook.db'}", **options)
    outcomes = {o.student: o for o in summary.outcomes}
    results = {}
    for label, student in students.items():
        outcome = outcomes.get(student)
        result = GradeResult(label, seconds=outcome.seconds if outcome else 0.0)
        if outcome is None or outcome.status != "graded":
            result.failure = outcome.reason if outcome else "not graded"
        else:
            result.cells = read_scores(course, assignment, student,
                                       db_url=f"sqlite:///{course / 'gradebook.db'}")
        results[label] = result
    return results
