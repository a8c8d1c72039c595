"""The page's "Your results" gallery, its browser-side list, and "Share this result" (gradio side).

keep.py decides what is kept where (and checks what the browser sends back); this module lays out
the parts and wires them: a finished run joins the list (in the visitor's browser, gr.BrowserState),
the gallery shows it, a click brings a result back into the before/after view, and Share makes a
link (``?result=<token>``) that opens the page with that result shown.

Why not gr.DeepLinkButton: its link replays every component the session's events touched, which
here includes this list (every recipe and thumbnail of the visit) and the gallery: sharing one
result would publish all of them. A link to one copied result shares that result only.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import gradio as gr
from gradio.events import Dependency

from . import keep
from .events import show_result
from .results import LastRun

STORAGE_KEY = "style-transfer-your-results"
# Fixed rather than random per process, so a restarted server still reads what browsers stored.
# It protects nothing (the page itself hands it to the browser); Gradio encrypts localStorage with it.
STORAGE_SECRET = "style-transfer-your-results-v1"
SHARE_HOURS = keep.SHARE_SECONDS // 3600
# Process-wide: a reload is a new session, and must still find the runs of the hour and the shares.
RESULTS = keep.ResultStore()
SHARES = keep.ShareStore(Path(tempfile.gettempdir()) / "style_transfer_shares")  # not Gradio's cache (an hour)
GONE = "its full-size files are gone from the server (it keeps them an hour): here are its thumbnails and recipe"
# Hands the share token to the browser's own address: the link is the page the visitor is on (a Space's
# own *.hf.space address), its query string replaced (on a Space it holds a signed session: never share it).
SHARE_LINK_JS = """(token) => {
    if (!token || token.startsWith("http")) return token;
    const url = new URL(window.location.href);
    url.search = "";
    url.hash = "";
    url.searchParams.set("result", token);
    const link = url.toString();
    if (navigator.clipboard) navigator.clipboard.writeText(link).catch(() => {});
    return link;
}"""


def results_panel() -> dict[str, Any]:
    """The gallery of this browser's results, the Forget button, the recipe in view; and the list itself."""
    with gr.Group(elem_id="your-results-panel"):
        gallery = gr.Gallery(
            label="Your results: kept in this browser only (click one to see it again)",
            columns=8,
            fit_columns=False,  # a first result is a thumbnail, not a banner
            height=180,
            object_fit="cover",
            allow_preview=False,
            interactive=False,
            elem_id="your-results",
        )
        with gr.Accordion("Recipe of the result in view", open=False):
            recipe = gr.JSON(label="Recipe", elem_id="recipe-in-view")
        forget = gr.Button("Forget these results (in this browser)", size="sm", elem_id="forget-results")
    kept = gr.BrowserState([], storage_key=STORAGE_KEY, secret=STORAGE_SECRET)
    return {"kept": kept, "gallery": gallery, "recipe": recipe, "forget": forget}


def share_link_box() -> gr.Textbox:
    return gr.Textbox(
        label=f"Link to this result: it works for {SHARE_HOURS} hours (not after the server restarts)",
        visible=False,
        interactive=False,
        buttons=["copy"],
        elem_id="share-link",
    )


# ---------------------------------------------------------------- the events


def gallery_items(entries: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(thumbnail file, caption) for each entry; the thumbnails go to Gradio's cache (aged out with it)."""
    items = []
    for entry in entries:
        try:
            data = keep.thumbnail_bytes(entry["result"])
        except ValueError:
            continue  # checked_list let it through, but it is not a picture after all
        items.append((_cached(data, "result.jpg"), entry["caption"]))  # no id in a URL: ids are keys
    return items


def _cached(data: bytes, name: str) -> str:
    return gr.processing_utils.save_bytes_to_cache(data, name, gr.utils.get_upload_folder())


def load_results(kept: Any) -> list[tuple[str, str]]:
    """On page load: the gallery of what this browser kept."""
    return gallery_items(keep.checked_list(kept))


def add_result(store: keep.ResultStore, last_run: Any, kept: Any) -> tuple[Any, ...]:
    """After a run: it joins the list (first) and the gallery; the recipe in view is its own."""
    if not isinstance(last_run, LastRun):
        return gr.skip(), gr.skip(), gr.skip(), gr.skip()
    run_id = store.add(last_run)
    entries = keep.with_new_entry(keep.entry_for(last_run, run_id), kept)
    return entries, gallery_items(entries), last_run.recipe, gr.update(value="", visible=False)


def show_kept(store: keep.ResultStore, max_size: int, kept: Any, selection: gr.SelectData) -> tuple[Any, ...]:
    """A click in the gallery: that result back in the before/after view, whole if the server still has it."""
    entries = keep.checked_list(kept)
    index = selection.index if isinstance(selection.index, int) else -1
    if not 0 <= index < len(entries):
        return (gr.skip(),) * len(SHOWN_KEPT)
    entry, run = entries[index], store.get(entries[index]["id"])
    hide_link = gr.update(value="", visible=False)
    if run is not None:
        progress = (
            f"**Your result** · {entry['caption']}: before/after, history, Continue, Refine and Share work again."
        )
        return (*show_result(run, max_size), run, run.png, run.timelapse, entry["recipe"], progress, hide_link)
    try:
        pair = (
            _cached(keep.thumbnail_bytes(entry["photo"]), "photo.jpg"),
            _cached(keep.thumbnail_bytes(entry["result"]), "result.jpg"),
        )
    except ValueError:
        return (gr.skip(),) * len(SHOWN_KEPT)
    compare = gr.update(value=pair, visible=True, label="Your result (thumbnail) · before / after")
    hidden = gr.update(visible=False)
    live = (gr.update(visible="hidden"), compare, hidden, hidden)
    skipped = (gr.skip(),) * 6  # scrubber .. refine, and last_run: nothing of this run is on the server
    return (*live, *skipped, None, None, entry["recipe"], f"**Your result** · {entry['caption']}: {GONE}.", hide_link)


# What show_kept updates, in order: the result area as show_result shows it, then these.
SHOWN_KEPT = (
    *("image", "compare", "history", "follow_up", "scrubber", "frame_info", "frame_png", "continue", "refine"),
    *("last_run", "download", "timelapse", "recipe", "progress", "share_link"),
)


def share_result(shares: keep.ShareStore, last_run: Any) -> Any:
    """Share: copy the result in view; the token (the browser turns it into the page's address)."""
    if not isinstance(last_run, LastRun):
        raise gr.Error("run once first: Share shares the result in view", print_exception=False)
    return gr.update(value=shares.share(last_run), visible=True)


def restore_shared(shares: keep.ShareStore, request: gr.Request) -> tuple[Any, ...]:
    """Page load with ``?result=<token>``: that shared result in the before/after view, its PNG and recipe."""
    token = request.query_params.get("result") if request is not None else None
    if not token:
        return (gr.skip(),) * len(SHOWN_SHARED)
    shared = shares.get(token)
    if shared is None:
        gone = "**This shared result is no longer on this server** (links work for a day, and not after a restart)."
        return (*(gr.skip(),) * (len(SHOWN_SHARED) - 1), gone)
    compare = gr.update(value=(shared.photo, shared.png), visible=True, label="Shared result · before / after")
    hidden = gr.update(visible=False)
    progress = (
        f"**Shared result** · {keep.caption(shared.recipe)}. Download its PNG and drop it on *Reuse the settings "
        "of an earlier result* to use its settings with your own photo."
    )
    return gr.update(visible="hidden"), compare, hidden, hidden, shared.png, shared.recipe, progress


SHOWN_SHARED = ("image", "compare", "history", "follow_up", "download", "recipe", "progress")


def forget_results() -> tuple[list[Any], list[Any]]:
    return [], []


# ---------------------------------------------------------------- wiring


def wire_keeping(runs: list[Dependency], outputs: dict[str, Any], max_size: int) -> None:
    """A finished run joins the list; a gallery click shows one; Share links one; Forget empties the list."""
    private: dict[str, Any] = {"api_visibility": "private", "show_progress": "hidden"}
    kept, link = outputs["kept"], outputs["share_link"]

    def add(last_run: Any, kept_now: Any) -> tuple[Any, ...]:
        return add_result(RESULTS, last_run, kept_now)

    def select(kept_now: Any, selection: gr.SelectData) -> tuple[Any, ...]:
        return show_kept(RESULTS, max_size, kept_now, selection)

    def share(last_run: Any) -> Any:
        return share_result(SHARES, last_run)

    added = [outputs[name] for name in ("kept", "gallery", "recipe")] + [link]
    for event in runs:
        event.success(add, inputs=[outputs["last_run"], kept], outputs=added, **private)
    outputs["gallery"].select(select, inputs=kept, outputs=[outputs[name] for name in SHOWN_KEPT], **private)
    outputs["share"].click(share, inputs=outputs["last_run"], outputs=link, **private).then(
        None, inputs=link, outputs=link, js=SHARE_LINK_JS, **private
    )
    outputs["forget"].click(forget_results, outputs=[kept, outputs["gallery"]], **private)


def wire_page_load(demo: gr.Blocks, outputs: dict[str, Any]) -> None:
    """On every page load: the gallery from this browser's list, and a shared result if the address names one."""

    def restore(request: gr.Request) -> tuple[Any, ...]:
        return restore_shared(SHARES, request)

    private: dict[str, Any] = {"api_visibility": "private", "show_progress": "hidden", "queue": False}
    demo.load(load_results, inputs=outputs["kept"], outputs=outputs["gallery"], **private)
    demo.load(restore, outputs=[outputs[name] for name in SHOWN_SHARED], **private)
