"""Extract the example content photos from scikit-image's bundled sample data.

Every photo used here ships inside the scikit-image wheel (``skimage/data``),
so nothing is downloaded: the files are read straight from the installed
package with Pillow.  Each one is public domain or CC0 according to the
docstring of the matching ``skimage.data`` function (see ``CREDITS.md``).

The photos are scaled so that their long side is at most 512 px and written
next to this script as ``content_<name>.jpg`` (JPEG, quality 88).

Run with::

    python examples/make_photos.py
"""

from importlib import resources
from pathlib import Path

from PIL import Image

OUT_DIR = Path(__file__).resolve().parent
MAX_SIDE = 512
QUALITY = 88

# output name -> file inside the installed skimage/data package
PHOTOS = {
    "astronaut": "astronaut.png",  # skimage.data.astronaut(), public domain (NASA)
    "cat": "chelsea.png",  # skimage.data.chelsea(), CC0 (Stefan van der Walt)
    "coffee": "coffee.png",  # skimage.data.coffee(), CC0 (Rachel Michetti)
    "rocket": "rocket.jpg",  # skimage.data.rocket(), public domain (SpaceX)
    "hubble": "hubble_deep_field.jpg",  # skimage.data.hubble_deep_field(), PD (NASA)
    "retina": "retina.jpg",  # skimage.data.retina(), CC0 (Mikael Haggstrom)
}


def load_bundled(filename):
    """Open an image bundled with scikit-image, refusing to download anything."""
    path = resources.files("skimage.data") / filename
    if not path.is_file():
        raise FileNotFoundError(f"{filename} is not bundled with this scikit-image")
    with Image.open(path) as im:
        return im.convert("RGB")


def shrink(im, max_side=MAX_SIDE):
    """Scale an image down (never up) so its long side is at most max_side."""
    scale = max_side / max(im.size)
    if scale >= 1:
        return im
    size = (round(im.width * scale), round(im.height * scale))
    return im.resize(size, Image.LANCZOS)


def main():
    for name, filename in PHOTOS.items():
        out = OUT_DIR / f"content_{name}.jpg"
        shrink(load_bundled(filename)).save(out, quality=QUALITY, optimize=True)
        print(f"{out.name}: {out.stat().st_size / 1024:.0f} KB")


if __name__ == "__main__":
    main()
