"""Your results and Share in Chromium: two runs fill the gallery, a reload keeps them, another browser
(a second context: its own localStorage) sees none of them, and a share link opens the result there.

Screenshots go to test-artifacts/keep_*.png (gitignored).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from style_transfer import read_recipe
from style_transfer.web import keep, your_results
from tests.test_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS, set_number

pytestmark = pytest.mark.browser

PAIRS = ("Cat as stained glass", "Espresso as a Kandinsky composition", "Pointillist cat")


@pytest.fixture
def chromium(app_server, tmp_path, monkeypatch):
    """A browser; each new_context() is another visitor (own cookies and localStorage)."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"chromium not found at {CHROMIUM} (.ci/run installs Debian's chromium)")
    monkeypatch.setattr(your_results, "SHARES", keep.ShareStore(tmp_path / "shares"))
    ARTIFACTS.mkdir(exist_ok=True)
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def visit(browser, url: str):
    page = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True).new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(url)
    page.get_by_role("heading", name="Neural style transfer").wait_for()
    return page


def run_pair(page, title: str, results_after: int) -> None:
    """Pick an example, run it small and by steps (a few seconds), wait for it in Your results."""
    page.get_by_text(title).click()
    page.locator("#content img").wait_for()
    set_number(page, "size", 64)
    set_number(page, "seconds", 0)
    page.locator("#control-preset").get_by_text("fast").click()
    page.locator("#run").click()
    page.locator("#progress").get_by_text("Done", exact=False).wait_for(timeout=120_000)
    page.locator("#your-results .thumbnail-item").nth(results_after - 1).wait_for()


def gallery(page) -> list[str]:
    return page.locator("#your-results .thumbnail-item").all_inner_texts()


def stored(page) -> str | None:
    return page.evaluate(f"() => localStorage.getItem({json.dumps(your_results.STORAGE_KEY)})")


def test_your_results_survive_a_reload_stay_in_this_browser_and_a_share_link_shows_one(chromium, app_server, tmp_path):
    shot = lambda page, name: page.screenshot(path=ARTIFACTS / f"keep_{name}.png", full_page=True)  # noqa: E731
    mine = visit(chromium, app_server.url)
    run_pair(mine, PAIRS[0], 1)
    run_pair(mine, PAIRS[1], 2)
    assert len(gallery(mine)) == 2 and all("64×" in caption for caption in gallery(mine))
    assert 0 < len(stored(mine) or "") < keep.MAX_LIST_CHARS * 2, "kept in this browser, bounded"
    shot(mine, "1_two_runs")

    mine.reload()
    mine.locator("#your-results .thumbnail-item").nth(1).wait_for()
    assert len(gallery(mine)) == 2
    shot(mine, "2_reloaded")

    mine.locator("#your-results .thumbnail-item").nth(1).click()  # the older one: the cat
    mine.locator("#progress").get_by_text("Your result", exact=False).wait_for()
    mine.locator("#follow-up").wait_for()
    with mine.expect_download() as png_download:
        mine.locator("#download-png").click()
    png_download.value.save_as(tmp_path / "mine.png")
    assert read_recipe(tmp_path / "mine.png")["config"]["size"] == 64
    shot(mine, "3_clicked_the_older_one")

    mine.locator("#share").click()
    link_box = mine.locator("#share-link textarea, #share-link input").first
    mine.wait_for_function(
        "() => { const box = document.querySelector('#share-link textarea, #share-link input');"
        " return box && box.value.startsWith('http'); }"
    )
    link = link_box.input_value()
    assert re.fullmatch(re.escape(app_server.url) + r"\?result=[A-Za-z0-9_-]{22}", link), link
    shot(mine, "4_share_link")

    theirs = visit(chromium, link)  # another visitor, opening the link
    theirs.locator("#progress").get_by_text("Shared result", exact=False).wait_for()
    theirs.locator("#compare img").nth(1).wait_for()
    with theirs.expect_download() as shared_download:
        theirs.locator("#download-png").click()
    shared_download.value.save_as(tmp_path / "shared.png")
    assert read_recipe(tmp_path / "shared.png") == read_recipe(tmp_path / "mine.png"), "the shared result"
    # Their browser stores its own, empty list (encrypted by Gradio): one entry alone is over 10 kB.
    assert len(stored(theirs) or "") < 200 and gallery(theirs) == [], "none of my results in their browser"
    shot(theirs, "5_share_link_in_another_browser")

    run_pair(theirs, PAIRS[2], 1)
    assert len(gallery(theirs)) == 1, "their own run only"
    shot(theirs, "6_another_browsers_own_result")
    mine.reload()
    mine.locator("#your-results .thumbnail-item").nth(1).wait_for()
    assert len(gallery(mine)) == 2, "their run did not join my list"
