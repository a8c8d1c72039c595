"""Import TensorFlow without its C++ start-up chatter on stderr."""

from __future__ import annotations

import os
import sys


def import_tensorflow_quietly() -> None:
    """Import tensorflow and keras with file descriptor 2 pointed at /dev/null.

    TensorFlow's C++ side prints absl and oneDNN notices at load time, straight to fd 2,
    and reads TF_CPP_MIN_LOG_LEVEL before Python code can set it; they would bury the
    CLI's one-line error messages. Import errors still raise as Python exceptions.
    Set TF_CPP_MIN_LOG_LEVEL=0 to see them. Any other value of it is kept for the C++ code's later
    logging but does not bring the start-up notices back: a usual setting such as 2 still lets
    absl's and oneDNN's load-time lines through.
    """
    if "tensorflow" in sys.modules or os.environ.get("TF_CPP_MIN_LOG_LEVEL", "").strip() == "0":
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # for the C++ code that reads it later
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import keras  # noqa: F401
        import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
