"""Command line: ``python -m style_transfer CONTENT STYLE [STYLE ...] -o OUT.png [options]``,
or a batch: ``python -m style_transfer PHOTO|FOLDER ... --style STYLE|FOLDER ... --output-dir DIR``.

Every StyleConfig field is a flag of the same name (``--style-strength`` ...); their
defaults and ranges come from the dataclass. The operator settings marked for the command
line (``--weights``, the input limits) are flags too, defaulting to their environment
variables. Bad input prints one line and exits 2 (a batch: one line per bad input or
failed pair, exit 2 if there was any, after running every pair it could).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
from collections.abc import Generator
from pathlib import Path
from typing import Any, NoReturn

from PIL import Image

from . import batch as batches
from .config import StyleConfig
from .engine import Frame, stylize
from .errors import StyleTransferError, one_line
from .recipe import config_from_recipe, read_recipe, save_png
from .regions import mask_from_record
from .settings import CAPS, OperatorSettings
from .timelapse import FrameKeeper, timelapse_format, write_timelapse
from .weights import UNTRAINED_WARNING

EXIT_BAD_INPUT = 2
CLI_SETTINGS = [f for f in dataclasses.fields(OperatorSettings) if f.metadata.get("cli")]
Frames = Generator[Frame, None, None]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, not usage + message
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m style_transfer", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "inputs",
        nargs="+",
        metavar="IMAGE",
        help="CONTENT STYLE [STYLE ...] with -o (the photo, then the painting(s), blended); "
        "with --output-dir, the photos (or folders of photos)",
    )
    parser.add_argument("-o", "--output", help="output image; .png keeps the recipe in its metadata")
    parser.add_argument(
        "--timelapse",
        metavar="FILE",
        help="also write the run as an animated WebP (FILE.webp) or GIF (FILE.gif), recipe in its metadata",
    )
    parser.add_argument(
        "--mask",
        metavar="FILE",
        help="where each style goes: white the first style, black the second (or the photo kept, with one "
        "style); resized to the photo if needed. A recipe with a mask (--recipe) brings its own",
    )
    parser.add_argument(
        "--init-image",
        metavar="PNG",
        help="start from a finished result instead of the photo: at the same --size it continues, at a "
        "larger one it refines; its recipe becomes the new one's parent",
    )
    group = parser.add_argument_group("batch: every photo with every style, one network for all")
    group.add_argument(
        "--style", dest="batch_styles", nargs="+", metavar="STYLE", help="style images (or folders), each on its own"
    )
    group.add_argument(
        "--output-dir",
        metavar="DIR",
        help=f"write DIR/<photo>__<style>.png and DIR/{batches.CONTACT_SHEET} (DIR is made if missing)",
    )
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
    elif isinstance(default, bool):  # --keep-faces / --no-keep-faces (None: the recipe's, else the default)
        kwargs["action"] = argparse.BooleanOptionalAction
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


def config_from_args(args: argparse.Namespace, recipe: dict[str, Any] | None = None) -> StyleConfig:
    """Defaults, then the recipe's settings (``recipe``, else read from --recipe, if given), then the flags given."""
    if recipe is None and args.recipe:
        recipe = read_recipe(args.recipe)
    base = config_from_recipe(recipe) if recipe else StyleConfig()
    given = {f.name: getattr(args, f.name) for f in dataclasses.fields(StyleConfig)}
    if args.save_every and given["preview_every"] is None:
        given["preview_every"] = args.save_every
    return StyleConfig.from_raw(given, base)


def settings_from_args(args: argparse.Namespace) -> OperatorSettings:
    """The operator settings from the environment with the caps off, then the flags given."""
    given = {f.name: getattr(args, f.name) for f in CLI_SETTINGS if getattr(args, f.name) is not None}
    return OperatorSettings.from_env().without_caps().replace(**given)


def check_form(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """One photo (-o) or a batch (--output-dir with --style): the flags that fit each, or a usage error."""
    if args.output_dir is not None:
        if args.output is not None:
            parser.error("give -o OUTPUT (one photo) or --output-dir DIR (a batch), not both")
        if not args.batch_styles:
            parser.error("--output-dir needs --style STYLE [STYLE ...]: the styles to use on every photo")
        for flag in ("timelapse", "init_image", "log_json", "mask"):
            if getattr(args, flag) is not None:
                parser.error(f"--{flag.replace('_', '-')} is for one photo (-o OUTPUT), not a batch")
        if args.save_every:
            parser.error("--save-every is for one photo (-o OUTPUT), not a batch")
        return
    if args.batch_styles is not None:
        parser.error("--style is for a batch: add --output-dir DIR (or give the style after the photo, with -o)")
    if args.output is None:
        parser.error("the following arguments are required: -o/--output (or --output-dir DIR and --style for a batch)")
    if len(args.inputs) < 2:
        parser.error("a style image is required after the content photo: CONTENT STYLE [STYLE ...] -o OUTPUT")


def run(args: argparse.Namespace) -> int:
    if args.save_every < 0:
        raise StyleTransferError("--save-every must be 0 or more")
    output = _checked_output(Path(args.output))
    timelapse = _checked_timelapse(args.timelapse)
    content, styles, settings = args.inputs[0], args.inputs[1:], settings_from_args(args)
    recipe = read_recipe(args.recipe) if args.recipe else None
    config = config_from_args(args, recipe)
    mask = _mask(args, recipe)
    frames: Frames = stylize(content, styles, config, settings=settings, init_image=args.init_image, mask=mask)
    _note_parent(args, recipe)
    try:
        log = open(args.log_json, "w") if args.log_json else None  # noqa: SIM115 (closed below)
    except OSError as error:
        frames.close()
        raise StyleTransferError(f"cannot write the log {args.log_json}: {error.strerror or error}") from None
    with tempfile.TemporaryDirectory(prefix="stylize-frames-") as folder:
        keeper = FrameKeeper(folder) if timelapse else None
        try:
            final = _consume(frames, output, args, log, keeper)
        finally:
            frames.close()
            if log:
                log.close()
        if final.weights and final.weights.untrained:
            print(f"note: {UNTRAINED_WARNING}", file=sys.stderr)
        if final.note:
            print(f"note: {final.note}", file=sys.stderr)
        _save(final, output)
        print(
            f"wrote {output} ({final.size[0]}x{final.size[1]}, {final.step} steps, {final.elapsed:.1f} s)",
            file=sys.stderr,
        )
        if timelapse and keeper:
            _save_timelapse(keeper, timelapse, final)
    return 0


def _mask(args: argparse.Namespace, recipe: dict[str, Any] | None) -> str | bytes | None:
    """--mask, else the mask a --recipe carries (a PNG copy in its metadata), else none."""
    if args.mask is not None or not recipe or "mask" not in recipe:
        return args.mask
    record = recipe["mask"]
    print(f"note: using the recipe's mask (sha256 {str(record.get('sha256', '?'))[:12]}...)", file=sys.stderr)
    return mask_from_record(record)


def _note_parent(args: argparse.Namespace, recipe: dict[str, Any] | None) -> None:
    """A recipe that continued or refined an earlier result gives its settings, not that result."""
    if recipe and args.init_image is None and "parent" in recipe:
        print("note: that recipe's run started from an earlier result; --init-image starts from one", file=sys.stderr)


def _consume(frames: Any, output: Path, args: argparse.Namespace, log: Any, keeper: FrameKeeper | None) -> Frame:
    from tqdm import tqdm

    bar = None
    frame = None
    for frame in frames:
        if keeper:
            keeper.add(frame)
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


def _checked_timelapse(name: str | None) -> Path | None:
    if name is None:
        return None
    path = Path(name)
    timelapse_format(path)  # .webp or .gif
    if not path.parent.is_dir():
        raise StyleTransferError(f"timelapse folder does not exist: {path.parent}")
    return path


def _save_timelapse(keeper: FrameKeeper, path: Path, final: Frame) -> None:
    assert final.recipe is not None
    try:
        write_timelapse(keeper.frames, path, final.recipe)
    except (ValueError, OSError) as error:
        raise StyleTransferError(f"cannot write {path}: {error}") from None
    size = path.stat().st_size / 1e6
    print(f"wrote {path} ({len(keeper.frames)} frames, {size:.1f} MB)", file=sys.stderr)


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


def _made_output_dir(output_dir: Path) -> Path:
    """The batch's folder, made with its parents when missing (as pip download -d and hf download --local-dir do)."""
    if output_dir.exists() and not output_dir.is_dir():
        raise StyleTransferError(f"--output-dir {output_dir} is a file, not a folder")
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise StyleTransferError(f"cannot make the output folder {output_dir}: {error.strerror or error}") from None
    return output_dir


def run_batch(args: argparse.Namespace) -> int:
    """Every photo with every style; one line on stderr per bad input or failed pair, exit 2 if any."""
    from tqdm import tqdm

    config, settings = config_from_args(args), settings_from_args(args)
    batch = batches.check_inputs(args.inputs, args.batch_styles, settings)
    output_dir = _made_output_dir(Path(args.output_dir))  # after the checks: a refused batch leaves no folder
    for failure in batch.failures:
        print(f"error: {failure}", file=sys.stderr)
    reported = len(batch.failures)
    with tqdm(total=len(batch.pairs()), unit="pair", disable=True if args.quiet else None) as bar:

        def progress(name: str, frame: Frame | None) -> None:
            if frame is None:
                bar.update(1)
            else:
                bar.set_postfix_str(f"{name} step {frame.step}/{frame.total}", refresh=False)

        batches.run_batch(batch, config, settings, output_dir, progress)
    for failure in batch.failures[reported:]:
        print(f"error: {failure}", file=sys.stderr)
    if batch.results:
        batches.contact_sheet(batch).save(output_dir / batches.CONTACT_SHEET, quality=90)
    print(f"wrote {len(batch.results)} of {len(batch.pairs())} pictures to {output_dir}", file=sys.stderr)
    return EXIT_BAD_INPUT if batch.failures else 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    check_form(parser, args)
    try:
        return run_batch(args) if args.output_dir is not None else run(args)
    except StyleTransferError as error:
        print(f"error: {one_line(error, 2000)}", file=sys.stderr)  # always one line
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
