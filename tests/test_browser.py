"""The course in a real browser: `make lab`'s JupyterLab + nbgrader, driven by Playwright on
Debian's Chromium (headless, 127.0.0.1). Screenshots go to build/screenshots/.

The server runs in a scratch copy of the course (its own gradebook and exchange), started by
tools/lab.py exactly as `make lab` starts it.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from course import notebooks
from course.coursedir import notebook_path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
SHOTS = ROOT / "build" / "screenshots"
ASSIGNMENT = "01_neurona"  # NumPy only: its kernel starts and validates in seconds
EXERCISE = "ej1_activaciones"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
URL_LINE = re.compile(r"JupyterLab for the course: (http://127\.0\.0\.1:(\d+)/lab\?token=(\w+))")


def _copy_course(target: Path) -> Path:
    """What `make lab` needs from a clone: the course config, source/, release/, the Jupyter
    config (not this machine's exchange or workspaces) and the launcher."""
    target.mkdir(parents=True)
    shutil.copy2(ROOT / "nbgrader_config.py", target)
    for folder in ("source", "release"):
        shutil.copytree(ROOT / folder, target / folder,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    shutil.copytree(ROOT / "jupyter", target / "jupyter",
                    ignore=shutil.ignore_patterns("exchange", "lab", "__pycache__"))
    (target / "tools").mkdir()
    shutil.copy2(ROOT / "tools" / "lab.py", target / "tools")
    return target


def _wait_for_url(log: Path, proc: subprocess.Popen, timeout: float) -> re.Match:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = URL_LINE.search(log.read_text(errors="replace"))
        if found:
            return found
        if proc.poll() is not None:
            break
        time.sleep(0.5)
    pytest.fail(f"tools/lab.py printed no URL:\n{log.read_text(errors='replace')[-3000:]}")


def _wait_until_serving(base: str, token: str, proc: subprocess.Popen, log: Path,
                        timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5):
                return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"JupyterLab did not start:\n{log.read_text(errors='replace')[-3000:]}")


class Lab:
    def __init__(self, course: Path, url: str, port: int, token: str):
        self.course, self.url, self.token = course, url, token
        self.base = f"http://127.0.0.1:{port}"

    def lab_url(self, workspace: str, path: str = "") -> str:
        # A workspace of its own per page: nothing an earlier test left open comes back.
        return f"{self.base}/lab/workspaces/{workspace}{path}?token={self.token}"


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    course = _copy_course(tmp_path_factory.mktemp("lab") / "course")
    env = dict(os.environ)
    env.update(COURSE_DB_URL=f"sqlite:///{course / 'gradebook.db'}",
               JUPYTER_TOKEN=secrets.token_hex(16),
               JUPYTER_RUNTIME_DIR=str(course.parent / "runtime"))
    log = course.parent / "lab.log"
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, str(course / "tools" / "lab.py"),
                                 "--port", "18888"], cwd=course, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        found = _wait_for_url(log, proc, timeout=240)
        url, port, token = found.group(1), int(found.group(2)), found.group(3)
        assert token == env["JUPYTER_TOKEN"]
        _wait_until_serving(f"http://127.0.0.1:{port}", token, proc, log, timeout=120)
        # The instructor releases the assignment to the exchange (Formgrader's "Release").
        release = subprocess.run(
            [sys.executable, "-m", "nbgrader", "release_assignment", ASSIGNMENT],
            cwd=course, env={**env, "JUPYTER_CONFIG_DIR": str(course / "jupyter"),
                             "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"},
            capture_output=True, text=True)
        assert release.returncode == 0, release.stdout + release.stderr
        yield Lab(course, url, port, token)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium is not installed at {CHROMIUM}: run `bash tools/install-browser.sh`"
                    f" (or `make browser`)")
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=str(CHROMIUM),
            headless=True, args=CHROMIUM_ARGS, viewport={"width": 1400, "height": 900})
        yield context
        context.close()


@pytest.fixture
def page(browser, request):
    page = browser.new_page()
    page.set_default_timeout(60_000)
    yield page
    # The screenshot is the test's artifact, failed or not.
    page.screenshot(path=str(SHOTS / f"{request.node.name}-last.png"))
    page.close()


def _open_lab(page, lab: Lab, workspace: str, path: str = "") -> None:
    page.goto(lab.lab_url(workspace, path))
    page.wait_for_selector("#jp-main-dock-panel")


def _nbgrader_menu(page, item: str) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").click()
    page.locator(".lm-Menu-itemLabel").get_by_text(item, exact=True).click()


def _notebook_cells(page, nb) -> object:
    cells = page.locator(".jp-NotebookPanel:visible .jp-Notebook .jp-Cell")
    deadline = time.monotonic() + 60
    while cells.count() != len(nb.cells) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert cells.count() == len(nb.cells), "the notebook did not open completely"
    return cells


def _validate(page, name: str):
    """Click the notebook's Validate button; the result dialog's message element."""
    from playwright.sync_api import expect

    page.get_by_role("button", name="Validate").click()
    message = page.locator(".jp-Dialog #validation-message")
    expect(message).to_have_class(re.compile(r"validation-"), timeout=180_000)
    page.screenshot(path=str(SHOTS / name))
    return message


def _source(assignment: str):
    return notebooks.read(notebook_path(ROOT, "source", assignment))


def _max_score(nb) -> float:
    return sum(float(notebooks.nbgrader_meta(c).get("points", 0)) for c in nb.cells
               if notebooks.is_grade(c))


def _number(value: float) -> str:
    return f"{value:g}"


def test_lab_prints_its_url_and_listens_on_127_0_0_1_only(lab):
    assert lab.url.startswith("http://127.0.0.1:") and "token=" in lab.url
    port = int(lab.base.rsplit(":", 1)[1])
    socket.create_connection(("127.0.0.1", port), timeout=5).close()
    with pytest.raises(OSError):  # another loopback address: not bound
        socket.create_connection(("127.0.1.1", port), timeout=5).close()


# --- 1. the instructor ---------------------------------------------------------------------

def test_formgrader_lists_every_assignment_with_its_max_score(lab, page):
    from playwright.sync_api import expect

    _open_lab(page, lab, "formgrader")
    _nbgrader_menu(page, "Formgrader")
    formgrader = page.frame_locator("#formgrader-iframe iframe")
    formgrader.get_by_role("link", name="Manual Grading").click()
    expected = {a.name: f"0 / {_number(_max_score(_source(a.name)))}"
                for a in sorted((ROOT / "source").iterdir()) if a.is_dir()}
    assert len(expected) == 7
    rows = formgrader.locator("table tbody tr", has=page.locator("a"))
    expect(rows).to_have_count(len(expected))

    def shown() -> dict[str, str]:
        # The table is redrawn while it loads: read it whole until it settles.
        table = {}
        for row in formgrader.locator("table tbody tr").all_inner_texts():
            cells = [c.strip() for c in row.split("\t")]
            table[cells[0]] = cells[-1]
        return table

    deadline = time.monotonic() + 30
    while shown() != expected and time.monotonic() < deadline:
        time.sleep(0.5)
    page.screenshot(path=str(SHOTS / "1-formgrader-assignments.png"))
    assert shown() == expected


# --- 2. the student ------------------------------------------------------------------------

def test_student_fetches_solves_an_exercise_and_its_visible_check_passes(lab, page):
    from playwright.sync_api import expect

    _open_lab(page, lab, "student")
    _nbgrader_menu(page, "Assignment List")
    page.get_by_role("button", name="Fetch").click()
    page.locator("a.assignment-notebooks-link", has_text=ASSIGNMENT).click()
    page.screenshot(path=str(SHOTS / "2-assignment-list-fetched.png"))
    page.locator(f"#nbgrader-redes-neuronales-{ASSIGNMENT} a", has_text=ASSIGNMENT).click()

    released = notebooks.read(notebook_path(lab.course, "release", ASSIGNMENT))
    where = {notebooks.grade_id(c): i for i, c in enumerate(released.cells)}
    cells = _notebook_cells(page, released)
    page.wait_for_selector(".jp-NotebookPanel:visible .jp-Notebook-ExecutionIndicator"
                           "[data-status='idle']")

    def run(gid: str) -> None:
        cell = cells.nth(where[gid])
        cell.scroll_into_view_if_needed()
        cell.locator(".jp-InputPrompt").click()
        page.keyboard.press("Shift+Enter")

    answer = notebooks.remove_marker_lines(
        notebooks.cells_by_grade_id(_source(ASSIGNMENT))[EXERCISE].source)
    run("setup")
    editor = cells.nth(where[EXERCISE]).locator(".cm-content")
    editor.scroll_into_view_if_needed()
    editor.click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(answer)  # as pasted: no auto-indent
    run(EXERCISE)
    visible = f"{EXERCISE}_visible"
    run(visible)
    output = cells.nth(where[visible]).locator(".jp-OutputArea")
    expect(output).to_contain_text("✓ Ejercicio 1: pruebas visibles superadas.", timeout=60_000)
    expect(output.locator("[data-mime-type='application/vnd.jupyter.stderr']")).to_have_count(0)
    output.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "2-student-visible-check-passes.png"))
    page.keyboard.press("Control+s")
    saved = lab.course / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if notebooks.cells_by_grade_id(notebooks.read(saved))[EXERCISE].source == answer:
            break
        time.sleep(0.5)
    assert notebooks.cells_by_grade_id(notebooks.read(saved))[EXERCISE].source == answer


# --- 3. Validate ---------------------------------------------------------------------------

def test_validate_lists_the_unfinished_exercises_then_passes_the_finished_notebook(lab, page):
    released = notebooks.read(notebook_path(lab.course, "release", ASSIGNMENT))
    source = _source(ASSIGNMENT)
    answers = {gid: notebooks.remove_marker_lines(cell.source)
               for gid, cell in notebooks.cells_by_grade_id(source).items()
               if notebooks.is_solution(cell) and cell.cell_type == "code"}
    folder = lab.course / "validacion"
    partial = notebooks.replace_answers(released, {EXERCISE: answers[EXERCISE]})
    notebooks.write(partial, folder / "parcial.ipynb")
    notebooks.write(notebooks.solved_copy(released, source), folder / "completo.ipynb")

    # Only exercise 1 done: every graded cell of the other exercises (and the unanswered
    # reflection) is reported, and none of exercise 1.
    _open_lab(page, lab, "parcial", "/tree/validacion/parcial.ipynb")
    _notebook_cells(page, partial)
    message = _validate(page, "3-validate-unfinished.png")
    assert "validation-failed" in message.get_attribute("class")
    sources = message.locator("pre").all_inner_texts()[0::2]  # source, error, source, ...
    expected = [c.source for c in partial.cells if notebooks.is_grade(c)
                and notebooks.exercise_of(notebooks.grade_id(c)) != "ej1"]
    assert expected and [s.strip() for s in sources] == [e.strip() for e in expected]
    page.locator(".jp-Dialog").get_by_role("button", name="Ok", exact=True).click()

    # Every exercise done: nbgrader's success message (no failed and no changed cell).
    _open_lab(page, lab, "completo", "/tree/validacion/completo.ipynb")
    _notebook_cells(page, released)
    message = _validate(page, "3-validate-success.png")
    assert "validation-success" in message.get_attribute("class")
    assert message.inner_text().strip() == "Success! Your notebook passes all the tests."
