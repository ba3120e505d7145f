"""Student-side validation: the visible checks of a release notebook run in Colab (no nbgrader
there) and nbgrader's Validate give the student the same verdict.

Every assignment's release notebook is run twice, by `nbgrader validate` (nbgrader's Validator,
as JupyterLab's Validate button: NBGRADER_EXECUTION=validate, so FAST mode) and top to bottom as
Colab runs it (nbclient, no NBGRADER_EXECUTION), in three versions: with the reference answers,
blank, and (where Colab runs in normal mode) with a few wrong fixtures whose mistakes the
visible checks catch. The graded test cells that fail must be the same in both runs.

Colab runs in normal mode except for the TensorFlow notebooks 03_mnist and 04_lstm_symh (1-2
minutes each in normal mode), which run with COURSE_FAST=1. For them that is the verdict of a
normal run: FAST (course/runtime.py) only shrinks data subsets, epochs, the ensemble and the demo
plots, and no test cell reads anything a FAST branch sets (checked by
`test_fast_colab_runs_stand_for_normal_runs`). Their visible checks call the student's functions
on inputs written in the test cell, or on MNIST and the storms, loaded the same way in both
modes; the one check that uses trained models (04's ej10, through `pronosticar_tormenta`) checks
the type, index, length and finiteness of the forecast, which do not depend on how long the
models trained. Wrong fixtures are run where Colab runs in normal mode, the case where the two
verdicts could part.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from nbgrader.validator import Validator

from course import fixtures, notebooks
from course.coursedir import assignment_ids, nbgrader, notebook_path, scratch_course, scratch_env
from course.qa import fixtures_dir

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENTS = assignment_ids(ROOT)
FAST_IN_COLAB = {"03_mnist", "04_lstm_symh"}
MAX_WRONG = 3  # wrong fixtures put together in one notebook (different exercises)
WORKERS = max(1, min(2, os.cpu_count() or 1))
SUCCESS = "Success! Your notebook passes all the tests."
FAILED_CELL = re.compile(r"The following cell failed:\n\n(.*?)\n\nThe error was:", re.S)
COLAB = """
import sys
import nbformat
from nbclient import NotebookClient

nb = nbformat.read(sys.argv[1], as_version=4)
NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=True,
               resources={"metadata": {"path": sys.argv[3]}}).execute()
nbformat.write(nb, sys.argv[2])
"""
_indent = Validator()._indent  # how Validate prints a cell: the key to match its report


@dataclass
class Verdict:
    failed: Counter = field(default_factory=Counter)  # failing graded code cells, as printed
    errors: dict[str, str] = field(default_factory=dict)  # Colab: every cell that raised
    ok: bool = False  # Validate: "Success!"
    output: str = ""


def graded_code_cells(nb) -> dict[str, str]:
    """Graded code test cells of a release notebook: grade id -> Validate's printed form."""
    return {notebooks.grade_id(c): _indent(c.source.strip()) for c in nb.cells
            if notebooks.is_test(c)}


def colab_verdict(nb, folder: Path, fast: bool) -> Verdict:
    folder.mkdir(parents=True, exist_ok=True)
    notebooks.write(nb, folder / "entrada.ipynb")
    env = {k: v for k, v in os.environ.items()
           if k not in ("NBGRADER_EXECUTION", "NBGRADER_VALIDATING", "COURSE_FAST")}
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    if fast:
        env["COURSE_FAST"] = "1"
    run = subprocess.run([sys.executable, "-c", COLAB, str(folder / "entrada.ipynb"),
                          str(folder / "salida.ipynb"), str(folder)],
                         env=env, capture_output=True, text=True, timeout=1200)
    assert run.returncode == 0, run.stderr[-2000:]
    ran = notebooks.read(folder / "salida.ipynb")
    verdict = Verdict(output=run.stderr)
    for cell in ran.cells:
        error = next((o for o in cell.get("outputs", []) if o.output_type == "error"), None)
        if error is not None:
            name = notebooks.grade_id(cell) or cell.get("id", "?")
            verdict.errors[name] = f"{error.ename}: {error.evalue}".splitlines()[0][:200]
            if notebooks.is_test(cell):
                verdict.failed[_indent(cell.source.strip())] += 1
    return verdict


def validate_verdict(nb, folder: Path, assignment: str) -> Verdict:
    """`nbgrader validate` on the notebook, in a checkout-like folder with the course config."""
    course = scratch_course(ROOT, folder, [])
    path = notebook_path(course, "release", assignment)
    notebooks.write(nb, path)
    env = scratch_env(course)
    env.pop("COURSE_FAST", None)
    run = nbgrader(course, "validate", str(path), env=env, timeout=1200)
    assert run.returncode == 0, run.output[-2000:]
    codes = set(graded_code_cells(nb).values())
    written = {_indent(c.source.strip()) for c in nb.cells
               if c.cell_type == "markdown" and notebooks.is_grade(c)}
    blocks = FAILED_CELL.findall(run.output)
    unknown = [b for b in blocks if b not in codes and b not in written]
    assert unknown == [], f"Validate reported cells this test cannot place: {unknown}"
    return Verdict(failed=Counter(b for b in blocks if b in codes), ok=SUCCESS in run.output,
                   output=run.output)


def wrong_fixtures(assignment: str) -> list[fixtures.Fixture]:
    """Up to MAX_WRONG wrong fixtures of different exercises that a visible check catches."""
    chosen, exercises = [], set()
    for fixture in fixtures.load_all(fixtures_dir(ROOT, assignment)):
        visible = [g for g in fixture.must_lose if g.endswith("_visible")]
        if fixture.expect_full or not visible or fixture.exercises & exercises:
            continue
        chosen.append(fixture)
        exercises |= fixture.exercises
        if len(chosen) == MAX_WRONG:
            break
    return chosen


@dataclass
class Runs:
    release: object
    verdicts: dict[tuple[str, str], Verdict]  # (version, "colab" | "validate")
    wrong: list[fixtures.Fixture]


@pytest.fixture(scope="session")
def runs(tmp_path_factory):
    cache: dict[str, Runs] = {}

    def get(assignment: str) -> Runs:
        if assignment in cache:
            return cache[assignment]
        source = notebooks.read(notebook_path(ROOT, "source", assignment))
        release = notebooks.read(notebook_path(ROOT, "release", assignment))
        solved = notebooks.solved_copy(release, source)
        versions = {"solved": solved, "blank": release}
        fast = assignment in FAST_IN_COLAB
        wrong = [] if fast else wrong_fixtures(assignment)
        if wrong:
            answers = {gid: src for f in wrong for gid, src in f.answers.items()}
            versions["wrong"] = notebooks.replace_answers(solved, answers)
        tmp = tmp_path_factory.mktemp(f"validation-{assignment}")
        jobs = {}
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            for name, nb in versions.items():
                jobs[name, "colab"] = pool.submit(colab_verdict, nb, tmp / name / "colab", fast)
                jobs[name, "validate"] = pool.submit(validate_verdict, nb,
                                                     tmp / name / "validate", assignment)
            cache[assignment] = Runs(release, {k: j.result() for k, j in jobs.items()}, wrong)
        return cache[assignment]

    return get


def names(release, failed: Counter) -> list[str]:
    return sorted(gid for gid, printed in graded_code_cells(release).items() if printed in failed)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_reference_answers_pass_in_colab_and_in_validate(runs, assignment):
    done = runs(assignment)
    colab, validate = done.verdicts["solved", "colab"], done.verdicts["solved", "validate"]
    assert colab.errors == {}, "a cell raises in a Colab run of the reference answers"
    assert validate.ok and not validate.failed, validate.output[-3000:]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_blank_notebook_fails_in_colab_and_in_validate(runs, assignment):
    done = runs(assignment)
    colab, validate = done.verdicts["blank", "colab"], done.verdicts["blank", "validate"]
    assert colab.failed and not validate.ok and "VALIDATION FAILED" in validate.output
    assert names(done.release, colab.failed) == names(done.release, validate.failed)
    assert colab.failed == validate.failed


@pytest.mark.parametrize("assignment", sorted(set(ASSIGNMENTS) - FAST_IN_COLAB))
def test_wrong_answers_get_the_same_verdict_in_colab_and_in_validate(runs, assignment):
    done = runs(assignment)
    assert done.wrong, "no wrong fixture whose mistake a visible check catches"
    colab, validate = done.verdicts["wrong", "colab"], done.verdicts["wrong", "validate"]
    caught = {g for f in done.wrong for g in f.must_lose if g.endswith("_visible")}
    assert caught <= set(names(done.release, colab.failed)), "the visible checks miss a mistake"
    assert names(done.release, colab.failed) == names(done.release, validate.failed)
    assert colab.failed == validate.failed and not validate.ok


def _stored(tree: ast.AST) -> set[str]:
    """Names a cell binds at its top level (not inside functions or classes)."""
    found: set[str] = set()
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found.add(node.name)
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            found.add(node.id)
        found |= _stored(node)
    return found


def _loaded(tree: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


@pytest.mark.parametrize("assignment", sorted(FAST_IN_COLAB))
def test_fast_colab_runs_stand_for_normal_runs(assignment):
    """No test cell reads FAST or a name set by a cell that reads FAST (the setup cell, which
    defines FAST and imports, aside)."""
    nb = notebooks.read(notebook_path(ROOT, "release", assignment))
    shrunk = {"FAST"}
    for cell in nb.cells:
        if cell.cell_type == "code" and not notebooks.is_test(cell) \
                and notebooks.grade_id(cell) != "setup":
            tree = ast.parse(cell.source)
            if "FAST" in _loaded(tree):
                shrunk |= _stored(tree)
    readers = {}
    for cell in nb.cells:
        if notebooks.is_test(cell):
            tree = ast.parse(cell.source)
            read = (_loaded(tree) - _stored(tree)) & shrunk
            if read:
                readers[notebooks.grade_id(cell)] = sorted(read)
    assert readers == {}, "these test cells read what FAST changes: run Colab in normal mode"
