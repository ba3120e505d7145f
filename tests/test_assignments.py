"""Every assignment present: grading behaviour (with the real nbgrader) and notebook anatomy."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from course import gradebook, notebooks
from course.coursedir import assignment_ids, notebook_path, scratch_course, tool_env
from course.grading import student_id

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENTS = assignment_ids(ROOT)
# Minimum autograded exercises and wrong fixtures each assignment's issue asks for.
MIN_EXERCISES = {"01_neurona": 6, "02_backprop": 6, "07_explicabilidad": 6}
MIN_WRONG = {"01_neurona": 5}
EXERCISE_HEADING = re.compile(r"^## Ejercicio (\d+) — .+ \((\d+(?:[.,]\d+)?) puntos?\)\s*$", re.M)


def source(assignment: str):
    return notebooks.read(ROOT / "source" / assignment / f"{assignment}.ipynb")


# --- grading -------------------------------------------------------------------------------

@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_reference_solution_scores_the_maximum(graded, assignment):
    verdict = graded(assignment).reference
    assert verdict.ok, verdict.reason
    assert verdict.result.max_score > 0


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_blank_notebook_scores_zero(graded, assignment):
    verdict = graded(assignment).blank
    assert verdict.ok, verdict.reason


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_wrong_submissions_lose_points_only_in_their_exercise(graded, assignment):
    result = graded(assignment)
    wrong = [f for f in result.fixtures if not f.expect_full]
    assert len(wrong) >= MIN_WRONG.get(assignment, 6), "too few wrong-submission fixtures"
    failures = {name: v.reason for name, v in result.fixture_verdicts.items() if not v.ok}
    assert failures == {}


@pytest.mark.parametrize("assignment", [a for a in ASSIGNMENTS if a != "01_neurona"])
def test_alternative_correct_solutions_get_full_marks(graded, assignment):
    result = graded(assignment)
    alternatives = [f for f in result.fixtures if f.expect_full]
    assert len(alternatives) >= 2, "write at least 2 alternative-correct fixtures"
    for fixture in alternatives:
        verdict = result.fixture_verdicts[fixture.name]
        assert verdict.ok, f"{fixture.name}: {verdict.reason}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_parallel_grading_matches_serial_nbgrader(graded, assignment, tmp_path):
    """The class above was graded by `course autograde` (2 workers, intake, sandbox); plain
    serial `nbgrader autograde` of the reference and a wrong fixture gives the same gradebook
    rows (the full class is compared for 01_neurona in test_autograde.py)."""
    result = graded(assignment)
    wrong = next(f.name for f in result.fixtures if not f.expect_full)
    students = {label: student_id(label) for label in ("reference", wrong)}
    serial = scratch_course(ROOT, tmp_path / "serial", [assignment])
    for label, student in students.items():
        notebooks.write(result.submissions[label],
                        notebook_path(serial, "submitted", assignment, student))
    env = tool_env(serial, COURSE_DB_URL=f"sqlite:///{serial / 'gradebook.db'}")
    for step in (["generate_assignment", assignment, "--force"], ["autograde", assignment]):
        run = subprocess.run([sys.executable, "-m", "nbgrader", *step], cwd=serial, env=env,
                             capture_output=True, text=True, timeout=1800)
        assert run.returncode == 0, run.stderr[-2000:]
    parallel = gradebook.dump(f"sqlite:///{result.course / 'gradebook.db'}")
    expected = {k: v for k, v in parallel.items()
                if k.split("/")[1] in students.values()}
    assert gradebook.dump(f"sqlite:///{serial / 'gradebook.db'}") == expected


# --- anatomy -------------------------------------------------------------------------------

def markdown(nb) -> str:
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_anatomy(assignment):
    nb = source(assignment)
    text = markdown(nb)
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    for required in ("Objetivos de aprendizaje", "Tiempo estimado", "Resumen",
                     "Para ir más allá"):
        assert required in text, f"missing section: {required}"
    assert nb.metadata.get("course", {}).get("id") == assignment
    setup = notebooks.cells_by_grade_id(nb).get("setup")
    assert setup is not None and notebooks.nbgrader_meta(setup).get("locked")
    assert '"google.colab" in sys.modules' in setup.source
    assert "setup(" in setup.source


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_exercises_headings_points_and_partial_credit(assignment):
    nb = source(assignment)
    headings = {f"ej{n}": float(p.replace(",", ".")) for n, p in
                EXERCISE_HEADING.findall(markdown(nb))}
    assert len(headings) >= MIN_EXERCISES.get(assignment, 7)
    tests: dict[str, list] = {}
    for cell in nb.cells:
        if notebooks.is_test(cell):
            gid = notebooks.grade_id(cell)
            assert re.match(r"ej\d+_", gid), f"test cell {gid} must be named ejN_..."
            tests.setdefault(notebooks.exercise_of(gid), []).append(cell)
    assert set(tests) == set(headings), "every exercise needs tests, every test an exercise"
    for exercise, cells in tests.items():
        points = sum(float(notebooks.nbgrader_meta(c)["points"]) for c in cells)
        assert points == headings[exercise], f"{exercise}: heading says {headings[exercise]}"
        hidden = [c for c in cells if notebooks.HIDDEN_BEGIN in c.source]
        assert len(cells) >= 2 and hidden and len(hidden) < len(cells), \
            f"{exercise}: needs a visible test cell and hidden test cells (partial credit)"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_reflection_question_graded_by_hand(assignment):
    nb = source(assignment)
    manual = [c for c in nb.cells if c.cell_type == "markdown" and notebooks.is_grade(c)
              and notebooks.is_solution(c)]
    assert manual and all(float(notebooks.nbgrader_meta(c)["points"]) > 0 for c in manual)


def test_neuron_assignment_is_numpy_only():
    code = "\n".join(c.source for c in source("01_neurona").cells if c.cell_type == "code")
    assert not re.search(r"^\s*(import|from)\s+(tensorflow|keras|torch)", code, re.M)
