"""Wall times of each assignment present, printed as a table.

    python bench/timings.py [ID ...] [--repeat 3] [--no-normal]

- autograde: nbgrader autograding one submission (the reference solution) in FAST mode,
  median of --repeat runs, one at a time (this is the per-submission cost of grading);
- normal run: "Run all" of the instructor notebook as a student would (no FAST mode), once.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from course import table  # noqa: E402
from course.coursedir import notebook_path, resolve_ids  # noqa: E402
from course.grading import Grader  # noqa: E402


def autograde_seconds(assignment: str, repeat: int) -> tuple[float, list[float], str]:
    with Grader(ROOT, assignment) as grader:
        runs, note = [], ""
        for _ in range(repeat):
            result = grader.grade("bench", grader.reference())
            runs.append(result.seconds)
            if result.failure or result.score < result.max_score:
                note = f"reference scored {result.score:g}/{result.max_score:g}"
        return statistics.median(runs), runs, note


def normal_run_seconds(assignment: str) -> float:
    nb = nbformat.read(notebook_path(ROOT, "source", assignment), as_version=4)
    env_backup = {k: os.environ.pop(k) for k in ("NBGRADER_EXECUTION", "COURSE_FAST")
                  if k in os.environ}
    try:
        with tempfile.TemporaryDirectory() as cwd:
            started = time.monotonic()
            NotebookClient(nb, timeout=900, kernel_name="python3",
                           resources={"metadata": {"path": cwd}}).execute()
            return time.monotonic() - started
    finally:
        os.environ.update(env_backup)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("ids", nargs="*", metavar="ID")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-normal", action="store_true", help="skip the normal-mode run")
    args = parser.parse_args()
    rows = []
    for assignment in resolve_ids(ROOT, args.ids):
        median, runs, note = autograde_seconds(assignment, args.repeat)
        normal = "-" if args.no_normal else f"{normal_run_seconds(assignment):.1f}"
        rows.append([assignment, f"{median:.1f}", " ".join(f"{r:.1f}" for r in runs),
                     normal, note])
        print(f"{assignment}: autograde median {median:.1f} s, normal run {normal} s",
              flush=True)
    print()
    print(table.render(["assignment", "autograde median (s)", "runs (s)",
                        "normal Run all (s)", "note"], rows))
    print(f"\n{os.cpu_count()} CPU cores; autograde = one FAST-mode submission, serial")
    return 0


if __name__ == "__main__":
    sys.exit(main())
