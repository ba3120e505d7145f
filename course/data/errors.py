"""Errors of the data layer; their messages are for students, so they are in Spanish."""

from __future__ import annotations


class DatasetUnavailableError(RuntimeError):
    """A dataset file could not be had from any source (mirror, cache, download).

    ``attempts`` lists, in Spanish, every place looked at and why it failed.
    """

    def __init__(self, message: str, dataset: str = "", attempts: tuple[str, ...] = ()):
        super().__init__(message)
        self.dataset = dataset
        self.attempts = attempts


class DatasetIntegrityError(DatasetUnavailableError):
    """A file exists (or was downloaded) but its sha256 is not the registered one.

    It subclasses DatasetUnavailableError because the outcome is the same for the caller (the
    data cannot be used), so ``except DatasetUnavailableError`` catches both; catch this one to
    tell corrupted data apart. ``source`` is the file path or URL, ``expected``/``actual`` the
    sha256 hex digests (``actual`` may be "desconocido" if the downloader did not report it).
    """

    def __init__(self, message: str, dataset: str, source: str, expected: str, actual: str):
        super().__init__(message, dataset)
        self.source = source
        self.expected = expected
        self.actual = actual


class UnknownDatasetError(KeyError, ValueError):
    """An unknown dataset name, file name or storm id.

    Both a KeyError (it is a failed lookup) and a ValueError (it is a bad argument), so either
    ``except`` works.
    """

    def __str__(self) -> str:
        # KeyError would show the message quoted, with "\n" escaped.
        return str(self.args[0]) if self.args else ""
