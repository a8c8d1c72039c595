"""The Gradio internals style_transfer/web/gradio_patches.py replaces or relies on are still there.

An upgrade of Gradio that moves one of them fails here, naming it, instead of in the page.
"""

from __future__ import annotations

import inspect

import gradio as gr
import pytest
from gradio import queueing, route_utils
from gradio_client import client as gradio_client
from gradio_client import utils as client_utils


def parameters(function) -> list[str]:
    return list(inspect.signature(function).parameters)


def test_the_request_internals_are_there():
    assert parameters(route_utils.get_fn) == ["blocks", "api_name", "body"]
    assert issubclass(route_utils.FnIndexInferError, Exception)
    assert route_utils.API_PREFIX == "/gradio_api"
    assert inspect.iscoroutinefunction(route_utils.GradioMultiPartParser.parse)
    assert "upload_dir" in parameters(route_utils.GradioMultiPartParser.__init__)
    assert issubclass(route_utils.GradioUploadFile, object)


def test_the_queue_internals_are_there():
    assert parameters(queueing.Queue.push) == ["self", "body", "request", "username"]
    assert parameters(queueing.Queue.send_message) == ["self", "event", "event_message"]
    source = inspect.getsource(queueing.Queue)
    for name in ("event_queue_per_concurrency_id", "active_jobs", "event_ids_to_events", "stopped", "max_size"):
        assert f"self.{name}" in source, name
    event = inspect.getsource(queueing.Event.__init__)
    for name in ("_id", "session_hash", "request", "alive", "concurrency_id"):
        assert f"self.{name}" in event, name
    # A dead event's generator is closed at its next frame (process_events drops events not alive).
    assert "event.alive" in inspect.getsource(queueing.Queue.process_events)


def test_the_mcp_internals_are_there():
    mcp = pytest.importorskip("gradio.mcp")
    server = mcp.GradioMCPServer
    assert parameters(server._execute_tool_without_progress) == ["self", "job"]
    assert parameters(server._execute_tool_with_progress) == ["self", "job", "progress_token"]
    assert parameters(server.pop_returned_state) == ["components", "data"]
    assert "self.blocks" in inspect.getsource(server.__init__)
    assert "self.future" in inspect.getsource(gradio_client.Job.__init__)
    assert {"event_id", "should_cancel", "lock"} <= set(client_utils.Communicator.__annotations__)


def test_the_file_input_internals_are_there():
    assert hasattr(gr.Image(), "async_move_resource_to_block_cache")
    assert issubclass(gr.File(file_count="multiple").data_model, gr.data_classes.GradioRootModel)
