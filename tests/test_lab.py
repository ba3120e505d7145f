"""`make lab`'s launcher (tools/lab.py) without a browser: where Jupyter reads its config from,
and the gradebook it prepares for Formgrader. The browser tests run the server itself."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from nbgrader.api import Gradebook

from course import notebooks
from course.coursedir import notebook_path

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "01_neurona"


def _scratch_course(base: Path) -> Path:
    course = base / "course"
    (course / "source").mkdir(parents=True)
    shutil.copy2(ROOT / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "source" / ASSIGNMENT, course / "source" / ASSIGNMENT)
    shutil.copytree(ROOT / "jupyter", course / "jupyter",
                    ignore=shutil.ignore_patterns("exchange", "lab", "__pycache__"))
    (course / "tools").mkdir()
    shutil.copy2(ROOT / "tools" / "lab.py", course / "tools")
    return course


def _prepare(course: Path) -> str:
    env = {**os.environ, "COURSE_DB_URL": f"sqlite:///{course / 'gradebook.db'}"}
    run = subprocess.run([sys.executable, str(course / "tools" / "lab.py"), "--prepare-only"],
                         cwd=course.parent, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


def _recorded_max_score(course: Path) -> float:
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        return gradebook.find_assignment(ASSIGNMENT).max_score


def test_jupyter_reads_the_repository_config_not_the_home_one():
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import lab
    finally:
        sys.path.remove(str(ROOT / "tools"))
    paths = subprocess.run([sys.executable, "-m", "jupyter", "--paths", "--json"],
                           env=lab.lab_env(), capture_output=True, text=True, check=True)
    config = json.loads(paths.stdout)["config"]
    # The user's slot of Jupyter's config path is the repository's folder (an environment's
    # own etc/jupyter, which enables the installed extensions, may come first).
    assert str(ROOT / "jupyter") in config
    assert str(Path.home() / ".jupyter") not in config


def test_prepare_records_the_assignments_for_formgrader_once_and_again_when_points_change(
        tmp_path):
    course = _scratch_course(tmp_path)
    assert f"recorded {ASSIGNMENT}" in _prepare(course)
    source = notebooks.read(notebook_path(course, "source", ASSIGNMENT))
    points = sum(float(notebooks.nbgrader_meta(c).get("points", 0)) for c in source.cells
                 if notebooks.is_grade(c))
    assert _recorded_max_score(course) == points
    assert not (course / "release").exists(), "the committed release/ must not be touched"
    assert (course / "jupyter" / "exchange").is_dir()

    assert "recorded" not in _prepare(course)  # up to date: nothing to do

    test_cell = next(c for c in source.cells if notebooks.is_grade(c)
                     and not notebooks.is_solution(c))
    test_cell.metadata["nbgrader"]["points"] += 1
    notebooks.write(source, notebook_path(course, "source", ASSIGNMENT))
    assert f"recorded {ASSIGNMENT}" in _prepare(course)
    assert _recorded_max_score(course) == points + 1
