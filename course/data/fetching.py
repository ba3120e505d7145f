"""Find a dataset file locally or download it, always checking its sha256.

Order for every file:

1. the mirror folder ``$COURSE_DATA_DIR`` (laid out as ``<dataset>/<file>``);
2. the cache ``$COURSE_CACHE_DIR`` (default ``pooch.os_cache("curso-redes-neuronales")``);
3. a download with pooch into the cache, from ``$COURSE_DATA_URL/<relpath>`` when that variable
   is set, then from the file's canonical URL when it has one.

A wrong sha256 in the mirror or in a download raises DatasetIntegrityError (never used, never
cached); a wrong sha256 in the cache deletes that cache file and downloads it again. A missing
file, an HTTP error or no network moves on to the next place; when all fail,
DatasetUnavailableError lists every place looked at.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pooch

from .errors import DatasetIntegrityError, DatasetUnavailableError
from .registry import FileSpec, get_spec

MIRROR_ENV = "COURSE_DATA_DIR"
CACHE_ENV = "COURSE_CACHE_DIR"
URL_ENV = "COURSE_DATA_URL"
CACHE_NAME = "curso-redes-neuronales"

# Where a file was found, as reported by is_available().
MIRROR, CACHE, DOWNLOAD = "espejo local", "caché local", "descargado"


def mirror_dir() -> Path | None:
    value = os.environ.get(MIRROR_ENV, "").strip()
    return Path(value).expanduser() if value else None


def cache_dir() -> Path:
    value = os.environ.get(CACHE_ENV, "").strip()
    return Path(value).expanduser() if value else Path(pooch.os_cache(CACHE_NAME))


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(name: str, files: str | Iterable[str] | None = None) -> list[Path]:
    """Local paths of the dataset's files, found or downloaded as described in this module.

    ``files`` picks some files only (by file name or relpath), e.g.
    ``fetch("omni_storms", files=["omni_hro_1min_2003-10-27.csv.gz"])``; by default all of
    them, in registry order. For "mnist" this is the full Keras npz or an error: the embedded
    subset is only used by ``load_mnist``.
    """
    return [path for path, _ in locate(name, files)]


def locate(name: str, files: str | Iterable[str] | None = None) -> list[tuple[Path, str]]:
    """Like fetch(), but each path comes with where it was found (MIRROR, CACHE or DOWNLOAD)."""
    spec = get_spec(name)
    if isinstance(files, str):
        files = [files]
    wanted = spec.files if files is None else tuple(spec.file(key) for key in files)
    return [_resolve(name, file) for file in wanted]


def _resolve(dataset: str, file: FileSpec) -> tuple[Path, str]:
    looked: list[str] = []

    mirror = mirror_dir()
    if mirror is None:
        looked.append(f"espejo local: {MIRROR_ENV} no está definido")
    else:
        path = mirror / file.relpath
        if path.is_file():
            _check_local(path, dataset, file)
            return path, MIRROR
        looked.append(f"espejo local ({MIRROR_ENV}={mirror}): no existe {path}")

    cached = cache_dir() / file.relpath
    if cached.is_file():
        if sha256_of(cached) == file.sha256:
            return cached, CACHE
        # Our own cache: a stale or truncated copy is replaced, never used.
        cached.unlink()
        looked.append(f"caché local: {cached} estaba dañado (sha256 distinto) y se borró")
    else:
        looked.append(f"caché local: no existe {cached}")

    urls = _urls(file)
    if not urls:
        looked.append(f"descarga: este archivo no tiene URL pública y {URL_ENV} no está definido")
    for url in urls:
        failure = _download(url, cached, dataset, file)
        if failure is None:
            return cached, DOWNLOAD
        looked.append(f"descarga desde {url}: {failure}")

    message = _unavailable_message(dataset, file, looked)
    raise DatasetUnavailableError(message, dataset, tuple(looked))


def _urls(file: FileSpec) -> list[str]:
    urls = []
    base = os.environ.get(URL_ENV, "").strip()
    if base:
        urls.append(f"{base.rstrip('/')}/{file.relpath}")
    if file.url:
        urls.append(file.url)
    return urls


def _check_local(path: Path, dataset: str, file: FileSpec) -> None:
    actual = sha256_of(path)
    if actual != file.sha256:
        raise _integrity_error(dataset, file, str(path), actual, "No se ha usado.")


def _download(url: str, dest: Path, dataset: str, file: FileSpec) -> str | None:
    """Download ``url`` to ``dest`` checking its sha256; None on success, else why it failed."""
    import requests  # pooch's own HTTP client; imported late to keep `import course` light

    try:
        with _quiet_pooch():
            pooch.retrieve(
                url, known_hash=f"sha256:{file.sha256}", fname=dest.name, path=dest.parent
            )
    except requests.HTTPError as exc:
        status = exc.response.status_code if exc.response is not None else "?"
        return f"el servidor respondió HTTP {status}"
    except requests.Timeout:
        return "se agotó el tiempo de espera"
    except requests.ConnectionError:
        return "no se pudo conectar (¿sin conexión a internet?)"
    except (requests.RequestException, OSError) as exc:
        return f"{type(exc).__name__}: {exc}"
    except ValueError as exc:  # after requests': some of those are ValueErrors too
        if "hash" not in str(exc).lower():
            return f"error de pooch ({exc})"
        # pooch downloads to a temporary file and deletes it on a bad hash: nothing is cached.
        found = re.search(r"got ([0-9a-f]{64})", str(exc))
        actual = found.group(1) if found else "desconocido"
        raise _integrity_error(
            dataset, file, url, actual, "No se ha guardado nada en la caché."
        ) from None
    return None


@contextmanager
def _quiet_pooch() -> Iterator[None]:
    # pooch logs "Downloading data from ..." to stderr, and graded notebook cells must not
    # write to stderr.
    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def _integrity_error(
    dataset: str, file: FileSpec, source: str, actual: str, consequence: str
) -> DatasetIntegrityError:
    message = (
        f"El archivo '{file.relpath}' del conjunto de datos '{dataset}' no es el esperado "
        f"(está dañado o es otra versión).\n"
        f"  origen: {source}\n"
        f"  sha256 esperado: {file.sha256}\n"
        f"  sha256 obtenido: {actual}\n"
        f"{consequence} Sustituye ese archivo por una copia correcta de los datos del curso."
    )
    return DatasetIntegrityError(message, dataset, source, file.sha256, actual)


def _unavailable_message(dataset: str, file: FileSpec, looked: list[str]) -> str:
    places = "\n".join(f"  - {place}" for place in looked)
    if file.url:
        other = "  - O conéctate a internet y vuelve a ejecutar la celda."
    else:
        other = (
            f"  - O define {URL_ENV} con la dirección web donde tu profesor publica los datos "
            "del curso (este archivo no tiene descarga pública)."
        )
    return (
        f"No se pudo obtener el archivo '{file.relpath}' del conjunto de datos '{dataset}'.\n"
        f"Lo busqué en:\n{places}\n"
        f"Cómo conseguirlo:\n"
        f"  - Define {MIRROR_ENV} apuntando a una carpeta con los datos del curso, por ejemplo:\n"
        f"        export {MIRROR_ENV}=/ruta/a/data\n"
        f"    o, dentro del notebook: import os; os.environ['{MIRROR_ENV}'] = '/ruta/a/data'\n"
        f"{other}"
    )
