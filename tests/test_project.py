"""Project-level invariants: dependencies, layout, committed notebooks, lint."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib
import yaml
from packaging.requirements import Requirement

from course import notebooks
from course.coursedir import assignment_ids
from course.release import leaks, out_of_sync

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENTS = assignment_ids(ROOT)


def _normalise(specs: list[str]) -> dict[str, str]:
    result = {}
    for spec in specs:
        req = Requirement(spec)
        result[req.name.lower().replace("_", "-")] = str(req.specifier)
    return result


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = project["dependencies"] + project["optional-dependencies"]["instructor"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    listed = [spec for spec in pip_section if not spec.startswith("-e")]
    assert _normalise(listed) == _normalise(declared)
    assert "-e ." in pip_section, "environment.yml must install the course package itself"


def test_required_dependencies_are_declared():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = set(_normalise(project["dependencies"]
                           + project["optional-dependencies"]["instructor"]))
    required = {"jupyterlab", "nbgrader", "tensorflow", "keras", "scikit-learn", "pandas",
                "seaborn", "matplotlib", "shap", "lime", "xgboost", "lightgbm", "mlxtend",
                "pooch", "pytest"}
    assert required <= names, f"missing: {sorted(required - names)}"


def test_layout():
    for path in ("course/__init__.py", "source", "release", "autograded/README.md",
                 "nbgrader_config.py", "environment.yml", "tests", "pyproject.toml",
                 "README.md", "Makefile", ".ci/run"):
        assert (ROOT / path).exists(), path
    assert ASSIGNMENTS, "no assignment in source/"
    tracked = subprocess.run(["git", "ls-files", "autograded"], cwd=ROOT, capture_output=True,
                             text=True).stdout.split()
    assert tracked in ([], ["autograded/README.md"]), tracked


def test_ci_runs_the_readme_test_command():
    assert "make test" in (ROOT / "README.md").read_text()
    assert re.search(r"^make test$", (ROOT / ".ci/run").read_text(), re.M)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_source_notebook_has_no_outputs(assignment):
    nb = notebooks.read(ROOT / "source" / assignment / f"{assignment}.ipynb")
    assert not notebooks.has_outputs(nb), f"clear the outputs of source/{assignment}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_is_in_sync_with_source(assignment):
    assert out_of_sync(ROOT, assignment) is None


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_leaks_nothing(assignment):
    source_nb = notebooks.read(ROOT / "source" / assignment / f"{assignment}.ipynb")
    release_nb = notebooks.read(ROOT / "release" / assignment / f"{assignment}.ipynb")
    assert leaks(source_nb, release_nb) == []


def test_course_package_holds_no_solution_or_hidden_test():
    """Students install `course`: no line of any solution or hidden test may appear in it."""
    package = "\n".join(p.read_text() for p in (ROOT / "course").rglob("*.py"))
    package_lines = {line.strip() for line in package.splitlines()}
    found = []
    for assignment in ASSIGNMENTS:
        nb = notebooks.read(ROOT / "source" / assignment / f"{assignment}.ipynb")
        for cell in nb.cells:
            for begin, end in notebooks.REGIONS:
                for region in notebooks.region_text(cell.source, begin, end):
                    found += [line.strip() for line in region.splitlines()
                              if len(line.strip()) > 25 and line.strip() in package_lines]
    assert found == []


def test_ruff_is_clean():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
