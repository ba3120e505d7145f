"""Runtime flags shared by every notebook: FAST mode, seeding and quiet TensorFlow.

Importing this module never imports TensorFlow; it only sets the environment so that,
if a notebook imports TensorFlow later, its C++ logs never reach a test cell's stderr
(nbgrader scores 0 any test cell that writes to stderr).
"""

from __future__ import annotations

import contextlib
import os
import random
import sys
import warnings
from collections.abc import Iterator

# Must be set before TensorFlow is imported anywhere in the process.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

DEFAULT_SEED = 42


def is_fast() -> bool:
    """True while nbgrader validates/autogrades, or when the user asks with COURSE_FAST=1."""
    if os.environ.get("NBGRADER_EXECUTION"):
        return True
    return os.environ.get("COURSE_FAST", "").strip().lower() in {"1", "true", "yes", "si", "sí"}


FAST = is_fast()


def in_colab() -> bool:
    return "google.colab" in sys.modules


def quiet_tensorflow() -> None:
    """Silence TensorFlow/absl Python-side logging (C++ logs are silenced by the env above)."""
    import logging

    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    logging.getLogger("absl").setLevel(logging.ERROR)
    try:  # absl writes "WARNING: All log messages before absl::InitializeLog()" otherwise
        import absl.logging

        absl.logging.set_verbosity(absl.logging.ERROR)
    except ImportError:
        pass
    warnings.filterwarnings("ignore", module="tensorflow")
    warnings.filterwarnings("ignore", module="keras")


@contextlib.contextmanager
def _stderr_fd_silenced() -> Iterator[None]:
    """Send the process's file descriptor 2 to /dev/null for a moment.

    TensorFlow's native libraries log at import time ("Could not find cuda drivers",
    absl's "All log messages before absl::InitializeLog()") straight to fd 2, ignoring
    TF_CPP_MIN_LOG_LEVEL; Jupyter forwards fd 2 into the cell's stderr output.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_tensorflow():
    """Import TensorFlow and Keras without a line on stderr; returns (tensorflow, keras)."""
    with _stderr_fd_silenced():
        import keras
        import tensorflow as tf
    quiet_tensorflow()
    return tf, keras


def set_seed(seed: int = DEFAULT_SEED) -> int:
    """Seed Python, NumPy and (only if it is already imported) TensorFlow/Keras."""
    import numpy as np

    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)
    if "tensorflow" in sys.modules or "keras" in sys.modules:
        quiet_tensorflow()
        import keras

        keras.utils.set_random_seed(seed)
    return seed


def require(package: str, minimum: str) -> str:
    """Check an installed package version; raise a Spanish ImportError that says what to do."""
    from importlib.metadata import PackageNotFoundError, version

    from packaging.version import Version

    try:
        found = version(package)
    except PackageNotFoundError:
        raise ImportError(
            f"Falta el paquete '{package}' (se necesita la versión {minimum} o superior). "
            f"Instálalo con: pip install '{package}>={minimum}'"
        ) from None
    if Version(found) < Version(minimum):
        raise ImportError(
            f"Tienes '{package}' {found}, pero este notebook necesita {minimum} o superior. "
            f"Actualízalo con: pip install -U '{package}>={minimum}' y reinicia el kernel."
        )
    return found


def setup(seed: int = DEFAULT_SEED, requirements: dict[str, str] | None = None) -> bool:
    """One call for a notebook's setup cell: check versions, seed everything, return FAST."""
    for package, minimum in (requirements or {}).items():
        require(package, minimum)
    set_seed(seed)
    return is_fast()
