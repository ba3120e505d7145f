"""Google Colab: the badge, the install line and the data, all derived from REPOSITORY.

``course.REPOSITORY`` is the one line a fork changes: `course release` writes the badge and the
setup cell's install line of every student notebook from here, and in Colab the setup cell calls
``prepare_data`` to get the files the notebook needs before the first exercise.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from . import REPOSITORY

PACKAGE = "curso-redes-neuronales"
BRANCH = "main"  # the badge opens the notebooks of this branch, and Colab installs its package
DATA_TAG = "datos"  # the GitHub release of REPOSITORY whose assets are the course's data files
BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"
BADGE_CELL_ID = "abrir_en_colab"
# The quoted install requirement in a setup cell, whatever repository it names.
INSTALL_LITERAL = re.compile(r'"' + re.escape(PACKAGE) + r' @ git\+[^"\s]*"')


def github_name() -> str:
    """"owner/name" of REPOSITORY, a https://github.com/owner/name URL."""
    match = re.fullmatch(r"https://github\.com/([\w.-]+/[\w.-]+?)(?:\.git)?/?", REPOSITORY)
    if not match:
        raise ValueError(f"REPOSITORY must be https://github.com/OWNER/NAME, not {REPOSITORY!r}")
    return match.group(1)


def colab_url(assignment: str) -> str:
    """Where Colab opens the student notebook of `assignment` straight from GitHub."""
    return (f"https://colab.research.google.com/github/{github_name()}/blob/{BRANCH}/"
            f"release/{assignment}/{assignment}.ipynb")


def badge_markdown(assignment: str) -> str:
    return f"[![Abrir en Colab]({BADGE_IMAGE})]({colab_url(assignment)})"


def install_requirement() -> str:
    """What the setup cell gives pip in Colab: the course package of BRANCH, from git.

    Only the package is named: pip then adds just what Colab lacks (lime, for instance) and
    keeps Colab's own TensorFlow, Keras and NumPy, which pyproject's ranges accept."""
    return f"{PACKAGE} @ git+{REPOSITORY}@{BRANCH}"


# Links to some GitHub repository in a text: Colab's notebook links, pip's git installs and
# release downloads; group 1 is what comes before "OWNER/NAME".
_REPOSITORY_LINK = re.compile(
    r"(https://colab\.research\.google\.com/github/|git\+https://github\.com/"
    r"|https://github\.com/)([\w.-]+/[\w.-]+?)(?=/blob/|/releases/|@)")


def rewrite_links(text: str) -> str:
    """`text` (the README) with every link to the course's repository naming REPOSITORY:
    `course release` keeps a fork's README in step with its one changed line."""
    return _REPOSITORY_LINK.sub(lambda m: m.group(1) + github_name(), text)


def data_release_url() -> str:
    """Base URL of the course's data files, published as assets of a GitHub release.

    Asset names are flat (``omni_hro_1min_2003-10-27.csv.gz``, ``MANIFEST.csv``...): the file
    names of ``course.data.REGISTRY`` without their folder."""
    return f"{REPOSITORY}/releases/download/{DATA_TAG}"


def prepare_data(datasets: Iterable[str], release_url: str | None = None) -> None:
    """Get every file of `datasets` now, so a missing file shows up in the setup cell.

    Each file is looked for as ``course.data`` always does (mirror, cache, COURSE_DATA_URL,
    canonical URL) and, failing that, downloaded into the cache from the course's data release
    (`release_url`, by default ``data_release_url()``), checked against its sha256."""
    from .data.errors import DatasetIntegrityError, DatasetUnavailableError
    from .data.fetching import _download, cache_dir, locate
    from .data.registry import get_spec

    base = (release_url or data_release_url()).rstrip("/")
    for name in datasets:
        spec = get_spec(name)
        missing = []
        for file in spec.files:
            try:
                locate(name, [file.relpath])
            except DatasetIntegrityError:
                raise  # a damaged copy must be replaced, not worked around
            except DatasetUnavailableError as error:
                url = f"{base}/{file.filename}"
                failure = _download(url, cache_dir() / file.relpath, name, file)
                if failure is not None:
                    missing.append(f"{error}\nTampoco está en los datos publicados del curso "
                                   f"({url}: {failure}); avísale a tu docente.")
        if not missing:
            print(f"✓ Datos listos: {spec.description}")
        elif spec.fallback:
            print(f"Aviso: no se pudo descargar {spec.description}; el notebook usará la copia "
                  f"reducida que traen los paquetes del curso.")
        else:
            raise DatasetUnavailableError(missing[0], name)
