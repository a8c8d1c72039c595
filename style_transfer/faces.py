"""Faces in the photo, for ``keep_faces``: found by MTCNN, kept as a feathered region (regions.py).

MTCNN (the ``mtcnn`` wheel, MIT; Zhang et al. 2016) runs on TensorFlow, which the app has already, and
ships its three small networks' weights inside the wheel, so nothing is downloaded at run time. It is
imported only when a request asks for keep_faces; without it such a request gets a message saying how
to install it. Cost measured on 2 cores (benchmarks/RESULTS.md, "Masks and kept faces"): the detector
loads once per process, then each photo is searched at DETECT_SIDE.
"""

from __future__ import annotations

import functools
import importlib.util
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

from .errors import StyleTransferError

# The photo is searched at this long side at most: MTCNN's cost grows with the pixels (measured on 2 cores:
# 0.3 s at 512 px, 0.85 s at 1024, 3 s and +400 MB at 2048), and a face under ~20 px at 512 is too small
# for the painting to distort it in a way anyone sees.
DETECT_SIDE = 512
MIN_CONFIDENCE = 0.9  # MTCNN's own last threshold is 0.8; fewer false faces on paintings-like photos
# The kept region around a face box: an ellipse this much larger than the box (MTCNN's box stops at the
# eyebrows and the chin), a little higher than its centre (the forehead), feathered by a share of its size.
FACE_GROW = (1.3, 1.45)
FACE_RAISE = 0.08
FACE_FEATHER = 0.12
INSTALL_HINT = "pip install --no-deps mtcnn==1.0.0 lz4 joblib"

_lock = threading.Lock()


@dataclass(frozen=True)
class Face:
    box: tuple[float, float, float, float]  # x, y, width, height at the photo's size
    confidence: float
    landmarks: dict[str, tuple[float, float]]


def available() -> bool:
    """Whether keep_faces can run here (the mtcnn package is installed)."""
    return importlib.util.find_spec("mtcnn") is not None


def require() -> None:
    """Refuse keep_faces, with how to install the detector, where it is missing."""
    if not available():
        raise StyleTransferError(f"keep_faces needs the optional face detector, which is not installed: {INSTALL_HINT}")


@functools.lru_cache(maxsize=1)
def _detector() -> Any:
    from mtcnn import MTCNN

    return MTCNN()


def find_faces(photo: Image.Image) -> list[Face]:
    """The faces MTCNN finds in ``photo`` (searched at DETECT_SIDE at most), at the photo's size."""
    require()
    scale = min(1.0, DETECT_SIDE / max(photo.size))
    small = photo.convert("RGB")
    if scale < 1.0:
        small = small.resize((round(photo.width * scale), round(photo.height * scale)), Image.Resampling.BILINEAR)
    with _lock:  # one process-wide detector; its TF functions are not meant for concurrent calls
        found = _detector().detect_faces(np.asarray(small))
    return [
        Face(
            tuple(float(v) / scale for v in face["box"]),  # type: ignore[arg-type]
            float(face["confidence"]),
            {name: (float(x) / scale, float(y) / scale) for name, (x, y) in face["keypoints"].items()},
        )
        for face in found
        if float(face["confidence"]) >= MIN_CONFIDENCE
    ]


def face_mask(faces: list[Face], size: tuple[int, int]) -> np.ndarray | None:
    """A soft mask (H, W) in [0, 1] of ``faces`` at ``size`` (w, h): an ellipse around each, feathered
    by FACE_FEATHER of its size; None if there is no face."""
    if not faces:
        return None
    canvas = Image.new("L", size, 0)
    draw = ImageDraw.Draw(canvas)
    for face in faces:
        x, y, width, height = face.box
        centre_x, centre_y = x + width / 2, y + height * (0.5 - FACE_RAISE)
        half_w, half_h = width * FACE_GROW[0] / 2, height * FACE_GROW[1] / 2
        draw.ellipse((centre_x - half_w, centre_y - half_h, centre_x + half_w, centre_y + half_h), fill=255)
    mask = np.asarray(canvas, np.float32) / 255.0
    sigma = FACE_FEATHER * float(np.median([max(face.box[2:]) for face in faces]))
    # Blurred, then pushed back up inside: the face itself stays fully kept, the feather lies outside it.
    soft = ndimage.gaussian_filter(mask, sigma, mode="constant")
    return np.clip(soft * 2.0, 0.0, 1.0).astype(np.float32)


def faces_record(faces: list[Face]) -> list[dict[str, Any]]:
    """The faces found, for the recipe: boxes (x, y, w, h at the output size) and confidence."""
    return [{"box": [round(v, 1) for v in face.box], "confidence": round(face.confidence, 4)} for face in faces]
