"""Typed errors whose messages say what went wrong, where, and how to fix it.

The CLI and the web app print ``str(error)`` as is, so every message must be
readable by a researcher who has never seen a traceback.
"""

from __future__ import annotations


class LifqaError(Exception):
    """Base class: anything lifqa reports to the user instead of crashing."""

    exit_code = 1


class InputError(LifqaError):
    """The user's input (question, option, file) is invalid; CLI exit code 2."""

    exit_code = 2


class SettingsError(InputError):
    """A setting is unknown or out of range."""


class CorpusError(LifqaError):
    """The corpus cannot be read (empty folder, bad metadata file...)."""


class IndexMissingError(LifqaError):
    """No index where one was expected."""


class IndexCorruptError(LifqaError):
    """An index file is truncated, altered, or from an incompatible build."""


class WorkerError(LifqaError):
    """A worker process of a build (e.g. an encoder worker) died or could not start."""
