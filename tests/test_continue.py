"""Continue and Refine: a run that starts from a finished result (``init_image``), in the engine and the CLI.

Continue is a new run at the same size whose start image is the last result's PNG; Refine is
one at twice the size from it. Untrained weights, tiny images.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from style_transfer import StyleConfig, read_recipe, save_png, stylize
from style_transfer.__main__ import main

pytestmark = pytest.mark.usefixtures("no_network")

CONFIG = StyleConfig(size=64, steps=6, preset="fast", preview_every=1)  # 64x48: one scale


@pytest.fixture(scope="module")
def first_run(content_image, style_image, tmp_path_factory):
    frames = list(stylize(content_image, [style_image], CONFIG, weights="untrained"))
    png = tmp_path_factory.mktemp("continue") / "first.png"
    save_png(frames[-1].image, png, frames[-1].recipe)
    return frames, png


def test_continue_starts_from_exactly_the_first_results_pixels_and_only_goes_down(
    first_run, content_image, style_image
):
    """What is true of Continue after N steps, against one run of N + M steps:

    - its first step evaluates its start, the first run's PNG: its first picture is that PNG pixel
      for pixel, and its losses are the first run's final losses up to the PNG's 8-bit rounding;
    - L-BFGS keeps the best point, so its loss never rises and it ends below the first run's;
    - it is not the same as one longer run: that run's first N steps are the first run's, but its
      step N + 1 goes on with the L-BFGS memory of N steps and unrounded pixels, while Continue
      starts a fresh memory from the rounded picture.
    """
    first, png = first_run
    more = list(stylize(content_image, [style_image], CONFIG.replace(steps=4), weights="untrained", init_image=png))
    start, end = more[0], more[-1]
    assert start.image is not None and start.size == first[-1].size and start.scales == 1
    assert np.array_equal(np.asarray(start.image), np.asarray(Image.open(png).convert("RGB")))
    for term in ("content", "style", "total"):
        assert start.losses[term] == pytest.approx(first[-1].losses[term], rel=0.005), term
    totals = [frame.losses["total"] for frame in more]
    assert totals == sorted(totals, reverse=True), "L-BFGS went uphill"
    assert end.losses["total"] < first[-1].losses["total"]
    assert end.recipe is not None and end.recipe["parent"] == first[-1].recipe

    longer = list(stylize(content_image, [style_image], CONFIG.replace(steps=10), weights="untrained"))
    assert [f.losses for f in longer[:6]] == [f.losses for f in first], "the same start and steps differ"
    assert longer[6].losses != start.losses


def test_refine_doubles_the_size_from_the_result_with_one_scale(first_run, content_image, style_image):
    first, png = first_run
    refined = list(
        stylize(content_image, [style_image], CONFIG.replace(size=128, steps=3), weights="untrained", init_image=png)
    )
    assert {frame.size for frame in refined} == {(128, 96)}, "a refine runs at the new size only"
    final = refined[-1]
    assert final.recipe is not None and final.recipe["parent"] == first[-1].recipe
    assert final.recipe["config"]["size"] == 128


# ---------------------------------------------------------------- the CLI


def test_cli_init_image_records_the_parent_and_recipe_takes_the_new_runs_config(
    capfd, first_run, image_files, tmp_path
):
    _, png = first_run
    out = tmp_path / "continued.png"
    code = main([str(image_files["photo_small"]), str(image_files["style"]), "-o", str(out), "--size", "64",
                 "--steps", "2", "--preset", "fast", "--init-image", str(png), "-q"])  # fmt: skip
    assert code == 0, capfd.readouterr().err
    recipe = read_recipe(out)
    assert recipe["parent"] == read_recipe(png)
    assert recipe["config"]["steps"] == 2
    capfd.readouterr()

    again = tmp_path / "again.png"
    code = main(
        [str(image_files["photo_small"]), str(image_files["style"]), "-o", str(again), "--recipe", str(out), "-q"]
    )
    err = capfd.readouterr().err
    assert code == 0, err
    assert read_recipe(again)["config"] == recipe["config"], "--recipe must take the continued run's own config"
    assert "--init-image" in err, "a recipe made from an earlier result should say how to start from one"


def test_cli_timelapse_carries_the_same_recipe_as_the_png(capfd, image_files, tmp_path):
    out, webp, gif = tmp_path / "out.png", tmp_path / "run.webp", tmp_path / "run.gif"
    args = [str(image_files["photo_small"]), str(image_files["style"]), "--size", "64", "--steps", "3", "-q",
            "--preview-every", "1"]  # fmt: skip
    assert main([*args, "-o", str(out), "--timelapse", str(webp)]) == 0, capfd.readouterr().err
    assert "3 frames" in capfd.readouterr().err
    with Image.open(webp) as image:
        assert image.format == "WEBP" and image.size == (64, 48)
    assert read_recipe(webp) == read_recipe(out)
    assert main([*args, "-o", str(tmp_path / "out2.png"), "--timelapse", str(gif)]) == 0
    assert read_recipe(gif)["config"] == read_recipe(out)["config"]
