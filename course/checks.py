"""Student-facing checks used in the visible test cells of the notebooks.

Each helper compares what the student's code returned with what was expected and, when they
differ, raises an AssertionError whose Spanish message says what was expected, what came back
and, if given, a hint. There are no solutions here: expected values always come from the
notebook's test cell.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np


def _describe(value: Any, limit: int = 300) -> str:
    if isinstance(value, np.ndarray):
        with np.printoptions(precision=6, threshold=20, edgeitems=3):
            text = f"array{value.shape} dtype={value.dtype}: {value!r}"
    else:
        text = f"{value!r} (tipo {type(value).__name__})"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _fail(what: str, expected: str, got: str, hint: str | None) -> None:
    lines = [f"✗ {what}", f"  Se esperaba: {expected}", f"  Se obtuvo:   {got}"]
    if hint:
        lines.append(f"  Pista: {hint}")
    raise AssertionError("\n".join(lines))


def check_type(value: Any, expected_type: type | tuple[type, ...], what: str,
               hint: str | None = None) -> None:
    """Fail unless `value` is an instance of `expected_type`."""
    if not isinstance(value, expected_type):
        names = (expected_type,) if isinstance(expected_type, type) else expected_type
        _fail(what, "un valor de tipo " + " o ".join(t.__name__ for t in names),
              _describe(value), hint)


def check_shape(value: Any, expected_shape: tuple[int, ...], what: str,
                hint: str | None = None) -> None:
    """Fail unless `value` is array-like with exactly `expected_shape`."""
    shape = np.shape(value)
    if tuple(shape) != tuple(expected_shape):
        _fail(what, f"forma {tuple(expected_shape)}", f"forma {tuple(shape)}", hint)


def check_close(value: Any, expected: Any, what: str, *, rtol: float = 1e-5,
                atol: float = 1e-8, hint: str | None = None) -> None:
    """Fail unless `value` matches `expected` (numbers or arrays) within the tolerances."""
    try:
        got = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        _fail(what, _describe(expected), _describe(value) + " (no es numérico)", hint)
    want = np.asarray(expected, dtype=float)
    if got.shape != want.shape:
        _fail(what, f"forma {want.shape}: {_describe(expected)}",
              f"forma {got.shape}: {_describe(value)}", hint)
    if not np.all(np.isfinite(got) == np.isfinite(want)):
        _fail(what, _describe(expected), _describe(value) + " (contiene nan o inf)", hint)
    if not np.allclose(got, want, rtol=rtol, atol=atol, equal_nan=True):
        _fail(what, _describe(expected), _describe(value), hint)


def check_equal(value: Any, expected: Any, what: str, hint: str | None = None) -> None:
    """Fail unless `value == expected` (element-wise for arrays)."""
    same = np.array_equal(value, expected) if isinstance(
        value, np.ndarray) or isinstance(expected, np.ndarray) else value == expected
    if not same:
        _fail(what, _describe(expected), _describe(value), hint)


def check_true(condition: bool, what: str, hint: str | None = None) -> None:
    """Fail unless `condition` holds; `what` states the property that should be true."""
    if not bool(condition):
        _fail(what, "que se cumpla", "no se cumple", hint)


def check_raises(func: Callable[[], Any], exception: type[BaseException], what: str,
                 hint: str | None = None) -> None:
    """Fail unless calling `func()` raises `exception`."""
    try:
        result = func()
    except exception:
        return
    except Exception as error:  # noqa: BLE001 - the message tells the student what happened
        _fail(what, f"que se lance {exception.__name__}",
              f"se lanzó {type(error).__name__}: {error}", hint)
    _fail(what, f"que se lance {exception.__name__}", f"devolvió {_describe(result)}", hint)


def passed(message: str = "¡Correcto!") -> None:
    """Print the success line a visible test cell ends with."""
    print(f"✓ {message}")


@contextlib.contextmanager
def silenced() -> Iterator[None]:
    """Run student code without NumPy/Python warnings reaching stderr.

    nbgrader scores 0 any test cell that writes to stderr; a correct but naive solution
    (e.g. a sigmoid that overflows in exp for z = -1000) must not lose points for a warning.
    The values it returns are still checked.
    """
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        yield
