"""The course directory (the repository root) and running nbgrader's own apps in it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

CONFIG_FILE = "nbgrader_config.py"


class CourseError(RuntimeError):
    """An instructor-facing error: printed as one clear line by the CLI, never a traceback."""


def find_root(start: str | Path | None = None) -> Path:
    """The nearest folder, from `start` (default: cwd) upwards, holding nbgrader_config.py."""
    here = Path(start or os.getcwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_FILE).is_file() and (folder / "source").is_dir():
            return folder
    raise CourseError(
        f"no course directory found from {here}: run this inside the course repository "
        f"(the folder with {CONFIG_FILE} and source/), or pass --root"
    )


def assignment_ids(root: Path) -> list[str]:
    """Assignments present in source/, in course order (their ids start with the number)."""
    return sorted(p.name for p in (root / "source").iterdir()
                  if p.is_dir() and (p / f"{p.name}.ipynb").is_file())


def resolve_ids(root: Path, ids: list[str] | None) -> list[str]:
    known = assignment_ids(root)
    if not ids:
        return known
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise CourseError(f"unknown assignment(s) {', '.join(unknown)}; "
                          f"source/ has: {', '.join(known) or 'none'}")
    return list(ids)


def notebook_path(root: Path, kind: str, assignment: str, student: str | None = None) -> Path:
    """source/ID/ID.ipynb, release/ID/ID.ipynb, submitted/STUDENT/ID/ID.ipynb..."""
    base = root / kind / student if student else root / kind
    return base / assignment / f"{assignment}.ipynb"


def tool_env(root: Path, **extra: str) -> dict[str, str]:
    """Environment for nbgrader: the venv's bin first on PATH (nbgrader shells out to alembic),
    and the gradebook of `root` unless the caller chose one."""
    env = dict(os.environ)
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    env.setdefault("COURSE_DB_URL", f"sqlite:///{root / 'gradebook.db'}")
    env.update(extra)
    return env


@dataclass
class ToolResult:
    returncode: int
    output: str


def nbgrader(root: Path, *args: str, env: dict[str, str] | None = None,
             timeout: float | None = None) -> ToolResult:
    """Run `nbgrader ARGS` in `root` with the course's config; output captured."""
    command = [sys.executable, "-m", "nbgrader", *args]
    proc = subprocess.run(command, cwd=root, env=env or tool_env(root), capture_output=True,
                          text=True, timeout=timeout)
    return ToolResult(proc.returncode, proc.stdout + proc.stderr)


def nbgrader_checked(root: Path, *args: str, env: dict[str, str] | None = None) -> str:
    result = nbgrader(root, *args, env=env)
    if result.returncode != 0:
        tail = "\n".join(result.output.strip().splitlines()[-15:])
        raise CourseError(f"nbgrader {' '.join(args)} failed (exit {result.returncode}):\n{tail}")
    return result.output


def scratch_course(root: Path, destination: Path, assignments: list[str]) -> Path:
    """A fresh course directory at `destination` with the course config and the given sources.

    Its gradebook lives inside it, so scratch runs never touch the instructor's gradebook."""
    destination.mkdir(parents=True, exist_ok=True)
    shutil.copy2(root / CONFIG_FILE, destination / CONFIG_FILE)
    for assignment in assignments:
        target = destination / "source" / assignment
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(root / "source" / assignment, target,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    return destination


def scratch_env(course: Path, **extra: str) -> dict[str, str]:
    return tool_env(course, COURSE_DB_URL=f"sqlite:///{course / 'gradebook.db'}", **extra)
