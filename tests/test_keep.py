"""Your results and Share without a browser: what the browser keeps (web/keep.py) and the events that fill
and read it (web/your_results.py). The browser's list is untrusted input: every check is tested."""

from __future__ import annotations

import base64
import io
import json
import os
import time
from pathlib import Path
from types import SimpleNamespace

import gradio as gr
import pytest
from PIL import Image

from style_transfer import StyleConfig, WeightsInfo, make_recipe, read_recipe, save_png
from style_transfer.timelapse import KeptFrame
from style_transfer.web import keep, your_results
from style_transfer.web.results import LastRun

UNTRAINED = WeightsInfo("untrained:0", True, "untrained VGG19 (seeded He-normal)")
PLAN = [((96, 72), 12), ((192, 144), 4)]


@pytest.fixture
def last_run(tmp_path) -> LastRun:
    """A finished run's files: a 1200x900 photo (EXIF: rotate), its 192x144 PNG with a recipe, two frames."""
    photo = tmp_path / "photo.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: shown rotated 90° clockwise, so upright it is 900x1200
    Image.new("RGB", (1200, 900), (200, 30, 30)).save(photo, exif=exif)
    recipe = make_recipe(StyleConfig(size=192, preset="fast"), UNTRAINED, plan=PLAN)
    png = tmp_path / "stylized_192x144.png"
    save_png(Image.new("RGB", (192, 144), (20, 90, 200)), png, recipe)
    frames = []
    for step in (8, 16):
        frame = tmp_path / f"frame_{step}.png"
        Image.new("RGB", (192, 144), (step, step, step)).save(frame)
        frames.append(KeptFrame(step // 8 - 1, step, 16, (192, 144), 1.0 / step, str(frame)))
    timelapse = tmp_path / "timelapse.webp"
    timelapse.write_bytes(b"RIFF")
    return LastRun(str(photo), (str(photo),), str(png), 192, recipe, tuple(frames), str(timelapse))


def jpeg_url(size: tuple[int, int], fmt: str = "JPEG") -> str:
    buffer = io.BytesIO()
    Image.new("RGB", size, (1, 2, 3)).save(buffer, format=fmt)
    return keep.THUMB_PREFIX + base64.b64encode(buffer.getvalue()).decode()


def entry(run_id: str = "a" * 16, **changes) -> dict:
    value = {"id": run_id, "made": "2026-12-05T10:00:00+00:00", "caption": "192×144 px · 16 steps"}
    thumbs = {"result": jpeg_url((64, 48)), "photo": jpeg_url((64, 48))}
    return value | {"recipe": {"config": {"size": 192}}} | thumbs | changes


# ---------------------------------------------------------------- what the browser keeps


def test_an_entry_holds_the_recipe_a_caption_and_two_small_upright_thumbnails_and_no_server_path(last_run):
    kept = keep.entry_for(last_run, "run-id-0123456789")
    assert keep.valid_entry(kept) and kept["recipe"] == last_run.recipe
    assert kept["caption"] == "192×144 px · 16 steps"
    with Image.open(io.BytesIO(keep.thumbnail_bytes(kept["photo"]))) as photo:
        assert photo.format == "JPEG" and photo.size == (96, keep.THUMB_SIDE), "upright (EXIF applied), long side 128"
    with Image.open(io.BytesIO(keep.thumbnail_bytes(kept["result"]))) as result:
        assert result.size == (keep.THUMB_SIDE, 96), "the 192x144 result, long side 128"
    text = json.dumps(kept)
    assert last_run.png not in text and last_run.content not in text and str(Path(last_run.png).parent) not in text
    assert len(text) < 20_000


def test_a_new_entry_goes_first_and_the_list_stays_bounded():
    earlier = [entry(f"{index:016d}") for index in range(keep.MAX_RESULTS)]
    kept = keep.with_new_entry(entry("n" * 16), earlier)
    assert len(kept) == keep.MAX_RESULTS and kept[0]["id"] == "n" * 16
    assert kept[-1]["id"] == f"{keep.MAX_RESULTS - 2:016d}", "the oldest one went"
    big = [entry(f"{index:016d}", result=jpeg_url((512, 512))) for index in range(keep.MAX_RESULTS)]
    size = len(json.dumps(keep.checked_list(big)))
    assert size <= keep.MAX_LIST_CHARS


@pytest.mark.parametrize(
    "bad",
    [
        "not a dict",
        {"id": "a" * 16},  # keys missing
        entry() | {"extra": 1},
        entry("../../etc/passwd"),
        entry(caption=1),
        entry(result="data:image/png;base64,AAAA"),  # not our thumbnail format
        entry(photo="https://elsewhere.example/x.jpg"),
        entry(result=keep.THUMB_PREFIX + "A" * keep.MAX_THUMB_CHARS),  # too long
        entry(recipe={"parent": {"x": "y" * keep.MAX_RECIPE_CHARS}}),
        entry(recipe=[]),
    ],
)
def test_what_the_browser_sends_back_is_checked_before_use(bad):
    assert keep.checked_list([bad, entry()]) == [entry()]


def test_a_list_that_is_not_a_list_or_is_nested_deeply_is_empty():
    deep: dict = {}
    for _ in range(5000):
        deep = {"parent": deep}
    assert keep.checked_list({"0": entry()}) == [] and keep.checked_list(None) == []
    assert keep.checked_list([entry(recipe=deep)]) == []


@pytest.mark.parametrize(
    ("url", "why"),
    [
        (keep.THUMB_PREFIX + "%%%%", "not base64"),
        (jpeg_url((64, 48), fmt="PNG"), "not a thumbnail"),  # PNG bytes under a JPEG prefix
        (jpeg_url((4000, 10)), "not a thumbnail"),  # larger than a thumbnail: refused from its header
    ],
)
def test_a_thumbnail_is_a_small_jpeg_or_refused(url, why):
    with pytest.raises(ValueError, match=why):
        keep.thumbnail_bytes(url)


# ---------------------------------------------------------------- what the server keeps


def test_the_result_store_finds_a_run_while_its_files_are_there(last_run):
    store = keep.ResultStore(capacity=2)
    first = store.add(last_run)
    assert keep.ID_PATTERN.fullmatch(first) and store.get(first) is last_run
    assert store.get("b" * 16) is None and store.get(None) is None and store.get(["list"]) is None
    Path(last_run.frames[0].path).unlink()  # Gradio's cache aged it out
    assert store.get(first) is None
    second = store.add(last_run)
    store.add(last_run)
    store.add(last_run)
    assert second not in store._runs, "the oldest go past the capacity"


def test_a_share_is_a_copy_under_a_random_token_with_the_photo_at_the_results_size(last_run, tmp_path):
    shares = keep.ShareStore(tmp_path / "shares")
    token = shares.share(last_run)
    assert keep.TOKEN_PATTERN.fullmatch(token)
    shared = shares.get(token)
    assert shared is not None and shared.recipe == last_run.recipe
    assert read_recipe(shared.png) == last_run.recipe
    with Image.open(shared.photo) as photo:
        assert photo.size == (192, 144)
    Path(last_run.png).unlink()
    assert shares.get(token) is not None, "a share outlives the run's own files"


@pytest.mark.parametrize("token", ["../" * 7 + "etc", "short", "A" * 23, None, 5, "a/b" + "c" * 19])
def test_a_malformed_share_token_finds_nothing(token, tmp_path):
    assert keep.ShareStore(tmp_path).get(token) is None


def test_shares_expire_and_the_oldest_go_past_the_capacity(last_run, tmp_path):
    shares = keep.ShareStore(tmp_path / "shares", seconds=3600, capacity=2)
    tokens = [shares.share(last_run) for _ in range(2)]
    old = time.time() - 7200
    os.utime(tmp_path / "shares" / tokens[0], (old, old))
    assert shares.get(tokens[0]) is None, "older than its lifetime"
    os.utime(tmp_path / "shares" / tokens[1], (time.time() - 60, time.time() - 60))
    newer = [shares.share(last_run) for _ in range(2)]
    assert sorted(p.name for p in (tmp_path / "shares").iterdir()) == sorted(newer)


# ---------------------------------------------------------------- the events


@pytest.fixture
def stores(tmp_path, monkeypatch):
    store, shares = keep.ResultStore(), keep.ShareStore(tmp_path / "shares")
    monkeypatch.setattr(your_results, "RESULTS", store)
    monkeypatch.setattr(your_results, "SHARES", shares)
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))
    return store, shares


def selection(index: int) -> gr.SelectData:
    return gr.SelectData(None, {"index": index, "value": None})


def test_a_finished_run_joins_the_list_and_the_gallery_first(last_run, stores):
    store, _ = stores
    kept, gallery, recipe, link = your_results.add_result(store, last_run, [entry()])
    assert [e["id"] for e in kept][1:] == [entry()["id"]] and recipe == last_run.recipe
    assert [caption for _, caption in gallery] == ["192×144 px · 16 steps", "192×144 px · 16 steps"]
    assert all(Path(path).is_file() for path, _ in gallery)
    assert link["visible"] is False
    assert store.get(kept[0]["id"]) is last_run


def test_a_click_brings_a_result_back_whole_while_the_server_has_it(last_run, stores):
    store, _ = stores
    kept, *_ = your_results.add_result(store, last_run, [])
    shown = dict(zip(your_results.SHOWN_KEPT, your_results.show_kept(store, 1024, kept, selection(0))))
    assert shown["last_run"] is last_run and shown["download"] == last_run.png
    assert shown["timelapse"] == last_run.timelapse
    assert shown["compare"]["value"] == (last_run.content, last_run.frames[-1].path)
    assert shown["follow_up"]["visible"] is True and shown["recipe"] == last_run.recipe


def test_a_click_on_an_older_result_shows_its_thumbnails_and_recipe(stores):
    store, _ = stores
    shown = dict(zip(your_results.SHOWN_KEPT, your_results.show_kept(store, 1024, [entry()], selection(0))))
    photo, result = shown["compare"]["value"]
    assert Path(photo).is_file() and Path(result).is_file()
    assert shown["follow_up"]["visible"] is False and shown["last_run"] == gr.skip(), "Continue needs files"
    assert shown["download"] is None
    assert shown["recipe"] == entry()["recipe"] and "gone from the server" in shown["progress"]


def test_a_click_past_the_list_changes_nothing(stores):
    store, _ = stores
    shown = your_results.show_kept(store, 1024, [entry()], selection(3))
    assert len(shown) == len(your_results.SHOWN_KEPT)
    assert all(value == gr.skip() for value in shown)


def test_share_then_open_the_link(last_run, stores):
    _, shares = stores
    token = your_results.share_result(shares, last_run)["value"]
    request = SimpleNamespace(query_params={"result": token})
    shown = dict(zip(your_results.SHOWN_SHARED, your_results.restore_shared(shares, request)))
    photo, png = shown["compare"]["value"]
    assert read_recipe(png) == last_run.recipe and shown["download"] == png and Path(photo).is_file()
    assert "Shared result" in shown["progress"] and shown["recipe"] == last_run.recipe
    gone = your_results.restore_shared(shares, SimpleNamespace(query_params={"result": "x" * 22}))
    assert "no longer on this server" in gone[-1]
    untouched = your_results.restore_shared(shares, SimpleNamespace(query_params={}))
    assert len(untouched) == len(your_results.SHOWN_SHARED)


def test_share_before_any_run_says_what_to_do(stores):
    with pytest.raises(gr.Error, match="run once first"):
        your_results.share_result(stores[1], None)


def test_the_space_card_gives_the_share_links_lifetime():
    from style_transfer import space_card
    from style_transfer.settings import OperatorSettings

    assert keep.SHARE_SECONDS == 24 * 3600 and space_card.SHARE_LIFETIME == "a day"
    body = space_card.space_card("alice/nst", OperatorSettings(), "cpu-basic", [])
    assert "a shared link works for a day" in body
