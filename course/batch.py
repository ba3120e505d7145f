"""Grading a whole class: in parallel, crash-safe, resumable.

Each submission is graded by nbgrader's own `autograde` in a scratch course of its own (the
assignment's source, the course config, a scratch gradebook), in a separate process. The
worker hands back plain data, a `GradeOutcome`, and only this process writes the instructor's
gradebook and `autograded/` folder, one submission at a time:

    1. the scores, committed to the gradebook;
    2. `autograded/STUDENT/ID/`, replaced by a rename;
    3. a state file `.grading/ID/STUDENT.json` naming the exact submission graded.

A run killed at any point leaves no state file for what it had not finished, so the next run
grades just that again (and whatever changed since: the state file holds a digest of the
submission and of the assignment's source). `GradeTask` carries the files themselves, so the
same `grade_submission` runs on a Dask worker on another machine.

nbgrader runs in long-lived grader processes (one per worker, each grading one submission
after another) forked from a multiprocessing "forkserver": a script that calls `autograde`
must guard its top level with `if __name__ == "__main__":`, as any multiprocessing code must
(the `course` command and the benchmarks do).
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from . import gradebook, notebooks
from .coursedir import CONFIG_FILE, CourseError, notebook_path, resolve_ids, tool_env
from .limits import CONFINE_ENV, Limits, landlock_abi

STATE_DIR = ".grading"
# Time for nbgrader itself (start, sanitize, save) on top of the notebook's own budget.
GRACE_SECONDS = 120
IGNORED = (".ipynb_checkpoints", "__pycache__")
# Thread pools of BLAS, OpenMP (XGBoost, LightGBM) and TensorFlow: one per kernel would
# oversubscribe the cores when several notebooks run at once.
THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
              "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")
# Templates are cached per machine under this key: bump it when their layout changes.
TEMPLATE_LAYOUT = "2"


@dataclass
class Template:
    """What a worker needs to build the assignment's scratch course: no shared filesystem."""

    assignment: str
    files: dict[str, bytes]  # nbgrader_config.py and source/ID/**, relative to the course
    duedate: str | None = None

    @property
    def digest(self) -> str:
        return _digest(self.files, extra=f"{TEMPLATE_LAYOUT}:{self.duedate or ''}")


@dataclass
class GradeTask:
    template: Template
    student: str
    files: dict[str, bytes]  # submitted/STUDENT/ID/**, relative to that folder
    notebook_timeout: float = 900.0
    cell_timeout: int | None = None
    limits: Limits = field(default_factory=Limits)
    threads: int | None = None  # per kernel: cores / parallel graders, so they do not fight

    @property
    def assignment(self) -> str:
        return self.template.assignment

    @property
    def digest(self) -> str:
        return _digest(self.files, extra=self.template.digest)


@dataclass
class GradeOutcome:
    assignment: str
    student: str
    digest: str
    # "graded": scores recorded; "failed" or "unmatchable": nothing recorded, retried next run
    status: str
    reason: str = ""
    incidents: list[dict] = field(default_factory=list)
    notebooks: dict[str, Any] = field(default_factory=dict)  # gradebook.scores_from shape
    max_score: float = 0.0
    files: dict[str, bytes] = field(default_factory=dict)  # autograded/STUDENT/ID/**
    timestamp: datetime | None = None
    seconds: float = 0.0
    worker: str = ""

    @property
    def score(self) -> float:
        return sum(v or 0.0 for nb in self.notebooks.values() for v in nb["grades"].values())

    def explanation(self) -> str:
        """Why it failed, or its incidents grouped by kind (a tampered check repeats on every
        later test cell)."""
        if self.status != "graded":
            return self.reason
        seen: dict[str, tuple[int, str]] = {}
        for incident in self.incidents:
            count, detail = seen.get(incident["kind"], (0, incident["detail"]))
            seen[incident["kind"]] = (count + 1, detail)
        return "; ".join(f"{kind}{f' ×{n}' if n > 1 else ''}: {detail}"
                         for kind, (n, detail) in seen.items())


# --------------------------------------------------------------------------- the worker side

_templates_lock = threading.Lock()


def grade_submission(task: GradeTask) -> GradeOutcome:
    """Autograde one submission with nbgrader in a scratch course; never raises for anything
    the student's notebook does (that ends as scores and incidents). nbgrader itself failing
    (a kernel that could not start while many start at once, say) is tried once more."""
    started = time.monotonic()
    outcome = _grade_once(task)
    if outcome.status == "failed":
        first = outcome.reason
        outcome = _grade_once(task)
        outcome.reason = outcome.reason or f"graded on a second try; the first failed: {first}"
    outcome.seconds = time.monotonic() - started
    return outcome


def _grade_once(task: GradeTask) -> GradeOutcome:
    started = time.monotonic()
    outcome = GradeOutcome(task.assignment, task.student, task.digest, "failed",
                           worker=os.uname().nodename)
    scratch = Path(tempfile.mkdtemp(prefix=f"autograde-{task.assignment}-"))
    try:
        course = scratch / "course"
        shutil.copytree(_template_course(task.template), course,
                        ignore=shutil.ignore_patterns("release"))
        submitted = course / "submitted" / task.student / task.assignment
        _write_files(submitted, task.files)
        incidents_file = scratch / "incidents.json"
        env = tool_env(course, COURSE_DB_URL=f"sqlite:///{course / 'gradebook.db'}",
                       COURSE_NOTEBOOK_TIMEOUT=str(task.notebook_timeout),
                       COURSE_INCIDENTS_FILE=str(incidents_file), **task.limits.to_env())
        if task.cell_timeout:
            env["COURSE_CELL_TIMEOUT"] = str(task.cell_timeout)
        if task.threads:
            env.update(dict.fromkeys(THREAD_ENV, str(task.threads)))
        if not confinement():
            env[CONFINE_ENV] = "1"
            _prefetch(task.template)
        log, killed = _run_nbgrader(course, env, task)
        graded = notebook_path(course, "autograded", task.assignment, task.student)
        db_url = f"sqlite:///{course / 'gradebook.db'}"
        if incidents_file.exists():
            outcome.incidents = json.loads(incidents_file.read_text(encoding="utf-8"))
        if killed:
            # nbgrader itself overran: every cell scores 0, the answers stay for the grader.
            outcome.notebooks = _zero_scores(gradebook.scores_from(db_url, task.assignment,
                                                                   task.student))
            outcome.files = dict(task.files)
            outcome.incidents.append({"kind": "timeout", "cell": "",
                                      "detail": f"killed after {killed:.0f} s"})
            outcome.status = "graded"
        elif graded.exists():
            outcome.notebooks = gradebook.scores_from(db_url, task.assignment, task.student)
            outcome.files = _read_files(graded.parent)
            outcome.status = "graded"
        else:
            outcome.reason = _last_error(log)
        if outcome.status == "graded":
            outcome.max_score = _max_score(db_url, task.assignment)
            outcome.timestamp = _submission_timestamp(db_url, task.assignment, task.student)
    except Exception as error:  # noqa: BLE001 - reported per submission, the batch goes on
        outcome.status, outcome.reason = "failed", f"{type(error).__name__}: {error}"[:500]
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        outcome.seconds = time.monotonic() - started
    return outcome


def confinement() -> str:
    """Why student code could write outside its folder here ('' when it cannot)."""
    if os.environ.get(CONFINE_ENV) == "0":
        return f"{CONFINE_ENV}=0: student code may write anywhere this user can"
    if landlock_abi() < 1:
        return ("this Linux kernel has no Landlock: student code may write anywhere this "
                "user can (resource limits still apply)")
    return ""


_prefetched: set[str] = set()


def _prefetch(template: Template) -> None:
    """Put the assignment's datasets in the cache first (once per process): the confined
    kernel cannot download."""
    if template.digest in _prefetched:
        return
    _prefetched.add(template.digest)
    source_nb = template.files.get(f"source/{template.assignment}/{template.assignment}.ipynb")
    if not source_nb:
        return
    from .data.fetching import fetch

    for name in json.loads(source_nb).get("metadata", {}).get("course", {}).get("datasets", []):
        try:
            fetch(name)
        except Exception:  # noqa: BLE001 - unavailable: the notebook itself will say so
            continue


def _template_course(template: Template) -> Path:
    """The assignment generated once per machine and source version (reused by every task)."""
    base = Path(tempfile.gettempdir()) / "course-templates" / template.digest[:16]
    with _templates_lock:
        if (base / ".ready").exists():
            return base / "course"
        base.parent.mkdir(parents=True, exist_ok=True)
        building = Path(tempfile.mkdtemp(prefix="building-", dir=base.parent))
        course = building / "course"
        _write_files(course, template.files)
        env = tool_env(course, COURSE_DB_URL=f"sqlite:///{course / 'gradebook.db'}")
        if template.duedate:
            _nbgrader_ok(course, env, "db", "assignment", "add", template.assignment,
                         f"--duedate={template.duedate}")
        _nbgrader_ok(course, env, "generate_assignment", template.assignment, "--force")
        (building / ".ready").touch()
        try:
            building.rename(base)
        except OSError:  # another process on this machine finished first
            shutil.rmtree(building, ignore_errors=True)
        return base / "course"


def _run_nbgrader(course: Path, env: dict[str, str], task: GradeTask) -> tuple[str, float]:
    """`nbgrader autograde ID --student S` in a long-lived grader process (see `_Grader`);
    killed if it overruns. Returns (its log, seconds if it was killed)."""
    log = course.parent / "nbgrader.log"
    grader = _take_grader()
    limit = task.notebook_timeout + GRACE_SECONDS
    try:
        code, killed = grader.autograde(str(course), env, task.assignment, task.student,
                                        str(log), limit)
    finally:  # whatever happened, the grader is kept or ended, never left running unowned
        _give_back(grader)
    text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
    if code not in (0, None) and not killed:
        text += f"\nnbgrader exited with code {code}"
    return text, killed


class _Grader:
    """One nbgrader process that grades one submission after another, as serial `nbgrader
    autograde` does: its imports, entry points and templates are loaded once, not per
    submission. Forked from a server that has nbgrader imported already. A grader that dies
    or overruns is killed and the next submission gets a fresh one."""

    # A fresh process now and then, so nothing a long run accumulates can pile up.
    MAX_SUBMISSIONS = 100

    def __init__(self) -> None:
        self._conn, child = _forkserver().Pipe()
        self.process = _forkserver().Process(target=_grader_loop, args=(child,), daemon=True)
        self.process.start()
        child.close()
        self.graded = 0

    def autograde(self, course: str, env: dict[str, str], assignment: str, student: str,
                  log: str, limit: float) -> tuple[int | None, float]:
        """(nbgrader's exit code, seconds if killed for overrunning `limit`)."""
        self.graded += 1
        try:
            self._conn.send((course, env, assignment, student, log))
            if self._conn.poll(limit):
                return self._conn.recv(), 0.0
        except (EOFError, OSError):  # it died (killed for memory, say)
            self.process.join(5)
            self.close()
            return self.process.exitcode if self.process.exitcode is not None else 1, 0.0
        self.close()
        return None, limit

    @property
    def usable(self) -> bool:
        return self.process.is_alive() and self.graded < self.MAX_SUBMISSIONS

    def close(self) -> None:
        self._conn.close()
        if self.process.is_alive():
            self.process.kill()
        self.process.join()


_idle_graders: list[_Grader] = []
_graders_lock = threading.Lock()


def _take_grader() -> _Grader:
    with _graders_lock:
        while _idle_graders:
            grader = _idle_graders.pop()
            if grader.usable:
                return grader
            grader.close()
    return _Grader()


def _give_back(grader: _Grader) -> None:
    if not grader.usable:
        grader.close()
        return
    with _graders_lock:
        _idle_graders.append(grader)


def close_graders() -> None:
    """End the idle grader processes (the end of a batch)."""
    with _graders_lock:
        graders = list(_idle_graders)
        _idle_graders.clear()
    for grader in graders:
        grader.close()


_forkserver_lock = threading.Lock()
_forkserver_context = None


def _forkserver():
    global _forkserver_context
    with _forkserver_lock:
        if _forkserver_context is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["nbgrader.apps.nbgraderapp", "course.sandbox"])
            _forkserver_context = context
        return _forkserver_context


def _grader_loop(conn) -> None:
    """A grader process: autograde each request, answer with nbgrader's exit code."""
    from .limits import _die_with_parent

    _die_with_parent()
    quiet = os.open(os.devnull, os.O_WRONLY)
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            os._exit(0)
        code = _autograde(*request)
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(quiet, 1)  # closes the submission's log
        os.dup2(quiet, 2)
        conn.send(code)


def _autograde(course: str, env: dict[str, str], assignment: str, student: str,
               log: str) -> int:
    """What `python -m nbgrader autograde ID --student S --force` does, in this process,
    with its output in `log`."""
    from nbgrader.apps.nbgraderapp import NbGraderApp

    os.environ.clear()
    os.environ.update(env)
    os.chdir(course)
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    app = None
    code = 0
    try:
        app = NbGraderApp.instance()
        # The kernel is killed once its notebook is done: nothing of it is needed any more,
        # and a polite shutdown costs ~0.3 s (NumPy) to a few seconds (TensorFlow).
        app.initialize(["autograde", assignment, "--student", student, "--force",
                        "--Execute.shutdown_kernel=immediate"])
        app.start()
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
    except BaseException:  # noqa: BLE001 - reported through the log and the exit code
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        # The next submission builds its applications afresh (they are singletons).
        if app is not None and getattr(app, "subapp", None) is not None:
            type(app.subapp).clear_instance()
        NbGraderApp.clear_instance()
    return code


def _nbgrader_ok(course: Path, env: dict[str, str], *args: str) -> None:
    run = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env,
                         capture_output=True, text=True)
    if run.returncode != 0:
        error = _last_error(run.stdout + run.stderr)
        raise CourseError(f"nbgrader {' '.join(args)} failed: {error}")


def _zero_scores(notebooks: dict[str, Any]) -> dict[str, Any]:
    return {name: {**nb, "grades": {g: 0.0 for g in nb["grades"]}}
            for name, nb in notebooks.items()}


def _max_score(db_url: str, assignment: str) -> float:
    with gradebook.open_gradebook(db_url) as gb:
        return float(gb.find_assignment(assignment).max_score)


def _submission_timestamp(db_url: str, assignment: str, student: str) -> datetime | None:
    with gradebook.open_gradebook(db_url) as gb:
        return gb.find_submission(assignment, student).timestamp


def _last_error(log: str) -> str:
    lines = [line for line in log.strip().splitlines() if line.strip()]
    errors = [line for line in lines if "ERROR" in line or "Error" in line]
    return (errors or lines or ["no output"])[-1].strip()[:300]


# --------------------------------------------------------------------------- the class side


@dataclass
class Submission:
    student: str
    folder: Path
    task: GradeTask | None = None
    state: str = ""  # "new", "stale", "graded"


@dataclass
class BatchSummary:
    assignment: str
    outcomes: list[GradeOutcome] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0
    sandbox: str = ""

    @property
    def graded(self) -> list[GradeOutcome]:
        return [o for o in self.outcomes if o.status == "graded"]

    @property
    def failed(self) -> list[GradeOutcome]:
        return [o for o in self.outcomes if o.status != "graded"]


def template_for(root: Path, assignment: str, db_url: str) -> Template:
    files = {CONFIG_FILE: (root / CONFIG_FILE).read_bytes()}
    source = root / "source" / assignment
    for rel, data in _read_files(source).items():
        files[f"source/{assignment}/{rel}"] = data
    return Template(assignment, files, gradebook.duedate(db_url, assignment))


def submissions(root: Path, assignment: str, students: list[str] | None = None,
                missing_ok: bool = False) -> list[Submission]:
    """Students with a submitted/STUDENT/ID folder (all, or the ones listed; a listed student
    without one is an error unless `missing_ok`)."""
    base = root / "submitted"
    found = sorted(p.parent.name for p in base.glob(f"*/{assignment}") if p.is_dir()) \
        if base.is_dir() else []
    if students:
        missing = sorted(set(students) - set(found))
        if missing and not missing_ok:
            raise CourseError(f"no submission of {assignment} for: {', '.join(missing)} "
                              f"(looked in {base}/STUDENT/{assignment})")
        found = [s for s in found if s in students]
    return [Submission(s, base / s / assignment) for s in found]


def state_path(root: Path, assignment: str, student: str) -> Path:
    return root / STATE_DIR / assignment / f"{student}.json"


def read_state(root: Path, assignment: str, student: str) -> dict | None:
    try:
        return json.loads(state_path(root, assignment, student).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def plan(root: Path, assignment: str, found: list[Submission], force: bool,
         make_task: Callable[[str, dict[str, bytes]], GradeTask]) -> list[Submission]:
    """The submissions with their state; tasks only for what is new or stale (or all, force)."""
    result = []
    for sub in found:
        files = _read_files(sub.folder)
        task = make_task(sub.student, files)
        state = read_state(root, assignment, sub.student)
        graded = notebook_path(root, "autograded", assignment, sub.student).exists()
        if state is None or not graded:
            sub.state = "new"
        elif state.get("digest") != task.digest:
            sub.state = "stale"
        else:
            sub.state = "graded"
        if force or sub.state != "graded":
            sub.task = task
        result.append(sub)
    return result


def record(root: Path, db_url: str, outcome: GradeOutcome) -> None:
    """Gradebook first, then autograded/ (atomic rename), then the state file: see above."""
    gradebook.record(db_url, outcome)
    target = root / "autograded" / outcome.student / outcome.assignment
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{outcome.assignment}-", dir=target.parent))
    _write_files(staging, outcome.files)
    if target.exists():
        old = target.with_name(f".{outcome.assignment}-old-{os.getpid()}")
        target.rename(old)
        staging.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        staging.rename(target)
    state = {k: v for k, v in asdict(outcome).items() if k not in ("files", "notebooks")}
    state.update(score=outcome.score, graded_at=datetime.now().isoformat(timespec="seconds"),
                 timestamp=outcome.timestamp.isoformat() if outcome.timestamp else None)
    path = state_path(root, outcome.assignment, outcome.student)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps(state, indent=1, ensure_ascii=False), encoding="utf-8")
    partial.replace(path)


def ensure_assignment(root: Path, assignment: str, db_url: str) -> None:
    """The gradebook must know the assignment's cells; add them (without touching release/)."""
    if gradebook.has_assignment(db_url, assignment):
        return
    with tempfile.TemporaryDirectory(prefix="release-") as scratch:
        env = tool_env(root, COURSE_DB_URL=db_url)
        _nbgrader_ok(root, env, "generate_assignment", assignment, "--force",
                     f"--CourseDirectory.release_directory={scratch}")


def autograde(root: Path, assignment: str, **options: Any) -> BatchSummary:
    """Grade what is new or stale in submitted/*/ID (see `autograde_many`)."""
    return autograde_many(root, [assignment], **options)[0]


def autograde_many(root: Path, assignments: list[str], *, students: list[str] | None = None,
                   workers: int | None = None, force: bool = False,
                   notebook_timeout: float = 900.0, cell_timeout: int | None = None,
                   limits: Limits | None = None, db_url: str | None = None,
                   executor: Executor | None = None, intake: bool = True,
                   on_outcome: Callable[[GradeOutcome, int, int], None] | None = None
                   ) -> list[BatchSummary]:
    """Grade what is new or stale in submitted/*/ID of every assignment listed, all in one
    pool (no worker waits for the last notebook of one assignment before the next starts).
    `executor` (e.g. a Dask client's) runs `grade_submission`, else `workers` local threads
    each driving one nbgrader process. With `intake`, each submission is first repaired
    against the release (course.collect); one that cannot be matched is reported as failed,
    never graded 0. Returns one summary per assignment, in the order given."""
    started = time.monotonic()
    assignments = resolve_ids(root, assignments)
    # Several assignments: a listed student need not have submitted every one.
    found = {a: submissions(root, a, students, missing_ok=len(assignments) > 1)
             for a in assignments}
    empty = [a for a, subs in found.items() if not subs]
    if empty:  # checked before any slow step
        raise CourseError(f"no submissions of {empty[0]} in {root / 'submitted'}/STUDENT/"
                          f"{empty[0]}")
    db_url = db_url or gradebook.default_db_url(root)
    limits = limits or Limits()
    workers = workers or os.cpu_count() or 1
    threads = None if executor else max(1, (os.cpu_count() or 1) // workers)
    summaries: dict[str, BatchSummary] = {}
    todo: list[GradeTask] = []
    for assignment in assignments:
        summary = summaries[assignment] = BatchSummary(assignment)
        todo += _prepare(root, summary, found[assignment], db_url, force, intake,
                         lambda template, student, files: GradeTask(
                             template, student, files, notebook_timeout, cell_timeout,
                             limits, threads))
    own = executor is None
    pool = executor or ThreadPoolExecutor(max_workers=workers)
    try:
        futures = [pool.submit(grade_submission, task) for task in todo]
        for done, future in enumerate(as_completed(futures), start=1):
            outcome = future.result()
            if outcome.status == "graded":
                record(root, db_url, outcome)
            summary = summaries[outcome.assignment]
            summary.outcomes.append(outcome)
            summary.seconds = time.monotonic() - started  # when its last submission ended
            _log(root, outcome)
            if on_outcome:
                on_outcome(outcome, done, len(todo))
    finally:
        if own:
            pool.shutdown(wait=True, cancel_futures=True)
            close_graders()
    for summary in summaries.values():
        summary.seconds = summary.seconds or time.monotonic() - started
    return list(summaries.values())


def _prepare(root: Path, summary: BatchSummary, found: list[Submission], db_url: str,
             force: bool, intake: bool,
             make_task: Callable[[Template, str, dict[str, bytes]], GradeTask]
             ) -> list[GradeTask]:
    """One assignment's part of a batch: gradebook entry, template, intake, what to grade."""
    assignment = summary.assignment
    ensure_assignment(root, assignment, db_url)
    template = template_for(root, assignment, db_url)
    summary.sandbox = confinement()  # why student code runs unconfined, if it does
    unmatchable = _intake(root, template, found) if intake else {}
    for outcome in unmatchable.values():
        summary.outcomes.append(outcome)
        _log(root, outcome)
    wanted = [s for s in found if s.student not in unmatchable]
    planned = plan(root, assignment, wanted, force,
                   lambda student, files: make_task(template, student, files))
    summary.skipped = [s.student for s in planned if s.task is None]
    return [s.task for s in planned if s.task is not None]


def _intake(root: Path, template: Template, found: list[Submission]
             ) -> dict[str, GradeOutcome]:
    """Repair every submission in place; the unmatchable ones as failed outcomes."""
    from .collect import intake_submission

    release = notebook_path(root, "release", template.assignment)
    if not release.is_file():
        release = notebook_path(_template_course(template), "release", template.assignment)
    release_nb = notebooks.read(release)
    failed = {}
    for sub in found:
        report = intake_submission(root, template.assignment, sub.student, release=release_nb)
        if not report.gradable:
            failed[sub.student] = GradeOutcome(
                template.assignment, sub.student, "", "unmatchable",
                reason=f"not graded, the submission could not be matched: {report.reason}")
    return failed


def _log(root: Path, outcome: GradeOutcome) -> None:
    path = root / STATE_DIR / outcome.assignment / "autograde.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (f"{datetime.now().isoformat(timespec='seconds')} {outcome.student} "
            f"{outcome.status} {outcome.score:g}/{outcome.max_score:g} {outcome.seconds:.1f}s"
            f"{' — ' + outcome.explanation() if outcome.explanation() else ''}\n")
    with path.open("a", encoding="utf-8") as handle:
        handle.write(line)


# --------------------------------------------------------------------------- files


def _read_files(folder: Path) -> dict[str, bytes]:
    files = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if path.is_file() and not any(part.startswith(".") or part in IGNORED
                                      for part in rel.parts):
            files[rel.as_posix()] = path.read_bytes()
    return files


def _write_files(folder: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    folder.mkdir(parents=True, exist_ok=True)


def _digest(files: dict[str, bytes], extra: str = "") -> str:
    h = hashlib.sha256(extra.encode())
    for rel in sorted(files):
        h.update(rel.encode() + b"\0" + hashlib.sha256(files[rel]).digest())
    return h.hexdigest()

