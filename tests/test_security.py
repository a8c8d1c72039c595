"""Security: the API reads only files it was sent, and a request cannot choose the weights.

Path-traversal and absolute-path payloads go to the file inputs of /stylize both through
gradio_client and as raw HTTP (the /gradio_api/call route, the /gradio_api/file= route and
the upload route). Besides /etc/passwd, each payload also targets a valid PNG outside the
upload dir: had the server accepted the path, that job would have run, so a refusal is
proven by no file outside the upload dir ever reaching the engine's image loader.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import httpx
import pytest
from gradio_client import handle_file

from style_transfer import StyleTransferError
from tests.served_app import SMALL, served_app, write_image

PASSWD_MARK = "root:x:0:0"
META = {"_type": "gradio.FileData"}
TIMEOUT = 60


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("security")
    write_image(root / "secret.png", 11)  # a valid image the server was never sent
    with served_app(root / "server", queue_size=8, concurrency=1) as served:
        yield served


@pytest.fixture(scope="module")
def uploaded_style(served) -> dict[str, Any]:
    """A style image uploaded the normal way, so only the content payload is hostile."""
    path = write_image(served.root / "style.png", 12)
    with path.open("rb") as f:
        response = httpx.post(f"{served.url}gradio_api/upload", files=[("files", ("style.png", f))], timeout=TIMEOUT)
    response.raise_for_status()
    return {"path": response.json()[0], "orig_name": "style.png", "meta": META}


@pytest.fixture
def opened_sources(monkeypatch) -> list[str]:
    """Every source the engine's image loader is asked to open."""
    from style_transfer import image

    opened: list[str] = []
    real_load = image.load_image

    def recording_load(source, *args, **kwargs):
        opened.append(str(source))
        return real_load(source, *args, **kwargs)

    monkeypatch.setattr(image, "load_image", recording_load)
    return opened


def hostile_payloads(served) -> dict[str, Any]:
    secret = served.root.parent / "secret.png"
    upload_dir = served.upload_dir
    depth = "../" * len(upload_dir.parts)
    port = served.url.rstrip("/").rsplit(":", 1)[1]

    def file_data(path: str, **extra: Any) -> dict[str, Any]:
        return {"path": path, "meta": META, **extra}

    return {
        "plain absolute path": "/etc/passwd",
        "absolute path": file_data("/etc/passwd"),
        "relative traversal": file_data(f"{depth}etc/passwd"),
        "traversal out of the upload dir": file_data(f"{upload_dir}/{depth}etc/passwd"),
        "file:// URL as path": file_data("file:///etc/passwd"),
        "file:// URL in url": file_data("/etc/passwd", url="file:///etc/passwd"),
        "no meta (old FileData)": {"path": "/etc/passwd"},
        "no meta, image outside the upload dir": {"path": str(secret)},
        "no meta, traversal to an image": {"path": f"{upload_dir}/../../secret.png", "orig_name": "a.png"},
        "image outside the upload dir": file_data(str(secret)),
        "traversal to an image": file_data(f"{upload_dir}/../../secret.png"),
        "relative path to an image": file_data(str(Path(depth) / str(secret).lstrip("/"))),
        "the app's own source": file_data(str(Path(__file__).resolve().parents[1] / "app.py")),
        "loopback URL (SSRF)": file_data(f"http://127.0.0.1:{port}/gradio_api/file=/etc/passwd"),
        "loopback URL to an image": file_data(f"http://127.0.0.1:{port}/gradio_api/file={secret}"),
    }


CASES = [
    "plain absolute path",
    "absolute path",
    "relative traversal",
    "traversal out of the upload dir",
    "file:// URL as path",
    "file:// URL in url",
    "no meta (old FileData)",
    "no meta, image outside the upload dir",
    "no meta, traversal to an image",
    "image outside the upload dir",
    "traversal to an image",
    "relative path to an image",
    "the app's own source",
    "loopback URL (SSRF)",
    "loopback URL to an image",
]


def assert_only_uploads_were_opened(served, opened: list[str]) -> None:
    upload_dir = served.upload_dir.resolve()
    outside = [s for s in opened if not Path(s).resolve().is_relative_to(upload_dir)]
    assert not outside, f"the engine opened files it was not sent: {outside}"


def api_data(served, content: Any, style: Any) -> list[Any]:
    """The full /stylize data list: hostile content, a real style, small size, defaults for the rest."""
    info = httpx.get(f"{served.url}gradio_api/info", timeout=TIMEOUT).json()
    parameters = info["named_endpoints"]["/stylize"]["parameters"]
    data = [p.get("parameter_default") for p in parameters]
    names = [p["parameter_name"] for p in parameters]
    data[0], data[1] = content, style
    data[names.index("size")], data[names.index("preset")] = SMALL, "fast"
    if "steps" in names:
        data[names.index("steps")] = 2
    return data


def call_raw(served, data: list[Any]) -> tuple[str, str]:
    """POST /gradio_api/call/stylize, then read its event stream: (last event name, whole stream)."""
    response = httpx.post(f"{served.url}gradio_api/call/stylize", json={"data": data}, timeout=TIMEOUT)
    if response.status_code != 200:
        return f"http {response.status_code}", response.text
    event_id = response.json()["event_id"]
    stream = httpx.get(f"{served.url}gradio_api/call/stylize/{event_id}", timeout=TIMEOUT).text
    events = [line.removeprefix("event:").strip() for line in stream.splitlines() if line.startswith("event:")]
    return (events[-1] if events else "none"), stream


@pytest.mark.parametrize("case", CASES)
def test_raw_api_refuses_files_it_was_not_sent(served, uploaded_style, opened_sources, run_recorder, case):
    event, stream = call_raw(served, api_data(served, hostile_payloads(served)[case], uploaded_style))
    assert event != "complete", f"{case}: the job ran: {stream[:300]}"
    assert PASSWD_MARK not in stream
    assert not run_recorder.runs, f"{case}: the engine started a run"
    assert_only_uploads_were_opened(served, opened_sources)


def parameter_index(served, name: str) -> int:
    info = httpx.get(f"{served.url}gradio_api/info", timeout=TIMEOUT).json()
    return [p["parameter_name"] for p in info["named_endpoints"]["/stylize"]["parameters"]].index(name)


@pytest.mark.parametrize("place", ["init_image", "mask"])
@pytest.mark.parametrize("case", CASES)
def test_raw_api_refuses_start_images_and_masks_it_was_not_sent(
    served, uploaded_style, opened_sources, run_recorder, case, place
):
    """init_image (Continue / Refine's start image) and mask (where each style goes), /stylize's other file
    inputs, get the same payloads."""
    data = api_data(served, uploaded_style, uploaded_style)
    data[parameter_index(served, place)] = hostile_payloads(served)[case]
    event, stream = call_raw(served, data)
    assert event != "complete", f"{case}: the job ran: {stream[:300]}"
    assert PASSWD_MARK not in stream
    assert not run_recorder.runs, f"{case}: the engine started a run"
    assert_only_uploads_were_opened(served, opened_sources)


@pytest.mark.parametrize("case", CASES)
def test_client_api_refuses_files_it_was_not_sent(
    served, uploaded_style, opened_sources, run_recorder, case, monkeypatch
):
    """The same payloads from gradio_client, as a modified client would send them (no upload step)."""
    from gradio_client.client import Endpoint

    monkeypatch.setattr(Endpoint, "_upload_file", lambda self, f, data_index: f)
    client = served.client()
    content = hostile_payloads(served)[case]
    with pytest.raises(Exception) as refused:
        client.predict(content, uploaded_style, size=SMALL, preset="fast", api_name="/stylize")
    assert PASSWD_MARK not in str(refused.value)
    assert not run_recorder.runs, f"{case}: the engine started a run"
    assert_only_uploads_were_opened(served, opened_sources)


def test_client_url_to_a_loopback_file_is_refused(served, uploaded_style, opened_sources, run_recorder):
    """handle_file() with a URL is not uploaded by the client: the server must not fetch it itself."""
    client = served.client()
    url = f"{served.url}gradio_api/file=/etc/passwd"
    with pytest.raises(Exception) as refused:
        client.predict(handle_file(url), uploaded_style, size=SMALL, preset="fast", api_name="/stylize")
    assert PASSWD_MARK not in str(refused.value)
    assert not run_recorder.runs
    assert_only_uploads_were_opened(served, opened_sources)


def test_the_payloads_are_refused_for_the_path_not_the_format(served, uploaded_style, opened_sources, run_recorder):
    """Control: the same request with an uploaded content image runs, so the refusals above are real."""
    content = write_image(served.root / "content.png", 13)
    with content.open("rb") as f:
        path = httpx.post(f"{served.url}gradio_api/upload", files=[("files", ("c.png", f))], timeout=TIMEOUT).json()[0]
    event, stream = call_raw(served, api_data(served, {"path": path, "meta": META}, uploaded_style))
    assert event == "complete", stream[:500]
    assert len(run_recorder.runs) == 1
    assert_only_uploads_were_opened(served, opened_sources)


def file_route_paths(served) -> dict[str, str]:
    secret = served.root.parent / "secret.png"
    up = str(served.upload_dir)
    port = served.url.rstrip("/").rsplit(":", 1)[1]
    dots = "%2e%2e/" * 12  # percent-encoded so no client or proxy collapses them before the route sees them
    return {
        "absolute": "/etc/passwd",
        "encoded absolute": "%2Fetc%2Fpasswd",
        "relative traversal": f"{dots}etc/passwd",
        "encoded slashes": "..%2F" * 12 + "etc%2Fpasswd",
        "traversal out of the upload dir": f"{up}/{dots}etc/passwd",
        "image outside the upload dir": str(secret),
        "traversal to an image": f"{up}/%2e%2e/%2e%2e/secret.png",
        "the app's own source": str(Path(__file__).resolve().parents[1] / "app.py"),
        "the examples dir's parent": str(Path(__file__).resolve().parents[1] / "examples" / "%2e%2e" / "app.py"),
        "file:// URL": "file:///etc/passwd",
        "loopback URL (SSRF)": f"http://127.0.0.1:{port}/gradio_api/file=/etc/passwd",
    }


@pytest.mark.parametrize(
    "case",
    [
        "absolute",
        "encoded absolute",
        "relative traversal",
        "encoded slashes",
        "traversal out of the upload dir",
        "image outside the upload dir",
        "traversal to an image",
        "the app's own source",
        "the examples dir's parent",
        "file:// URL",
        "loopback URL (SSRF)",
    ],
)
def test_file_route_serves_nothing_outside_its_dirs(served, case):
    secret_bytes = (served.root.parent / "secret.png").read_bytes()
    for prefix in ("gradio_api/file=", "file="):
        response = httpx.get(f"{served.url}{prefix}{file_route_paths(served)[case]}", timeout=TIMEOUT)
        assert response.status_code != 200 or not response.content, f"{case} via /{prefix}: served"
        assert PASSWD_MARK not in response.text and secret_bytes not in response.content


def test_file_route_serves_uploads(served, uploaded_style):
    """Control: the route does serve what was uploaded, so the refusals above are not a dead route."""
    response = httpx.get(f"{served.url}gradio_api/file={uploaded_style['path']}", timeout=TIMEOUT)
    assert response.status_code == 200 and response.content.startswith(b"\x89PNG")


@pytest.mark.parametrize("name", ["../../../../escaped.png", "/tmp/escaped.png", "..\\..\\escaped.png"])
def test_uploads_stay_in_the_upload_dir(served, name):
    data = (served.root.parent / "secret.png").read_bytes()
    response = httpx.post(f"{served.url}gradio_api/upload", files=[("files", (name, data))], timeout=TIMEOUT)
    if response.status_code == 200:
        stored = Path(response.json()[0]).resolve()
        assert stored.is_relative_to(served.upload_dir.resolve()), f"upload stored at {stored}"
    assert not list(served.root.parent.rglob("escaped.png")) or all(
        p.resolve().is_relative_to(served.upload_dir.resolve()) for p in served.root.parent.rglob("escaped.png")
    )
    assert not Path("/tmp/escaped.png").exists()


# ------------------------------------------------------------------ weights: the operator's choice only


def test_no_request_parameter_chooses_the_weights(served):
    info = httpx.get(f"{served.url}gradio_api/info", timeout=TIMEOUT).json()
    endpoints = {**info["named_endpoints"], **info["unnamed_endpoints"]}
    for name, endpoint in endpoints.items():
        for parameter in endpoint["parameters"]:
            text = json.dumps(parameter).lower()
            assert parameter["parameter_name"] not in {"weights", "weights_spec", "model", "checkpoint"}, name
            assert not any(word in text for word in ("imagenet", "untrained", ".h5", "hf://")), (name, parameter)


def test_weights_are_fixed_at_start_up_not_read_per_request(served, uploaded_style, monkeypatch):
    """Changing STYLE_TRANSFER_WEIGHTS after start-up changes nothing: requests use what the operator loaded."""
    monkeypatch.setenv("STYLE_TRANSFER_WEIGHTS", str(served.root / "attacker.h5"))
    content = write_image(served.root / "content2.png", 14)
    client = served.client()
    result = client.predict(handle_file(str(content)), uploaded_style, size=SMALL, preset="fast", api_name="/stylize")
    assert result is not None


class _Marker:
    """Unpickling this creates a file: proof that a weights file was unpickled."""

    def __init__(self, path: Path):
        self.path = path

    def __reduce__(self):
        return (Path.touch, (self.path,))


@pytest.mark.parametrize("suffix", [".pkl", ".pt", ".npy", ".keras", ".h5.pkl", ""])
def test_only_h5_weights_load_and_nothing_is_unpickled(tmp_path, suffix):
    from style_transfer.weights import load_vgg19

    marker = tmp_path / "unpickled"
    weights = tmp_path / f"weights{suffix}"
    weights.write_bytes(pickle.dumps(_Marker(marker)))
    with pytest.raises(StyleTransferError, match=r"\.h5"):
        load_vgg19(str(weights))
    assert not marker.exists(), "the weights file was unpickled"
