"""Every change this app makes to Gradio's own internals, in one place.

What Gradio does in these places is not configurable, so the app replaces these internals:

* a file input's payload model (a wrong shape gets a message instead of ``{"error": null}``);
* a file input's cache mover (a URL is refused, never fetched); the brush's editor is a file input too;
* the image editor's ``accept_blobs`` (it kept every image a client posted, for ever);
* the MCP server's ``pop_returned_state`` (Gradio 6.31 removes State outputs twice);
* ``route_utils.get_fn`` (an unknown event gets 404, not a 500 and a traceback);
* the multipart parser's ``parse`` (an upload part without a file name gets 400, not a 500 that
  leaves the request's files on disk);
* the demo's ``Queue.push`` (RunQueue: a queue per concurrency id, a share per client, and unread
  runs stopped);
* the MCP server's tool-call waits (a caller that disconnects stops its run).

tests/test_gradio_patches.py checks that the internals these rely on are still there, so an
upgrade of Gradio that moves them fails the tests with a message instead of the page.
"""

from __future__ import annotations

import asyncio
import time
import urllib.parse
import weakref
from collections.abc import Callable, MutableMapping, Sequence
from pathlib import Path
from typing import Any

import gradio as gr
import gradio_client.utils
import pydantic
from fastapi import HTTPException
from gradio.server_messages import ProcessCompletedMessage
from starlette.formparsers import MultiPartException

from ..settings import ENV_VARS
from .requests import NOT_A_FILE, STYLIZE_PARAMETERS, kind_of


def guard_file_inputs(demo: gr.Blocks) -> None:
    """Every file input of the app's events: a payload of the wrong shape gets a message that says so,
    and a URL is never fetched.

    Gradio checks a file payload's shape before any event function runs (even with
    preprocess=False), and raises an error whose text it does not show: the client got
    {"error": null}. It also downloads a payload naming an http(s) URL, with no size limit
    (max_file_size bounds uploads only). Both happen in the component, so both are changed there.
    """
    names: dict[int, str] = {}
    for fn in demo.fns.values():
        if fn.api_name == "stylize":
            names |= {block._id: name for block, name in zip(fn.inputs, STYLIZE_PARAMETERS)}
    blocks = {block._id: block for fn in demo.fns.values() for block in fn.inputs}
    for block in blocks.values():
        if isinstance(block, (gr.Image, gr.File, gr.ImageEditor)):
            role = names.get(block._id, "the brush" if isinstance(block, gr.ImageEditor) else "the file")
            block.data_model = _with_clear_message(block.data_model, role)
            block.async_move_resource_to_block_cache = _without_fetching(block, role)  # type: ignore[method-assign]


def _with_clear_message(model: Any, role: str) -> Any:
    """``model`` (a component's payload model) raising gr.Error with a message instead of pydantic's."""
    many = issubclass(model, gr.data_classes.GradioRootModel)
    expected = "must be a list of image files uploaded to this app" if many else NOT_A_FILE
    if model is gr.components.image_editor.EditorData:
        expected = "must be the image editor's value: a background, layers and a composite, each an uploaded file"

    class Checked(model):  # same fields and schema: the API's description does not change
        __doc__ = model.__doc__

        @classmethod
        def model_validate(cls, obj: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return super().model_validate(obj, *args, **kwargs)
            except pydantic.ValidationError:
                got = "a list holding something else" if many and isinstance(obj, list) else kind_of(obj)
                raise gr.Error(f"{role} {expected}; got {got}", print_exception=False) from None

    Checked.__name__ = Checked.__qualname__ = model.__name__
    return Checked


def _without_fetching(block: Any, role: str) -> Callable[..., Any]:
    """The component's cache mover, refusing URLs: a file must be uploaded (bounded by max_file_size).

    A URL of a file already uploaded here (``.../gradio_api/file=<path in the upload folder>``,
    what an MCP client's upload tool hands back) stands for that file and is not fetched.
    """
    move = block.async_move_resource_to_block_cache

    async def move_uploads_only(url_or_file_path: Any) -> str | None:
        if isinstance(url_or_file_path, str) and gradio_client.utils.is_http_url_like(url_or_file_path):
            uploaded = _uploaded_file_of_url(url_or_file_path)
            if uploaded is None:
                raise gr.Error(
                    f"{role}: this app does not download files from URLs; upload the file instead "
                    "(gradio_client: handle_file with a local path)",
                    print_exception=False,
                )
            url_or_file_path = uploaded
        return await move(url_or_file_path)

    return move_uploads_only


def _uploaded_file_of_url(url: str) -> str | None:
    """The uploaded file a ``/gradio_api/file=`` URL names, or None if it names anything else."""
    _, marker, rest = urllib.parse.urlsplit(url).path.partition("/gradio_api/file=")
    if not marker:
        return None
    path = Path(urllib.parse.unquote(rest)).resolve()
    upload_folder = Path(gr.utils.get_upload_folder()).resolve()
    return str(path) if path.is_relative_to(upload_folder) and path.is_file() else None


def keep_mcp_outputs_whole() -> None:
    """Gradio 6.31's MCP layer removes State outputs (the session's last run) from a queued tool
    call's result that gradio_client has already removed them from, so its ``pop`` fails ("pop index
    out of range") and every MCP call of /stylize errors. Remove them only while they are still there."""
    try:
        from gradio.mcp import GradioMCPServer
    except ImportError:  # gradio without the mcp extra: no MCP server to fix
        return

    def pop_returned_state(components: Sequence[Any], data: Any) -> list:
        if len(data) != len(components):  # already without State values (the queued path)
            return data
        return [value for component, value in zip(components, data) if not isinstance(component, gr.State)]

    GradioMCPServer.pop_returned_state = staticmethod(pop_returned_state)  # type: ignore[method-assign]


def keep_no_editor_blobs() -> None:
    """gr.ImageEditor's browser side posts its background, composite and layers to the component's
    ``accept_blobs`` after every stroke, and Gradio 6.31 keeps each in memory (``blob_storage``, per
    component, shared by every visitor) until an event's payload names it by id. The events of this page
    never do: they carry the editor's images as files it uploads (measured in Chromium: every change and
    every read sent uploaded files, no id), so each stroke leaked its images, and any client could post
    blobs without end. Nothing is kept now; a post over the JSON routes' bound (64 kB: a background, a
    composite) is refused before it is read, which the editor's events do not depend on."""
    editor = gr.ImageEditor
    if getattr(editor.accept_blobs, "keeps_nothing", False):
        return

    def accept_blobs(self: Any, data: Any) -> None:
        return None

    accept_blobs._is_server_fn = True  # type: ignore[attr-defined]  # what gradio's @server sets
    accept_blobs.keeps_nothing = True  # type: ignore[attr-defined]
    editor.accept_blobs = accept_blobs  # type: ignore[method-assign,assignment]


# ---------------------------------------------------------------- unknown events, nameless uploads


def refuse_unknown_events() -> None:
    """An event index or API name the app does not have gets 404 with a message, not a 500 and a
    traceback in the log per call (Gradio looks it up with ``fns[fn_index]``: a KeyError). It is
    checked before Gradio looks up the caller's session, which would create one for the request."""
    get_fn = gr.route_utils.get_fn
    if getattr(get_fn, "refuses_unknown_events", False):
        return  # already in place (one process may build several demos)

    def known_fn(blocks: gr.Blocks, api_name: str | None, body: Any) -> Any:
        if body.fn_index is not None and body.fn_index not in blocks.fns:
            raise HTTPException(status_code=404, detail=f"this app has no event with fn_index {body.fn_index}")
        try:
            return get_fn(blocks, api_name, body)
        except gr.route_utils.FnIndexInferError:
            raise HTTPException(status_code=404, detail=f"this app has no API endpoint /{api_name}") from None

    known_fn.refuses_unknown_events = True  # type: ignore[attr-defined]
    gr.route_utils.get_fn = known_fn


def refuse_nameless_upload_parts() -> None:
    """An upload part without a filename is a form field, not a file: Gradio's upload route then
    fails with a TypeError (500) after writing the request's other files to disk, where they stay.
    Such an upload (and one naming a file "..", which fails the same way) is refused with 400, and
    the files it carried are deleted."""
    parser = gr.route_utils.GradioMultiPartParser
    parse = parser.parse
    if getattr(parse, "refuses_nameless_parts", False):
        return

    async def parse_files_only(self: Any) -> Any:
        form = await parse(self)
        if self.upload_dir is None:  # not the upload route (the component server keeps fields)
            return form
        files = form.getlist("files")
        if all(isinstance(f, gr.route_utils.GradioUploadFile) and Path(f.filename or "x").name != ".." for f in files):
            return form
        for _, value in form.multi_items():
            if isinstance(value, gr.route_utils.GradioUploadFile):
                value.file.close()
                Path(value.file.name).unlink(missing_ok=True)
        raise MultiPartException('each "files" part of an upload must be a file with a name (filename="photo.jpg")')

    parse_files_only.refuses_nameless_parts = True  # type: ignore[attr-defined]
    parser.parse = parse_files_only  # type: ignore[method-assign]


# ---------------------------------------------------------------- the run queue


class RunQueue:
    """Replaces Gradio's queue admission (``Queue.push``) for one demo, and stops runs nobody reads.

    * Gradio's ``max_size`` counts every queued event together, so a queue full of runs refused the
      page's own helpers (a recipe's settings, the history slider, before/after). Each concurrency
      id waits in a queue of its own ``size``: a full run queue leaves the helpers' alone.
    * One client (``client_of``: an address) may have at most ``per_client`` runs waiting or running.
    * A run (waiting or running) whose results nobody reads, neither through the session's stream
      nor its /call stream (``streams``), for ``grace`` seconds is stopped: a /call POST whose result
      is never fetched held the worker for the whole run. Gradio itself stops a run whose reader
      disconnects; this covers the reader that never connects.
    """

    def __init__(self, demo: gr.Blocks, runs: str, size: int, per_client: int, streams: Any, grace: float) -> None:
        self.demo, self.queue, self.runs = demo, demo._queue, runs
        self.size, self.per_client, self.streams, self.grace = size, per_client, streams, grace
        self.unread_since: dict[str, float] = {}
        self.watching: asyncio.Task | None = None
        self.queue.max_size = None  # bounded per concurrency id in push()
        self.gradio_push = self.queue.push
        self.queue.push = self.push  # type: ignore[method-assign,assignment]
        _RUN_QUEUES[demo] = self

    @staticmethod
    def of(demo: gr.Blocks) -> RunQueue | None:
        return _RUN_QUEUES.get(demo)

    async def push(self, body: Any, request: Any, username: str | None) -> tuple[bool, Any, str]:
        fn = self.demo.fns.get(body.fn_index) if body.fn_index is not None else None
        if fn is None:  # answered before Gradio looks up (and creates) the caller's session
            raise HTTPException(status_code=404, detail=f"this app has no event with fn_index {body.fn_index}")
        refusal = self.refusal(fn.concurrency_id, client_of(request))
        if refusal:
            return False, refusal, "queue_full"
        if self.watching is None or self.watching.done():
            self.watching = asyncio.get_running_loop().create_task(self.watch())
        return await self.gradio_push(body, request, username)

    def refusal(self, concurrency_id: str, client: str) -> str | None:
        """Why an event of ``concurrency_id`` from ``client`` cannot join now, or None."""
        waiting = self.queue.event_queue_per_concurrency_id.get(concurrency_id)
        if waiting is not None and len(waiting.queue) >= self.size:
            return f"Queue is full. Max size is {self.size} and size is {len(waiting.queue)}."
        if concurrency_id != self.runs or not self.per_client:
            return None
        mine = sum(client_of(event.request) == client for event in self.run_events())
        if mine >= self.per_client:
            return (
                f"Queue is full for you: {mine} of your runs are waiting or running, and one client may have "
                f"{self.per_client} ({ENV_VARS['runs_per_client']}). Try again when one has ended."
            )
        return None

    def run_events(self) -> list[Any]:
        """The runs waiting and running."""
        waiting = self.queue.event_queue_per_concurrency_id.get(self.runs)
        running = [event for job in self.queue.active_jobs if job for event in job]
        return [*(waiting.queue if waiting else []), *(e for e in running if e.concurrency_id == self.runs)]

    async def watch(self) -> None:
        """Every second: stop the runs nobody has read for ``grace`` seconds (until the queue stops)."""
        while not self.queue.stopped:
            now, events = time.monotonic(), self.run_events()
            for event in events:
                if event.alive and not self.streams.reading(event.session_hash, event._id):
                    if now - self.unread_since.setdefault(event._id, now) > self.grace:
                        self.stop(event._id, f"stopped: nobody read this run's results for {self.grace:g} s")
                else:
                    self.unread_since.pop(event._id, None)
            for gone in set(self.unread_since) - {event._id for event in events}:
                del self.unread_since[gone]
            await asyncio.sleep(1)

    def stop(self, event_id: str, why: str) -> None:
        """Stop one event, waiting or running (no other: Gradio's /cancel stops a whole session's).

        A reader that connects late gets ``why``; a running generator is closed at its next frame
        (the run's ``finally`` stops the engine), as Gradio does when a reader disconnects.
        """
        for event in self.run_events():
            if event._id != event_id or not event.alive:
                continue
            error = gr.Error(why, print_exception=False)
            self.queue.send_message(
                event, ProcessCompletedMessage(output=gr.utils.error_payload(error, True), success=False)
            )
            event.alive = False
            waiting = self.queue.event_queue_per_concurrency_id[event.concurrency_id].queue
            if event in waiting:
                waiting.remove(event)
                self.queue.event_ids_to_events.pop(event._id, None)


_RUN_QUEUES: weakref.WeakKeyDictionary[gr.Blocks, RunQueue] = weakref.WeakKeyDictionary()


def client_of(request: Any) -> str:
    """A request's client: its address as the server resolved it (uvicorn applies X-Forwarded-For
    from the proxies FORWARDED_ALLOW_IPS trusts)."""
    client = getattr(request, "client", None)
    return client.host if client is not None else "unknown"


def gradio_stream_key(scope: MutableMapping[str, Any]) -> str | None:
    """What a request reads, if it is one of Gradio's result streams: the session's stream
    (``GET /gradio_api/queue/data?session_hash=...``) or a /call job's (``GET .../call/<api>/<event_id>``)."""
    if scope.get("method") != "GET":
        return None
    path = scope["path"]
    prefix = gr.route_utils.API_PREFIX
    if path == f"{prefix}/queue/data":
        query = urllib.parse.parse_qs(scope.get("query_string", b"").decode("latin-1"))
        return query.get("session_hash", [None])[0]
    parts = path.removeprefix(f"{prefix}/call/").removeprefix("v2/").split("/")
    return parts[1] if path.startswith(f"{prefix}/call/") and len(parts) == 2 and parts[1] else None


# ---------------------------------------------------------------- MCP callers that leave


def stop_mcp_runs_whose_caller_left() -> None:
    """An MCP tool call is relayed by Gradio through its own client, which keeps reading the job's
    results: when the MCP caller disconnects, the MCP server cancels the call's handler, but the
    job ran on to its end (the handler, waiting in a thread for the job's result, could not even be
    cancelled before then). Now the wait is cancellable, and a cancelled call stops its job only
    (RunQueue.stop): Gradio's own cancel would stop every MCP call's running job, as they share
    one session."""
    try:
        from gradio.mcp import GradioMCPServer
    except ImportError:  # gradio without the mcp extra
        return
    without_progress = GradioMCPServer._execute_tool_without_progress
    with_progress = GradioMCPServer._execute_tool_with_progress
    if getattr(without_progress, "stops_runs", False):
        return

    async def result_or_stop(self: Any, job: Any) -> list[Any]:
        try:
            await asyncio.wait([asyncio.wrap_future(job.future)])  # cancellable, unlike a thread's wait
        except asyncio.CancelledError:
            _stop_job(self.blocks, job)
            raise
        return await without_progress(self, job)  # the job is done: returns its result at once

    async def updates_or_stop(self: Any, job: Any, progress_token: str | int) -> Any:
        try:
            return await with_progress(self, job, progress_token)
        except asyncio.CancelledError:
            _stop_job(self.blocks, job)
            raise

    result_or_stop.stops_runs = True  # type: ignore[attr-defined]
    GradioMCPServer._execute_tool_without_progress = result_or_stop  # type: ignore[method-assign]
    GradioMCPServer._execute_tool_with_progress = updates_or_stop  # type: ignore[method-assign]


def _stop_job(demo: gr.Blocks, job: Any) -> None:
    communicator, run_queue = job.communicator, RunQueue.of(demo)
    if communicator is None:
        return
    with communicator.lock:
        communicator.should_cancel = True  # the relaying client stops waiting for it
    if communicator.event_id and run_queue is not None:
        run_queue.stop(communicator.event_id, "stopped: the MCP caller disconnected")
