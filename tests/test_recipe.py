"""The recipe in PNG metadata: round trip, re-run, and damaged or missing recipes."""

from __future__ import annotations

import json

import pytest
from PIL import Image, PngImagePlugin

from style_transfer import (
    StyleConfig,
    StyleTransferError,
    WeightsInfo,
    config_from_recipe,
    make_recipe,
    read_recipe,
    save_png,
    stylize,
)
from style_transfer.recipe import RECIPE_KEY

pytestmark = pytest.mark.usefixtures("no_network")

UNTRAINED = WeightsInfo("untrained:0", True, "untrained VGG19 (seeded He-normal)")
CONFIGS = [
    StyleConfig(),
    StyleConfig(
        size=96,
        preset="best",
        steps=7,
        style_strength=2.5,
        tv_weight=0.0,
        optimizer="adam",
        learning_rate=0.05,
        init="noise",
        seed=12345,
        objective="tutorial",
        preserve_color="luminance",
        style_scale=0.5,
        style_blend=(1.0, 0.5),
        style_layers=("block1_conv1", "block3_conv2"),
        content_layers=("block5_conv2",),
        preview_every=3,
    ),
]


@pytest.mark.parametrize("config", CONFIGS)
def test_recipe_round_trips_through_png(config, tmp_path, picture):
    recipe = make_recipe(config, UNTRAINED)
    path = tmp_path / "out.png"
    save_png(picture(32, 24), path, recipe)
    read = read_recipe(path)
    assert read == json.loads(json.dumps(recipe))
    assert config_from_recipe(read) == config
    assert read_recipe(Image.open(path)) == read  # an open image works too
    with Image.open(path) as image:  # the pixels are untouched
        assert image.tobytes() == picture(32, 24).tobytes()


def test_recipe_says_what_made_the_image():
    recipe = make_recipe(StyleConfig(seed=42), UNTRAINED)
    assert recipe["seed"] == 42
    assert recipe["weights"] == {"id": "untrained:0", "untrained": True, "description": UNTRAINED.description}
    for package in ("tensorflow", "keras", "numpy", "pillow"):
        assert recipe["versions"][package] and recipe["versions"][package] != "not installed"


def test_rerun_from_a_recipe_gives_the_same_config_and_image(tmp_path, content_image, style_image):
    config = StyleConfig(size=64, steps=3, seed=5, init="noise", style_strength=3.0)
    *_, last = stylize(content_image, [style_image], config, weights="untrained")
    path = tmp_path / "first.png"
    save_png(last.image, path, last.recipe)

    again_config = config_from_recipe(read_recipe(path))
    assert again_config == config
    *_, again = stylize(content_image, [style_image], again_config, weights="untrained")
    assert again.image.tobytes() == last.image.tobytes()
    assert again.recipe == last.recipe


def _png_with_text(tmp_path, key: str, text: str):
    info = PngImagePlugin.PngInfo()
    info.add_itxt(key, text)
    path = tmp_path / "tagged.png"
    Image.new("RGB", (8, 8)).save(path, pnginfo=info)
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "damaged"),
        ("[1, 2]", "no config"),
        ('{"config": 3}', "no config"),
        ('{"config": {"size": 64, "colour_boost": 2}}', "unknown setting"),
        ('{"config": {"size": 0}}', "size"),
        ('{"config": {"steps": "many"}}', "steps"),
        ('{"config": {"style_blend": [1, NaN]}}', "style_blend"),
    ],
)
def test_damaged_recipes_are_refused(text, message, tmp_path):
    with pytest.raises(StyleTransferError, match=message):
        config_from_recipe(read_recipe(_png_with_text(tmp_path, RECIPE_KEY, text)))


def test_images_without_a_recipe(tmp_path, bad_files):
    plain = tmp_path / "plain.png"
    Image.new("RGB", (8, 8)).save(plain)
    jpeg = tmp_path / "photo.jpg"
    Image.new("RGB", (8, 8)).save(jpeg)
    for path in (plain, jpeg, _png_with_text(tmp_path, "Comment", "hello")):
        with pytest.raises(StyleTransferError, match="no style-transfer recipe"):
            read_recipe(path)
    for path in (tmp_path / "missing.png", bad_files["text.jpg"], bad_files["empty.jpg"]):
        with pytest.raises(StyleTransferError, match="could not open the recipe image"):
            read_recipe(path)


def test_old_recipes_carrying_the_operator_limits_still_load(tmp_path):
    """Recipes written before the input limits became operator settings carry them in their config:
    exactly those two keys are ignored (a recipe cannot raise the limits); any other stays refused."""
    old = {**StyleConfig(size=96, seed=3).to_dict(), "max_input_megapixels": 170.0, "max_input_bytes": 2_000_000_000}
    path = _png_with_text(tmp_path, RECIPE_KEY, json.dumps({"config": old}))
    assert config_from_recipe(read_recipe(path)) == StyleConfig(size=96, seed=3)
    path = _png_with_text(tmp_path, RECIPE_KEY, json.dumps({"config": {**old, "max_input_pixels": 1}}))
    with pytest.raises(StyleTransferError, match="unknown setting"):
        config_from_recipe(read_recipe(path))
