"""`course autograde --scheduler`: a class graded on a Dask cluster of real processes (`dask
scheduler` and two `dask worker`s on 127.0.0.1) into a gradebook on a real PostgreSQL server,
with one worker killed while it grades, gives the same gradebook as the class graded locally
into SQLite (conftest's `graded`, shared with the assignment tests)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from dask_procs import DaskProcesses

from course import cli, gradebook
from course.batch import STATE_DIR
from course.coursedir import scratch_course

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "01_neurona"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with DaskProcesses(tmp_path_factory.mktemp("dask"), workers=2) as procs:
        yield procs


def course_process(*args: str) -> subprocess.Popen:
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env["PATH"]
    env.pop("COURSE_DB_URL", None)
    return subprocess.Popen([sys.executable, "-m", "course.cli", *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def kill_while_grading(cluster: DaskProcesses, name: str, course: Path, total: int,
                       grading: subprocess.Popen) -> tuple[int, int]:
    """Once half the class is recorded, SIGKILL worker `name` while it runs a task; returns
    (its exit status, how many tasks it held)."""
    from distributed import Client

    states = course / STATE_DIR / ASSIGNMENT
    with Client(cluster.address, timeout=30, set_as_default=False) as client:
        address = next(a for a, w in client.scheduler_info()["workers"].items()
                       if w["name"] == name)
        while True:
            if grading.poll() is not None:
                pytest.fail(f"the class was graded before {name} could be killed:\n"
                            f"{grading.stdout.read()}")
            held = client.processing(workers=[address]).get(address, [])
            if held and len(list(states.glob("*.json"))) >= total // 2:
                time.sleep(1)  # well into its nbgrader run
                held = client.processing(workers=[address]).get(address, [])
                if held:
                    return cluster.kill(name), len(held)
            time.sleep(0.2)


def test_cluster_with_a_dead_worker_grades_like_local(graded, cluster, postgres, tmp_path):
    local = graded(ASSIGNMENT).course
    course = scratch_course(ROOT, tmp_path / "course", [ASSIGNMENT])
    shutil.copytree(local / "submitted", course / "submitted")
    students = sorted(p.name for p in (course / "submitted").iterdir())
    url = postgres.create_database("dask_class")

    grading = course_process("--root", str(course), "--db", url, "autograde", ASSIGNMENT,
                             "--scheduler", cluster.address)
    try:
        status, held = kill_while_grading(cluster, "w1", course, len(students), grading)
        output, _ = grading.communicate(timeout=600)
    finally:
        if grading.poll() is None:
            grading.kill()
    assert status == -signal.SIGKILL and held >= 1
    assert grading.returncode == 0, output
    assert "Traceback" not in output
    assert "graded on:" in output

    # What the killed worker was grading ran again on the other one: nothing is missing.
    assert gradebook.dump(url, full=True) == gradebook.dump(
        f"sqlite:///{local / 'gradebook.db'}", full=True)
    for student in students:
        assert (course / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").is_file()
        assert (course / STATE_DIR / ASSIGNMENT / f"{student}.json").is_file()
    assert sorted(p.relative_to(course).as_posix() for p in (course / "autograded").rglob("*")
                  ) == sorted(p.relative_to(local).as_posix()
                              for p in (local / "autograded").rglob("*"))
    assert not (course / "gradebook.db").exists(), "--db put the gradebook on PostgreSQL"


# A worker started from an environment where the course package does not import.
WITHOUT_COURSE = [sys.executable, "-c", "import sys; sys.modules['course'] = None; "
                  "from distributed.cli.dask_worker import main; main()"]


def test_a_worker_without_the_course_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("COURSE_DB_URL", raising=False)
    course = scratch_course(ROOT, tmp_path / "course", [ASSIGNMENT])
    with DaskProcesses(tmp_path / "dask", workers=0, worker_command=WITHOUT_COURSE) as procs:
        procs.add_worker("bare")
        procs.wait_for_workers(1, timeout=60)
        code = cli.main(["--root", str(course), "autograde", ASSIGNMENT,
                         "--scheduler", procs.address])
    err = capsys.readouterr().err
    assert code == 2
    assert "lacks the course environment" in err and "cannot import course" in err, err
    assert len(err.strip().splitlines()) == 1
    assert not (course / "autograded").exists()


def test_an_unreachable_scheduler_is_one_line(tmp_path, capsys):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    course = scratch_course(ROOT, tmp_path / "course", [ASSIGNMENT])
    code = cli.main(["--root", str(course), "autograde", ASSIGNMENT,
                     "--scheduler", f"tcp://127.0.0.1:{port}"])
    err = capsys.readouterr().err
    assert code == 2 and "cannot reach the Dask scheduler" in err
    assert len(err.strip().splitlines()) == 1
