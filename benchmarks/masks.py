"""Masks and kept faces (issue 17): what a region costs a step, what keep_faces costs a photo, and the
contact sheet that shows them.

    python -m benchmarks.masks steps [--size 512] [--repeat 5]     both precision paths, one process
    python -m benchmarks.masks faces [--repeat 5]                   MTCNN: load, detect, its install size
    python -m benchmarks.masks sheet [--size 384]                   ImageNet weights: contact_masks.jpg

``steps`` times one evaluation (loss and gradient) of the normalized objective on the Tübingen example
at ``size``: the plain step, then the regional one with a half-and-half mask (one style, the rest kept),
with two styles, and with a kept face; on both paths (bfloat16 where the CPU has it, and float32) in the
same process, the cases interleaved, so the ratios hold on a loaded machine. Writes results/masks_steps.json;
``faces`` results/masks_faces.json; ``sheet`` contact_masks.jpg and results/masks_sheet.json.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import deque
from pathlib import Path
from typing import Any

from . import common

EXAMPLES = common.ROOT / "examples"


def _example(name: str) -> Any:
    from PIL import Image

    with Image.open(EXAMPLES / name) as image:
        return image.convert("RGB")


def _half_mask(size: tuple[int, int]) -> Any:
    """(H, W) float32: the top half white (the sky's side), feathered as a run feathers it."""
    import numpy as np

    from style_transfer.regions import feathered

    mask = np.zeros(size[::-1], np.float32)
    mask[: size[1] // 2] = 1.0
    return feathered(mask, max(size))


def _face_mask(size: tuple[int, int]) -> Any:
    from style_transfer.faces import Face, face_mask

    width, height = size
    return face_mask([Face((width * 0.4, height * 0.3, width * 0.2, height * 0.25), 1.0, {})], size)


def _cases(size: tuple[int, int]) -> dict[str, Any]:
    """Each case's regions (None: the plain step) and its style count."""
    from style_transfer.regions import Regions, build_regions

    half, face = _half_mask(size), _face_mask(size)
    return {
        "plain": (None, 1),
        "mask, 1 style + kept": (Regions(build_regions(half, 1, None)), 1),
        "mask, 2 styles": (Regions(build_regions(half, 2, None)), 2),
        "keep_faces (1 face)": (Regions(build_regions(None, 1, face)), 1),
        "mask + keep_faces": (Regions(build_regions(half, 1, face)), 1),
    }


def loss_function(case: tuple[Any, int], size: tuple[int, int], dtype: str, weights: str) -> Any:
    """``case``'s compiled loss-and-gradient at ``size``, traced once, and the photo it starts from."""
    import tensorflow as tf

    from style_transfer import StyleConfig
    from style_transfer import image as images
    from style_transfer.engine.objective import CompiledObjective
    from style_transfer.regions import at_scale

    regions, style_count = case
    content = images.to_array(images.resize(_example("content_tubingen.jpg"), size))
    style_names = ["style_starry_night.jpg", "style_great_wave.jpg"][:style_count]
    styles = [images.to_array(images.resize(_example(name), size)) for name in style_names]
    objective = CompiledObjective(weights, StyleConfig(), dtype)
    if regions is None:
        targets = objective.targets(content, styles, [1.0 / style_count] * style_count)
        loss_and_gradient = objective.loss_and_gradient(targets, size)
    else:
        split_at = objective.spec.split_at(size)
        guides = at_scale(regions, size, objective.style_layers, objective.content_layers, split_at)
        region_targets = objective.region_targets(content, styles, guides.blends)
        loss_and_gradient = objective.regional_loss_and_gradient(region_targets, guides, content, size)
    image = tf.constant(content)
    float(loss_and_gradient(image)[0]["total"])  # the trace
    return lambda: float(loss_and_gradient(image)[0]["total"])


def steps(size: int, repeat: int) -> dict[str, Any]:
    """One evaluation (loss and gradient: what a step costs, whatever the optimiser's line search does) per
    case, the cases interleaved round by round so that a shared machine's load falls on all alike."""
    from style_transfer.model import objective_dtype
    from style_transfer.plan import fit_long_side

    output = fit_long_side(_example("content_tubingen.jpg").size, size)
    weights, rows = common.untrained_weights(), []  # a step's time does not depend on the weights' values
    for precision in ("auto", "float32"):
        dtype = objective_dtype("normalized", precision)
        calls = {name: loss_function(case, output, dtype, weights) for name, case in _cases(output).items()}
        times: dict[str, list[float]] = {name: [] for name in calls}
        for _ in range(repeat):
            for name, call in calls.items():
                start = time.perf_counter()
                call()
                times[name].append(time.perf_counter() - start)
        plain = statistics.median(times["plain"])
        for name, seconds in times.items():
            median = statistics.median(seconds)
            rows.append({"dtype": dtype, "case": name, "step_s": median, "ratio": median / plain, "all_s": seconds})
            print(f"{dtype:9} {name:22} {median:.3f} s/evaluation  x{median / plain:.2f}", flush=True)
    return {"size": list(output), "repeat": repeat, "rows": rows}


def faces(repeat: int) -> dict[str, Any]:
    """MTCNN's cost: import + load (once per process), then a detection per 512 px photo."""
    import importlib.metadata

    import psutil

    process = psutil.Process()
    before = process.memory_info().rss
    start = time.perf_counter()
    from style_transfer import faces as face_finder

    photo = _example("content_astronaut.jpg")
    found = face_finder.find_faces(photo)  # the first call imports mtcnn and builds its networks
    first = time.perf_counter() - start
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        face_finder.find_faces(photo)
        times.append(time.perf_counter() - start)
    files = importlib.metadata.files("mtcnn") or []
    installed = sum(Path(str(f.locate())).stat().st_size for f in files if Path(str(f.locate())).is_file())
    result = {
        "photo": list(photo.size),
        "faces": [face.confidence for face in found],
        "first_call_s": first,
        "detect_s": statistics.median(times),
        "rss_added_mb": (process.memory_info().rss - before) / 1e6,
        "installed_mb": installed / 1e6,
    }
    print(result, flush=True)
    return result


# -- the contact sheet ----------------------------------------------------------------------------------


def _run(content: str, styles: list[str], weights: str, mask: Any = None, **changes: Any) -> Any:
    from style_transfer import StyleConfig, stylize

    config = StyleConfig(**changes)
    paths = [str(EXAMPLES / name) for name in styles]
    frames = stylize(str(EXAMPLES / content), paths, config, settings=common.settings(weights), mask=mask)
    final = deque(frames, maxlen=1)[0]
    print(f"{content} {styles} {changes} mask={mask is not None}: {final.step} steps, {final.note}", flush=True)
    return final.image


def _split_mask(photo: str) -> Any:
    """A left/right mask (white on the left) the size of ``photo``."""
    from PIL import Image, ImageDraw

    size = _example(photo).size
    mask = Image.new("L", size, 0)
    ImageDraw.Draw(mask).rectangle((0, 0, size[0] // 2, size[1]), fill=255)
    return mask


def _landmark_drift(photo: Any, result: Any) -> str:
    """MTCNN on the result against the photo: its confidence and the landmarks' drift / eye distance."""
    import math

    from style_transfer.faces import find_faces

    before, after = find_faces(photo), find_faces(result.resize(photo.size))
    if not before or not after:
        return "no face found"
    eyes = math.dist(before[0].landmarks["left_eye"], before[0].landmarks["right_eye"])
    drift = max(math.dist(before[0].landmarks[k], after[0].landmarks[k]) for k in before[0].landmarks)
    return f"face {after[0].confidence:.3f}, drift {drift / eyes:.2f}"


def sheet(size: int) -> Path:
    from PIL import Image

    from . import quality

    weights = common.imagenet_weights()
    sky = Image.open(EXAMPLES / "mask_tubingen_sky.png")
    base: dict[str, Any] = {"size": size}
    rows, labels = [], []
    tubingen = _example("content_tubingen.jpg")
    starry, wave = "style_starry_night.jpg", "style_great_wave.jpg"
    plain = _run("content_tubingen.jpg", [starry], weights, **base)
    masked = _run("content_tubingen.jpg", [starry], weights, sky, **base)
    two = _run("content_tubingen.jpg", [starry, wave], weights, sky, **base)
    rows.append([tubingen, sky.convert("RGB"), plain, masked, two])
    labels.append("Tubingen\nsky: Starry Night\n(two: town Great Wave)")
    cat, split = _example("content_cat.jpg"), _split_mask("content_cat.jpg")
    cat_styles = ["style_stained_glass.jpg", "style_woman_with_hat.jpg"]
    rows.append(
        [
            cat,
            split.convert("RGB"),
            _run("content_cat.jpg", cat_styles[:1], weights, **base),
            _run("content_cat.jpg", cat_styles[:1], weights, split, **base),
            _run("content_cat.jpg", cat_styles, weights, split, **base),
        ]
    )
    labels.append("cat\nleft: stained glass\n(two: right Matisse)")
    astronaut, notes = _example("content_astronaut.jpg"), []
    portrait = ("content_astronaut.jpg", ["style_woman_with_hat.jpg"], weights)
    for strength in (1.0, 3.0):
        kept = _run(*portrait, keep_faces=True, style_strength=strength, **base)
        unkept = _run(*portrait, style_strength=strength, **base)
        rows.append([astronaut, _face_preview(astronaut), unkept, kept])
        label = f"astronaut, strength {strength:g}\nwithout: {_landmark_drift(astronaut, unkept)}\n"
        labels.append(label + f"kept: {_landmark_drift(astronaut, kept)}")
        notes.append(labels[-1])
    header = ["photo", "mask", "unmasked", "masked (1 style)", "two styles / kept faces"]
    title = f"masks and kept faces, {size} px, balanced, weights {Path(weights).name}"
    path = common.OUT / "contact_masks.jpg"
    quality.contact_sheet(rows, labels, header, title).save(path, quality=80, optimize=True)
    common.save("masks_sheet", {"size": size, "weights": Path(weights).name, "rows": labels})
    print(f"wrote {path}", *notes, sep="\n")
    return path


def _face_preview(photo: Any) -> Any:
    """The kept-face region keep_faces makes on ``photo``, as a grey image."""
    from PIL import Image

    from style_transfer.faces import face_mask, find_faces

    mask = face_mask(find_faces(photo), photo.size)
    return Image.fromarray((mask * 255).astype("uint8"), "L").convert("RGB") if mask is not None else photo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["steps", "faces", "sheet"])
    parser.add_argument("--size", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    import style_transfer  # noqa: F401 (quiet TensorFlow import)

    if args.what == "steps":
        common.save("masks_steps", steps(args.size or 512, args.repeat))
    elif args.what == "faces":
        common.save("masks_faces", faces(args.repeat))
    else:
        sheet(args.size or 384)


if __name__ == "__main__":
    main()
