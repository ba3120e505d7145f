"""Local against Dask grading of the same synthetic class: wall times and overhead.

    python bench/dask_grading.py [--students 8] [--workers 2]

Builds a class of 01_neurona (tests/synthetic_class.py: the reference, the blank version and
the wrong fixtures, repeated), grades it with `batch.autograde` on this machine with N local
graders, then a fresh copy of it through a Dask cluster started here as separate processes
(`dask scheduler` and N `dask worker --nthreads 1`), and prints both wall times and the
overhead per submission, (dask - local) / submissions. Both gradebooks must be equal.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

# (This file is not named distributed.py: as a script it would shadow Dask's package.)
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
# nbgrader shells out to alembic: this environment's bin first.
os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"]

import synthetic_class  # noqa: E402
from dask_procs import DaskProcesses  # noqa: E402

from course import batch, distributed, gradebook, table  # noqa: E402

ASSIGNMENT = synthetic_class.ASSIGNMENT


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2,
                        help="local graders, and Dask workers (default 2)")
    args = parser.parse_args()
    os.environ.pop("COURSE_DB_URL", None)

    with tempfile.TemporaryDirectory(prefix="bench-distributed-") as scratch:
        base = Path(scratch)
        local, remote = base / "local", base / "dask"
        synthetic_class.build(local, args.students)
        synthetic_class.build(remote, args.students)
        local_db, remote_db = (f"sqlite:///{c / 'gradebook.db'}" for c in (local, remote))
        # Set-up neither run should pay for: the assignment in each gradebook, and its scratch
        # template, built once per machine and reused by every grader.
        batch.ensure_assignment(local, ASSIGNMENT, local_db)
        batch.ensure_assignment(remote, ASSIGNMENT, remote_db)
        batch._template_course(batch.template_for(local, ASSIGNMENT, local_db))

        print(f"grading {args.students} submissions of {ASSIGNMENT} locally "
              f"({args.workers} graders)...", flush=True)
        started = time.monotonic()
        local_run = batch.autograde(local, ASSIGNMENT, workers=args.workers, db_url=local_db)
        local_s = time.monotonic() - started

        print(f"starting a Dask cluster here ({args.workers} workers, 1 thread each)...",
              flush=True)
        started = time.monotonic()
        with DaskProcesses(base / "cluster", workers=args.workers) as cluster:
            cluster_s = time.monotonic() - started
            print(f"grading {args.students} submissions through {cluster.address}...",
                  flush=True)
            started = time.monotonic()
            with distributed.executor(cluster.address) as pool:
                connected_s = time.monotonic() - started
                remote_run = batch.autograde(remote, ASSIGNMENT, db_url=remote_db,
                                             executor=pool)
            dask_s = time.monotonic() - started
        same = gradebook.dump(local_db, full=True) == gradebook.dump(remote_db, full=True)

    n = args.students
    graded = (len(local_run.graded), len(remote_run.graded))
    print()
    print(table.render(
        ["run", "submissions graded", "wall time", "per submission"],
        [["local (threads)", str(graded[0]), f"{local_s:.1f} s", f"{local_s / n:.2f} s"],
         [f"dask ({args.workers} worker processes)", str(graded[1]), f"{dask_s:.1f} s",
          f"{dask_s / n:.2f} s"]]))
    print(f"\ncluster start (not counted): {cluster_s:.1f} s; connecting and checking the "
          f"workers (counted): {connected_s:.1f} s")
    print(f"overhead per submission: {(dask_s - local_s) / n:+.2f} s "
          f"((dask - local) / {n})")
    print(f"same gradebook from both runs: {'yes' if same else 'NO'}")
    return 0 if graded == (n, n) and same else 1


if __name__ == "__main__":
    sys.exit(main())
