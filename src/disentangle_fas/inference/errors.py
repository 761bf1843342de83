"""Exceptions and warnings raised by :mod:`disentangle_fas.inference`."""

from __future__ import annotations

from pathlib import Path

from disentangle_fas.errors import UnreadableInputError

__all__ = ["CheckpointError", "InputError", "NoFaceDetectorWarning"]


class InputError(ValueError, UnreadableInputError):
    """An input (image or video file, array) could not be read or is not an image.

    Attributes:
        path: the offending file, or ``None`` for in-memory inputs.
    """

    def __init__(self, message: str, path: str | Path | None = None) -> None:
        self.path = None if path is None else Path(path)
        super().__init__(f"{self.path}: {message}" if self.path is not None else message)


class CheckpointError(ValueError):
    """A file is not a disentangle-fas model checkpoint (or does not match its config).

    Attributes:
        path: the checkpoint file.
    """

    def __init__(self, message: str, path: str | Path) -> None:
        self.path = Path(path)
        super().__init__(message)


class NoFaceDetectorWarning(UserWarning):
    """No face detector is available and no box was given: the whole image is scored."""
