"""The one exception type for bad input or settings, and how library errors are put on one line."""

from __future__ import annotations


class StyleTransferError(ValueError):
    """Bad input or settings; the message says what is wrong and how to fix it."""


def one_line(error: BaseException | str, limit: int = 300) -> str:
    """A library exception's (or a tool's output's) message on one line (Pillow, h5py, Keras, pip write several)."""
    return " ".join(str(error).split())[:limit] or type(error).__name__
