"""What a public server adds around the runner, independent of the web framework: a limit on
request bodies (as ASGI middleware) and the clean-up of files an earlier server left behind.

gradio-free, like the rest of the package; app.py installs both when it launches.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

from ..settings import OperatorSettings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

REQUEST_OVERHEAD_BYTES = 1_000_000  # a request's JSON, form fields and multipart headers


def max_request_bytes(settings: OperatorSettings) -> int:
    """The largest request body: as many images as one request may use (the content and the styles),
    base64-encoded as an MCP client sends them inline (4/3 of their bytes), plus the overhead."""
    fields = {f.name: f for f in dataclasses.fields(settings)}
    styles = settings.max_styles or fields["max_styles"].metadata["max"]
    return (styles + 1) * settings.max_input_bytes * 4 // 3 + REQUEST_OVERHEAD_BYTES


class RequestBodyLimit:
    """ASGI middleware: a request body over ``limit`` bytes (413), or of unstated length (411), is
    refused from its headers, before a byte of it is read.

    Gradio's max_file_size bounds each file of an upload, not the upload: one request may carry
    1,000 files, each written to disk. Its other routes read a whole JSON body into memory.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = dict(scope["headers"])
            length = headers.get(b"content-length")
            if length is None and b"transfer-encoding" in headers:  # chunked: its size is known only once read
                await _refuse(send, 411, "a request body must state its Content-Length")
                return
            if length is not None and (not length.isdigit() or int(length) > self.limit):
                await _refuse(send, 413, f"request body over {self.limit:,} bytes")
                return
        await self.app(scope, receive, send)


async def _refuse(send: Send, status: int, message: str) -> None:
    body = message.encode()
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
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
