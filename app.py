"""The Space's entry point: operator settings -> runner -> demo -> launch.

Run ``python app.py`` (``--share`` for a temporary public link, ``--mcp`` to serve /stylize as an
MCP tool). The operator's settings (weights, queue, limits) come from the environment
(``STYLE_TRANSFER_*``, see the README); the page itself is ``style_transfer.web``.
"""

from __future__ import annotations

import argparse
import logging

from style_transfer.errors import StyleTransferError, one_line
from style_transfer.service.runner import Runner
from style_transfer.settings import OperatorSettings
from style_transfer.web import build_demo, launch_options, remove_stale_uploads


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--share", action="store_true", help="also serve through a temporary public gradio.live link")
    parser.add_argument(
        "--mcp", action="store_true", help="also serve /stylize as an MCP tool at /gradio_api/mcp (gradio[mcp])"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        runner = Runner(OperatorSettings.from_env())  # loads the network: no request waits for it
    except StyleTransferError as error:  # a bad setting or unobtainable weights: one line, no traceback
        raise SystemExit(f"error: {one_line(error, 2000)}") from None
    remove_stale_uploads()
    demo = build_demo(runner)
    # Host and port: GRADIO_SERVER_NAME / GRADIO_SERVER_PORT, default 127.0.0.1:7860 (Gradio reads them).
    demo.launch(share=args.share, **launch_options(runner.settings, mcp=args.mcp))


if __name__ == "__main__":
    main()
