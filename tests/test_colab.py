"""Google Colab: the badge and the install line come from one place, the data from the course's
release, and every student notebook runs in a Colab-like environment up to its first check.

The Colab-like environment is a fresh virtual environment holding only what Colab preinstalls
(linked from this project's .venv, so TensorFlow is not downloaded on every run), a fake
`google.colab` imported at start-up like Colab's, and the setup cell's install pointed at a
copy of this checkout. The rest (lime, the build tools) comes from PyPI as it would in Colab.
"""

from __future__ import annotations

import ast
import importlib.metadata as metadata
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from nbgrader.utils import compute_checksum
from packaging.markers import default_environment
from packaging.requirements import Requirement

from course import colab, notebooks
from course.coursedir import assignment_ids, notebook_path
from course.data import DatasetIntegrityError, DatasetUnavailableError, load_storm
from course.data.registry import get_spec
from course.release import for_colab

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENTS = assignment_ids(ROOT)
_SIBLING_MIRROR = ROOT.parent / "shared" / "data"
MIRROR = _SIBLING_MIRROR if _SIBLING_MIRROR.is_dir() else Path(
    os.environ.get("COURSE_DATA_DIR", "") or "/nonexistent")

# What Colab preinstalls that the course uses (its runtime's `pip freeze`, published in
# github.com/googlecolab/backend-info): the scientific stack with TensorFlow and Keras 3,
# XGBoost, LightGBM, SHAP, mlxtend, pooch, scikit-image, and the kernel. Not lime.
COLAB_PREINSTALLED = (
    "numpy", "pandas", "matplotlib", "seaborn", "scikit-learn", "scipy", "tensorflow", "keras",
    "xgboost", "lightgbm", "shap", "mlxtend", "pooch", "scikit-image", "requests", "packaging",
    "tqdm", "ipykernel", "ipywidgets", "pip", "setuptools", "wheel",
)
BUILD_TOOLS = {"pip", "setuptools", "wheel"}  # pip may build the course with newer ones


def _release(assignment: str):
    return notebooks.read(notebook_path(ROOT, "release", assignment))


def _setup_cell(nb):
    return notebooks.cells_by_grade_id(nb)["setup"]


def _colab_block(source: str) -> ast.If:
    """The `if "google.colab" in sys.modules:` statement of a setup cell."""
    for node in ast.parse(source).body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "'google.colab' in sys.modules":
            return node
    raise AssertionError("the setup cell has no `if \"google.colab\" in sys.modules:` block")


# --- One place names the repository ----------------------------------------------------------

def test_urls_derive_from_the_repository(monkeypatch):
    monkeypatch.setattr(colab, "REPOSITORY", "https://github.com/otra-universidad/redes")
    assert colab.colab_url("02_backprop") == (
        "https://colab.research.google.com/github/otra-universidad/redes/blob/main/"
        "release/02_backprop/02_backprop.ipynb")
    assert colab.install_requirement() == (
        "curso-redes-neuronales @ git+https://github.com/otra-universidad/redes@main")
    assert colab.data_release_url() == (
        "https://github.com/otra-universidad/redes/releases/download/datos")
    monkeypatch.setattr(colab, "REPOSITORY", "https://gitlab.com/a/b")
    with pytest.raises(ValueError, match="github.com"):
        colab.colab_url("01_neurona")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_notebook_has_the_badge_and_installs_only_in_colab(assignment):
    nb = _release(assignment)
    assert nb.cells[0].cell_type == "markdown"
    assert nb.cells[0].source == colab.badge_markdown(assignment)
    assert colab.colab_url(assignment) in nb.cells[0].source
    setup = _setup_cell(nb)
    assert setup.source.count(f'"{colab.install_requirement()}"') == 1
    block = ast.unparse(_colab_block(setup.source))
    assert colab.install_requirement() in block and '"-m", "pip", "install"' in block.replace(
        "'", '"')
    datasets = nb.metadata["course"]["datasets"]
    calls = re.findall(r"prepare_data\((\[.*?\])\)", setup.source)
    if datasets:
        assert [ast.literal_eval(c) for c in calls] == [datasets]
        assert "prepare_data(" in block
    else:
        assert calls == []


def test_a_fork_changes_one_line(monkeypatch):
    """Release generation rewrites the badge and the install line from REPOSITORY, and keeps
    the locked setup cell's checksum right (Validate would report it as changed otherwise)."""
    monkeypatch.setattr(colab, "REPOSITORY", "https://github.com/otra-universidad/redes")
    nb = for_colab(_release("04_lstm_symh"), "04_lstm_symh")
    assert [c.id for c in nb.cells].count(colab.BADGE_CELL_ID) == 1
    assert "github/otra-universidad/redes/blob/main/release/04_lstm_symh/" in nb.cells[0].source
    setup = _setup_cell(nb)
    assert '"curso-redes-neuronales @ git+https://github.com/otra-universidad/redes@main"' in (
        setup.source)
    assert "cursos-ia-es" not in setup.source
    assert setup.metadata["nbgrader"]["checksum"] == compute_checksum(setup)


def test_release_rewrites_the_readme_links_of_a_fork(monkeypatch):
    readme = (ROOT / "README.md").read_text()
    assert colab.rewrite_links(readme) == readme  # in step already: nothing to rewrite
    monkeypatch.setattr(colab, "REPOSITORY", "https://github.com/otra-universidad/redes")
    forked = colab.rewrite_links(readme)
    assert "cursos-ia-es" not in forked
    for assignment in ASSIGNMENTS:
        assert colab.badge_markdown(assignment) in forked
    assert colab.data_release_url() in forked
    assert f"git+{colab.REPOSITORY}@" in forked


def test_readme_links_follow_the_repository():
    readme = (ROOT / "README.md").read_text()
    assert colab.badge_markdown("01_neurona") in readme
    for url in re.findall(r"https://colab\.research\.google\.com/github/[^\s)\]>`]+", readme):
        assert url.startswith(f"https://colab.research.google.com/github/{colab.github_name()}"
                              f"/blob/{colab.BRANCH}/release/"), url
    for url in re.findall(r"git\+https://\S+", readme):
        assert url.startswith(f"git+{colab.REPOSITORY}"), url
    assert colab.data_release_url() in readme


# --- Data from the course's release ----------------------------------------------------------

@pytest.fixture
def data_release(tmp_path, monkeypatch):
    """A real HTTP server on 127.0.0.1 with flat files, like a GitHub release's assets; no
    mirror, an empty cache, no COURSE_DATA_URL."""
    if not (MIRROR / "omni_storms").is_dir():
        pytest.fail(f"the course's data mirror is missing ({MIRROR}): set COURSE_DATA_DIR")
    www = tmp_path / "www"
    www.mkdir()

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(www)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    for name in ("COURSE_DATA_DIR", "COURSE_DATA_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    yield www, f"http://127.0.0.1:{httpd.server_address[1]}", tmp_path / "cache"
    httpd.shutdown()
    httpd.server_close()


def test_prepare_data_downloads_the_storms_from_the_course_release(data_release, capsys):
    www, url, cache = data_release
    for file in get_spec("omni_storms").files:
        shutil.copy(MIRROR / file.relpath, www / file.filename)
    colab.prepare_data(["omni_storms"], release_url=url)
    assert "✓ Datos listos" in capsys.readouterr().out
    cached = sorted(p.relative_to(cache).as_posix() for p in cache.rglob("*.gz"))
    assert len(cached) == 17 and cached[0].startswith("omni_storms/")
    assert load_storm("2003-10-27")["SYM_H"].min() < -400  # the Halloween storm, from cache


def test_prepare_data_says_what_is_missing_and_refuses_a_damaged_file(data_release):
    www, url, _ = data_release
    with pytest.raises(DatasetUnavailableError, match=re.escape(url)):
        colab.prepare_data(["omni_storms"], release_url=url)
    manifest = get_spec("omni_storms").files[0]
    data = (MIRROR / manifest.relpath).read_bytes()
    (www / manifest.filename).write_bytes(data.replace(b"2003", b"2004", 1))
    with pytest.raises(DatasetIntegrityError):
        colab.prepare_data(["omni_storms"], release_url=url)


# --- A Colab-like run of every student notebook -----------------------------------------------

def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _closure(names) -> dict[str, metadata.Distribution]:
    """The given distributions of this environment and everything they need."""
    environment = {**default_environment(), "extra": ""}
    found: dict[str, metadata.Distribution] = {}
    todo = list(names)
    while todo:
        name = _normalise(todo.pop())
        if name in found:
            continue
        dist = metadata.distribution(name)
        found[name] = dist
        for spec in dist.requires or []:
            requirement = Requirement(spec)
            if requirement.marker is None or requirement.marker.evaluate(environment):
                todo.append(requirement.name)
    return found


def _owners() -> dict[tuple[str, ...], set[str]]:
    """Which distributions of this environment have files under each path of site-packages."""
    owners: dict[tuple[str, ...], set[str]] = {}
    for dist in metadata.distributions():
        name = _normalise(dist.metadata["Name"])
        for file in dist.files or []:
            parts = file.parts
            if parts[0] == "..":
                continue  # scripts in bin/
            for depth in range(1, len(parts) + 1):
                owners.setdefault(parts[:depth], set()).add(name)
    return owners


def _link_distributions(chosen: dict[str, metadata.Distribution],
                        owners: dict[tuple[str, ...], set[str]], target: Path) -> None:
    """Symlink into `target` the files of the chosen distributions (and nothing else: a folder
    that other distributions share, like the `google` namespace, is made real)."""
    site = Path(next(iter(chosen.values())).locate_file(""))
    wanted = set(chosen)
    children: dict[tuple[str, ...], set[tuple[str, ...]]] = {}
    for dist in chosen.values():
        for file in dist.files or []:
            parts = file.parts
            if parts[0] != "..":
                for depth in range(1, len(parts) + 1):
                    children.setdefault(parts[:depth - 1], set()).add(parts[:depth])

    def place(parts: tuple[str, ...]) -> None:
        source, dest = site.joinpath(*parts), target.joinpath(*parts)
        if owners[parts] <= wanted and parts != ("google",):
            if source.exists():
                dest.symlink_to(source)
        elif source.is_dir():
            dest.mkdir()
            for child in sorted(children.get(parts, ())):
                place(child)

    for top in sorted(children[()]):
        place(top)


@pytest.fixture(scope="module")
def colab_image(tmp_path_factory):
    """What every Colab-like runtime is made from: the preinstalled distributions, pins of
    them, the environment variables, and the copy of this checkout that the setup cell installs.
    """
    base = tmp_path_factory.mktemp("colab")
    chosen = _closure(COLAB_PREINSTALLED)
    assert "curso-redes-neuronales" not in chosen
    # Pins of everything linked: pip may add packages but never touch these (an upgrade would
    # also write through the links into this project's .venv).
    pins = base / "colab-pins.txt"
    pins.write_text("".join(f"{d.metadata['Name']}=={d.version}\n"
                            for name, d in sorted(chosen.items()) if name not in BUILD_TOOLS))
    package = base / "checkout"
    package.mkdir()
    shutil.copytree(ROOT / "course", package / "course",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, package)
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("PYTHON", "VIRTUAL_ENV", "COURSE_", "NBGRADER", "JUPYTER"))}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if not p.startswith(sys.prefix))
    env.update(PIP_CONSTRAINT=str(pins), PIP_DISABLE_PIP_VERSION_CHECK="1",
               PYTHONNOUSERSITE="1", COURSE_DATA_DIR=str(MIRROR),
               COURSE_CACHE_DIR=str(base / "cache"), MPLBACKEND="agg")
    return chosen, _owners(), env, package


@pytest.fixture
def colab_runtime(colab_image, tmp_path):
    """A fresh Colab-like runtime, as each Colab notebook gets: (python, environment, checkout).
    """
    chosen, owners, env, package = colab_image
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; "
                                "print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    _link_distributions(chosen, owners, site)
    fake = site / "google" / "colab"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text('"""Stand-in for Colab\'s google.colab module."""\n')
    (site / "colab_runtime.pth").write_text("import google.colab\n")  # imported at start-up
    return python, env, package


def test_the_colab_like_runtime_has_keras_3_and_no_course_package(colab_runtime, tmp_path):
    python, env, _ = colab_runtime
    check = subprocess.run([str(python), "-c", "import sys, numpy, keras, tensorflow; "
                            "import importlib.util as u; "
                            "assert 'google.colab' in sys.modules, 'no google.colab'; "
                            "assert u.find_spec('course') is None, 'course is there'; "
                            "assert u.find_spec('lime') is None, 'lime is there'; "
                            "assert u.find_spec('nbgrader') is None, 'nbgrader is there'; "
                            "print(keras.__version__)"],
                           env=env, cwd=tmp_path, capture_output=True, text=True)
    assert check.returncode == 0, check.stderr[-3000:]
    assert check.stdout.split(".")[0] == "3", "Keras 3, as Colab ships"


def _first_check(assignment: str, package: Path):
    """The student notebook up to its first visible check, first exercise answered, with the
    setup cell's install pointed at `package`."""
    release, source = _release(assignment), notebooks.read(
        notebook_path(ROOT, "source", assignment))
    solved = notebooks.solved_copy(release, source)
    last = next(i for i, c in enumerate(solved.cells)
                if (notebooks.grade_id(c) or "").endswith("_visible"))
    solved.cells = solved.cells[:last + 1]
    setup = _setup_cell(solved)
    quoted = f'"{colab.install_requirement()}"'
    assert setup.source.count(quoted) == 1
    setup.source = setup.source.replace(quoted, f'"{colab.PACKAGE} @ {package.as_uri()}"')
    return solved


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_colab_runs_the_setup_cell_and_the_first_check(assignment, colab_runtime, tmp_path):
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    python, env, package = colab_runtime
    kernels = tmp_path / "kernels"
    (kernels / "colab").mkdir(parents=True)
    (kernels / "colab" / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Colab", "language": "python"}))
    manager = KernelManager(kernel_name="colab",
                            kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernels)]))
    nb = _first_check(assignment, package)
    client = NotebookClient(nb, km=manager, timeout=600, allow_errors=False,
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute(env=env)  # a failing cell raises CellExecutionError with its traceback

    def text(cell) -> str:
        return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")

    setup = _setup_cell(nb)
    if nb.metadata["course"]["datasets"]:
        assert "Datos listos" in text(setup) or "Aviso:" in text(setup), text(setup)
    assert "✓" in text(nb.cells[-1]), text(nb.cells[-1])
    installed = subprocess.run([str(python), "-m", "pip", "list", "--format=json"], env=env,
                               capture_output=True, text=True, check=True).stdout
    names = {_normalise(p["name"]) for p in json.loads(installed)}
    assert {"curso-redes-neuronales", "lime"} <= names
