"""What a public server adds around the runner, independent of the web framework: bounds on request
bodies (as ASGI middleware), a count of who is reading which stream, and the clean-up of files an
earlier server left behind.

gradio-free, like the rest of the package; the web layer installs these when it launches.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..settings import OperatorSettings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

REQUEST_OVERHEAD_BYTES = 1_000_000  # an upload's form fields and multipart headers


def max_request_bytes(settings: OperatorSettings) -> int:
    """The largest upload body: as many images as one request may use (the content and the styles),
    base64-sized (4/3 of their bytes: what a client may send inline), plus the overhead."""
    fields = {f.name: f for f in dataclasses.fields(settings)}
    styles = settings.max_styles or fields["max_styles"].metadata["max"]
    return (styles + 1) * settings.max_input_bytes * 4 // 3 + REQUEST_OVERHEAD_BYTES


@dataclass(frozen=True)
class JsonShape:
    """How large the parts of a JSON body may be. A framework parses a body and then walks every
    value of it (Gradio: on its event loop, ~0.5 ms per list entry naming a file), so the shape is
    bounded before it sees the body, not only the bytes: 64 kB of ``[1,1,...]`` are 32,000 values.

    The defaults fit the largest request this app expects with room to spare: /stylize's ~25 inputs,
    64 style images (the max_styles bound) of ~8 values each, 16 VGG19 layer names.
    """

    # A file's path (4,096 at most on Linux) or its URL, a blend like "2, 1", a "Your results" thumbnail
    # (web/keep.py: a 128 px JPEG as a data URL, at most ~9 kB measured on the examples).
    max_string: int = 16 * 1024
    max_items: int = 100  # entries of one list or keys of one object
    max_values: int = 2_000  # every value of the body, containers included
    max_depth: int = 16
    max_number_chars: int = 40  # a 401-digit integer is no setting (Python then fails to make it a float)


@dataclass(frozen=True)
class BodyBound:
    """The largest body a route takes, and whether it is JSON whose shape is bounded too."""

    max_bytes: int
    shape: JsonShape | None  # None: bytes that the route streams (a multipart upload): counted, not parsed
    advice: str = ""  # what to do instead, appended to a refusal
    multipart_only: bool = False  # the bound of the route's multipart bodies; any other body gets the default


# A JSON request to this app names uploaded files and settings: a few kB (the largest, /stylize with
# 64 styles, ~30 kB), or carries the visitor's "Your results" list back from the browser (web/keep.py
# bounds it to MAX_LIST_CHARS, 192 kB). Files are uploaded separately, under the upload route's limit.
JSON_REQUEST = BodyBound(
    256 * 1024, JsonShape(), "files are not sent in JSON: upload them (POST /gradio_api/upload) and name them"
)


class RequestBodyLimit:
    """ASGI middleware: every request body is bounded before the application reads it.

    * Framing: a body of unstated length (411), or with both Content-Length and Transfer-Encoding
      (400; HTTP/1.1 forbids the pair, and a server may then read a chunked body of any size).
    * Size: a body declared over its route's bound is refused from its headers (413); the bytes
      actually received are counted too, whatever was declared.
    * Shape: a JSON body (every route but those in ``routes`` with ``shape=None``) is read whole,
      at most its bound, and refused (413) if a string, a list, a number or the whole is too large.

    ``routes``: (path, bound) pairs; each covers its path and every path under it. Any other path
    gets ``default``. Gradio's max_file_size bounds each file of an upload, not the upload:
    one request may carry 1,000 files, each written to disk.
    """

    def __init__(
        self, app: ASGIApp, routes: Sequence[tuple[str, BodyBound]] = (), default: BodyBound = JSON_REQUEST
    ) -> None:
        self.app, self.routes, self.default = app, tuple(routes), default

    def bound_for(self, path: str) -> BodyBound:
        for route, bound in self.routes:
            if path == route.rstrip("/") or (path + "/").startswith(route.rstrip("/") + "/"):
                return bound
        return self.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        bound = self.bound_for(scope["path"])
        if bound.multipart_only and not _is_multipart(scope["headers"]):
            bound = self.default
        length, refusal = _declared_length(scope["headers"], bound)
        if refusal:
            await _refuse(send, *refusal)
        elif not length:  # no body: nothing to bound (a GET, an event stream)
            await self.app(scope, receive, send)
        elif bound.shape is None:
            await _CountedBody(self.app, min(length, bound.max_bytes)).run(scope, receive, send)
        else:
            await self._checked_json(scope, receive, send, bound)

    async def _checked_json(self, scope: Scope, receive: Receive, send: Send, bound: BodyBound) -> None:
        assert bound.shape is not None
        try:
            body = await _read_at_most(receive, bound.max_bytes)
        except _ClientGone:  # nothing to answer, nobody to answer
            return
        problem = _json_problem(body, bound.shape) if body is not None else _over(bound.max_bytes, bound)
        if problem:
            await _refuse(send, *problem)
            return
        assert body is not None
        await self.app(scope, _replay(body, receive), send)


def _is_multipart(headers: Sequence[tuple[bytes, bytes]]) -> bool:
    types = [value for name, value in headers if name.lower() == b"content-type"]
    return len(types) == 1 and types[0].lower().startswith(b"multipart/form-data")


def _declared_length(headers: Sequence[tuple[bytes, bytes]], bound: BodyBound) -> tuple[int, tuple[int, str] | None]:
    """(the body's declared length, or 0; a refusal (status, message) from the headers alone, or None)."""
    lengths = [value for name, value in headers if name.lower() == b"content-length"]
    chunked = any(name.lower() == b"transfer-encoding" for name, _ in headers)
    if lengths and chunked:
        return 0, (400, "a request must not have both Content-Length and Transfer-Encoding (HTTP/1.1)")
    if chunked:  # its size is known only once read
        return 0, (411, "a request body must state its Content-Length")
    if not lengths:
        return 0, None
    if len(set(lengths)) > 1 or not lengths[0].strip().isdigit():
        return 0, (400, "a request must state one Content-Length, a whole number")
    length = int(lengths[0])
    return length, (_over(bound.max_bytes, bound) if length > bound.max_bytes else None)


def _over(limit: int, bound: BodyBound) -> tuple[int, str]:
    advice = f": {bound.advice}" if bound.advice else ""
    return 413, f"request body over {limit:,} bytes{advice}"


class _ClientGone(Exception):
    pass


async def _read_at_most(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None as soon as more than ``limit`` bytes have come (the rest is never read)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client went away before its body was complete
            raise _ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that hands the application the body already read, then defers to the server's."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


class _CountedBody:
    """Runs the application on a streamed body, counting the bytes it receives. Past ``limit`` it
    answers 413 (if the application has not answered yet), tells the application the client has
    gone, and drops whatever the application sends after that."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit
        self.received = 0
        self.refused = self.started = False

    async def run(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def counted_receive() -> Message:
            if self.refused:
                return {"type": "http.disconnect"}
            message = await receive()
            self.received += len(message.get("body", b""))
            if self.received > self.limit:
                self.refused = True
                if not self.started:
                    await _refuse(send, 413, f"request body over {self.limit:,} bytes (more than it declared)")
                return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if self.refused:
                return
            self.started = True
            await send(message)

        await self.app(scope, counted_receive, guarded_send)


class _TooLarge(Exception):
    pass


def _json_problem(body: bytes, shape: JsonShape) -> tuple[int, str] | None:
    """Why this body must not reach the application (status, message), or None. A body that is not
    JSON is left to the application (a form, or a JSON error it reports itself)."""

    def checked(text: str) -> str:
        if len(text) > shape.max_number_chars:
            raise _TooLarge(f"a number in this request has {len(text):,} digits; at most {shape.max_number_chars}")
        return text

    try:
        value = json.loads(
            body, parse_int=lambda text: int(checked(text)), parse_float=lambda text: float(checked(text))
        )
    except _TooLarge as error:
        return 413, str(error)
    except RecursionError:
        return 413, f"this request is nested more than {shape.max_depth} levels deep"
    except ValueError:  # not JSON (json.JSONDecodeError, bad UTF-8): not this guard's business
        return None
    return _shape_problem(value, shape)


def _shape_problem(value: Any, shape: JsonShape) -> tuple[int, str] | None:
    """Walks the parsed body (iteratively: its depth is bounded here, not by Python's stack)."""
    stack, count = [(value, 1)], 0
    while stack:
        item, depth = stack.pop()
        count += 1
        problem = _value_problem(item, depth, count, shape)
        if problem:
            return 413, problem
        if isinstance(item, dict):
            stack += [(key, depth + 1) for key in item] + [(child, depth + 1) for child in item.values()]
        elif isinstance(item, list):
            stack += [(child, depth + 1) for child in item]
    return None


def _value_problem(item: Any, depth: int, count: int, shape: JsonShape) -> str | None:
    if count > shape.max_values:
        return f"this request holds more than {shape.max_values:,} values"
    if depth > shape.max_depth:
        return f"this request is nested more than {shape.max_depth} levels deep"
    if isinstance(item, str) and len(item) > shape.max_string:
        return f"a text in this request has {len(item):,} characters; at most {shape.max_string:,}"
    if isinstance(item, (list, dict)) and len(item) > shape.max_items:
        kind = "a list" if isinstance(item, list) else "an object"
        return f"{kind} in this request has {len(item):,} entries; at most {shape.max_items:,}"
    return None


class OpenStreams:
    """Who is reading what: the number of open responses per key, for the requests whose path names one.

    A server that queues work and streams its results to a reader that connects separately (Gradio:
    ``/queue/data?session_hash=...``, ``/call/<api>/<event_id>``) cannot otherwise tell a job whose
    reader is connected from one nobody will ever read. ``key_of`` says which requests are readers.
    """

    def __init__(self, key_of: Callable[[Scope], str | None]) -> None:
        self.key_of = key_of
        self.open: Counter[str] = Counter()

    def reading(self, *keys: str) -> bool:
        return any(self.open[key] > 0 for key in keys)


class CountOpenStreams:
    """ASGI middleware: keeps ``streams.open`` up to date (a reader counts from its request to its response's end)."""

    def __init__(self, app: ASGIApp, streams: OpenStreams) -> None:
        self.app, self.streams = app, streams

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = self.streams.key_of(scope) if scope["type"] == "http" else None
        if key is None:
            await self.app(scope, receive, send)
            return
        self.streams.open[key] += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.streams.open[key] -= 1
            if not self.streams.open[key]:
                del self.streams.open[key]  # the counter keeps only open streams: it cannot grow


class CallerAddressForRelays:
    """ASGI middleware: on the paths under ``prefix``, X-Forwarded-For is set to the client's address
    as the server resolved it, replacing whatever the client sent.

    Gradio's MCP layer relays each tool call to its own queue through a local client that forwards
    the call's headers: the relayed job then counts as the caller's (uvicorn trusts X-Forwarded-For
    from 127.0.0.1), not as the local client's, nor as an address the caller wrote itself.
    """

    def __init__(self, app: ASGIApp, prefix: str) -> None:
        self.app, self.prefix = app, prefix.rstrip("/")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path, client = scope.get("path", ""), scope.get("client")
        if scope["type"] == "http" and client and (path == self.prefix or path.startswith(self.prefix + "/")):
            headers = [(name, value) for name, value in scope["headers"] if name.lower() != b"x-forwarded-for"]
            scope = dict(scope, headers=[*headers, (b"x-forwarded-for", str(client[0]).encode("latin-1"))])
        await self.app(scope, receive, send)


async def _refuse(send: Send, status: int, message: str) -> None:
    """Answers as FastAPI does an HTTPException ({"detail": ...}), which Gradio's clients show."""
    body = json.dumps({"detail": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def remove_stale_files(folder: Path, older_than: float) -> int:
    """Delete the files under ``folder`` unchanged for ``older_than`` s, and the folders left empty.

    Gradio's delete_cache only ever deletes files its own process made (on its schedule, and
    all of them when the server shuts down cleanly): what a process that crashed left stays for
    good. At start-up these go, by the schedule's own rule: older than its age. Younger files
    are left alone (another live server may share the folder).
    """
    if not folder.is_dir():
        return 0
    removed, deadline = 0, time.time() - older_than
    for path in sorted(folder.rglob("*"), key=lambda p: len(p.parts), reverse=True):  # files before their folders
        try:
            if path.is_file() or path.is_symlink():
                if path.lstat().st_mtime < deadline:
                    path.unlink()
                    removed += 1
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()
        except OSError:  # gone meanwhile, or not ours to delete
            continue
    return removed
