"""`python -m style_transfer`: a real run as a subprocess, and the bad-input battery.

Every bad input is checked in-process through ``main()`` (fast; stderr captured at the file
descriptor), and as a real subprocess: exit status 2, exactly one line on stderr, no traceback.
The subprocess form of most cases is marked slow (each one imports TensorFlow, ~3 s of CPU).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from style_transfer import StyleConfig, read_recipe
from style_transfer.__main__ import build_parser, config_from_args, main
from tests.bad_inputs import BAD_FILES

pytestmark = pytest.mark.usefixtures("no_network")

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str


def cli(*args: object, cwd: Path | None = None, tf_log_level: str | None = None) -> Result:
    env = {**os.environ, "PYTHONPATH": str(REPO), "STYLE_TRANSFER_WEIGHTS": "untrained", "HF_HUB_OFFLINE": "1"}
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # the package must silence TensorFlow itself, as for a user
    if tf_log_level is not None:
        env["TF_CPP_MIN_LOG_LEVEL"] = tf_log_level
    done = subprocess.run(
        [sys.executable, "-m", "style_transfer", *map(str, args)],
        cwd=cwd or REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return Result(done.returncode, done.stdout, done.stderr)


def in_process(capfd, *args: object) -> Result:
    code: Any
    try:
        code = main([str(a) for a in args])
    except SystemExit as exit_:  # argparse
        code = exit_.code
    out, err = capfd.readouterr()
    return Result(code, out, err)


def assert_one_line_error(result: Result, expected: str) -> None:
    assert result.code == 2, f"exit {result.code}, stderr: {result.stderr!r}"
    lines = result.stderr.splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}: {result.stderr!r}"
    assert "Traceback" not in result.stderr
    assert "error:" in lines[0]
    assert expected in lines[0], f"{expected!r} not in {lines[0]!r}"


# --- a real run -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_run(image_files, tmp_path_factory):
    """The issue's 'done when' command, scaled down: a 4:3 photo at --size 128."""
    folder = tmp_path_factory.mktemp("cli")
    out, log = folder / "out.png", folder / "log.jsonl"
    result = cli(
        image_files["photo"], image_files["style"], "-o", out, "--size", 128, "--steps", 6, "--preset", "fast",
        "--weights", "untrained", "--seed", 1, "--log-json", log, "--save-every", 2,
    )  # fmt: skip
    return result, out, log


@pytest.mark.slow
def test_cli_writes_a_png_of_the_right_size(real_run):
    result, out, _ = real_run
    assert result.code == 0, result.stderr
    assert "Traceback" not in result.stderr
    with Image.open(out) as image:
        assert image.format == "PNG" and image.size == (128, 96)  # 4:3 kept, long side 128
    assert "untrained" in result.stderr.lower(), "the CLI must say when untrained weights are in use"


@pytest.mark.slow
def test_cli_log_json_has_one_row_per_step_and_the_loss_falls(real_run):
    _, _, log = real_run
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r["step"] for r in rows] == list(range(1, 7))
    assert all(r["total"] == 6 and len(r["size"]) == 2 and r["elapsed"] >= 0 for r in rows)
    assert rows[-1]["size"] == [128, 96]
    assert set(rows[0]["losses"]) >= {"content", "style", "tv", "total"}
    assert rows[-1]["losses"]["total"] < rows[0]["losses"]["total"]


@pytest.mark.slow
def test_cli_save_every_writes_intermediate_frames(real_run):
    _, out, _ = real_run
    saved = sorted(p.name for p in out.parent.glob("out_step*.png"))
    assert saved == ["out_step00002.png", "out_step00004.png"]
    for name in saved:
        with Image.open(out.parent / name) as image:
            assert max(image.size) in (64, 128)


@pytest.mark.slow
def test_cli_recipe_reruns_to_the_same_bytes(real_run, image_files):
    _, out, _ = real_run
    recipe = read_recipe(out)
    assert recipe["config"]["size"] == 128 and recipe["config"]["seed"] == 1 and recipe["weights"]["untrained"]
    again = out.parent / "again.png"
    result = cli(image_files["photo"], image_files["style"], "-o", again, "--recipe", out, "-q")
    assert result.code == 0, result.stderr
    assert again.read_bytes() == out.read_bytes()


def test_cli_in_process_run(capfd, image_files, tmp_path):
    out, log = tmp_path / "small.jpg", tmp_path / "log.jsonl"
    result = in_process(
        capfd, image_files["photo_small"], image_files["style"], image_files["style2"], "-o", out, "--size", 64,
        "--steps", 3, "--style-blend", 2, 1, "--log-json", log, "-q",
    )  # fmt: skip
    assert result.code == 0, result.stderr
    with Image.open(out) as image:
        assert image.format == "JPEG" and image.size == (64, 48)
    assert len(log.read_text().splitlines()) == 3


def test_flags_override_the_recipe(tmp_path, image_files):
    recipe_png = tmp_path / "recipe.png"
    from style_transfer import WeightsInfo, make_recipe, save_png

    base = StyleConfig(size=96, steps=9, seed=4, style_strength=3.0)
    save_png(Image.new("RGB", (8, 8)), recipe_png, make_recipe(base, WeightsInfo("untrained:0", True, "")))
    args = build_parser().parse_args(["c", "s", "-o", "o.png", "--recipe", str(recipe_png), "--steps", "2"])
    assert config_from_args(args) == base.replace(steps=2)
    args = build_parser().parse_args(["c", "s", "-o", "o.png", "--save-every", "3"])
    assert config_from_args(args) == StyleConfig(preview_every=3)


def test_flags_are_derived_from_the_config():
    parser = build_parser()
    options = {option for action in parser._actions for option in action.option_strings}
    for name in StyleConfig.__dataclass_fields__:
        assert "--" + name.replace("_", "-") in options
    defaults = config_from_args(parser.parse_args(["c", "s", "-o", "o.png"]))
    assert defaults == StyleConfig()


# --- bad input --------------------------------------------------------------------------------


def _bad_cases(bad_files, image_files, tmp_path) -> dict[str, tuple[list, str]]:
    """Each case: the command's arguments and a phrase its one-line message must contain."""
    photo, style = image_files["photo_small"], image_files["style"]
    out = tmp_path / "out.png"
    plain = tmp_path / "plain.png"
    Image.new("RGB", (8, 8)).save(plain)
    cases = {f"content {n}": ([bad_files[n], style, "-o", out], BAD_FILES[n]) for n in BAD_FILES}
    cases |= {f"style {n}": ([photo, bad_files[n], "-o", out], BAD_FILES[n]) for n in ("empty.jpg", "bomb.png")}
    flag_cases: dict[str, tuple[list[Any], str]] = {
        "size 0": (["--size", 0], "size is 0"),
        "size 100000": (["--size", 100000], "size is 100000"),
        "size abc": (["--size", "abc"], "invalid int value"),
        "steps -1": (["--steps", -1], "steps is -1"),
        "style strength nan": (["--style-strength", "nan"], "style_strength must be a finite number"),
        "tv weight inf": (["--tv-weight", "inf"], "tv_weight must be a finite number"),
        "learning rate negative": (["--learning-rate", -1], "learning_rate is -1"),
        "blend count": (["--style-blend", 1, 2], "1 style images but 2 blend weights"),
        "blend nan": (["--style-blend", "nan"], "style_blend must be non-negative finite"),
        "blend zero": (["--style-blend", 0], "style_blend must not be all zero"),
        "preset": (["--preset", "ultra"], "invalid choice"),
        "layer": (["--style-layers", "block9_conv1"], "invalid choice"),
        "save every": (["--save-every", -1], "--save-every"),
        "unknown flag": (["--colour-boost", 2], "unrecognized arguments"),
        "byte limit": (["--max-input-bytes", 100], "the limit is 100"),
        "weights pickle": (["--weights", tmp_path / "model.pkl"], ".h5"),
        "weights missing": (["--weights", tmp_path / "missing.h5"], "weights file not found"),
        "weights hf malformed": (["--weights", "hf://vgg19.h5"], "hf://<owner>/<repo>/<file>.h5"),
        "recipe missing": (["--recipe", tmp_path / "none.png"], "could not open the recipe"),
        "recipe absent": (["--recipe", plain], "no style-transfer recipe"),
        "log folder missing": (["--log-json", tmp_path / "nowhere" / "log.jsonl"], "cannot write the log"),
        "timelapse extension": (["--timelapse", tmp_path / "run.mp4"], "must end in .webp or .gif"),
        "timelapse folder missing": (["--timelapse", tmp_path / "nowhere" / "run.webp"], "timelapse folder"),
        "init image missing": (["--init-image", tmp_path / "earlier.png"], "start image file not found"),
    }
    cases |= {name: ([photo, style, "-o", out, *args], msg) for name, (args, msg) in flag_cases.items()}
    cases["content missing"] = ([tmp_path / "missing.jpg", style, "-o", out], "content image file not found")
    cases["output folder missing"] = ([photo, style, "-o", tmp_path / "nowhere" / "o.png"], "output folder")
    cases["output extension"] = ([photo, style, "-o", tmp_path / "out.xyz"], "extension")
    cases["output is a folder"] = ([photo, style, "-o", tmp_path], "is a folder")
    cases["no arguments"] = ([], "required")
    cases["no style"] = ([photo, "-o", out], "required")
    return cases


CASE_NAMES = [f"content {n}" for n in BAD_FILES] + [
    "style empty.jpg", "style bomb.png", "size 0", "size 100000", "size abc", "steps -1", "style strength nan",
    "tv weight inf", "learning rate negative", "blend count", "blend nan", "blend zero", "preset", "layer",
    "save every", "unknown flag", "byte limit", "weights pickle", "weights missing", "weights hf malformed",
    "recipe missing", "recipe absent", "log folder missing", "content missing", "output folder missing",
    "output extension", "output is a folder", "no arguments", "no style", "timelapse extension",
    "timelapse folder missing", "init image missing",
]  # fmt: skip
# As real processes: every bad file kind and one case of each other way to fail (the in-process
# battery covers every case). A few run in the default (fast) suite; the rest are marked slow.
SUBPROCESS_CASES = [f"content {n}" for n in BAD_FILES] + [
    "size 0", "steps -1", "style strength nan", "blend count", "blend nan", "preset", "save every",
    "weights pickle", "weights missing", "recipe missing", "log folder missing", "content missing",
    "output folder missing", "output extension", "no arguments",
]  # fmt: skip
FAST_SUBPROCESS = {"content empty.jpg", "content bomb.png", "size 0", "blend count", "preset", "log folder missing"}


def test_case_list_is_complete(bad_files, image_files, tmp_path):
    assert sorted(CASE_NAMES) == sorted(_bad_cases(bad_files, image_files, tmp_path))


@pytest.mark.parametrize("case", CASE_NAMES)
def test_bad_input_in_process(case, capfd, bad_files, image_files, tmp_path):
    args, expected = _bad_cases(bad_files, image_files, tmp_path)[case]
    (tmp_path / "model.pkl").write_bytes(b"\x80\x04")
    result = in_process(capfd, *args)
    assert_one_line_error(result, expected)
    assert not (tmp_path / "out.png").exists(), "a failed run left an output file"


@pytest.mark.parametrize(
    "case", [c if c in FAST_SUBPROCESS else pytest.param(c, marks=pytest.mark.slow) for c in SUBPROCESS_CASES]
)
def test_bad_input_subprocess(case, bad_files, image_files, tmp_path):
    args, expected = _bad_cases(bad_files, image_files, tmp_path)[case]
    (tmp_path / "model.pkl").write_bytes(b"\x80\x04")
    result = cli(*args)
    assert_one_line_error(result, expected)
    assert result.stdout == ""


@pytest.mark.parametrize("level", ["1", "2", "3"])
def test_a_users_tensorflow_log_level_keeps_errors_on_one_line(tmp_path, level):
    """TF_CPP_MIN_LOG_LEVEL=2 is a usual setting; only 0 asks for TensorFlow's start-up notices."""
    result = cli(tmp_path / "missing.jpg", tmp_path / "missing.jpg", "-o", tmp_path / "out.png", tf_log_level=level)
    assert_one_line_error(result, "content image file not found")


# --- masks (issue 17) ---------------------------------------------------------------------------


def test_cli_mask_and_the_recipe_that_brings_it_back(capfd, image_files, tmp_path):
    mask = tmp_path / "mask.png"
    pixels = np.zeros((24, 32), np.uint8)  # half the photo's size: resized, with a note
    pixels[:12] = 255
    Image.fromarray(pixels, "L").save(mask)
    out, again = tmp_path / "masked.png", tmp_path / "again.png"
    common = ["--size", 64, "--steps", 3, "--preset", "fast", "--weights", "untrained"]
    result = in_process(capfd, image_files["photo_small"], image_files["style"], "-o", out, "--mask", mask, *common)
    assert result.code == 0, result.stderr
    assert "note: The mask (32x24) was resized to the photo's size (64x48)" in result.stderr
    assert read_recipe(out)["mask"]["size"] == [64, 48]
    result = in_process(capfd, image_files["photo_small"], image_files["style"], "-o", again, "--recipe", out, "-q")
    assert result.code == 0, result.stderr
    assert "using the recipe's mask" in result.stderr
    assert again.read_bytes() == out.read_bytes()


def test_cli_keep_faces_without_the_detector_is_one_line(capfd, image_files, tmp_path, monkeypatch):
    from style_transfer import faces

    monkeypatch.setattr(faces, "available", lambda: False)
    result = in_process(
        capfd, image_files["photo_small"], image_files["style"], "-o", tmp_path / "o.png", "--keep-faces",
        "--weights", "untrained",
    )  # fmt: skip
    assert_one_line_error(result, "keep_faces needs the optional face detector, which is not installed: pip install")


def test_cli_mask_is_for_one_photo(capfd, image_files, tmp_path):
    result = in_process(
        capfd, image_files["photo_small"], "--output-dir", tmp_path, "--style", image_files["style"],
        "--mask", image_files["style"],
    )  # fmt: skip
    assert result.code == 2 and "--mask is for one photo" in result.stderr
