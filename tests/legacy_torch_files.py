"""A minimal writer of PyTorch's legacy torch.save format, without torch, for tests.

It follows torch's ``_legacy_save``: stand-in ``torch`` modules make pickle emit the same
global names (``torch._utils._rebuild_tensor_v2``, ``torch.ByteStorage``...) that a real
file holds.
"""

from __future__ import annotations

import collections
import io
import pickle
import struct
import sys
import types

import numpy as np
import pytest

from style_transfer.weights.torch_legacy import LEGACY_MAGIC, LEGACY_PROTOCOL

STORAGE_NAMES = {np.dtype("u1"): "ByteStorage", np.dtype("<f4"): "FloatStorage"}


class Storage:
    def __init__(self, key: str, data: np.ndarray):
        self.key, self.data = key, data


class Tensor:
    def __init__(self, storage: Storage, offset: int, size: tuple, stride: tuple):
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride


def install_fake_torch(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    """Stand-in torch modules, so pickle writes the global names a real torch.save file has."""
    torch, utils = types.ModuleType("torch"), types.ModuleType("torch._utils")

    def _rebuild_tensor_v2(*args):  # never called: only its name is pickled
        raise AssertionError

    _rebuild_tensor_v2.__module__ = "torch._utils"
    _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    setattr(utils, "_rebuild_tensor_v2", _rebuild_tensor_v2)  # noqa: B010 (a module made at run time)
    for name in (*STORAGE_NAMES.values(), "ShortStorage"):
        storage_type = type(name, (), {"__module__": "torch", "__qualname__": name})
        setattr(torch, name, storage_type)
    setattr(torch, "_utils", utils)  # noqa: B010
    monkeypatch.setitem(sys.modules, "torch", torch)
    monkeypatch.setitem(sys.modules, "torch._utils", utils)
    return torch


class _LegacyPickler(pickle.Pickler):
    def __init__(self, stream, torch):
        super().__init__(stream, protocol=2)
        self.torch, self.storages = torch, {}

    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            self.storages[obj.key] = obj
            storage_type = getattr(self.torch, STORAGE_NAMES[obj.data.dtype])
            return ("storage", storage_type, obj.key, "cpu", obj.data.size, None)
        return None

    def reducer_override(self, obj):
        if isinstance(obj, Tensor):
            rebuild = self.torch._utils._rebuild_tensor_v2
            return rebuild, (obj.storage, obj.offset, obj.size, obj.stride, False, collections.OrderedDict())
        return NotImplemented


def legacy_bytes(torch, tensors: dict, system=None, tail: bytes = b"") -> bytes:
    """A file as torch's _legacy_save writes it, for {name: Tensor}."""
    stream = io.BytesIO()
    for header in (LEGACY_MAGIC, LEGACY_PROTOCOL, system or {"protocol_version": 1001, "little_endian": True}):
        pickle.dump(header, stream, protocol=2)
    pickler = _LegacyPickler(stream, torch)
    pickler.dump(tensors)
    keys = sorted(pickler.storages)
    pickle.dump(keys, stream, protocol=2)
    for key in keys:
        data = pickler.storages[key].data
        stream.write(struct.pack("<q", data.size) + data.tobytes())
    return stream.getvalue() + tail


def contiguous(key: str, array: np.ndarray) -> Tensor:
    stride = tuple(s // array.itemsize for s in array.strides)
    return Tensor(Storage(key, array.ravel()), 0, array.shape, stride)
