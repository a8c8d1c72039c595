"""End to end in a real browser: Playwright for Python driving Debian's chromium.

Load the page, click an example, Run, watch the result change while it optimises, see
the final image, then Stop a second run. Then, on an app whose examples carry results made
earlier: pick one by its pictures, run, scrub the history, drag the before/after slider and
download the timelapse and a frame. Screenshots go to test-artifacts/ (gitignored).
"""

from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from style_transfer import read_recipe
from style_transfer.plan import fit_long_side
from style_transfer.regions import mask_from_record
from style_transfer.web import events
from tests.served_app import free_port, untrained_runner, wait_until

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 60_000


def open_page(url: str):
    """A chromium page on ``url`` once the app has rendered (a context manager's generator)."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"chromium not found at {CHROMIUM} (.ci/run installs Debian's chromium)")
    ARTIFACTS.mkdir(exist_ok=True)
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(url)
        page.get_by_role("heading", name="Neural style transfer").wait_for()
        try:
            yield page
        finally:
            browser.close()


@pytest.fixture
def page(app_server):
    yield from open_page(app_server.url)


def result_src(page) -> str | None:
    image = page.locator("#result img")
    return image.first.get_attribute("src") if image.count() else None


def record_result_changes(page) -> None:
    """Collect every src the result image takes, in order, as the DOM changes (no polling gaps)."""
    page.evaluate(
        """() => {
            window.resultSources = [];
            const note = () => {
                const img = document.querySelector('#result img');
                const src = img && img.getAttribute('src');
                const seen = window.resultSources;
                if (src && seen[seen.length - 1] !== src) seen.push(src);
            };
            new MutationObserver(note).observe(document.body, {
                subtree: true, childList: true, attributes: true, attributeFilter: ['src'],
            });
        }"""
    )


def progress(page) -> str:
    return page.locator("#progress").inner_text()


def set_number(page, name: str, value: int) -> None:
    box = page.locator(f"#control-{name} input[type=number]")
    box.fill(str(value))
    box.press("Enter")


def test_example_run_streams_then_finishes_and_stop_ends_a_second_run(page, app_server):
    page.screenshot(path=ARTIFACTS / "browser_0_loaded.png", full_page=True)
    page.get_by_text("Cat as stained glass").click()
    page.locator("#content img").wait_for()
    page.locator("#style img").wait_for()
    set_number(page, "size", 192)  # a run of a few seconds: several previews, about one a second
    page.locator("#estimate").get_by_text("Estimate:").wait_for()
    # The page's default is a time budget, set on load (/stylize's own default is the preset's steps).
    assert page.locator("#control-seconds input[type=number]").input_value() == "30"
    assert "30 s time budget" in page.locator("#estimate").inner_text()
    page.screenshot(path=ARTIFACTS / "browser_1_example.png", full_page=True)

    record_result_changes(page)
    page.locator("#run").click()
    page.locator("#result img").wait_for()
    page.screenshot(path=ARTIFACTS / "browser_2_streaming.png", full_page=True)
    page.locator("#progress").get_by_text("Done", exact=False).wait_for(timeout=120_000)
    final = result_src(page)
    seen = page.evaluate("window.resultSources")
    while_running = [src for src in seen if src != final]
    assert final and seen and seen[-1] == final
    assert len(while_running) >= 2, f"the result changed {len(while_running)} time(s) while running: {seen}"
    assert "stylized_" in final, "the final image should be the PNG with the recipe"
    page.screenshot(path=ARTIFACTS / "browser_3_done.png", full_page=True)

    # A second, long run (best preset at 256 px), stopped after its first frame.
    set_number(page, "size", 256)
    page.locator("#control-preset").get_by_text("best").click()
    runs = app_server.runner.runs
    finished_before = runs.finished
    page.locator("#run").click()
    wait_until(lambda: runs.active == 1, 60, "the second run to start")
    wait_until(lambda: result_src(page) != final, 120, "a frame of the second run")
    page.locator("#stop").click()
    wait_until(lambda: runs.finished == finished_before + 1, 30, "the stopped run to end on the server")
    assert runs.active == 0
    assert "Done" not in progress(page), "the second run should have been stopped, not finished"
    page.screenshot(path=ARTIFACTS / "browser_4_stopped.png", full_page=True)

    page.get_by_text("Advanced", exact=True).click()
    page.locator("#control-style_layers").wait_for()
    page.screenshot(path=ARTIFACTS / "browser_5_advanced.png", full_page=True)


# ---------------------------------------------------------------- after a run: history, before/after, downloads


@pytest.fixture
def results_app(tmp_path, monkeypatch):
    """The app with examples whose first pair names a result made earlier (a stand-in picture here)."""
    from style_transfer.web import events, layout, results

    pairs = [
        {key: p[key] for key in ("title", "content", "style")} for p in json.loads(events.PAIRS_FILE.read_text())[:4]
    ]
    for name in {p[key] for p in pairs for key in ("content", "style")}:
        shutil.copy(results.EXAMPLES_DIR / name, tmp_path / name)
    with Image.open(tmp_path / pairs[0]["content"]) as photo, Image.open(tmp_path / pairs[0]["style"]) as style:
        Image.blend(photo.convert("RGB"), style.convert("RGB").resize(photo.size), 0.5).save(tmp_path / "result.jpg")
    pairs[0]["result"] = "result.jpg"
    (tmp_path / "pairs.json").write_text(json.dumps(pairs))
    monkeypatch.setattr(events, "PAIRS_FILE", tmp_path / "pairs.json")
    demo = layout.build_demo(untrained_runner())
    port = free_port()
    options = layout.launch_options()
    options["allowed_paths"] = [*options["allowed_paths"], str(tmp_path)]
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True, **options)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


@pytest.fixture
def results_page(results_app):
    yield from open_page(results_app)


def compare_sources(page) -> list[str | None]:
    images = page.locator("#compare img")
    return [images.nth(i).get_attribute("src") for i in range(images.count())]


def drag(page, locator, from_fraction: float, to_fraction: float) -> None:
    """Press on ``locator`` at a fraction of its width and move to another, as a hand would."""
    locator.scroll_into_view_if_needed()
    box = locator.bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * from_fraction, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * to_fraction, y, steps=10)
    page.mouse.up()


def test_pick_a_picture_example_run_scrub_compare_and_download(results_page, tmp_path):
    page = results_page
    shot = lambda name: page.screenshot(path=ARTIFACTS / f"results_{name}.png", full_page=True)  # noqa: E731
    cards = page.locator("#pairs tr.tr-body")
    cards.last.locator("img").first.wait_for()
    assert cards.count() == 4 and cards.first.locator("img").count() == 3, "photo, style and result pictures"
    shot("0_loaded")

    cards.first.click()
    page.locator("#content img").wait_for()
    page.locator("#style img").wait_for()
    page.locator("#compare").get_by_text("Made earlier with ImageNet weights").wait_for()
    assert compare_sources(page)[1].endswith("result.jpg"), "the earlier result shows at once"
    shot("1_example_result")

    first = json.loads(events.PAIRS_FILE.read_text())[0]
    with Image.open(events.PAIRS_FILE.parent / first["content"]) as photo:
        first_photo_size = photo.size
    set_number(page, "size", 128)
    page.locator("#estimate").get_by_text("Estimate:").wait_for()
    page.locator("#run").click()
    page.locator("#result img").wait_for()  # the live image is back in place of the before/after
    assert not page.locator("#compare").is_visible()
    shot("2_streaming")
    page.locator("#progress").get_by_text("Done", exact=False).wait_for(timeout=120_000)
    page.locator("#frame-info").get_by_text("(the result)").wait_for()
    page.locator("#compare").get_by_text("Before / after").wait_for()
    kept = int(page.locator("#scrubber input[type=number]").input_value())
    assert kept >= 3, f"only {kept} frames kept from a run of several seconds"
    before, final = compare_sources(page)
    shot("3_done")

    drag(page, page.locator("#scrubber input[type=range]"), 0.99, 0.15)
    page.wait_for_function("() => !document.querySelector('#frame-info').innerText.includes('(the result)')")
    assert 1 <= int(page.locator("#scrubber input[type=number]").input_value()) < kept
    wait_until(lambda: compare_sources(page)[1] != final, 30, "the before/after to show the picked frame")
    assert compare_sources(page)[0] == before, "the photo side stays"

    def shown_step() -> int:
        found = re.search(r"Step (\d+)/", page.locator("#frame-info").inner_text())
        assert found, "the frame's caption names no step"
        return int(found.group(1))

    def downloaded_step() -> int:
        with page.expect_download() as frame_download:
            page.locator("#download-frame").click()
        frame_download.value.save_as(tmp_path / "frame.png")
        return read_recipe(tmp_path / "frame.png")["step"]

    # The drag sent several values; the last one's caption and PNG arrive together.
    wait_until(lambda: downloaded_step() == shown_step(), 30, "the frame's PNG to match its caption")
    shot("4_scrubbed")

    handle = page.locator("#compare [data-testid=slider]")
    clip_before = page.locator("#compare img").nth(1).get_attribute("style")
    drag(page, page.locator("#compare .content"), 0.5, 0.85)
    wait_until(lambda: page.locator("#compare img").nth(1).get_attribute("style") != clip_before, 10, "the handle")
    assert handle.is_visible()
    shot("5_before_after_dragged")

    with page.expect_download() as timelapse_download:
        page.locator("#download-timelapse").click()
    timelapse = tmp_path / "timelapse.webp"
    timelapse_download.value.save_as(timelapse)
    with Image.open(timelapse) as animation:
        assert animation.format == "WEBP" and animation.size == fit_long_side(first_photo_size, 128)
        assert 2 <= getattr(animation, "n_frames", 1) <= kept
    assert read_recipe(timelapse)["config"]["size"] == 128
    page.locator("#continue").scroll_into_view_if_needed()
    assert "128 px" in page.locator("#continue").inner_text() and "256 px" in page.locator("#refine").inner_text()


# ---------------------------------------------------------------- the brush (issue 17)


def paint_stroke(page, editor, top: float, bottom: float) -> None:
    """Brush strokes across the editor's canvas between two heights (fractions of it), back and forth,
    inside the photo (a stroke that starts on the canvas's margin paints nothing)."""
    editor.get_by_role("button", name="Brush", exact=True).click()
    box = editor.locator("canvas").first.bounding_box()
    x, y, width, height = box["x"], box["y"], box["width"], box["height"]
    rows = [top + (bottom - top) * i / 4 for i in range(5)]
    page.mouse.move(x + width * 0.2, y + height * rows[0])
    page.mouse.down()
    for i, row in enumerate(rows):
        ends = (0.2, 0.8) if i % 2 == 0 else (0.8, 0.2)
        page.mouse.move(x + width * ends[0], y + height * row, steps=4)
        page.mouse.move(x + width * ends[1], y + height * row, steps=20)
    page.mouse.up()


def test_paint_a_stroke_run_and_the_painted_part_changes_more(page, tmp_path):
    """Paint the top of the photo, run: the painted part takes the style, the rest stays the photo."""
    page.get_by_text("Cat as stained glass").click()
    page.locator("#content img").wait_for()
    editor = page.locator("#mask-editor")
    editor.scroll_into_view_if_needed()
    editor.locator("canvas").first.wait_for()
    paint_stroke(page, editor, 0.1, 0.4)
    page.locator("#mask-summary").get_by_text("gets the style; the rest keeps the photo", exact=False).wait_for()
    page.screenshot(path=ARTIFACTS / "brush_1_painted.png", full_page=True)
    page.locator("#estimate").get_by_text("a mask: the style where painted", exact=False).wait_for()

    set_number(page, "size", 128)
    page.locator("#run").click()
    page.locator("#progress").get_by_text("Done", exact=False).wait_for(timeout=180_000)
    page.screenshot(path=ARTIFACTS / "brush_2_done.png", full_page=True)
    final = result_src(page)
    assert final and "stylized_" in final
    url = final if final.startswith("http") else page.url.rstrip("/") + "/" + final.lstrip("/")
    (tmp_path / "result.png").write_bytes(httpx.get(url, timeout=30).content)
    recipe = read_recipe(tmp_path / "result.png")
    with Image.open(io.BytesIO(mask_from_record(recipe["mask"]))) as used:
        mask = np.asarray(used, np.float32) / 255.0
    with (
        Image.open(tmp_path / "result.png") as result,
        Image.open(events.PAIRS_FILE.parent / "content_cat.jpg") as photo,
    ):
        stylised = np.asarray(result.convert("RGB"), np.float32)
        change = np.abs(stylised - np.asarray(photo.convert("RGB").resize(result.size), np.float32)).mean(axis=2)
    painted, unpainted = change[mask > 0.9].mean(), change[mask < 0.1].mean()
    assert 0.1 < (mask > 0.5).mean() < 0.6, "the mask is the stroke over the top of the photo"
    assert painted > 2 * unpainted, (painted, unpainted)
