"""Draw the example masks from the example photos (nothing downloaded, nothing painted by hand).

    python examples/make_masks.py

``mask_tubingen_sky.png``: the sky of ``content_tubingen.jpg`` white, the town and the river black, for the
example "the sky as The Starry Night, the town kept". The sky there is a clear blue: the pixels clearly
bluer than red and green, in one piece with the top edge, closed and opened a little (the gaps between
branches close, specks go) and with its holes filled.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

HERE = Path(__file__).resolve().parent


def sky_mask(photo: Image.Image) -> Image.Image:
    """White where the photo's clear sky is, black elsewhere (same size)."""
    pixels = np.asarray(photo.convert("RGB"), np.float32)
    red, green, blue = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    bluish = (blue > red + 40) & (blue > green + 10) & (blue > 120)
    labels, _ = ndimage.label(bluish)
    touching_top = np.setdiff1d(np.unique(labels[:3]), [0])
    sky = np.pad(np.isin(labels, touching_top), 4, mode="edge")  # the edges as they are, not eroded away
    sky = ndimage.binary_opening(ndimage.binary_closing(sky, iterations=2), iterations=1)[4:-4, 4:-4]
    sky = ndimage.binary_fill_holes(sky)
    return Image.fromarray(sky.astype(np.uint8) * 255, "L")


def main() -> None:
    with Image.open(HERE / "content_tubingen.jpg") as photo:
        mask = sky_mask(photo)
    out = HERE / "mask_tubingen_sky.png"
    mask.save(out, optimize=True)
    share = np.asarray(mask).mean() / 255
    print(f"{out.name}: {mask.width}x{mask.height}, sky {share:.0%}, {out.stat().st_size / 1024:.1f} KB")


if __name__ == "__main__":
    main()
