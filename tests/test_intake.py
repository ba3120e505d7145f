"""Submission intake: damaged submissions of the real assignments come back gradable.

Each damaged submission is built from the reference answers (`solved_copy` of the committed
release) the way an editor or a student damages it; the repaired notebook must have the
release's cells in the release's order, the reference answers in the answer cells and the
release's locked cells, and the report must name each repair. One end-to-end check grades
repaired notebooks of 01_neurona with the real nbgrader.
"""

from __future__ import annotations

import copy
import json
import os
import random
import subprocess
import sys
from functools import cache
from pathlib import Path

import nbformat
import pytest

from course import notebooks
from course.collect import collect, intake_submission
from course.coursedir import CourseError, notebook_path
from course.grading import Grader
from course.intake import UnmatchableSubmission, from_json, read_submission, repair

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENTS = ["01_neurona", "02_backprop", "05_titanic", "07_explicabilidad"]


@cache
def _load(assignment: str):
    release = notebooks.read(notebook_path(ROOT, "release", assignment))
    source = notebooks.read(notebook_path(ROOT, "source", assignment))
    return release, notebooks.solved_copy(release, source)


def release_of(assignment: str):
    return copy.deepcopy(_load(assignment)[0])


def solved(assignment: str):
    return copy.deepcopy(_load(assignment)[1])


def as_colab(nb) -> nbformat.NotebookNode:
    """What Colab downloads when a notebook lost its nbgrader metadata: nbformat 4.0 (no cell
    ids), Colab's own `metadata.id` per cell, list sources, outputs, no course metadata."""
    data = json.loads(json.dumps(nb))
    data["nbformat_minor"] = 0
    data["metadata"] = {"colab": {"provenance": []}, "kernelspec": {"name": "python3",
                        "display_name": "Python 3"}, "language_info": {"name": "python"}}
    for number, cell in enumerate(data["cells"]):
        cell.pop("id", None)
        cell["metadata"] = {"id": f"Zx{number:08d}q"}
        cell["source"] = cell["source"].splitlines(True)
        if cell["cell_type"] == "code":
            cell["metadata"]["colab"] = {"base_uri": "https://localhost:8080/"}
            cell["execution_count"] = number
            cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["ok\n"]}]
    return from_json(data)


def answers(nb) -> dict[str, tuple[str, str]]:
    return {notebooks.grade_id(c): (c.cell_type, c.source) for c in nb.cells
            if notebooks.is_solution(c)}


def graded_ids(nb) -> list[str]:
    return [gid for c in nb.cells if (gid := notebooks.grade_id(c))]


def assert_gradable(result, assignment: str, expected_answers=None) -> None:
    """Release cells in release order with release metadata, locked cells verbatim, answers
    as expected (default: the reference answers), no outputs."""
    release = release_of(assignment)
    out = result.notebook
    nbformat.validate(out)
    assert graded_ids(out) == graded_ids(release)
    by_gid = notebooks.cells_by_grade_id(out)
    for cell in release.cells:
        gid = notebooks.grade_id(cell)
        if not gid:
            continue
        assert by_gid[gid].metadata["nbgrader"] == cell.metadata["nbgrader"], gid
        assert by_gid[gid].cell_type == cell.cell_type, gid
        if not notebooks.is_solution(cell):
            assert by_gid[gid].source == cell.source, gid
    assert answers(out) == (expected_answers or answers(solved(assignment)))
    assert not notebooks.has_outputs(out)
    release_ids = [c.id for c in release.cells]
    assert [c.id for c in out.cells if c.id in release_ids] == release_ids
    again = repair(copy.deepcopy(out), release)  # a repaired notebook needs nothing more
    assert {r.kind for r in again.repairs} <= {"extra-cell-kept"}
    assert again.notebook == out


def kinds(result) -> list[str]:
    return [r.kind for r in result.repairs]


def repairs_of(result, kind: str) -> list:
    return [r for r in result.repairs if r.kind == kind]


def answer_cells(nb) -> list[int]:
    return [i for i, c in enumerate(nb.cells) if notebooks.is_solution(c)]


# --- intact, stripped, copied, retyped, deleted, moved, extra --------------------------------

@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_an_intact_submission_needs_no_repair(assignment):
    result = repair(solved(assignment), release_of(assignment))
    assert result.repairs == [] and result.ok
    assert_gradable(result, assignment)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_metadata_stripped_by_colab_is_restored(assignment):
    damaged = as_colab(solved(assignment))
    assert not graded_ids(damaged)
    result = repair(damaged, release_of(assignment))
    assert_gradable(result, assignment)
    assert result.ok
    restored = {r.cell for r in repairs_of(result, "metadata-restored")}
    assert restored == set(graded_ids(release_of(assignment)))
    # the reflection answers are the only cells with nothing left to recognise but the place
    manual = {notebooks.grade_id(c) for c in release_of(assignment).cells
              if notebooks.is_solution(c) and c.cell_type == "markdown"}
    assert {r.cell for r in repairs_of(result, "answer-by-position")} == manual


def test_vscode_notebook_keeps_metadata_and_is_read(tmp_path):
    """VS Code writes its own notebook metadata and keeps cell metadata and ids."""
    nb = solved("01_neurona")
    nb.metadata["vscode"] = {"interpreter": {"hash": "ab12"}}
    nb.metadata["language_info"]["version"] = "3.12.1"
    path = tmp_path / "01_neurona.ipynb"
    notebooks.write(nb, path)
    result = repair(read_submission(path), release_of("01_neurona"))
    assert result.repairs == []
    assert_gradable(result, "01_neurona")


@pytest.mark.parametrize("assignment", ["01_neurona", "05_titanic"])
def test_duplicated_grade_id_keeps_the_edited_copy(assignment):
    """The student copied an answer cell (nbgrader metadata and all) and wrote the answer in
    the copy, leaving the stub: the copy is the answer, the stub copy is dropped."""
    nb = solved(assignment)
    first = answer_cells(nb)[0]
    gid = notebooks.grade_id(nb.cells[first])
    stub = notebooks.cells_by_grade_id(release_of(assignment))[gid].source
    copied = copy.deepcopy(nb.cells[first])
    copied.id = "copia-1"
    nb.cells[first].source = stub
    nb.cells.insert(first + 1, copied)
    result = repair(nb, release_of(assignment))
    assert_gradable(result, assignment)
    (dup,) = repairs_of(result, "duplicate-grade-id")
    assert dup.cell == gid and "dropped" in dup.detail
    assert stub not in [c.source for c in result.notebook.cells if c.cell_type == "code"]


def test_duplicated_grade_id_of_a_test_cell_keeps_the_copy_as_an_extra_cell():
    nb = solved("02_backprop")
    visible = next(i for i, c in enumerate(nb.cells) if notebooks.grade_id(c) == "ej1_mse_visible")
    experiment = copy.deepcopy(nb.cells[visible])
    experiment.id = "mi-prueba"
    experiment.source += "\nprint(mse(y_tabla, y_tabla))"
    nb.cells.insert(visible + 1, experiment)
    result = repair(nb, release_of("02_backprop"))
    assert_gradable(result, "02_backprop")
    assert "duplicate-grade-id" in kinds(result) and "extra-cell-kept" in kinds(result)
    out = result.notebook.cells
    at = next(i for i, c in enumerate(out) if notebooks.grade_id(c) == "ej1_mse_visible")
    assert out[at + 1].source == experiment.source and "nbgrader" not in out[at + 1].metadata


def test_copied_answer_without_metadata_last_edited_copy_wins():
    """Stripped notebook, the answer cell copied twice: the earlier attempt stays as an extra
    cell before the answer (it ran first in the student's notebook too)."""
    nb = solved("01_neurona")
    at = next(i for i, c in enumerate(nb.cells) if notebooks.grade_id(c) == "ej3_softmax")
    attempt = copy.deepcopy(nb.cells[at])
    attempt.source = attempt.source.replace("np.max", "np.min")  # a first, wrong try
    assert attempt.source != nb.cells[at].source
    nb.cells.insert(at, attempt)
    result = repair(as_colab(nb), release_of("01_neurona"))
    assert_gradable(result, "01_neurona")
    (dup,) = repairs_of(result, "duplicate-answer")
    assert dup.cell == "ej3_softmax"
    out = result.notebook.cells
    slot = next(i for i, c in enumerate(out) if notebooks.grade_id(c) == "ej3_softmax")
    assert out[slot - 1].source == attempt.source


@pytest.mark.parametrize("assignment, to", [("01_neurona", "markdown"), ("07_explicabilidad",
                                                                          "raw")])
def test_answer_cell_type_changed_is_restored_with_its_text(assignment, to):
    nb = solved(assignment)
    code = answer_cells(nb)[1]
    manual = next(i for i in answer_cells(nb) if nb.cells[i].cell_type == "markdown")
    for at, kind in ((code, to), (manual, "code")):
        cell = nb.cells[at]
        made = {"markdown": nbformat.v4.new_markdown_cell, "raw": nbformat.v4.new_raw_cell,
                "code": nbformat.v4.new_code_cell}[kind](cell.source, metadata=cell.metadata)
        made.id = cell.id
        nb.cells[at] = made
    for damaged in (nb, as_colab(nb)):
        result = repair(damaged, release_of(assignment))
        assert_gradable(result, assignment)
        retyped = {r.cell for r in repairs_of(result, "cell-type-restored")}
        assert retyped == {notebooks.grade_id(nb.cells[code]), notebooks.grade_id(nb.cells[manual])}


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_deleted_and_edited_test_cells_are_restored(assignment):
    nb = solved(assignment)
    tests = [i for i, c in enumerate(nb.cells) if notebooks.is_test(c)]
    deleted = {notebooks.grade_id(nb.cells[i]) for i in tests[:2]}
    edited = notebooks.grade_id(nb.cells[tests[3]])
    nb.cells[tests[3]].source = "pass  # las pruebas me fallaban"
    nb.cells = [c for i, c in enumerate(nb.cells) if i not in tests[:2]]
    result = repair(nb, release_of(assignment))
    assert_gradable(result, assignment)
    restored = {r.cell: r.detail for r in repairs_of(result, "test-cell-restored")}
    assert set(restored) == deleted | {edited}
    assert "edited" in restored[edited] and all("deleted" in restored[g] for g in deleted)
    # without metadata the edited cell is not recognisable: restored, the student's text kept
    # aside as an extra cell (it might hold something the student needs)
    # (hidden-test cells read alike in the student's version: which of two is said deleted
    # cannot be told, only how many and what they held)
    result = repair(as_colab(nb), release_of(assignment))
    assert_gradable(result, assignment)
    text = {notebooks.grade_id(c): c.source for c in release_of(assignment).cells}
    restored = [text[r.cell] for r in repairs_of(result, "test-cell-restored")]
    assert sorted(restored) == sorted(text[g] for g in deleted | {edited})
    extra = [r.detail for r in repairs_of(result, "extra-cell-kept")]
    assert len(extra) == 1 and "las pruebas me fallaban" in extra[0]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_shuffled_cells_go_back_in_release_order(assignment):
    nb = solved(assignment)
    random.Random(7).shuffle(nb.cells)
    result = repair(nb, release_of(assignment))
    assert_gradable(result, assignment)
    assert result.ok and "cell-moved" in kinds(result)
    # shuffled and stripped: every answer code cell still found by what it defines
    result = repair(as_colab(nb), release_of(assignment))
    out = answers(result.notebook)
    for gid, (kind, source) in answers(solved(assignment)).items():
        if kind == "code":
            assert out[gid] == (kind, source), gid
    assert graded_ids(result.notebook) == graded_ids(release_of(assignment))


def test_a_moved_answer_is_reported_and_put_back():
    nb = solved("02_backprop")
    at = next(i for i, c in enumerate(nb.cells) if notebooks.grade_id(c) == "ej2_forward")
    nb.cells.append(nb.cells.pop(at))
    result = repair(as_colab(nb), release_of("02_backprop"))
    assert_gradable(result, "02_backprop")
    assert [r.cell for r in repairs_of(result, "cell-moved")] == ["ej2_forward"]


@pytest.mark.parametrize("assignment", ["01_neurona", "07_explicabilidad"])
def test_extra_cells_are_kept_next_to_their_cells(assignment):
    nb = solved(assignment)
    first, second = answer_cells(nb)[:2]
    second_gid = notebooks.grade_id(nb.cells[second])
    auxiliar = nbformat.v4.new_code_cell("def _ayuda(x):\n    return x")
    note = nbformat.v4.new_markdown_cell("Mis notas: repasar la teoría.")
    top = nbformat.v4.new_markdown_cell("Entrega de Ana")
    nb.cells.insert(second, auxiliar)  # right before an answer: an auxiliary cell for it
    nb.cells.insert(first + 2, note)  # after the first visible test
    nb.cells.insert(0, top)
    for damaged in (nb, as_colab(nb)):
        result = repair(damaged, release_of(assignment))
        assert_gradable(result, assignment)
        out = result.notebook.cells
        texts = [c.source for c in out]
        slot = next(i for i, c in enumerate(out) if notebooks.grade_id(c) == second_gid)
        assert texts[slot - 1] == auxiliar.source
        assert texts[0] == top.source
        first_test = next(i for i, c in enumerate(out) if notebooks.is_test(c))
        assert texts[first_test + 1] == note.source
        assert len(repairs_of(result, "extra-cell-kept")) == 3
        for extra in (auxiliar, note, top):
            cell = out[texts.index(extra.source)]
            assert "nbgrader" not in cell.metadata


def test_answer_written_below_the_untouched_stub():
    """The stub left as it was and the answer typed in a new cell below it (no metadata)."""
    nb = solved("01_neurona")
    release_cells = notebooks.cells_by_grade_id(release_of("01_neurona"))
    for gid in ("ej4_neurona", "reflexion_xor"):
        at = next(i for i, c in enumerate(nb.cells) if notebooks.grade_id(c) == gid)
        answer = nb.cells[at]
        make = nbformat.v4.new_code_cell if answer.cell_type == "code" else \
            nbformat.v4.new_markdown_cell
        nb.cells.insert(at + 1, make(answer.source))
        answer.source = release_cells[gid].source
    result = repair(nb, release_of("01_neurona"))
    assert_gradable(result, "01_neurona")
    assert [r.cell for r in repairs_of(result, "answer-in-new-cell")] == \
        ["ej4_neurona", "reflexion_xor"]
    assert len(result.notebook.cells) == len(release_of("01_neurona").cells)


def test_answers_merged_into_one_cell_are_not_undone_by_a_stub():
    """ej1 and ej2 written in one cell (metadata lost): ej2's place must not redefine its
    functions as stubs."""
    nb = solved("01_neurona")
    cells = notebooks.cells_by_grade_id(nb)
    cells["ej1_activaciones"].source += "\n\n\n" + cells["ej2_derivadas"].source
    nb.cells.remove(cells["ej2_derivadas"])
    result = repair(as_colab(nb), release_of("01_neurona"))
    assert result.ok
    (merged,) = repairs_of(result, "solution-merged")
    assert merged.cell == "ej2_derivadas"
    ej2 = notebooks.cells_by_grade_id(result.notebook)["ej2_derivadas"]
    assert "NotImplementedError" not in ej2.source and "def " not in ej2.source


def test_a_deleted_answer_is_a_problem_for_the_instructor():
    nb = solved("05_titanic")
    nb.cells.remove(notebooks.cells_by_grade_id(nb)["ej3_variables"])
    result = repair(nb, release_of("05_titanic"))
    assert not result.ok
    (missing,) = repairs_of(result, "solution-missing")
    assert missing.cell == "ej3_variables" and missing.problem
    stub = notebooks.cells_by_grade_id(release_of("05_titanic"))["ej3_variables"].source
    assert notebooks.cells_by_grade_id(result.notebook)["ej3_variables"].source == stub


# --- what is not a notebook of this assignment ------------------------------------------------

@pytest.mark.parametrize("content, message", [
    (b"\x89PNG\r\n\x1a\n\x00\x00", "not a text file"),
    (b"print('hola')\n", "not JSON"),
    (b"[1, 2, 3]", "not a notebook"),
    (b'{"nombre": "Ana"}', "not a notebook"),
    (b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}', "no cells"),
])
def test_garbage_is_unmatchable(tmp_path, content, message):
    path = tmp_path / "01_neurona.ipynb"
    path.write_bytes(content)
    with pytest.raises(UnmatchableSubmission, match=message):
        repair(read_submission(path), release_of("01_neurona"))


def test_another_assignments_notebook_is_unmatchable():
    with pytest.raises(UnmatchableSubmission, match="notebook of 02_backprop"):
        repair(solved("02_backprop"), release_of("01_neurona"))
    for other in ("02_backprop", "05_titanic", "07_explicabilidad"):  # no metadata to tell
        with pytest.raises(UnmatchableSubmission, match="not recognisable"):
            repair(as_colab(solved(other)), release_of("01_neurona"))


def test_unrelated_notebook_is_unmatchable():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Mi proyecto"),
                nbformat.v4.new_code_cell("import pandas as pd\ndf = pd.read_csv('x.csv')")]
    with pytest.raises(UnmatchableSubmission, match="not recognisable"):
        repair(nb, release_of("01_neurona"))


def test_editor_quirks_are_read(tmp_path):
    """nbformat 4.2 with list sources, cells without metadata/outputs/execution_count keys,
    duplicated and missing cell ids, a BOM."""
    data = json.loads(json.dumps(solved("01_neurona")))
    data["nbformat_minor"] = 2
    for number, cell in enumerate(data["cells"]):
        cell["source"] = cell["source"].splitlines(True)
        cell["id"] = "same" if number % 2 else cell["id"]
        if number % 3 == 0:
            cell.pop("id")
        if cell["cell_type"] == "code" and number % 5 == 0:
            cell.pop("outputs")
            cell.pop("execution_count")
    path = tmp_path / "x.ipynb"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(data).encode())
    nb = read_submission(path)
    nbformat.validate(nb)
    result = repair(nb, release_of("01_neurona"))
    assert_gradable(result, "01_neurona")
    assert result.ok


# --- course collect: the submitted/ folder -------------------------------------------------

def make_course(base: Path, assignment: str = "01_neurona") -> Path:
    (base / "source" / assignment).mkdir(parents=True)
    notebooks.write(_load(assignment)[0], notebook_path(base, "release", assignment))
    notebooks.write(_load(assignment)[0], notebook_path(base, "source", assignment))
    (base / "nbgrader_config.py").write_text((ROOT / "nbgrader_config.py").read_text())
    return base


def submit(base: Path, student: str, nb_or_bytes, name: str = "01_neurona.ipynb") -> Path:
    folder = base / "submitted" / student / "01_neurona"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if isinstance(nb_or_bytes, bytes):
        path.write_bytes(nb_or_bytes)
    else:
        path.write_text(json.dumps(nb_or_bytes))
    return path


def test_intake_keeps_the_original_and_is_idempotent(tmp_path):
    course = make_course(tmp_path)
    original = json.dumps(json.loads(json.dumps(as_colab(solved("01_neurona")))))
    path = submit(course, "ana", json.loads(original), name="Copia de 01_neurona (1).ipynb")
    first = intake_submission(course, "01_neurona", "ana")
    folder = path.parent
    assert first.status == "repaired" and first.renamed_from == path.name
    assert first.repairs[0].kind == "file-renamed"
    assert sorted(p.name for p in folder.glob("*.ipynb")) == ["01_neurona.ipynb"]
    kept = folder / ".intake" / "original" / path.name
    assert json.dumps(json.loads(kept.read_text())) == original
    repaired = (folder / "01_neurona.ipynb").read_bytes()
    report = (folder / ".intake" / "report.md").read_text()
    assert "metadata-restored" in report and path.name in report
    again = intake_submission(course, "01_neurona", "ana")
    assert again.as_dict() == first.as_dict()
    assert (folder / "01_neurona.ipynb").read_bytes() == repaired
    # a resubmission (a new file in place of the repaired one) becomes the new original
    resubmitted = solved("01_neurona")
    notebooks.cells_by_grade_id(resubmitted)["reflexion_xor"].source = "Otra respuesta."
    notebooks.write(resubmitted, folder / "01_neurona.ipynb")
    third = intake_submission(course, "01_neurona", "ana")
    assert third.status == "ok" and third.renamed_from is None
    assert "Otra respuesta." in (folder / "01_neurona.ipynb").read_text()
    assert sorted(p.name for p in (folder / ".intake" / "original").iterdir()) == \
        ["01_neurona.ipynb"]


def test_collect_lists_unmatchable_submissions(tmp_path):
    course = make_course(tmp_path)
    submit(course, "ana", solved("01_neurona"))
    submit(course, "bruno", b"esto no es un notebook")
    submit(course, "carla", json.loads(json.dumps(solved("02_backprop"))), name="tarea.ipynb")
    submit(course, "dario", solved("01_neurona"))
    submit(course, "dario", solved("01_neurona"), name="Copia de 01_neurona.ipynb")
    reports = {r.student: r for r in collect(course, "01_neurona")}
    assert reports["ana"].status == "ok"
    assert reports["dario"].status == "problems"
    assert [r.kind for r in reports["dario"].repairs] == ["other-notebook"]
    assert reports["bruno"].status == "unmatchable" and "not JSON" in reports["bruno"].reason
    assert reports["carla"].status == "unmatchable" and "02_backprop" in reports["carla"].reason
    # nothing of theirs is lost, and the unmatchable file is left where it was
    assert (course / "submitted/carla/01_neurona/tarea.ipynb").exists()
    env = dict(os.environ, PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"])
    run = subprocess.run([sys.executable, "-m", "course.cli", "collect", "01_neurona"],
                         cwd=course, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "UNMATCHABLE" in run.stdout and "bruno, carla" in run.stdout
    assert "Traceback" not in run.stderr
    run = subprocess.run([sys.executable, "-m", "course.cli", "collect", "01_neurona",
                          "--students", "ana"], cwd=course, env=env, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr


def test_collect_without_a_release_says_so(tmp_path):
    course = make_course(tmp_path)
    notebook_path(course, "release", "01_neurona").unlink()
    submit(course, "ana", solved("01_neurona"))
    with pytest.raises(CourseError, match="run `course release 01_neurona` first"):
        collect(course, "01_neurona")


# --- the real nbgrader --------------------------------------------------------------------

@pytest.fixture(scope="module")
def grader(tmp_path_factory):
    with Grader(ROOT, "01_neurona", workdir=tmp_path_factory.mktemp("intake-grade")) as g:
        yield g


def test_repaired_submissions_get_full_marks_from_nbgrader(grader):
    release = grader.release_nb  # generated from source/ now, like the reference answers
    stripped = as_colab(grader.reference())
    shuffled = grader.reference()
    random.Random(3).shuffle(shuffled.cells)
    no_test = grader.reference()
    no_test.cells = [c for c in no_test.cells if notebooks.grade_id(c) != "ej3_softmax_visible"]
    items = [("stripped-raw", stripped)]
    items += [(label, repair(nb, release).notebook) for label, nb in
              (("stripped", stripped), ("shuffled", shuffled), ("no-test", no_test))]
    results = {r.label: r for r in grader.grade_many(items, workers=2)}
    tests = {notebooks.grade_id(c) for c in release.cells if notebooks.is_test(c)}
    for label in ("stripped", "shuffled", "no-test"):
        result = results[label]
        assert not result.failure, result.failure
        assert set(result.cells) == tests
        assert result.score == result.max_score > 0, (label, result.cells)
    raw = results["stripped-raw"]  # what nbgrader makes of it without the intake
    assert raw.failure or raw.score < raw.max_score
