"""Command line: ``python -m style_transfer CONTENT STYLE [STYLE ...] -o OUT.png [options]``.

Every StyleConfig field is a flag of the same name (``--style-strength`` ...); their
defaults and ranges come from the dataclass. The operator settings marked for the command
line (``--weights``, the input limits) are flags too, defaulting to their environment
variables. Bad input prints one line and exits 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Generator
from pathlib import Path
from typing import Any, NoReturn

from PIL import Image

from .config import StyleConfig
from .engine import Frame, stylize
from .errors import StyleTransferError, one_line
from .recipe import config_from_recipe, read_recipe, save_png
from .settings import CAPS, OperatorSettings
from .weights import UNTRAINED_WARNING

EXIT_BAD_INPUT = 2
CLI_SETTINGS = [f for f in dataclasses.fields(OperatorSettings) if f.metadata.get("cli")]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, not usage + message
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m style_transfer", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("content", help="content image (the photo)")
    parser.add_argument("styles", nargs="+", metavar="STYLE", help="style image(s) (the painting)")
    parser.add_argument("-o", "--output", required=True, help="output image; .png keeps the recipe in its metadata")
    for f in CLI_SETTINGS:
        _add_setting(parser, f)
    parser.add_argument(
        "--recipe", metavar="PNG", help="take the settings from a PNG this tool wrote; flags override them"
    )
    parser.add_argument(
        "--save-every", type=int, default=0, metavar="N", help="also save every N-th step next to OUTPUT"
    )
    parser.add_argument("--log-json", metavar="FILE", help="write one JSON object per step to FILE")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    knobs = parser.add_argument_group("settings (defaults from StyleConfig)")
    for f in dataclasses.fields(StyleConfig):
        _add_knob(knobs, f)
    return parser


def _add_knob(group: argparse._ArgumentGroup, f: dataclasses.Field) -> None:
    default = f.default
    kwargs: dict[str, Any] = {"default": None, "dest": f.name, "help": f"{f.metadata['help']} (default: {default})"}
    if isinstance(default, tuple):
        kwargs["nargs"] = "+"
        kwargs["type"] = str if f.metadata.get("choices") else float
    else:
        kwargs["type"] = type(default)
    if "choices" in f.metadata:
        kwargs["choices"] = f.metadata["choices"]
        if isinstance(default, tuple):  # VGG layer names: too many to list in the usage line
            kwargs["metavar"] = "LAYER"
            kwargs["help"] += "; LAYER is a VGG19 conv layer, block1_conv1 ... block5_conv4"
    group.add_argument("--" + f.name.replace("_", "-"), **kwargs)


def _add_setting(parser: argparse.ArgumentParser, f: dataclasses.Field) -> None:
    env, default = f.metadata["env"], f.default
    shown = "off" if f.name in CAPS else f"${env} or {default}"  # a batch user's own machine: no caps
    parser.add_argument(
        "--" + f.name.replace("_", "-"),
        dest=f.name,
        type=type(default),
        default=None,
        help=f"{f.metadata['help']} (default: {shown})",
    )


def config_from_args(args: argparse.Namespace) -> StyleConfig:
    """Defaults, then the recipe's settings (if any), then the flags given."""
    base = config_from_recipe(read_recipe(args.recipe)) if args.recipe else StyleConfig()
    given = {f.name: getattr(args, f.name) for f in dataclasses.fields(StyleConfig)}
    if args.save_every and given["preview_every"] is None:
        given["preview_every"] = args.save_every
    return StyleConfig.from_raw(given, base)


def settings_from_args(args: argparse.Namespace) -> OperatorSettings:
    """The operator settings from the environment with the caps off, then the flags given."""
    given = {f.name: getattr(args, f.name) for f in CLI_SETTINGS if getattr(args, f.name) is not None}
    return OperatorSettings.from_env().without_caps().replace(**given)


def run(args: argparse.Namespace) -> int:
    if args.save_every < 0:
        raise StyleTransferError("--save-every must be 0 or more")
    output = _checked_output(Path(args.output))
    config = config_from_args(args)
    frames: Generator[Frame, None, None] = stylize(args.content, args.styles, config, settings=settings_from_args(args))
    try:
        log = open(args.log_json, "w") if args.log_json else None  # noqa: SIM115 (closed below)
    except OSError as error:
        frames.close()
        raise StyleTransferError(f"cannot write the log {args.log_json}: {error.strerror or error}") from None
    try:
        final = _consume(frames, output, args, log)
    finally:
        frames.close()
        if log:
            log.close()
    if final.weights and final.weights.untrained:
        print(f"note: {UNTRAINED_WARNING}", file=sys.stderr)
    _save(final, output)
    print(
        f"wrote {output} ({final.size[0]}x{final.size[1]}, {final.step} steps, {final.elapsed:.1f} s)", file=sys.stderr
    )
    return 0


def _consume(frames: Any, output: Path, args: argparse.Namespace, log: Any) -> Frame:
    from tqdm import tqdm

    bar = None
    frame = None
    for frame in frames:
        if bar is None:  # disable=None: no bar when stderr is not a terminal
            bar = tqdm(total=frame.total, unit="step", disable=True if args.quiet else None)
        bar.set_postfix_str(f"{frame.size[0]}x{frame.size[1]} loss {frame.losses['total']:.4g}", refresh=False)
        bar.update(1)
        if log:
            row = {
                "step": frame.step,
                "total": frame.total,
                "size": list(frame.size),
                "elapsed": frame.elapsed,
                "losses": frame.losses,
            }
            log.write(json.dumps(row) + "\n")
        if args.save_every and frame.image is not None and frame.step % args.save_every == 0 and not frame.done:
            frame.image.save(output.with_name(f"{output.stem}_step{frame.step:05d}.png"))
    if bar is not None:
        bar.close()
    assert frame is not None and frame.done
    return frame


def _checked_output(output: Path) -> Path:
    """Refuse an output the run could not be saved to before the run, not after it."""
    if not output.parent.is_dir():
        raise StyleTransferError(f"output folder does not exist: {output.parent}")
    if output.is_dir():
        raise StyleTransferError(f"output {output} is a folder; give a file name such as {output / 'out.png'}")
    if output.suffix.lower() not in Image.registered_extensions():
        raise StyleTransferError(f"output {output.name} has no image file extension Pillow can write (use .png)")
    return output


def _save(frame: Frame, output: Path) -> None:
    assert frame.image is not None and frame.recipe is not None
    try:
        if output.suffix.lower() == ".png":
            save_png(frame.image, output, frame.recipe)
        else:
            frame.image.save(output)
    except (ValueError, OSError) as error:
        raise StyleTransferError(f"cannot write {output}: {error}") from None


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except StyleTransferError as error:
        print(f"error: {one_line(error, 2000)}", file=sys.stderr)  # always one line
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
