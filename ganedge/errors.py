"""One exception hierarchy for everything a user can get wrong or a check can reject.

The CLI prints a GanEdgeError as one line and exits with its ``exit_code``:
2 for bad input or usage, 1 for a check that ran and failed. Anything else that
escapes is a bug in ganedge and keeps its traceback.
"""

from __future__ import annotations


class GanEdgeError(Exception):
    """Base of every error ganedge raises on purpose. Message: what was wrong and what to do."""

    exit_code = 2


# --- bad input (exit 2) -------------------------------------------------------


class BadInputError(GanEdgeError, ValueError):
    """An argument or value is out of its allowed range or of the wrong kind."""


class ArtifactError(BadInputError):
    """A file or folder we were handed is missing, empty, truncated, corrupt or of the wrong kind."""


class UnsafeArtifactError(ArtifactError):
    """An artifact asks for something we refuse on principle (pickles, external data escaping its folder)."""


class DatasetError(BadInputError):
    """A dataset path or spec cannot be read."""


class ConfigError(BadInputError):
    """A configuration is invalid or names something unknown (e.g. an architecture)."""


class IncompatibleEngineError(ArtifactError):
    """A TensorRT engine was built for another GPU architecture or TensorRT version."""


class BackendUnavailableError(GanEdgeError):
    """A backend's packages or hardware are not present; the message names the extra to install."""


class OutputError(GanEdgeError, OSError):
    """An output path cannot be written (missing folder, read-only, disk full)."""


class QueueFullError(GanEdgeError):
    """A Batcher's bounded queue is full; the caller should back off and retry."""

    exit_code = 1


class ClosedError(GanEdgeError, RuntimeError):
    """An object was used after close()/shutdown()."""


# --- checks that ran and failed (exit 1) --------------------------------------


class CheckFailedError(GanEdgeError):
    """A check ran and its result is outside tolerance."""

    exit_code = 1


class ValidationError(CheckFailedError):
    """An exported artifact does not match its source within the gate's tolerance."""


class VerifyError(CheckFailedError):
    """Two artifacts disagree beyond tolerance on the same seeds."""


class NumericalError(CheckFailedError):
    """A model produced NaN or Inf."""
