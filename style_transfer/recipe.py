"""The recipe of a result (config, seed, weights, versions) in and out of image metadata.

A PNG carries it as JSON in an iTXt chunk; a timelapse too: an animated WebP in its XMP
packet, a GIF in a comment. ``read_recipe`` reads all three.
"""

from __future__ import annotations

import json
import os
import platform
import re
import struct
import tomllib
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any, BinaryIO
from xml.sax.saxutils import escape, unescape

from PIL import Image, PngImagePlugin

from .config import StyleConfig
from .errors import StyleTransferError, one_line
from .image import ACCEPTED_FORMATS
from .weights import WeightsInfo

RECIPE_KEY = "style_transfer_recipe"
RECIPE_VERSION = 1
MAX_ANCESTORS = 8  # parents kept in a recipe (Continue / Refine chains)
MAX_RECIPE_CHARS = 200_000  # a recipe is a few kB; refuse to parse anything far larger
# The parent chain kept in a new recipe, as JSON: half of what read_recipe accepts, so the result's
# recipe (its own few kB plus the chain) always reads back, whatever the start image carried.
MAX_PARENT_CHARS = MAX_RECIPE_CHARS // 2
# XMP (in WebP): the recipe's JSON as one property of this project's own namespace.
XMP_NAMESPACE = "urn:style-transfer-demo:recipe:1"
XMP_TEMPLATE = (
    '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    f'<rdf:Description rdf:about="" xmlns:st="{XMP_NAMESPACE}"><st:recipe>{{}}</st:recipe></rdf:Description>'
    '</rdf:RDF></x:xmpmeta><?xpacket end="r"?>'
)
XMP_RECIPE = re.compile(r"<st:recipe>(.*?)</st:recipe>", re.DOTALL)
GIF_COMMENT_PREFIX = RECIPE_KEY + "="
# Operator limits that older recipes carried in their config. Ignored: a recipe cannot raise them.
OBSOLETE_CONFIG_KEYS = frozenset({"max_input_megapixels", "max_input_bytes"})


def make_recipe(
    config: StyleConfig,
    weights: WeightsInfo,
    parent: dict[str, Any] | None = None,
    plan: Sequence[tuple[tuple[int, int], int]] = (),
) -> dict[str, Any]:
    """What made a result: its settings, weights and versions; ``plan`` the sizes and steps it ran
    (a budgeted run's depend on the machine); ``parent`` the recipe of the result it started from."""
    recipe: dict[str, Any] = {
        "recipe_version": RECIPE_VERSION,
        "config": config.to_dict(),
        "seed": config.seed,
        "weights": {"id": weights.id, "untrained": weights.untrained, "description": weights.description},
        "versions": package_versions(),
    }
    if plan:
        recipe["plan"] = [[width, height, steps] for (width, height), steps in plan]
    if parent is not None:
        recipe["parent"] = _parent_within_bounds(parent)
    return recipe


def _parent_within_bounds(parent: dict[str, Any]) -> dict[str, Any]:
    """``parent`` with at most MAX_ANCESTORS - 1 generations above it, and fewer while it is over
    MAX_PARENT_CHARS. A start image's recipe may hold anything up to MAX_RECIPE_CHARS (any image can
    be a start image): if the parent alone is too large, only what describes it is kept."""
    for keep in range(MAX_ANCESTORS - 1, -1, -1):
        kept = _with_ancestors_cut(parent, keep)
        if _json_chars(kept) <= MAX_PARENT_CHARS:
            return kept
    describing = ("recipe_version", "config", "seed", "weights", "plan", "parent_cut")
    core = {key: kept[key] for key in describing if key in kept}
    if _json_chars(core) <= MAX_PARENT_CHARS:
        return core | {"trimmed": True}
    return {"trimmed": True, "omitted": f"a recipe of {_json_chars(parent):,} characters"}


def _json_chars(recipe: dict[str, Any]) -> int:
    return len(json.dumps(recipe, sort_keys=True))  # as save_png writes it


def _with_ancestors_cut(recipe: dict[str, Any], keep: int) -> dict[str, Any]:
    """``recipe`` with at most ``keep`` generations of parents, so a long refine chain stays small."""
    parent = recipe.get("parent")
    if not isinstance(parent, dict):
        return recipe
    if keep <= 0:
        return {key: value for key, value in recipe.items() if key != "parent"} | {"parent_cut": True}
    return recipe | {"parent": _with_ancestors_cut(parent, keep - 1)}


def package_versions() -> dict[str, str]:
    """Versions of what computed the image. Taken from the modules themselves: the
    distribution names vary (tensorflow-cpu, tensorflow-macos, ...)."""
    import keras
    import numpy
    import PIL
    import tensorflow

    return {
        "style-transfer-demo": _project_version(),
        "python": platform.python_version(),
        "tensorflow": tensorflow.__version__,
        "keras": keras.__version__,
        "numpy": numpy.__version__,
        "pillow": PIL.__version__,
    }


def _project_version() -> str:
    try:
        return metadata.version("style-transfer-demo")
    except metadata.PackageNotFoundError:  # run from a checkout: read pyproject.toml
        pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
        try:
            return str(tomllib.loads(pyproject.read_text())["project"]["version"])
        except (OSError, KeyError, tomllib.TOMLDecodeError):
            return "unknown"


def save_png(image: Image.Image, path: str | os.PathLike | BinaryIO, recipe: dict[str, Any]) -> None:
    """Write ``image`` as PNG with the recipe as JSON in an iTXt chunk."""
    info = PngImagePlugin.PngInfo()
    info.add_itxt(RECIPE_KEY, json.dumps(recipe, sort_keys=True))
    info.add_text("Software", "style_transfer (Gatys et al. on VGG19)")
    image.save(path, format="PNG", pnginfo=info)


def recipe_metadata(recipe: dict[str, Any], image_format: str) -> dict[str, Any]:
    """Pillow save options that put ``recipe`` into a WEBP (XMP) or GIF (comment) file."""
    text = json.dumps(recipe, sort_keys=True)
    if image_format == "WEBP":
        return {"xmp": XMP_TEMPLATE.format(escape(text)).encode()}
    if image_format == "GIF":
        return {"comment": GIF_COMMENT_PREFIX + text}
    raise ValueError(f"no recipe metadata for {image_format}")


def _recipe_text(image: Image.Image) -> Any:
    """The recipe's JSON text as the file stores it (PNG text chunk, WebP XMP, GIF comment), or None."""
    if image.format == "WEBP":
        xmp = image.info.get("xmp") or b""
        found = XMP_RECIPE.search(xmp.decode("utf-8", "replace") if isinstance(xmp, bytes) else str(xmp))
        return unescape(found.group(1)) if found else None
    if image.format == "GIF":
        comment = image.info.get("comment") or b""
        text = comment.decode("utf-8", "replace") if isinstance(comment, bytes) else str(comment)
        return text.removeprefix(GIF_COMMENT_PREFIX) if text.startswith(GIF_COMMENT_PREFIX) else None
    return image.info.get(RECIPE_KEY)


def read_recipe(source: str | os.PathLike | BinaryIO | Image.Image) -> dict[str, Any]:
    """The recipe stored by save_png (or in a timelapse by write_timelapse); StyleTransferError otherwise."""
    try:
        if isinstance(source, Image.Image):
            text = _recipe_text(source)
        else:
            # Only formats whose header is read without decoding (not an ICO holding a huge PNG).
            with Image.open(source, formats=ACCEPTED_FORMATS) as image:  # the header and metadata only
                text = _recipe_text(image)
    except (OSError, ValueError, SyntaxError, EOFError, struct.error) as error:
        raise StyleTransferError(f"could not open the recipe image: {one_line(error, 200)}") from None
    if not text:
        raise StyleTransferError("this image carries no style-transfer recipe (was it saved as PNG by this tool?)")
    if not isinstance(text, str) or len(text) > MAX_RECIPE_CHARS:
        raise StyleTransferError("the recipe in this image is too large to be one this tool wrote")
    try:
        recipe = json.loads(text)
    except (ValueError, RecursionError):  # not JSON, nested too deep, or a number too long to convert
        raise StyleTransferError("the recipe in this image is damaged (not the JSON this tool writes)") from None
    if not isinstance(recipe, dict) or not isinstance(recipe.get("config"), dict):
        raise StyleTransferError("the recipe in this image has no config")
    return recipe


def config_from_recipe(recipe: dict[str, Any]) -> StyleConfig:
    settings = {name: value for name, value in recipe["config"].items() if name not in OBSOLETE_CONFIG_KEYS}
    return StyleConfig.from_dict(settings)
