"""A synthetic class of one assignment: a scratch course whose submitted/ holds the reference
solution, the blank student version and the assignment's wrong fixtures (then the same again
under new names), each with its own submission time. Used by the tests and the benchmark."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from course import fixtures, notebooks
from course.coursedir import notebook_path, scratch_course
from course.qa import fixtures_dir

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "01_neurona"  # the cheapest to grade (about 5 s per submission)


def variants(assignment: str = ASSIGNMENT) -> list[tuple[str, object]]:
    """(label, notebook) of every distinct submission the course can make up."""
    source = notebooks.read(notebook_path(ROOT, "source", assignment))
    blank = notebooks.read(notebook_path(ROOT, "release", assignment))
    reference = notebooks.solved_copy(blank, source)
    found = [("referencia", reference), ("en_blanco", blank)]
    for fixture in fixtures.load_all(fixtures_dir(ROOT, assignment)):
        found.append((fixture.name, notebooks.replace_answers(reference, fixture.answers)))
    return found


def build(course: Path, students: int, assignment: str = ASSIGNMENT) -> list[str]:
    """A scratch course at `course` with `students` submissions; returns the student ids."""
    scratch_course(ROOT, course, [assignment])
    made = variants(assignment)
    start = datetime(2025, 3, 10, 9, 0, 0)
    ids = []
    for i in range(students):
        label, nb = made[i % len(made)]
        student = f"a{i + 1:03d}_{label}"[:40]
        target = notebook_path(course, "submitted", assignment, student)
        notebooks.write(nb, target)
        when = start + timedelta(minutes=7 * i, seconds=i)
        (target.parent / "timestamp.txt").write_text(f"{when:%Y-%m-%d %H:%M:%S}.000000 UTC")
        ids.append(student)
    return ids
