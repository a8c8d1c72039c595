"""End to end in a real browser: Playwright for Python driving Debian's chromium.

Load the page, click an example, Run, watch the result change while it optimises, see
the final image, then Stop a second run. Screenshots go to test-artifacts/ (gitignored).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.served_app import wait_until

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


@pytest.fixture
def page(app_server):
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"chromium not found at {CHROMIUM} (.ci/run installs Debian's chromium)")
    ARTIFACTS.mkdir(exist_ok=True)
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(app_server.url)
        page.get_by_role("heading", name="Neural style transfer").wait_for()
        try:
            yield page
        finally:
            browser.close()


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
