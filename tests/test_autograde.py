"""`course autograde` grading a class: parallel = serial nbgrader, crash-safe resume, and
submissions that loop, crash or exhaust memory end graded with a reason (real nbgrader)."""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_cli import course, make_toy_course

from course import batch, gradebook, notebooks
from course.coursedir import notebook_path, scratch_course, tool_env
from course.fixtures import load_all

ROOT = Path(__file__).resolve().parents[1]
ID = "01_neurona"
OPTIONS = {"cell_timeout": 10, "notebook_timeout": 120}
ENV = {"COURSE_CELL_TIMEOUT": "10", "COURSE_NOTEBOOK_TIMEOUT": "120"}


def _prepend(nb, grade_id: str, code: str):
    nb = copy.deepcopy(nb)
    cell = notebooks.cells_by_grade_id(nb)[grade_id]
    cell.source = code + "\n" + cell.source
    return nb


def class_submissions() -> dict:
    source = notebooks.read(notebook_path(ROOT, "source", ID))
    release = notebooks.read(notebook_path(ROOT, "release", ID))
    reference = notebooks.solved_copy(release, source)
    wrong = load_all(ROOT / "tests" / "fixtures" / ID)[:2]
    subs = {"ana": reference, "bruno": release}
    subs.update({f"mal{i}": notebooks.replace_answers(reference, f.answers)
                 for i, f in enumerate(wrong)})
    subs["bucle"] = _prepend(reference, "ej3_softmax", "while True:\n    pass")
    subs["salida"] = _prepend(reference, "ej4_neurona", "import os\nos._exit(1)")
    subs["memoria"] = _prepend(reference, "ej2_derivadas", "_x = bytearray(64 * 1024 ** 3)")
    subs["torrente"] = _prepend(reference, "ej5_feedforward",
                                "while True:\n    print('x' * 10000)")
    return subs


def make_class(base: Path) -> Path:
    course_dir = scratch_course(ROOT, base, [ID])
    for i, (student, nb) in enumerate(class_submissions().items()):
        path = notebook_path(course_dir, "submitted", ID, student)
        notebooks.write(nb, path)
        (path.parent / "timestamp.txt").write_text(f"2026-03-0{1 + i % 9} 10:00:00.000000 UTC")
    return course_dir


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    """The class graded uninterrupted with 2 workers."""
    base = make_class(tmp_path_factory.mktemp("class") / "course")
    summary = batch.autograde(base, ID, workers=2, **OPTIONS)
    return base, summary


def _dump(base: Path) -> dict:
    return gradebook.dump(f"sqlite:///{base / 'gradebook.db'}")


def _graded_cells(base: Path, student: str) -> list:
    """What the autograded notebook shows per graded cell: source and the errors it raised."""
    nb = notebooks.read(notebook_path(base, "autograded", ID, student))
    return [(c.source, [o.get("ename") for o in c.get("outputs", [])
                        if o.get("output_type") == "error"])
            for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]


def test_every_submission_is_graded_and_the_batch_completes(graded_class):
    base, summary = graded_class
    assert not summary.failed, [o.explanation() for o in summary.failed]
    by_student = {o.student: o for o in summary.outcomes}
    assert set(by_student) == set(class_submissions())
    assert by_student["ana"].score == 25 and by_student["bruno"].score == 0
    assert 0 < by_student["mal0"].score < 25


def test_loop_crash_and_memory_bomb_end_graded_with_a_reason(graded_class):
    base, summary = graded_class
    by_student = {o.student: o for o in summary.outcomes}
    cells = {s: gradebook.scores_from(f"sqlite:///{base / 'gradebook.db'}", ID, s)[ID]["grades"]
             for s in ("bucle", "salida", "memoria", "torrente")}

    loop = by_student["bucle"]
    assert "cell-timeout" in loop.explanation()
    assert cells["bucle"]["ej3_softmax_visible"] == 0
    assert cells["bucle"]["ej1_activaciones_oculto"] == 1
    assert cells["bucle"]["ej9_xor_oculto_red"] == 1  # the cells after it still ran

    crash = by_student["salida"]
    assert "kernel-died" in crash.explanation() and "código de salida 1" in crash.explanation()
    assert crash.score == 9  # exercises 1-3 ran before the kernel died; the rest did not run
    assert all(v == 0 for k, v in cells["salida"].items() if k.startswith(("ej4", "ej9")))

    bomb = by_student["memoria"]
    assert "memory" in bomb.explanation()
    assert cells["memoria"]["ej2_derivadas_visible"] == 0 and bomb.score == 22

    flood = by_student["torrente"]
    assert "output-flood" in flood.explanation()
    nb = notebooks.read(notebook_path(base, "autograded", ID, "torrente"))
    assert len(json.dumps(nb)) < 3_000_000  # the flood did not land in the notebook


def test_parallel_grading_gives_the_scores_of_serial_nbgrader(graded_class, tmp_path):
    base, _ = graded_class
    serial = make_class(tmp_path / "serial")
    env = tool_env(serial, COURSE_DB_URL=f"sqlite:///{serial / 'gradebook.db'}", **ENV)
    run = subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", ID,
                          "--force"], cwd=serial, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    run = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", ID], cwd=serial,
                         env=env, capture_output=True, text=True, timeout=1200)
    assert run.returncode == 0, run.stderr[-2000:]
    assert _dump(serial) == _dump(base)
    for student in class_submissions():
        assert _graded_cells(serial, student) == _graded_cells(base, student), student


def test_killed_run_resumes_to_the_same_gradebook(graded_class, tmp_path):
    base, _ = graded_class
    resumed = make_class(tmp_path / "resumed")
    env = dict(os.environ, PATH=str(Path(sys.executable).parent) + os.pathsep
               + os.environ["PATH"])
    command = [sys.executable, "-m", "course.cli", "autograde", ID, "--workers", "2",
               "--cell-timeout", "10", "--timeout", "120"]
    process = subprocess.Popen(command, cwd=resumed, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    states = resumed / batch.STATE_DIR / ID
    deadline = time.monotonic() + 600
    while len(list(states.glob("*.json"))) < 2 and time.monotonic() < deadline:
        assert process.poll() is None, "finished before it could be killed"
        time.sleep(0.2)
    process.send_signal(signal.SIGKILL)
    process.wait()
    done_before = {p.stem for p in states.glob("*.json")}
    assert 2 <= len(done_before) < len(class_submissions())

    run = course("autograde", ID, "--workers", "2", "--cell-timeout", "10", "--timeout", "120",
                 cwd=resumed)
    assert run.returncode == 0, run.stdout + run.stderr
    graded_now = {line.split()[2] for line in run.stdout.splitlines() if line.startswith("[")}
    assert graded_now == set(class_submissions()) - done_before  # only what was missing
    assert "skipped (up to date)" in run.stdout and "Slowest submissions" in run.stdout
    assert _dump(resumed) == _dump(base)
    for student in class_submissions():
        assert _graded_cells(resumed, student) == _graded_cells(base, student), student
    leftovers = [p for p in (resumed / "autograded").rglob(".*") if p.name != ".grading"]
    assert not leftovers, leftovers  # no half-written folders


def test_changed_submission_is_regraded_and_force_regrades(tmp_path):
    base = make_toy_course(tmp_path / "toy")
    release = notebooks.read(base / "source" / "00_doble" / "00_doble.ipynb")
    answers = {"ana": "def doble(x):\n    return 2 * x", "eva": "def doble(x):\n    return x"}
    for student, answer in answers.items():
        nb = notebooks.replace_answers(release, {"ej1_doble": answer})
        notebooks.write(nb, notebook_path(base, "submitted", "00_doble", student))
    first = batch.autograde(base, "00_doble", workers=2)
    assert sorted(o.student for o in first.outcomes) == ["ana", "eva"]
    again = batch.autograde(base, "00_doble", workers=2)
    assert not again.outcomes and sorted(again.skipped) == ["ana", "eva"]
    fixed = notebooks.replace_answers(release, {"ej1_doble": "def doble(x):\n    return x + x"})
    notebooks.write(fixed, notebook_path(base, "submitted", "00_doble", "eva"))
    later = batch.autograde(base, "00_doble", workers=2)
    assert [(o.student, o.score) for o in later.outcomes] == [("eva", 3.0)]
    forced = batch.autograde(base, "00_doble", workers=2, force=True)
    assert sorted(o.student for o in forced.outcomes) == ["ana", "eva"]


def test_notebook_deadline_scores_zero_for_the_cells_that_did_not_run(tmp_path):
    base = make_toy_course(tmp_path / "toy")
    release = notebooks.read(base / "source" / "00_doble" / "00_doble.ipynb")
    slow = notebooks.replace_answers(release, {
        "ej1_doble": "def doble(x):\n    return 2 * x\n"
                     "if 'NBGRADER_EXECUTION' in __import__('os').environ:\n"
                     "    __import__('time').sleep(1000)"})
    notebooks.write(slow, notebook_path(base, "submitted", "00_doble", "lento"))
    started = time.monotonic()
    summary = batch.autograde(base, "00_doble", notebook_timeout=8, cell_timeout=300)
    assert time.monotonic() - started < 120
    (outcome,) = summary.outcomes
    assert outcome.status == "graded" and outcome.score == 0
    assert "timeout" in outcome.explanation()
    graded = notebooks.read(notebook_path(base, "autograded", "00_doble", "lento"))
    enames = {o.ename for c in graded.cells for o in c.get("outputs", [])
              if o.get("output_type") == "error"}
    assert "CeldaNoEjecutada" in enames


def test_a_grader_killed_for_overrunning_is_replaced(tmp_path, monkeypatch):
    """Graders are long-lived: one killed mid-submission must not take the next with it."""
    base = make_toy_course(tmp_path / "toy")
    release = notebooks.read(base / "source" / "00_doble" / "00_doble.ipynb")
    right = notebooks.replace_answers(release, {"ej1_doble": "def doble(x):\n    return 2 * x"})
    # A sleep the notebook deadline cannot interrupt: the grader itself overruns.
    stuck = notebooks.replace_answers(release, {
        "ej1_doble": "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                     "if 'NBGRADER_EXECUTION' in __import__('os').environ:\n"
                     "    time.sleep(1000)"})
    for student, nb in [("ana", right), ("lento", stuck), ("zoe", right)]:
        notebooks.write(nb, notebook_path(base, "submitted", "00_doble", student))
    monkeypatch.setattr(batch, "GRACE_SECONDS", 0)
    summary = batch.autograde(base, "00_doble", workers=1, notebook_timeout=15, cell_timeout=300)
    by_student = {o.student: o for o in summary.outcomes}
    lento = by_student["lento"]
    assert lento.status == "graded" and lento.score == 0
    assert "killed after 15 s" in lento.explanation(), lento.explanation()
    assert by_student["ana"].score == by_student["zoe"].score == 3
    assert not batch._idle_graders  # the batch ended its graders


def test_autograde_all_and_bad_arguments(tmp_path):
    base = make_toy_course(tmp_path / "toy")
    run = course("autograde", cwd=base)
    assert run.returncode == 2 and "--all" in run.stderr
    run = course("autograde", "--all", cwd=base)
    assert run.returncode == 2 and "no submissions" in run.stderr
    release = notebooks.read(base / "source" / "00_doble" / "00_doble.ipynb")
    notebooks.write(release, notebook_path(base, "submitted", "00_doble", "ana"))
    run = course("autograde", "--all", cwd=base)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "ana  00_doble  3/3" in run.stdout  # the source itself: every answer right
    run = course("autograde", "00_doble", "--students", "nadie", cwd=base)
    assert run.returncode == 2 and "nadie" in run.stderr and "Traceback" not in run.stderr
