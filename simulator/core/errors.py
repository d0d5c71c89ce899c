"""User-facing errors: each carries one clear message and the exit code the CLI returns."""

from __future__ import annotations


class SegurError(Exception):
    """An error the user can fix (bad input, missing file): printed as one line, no traceback."""

    exit_code = 2

    def __init__(self, message: str, exit_code: int | None = None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code

    @property
    def message(self) -> str:
        return str(self)


class ScenarioError(SegurError):
    """A scenario file is malformed or holds a value outside what is allowed."""


class UsageError(SegurError):
    """A command-line argument or input file cannot be used."""


class ConservationError(SegurError):
    """A run's tables break conservation: a bug, never a user error."""

    exit_code = 3


class DisagreementError(SegurError):
    """The FHIR and vectorised DMP verdicts disagree on sampled payloads: a bug, never a user
    error. The run's folder is written first (its manifest names the failure)."""

    exit_code = 3
