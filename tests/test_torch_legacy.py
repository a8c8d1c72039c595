"""The restricted reader of PyTorch's legacy torch.save format (style_transfer/weights/torch_legacy.py),
on files written without torch by tests/legacy_torch_files.py."""

from __future__ import annotations

import collections
import io
import os
import pickle
import types

import numpy as np
import pytest

from style_transfer import StyleTransferError
from style_transfer.weights.torch_legacy import LEGACY_MAGIC, LEGACY_PROTOCOL, load_legacy_tensors
from tests.legacy_torch_files import Storage, Tensor, contiguous, install_fake_torch, legacy_bytes


@pytest.fixture
def fake_torch(monkeypatch):
    return install_fake_torch(monkeypatch)


def test_round_trip_of_byte_and_float_tensors(fake_torch):
    codes = np.arange(2 * 3 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3, 3)
    table = np.linspace(-1, 1, 256, dtype=np.float32)
    tensors = collections.OrderedDict(q=contiguous("0", codes), table=contiguous("1", table))
    loaded = load_legacy_tensors(legacy_bytes(fake_torch, tensors))
    assert list(loaded) == ["q", "table"]
    np.testing.assert_array_equal(loaded["q"], codes)
    np.testing.assert_array_equal(loaded["table"], table)
    assert loaded["q"].dtype == np.uint8 and loaded["table"].dtype == np.float32


def test_views_with_an_offset_and_strides_into_a_shared_storage(fake_torch):
    storage = Storage("0", np.arange(24, dtype=np.float32))
    transposed = Tensor(storage, 0, (4, 6), (1, 4))  # a (6, 4) matrix seen transposed
    tail = Tensor(storage, 20, (4,), (1,))
    loaded = load_legacy_tensors(legacy_bytes(fake_torch, {"t": transposed, "tail": tail}))
    np.testing.assert_array_equal(loaded["t"], np.arange(24, dtype=np.float32).reshape(6, 4).T)
    np.testing.assert_array_equal(loaded["tail"], [20, 21, 22, 23])


class _CallsOsSystem:
    def __reduce__(self):
        return os.system, ("echo this must never run",)


def test_a_pickle_that_calls_os_system_is_refused(fake_torch, monkeypatch):
    evil = legacy_bytes(fake_torch, {"x": _CallsOsSystem()})  # names os.system (posix.system) by reference
    calls = []
    monkeypatch.setattr(os, "system", lambda command: calls.append(command))
    with pytest.raises(StyleTransferError, match=r"refusing to load (posix|nt|os)\.system"):
        load_legacy_tensors(evil)
    assert calls == []


@pytest.mark.parametrize(
    "payload",
    [
        {"x": types.SimpleNamespace(a=1)},  # an arbitrary class (types.SimpleNamespace)
        {"x": eval},  # builtins.eval, pickled by name
    ],
    ids=["other-class", "builtins-eval"],
)
def test_any_other_global_is_refused(fake_torch, payload):
    with pytest.raises(StyleTransferError, match="refusing to load"):
        load_legacy_tensors(legacy_bytes(fake_torch, payload))


def test_a_storage_type_the_file_should_not_need_is_refused(fake_torch):
    stream = io.BytesIO()
    for header in (LEGACY_MAGIC, LEGACY_PROTOCOL, {"little_endian": True}):
        pickle.dump(header, stream, protocol=2)
    pickle.dump({"x": fake_torch.ShortStorage}, stream, protocol=2)
    with pytest.raises(StyleTransferError, match="refusing to load torch.ShortStorage"):
        load_legacy_tensors(stream.getvalue())


def test_not_a_legacy_file():
    with pytest.raises(StyleTransferError, match="magic number"):
        load_legacy_tensors(pickle.dumps(42))
    with pytest.raises(StyleTransferError, match="damaged"):
        load_legacy_tensors(b"PK\x03\x04 a zip, not a pickle")


def test_big_endian_files_are_refused(fake_torch):
    data = legacy_bytes(fake_torch, {}, system={"little_endian": False})
    with pytest.raises(StyleTransferError, match="little-endian"):
        load_legacy_tensors(data)


def test_truncated_storage_is_refused(fake_torch):
    data = legacy_bytes(fake_torch, {"q": contiguous("0", np.zeros(100, np.float32))})
    with pytest.raises(StyleTransferError, match="truncated"):
        load_legacy_tensors(data[:-10])


def test_a_tensor_reaching_past_its_storage_is_refused(fake_torch):
    storage = Storage("0", np.zeros(10, np.float32))
    with pytest.raises(StyleTransferError, match="outside its storage"):
        load_legacy_tensors(legacy_bytes(fake_torch, {"x": Tensor(storage, 5, (10,), (1,))}))
