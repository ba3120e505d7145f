"""`make lab`: JupyterLab 4 with nbgrader for this course, on 127.0.0.1.

Uses the Jupyter configuration in ../jupyter (never the user's ~/.jupyter), makes sure the
gradebook knows every assignment (Formgrader lists them with their maximum scores) and that
the exchange folder exists, prints the URL with its token, then runs the server.

    python tools/lab.py [--port 8888] [--prepare-only]
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import socket
import stat
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG_DIR = ROOT / "jupyter"
EXCHANGE = CONFIG_DIR / "exchange"


def lab_env() -> dict[str, str]:
    """This process's environment plus the course's Jupyter config and the venv's bin."""
    env = dict(os.environ)
    env["JUPYTER_CONFIG_DIR"] = str(CONFIG_DIR)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return env


def source_max_score(assignment: str) -> float:
    """Points of every graded cell of the instructor notebook (what Formgrader shows)."""
    from course import notebooks
    from course.coursedir import notebook_path

    nb = notebooks.read(notebook_path(ROOT, "source", assignment))
    return sum(float(notebooks.nbgrader_meta(c).get("points", 0)) for c in nb.cells
               if notebooks.is_grade(c))


def ensure_gradebook() -> list[str]:
    """Record in the gradebook each assignment that is missing or whose points changed.

    nbgrader's generate_assignment does that; its student version goes to a throwaway folder,
    so the committed release/ is never touched (`course release` is how that is updated)."""
    from nbgrader.api import Gradebook, MissingEntry
    from nbgrader.apps import NbGraderAPI
    from nbgrader.apps.baseapp import NbGrader

    from course.coursedir import CourseError, assignment_ids

    app = NbGrader()
    app.load_config_file()
    config = app.config
    stale = []
    with Gradebook(config.CourseDirectory.db_url) as gradebook:
        for assignment in assignment_ids(ROOT):
            try:
                recorded = gradebook.find_assignment(assignment).max_score
            except MissingEntry:
                recorded = None
            if recorded != source_max_score(assignment):
                stale.append(assignment)
    if not stale:
        return []
    scratch = Path(tempfile.mkdtemp(prefix="lab-release-"))
    try:
        config.CourseDirectory.release_directory = str(scratch)
        api = NbGraderAPI(config=config)
        for assignment in stale:
            result = api.generate_assignment(assignment, force=True, create=True)
            if not result["success"]:
                tail = "\n".join(result["log"].strip().splitlines()[-10:])
                raise CourseError(f"nbgrader could not record {assignment}:\n{tail}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return stale


def ensure_exchange() -> None:
    # Writable by everyone, as nbgrader creates its own exchange root.
    EXCHANGE.mkdir(parents=True, exist_ok=True)
    EXCHANGE.chmod(stat.S_IRWXU | stat.S_IRWXG | stat.S_IRWXO)


def free_port(start: int) -> int:
    for port in range(start, start + 50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise SystemExit(f"error: no free port on 127.0.0.1 between {start} and {start + 49}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8888, help="first port to try (8888)")
    parser.add_argument("--prepare-only", action="store_true",
                        help="prepare the gradebook and the exchange, do not start the server")
    args = parser.parse_args(argv)

    os.chdir(ROOT)  # nbgrader reads the course's nbgrader_config.py from the cwd
    os.environ.update(lab_env())  # nbgrader's config also comes from jupyter/
    from course.coursedir import CourseError

    try:
        added = ensure_gradebook()
    except CourseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if added:
        print(f"Gradebook: recorded {', '.join(added)}")
    ensure_exchange()
    if args.prepare_only:
        return 0

    port = free_port(args.port)
    token = os.environ.get("JUPYTER_TOKEN") or secrets.token_hex(24)
    env = lab_env()
    env["JUPYTER_TOKEN"] = token
    url = f"http://127.0.0.1:{port}/lab?token={token}"
    print(f"\nJupyterLab for the course: {url}\n"
          f"(Nbgrader menu: Formgrader, Assignment List; Validate is on each notebook's "
          f"toolbar. Stop it with Ctrl+C.)\n", flush=True)
    command = [sys.executable, "-m", "jupyter", "lab", f"--port={port}",
               "--ServerApp.port_retries=0"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # containers and CI machines often run as root
    os.execvpe(command[0], command, env)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
