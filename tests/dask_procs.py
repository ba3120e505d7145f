"""A Dask cluster of real processes on 127.0.0.1: `dask scheduler` and N `dask worker`s, started
with Dask's own command line exactly as an instructor would on several machines (one thread per
worker: every task is a whole nbgrader + kernel). Used by the tests and the benchmark."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

DASK = str(Path(sys.executable).parent / "dask")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.pop("COURSE_DB_URL", None)  # workers grade in scratch gradebooks; nothing else
    return env


class DaskProcesses:
    def __init__(self, folder: Path, workers: int = 2, worker_command: list[str] | None = None):
        self.folder = Path(folder)
        self.count = workers
        self.worker_command = worker_command or [DASK, "worker"]
        self.address = ""
        self.scheduler: subprocess.Popen | None = None
        self.workers: dict[str, subprocess.Popen] = {}

    def __enter__(self) -> DaskProcesses:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self, timeout: float = 90) -> DaskProcesses:
        self.folder.mkdir(parents=True, exist_ok=True)
        info = self.folder / "scheduler.json"
        self.scheduler = self._spawn("scheduler", [DASK, "scheduler", "--host", "127.0.0.1",
                                                   "--port", "0", "--no-dashboard",
                                                   "--scheduler-file", str(info)])
        deadline = time.monotonic() + timeout
        while not self.address:
            if self.scheduler.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"dask scheduler did not start: {self.log('scheduler')}")
            try:
                self.address = json.loads(info.read_text())["address"]
            except (OSError, ValueError, KeyError):
                time.sleep(0.2)
        for i in range(1, self.count + 1):
            self.add_worker(f"w{i}")
        if self.count:
            self.wait_for_workers(self.count, deadline - time.monotonic())
        return self

    def add_worker(self, name: str) -> subprocess.Popen:
        # --no-nanny: the process is the worker, so killing it loses the worker for good.
        self.workers[name] = self._spawn(name, [
            *self.worker_command, self.address, "--nthreads", "1", "--no-nanny",
            "--name", name, "--host", "127.0.0.1", "--no-dashboard",
            "--local-directory", str(self.folder / name)])
        return self.workers[name]

    def wait_for_workers(self, n: int, timeout: float) -> None:
        from distributed import Client

        with Client(self.address, timeout=30, set_as_default=False) as client:
            client.wait_for_workers(n, timeout=max(timeout, 1))

    def kill(self, name: str) -> int:
        """SIGKILL one worker, as a crashed machine would vanish; returns its exit status."""
        process = self.workers[name]
        os.kill(process.pid, signal.SIGKILL)
        return process.wait(timeout=30)

    def stop(self) -> None:
        # Workers first: one whose scheduler is gone waits for it before exiting.
        self._end(list(self.workers.values()))
        self._end([self.scheduler] if self.scheduler else [])

    @staticmethod
    def _end(processes: list[subprocess.Popen]) -> None:
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def log(self, name: str) -> str:
        path = self.folder / f"{name}.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def _spawn(self, name: str, command: list[str]) -> subprocess.Popen:
        with open(self.folder / f"{name}.log", "wb") as log:
            return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, env=_env(), cwd=self.folder)
