"""A private PostgreSQL server for the tests, or for trying the course's gradebook on PostgreSQL.

Debian's `postgresql` package (installed with apt-get when missing: root, or sudo without a
password), a fresh cluster in a temporary folder, listening on 127.0.0.1 at a free port, with a
random password. Nothing of the system's own PostgreSQL service is used or changed.

    python tests/pg.py start [DB]    # prints the folder and the URL; the server keeps running
    python tests/pg.py stop FOLDER   # stops it and deletes the folder
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

PG_LIB = Path("/usr/lib/postgresql")
SUPERUSER = "course"
# initdb and the server refuse to run as root: they run as the package's own system user.
SERVICE_USER = "postgres"


class Unavailable(RuntimeError):
    """PostgreSQL cannot be installed or started on this machine."""


def bindir() -> Path | None:
    """The newest installed server's bin folder (Debian keeps one per major version)."""
    found = sorted((p for p in PG_LIB.glob("*/bin") if (p / "initdb").exists()),
                   key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    return found[-1] if found else None


def ensure_installed() -> Path:
    found = bindir()
    if found:
        return found
    if shutil.which("apt-get") is None:
        raise Unavailable("PostgreSQL is not installed and this is no Debian/Ubuntu machine "
                          "(no apt-get): install the PostgreSQL server yourself")
    if os.geteuid() == 0:
        prefix = []
    elif shutil.which("sudo"):
        prefix = ["sudo", "-n"]
    else:
        raise Unavailable("PostgreSQL is not installed: run `apt-get install postgresql` as root")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = [*prefix, "apt-get", "install", "-y", "-q", "--no-install-recommends",
               "postgresql"]
    if subprocess.run(install, env=env, capture_output=True).returncode != 0:
        # A fresh machine has no package lists yet.
        subprocess.run([*prefix, "apt-get", "update", "-q"], env=env, capture_output=True)
        run = subprocess.run(install, env=env, capture_output=True, text=True)
        if run.returncode != 0:
            tail = (run.stderr or run.stdout).strip().splitlines()[-1:] or ["?"]
            raise Unavailable(f"`apt-get install postgresql` failed: {tail[0]}")
    found = bindir()
    if not found:
        raise Unavailable(f"postgresql was installed but no initdb is under {PG_LIB}")
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """One cluster: `start()` (or `attach(folder)`), `create_database(name)`, `stop()`."""

    def __init__(self, folder: Path | None = None):
        self.folder = folder
        self.port = 0
        self.password = ""
        self.bin = bindir()

    # ----------------------------------------------------------------- life cycle

    def start(self) -> Server:
        self.bin = ensure_installed()
        # Under /tmp itself: the service user must reach it (pytest's folders are private).
        self.folder = Path(tempfile.mkdtemp(prefix="course-pg-"))
        self.password = secrets.token_hex(12)
        (self.folder / "password").write_text(self.password + "\n")
        self._own(self.folder)
        self._as_owner("initdb", "-D", str(self.folder / "data"), "-U", SUPERUSER,
                       "--auth=scram-sha-256", f"--pwfile={self.folder / 'password'}",
                       "-E", "UTF8", "--no-locale")
        for _ in range(5):  # another process may take the free port before the server does
            self.port = free_port()
            options = f"-h 127.0.0.1 -p {self.port} -k {self.folder}"
            started = self._as_owner("pg_ctl", "-D", str(self.folder / "data"), "-l",
                                     str(self.folder / "server.log"), "-w", "-t", "60",
                                     "-o", options, "start", check=False)
            if started.returncode == 0:
                break
        else:
            log = (self.folder / "server.log").read_text(errors="replace").strip()
            self.stop()
            raise Unavailable(f"PostgreSQL did not start: {log.splitlines()[-1:]}")
        (self.folder / "server.json").write_text(json.dumps(
            {"port": self.port, "password": self.password}))
        return self

    @classmethod
    def attach(cls, folder: Path) -> Server:
        server = cls(Path(folder))
        state = json.loads((server.folder / "server.json").read_text())
        server.port, server.password = state["port"], state["password"]
        return server

    def stop(self) -> None:
        if self.folder is None:
            return
        if (self.folder / "data" / "postmaster.pid").exists():
            self._as_owner("pg_ctl", "-D", str(self.folder / "data"), "-m", "fast", "-w",
                           "stop", check=False)
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder = None

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ----------------------------------------------------------------- databases

    def url(self, database: str) -> str:
        # psycopg 3, named explicitly: plain postgresql:// means psycopg2 before SQLAlchemy 2.1.
        return (f"postgresql+psycopg://{SUPERUSER}:{self.password}@127.0.0.1:{self.port}"
                f"/{database}")

    def create_database(self, name: str) -> str:
        """A new empty database; returns its URL."""
        env = dict(os.environ, PGPASSWORD=self.password)
        run = subprocess.run([str(self.bin / "createdb"), "-h", "127.0.0.1", "-p",
                              str(self.port), "-U", SUPERUSER, name],
                             env=env, capture_output=True, text=True)
        if run.returncode != 0:
            raise Unavailable(f"createdb {name} failed: {run.stderr.strip()}")
        return self.url(name)

    # ----------------------------------------------------------------- helpers

    @staticmethod
    def _running_as_root() -> bool:
        return os.geteuid() == 0

    def _own(self, folder: Path) -> None:
        if self._running_as_root():
            user = pwd.getpwnam(SERVICE_USER)
            for path in (folder, *folder.rglob("*")):
                os.chown(path, user.pw_uid, user.pw_gid)

    def _as_owner(self, tool: str, *args: str, check: bool = True
                  ) -> subprocess.CompletedProcess:
        command = [str(self.bin / tool), *args]
        if self._running_as_root():
            command = ["runuser", "-u", SERVICE_USER, "--", *command]
        # The server outlives this call: its output goes to the log file, not to our pipes.
        run = subprocess.run(command, cwd=self.folder, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if check and run.returncode != 0:
            tail = run.stdout.strip().splitlines()[-3:]
            raise Unavailable(f"{tool} failed: {' / '.join(tail)}")
        return run


def main(argv: list[str]) -> int:
    if argv[:1] == ["start"] and len(argv) <= 2:
        server = Server().start()
        url = server.create_database(argv[1] if len(argv) == 2 else "gradebook")
        print(f"PostgreSQL running in {server.folder}")
        print(f"export COURSE_DB_URL='{url}'")
        print(f"stop it with: python tests/pg.py stop {server.folder}")
        return 0
    if argv[:1] == ["stop"] and len(argv) == 2:
        Server.attach(Path(argv[1])).stop()
        return 0
    print(__doc__.split("\n\n")[-1], file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
