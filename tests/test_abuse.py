"""The public-service issue's attacks, each with the input that got through, now refused or bounded.

One app is served in-process on loopback (untrained weights, one run at a time) with small
operator limits so each refusal is cheap to reach: uploads up to 1 MB, 12 style images, a
3.2 GB memory cap, the default size and step caps. Each test sends the attack as raw HTTP
(as a hostile client would, not through gradio_client's checks) or through the CLI, checks
the refusal names its limit or that the work stayed bounded, then that the server still runs
a normal request. Memory is measured as the process's peak RSS (VmHWM, reset before the
call): the server runs in this process.
"""

from __future__ import annotations

import io
import re
import struct
import time
import zlib
from pathlib import Path
from typing import Any

import gradio as gr
import httpx
import numpy as np
import pytest
from gradio_client import handle_file
from PIL import Image, ImageFile

import app
from style_transfer import OperatorSettings, StyleConfig, StyleTransferError, load_image, read_recipe
from style_transfer.plan import MAX_STYLE_PIXELS
from style_transfer.recipe import RECIPE_KEY
from style_transfer.service.serving import RequestBodyLimit, max_request_bytes, remove_stale_files
from style_transfer.web import events, layout
from style_transfer.web import requests as web_requests
from tests.bad_inputs import png_bytes
from tests.served_app import SMALL, count_files, served_app, untrained_runner, wait_until, write_image
from tests.test_cli import assert_one_line_error, cli, in_process

META = {"_type": "gradio.FileData"}
TIMEOUT = 120
UPLOAD_LIMIT = 1_000_000
LIMITS = {
    "max_input_bytes": UPLOAD_LIMIT,
    "max_styles": 12,
    "max_memory": 3_200_000_000,  # a 1024 px run (2.4-2.8 GB) passes; one with 2048x2048 style images does not
    "max_steps": 600,  # the default (the served test runner raises it otherwise)
}


# ---------------------------------------------------------------- the served app and raw calls


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    with served_app(tmp_path_factory.mktemp("abuse"), queue_size=8, concurrency=1, **LIMITS) as served:
        yield served


def upload(served, name: str, data: bytes) -> dict[str, Any]:
    response = httpx.post(f"{served.url}gradio_api/upload", files=[("files", (name, data))], timeout=TIMEOUT)
    response.raise_for_status()
    return {"path": response.json()[0], "orig_name": name, "meta": META}


def png_file(seed: int, size: tuple[int, int] = (SMALL, SMALL)) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def small(served) -> dict[str, Any]:
    """A small content photo (square, and 4:3) and style image, uploaded the normal way."""
    return {
        "content": upload(served, "content.png", png_file(1)),
        "photo": upload(served, "photo.png", png_file(3, (SMALL, SMALL * 3 // 4))),
        "style": upload(served, "style.png", png_file(2)),
    }


def request_data(**values: Any) -> list[Any]:
    """The /stylize input list: the given values by name, None (the default) for the rest."""
    return [values.get(name) for name in web_requests.STYLIZE_PARAMETERS]


def estimate_data(**values: Any) -> list[Any]:
    """The estimate's input list: the page's controls (/stylize's inputs but the start image) and the mask."""
    return [values.get(name) for name in web_requests.ESTIMATE_PARAMETERS]


def call_stylize(served, data: list[Any]) -> tuple[str, Any]:
    """Through the queue as a raw client: POST /gradio_api/call/stylize, read the event stream.
    Returns (last event, its data): ("complete", outputs) or ("error", {"error": message, ...})."""
    response = httpx.post(f"{served.url}gradio_api/call/stylize", json={"data": data}, timeout=TIMEOUT)
    response.raise_for_status()
    stream = httpx.get(f"{served.url}gradio_api/call/stylize/{response.json()['event_id']}", timeout=TIMEOUT).text
    events = re.findall(r"^event: (\w+)\ndata: (.*)$", stream, re.M)
    event, payload = events[-1]
    return event, json_or_text(payload)


def json_or_text(text: str) -> Any:
    import json

    try:
        return json.loads(text)
    except ValueError:
        return text


def refusal(served, **values: Any) -> str:
    """The message /stylize answers these values with; fails if the job ran or the message is empty."""
    event, payload = call_stylize(served, request_data(**values))
    assert event == "error", f"the job was not refused: {event} {str(payload)[:300]}"
    assert isinstance(payload, dict) and payload.get("error"), f"a refusal without a message: {payload}"
    return payload["error"]


def estimate_index(served) -> int:
    """The estimate's event: the unqueued listener that takes every /stylize input."""
    fns = [
        fn
        for fn in served.demo.fns.values()
        if not fn.queue and fn.fn is not None and len(fn.inputs) == len(web_requests.ESTIMATE_PARAMETERS)
    ]
    assert len(fns) == 1, "expected exactly one unqueued listener taking the /stylize inputs (the estimate)"
    return fns[0]._id


def call_estimate(served, **values: Any) -> str:
    """The estimate line, called as the page calls it: POST /gradio_api/run/predict, no queue."""
    body = {"data": estimate_data(**values), "fn_index": estimate_index(served), "session_hash": "abuse"}
    response = httpx.post(f"{served.url}gradio_api/run/predict", json=body, timeout=TIMEOUT)
    assert response.status_code == 200, response.text[:300]
    (line,) = response.json()["data"]
    return line


def assert_still_serves(served, small) -> None:
    """A normal request, through the queue, runs to its last frame."""
    event, payload = call_stylize(
        served, request_data(content=small["content"], style=small["style"], size=SMALL, preset="fast", steps=1)
    )
    assert event == "complete", f"the server no longer runs a normal request: {event} {str(payload)[:300]}"


def peak_rss_during(action) -> tuple[Any, float]:
    """(action's result, the most this process's resident memory grew while it ran, in MB)."""
    status = Path("/proc/self/status")
    baseline = _kb(status.read_text(), "VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # resets the peak (VmHWM) to the current RSS
    result = action()
    return result, (_kb(status.read_text(), "VmHWM") - baseline) / 1024


def _kb(status: str, field: str) -> int:
    found = re.search(rf"^{field}:\s+(\d+) kB", status, re.M)
    assert found, f"no {field} in /proc/self/status"
    return int(found.group(1))


@pytest.fixture
def decoding_forbidden(monkeypatch) -> None:
    """Any image decode in this process fails the test (the server runs in this process)."""

    def decode(self):
        raise AssertionError(f"{self.format} image of {self.size} decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", decode)


# ---------------------------------------------------------------- hostile files, made in memory


def huge_png(width: int = 12000, height: int = 12000) -> bytes:
    """A real, complete PNG of width x height black pixels (144 MP by default: ~430 KB on disk)."""
    compressor, row = zlib.compressobj(9), b"\x00" + bytes(3 * width)
    rows = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    return _png(width, height, [(b"IDAT", rows)])


def _png(width: int, height: int, chunks: list[tuple[bytes, bytes]]) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    return b"\x89PNG\r\n\x1a\n" + header + b"".join(chunk(k, d) for k, d in chunks) + chunk(b"IEND", b"")


def ico_holding(png: bytes) -> bytes:
    """An ICO whose directory says 256x256 (0 means 256) but whose one image is ``png``."""
    directory = struct.pack("<HHH", 0, 1, 1) + struct.pack("<BBBBHHII", 0, 0, 0, 0, 1, 32, len(png), 22)
    return directory + png


def ztxt_bomb() -> bytes:
    """A valid 64x64 PNG with a zTXt chunk that inflates from ~50 kB to 50 MB."""
    rows = zlib.compress((b"\x00" + bytes(3 * SMALL)) * SMALL)
    text = b"Comment\x00\x00" + zlib.compress(bytes(50_000_000), 9)
    return _png(SMALL, SMALL, [(b"zTXt", text), (b"IDAT", rows)])


@pytest.fixture(scope="module")
def big_png() -> bytes:
    return huge_png()


# ---------------------------------------------------------------- 1. no way around the queue


def test_queued_events_cannot_be_run_around_the_queue(served, small, run_recorder):
    """POST /gradio_api/run/<name> (and its /api/ alias, and run/predict with an event's index)
    used to run /stylize outside the queue's size and concurrency limits."""
    data = request_data(content=small["content"], style=small["style"], size=SMALL, preset="fast", steps=1)
    recipe_index = next(fn._id for fn in served.demo.fns.values() if fn.name == "settings_from_recipe")
    stylize_index = next(fn._id for fn in served.demo.fns.values() if fn.api_name == "stylize")
    attempts = {
        "run/stylize": {"data": data},
        "api/stylize": {"data": data},
        "run/predict (the /stylize event)": {"data": data, "fn_index": stylize_index},
        "run/predict (the recipe event)": {"data": [small["content"]], "fn_index": recipe_index},
    }
    for name, body in attempts.items():
        route = name.split(" ")[0]
        response = httpx.post(f"{served.url}gradio_api/{route}", json=body, timeout=TIMEOUT)
        assert response.status_code == 404, f"{name}: {response.status_code} {response.text[:200]}"
        assert "join the queue" in response.text, name
    assert not run_recorder.runs, "a run started outside the queue"
    event, _ = call_stylize(served, data)  # the queue's own route still runs it
    assert event == "complete" and len(run_recorder.runs) == 1


def test_every_event_that_runs_outside_the_queue_is_a_cheap_ui_helper(served):
    """What a client can still call directly: listeners with queue=False. None of them may start a run;
    the estimate is one of them and is bounded per call (see the estimate tests below)."""
    unqueued = {fn.name for fn in served.demo.fns.values() if not fn.queue and fn.fn is not None}
    assert "stylize_event" not in unqueued and "stylize" not in unqueued and "settings_from_recipe" not in unqueued
    queued = {fn.api_name for fn in served.demo.fns.values() if fn.queue}
    assert "stylize" in queued
    from style_transfer.web.gradio_patches import RunQueue

    assert RunQueue.of(served.demo).size == 8 and not served.demo.api_open  # each queue's bound (runs, helpers)


# ---------------------------------------------------------------- 2. uploads bounded


def test_an_upload_over_the_limit_is_refused_and_not_kept(served, small):
    """The 1 GB upload: Gradio took any size. The test server's limit is 1 MB; one byte over it is refused."""
    before = count_files(served.upload_dir)
    response = httpx.post(
        f"{served.url}gradio_api/upload", files=[("files", ("big.png", bytes(UPLOAD_LIMIT + 1)))], timeout=TIMEOUT
    )
    assert response.status_code == 413, response.text[:200]
    assert count_files(served.upload_dir) == before, "the refused upload left a file on disk"
    assert upload(served, "at_limit.png", bytes(UPLOAD_LIMIT))["path"]  # exactly the limit is fine
    assert_still_serves(served, small)


def test_many_files_in_one_upload_are_refused_before_any_is_written(served, small):
    """max_file_size bounds each file; one request may carry 1,000 of them. The request's length decides first."""
    limit = max_request_bytes(served.runner.settings)
    count = limit // UPLOAD_LIMIT + 2
    before = count_files(served.upload_dir)
    files = [("files", (f"part{i}.png", bytes(UPLOAD_LIMIT - 1000))) for i in range(count)]
    response = httpx.post(f"{served.url}gradio_api/upload", files=files, timeout=TIMEOUT)
    assert response.status_code == 413 and "request body over" in response.text
    assert count_files(served.upload_dir) == before

    def chunked():  # no Content-Length: the body's size is unknown until read
        yield (
            b"--x\r\nContent-Disposition: form-data; name=files; filename=a.png\r\n\r\n"
            + bytes(1000)
            + b"\r\n--x--\r\n"
        )

    response = httpx.post(
        f"{served.url}gradio_api/upload",
        content=chunked(),
        headers={"Content-Type": "multipart/form-data; boundary=x"},
        timeout=TIMEOUT,
    )
    assert response.status_code == 411
    assert count_files(served.upload_dir) == before
    assert_still_serves(served, small)


def test_a_url_payload_is_never_fetched(served, small, monkeypatch):
    """Gradio downloads a file payload that names an http(s) URL, with no size limit: a way around
    max_file_size. A fake network (every request recorded, a 5 MB answer) shows nothing is fetched."""
    from gradio import processing_utils

    fetched: list[str] = []

    def fake_network(request: httpx.Request) -> httpx.Response:
        fetched.append(str(request.url))
        return httpx.Response(200, content=png_file(3, (1300, 1300)))

    monkeypatch.setattr(processing_utils, "async_transport", httpx.MockTransport(fake_network))
    url = "https://example.com/huge.png"
    message = refusal(served, content={"path": url, "url": url, "meta": META}, style=small["style"])
    assert "does not download files from URLs" in message
    message = refusal(served, content=small["content"], style=small["style"], more_styles=[{"path": url, "meta": META}])
    assert "does not download files from URLs" in message
    assert not fetched, f"the server fetched {fetched}"
    # The URL of a file already uploaded here is that file (an MCP client's upload tool hands these out).
    own = {"path": f"{served.url}gradio_api/file={small['content']['path']}", "meta": META}
    event, payload = call_stylize(
        served, request_data(content=own, style=small["style"], size=SMALL, preset="fast", steps=1)
    )
    assert event == "complete", payload
    assert not fetched


def test_files_an_earlier_server_left_are_deleted_at_start(tmp_path):
    """Gradio's delete_cache deletes only what its own process made: a crashed server's uploads stayed."""
    folder = tmp_path / "gradio"
    old, recent = folder / "a" / "old.png", folder / "b" / "recent.png"
    for path in (old, recent):
        path.parent.mkdir(parents=True)
        path.write_bytes(b"x")
    an_hour_ago = time.time() - layout.DELETE_CACHE[1] - 60
    import os

    os.utime(old, (an_hour_ago, an_hour_ago))
    assert remove_stale_files(folder, layout.DELETE_CACHE[1]) == 1
    assert not old.exists() and not old.parent.exists(), "the stale file (and its emptied folder) stayed"
    assert recent.exists(), "a file younger than the cache age was deleted"


def test_main_cleans_the_upload_folder_and_launches_with_the_limits(monkeypatch, tmp_path):
    """main() deletes stale files before launching, and launches with max_file_size and the body limit."""
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))
    stale = tmp_path / "x" / "stale.png"
    stale.parent.mkdir()
    stale.write_bytes(b"x")
    os_time = time.time() - 7200
    import os

    os.utime(stale, (os_time, os_time))
    launched: dict[str, Any] = {}
    monkeypatch.setattr(app, "Runner", lambda settings: untrained_runner(max_input_bytes=12345))
    monkeypatch.setattr(gr.Blocks, "launch", lambda self, **options: launched.update(options))
    app.main([])
    assert not stale.exists()
    assert launched["max_file_size"] == 12345
    (middleware,) = [m for m in launched["app_kwargs"]["middleware"] if m.cls is RequestBodyLimit]
    upload = dict(middleware.kwargs["routes"])["/gradio_api/upload"]
    assert upload.max_bytes < 12345 * 100 and middleware.kwargs["default"].max_bytes < upload.max_bytes
    assert launched["mcp_server"] is None  # off unless --mcp (or Gradio's GRADIO_MCP_SERVER)


# ---------------------------------------------------------------- 3. cheap checks stay cheap


def test_the_estimate_of_a_144_megapixel_png_reads_only_its_header(served, small, big_png):
    """upright_size called getexif(), which decodes a whole PNG: 144 MP is 432 MB of pixels."""
    content = upload(served, "huge.png", big_png)
    start = time.perf_counter()
    line, grew_mb = peak_rss_during(lambda: call_estimate(served, content=content, style=small["style"]))
    seconds = time.perf_counter() - start
    assert "12000x12000 (144 megapixels); the limit is 40 megapixels" in line
    assert grew_mb < 100, f"memory grew {grew_mb:.0f} MB during the estimate (decoding would take 432 MB)"
    assert seconds < 5, f"the estimate took {seconds:.1f} s"
    assert_still_serves(served, small)


def test_the_estimate_decodes_nothing_even_when_the_image_is_allowed(tmp_path, big_png, decoding_forbidden):
    """With a limit that allows 144 MP, the estimate still comes from the header alone."""
    runner = untrained_runner(max_input_megapixels=170)
    path = tmp_path / "huge.png"
    path.write_bytes(big_png)
    estimate = runner.check(path, [path], StyleConfig(size=512, preset="fast"))
    assert estimate.scales[-1].size == (512, 512)


@pytest.mark.parametrize("place", ["content", "style"])
def test_an_ico_holding_a_huge_png_is_refused_without_decoding(served, small, place):
    """Pillow decodes an ICO (and a PNG inside it) while opening: an ICO saying 256x256 held 12000x12000."""
    ico = upload(served, "icon.ico", ico_holding(huge_png()))
    files = {"content": small["content"], "style": small["style"], place: ico}
    line, grew_mb = peak_rss_during(lambda: call_estimate(served, **files))
    assert "not an image file this app reads" in line and grew_mb < 100, (line, grew_mb)
    message, grew_mb = peak_rss_during(lambda: refusal(served, **files, size=SMALL, preset="fast", steps=1))
    assert "not an image file this app reads (JPEG, PNG" in message
    assert grew_mb < 100, f"memory grew {grew_mb:.0f} MB: the icon was decoded"
    assert_still_serves(served, small)


def test_an_ico_is_refused_by_the_loader_and_the_recipe_reader(decoding_forbidden):
    ico = ico_holding(huge_png(3000, 3000))
    with pytest.raises(StyleTransferError, match="not an image file this app reads"):
        load_image(ico)
    with pytest.raises(StyleTransferError, match="could not open the recipe image"):
        read_recipe(io.BytesIO(ico))


def test_a_ztxt_bomb_gets_a_message_from_the_estimate_and_the_run(served, small):
    """A zTXt chunk inflating past Pillow's text limit raised ValueError out of the estimate handler."""
    bomb = upload(served, "bomb.png", ztxt_bomb())
    line = call_estimate(served, content=bomb, style=small["style"])
    assert line.startswith("⚠️ content image is damaged or truncated (Decompressed data too large")
    message = refusal(served, content=small["content"], style=bomb, size=SMALL, preset="fast", steps=1)
    assert message.startswith("style image is damaged or truncated")
    assert_still_serves(served, small)


def test_the_estimate_survives_every_payload_shape(served, small):
    """The estimate is called without the queue on every change: a bad payload is a line, not an error."""
    for payload in ([small["content"]], 5, "text", {"path": 5, "meta": META}):
        body = {"data": estimate_data(content=payload, style=small["style"]), "fn_index": estimate_index(served)}
        response = httpx.post(f"{served.url}gradio_api/run/predict", json=body, timeout=TIMEOUT)
        text = response.text
        assert "uploaded to this app" in text or "⚠️" in text, (payload, response.status_code, text[:200])
    assert call_estimate(served, content=small["content"], style=small["style"]).startswith("**Estimate:**")


# ---------------------------------------------------------------- 4. every bad input gets one clear message


@pytest.mark.parametrize(
    ("place", "payload", "expected"),
    [
        ("content", "list", "content must be an image file uploaded to this app"),
        ("content", 5, "content must be an image file uploaded to this app"),
        ("content", "some text", "got text"),
        ("style", True, "style must be an image file uploaded to this app"),
        ("style", {"path": 5, "meta": META}, "style must be an image file uploaded to this app"),
        ("more_styles", 5, "more_styles must be a list of image files uploaded to this app"),
        ("more_styles", "one file", "more_styles must be a list of image files uploaded to this app"),
        ("content", "missing", "content image file not found"),
        ("content", "not an image", "content image is not an image file this app reads"),
        ("content", None, "add a content photo first"),
    ],
)
def test_wrong_payloads_get_a_clear_message(served, small, place, payload, expected):
    """A list or an int where a file belongs got {"error": null}: the client learnt nothing."""
    if payload == "list":
        payload = [small["content"], small["content"]]
    elif payload == "one file":
        payload = small["style"]
    elif payload == "missing":
        payload = {"path": str(served.upload_dir / "gone" / "x.png"), "meta": META}
    elif payload == "not an image":
        payload = upload(served, "notes.png", b"these are notes, not a picture\n" * 10)
    files = {"content": small["content"], "style": small["style"], place: payload}
    assert expected in refusal(served, **files, size=SMALL, preset="fast", steps=1)


# ---------------------------------------------------------------- 5. the requests


def test_the_38_gb_request_is_bounded_by_the_style_pixel_cap_and_refused_by_the_memory_cap(
    runner, tmp_path, monkeypatch
):
    """size 1024, fast, 1 step, style_scale 4: TensorFlow was asked for 38.7 GB and the server segfaulted.
    The style image is scaled to at most MAX_STYLE_PIXELS, and the estimate counts it at that size: a
    2048x2048 style pass peaked at 7-8 GB (benchmarks/results/memory_caps.json), so the default 6 GB cap
    refuses it; with the cap off it runs at that size. Nothing is computed here: the forward pass's
    inputs are recorded and the run stops there."""
    from style_transfer import stylize
    from style_transfer.engine.objective import CompiledObjective

    config = StyleConfig(size=1024, preset="fast", steps=1, style_scale=4.0)
    content, style = write_image(tmp_path / "c.png", 1, (1024, 768)), write_image(tmp_path / "s.png", 2, (400, 300))
    with pytest.raises(StyleTransferError, match="STYLE_TRANSFER_MAX_MEMORY"):
        runner.check(content, [style], config)  # the session's runner: default caps
    settings = OperatorSettings(weights="untrained", max_memory=0)
    forward_inputs: list[tuple[int, ...]] = []

    def record_targets(self, content, styles, blend, stop=None):
        forward_inputs.extend(image.shape for image in [content, *styles])
        raise StyleTransferError("recorded")

    monkeypatch.setattr(CompiledObjective, "targets", record_targets)
    frames = stylize(str(content), [str(style)], config, settings=settings)
    with pytest.raises(StyleTransferError, match="recorded"):
        next(frames)
    (_, content_h, content_w, _), (_, style_h, style_w, _) = forward_inputs
    assert (content_w, content_h) == (1024, 768)
    assert style_w * style_h <= MAX_STYLE_PIXELS, f"the style image went through VGG at {style_w}x{style_h}"
    # 4096x3072 uncapped: the 38.7 GB request. Capped: 2364x1773 (4.19 MP).
    assert max(style_w, style_h) < 4 * 1024


def test_the_38_gb_request_is_refused_by_the_memory_cap_before_any_work(served, small, run_recorder):
    """The same request on a server whose memory cap is below what its style image needs (3.2 GB here)."""
    data = {"content": small["photo"], "style": small["style"], "size": 1024, "preset": "fast", "steps": 1}
    (message, _), grew_mb = peak_rss_during(lambda: (refusal(served, **data, style_scale=4.0), None))
    assert "the estimated peak memory would be" in message and "(STYLE_TRANSFER_MAX_MEMORY)" in message
    assert not run_recorder.runs, "the engine started the run"
    assert grew_mb < 300, f"memory grew {grew_mb:.0f} MB"
    assert "STYLE_TRANSFER_MAX_MEMORY" in call_estimate(served, **data, style_scale=4.0)  # shown before Run
    assert call_estimate(served, **data, style_scale=1.0).startswith("**Estimate:**")  # the style is what costs
    assert_still_serves(served, small)


def test_cancelling_during_a_heavy_set_up_frees_the_slot_at_once(served, small, run_recorder):
    """Twelve style images at 4x the output size: a scale's set-up is seconds of forward passes with no
    step in between. A cancel in it ends the run within 2 s, and the next job never computes alongside."""
    image = lambda name, seed: handle_file(str(write_image(served.root / name, seed)))  # noqa: E731
    clients = [served.client(), served.client()]  # one session each: Gradio cancels by session
    job = clients[0].submit(
        image("c_cancel.png", 5),
        image("s_cancel.png", 6),
        size=SMALL,
        preset="fast",
        steps=2,
        style_scale=4.0,
        more_styles=[image(f"m{i}.png", 20 + i) for i in range(11)],
        api_name="/stylize",
    )
    wait_until(lambda: run_recorder.runs, 60, "the heavy run to start its set-up")
    assert not run_recorder.runs[0].steps, "the set-up was over before the cancel: not a set-up test"
    waiting = clients[1].submit(
        image("c2.png", 7), image("s2.png", 8), size=SMALL, preset="fast", steps=1, api_name="/stylize"
    )
    cancelled_at = time.monotonic()
    job.cancel()
    wait_until(lambda: served.runner.runs.active == 0 or len(run_recorder.runs) > 1, 10, "the run to stop")
    stopped_after = time.monotonic() - cancelled_at
    assert run_recorder.runs[0].ended is not None, "the next run started before the cancelled one ended"
    assert run_recorder.runs[0].ended - cancelled_at < 2.0, f"the cancelled run ended {stopped_after:.2f} s after"
    assert not run_recorder.runs[0].steps, "the cancelled run went on to optimise"
    waiting.result(timeout=TIMEOUT)
    assert run_recorder.most_active == 1, "two runs computed at the same moment with concurrency 1"
    assert served.runner.runs.active == 0


def test_twenty_copies_of_a_40_megapixel_style_are_refused_before_any_is_read(served, small, run_recorder):
    """20 copies of a 40 MP style image in more_styles: the style count is checked before any file is opened."""
    forty = upload(served, "forty.png", huge_png(6400, 6250))  # 40.0 MP, within the megapixel limit
    data = {"content": small["content"], "style": forty, "more_styles": [forty] * 20, "size": 256, "preset": "fast"}
    message, grew_mb = peak_rss_during(lambda: refusal(served, **data))
    assert "style images would be 21; this server's limit is 12 (STYLE_TRANSFER_MAX_STYLES)" in message
    assert grew_mb < 100 and not run_recorder.runs
    assert "STYLE_TRANSFER_MAX_STYLES" in call_estimate(served, **data)
    assert_still_serves(served, small)


def test_the_style_images_a_run_holds_are_shrunk_as_they_are_read(tmp_path, monkeypatch):
    """With the style cap off, each style image is brought to the size the run uses as soon as it is
    read: the run holds small copies, not the decoded originals."""
    from style_transfer.costs import fallback
    from style_transfer.engine.inputs import decode_inputs, open_inputs
    from style_transfer.plan import plan_run

    path = tmp_path / "forty.png"
    path.write_bytes(huge_png(6400, 6250))
    settings = OperatorSettings(weights="untrained").without_caps()
    config = StyleConfig(size=128)
    opened = open_inputs(str(path), [str(path)] * 3, config, settings, None)
    run_plan = plan_run(config, opened.content.size, opened.style_sizes, fallback("float32"))
    inputs = decode_inputs(opened, config, run_plan)
    assert all(max(style.size) <= 128 for style in inputs.styles), [s.size for s in inputs.styles]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        # 100: the most entries a list in a request may have (longer ones: tests/test_abuse_round3.py)
        ({"content_layers": ["block5_conv4"] * 100}, "content_layers must be one or more distinct VGG19 conv layers"),
        ({"style_layers": ["block1_conv1"] * 100}, "style_layers must be one or more distinct VGG19 conv layers"),
        ({"style_blend": "1e308, 1e308", "more_styles": "style"}, "style_blend must add up to a finite number"),
        ({"size": 2048, "preset": "best", "steps": 5000}, "this server's limit is 1,024 (STYLE_TRANSFER_MAX_SIZE)"),
        ({"size": 512, "preset": "best", "steps": 5000}, "this server's limit is 600 (STYLE_TRANSFER_MAX_STEPS)"),
    ],
    ids=["content layers x100", "style layers x100", "blend 1e308", "size 2048", "steps 5000"],
)
def test_requests_over_a_limit_are_refused_naming_it(served, small, run_recorder, values, expected):
    if values.get("more_styles") == "style":
        values = {**values, "more_styles": [small["style"]]}
    files = {"content": small["content"], "style": small["style"]}
    assert expected in refusal(served, **files, **values)
    assert expected in call_estimate(served, **files, **values), "the page does not show the refusal before Run"
    assert not run_recorder.runs
    assert_still_serves(served, small)


def test_the_estimate_says_when_the_time_limit_will_cut_the_run(served, small):
    files = {"content": small["content"], "style": small["style"]}
    # Minutes, on any CPU. Without the page's kept faces: at 1024 px their regional step's memory is over this
    # test server's 3.2 GB cap, and the line would say that instead.
    line = call_estimate(served, **files, size=1024, preset="best", steps=500, seconds=0, keep_faces=False)
    assert "longer than this server's limit of 180 s: the run will be cut to end within it" in line
    assert "limit" not in call_estimate(served, **files, size=SMALL, preset="fast", seconds=0)
    # A time budget over the limit (gradio_client sends the page's default, 30 s) becomes the limit.
    assert "(a 180 s time budget: this server's limit)" in call_estimate(served, **files, size=SMALL, seconds=3000)


# ---------------------------------------------------------------- recipes and the command line


def recipe_png(folder: Path, text: str, name: str = "recipe.png") -> Path:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_itxt(RECIPE_KEY, text)
    path = folder / name
    Image.new("RGB", (16, 16)).save(path, pnginfo=info)
    return path


def hostile_recipes(folder: Path) -> dict[str, tuple[Path, str]]:
    """Recipe PNGs a hostile user could hand the CLI or the page, and what the message must say."""
    ztxt = folder / "ztxt.png"
    ztxt.write_bytes(ztxt_bomb())
    ico = folder / "recipe.ico"
    ico.write_bytes(ico_holding(huge_png(3000, 3000)))
    deep_list = "[" * 500 + "]" * 500
    return {
        "nested 50,000 deep": (
            recipe_png(folder, '{"config": ' + "[" * 50_000 + "]" * 50_000 + "}", "deep.png"),
            "damaged",
        ),
        "a 5000-digit int": (recipe_png(folder, '{"config": {"seed": ' + "7" * 5000 + "}}", "digits.png"), "damaged"),
        "a 4000-digit int": (recipe_png(folder, '{"config": {"seed": ' + "7" * 4000 + "}}", "digits4k.png"), "seed is"),
        "a nested list as a size": (
            recipe_png(folder, f'{{"config": {{"size": {deep_list}}}}}', "list.png"),
            "size must be",
        ),
        "blend 1e308": (recipe_png(folder, '{"config": {"style_blend": [1e308, 1e308]}}', "blend.png"), "finite"),
        "200k of text": (
            recipe_png(folder, '{"config": {"seed": 1, "x": "' + "a" * 300_000 + '"}}', "long.png"),
            "too large",
        ),
        "a zTXt bomb": (ztxt, "could not open the recipe image"),
        "an ICO": (ico, "could not open the recipe image"),
    }


RECIPE_CASES = [
    "nested 50,000 deep", "a 5000-digit int", "a 4000-digit int", "a nested list as a size", "blend 1e308",
    "200k of text", "a zTXt bomb", "an ICO",
]  # fmt: skip


@pytest.mark.parametrize("case", RECIPE_CASES)
def test_a_hostile_recipe_gets_one_line_from_the_cli(case, capfd, tmp_path, image_files):
    path, expected = hostile_recipes(tmp_path)[case]
    result = in_process(
        capfd, image_files["photo_small"], image_files["style"], "-o", tmp_path / "o.png", "--recipe", path
    )
    assert_one_line_error(result, expected)
    assert len(result.stderr) < 2500


@pytest.mark.parametrize("case", RECIPE_CASES)
def test_a_hostile_recipe_gets_one_message_from_the_page(case, tmp_path, monkeypatch):
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))  # as if uploaded: the app reads only uploads
    path, expected = hostile_recipes(tmp_path)[case]
    with pytest.raises(gr.Error) as refused:
        events.settings_from_recipe({"path": str(path)})
    assert expected in refused.value.message and "\n" not in refused.value.message
    assert len(refused.value.message) < 500


@pytest.mark.slow
def test_a_hostile_recipe_as_a_real_process(tmp_path, image_files):
    for case in ("nested 50,000 deep", "a nested list as a size"):
        path, expected = hostile_recipes(tmp_path)[case]
        result = cli(image_files["photo_small"], image_files["style"], "-o", tmp_path / "o.png", "--recipe", path)
        assert_one_line_error(result, expected)


def test_a_recipe_cannot_raise_the_input_limits(capfd, tmp_path, image_files):
    """Old recipes carried max_input_megapixels / max_input_bytes: they are ignored, the limits stay."""
    big = tmp_path / "big.png"
    big.write_bytes(png_bytes(8000, 6000, (b"\x00" + bytes(24000)) * 4))  # 48 MP: over the 40 MP default
    config = {**StyleConfig(size=64).to_dict(), "max_input_megapixels": 170.0, "max_input_bytes": 2_000_000_000}
    import json

    path = recipe_png(tmp_path, json.dumps({"config": config}))
    result = in_process(capfd, big, image_files["style"], "-o", tmp_path / "o.png", "--recipe", path)
    assert_one_line_error(result, "the limit is 40 megapixels")
    for key in ("max_size", "max_memory", "weights"):  # nor any other operator setting: unknown keys are refused
        path = recipe_png(tmp_path, json.dumps({"config": {"size": 64, key: 0}}), f"{key}.png")
        result = in_process(
            capfd, image_files["photo_small"], image_files["style"], "-o", tmp_path / "o.png", "--recipe", path
        )
        assert_one_line_error(result, f"unknown setting(s): {key}")


@pytest.mark.parametrize(
    ("styles", "args", "expected"),
    [
        (2, ["--style-blend", "1e308", "1e308"], "style_blend must add up to a finite number"),
        (1, ["--content-layers", *["block5_conv4"] * 1500], "content_layers must be one or more distinct"),
        (1, ["--seed", "7" * 5000], "invalid int value"),
    ],
    ids=["blend 1e308", "content layers x1500", "5000-digit seed"],
)
def test_hostile_flags_get_one_line_from_the_cli(styles, args, expected, capfd, tmp_path, image_files):
    style_files = [image_files["style"], image_files["style2"]][:styles]
    result = in_process(capfd, image_files["photo_small"], *style_files, "-o", tmp_path / "o.png", *args)
    assert_one_line_error(result, expected)


# ---------------------------------------------------------------- 7. the ecosystem: API footer, MCP


def test_the_footer_with_use_via_api_is_shown():
    assert "footer" not in layout.CSS, "the CSS hides Gradio's footer (it carries 'Use via API')"
    options = layout.launch_options()
    assert options.get("footer_links") is None, "launch() passes footer_links: some footer links are hidden"


def test_every_stylize_parameter_is_described_for_the_api_and_mcp(served):
    from gradio.utils import get_function_description

    fn = next(fn for fn in served.demo.fns.values() if fn.api_name == "stylize")
    _, parameters, returns = get_function_description(fn.fn)
    assert list(parameters) == list(web_requests.STYLIZE_PARAMETERS)
    undescribed = [name for name, text in parameters.items() if not text]
    assert not undescribed, f"no Args: line for {undescribed}"
    assert parameters["size"] == StyleConfig.__dataclass_fields__["size"].metadata["help"]
    assert returns


def needs_mcp() -> None:
    import os

    if os.environ.get("CI"):
        import mcp  # noqa: F401  (CI installs gradio[mcp] from requirements.txt: its absence is a failure there)
    else:
        pytest.importorskip(
            "mcp", reason="gradio[mcp] is not installed in this environment (pip install -r requirements.txt)"
        )


def test_mcp_serves_stylize_as_a_tool_through_the_queue(tmp_path, run_recorder):
    """The tool list (Gradio's schema route), then a real MCP session (streamable HTTP, loopback):
    images as data: URLs run to the final frame (Gradio's MCP layer returns only the last of a
    generator's frames), through the queue; a URL to fetch is refused. Its own server, closed at
    the end: a server's upload folder is the GRADIO_TEMP_DIR of the latest one started."""
    needs_mcp()
    with served_app(tmp_path, queue_size=4, concurrency=1, mcp=True, **LIMITS) as served:
        response = httpx.get(f"{served.url}gradio_api/mcp/schema", timeout=TIMEOUT)
        response.raise_for_status()
        (tool,) = response.json()
        assert tool["name"] == "stylize" and tool["meta"]["endpoint_name"] == "stylize"
        schema = tool["inputSchema"]
        assert list(schema["properties"]) == list(web_requests.STYLIZE_PARAMETERS)
        assert schema["required"] == ["content", "style"]
        assert "uploaded to this app" in schema["properties"]["content"]["description"]
        assert schema["properties"]["content"]["type"] == "string"  # Gradio's MCP layer takes files as URLs
        done, refused = mcp_calls(f"{served.url}gradio_api/mcp/")
    assert not done.isError, done.content
    assert "**Done**" in done.content[0].text and len(run_recorder.runs) == 1
    assert refused.isError and "does not download files from URLs" in refused.content[0].text


def mcp_calls(url: str) -> tuple[Any, Any]:
    """Two calls of the stylize tool in one MCP session: a small run, and one with a URL to fetch."""
    import asyncio
    import base64

    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    image = "data:image/png;base64," + base64.b64encode(png_file(4)).decode()

    async def calls() -> tuple[Any, Any]:
        async with streamable_http_client(url) as (read, write, _), ClientSession(read, write) as session:
            await session.initialize()
            done = await session.call_tool(
                "stylize", {"content": image, "style": image, "size": SMALL, "preset": "fast", "steps": 2}
            )
            refused = await session.call_tool("stylize", {"content": "https://example.com/a.png", "style": image})
            return done, refused

    return asyncio.run(calls())


def test_the_requirements_install_gradio_with_its_mcp_extra():
    from packaging.requirements import Requirement

    root = Path(__file__).resolve().parent.parent
    for name in ("requirements.txt", "requirements-gpu.txt"):
        lines = (root / name).read_text().splitlines()
        (gradio,) = [Requirement(line) for line in lines if line.startswith("gradio")]
        assert gradio.extras == {"mcp"} and str(gradio.specifier) == "==6.31.0", name


# ---------------------------------------------------------------- 6. the time limit


@pytest.mark.slow
def test_a_long_request_ends_within_the_time_limit_with_its_png(tmp_path, example_files):
    """STYLE_TRANSFER_MAX_SECONDS: a run that would take minutes is re-planned as it goes and ends in
    time with a PNG, saying so. (The issue's numbers, 20 s for best at 1024 px, are measured by hand:
    see the README's settings table; here 8 s for best at 768 px keeps the test short. At 512 px a CPU
    with AMX runs best in ~20 s, too close to the limit for the test to prove anything.)"""
    limit, size = 8.0, 768
    with served_app(
        tmp_path, max_seconds=limit, **{k: v for k, v in LIMITS.items() if k != "max_input_bytes"}
    ) as served:
        estimate = served.runner.check(example_files[0], [example_files[1]], StyleConfig(size=size, preset="best"))
        assert estimate.seconds > 3 * limit, "not a long request on this machine: the test proves nothing"
        client = served.client()
        # seconds=0: the preset's 120 steps, cut by the limit; a budget over the limit is cut to the
        # limit before planning.
        for seconds in (0, 3000):
            start = time.monotonic()
            job = client.submit(
                handle_file(example_files[0]),
                handle_file(example_files[1]),
                size=size,
                preset="best",
                seconds=seconds,
                api_name="/stylize",
            )
            image, progress, _, download, _ = job.result(timeout=TIMEOUT)
            took = time.monotonic() - start
            print(f"time limit {limit:g} s, seconds={seconds}: the job took {took:.1f} s; {progress}")
            assert took < limit * 1.25 + 1.0, f"the run took {took:.1f} s against a limit of {limit:g} s"
            assert progress.startswith("**Done**")
            assert max(Image.open(image).size) == size
            assert read_recipe(download)["config"]["preset"] == "best"
            if seconds == 0:
                assert "STYLE_TRANSFER_MAX_SECONDS" in progress, progress


@pytest.mark.browser
def test_in_a_browser_the_footer_shows_and_an_upload_gets_its_estimate(served, tmp_path):
    """Chromium uploads a photo through the page (the upload limits let a browser's request through)
    and the estimate line answers from its header; Gradio's footer, with "Use via API", is visible."""
    from tests.test_browser import CHROMIUM, CHROMIUM_ARGS

    playwright_api = pytest.importorskip("playwright.sync_api")
    photo = write_image(tmp_path / "photo.png", 9, (96, 72))
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(60_000)
            page.goto(served.url)  # this module's server: the session's app_server must not start in its temp dir
            page.get_by_role("heading", name="Neural style transfer").wait_for()
            footer = page.locator("footer").get_by_text("Use via API")
            footer.wait_for()
            assert footer.is_visible()
            page.locator("#content input[type=file]").set_input_files(str(photo))
            page.locator("#estimate").get_by_text("Estimate:").wait_for()
            size = web_requests.UI_DEFAULTS.size
            assert (
                f"{size}×{size * 3 // 4}" in page.locator("#estimate").inner_text()
            )  # the photo's 4:3, from its header
        finally:
            browser.close()
