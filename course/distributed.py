"""Grading on a Dask cluster: `course autograde ID --scheduler tcp://HOST:PORT`.

The same `batch.grade_submission` tasks as local grading, run by Dask's workers instead of local
threads. A task carries every file it needs, so workers share no folder with this machine;
they need the course's environment (this package, nbgrader, the assignments' libraries and
COURSE_DATA_DIR). This process stays the only writer of the gradebook and of autograded/.
A worker that dies takes its running task with it: Dask's scheduler runs that task again
elsewhere (up to `distributed.scheduler.allowed-failures` times, 3 by default), and a task it
gives up on ends as a failed submission, graded again by the next run, like a local failure.
See docs/distributed.md for deployments.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import socket
from collections import Counter
from collections.abc import Iterator
from typing import Any

from .batch import BatchSummary, GradeOutcome, GradeTask
from .coursedir import CourseError

CONNECT_SECONDS = 30
# Workers may still be starting when the instructor runs the command.
WORKERS_SECONDS = 60


@contextlib.contextmanager
def executor(address: str | None, connect_seconds: float = CONNECT_SECONDS,
             workers_seconds: float = WORKERS_SECONDS) -> Iterator[cf.Executor | None]:
    """The executor for `batch.autograde`: None (local grading) without an address."""
    if not address:
        yield None
        return
    client = connect(address, connect_seconds)
    try:
        check_workers(client, workers_seconds)
        pool = ClusterExecutor(client)
        yield pool
    finally:
        # Closing the client releases what is still queued (an interrupted run).
        client.close()


def connect(address: str, timeout: float = CONNECT_SECONDS) -> Any:
    try:
        from distributed import Client
    except ImportError:
        raise CourseError("Dask is not installed here: pip install -e '.[instructor]' "
                          "(it brings dask[distributed])") from None
    try:
        _reachable(address, timeout)
        return Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError, TypeError) as error:
        reason = (str(error).splitlines() or [type(error).__name__])[0]
        raise CourseError(f"cannot reach the Dask scheduler at {address}: {reason}") from None


def _reachable(address: str, timeout: float) -> None:
    """A plain TCP connection first: a wrong host or port fails at once, and a Client that
    fails to start would complain again when Python exits."""
    from distributed.comm.addressing import parse_address, parse_host_port
    from distributed.comm.registry import get_backend

    scheme, location = parse_address(address)
    get_backend(scheme)  # an unknown scheme: ValueError
    if scheme in ("tcp", "tls"):
        host, port = parse_host_port(location)
        socket.create_connection((host, port), timeout=timeout).close()


def check_workers(client: Any, timeout: float = WORKERS_SECONDS) -> dict[str, dict]:
    """Every worker must import this package and run the same nbgrader as this machine."""
    from importlib.metadata import version

    address = client.scheduler.address
    try:
        client.wait_for_workers(1, timeout=timeout)
    except (TimeoutError, OSError):
        raise CourseError(f"the Dask scheduler at {address} has no workers: start some with "
                          f"`dask worker {address} --nthreads 1` (docs/distributed.md)") from None

    def probe() -> dict:
        # Defined here so that Dask ships its code by value: it must run where `course`
        # itself may not import.
        import importlib
        import importlib.metadata
        import os

        found = {"host": os.uname().nodename}
        for module in ("course.batch", "nbgrader"):
            try:
                importlib.import_module(module)
            except Exception as error:  # noqa: BLE001 - reported for that worker
                found["error"] = f"cannot import {module}: {error}"
                return found
        found["nbgrader"] = importlib.metadata.version("nbgrader")
        return found

    reports = client.run(probe, on_error="return")
    ours = version("nbgrader")
    problems = []
    for worker, report in sorted(reports.items()):
        if isinstance(report, BaseException):
            problems.append(f"{worker}: {type(report).__name__}: {report}")
        elif "error" in report:
            problems.append(f"{worker} ({report['host']}): {report['error']}")
        elif report["nbgrader"] != ours:
            problems.append(f"{worker} ({report['host']}): nbgrader {report['nbgrader']}, "
                            f"this machine has {ours}")
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise CourseError(f"a Dask worker lacks the course environment: {problems[0]}{more}; "
                          f"install it on every worker (docs/distributed.md)")
    return reports


class ClusterExecutor(cf.Executor):
    """A concurrent.futures executor (what `batch.autograde` takes) over a Dask client.

    Dask's own executor, plus one rule: a task the cluster could not finish (its workers kept
    dying, the scheduler went away) comes back as that submission's failed outcome instead of
    an exception that would stop the whole class."""

    def __init__(self, client: Any):
        self.client = client
        # pure=False: a resubmitted submission is new work, not a cached result.
        self._dask = client.get_executor(pure=False)

    def submit(self, fn, /, *args, **kwargs) -> cf.Future:
        inner = self._dask.submit(fn, *args, **kwargs)
        outer: cf.Future = cf.Future()
        task = args[0] if args and isinstance(args[0], GradeTask) else None

        def relay(done: cf.Future) -> None:
            if not done.cancelled() and done.exception() is None:
                outer.set_result(done.result())
                return
            error = done.exception() if not done.cancelled() else cf.CancelledError()
            if task is None:
                outer.set_exception(error)
                return
            reason = (f"the Dask cluster did not finish it ({type(error).__name__}: "
                      f"{str(error)[:200]})")
            outer.set_result(GradeOutcome(task.assignment, task.student, task.digest,
                                          "failed", reason=reason))

        inner.add_done_callback(relay)
        return outer

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._dask.shutdown(wait=wait and not cancel_futures)


def by_worker(summaries: list[BatchSummary]) -> str:
    """Which hosts graded how many submissions."""
    hosts = Counter(o.worker for s in summaries for o in s.outcomes if o.worker)
    if not hosts:
        return "nothing new to grade on the cluster"
    return "graded on: " + ", ".join(f"{host} ×{n}" for host, n in hosts.most_common())
