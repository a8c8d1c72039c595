"""The Gradio page: the only part of the package that imports gradio.

``build_demo(runner)`` makes the page for a ready ``service.runner.Runner``; ``launch_options``
are what ``demo.launch`` gets (theme, upload and body limits, MCP); app.py calls both.
"""

from .layout import build_demo, launch_options, remove_stale_uploads

__all__ = ["build_demo", "launch_options", "remove_stale_uploads"]
