"""The instructor CLI end to end, as an instructor runs it (subprocesses, real nbgrader)."""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from course import notebooks

ROOT = Path(__file__).resolve().parents[1]
COURSE = [sys.executable, "-m", "course.cli"]


def course(*args: str, cwd: Path = ROOT, timeout: int = 900) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env["PATH"]
    return subprocess.run([*COURSE, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)


def cell(kind, id_, source, **nbgrader):
    made = (new_code_cell if kind == "code" else new_markdown_cell)(source)
    made.id = id_
    if nbgrader:
        made.metadata["nbgrader"] = {"schema_version": 3, "locked": False, "solution": False,
                                     "grade": False, "grade_id": id_, **nbgrader}
    return made


def make_toy_course(base: Path, extra_config: str = "") -> Path:
    """A one-exercise course: `doble(x)` with a visible and a hidden test."""
    nb = new_notebook(metadata={"kernelspec": {"name": "python3", "language": "python",
                                               "display_name": "Python 3"}})
    nb.cells = [
        cell("markdown", "intro", "# Doble"),
        cell("code", "setup", "import numpy as np\nfrom course.checks import check_close",
             locked=True),
        cell("code", "ej1_doble",
             'def doble(x):\n    """2x."""\n    ### BEGIN SOLUTION\n    return 2 * x\n'
             "    ### END SOLUTION", solution=True),
        cell("code", "ej1_doble_visible", 'check_close(doble(3), 6, "doble(3)")',
             grade=True, locked=True, points=1),
        cell("code", "ej1_doble_oculto",
             "# ocultas\n### BEGIN HIDDEN TESTS\nx = np.random.default_rng(5).normal(size=4)\n"
             'check_close(doble(x), x + x, "doble")\n### END HIDDEN TESTS',
             grade=True, locked=True, points=2),
    ]
    notebooks.write(nb, base / "source" / "00_doble" / "00_doble.ipynb")
    config = (ROOT / "nbgrader_config.py").read_text() + extra_config
    (base / "nbgrader_config.py").write_text(config)
    return base


def write_fixture(base: Path, name: str, text: str) -> None:
    folder = base / "tests" / "fixtures" / "00_doble"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.py").write_text(text)


# --- the real course -------------------------------------------------------------------------

def test_check_prints_per_exercise_points_and_mutants():
    run = course("check", "01_neurona", "--mutants", "3")
    assert run.returncode == 0, run.stdout + run.stderr
    out = run.stdout
    assert re.search(r"^reference\s+.*\byes\b", out, re.M)
    assert re.search(r"^blank\s+(0/\S+\s+)+0/\S+\s+yes", out, re.M)
    assert len(re.findall(r"^wrong:\S+", out, re.M)) >= 5
    assert re.search(r"^submission\s+ej1\s+ej2", out, re.M)
    assert re.search(r"^mutants: \d+/3 caught", out, re.M)
    assert "01_neurona: PASS" in out


def test_demo_runs_the_whole_instructor_cycle(tmp_path):
    target = tmp_path / "demo"
    run = course("demo", "01_neurona", "--dir", str(target))
    assert run.returncode == 0, run.stdout + run.stderr
    scores = {m[0]: (float(m[1]), float(m[2])) for m in
              re.findall(r"^(\w+) \(\w+\)\s+([\d.]+)/([\d.]+)", run.stdout, re.M)}
    assert set(scores) == {"ana", "bruno", "carla"}, run.stdout
    assert scores["ana"][0] == scores["ana"][1] > 0
    assert scores["bruno"][0] == 0
    assert 0 < scores["carla"][0] < scores["carla"][1]
    for student in ("ana", "bruno", "carla"):
        assert (target / "feedback" / student / "01_neurona" / "01_neurona.html").exists()
        assert (target / "autograded" / student / "01_neurona" / "01_neurona.ipynb").exists()
    with (target / "grades.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert {r["student_id"] for r in rows} == {"ana", "bruno", "carla"}
    assert str(target / "grades.csv") in run.stdout


def test_release_check_reports_committed_release_in_sync():
    run = course("release", "--check")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "in sync" in run.stdout


@pytest.mark.parametrize("args, message", [
    (["check", "99_nada"], "unknown assignment"),
    (["--root", "/", "autograde", "01_neurona"], "no course directory found"),
    (["autograde", "01_neurona", "--student", "nadie"], "no submission of 01_neurona for: nadie"),
])
def test_bad_input_gives_one_clear_line(args, message):
    run = course(*args)
    assert run.returncode == 2
    assert message in run.stderr and "Traceback" not in run.stderr


# --- toy courses: the checks fail when they must ---------------------------------------------

def test_check_fails_when_a_wrong_fixture_gets_full_marks(tmp_path):
    base = make_toy_course(tmp_path)
    write_fixture(base, "no_es_error", "# description: en realidad es correcta\n"
                  "# %% ej1_doble\ndef doble(x):\n    return x * 2\n")
    write_fixture(base, "alternativa", "# description: suma\n# expect: full\n"
                  "# %% ej1_doble\ndef doble(x):\n    return x + x\n")
    write_fixture(base, "triple", "# description: triplica\n# lose: ej1_doble_oculto\n"
                  "# %% ej1_doble\ndef doble(x):\n    return 3 * x\n")
    run = course("check", "00_doble", cwd=base)
    assert run.returncode == 1, run.stdout + run.stderr
    assert re.search(r"^wrong:no_es_error .*NO\s+a wrong submission got full marks",
                     run.stdout, re.M)
    assert re.search(r"^alt:alternativa .*\byes\b", run.stdout, re.M)
    assert re.search(r"^wrong:triple .*\byes\b", run.stdout, re.M)
    assert "00_doble: FAIL" in run.stdout


def test_release_refuses_a_student_version_that_leaks(tmp_path):
    base = make_toy_course(tmp_path, "\nc.ClearHiddenTests.enabled = False\n")
    run = course("release", "00_doble", cwd=base)
    assert run.returncode == 1
    assert "LEAKS" in run.stdout and "hidden-test line" in run.stdout
    fixed = make_toy_course(tmp_path / "ok")
    run = course("release", "00_doble", cwd=fixed)
    assert run.returncode == 0, run.stdout + run.stderr
    released = (fixed / "release" / "00_doble" / "00_doble.ipynb").read_text()
    assert "2 * x" not in released and "default_rng(5)" not in released


def test_release_check_detects_drift(tmp_path):
    base = make_toy_course(tmp_path)
    assert course("release", "00_doble", cwd=base).returncode == 0
    path = base / "source" / "00_doble" / "00_doble.ipynb"
    nb = notebooks.read(path)
    nb.cells[0].source = "# Doble (versión 2)"
    notebooks.write(nb, path)
    run = course("release", "--check", cwd=base)
    assert run.returncode == 1 and "differs" in run.stdout
    shutil.rmtree(base / "release")
    assert "does not exist" in course("release", "--check", cwd=base).stdout


def test_release_autograde_feedback_export_in_a_course(tmp_path):
    base = make_toy_course(tmp_path)
    assert course("release", "00_doble", cwd=base).returncode == 0
    release_nb = notebooks.read(base / "release" / "00_doble" / "00_doble.ipynb")
    answers = {"right": "def doble(x):\n    return 2 * x", "wrong": "def doble(x):\n    return x"}
    for student, answer in answers.items():
        submitted = notebooks.replace_answers(release_nb, {"ej1_doble": answer})
        notebooks.write(submitted, base / "submitted" / student / "00_doble" / "00_doble.ipynb")
    run = course("autograde", "00_doble", cwd=base)
    assert run.returncode == 0, run.stdout + run.stderr
    assert re.search(r"\bright\s+00_doble\s+3/3", run.stdout)
    assert re.search(r"\bwrong\s+00_doble\s+0/3", run.stdout)
    run = course("feedback", "00_doble", cwd=base)
    assert run.returncode == 0, run.stdout + run.stderr
    html = (base / "feedback" / "right" / "00_doble" / "00_doble.html").read_text()
    assert "doble" in html
    run = course("export", "--to", str(tmp_path / "notas.csv"), cwd=base)
    assert run.returncode == 0, run.stdout + run.stderr
    with (tmp_path / "notas.csv").open() as handle:
        rows = {r["student_id"]: float(r["score"]) for r in csv.DictReader(handle)}
    assert rows == {"right": 3.0, "wrong": 0.0}


def test_autograde_before_release_adds_the_assignment_to_the_gradebook(tmp_path):
    base = make_toy_course(tmp_path)
    nb = notebooks.read(base / "source" / "00_doble" / "00_doble.ipynb")
    notebooks.write(nb, base / "submitted" / "ana" / "00_doble" / "00_doble.ipynb")
    run = course("autograde", "00_doble", cwd=base)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "ana  00_doble  3/3" in run.stdout
    assert not (base / "release").exists()  # release/ is only written by `course release`


def test_demo_skips_an_assignment_whose_data_cannot_be_had(tmp_path, monkeypatch):
    base = make_toy_course(tmp_path / "course")
    path = base / "source" / "00_doble" / "00_doble.ipynb"
    nb = notebooks.read(path)
    nb.metadata["course"] = {"id": "00_doble", "datasets": ["omni_storms"]}
    notebooks.write(nb, path)
    empty = tmp_path / "empty"
    empty.mkdir()
    # Storm files have no canonical URL: with no mirror, cache or COURSE_DATA_URL they
    # cannot be had, online or not.
    monkeypatch.setenv("COURSE_DATA_DIR", str(empty))
    monkeypatch.setenv("COURSE_CACHE_DIR", str(empty))
    monkeypatch.delenv("COURSE_DATA_URL", raising=False)
    run = course("demo", "--dir", str(tmp_path / "demo"), cwd=base)
    assert "00_doble" in run.stdout and "skipped" in run.stdout, run.stdout + run.stderr
    assert "Traceback" not in run.stderr
