"""The batch form of the CLI: ``PHOTO... --style STYLE... --output-dir DIR`` (style_transfer/batch.py)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from PIL import Image

from style_transfer import model, read_recipe
from style_transfer.batch import CONTACT_SHEET, LABEL, PAD, THUMB
from style_transfer.engine import objective
from tests.test_cli import cli, in_process

pytestmark = pytest.mark.usefixtures("no_network")

SETTINGS = ["--size", "32", "--steps", "2", "--preset", "fast", "-q"]  # 32x24 (4:3 photos), one scale


@pytest.fixture
def inputs(image_files, tmp_path):
    """Two photos in a folder, two styles as files."""
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(image_files["photo"], photos / "harbour.jpg")
    shutil.copy(image_files["photo_small"], photos / "garden.jpg")
    (photos / "notes.txt").write_text("not an image: a folder's other files are left alone")
    return photos, [image_files["style"], image_files["style2"]]


def test_two_photos_by_two_styles_make_four_pictures_and_a_contact_sheet(capfd, inputs, tmp_path):
    photos, styles = inputs
    out = tmp_path / "out"
    out.mkdir()
    traced, loaded = objective._compiled_loss.cache_info().misses, model._vgg19.cache_info().misses
    result = in_process(capfd, photos, "--style", *styles, "--output-dir", out, *SETTINGS)
    assert result.code == 0, result.stderr
    assert "error" not in result.stderr
    names = {"garden__style.png", "garden__style2.png", "harbour__style.png", "harbour__style2.png"}
    assert {p.name for p in out.glob("*.png")} == names
    for name in names:
        with Image.open(out / name) as image:
            assert image.size == (32, 24)
        assert read_recipe(out / name)["config"]["size"] == 32
    assert objective._compiled_loss.cache_info().misses - traced <= 1, "the step was traced more than once"
    assert model._vgg19.cache_info().misses - loaded <= 1, "the network was loaded more than once"
    with Image.open(out / CONTACT_SHEET) as sheet:
        assert sheet.size == (3 * THUMB, 3 * (THUMB + LABEL)), "a row per photo and a column per style, plus inputs"
        # Row 1 is garden (sorted), column 2 is style2: that cell holds that result's thumbnail.
        cell = np.asarray(sheet.crop((2 * THUMB, THUMB + LABEL, 3 * THUMB, 2 * THUMB + LABEL)), np.float64)
        width, height = THUMB - 2 * PAD, (THUMB - 2 * PAD) * 3 // 4
        result = Image.open(out / "garden__style2.png").convert("RGB").resize((width, height), Image.Resampling.LANCZOS)
        top = (THUMB - height) // 2
        shown = cell[top : top + height, PAD : PAD + width]
        assert np.abs(shown - np.asarray(result, np.float64)).mean() < 20  # JPEG; another cell differs by 40 or more


def test_a_bad_photo_gets_its_line_and_exit_2_while_the_others_are_written(capfd, inputs, bad_files, tmp_path):
    photos, styles = inputs
    shutil.copy(bad_files["empty.jpg"], photos / "empty.jpg")
    out = tmp_path / "out"
    out.mkdir()
    result = in_process(capfd, photos, tmp_path / "missing.jpg", "--style", *styles, "--output-dir", out, *SETTINGS)
    assert result.code == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 2, result.stderr
    assert "empty.jpg" in errors[0] and "empty" in errors[0].split("empty.jpg", 1)[1]
    assert "missing.jpg" in errors[1] and "not found" in errors[1]
    assert "Traceback" not in result.stderr
    assert len(list(out.glob("*__*.png"))) == 4, "the good pairs must still be written"
    assert (out / CONTACT_SHEET).is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--output-dir", "{out}"], "--output-dir needs --style"),
        (["--style", "{style}", "--output-dir", "{out}", "-o", "{out}/x.png"], "not both"),
        (["{style}", "--style", "{style}", "-o", "{out}/x.png"], "--style is for a batch"),
        (["--style", "{style}", "--output-dir", "{out}", "--timelapse", "{out}/t.webp"], "--timelapse is for one"),
        (["--style", "{style}", "--output-dir", "{style}"], "is a file, not a folder"),
    ],
)
def test_batch_usage_errors_are_one_line(capfd, image_files, tmp_path, args, message):
    fill = {"out": str(tmp_path), "style": str(image_files["style"])}
    result = in_process(capfd, image_files["photo_small"], *(a.format(**fill) for a in args))
    assert result.code == 2 and len(result.stderr.splitlines()) == 1, result.stderr
    assert message in result.stderr


def test_a_missing_output_folder_is_made_with_its_parents(capfd, image_files, tmp_path):
    out = tmp_path / "new" / "nested" / "results"
    result = in_process(
        capfd, image_files["photo_small"], "--style", image_files["style"], "--output-dir", out, *SETTINGS
    )
    assert result.code == 0, result.stderr
    assert {p.name for p in out.iterdir()} == {"photo_small__style.png", CONTACT_SHEET}


def test_a_refused_batch_makes_no_folder(capfd, image_files, tmp_path):
    out, other = tmp_path / "never", tmp_path / "elsewhere"
    other.mkdir()
    shutil.copy(image_files["photo_small"], other / "photo.png")
    result = in_process(capfd, image_files["photo"], other / "photo.png", "--style", image_files["style"],
                        "--output-dir", out, *SETTINGS)  # fmt: skip
    assert result.code == 2 and not out.exists()


def test_two_photos_with_one_name_are_refused_before_any_work(capfd, image_files, tmp_path):
    other = tmp_path / "elsewhere"
    other.mkdir()
    shutil.copy(image_files["photo_small"], other / "photo.png")
    result = in_process(capfd, image_files["photo"], other / "photo.png", "--style", image_files["style"],
                        "--output-dir", tmp_path, *SETTINGS)  # fmt: skip
    assert result.code == 2 and "two photos are named photo" in result.stderr
    assert not list(tmp_path.glob("*.png"))


@pytest.mark.slow
def test_batch_as_a_real_process(inputs, bad_files, tmp_path):
    photos, styles = inputs
    shutil.copy(bad_files["bomb.png"], photos / "bomb.png")
    out = tmp_path / "out"
    out.mkdir()
    result = cli(photos, "--style", *styles, "--output-dir", out, *SETTINGS)
    assert result.code == 2, result.stderr
    assert [line for line in result.stderr.splitlines() if line.startswith("error:")] == [
        line for line in result.stderr.splitlines() if "bomb.png" in line
    ]
    assert len(list(out.glob("*__*.png"))) == 4 and (out / CONTACT_SHEET).is_file()
    assert result.stdout == ""
