"""The instructor's gradebook (nbgrader's database): where it is, what it holds, and writing one
graded submission into it as a single transaction.

Only the process that runs `course autograde` writes here; workers grade in scratch gradebooks
and hand back plain data (`course.batch.GradeOutcome`), so parallel grading never contends for
the database and a killed run never leaves half a submission behind.
"""

from __future__ import annotations

import os
import time
import warnings
from pathlib import Path
from typing import Any

from .coursedir import CourseError


def default_db_url(root: Path) -> str:
    """The gradebook nbgrader_config.py uses: COURSE_DB_URL, else gradebook.db in the course."""
    return os.environ.get("COURSE_DB_URL") or f"sqlite:///{root / 'gradebook.db'}"


def open_gradebook(db_url: str):
    from nbgrader.api import Gradebook

    try:
        return Gradebook(db_url)
    except Exception as error:  # noqa: BLE001 - a bad URL or server is the instructor's to fix
        raise CourseError(f"cannot open the gradebook {redact(db_url)}: "
                          f"{str(error).splitlines()[0]}") from None


def redact(db_url: str) -> str:
    """The URL without its password, for messages."""
    if "@" in db_url and "://" in db_url:
        scheme, rest = db_url.split("://", 1)
        credentials, host = rest.rsplit("@", 1)
        return f"{scheme}://{credentials.split(':')[0]}:***@{host}"
    return db_url


def has_assignment(db_url: str, assignment: str) -> bool:
    from nbgrader.api import MissingEntry

    with open_gradebook(db_url) as gb:
        try:
            return bool(gb.find_assignment(assignment).notebooks)
        except MissingEntry:
            return False


def duedate(db_url: str, assignment: str) -> str | None:
    from nbgrader.api import MissingEntry

    with open_gradebook(db_url) as gb:
        try:
            due = gb.find_assignment(assignment).duedate
        except MissingEntry:
            return None
    return due.isoformat() if due else None


def record(db_url: str, outcome: Any, retries: int = 20) -> None:
    """Write one graded submission (a `course.batch.GradeOutcome`) in one transaction.

    Same fields and rules as nbgrader's SaveAutoGrades: auto scores and auto comments are
    replaced, manual scores kept, and a cell with a manual score stays flagged for review.
    SQLite may be busy (Formgrader open at the same time): retry instead of failing."""
    from sqlalchemy.exc import OperationalError, SAWarning

    for attempt in range(retries):
        try:
            with warnings.catch_warnings():  # nbgrader's own session warnings, harmless
                warnings.simplefilter("ignore", SAWarning)
                _record_once(db_url, outcome)
            return
        except OperationalError as error:
            if "locked" not in str(error) and "busy" not in str(error):
                raise
            time.sleep(min(0.1 * 2 ** attempt, 2.0))
    raise CourseError(f"the gradebook {redact(db_url)} stayed locked; nothing was written "
                      f"for {outcome.student}/{outcome.assignment}: run the command again")


def _record_once(db_url: str, outcome: Any) -> None:
    with open_gradebook(db_url) as gb:
        gb.update_or_create_student(outcome.student)
        if outcome.timestamp:
            submission = gb.update_or_create_submission(
                outcome.assignment, outcome.student, timestamp=outcome.timestamp)
        else:
            submission = gb.update_or_create_submission(outcome.assignment, outcome.student)
        by_notebook = {nb.name: nb for nb in submission.notebooks}
        for notebook, cells in outcome.notebooks.items():
            submitted = by_notebook.get(notebook)
            if submitted is None:
                raise CourseError(f"{outcome.assignment} has no notebook {notebook} in the "
                                  f"gradebook: run `course release {outcome.assignment}`")
            submitted.late_submission_penalty = cells["late_penalty"]
            grades = {g.name: g for g in submitted.grades}
            comments = {c.name: c for c in submitted.comments}
            for name, auto_score in cells["grades"].items():
                grade = grades[name]
                grade.auto_score = auto_score
                grade.needs_manual_grade = grade.manual_score is not None or auto_score is None
            for name, auto_comment in cells["comments"].items():
                comments[name].auto_comment = auto_comment
        gb.db.commit()


def scores_from(db_url: str, assignment: str, student: str) -> dict[str, Any]:
    """What a graded submission holds, in the shape `record` writes (used by workers)."""
    with open_gradebook(db_url) as gb:
        submission = gb.find_submission(assignment, student)
        notebooks = {}
        for nb in submission.notebooks:
            notebooks[nb.name] = {
                "grades": {g.name: g.auto_score for g in nb.grades},
                "comments": {c.name: c.auto_comment for c in nb.comments},
                "late_penalty": nb.late_submission_penalty,
            }
        return notebooks


def dump(db_url: str, assignments: list[str] | None = None, *, full: bool = False
         ) -> dict[str, Any]:
    """Everything graded in a gradebook, keyed by names, not database ids: two gradebooks hold
    the same grades exactly when their dumps are equal (used to compare serial, parallel,
    resumed, distributed and migrated grading). `full` adds what an instructor typed rather
    than graded: students (names, emails), assignments (due dates, cells and points),
    extensions and flags (keys without a "/": they never clash with "ID/STUDENT")."""
    from nbgrader.api import MissingEntry

    result: dict[str, Any] = {}
    with open_gradebook(db_url) as gb:
        if full:
            result.update(_roster(gb, assignments))
        for assignment in gb.assignments:
            if assignments is not None and assignment.name not in assignments:
                continue
            for student in gb.students:
                try:
                    submission = gb.find_submission(assignment.name, student.id)
                except MissingEntry:
                    continue
                cells = {}
                for nb in submission.notebooks:
                    for grade in nb.grades:
                        cells[f"{nb.name}:{grade.name}"] = (
                            grade.auto_score, grade.manual_score, grade.extra_credit,
                            grade.needs_manual_grade)
                    for comment in nb.comments:
                        cells[f"{nb.name}:{comment.name}:comment"] = (
                            comment.auto_comment, comment.manual_comment)
                    cells[f"{nb.name}:late_penalty"] = nb.late_submission_penalty
                    if full:
                        cells[f"{nb.name}:flagged"] = nb.flagged
                result[f"{assignment.name}/{student.id}"] = {
                    "timestamp": submission.timestamp.isoformat() if submission.timestamp
                    else None,
                    "cells": cells,
                }
                if full:
                    result[f"{assignment.name}/{student.id}"]["extension"] = (  # a timedelta
                        submission.extension.total_seconds() if submission.extension else None)
    return result


def _roster(gb: Any, assignments: list[str] | None) -> dict[str, Any]:
    students = {s.id: (s.first_name, s.last_name, s.email, s.lms_user_id) for s in gb.students}
    tasks = {}
    for assignment in gb.assignments:
        if assignments is not None and assignment.name not in assignments:
            continue
        tasks[assignment.name] = {
            "duedate": assignment.duedate.isoformat() if assignment.duedate else None,
            "cells": {f"{nb.name}:{cell.name}": (type(cell).__name__,
                                                 getattr(cell, "max_score", None))
                      for nb in assignment.notebooks
                      for cell in (*nb.grade_cells, *nb.solution_cells, *nb.task_cells)},
        }
    return {"students": students, "assignments": tasks}
