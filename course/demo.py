"""`course demo`: the whole instructor cycle on a demo class, in a scratch course directory.

release -> three students submit (the reference solution, the blank notebook, a partly wrong
one) -> autograde -> feedback HTML -> grades CSV -> a student x assignment table.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

from nbformat import NotebookNode

from . import batch, fixtures, notebooks, table
from .coursedir import (
    CourseError,
    nbgrader_checked,
    notebook_path,
    resolve_ids,
    scratch_course,
    scratch_env,
)
from .grading import read_scores
from .qa import fixtures_dir, missing_data
from .release import generate

STUDENTS = {  # id: (first name, last name, what they submit)
    "ana": ("Ana", "Referencia", "reference"),
    "bruno": ("Bruno", "En Blanco", "blank"),
    "carla": ("Carla", "Parcial", "partial"),
}


def partial_submission(reference: NotebookNode, release_nb: NotebookNode,
                       wrong: list[fixtures.Fixture]) -> NotebookNode:
    """Partly right, partly wrong: the mistakes of every wrong fixture (first one wins per
    cell; alternative correct fixtures are skipped); without wrong fixtures, the second half
    of the answers are left blank."""
    answers: dict[str, str] = {}
    for fixture in wrong:
        if fixture.expect_full:  # a correct alternative is no mistake
            continue
        for gid, source in fixture.answers.items():
            answers.setdefault(gid, source)
    if not answers:
        blank = notebooks.cells_by_grade_id(release_nb)
        cells = [gid for gid, c in blank.items() if notebooks.is_solution(c)
                 and c.cell_type == "code"]
        answers = {gid: blank[gid].source for gid in cells[len(cells) // 2:]}
    return notebooks.replace_answers(reference, answers)


def run(root: Path, destination: Path, ids: list[str] | None = None,
        out: Callable[[str], None] = print) -> bool:
    ids = resolve_ids(root, ids)
    if destination.exists():
        shutil.rmtree(destination)
    course = scratch_course(root, destination, ids)
    env = scratch_env(course)
    for student, (first, last, _) in STUDENTS.items():
        nbgrader_checked(course, "db", "student", "add", student, f"--first-name={first}",
                         f"--last-name={last}", env=env)
    graded, skipped = [], {}
    started = time.monotonic()
    for assignment in ids:
        source_nb = notebooks.read(notebook_path(course, "source", assignment))
        reason = missing_data(source_nb)
        if reason:
            skipped[assignment] = reason
            out(f"[{assignment}] skipped: {reason}")
            continue
        out(f"[{assignment}] release; {len(STUDENTS)} students submit")
        release_nb = generate(root, assignment, course)
        reference = notebooks.solved_copy(release_nb, source_nb)
        versions = {"reference": reference, "blank": release_nb,
                    "partial": partial_submission(
                        reference, release_nb,
                        fixtures.load_all(fixtures_dir(root, assignment)))}
        for student, (_, _, kind) in STUDENTS.items():
            path = notebook_path(course, "submitted", assignment, student)
            notebooks.write(versions[kind], path)
            (path.parent / "timestamp.txt").write_text("2026-11-20 12:00:00.000000 UTC\n")
        graded.append(assignment)
    if graded:
        out(f"autograde {len(STUDENTS) * len(graded)} submissions in parallel "
            f"(course autograde --all)")
        summaries = batch.autograde_many(
            course, graded, force=True, db_url=f"sqlite:///{course / 'gradebook.db'}",
            on_outcome=lambda o, done, total: out(
                f"  [{done}/{total}] {o.assignment} {o.student} "
                f"{table.points(o.score, o.max_score) if o.status == 'graded' else 'FAILED'}"
                f" {o.seconds:.0f} s"))
        failed = [o for s in summaries for o in s.failed]
        if failed:
            raise CourseError("grading failed for " + "; ".join(
                f"{o.assignment}/{o.student}: {o.explanation()}" for o in failed))
    for assignment in graded:
        out(f"[{assignment}] feedback")
        nbgrader_checked(course, "generate_feedback", assignment, "--force", env=env)
    out(f"release, autograde and feedback done in {time.monotonic() - started:.0f} s")
    grades_csv = course / "grades.csv"
    nbgrader_checked(course, "export", f"--to={grades_csv}", env=env)
    out("")
    out(grade_table(course, graded, skipped))
    out("")
    out(f"course directory: {course}")
    out(f"  student versions: {course / 'release'}")
    out(f"  autograded notebooks: {course / 'autograded'}")
    out(f"  feedback (HTML): {course / 'feedback'}")
    out(f"  grades: {grades_csv}")
    out(f"  gradebook: {course / 'gradebook.db'}")
    return bool(graded)


def grade_table(course: Path, graded: list[str], skipped: dict[str, str]) -> str:
    """Autograded points per student and assignment, read back from the gradebook; the
    hand-graded reflection points are pending until an instructor grades them."""
    header = ["student", *graded, *skipped]
    rows = []
    for student, (_, _, kind) in STUDENTS.items():
        row = [f"{student} ({kind})"]
        for assignment in graded:
            cells = read_scores(course, assignment, student)
            row.append(table.points(sum(c.score for c in cells.values()),
                                    sum(c.max_score for c in cells.values())))
        rows.append(row + ["skipped"] * len(skipped))
    notes = [f"{a}: skipped ({why})" for a, why in skipped.items()]
    manual = {a: notebooks.manual_points(notebooks.read(notebook_path(course, "source", a)))
              for a in graded}
    pending = ", ".join(f"{a} {p:g}" for a, p in manual.items() if p)
    if pending:
        notes.append(f"autograded points shown; hand-graded points pending in formgrader: "
                     f"{pending}")
    return "\n".join([table.render(header, rows), *notes])
