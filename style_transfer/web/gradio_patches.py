"""Every change this app makes to Gradio's own internals, in one place.

Gradio checks and moves file payloads before any event function runs; what it does there is
not configurable, so the app replaces three of its internals:

* a file input's payload model (a wrong shape gets a message instead of ``{"error": null}``);
* a file input's cache mover (a URL is refused, never fetched);
* the MCP server's ``pop_returned_state`` (Gradio 6.31 removes State outputs twice).

tests/test_gradio_patches.py checks that the internals these rely on are still there, so an
upgrade of Gradio that moves them fails the tests with a message instead of the page.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import gradio as gr
import gradio_client.utils
import pydantic

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
        if isinstance(block, (gr.Image, gr.File)):
            role = names.get(block._id, "the file")
            block.data_model = _with_clear_message(block.data_model, role)
            block.async_move_resource_to_block_cache = _without_fetching(block, role)  # type: ignore[method-assign]


def _with_clear_message(model: Any, role: str) -> Any:
    """``model`` (a component's payload model) raising gr.Error with a message instead of pydantic's."""
    many = issubclass(model, gr.data_classes.GradioRootModel)
    expected = "must be a list of image files uploaded to this app" if many else NOT_A_FILE

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
