"""Throughput of grading a class: plain serial `nbgrader autograde` against
`course autograde --all --workers N`, on the same synthetic class, in one run.

    python bench/grading.py [ID ...] [--students 30] [--workers 2] [--no-breakdown]

The class: for each assignment present (or the ones named), up to --students submissions made
of the reference solution, the blank student version and every wrong-submission fixture
(tests/fixtures/ID), cycled. Both gradebooks must hold identical scores (checked). Then, for
one reference submission per assignment, where a notebook's time goes: kernel start, the
setup cell (imports, data), the student's code, the tests, and nbgrader's own work around
them (autograde time per notebook minus the notebook's execution).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from course import batch, gradebook, notebooks, table  # noqa: E402
from course.coursedir import notebook_path, resolve_ids, scratch_course, tool_env  # noqa: E402
from course.fixtures import load_all  # noqa: E402


def class_of(assignment: str, size: int) -> list:
    source = notebooks.read(notebook_path(ROOT, "source", assignment))
    release = notebooks.read(notebook_path(ROOT, "release", assignment))
    reference = notebooks.solved_copy(release, source)
    kinds = [reference, release] + [notebooks.replace_answers(reference, f.answers)
                                    for f in load_all(ROOT / "tests" / "fixtures" / assignment)]
    return [kinds[i % len(kinds)] for i in range(size)]


def build(base: Path, ids: list[str], size: int) -> Path:
    course = scratch_course(ROOT, base, ids)
    for assignment in ids:
        for i, nb in enumerate(class_of(assignment, size)):
            notebooks.write(nb, notebook_path(course, "submitted", assignment, f"alumno{i:03d}"))
    return course


def serial(course: Path, ids: list[str]) -> dict[str, float]:
    env = tool_env(course, COURSE_DB_URL=f"sqlite:///{course / 'gradebook.db'}")
    for assignment in ids:  # not timed: both sides start from a gradebook with the assignments
        subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", assignment,
                        "--force"], cwd=course, env=env, check=True, capture_output=True)
    seconds = {}
    for assignment in ids:
        started = time.monotonic()
        subprocess.run([sys.executable, "-m", "nbgrader", "autograde", assignment], cwd=course,
                       env=env, check=True, capture_output=True)
        seconds[assignment] = time.monotonic() - started
    return seconds


def parallel(course: Path, ids: list[str], workers: int) -> float:
    """What `course autograde --all --workers N` does: every assignment in one pool."""
    db_url = f"sqlite:///{course / 'gradebook.db'}"
    for assignment in ids:
        batch.ensure_assignment(course, assignment, db_url)
    started = time.monotonic()
    summaries = batch.autograde_many(course, ids, workers=workers, db_url=db_url)
    failed = [o for s in summaries for o in s.failed]
    if failed:
        raise SystemExit(f"{[f'{o.assignment}/{o.student}: {o.explanation()}' for o in failed]}")
    return time.monotonic() - started


def breakdown(assignment: str) -> dict[str, float]:
    """Seconds of one FAST execution of the reference, by kind of cell."""
    source = notebooks.read(notebook_path(ROOT, "source", assignment))
    release = notebooks.read(notebook_path(ROOT, "release", assignment))
    nb = notebooks.solved_copy(release, source)
    parts = dict.fromkeys(["kernel start", "setup (imports, data)", "given code",
                           "student code", "tests"], 0.0)
    os.environ["NBGRADER_EXECUTION"] = "autograde"
    try:
        with tempfile.TemporaryDirectory() as cwd:
            client = NotebookClient(nb, timeout=600, kernel_name="python3",
                                    resources={"metadata": {"path": cwd}})
            started = time.monotonic()
            with client.setup_kernel():
                client.wait_for_reply(client.kc.kernel_info())
                parts["kernel start"] = time.monotonic() - started
                seen_solution = False
                for index, cell in enumerate(nb.cells):
                    meta = cell.metadata.get("nbgrader", {})
                    seen_solution |= bool(meta.get("solution"))
                    kind = ("student code" if meta.get("solution") else "tests"
                            if meta.get("grade") else "given code" if seen_solution
                            else "setup (imports, data)")
                    began = time.monotonic()
                    client.execute_cell(cell, index)
                    parts[kind] += time.monotonic() - began
    finally:
        os.environ.pop("NBGRADER_EXECUTION", None)
    return parts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("ids", nargs="*", metavar="ID")
    parser.add_argument("--students", type=int, default=30, help="per assignment (default 30)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-breakdown", action="store_true")
    args = parser.parse_args()
    ids = resolve_ids(ROOT, args.ids)
    work = Path(tempfile.mkdtemp(prefix="bench-grading-"))
    try:
        one, two = build(work / "serial", ids, args.students), build(work / "par", ids,
                                                                    args.students)
        n = args.students * len(ids)
        print(f"class: {args.students} students x {len(ids)} assignments = {n} notebooks "
              f"({', '.join(ids)}); {os.cpu_count()} cores", flush=True)
        per_assignment = serial(one, ids)
        t_serial = sum(per_assignment.values())
        print(f"serial nbgrader autograde: {t_serial:.1f} s", flush=True)
        t_parallel = parallel(two, ids, args.workers)
        print(f"course autograde --all --workers {args.workers}: {t_parallel:.1f} s", flush=True)
        same = (gradebook.dump(f"sqlite:///{one / 'gradebook.db'}")
                == gradebook.dump(f"sqlite:///{two / 'gradebook.db'}"))
        rows = [["serial nbgrader autograde", str(n), f"{t_serial:.1f}",
                 f"{60 * n / t_serial:.1f}", "1.00x"],
                [f"course autograde --all --workers {args.workers}", str(n), f"{t_parallel:.1f}",
                 f"{60 * n / t_parallel:.1f}", f"{t_serial / t_parallel:.2f}x"]]
        print()
        print(table.render(["mode", "notebooks", "seconds", "notebooks/min", "speed-up"], rows))
        print(f"\nidentical scores in both gradebooks: {'yes' if same else 'NO'}")
        if not args.no_breakdown:
            print("\nWhere a notebook's time goes (one FAST reference run per assignment, s;"
                  "\nnbgrader = serial autograde time per notebook minus the execution):")
            rows = []
            for assignment in ids:
                parts = breakdown(assignment)
                per_notebook = per_assignment[assignment] / args.students
                rows.append([assignment, *(f"{v:.1f}" for v in parts.values()),
                             f"{max(0.0, per_notebook - sum(parts.values())):.1f}",
                             f"{per_notebook:.1f}"])
            print(table.render(["assignment", *parts.keys(), "nbgrader", "autograde/nb"],
                               rows))
        if not same:
            raise SystemExit(1)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
