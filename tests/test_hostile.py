"""Submissions as they really arrive, graded by `course autograde`'s pipeline (intake, sandbox,
real nbgrader): broken, damaged by editors, or written to break or fool the grader. The batch
completes, each case gets the points it deserves and no more, and the intake report names
each repair.

01_neurona gets every kind, one submission each; every assignment gets all the editor damage
at once (full marks, every repair named), a kernel that dies mid-notebook (the points earned
before it, no more) and a tampering attempt (no points after it)."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path

import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell
from test_intake import as_colab

from course import batch, gradebook, notebooks
from course.coursedir import assignment_ids, notebook_path, scratch_course

ROOT = Path(__file__).resolve().parents[1]
ID = "01_neurona"


def reference(assignment: str):
    source = notebooks.read(notebook_path(ROOT, "source", assignment))
    release = notebooks.read(notebook_path(ROOT, "release", assignment))
    return notebooks.solved_copy(release, source)


def first_answer(nb) -> str:
    return next(notebooks.grade_id(c) for c in nb.cells
                if notebooks.is_solution(c) and c.cell_type == "code")


def prepend(nb, grade_id: str, code: str):
    nb = copy.deepcopy(nb)
    cell = notebooks.cells_by_grade_id(nb)[grade_id]
    cell.source = code + "\n" + cell.source
    return nb


def shuffled(nb, seed: int = 11):
    nb = copy.deepcopy(nb)
    random.Random(seed).shuffle(nb.cells)
    return nb


TAMPER = ("import numpy, math, course.checks\n"
          "numpy.allclose = lambda *a, **k: True\n"
          "math.isclose = lambda *a, **k: True\n"
          "course.checks.check_close = lambda *a, **k: None")


def kinds_for_01(outside: Path) -> dict:
    """student -> (submission, what it deserves). `outside` is a folder of the instructor's
    that no submission may write to."""
    ref = reference(ID)
    with_copy = copy.deepcopy(ref)
    answer = notebooks.cells_by_grade_id(with_copy)["ej3_softmax"]
    with_copy.cells.insert(with_copy.cells.index(answer), copy.deepcopy(answer))
    as_markdown = copy.deepcopy(ref)
    cell = notebooks.cells_by_grade_id(as_markdown)["ej2_derivadas"]
    cell.cell_type = "markdown"
    for key in ("outputs", "execution_count"):
        cell.pop(key, None)
    no_test = copy.deepcopy(ref)
    no_test.cells = [c for c in no_test.cells if notebooks.grade_id(c) != "ej4_neurona_oculto"]
    extra = copy.deepcopy(ref)
    extra.cells.insert(5, new_code_cell("mi_variable = 42  # una prueba mía"))
    writes = "\n".join(
        f"try:\n    open({str(p)!r}, 'w').write('x')\nexcept OSError:\n    pass"
        for p in (outside / "gradebook.db", outside / "HACKED", Path("../../../gradebook.db")))
    return {
        # broken code
        "sintaxis": (prepend(ref, "ej3_softmax", "def roto(:"), {"ej3": 0}),
        "sys_exit": (prepend(ref, "ej4_neurona", "import sys\nsys.exit()"), {"ej4": 0}),
        "os_exit": (prepend(ref, "ej4_neurona", "import os\nos._exit(1)"),
                    {"score": 9, "incident": "kernel-died"}),
        "segfault": (prepend(ref, "ej5_feedforward", "import ctypes\nctypes.string_at(0)"),
                     {"score": 11, "incident": "kernel-died"}),
        "bucle": (prepend(ref, "ej3_softmax", "while True:\n    pass"),
                  {"ej3": 0, "incident": "cell-timeout"}),
        "memoria": (prepend(ref, "ej2_derivadas", "_x = bytearray(64 * 1024 ** 3)"),
                    {"ej2": 0, "incident": "memory"}),
        "torrente": (prepend(ref, "ej5_feedforward", "while True:\n    print('x' * 10000)"),
                     {"ej5": 0, "incident": "output-flood"}),
        "archivo_enorme": (prepend(ref, "ej6_capa_densa",
                                   "open('grande.bin', 'wb').write(b'0' * (300 * 1024 ** 2))"),
                           {"ej6": 0}),
        "escribe_fuera": (prepend(ref, "ej1_activaciones", writes), {"score": 25}),
        # fooling the tests
        "parchea_numpy": (prepend(ref, "ej6_capa_densa", TAMPER.splitlines()[0] + "\n"
                                  + TAMPER.splitlines()[1]),
                          {"ej6": 0, "ej9": 0, "incident": "tampering"}),
        "parchea_math": (prepend(ref, "ej8_perceptron", "import math\n"
                                 "math.isclose = lambda *a, **k: True"),
                         {"ej8": 0, "ej9": 0, "incident": "tampering"}),
        "parchea_checks": (prepend(ref, "ej7_compuertas", "import course.checks\n"
                                   "course.checks.check_close = lambda *a, **k: None"),
                           {"ej7": 0, "incident": "tampering"}),
        "borra_pruebas": (prepend(ref, "ej9_xor", "get_ipython().input_transformers_cleanup"
                                  ".append(lambda lines: ['pass\\n'])"),
                          {"ej9": 0, "incident": "tampering"}),
        "oculta_errores": (prepend(ref, "ej9_xor", "get_ipython().showtraceback = "
                                   "lambda *a, **k: None\ndef xor_red(*a):\n    return 0"),
                           {"ej9": 0}),
        # what editors and students do to a correct notebook
        "colab_sin_metadatos": (as_colab(ref), {"score": 25, "repair": "metadata-restored"}),
        "desordenado": (shuffled(ref), {"score": 25, "repair": "cell-moved"}),
        "celda_copiada": (with_copy, {"score": 25, "repair": "duplicate-grade-id"}),
        "tipo_cambiado": (as_markdown, {"score": 25, "repair": "cell-type-restored"}),
        "prueba_borrada": (no_test, {"score": 25, "repair": "test-cell-restored"}),
        "celdas_extra": (extra, {"score": 25, "repair": "extra-cell-kept"}),
        "no_es_notebook": (b"esto no es un notebook", {"status": "unmatchable"}),
    }


def submit(course_dir: Path, assignment: str, student: str, content) -> None:
    path = notebook_path(course_dir, "submitted", assignment, student)
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(json.dumps(content), encoding="utf-8")


@pytest.fixture(scope="module")
def hostile_class(tmp_path_factory):
    base = tmp_path_factory.mktemp("hostile")
    course_dir = scratch_course(ROOT, base / "course", [ID])
    before = (course_dir / "nbgrader_config.py").read_bytes()
    kinds = kinds_for_01(course_dir)
    for student, (content, _) in kinds.items():
        submit(course_dir, ID, student, content)
    summary = batch.autograde(course_dir, ID, workers=2, cell_timeout=10, notebook_timeout=300)
    return course_dir, kinds, summary, before


def test_the_batch_completes_and_only_garbage_is_not_graded(hostile_class):
    course_dir, kinds, summary, _ = hostile_class
    status = {o.student: o.status for o in summary.outcomes}
    assert set(status) == set(kinds)
    assert {s for s, v in status.items() if v != "graded"} == {"no_es_notebook"}
    unmatched = next(o for o in summary.outcomes if o.student == "no_es_notebook")
    assert "could not be matched" in unmatched.reason


@pytest.mark.parametrize("student", [s for s in kinds_for_01(Path("/nonexistent"))
                                     if s != "no_es_notebook"])
def test_each_case_gets_the_points_it_deserves(hostile_class, student):
    course_dir, kinds, summary, _ = hostile_class
    expected = kinds[student][1]
    outcome = next(o for o in summary.outcomes if o.student == student)
    cells = gradebook.scores_from(f"sqlite:///{course_dir / 'gradebook.db'}", ID,
                                  student)[ID]["grades"]
    autograded = {k: v for k, v in cells.items() if k != "reflexion_xor"}
    if "score" in expected:
        assert outcome.score == expected["score"], (outcome.explanation(), autograded)
    exercises = sorted(k for k in expected if k.startswith("ej"))
    for key in exercises:
        lost = {k: v for k, v in autograded.items() if k.startswith(key + "_")}
        assert lost and all(v == expected[key] for v in lost.values()), lost
    if exercises:  # the exercises before the first damaged one keep their points
        earlier = {k: v for k, v in autograded.items() if k.split("_")[0] < exercises[0]}
        assert all(v == 1 for v in earlier.values()), earlier
    if "incident" in expected:
        assert expected["incident"] in outcome.explanation(), outcome.explanation()
    if "repair" in expected:
        report = json.loads((course_dir / "submitted" / student / ID / ".intake"
                             / "report.json").read_text())
        assert expected["repair"] in [r["kind"] for r in report["repairs"]], report
    assert outcome.score <= 25


def test_nothing_outside_the_submission_was_written(hostile_class):
    course_dir, _, summary, before = hostile_class
    assert not (course_dir / "HACKED").exists()
    assert (course_dir / "nbgrader_config.py").read_bytes() == before
    escaped = [o for o in summary.outcomes if o.student == "escribe_fuera"][0]
    assert escaped.score == 25  # refused writes cost the student nothing
    # the gradebook holds exactly the graded students, nothing planted
    dump = gradebook.dump(f"sqlite:///{course_dir / 'gradebook.db'}")
    assert {k.split("/")[1] for k in dump} == {o.student for o in summary.graded}


def editor_damaged(nb):
    """Everything editors and students do to a correct notebook, at once: an answer cell
    copied, another turned into markdown, a test cell deleted, a cell of their own added,
    the cells shuffled, and the whole saved by Colab without nbgrader's metadata."""
    nb = copy.deepcopy(nb)
    code = [i for i, c in enumerate(nb.cells)
            if notebooks.is_solution(c) and c.cell_type == "code"]
    nb.cells.insert(code[0], copy.deepcopy(nb.cells[code[0]]))
    retyped = nb.cells[code[1] + 1]
    nb.cells[code[1] + 1] = new_markdown_cell(retyped.source, metadata=retyped.metadata,
                                              id=retyped.id)
    tests = [i for i, c in enumerate(nb.cells) if notebooks.is_test(c)]
    del nb.cells[tests[-1]]
    nb.cells.insert(3, new_code_cell("mi_variable = 42  # una prueba mía"))
    return as_colab(shuffled(nb, seed=5))


def crash_in_the_middle(nb):
    """The kernel dies (os._exit) in the middle answer: (notebook, points it keeps)."""
    code = [notebooks.grade_id(c) for c in nb.cells
            if notebooks.is_solution(c) and c.cell_type == "code"]
    where = code[len(code) // 2]
    names = [notebooks.grade_id(c) for c in nb.cells]
    before = sum(float(notebooks.nbgrader_meta(c)["points"]) for c in nb.cells
                 if notebooks.is_test(c) and names.index(notebooks.grade_id(c))
                 < names.index(where))
    return prepend(nb, where, "import os\nos._exit(1)"), before


@pytest.mark.parametrize("assignment", assignment_ids(ROOT))
def test_every_assignment_survives_damage_crashes_and_tampering(assignment, tmp_path):
    """Per assignment: the editor-damaged notebook gets full marks with every repair named,
    a kernel that dies keeps exactly the points earned before, tampering gets nothing."""
    course_dir = scratch_course(ROOT, tmp_path / "course", [assignment])
    ref = reference(assignment)
    crash, before = crash_in_the_middle(ref)
    submit(course_dir, assignment, "editado", editor_damaged(ref))
    submit(course_dir, assignment, "se_cae", crash)
    submit(course_dir, assignment, "tramposo", prepend(ref, first_answer(ref), TAMPER))
    summary = batch.autograde(course_dir, assignment, workers=2)
    by_student = {o.student: o for o in summary.outcomes}
    assert not summary.failed, [o.explanation() for o in summary.failed]
    manual = sum(c.max_score for c in _manual_cells(course_dir, assignment))

    edited = by_student["editado"]
    assert edited.score == edited.max_score - manual, edited.explanation()
    report = json.loads((course_dir / "submitted" / "editado" / assignment / ".intake"
                         / "report.json").read_text())
    assert {"metadata-restored", "cell-moved", "duplicate-answer", "cell-type-restored",
            "test-cell-restored", "extra-cell-kept"} <= {r["kind"] for r in report["repairs"]}
    markdown = (course_dir / "submitted" / "editado" / assignment / ".intake" / "report.md")
    assert "cell-type-restored" in markdown.read_text()

    crashed = by_student["se_cae"]
    assert 0 < before < crashed.max_score - manual
    assert crashed.score == before, crashed.explanation()
    assert "kernel-died" in crashed.explanation()

    cheat = by_student["tramposo"]
    assert cheat.score == 0 and "tampering" in cheat.explanation()


def _manual_cells(course_dir: Path, assignment: str) -> list:
    with gradebook.open_gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gb:
        nb = gb.find_notebook(assignment, assignment)
        return [type("Cell", (), {"max_score": c.max_score})() for c in nb.grade_cells
                if c.cell_type == "markdown"]
