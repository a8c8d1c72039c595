"""Image loading: every EXIF orientation, every colour mode, and every kind of bad file."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageFile

from style_transfer import StyleTransferError, load_image
from style_transfer.image import match_colours
from tests.bad_inputs import BAD_FILES, png_bytes


def _encode(image: Image.Image, fmt: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def _pixels(image: Image.Image) -> np.ndarray:
    assert image.mode == "RGB"
    return np.asarray(image).astype(int)


# --- EXIF orientation -------------------------------------------------------------------------

# How the stored pixels relate to the upright picture, from the EXIF 2.3 definition of tag 0x0112
# (where the stored 0th row and 0th column lie in the upright picture), written with NumPy so it
# shares nothing with Pillow's exif_transpose.
STORED_FROM_UPRIGHT = {
    1: lambda a: a,
    2: lambda a: a[:, ::-1],  # 0th row top, 0th column right: mirrored
    3: lambda a: a[::-1, ::-1],  # bottom, right: turned 180 degrees
    4: lambda a: a[::-1, :],  # bottom, left: flipped
    5: lambda a: a.transpose(1, 0, 2),  # 0th row = left side, 0th column = top
    6: lambda a: np.rot90(a, 1),  # 0th row = right side, 0th column = top (camera turned clockwise)
    7: lambda a: np.rot90(a, 1)[:, ::-1],  # 0th row = right side, 0th column = bottom
    8: lambda a: np.rot90(a, -1),  # 0th row = left side, 0th column = bottom
}


def _with_orientation(upright: Image.Image, orientation: int, fmt: str, **options) -> bytes:
    stored = Image.fromarray(np.ascontiguousarray(STORED_FROM_UPRIGHT[orientation](np.asarray(upright))))
    exif = Image.Exif()
    exif[0x0112] = orientation
    return _encode(stored, fmt, exif=exif.tobytes(), **options)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_gives_the_upright_picture(orientation, picture):
    upright = picture(40, 24, seed=3)  # not square, not symmetric: every orientation looks different
    loaded = load_image(_with_orientation(upright, orientation, "PNG"))
    assert loaded.size == (40, 24)
    np.testing.assert_array_equal(_pixels(loaded), _pixels(upright))


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_exif_orientation_in_a_jpeg(orientation, picture):
    upright = picture(64, 32, seed=4)
    loaded = load_image(_with_orientation(upright, orientation, "JPEG", quality=95))
    assert loaded.size == (64, 32)
    assert np.abs(_pixels(loaded) - _pixels(upright)).mean() < 6  # JPEG loss only


# --- colour modes -----------------------------------------------------------------------------


def test_grayscale_becomes_grey_rgb():
    grey = Image.fromarray(np.tile(np.arange(0, 256, 8, dtype=np.uint8), (20, 1)), "L")
    loaded = _pixels(load_image(_encode(grey)))
    for channel in range(3):
        np.testing.assert_array_equal(loaded[..., channel], np.asarray(grey))


def test_palette_image_keeps_its_colours():
    colours = [(200, 30, 30), (30, 200, 30), (30, 30, 200)]
    palette = Image.new("P", (30, 20))
    palette.putpalette([value for colour in colours for value in colour])
    palette.putdata([(x // 10) for _ in range(20) for x in range(30)])
    loaded = _pixels(load_image(_encode(palette)))
    for index, colour in enumerate(colours):
        assert tuple(loaded[5, index * 10 + 5]) == colour


def test_palette_transparency_is_white():
    image = Image.new("P", (20, 20), 1)
    image.putpalette([0, 0, 0, 200, 30, 30] + [0] * 762)
    for x in range(10):
        for y in range(20):
            image.putpixel((x, y), 0)
    loaded = _pixels(load_image(_encode(image, transparency=0)))
    assert tuple(loaded[10, 2]) == (255, 255, 255)
    assert tuple(loaded[10, 15]) == (200, 30, 30)


def test_rgba_is_composited_over_white():
    rgba = np.zeros((20, 30, 4), np.uint8)
    rgba[:, :10] = (255, 0, 0, 0)  # fully transparent red: white
    rgba[:, 10:20] = (0, 0, 255, 255)  # opaque blue
    rgba[:, 20:] = (0, 0, 0, 128)  # half-transparent black: mid grey
    loaded = _pixels(load_image(_encode(Image.fromarray(rgba, "RGBA"))))
    assert tuple(loaded[5, 5]) == (255, 255, 255)
    assert tuple(loaded[5, 15]) == (0, 0, 255)
    assert np.all(np.abs(loaded[5, 25] - 127) <= 1)


def test_grey_with_alpha_is_composited_over_white():
    la = Image.new("LA", (20, 20), (0, 0))
    la.paste((50, 255), (0, 0, 10, 20))
    loaded = _pixels(load_image(_encode(la)))
    assert tuple(loaded[3, 3]) == (50, 50, 50)
    assert tuple(loaded[3, 15]) == (255, 255, 255)


def test_a_pil_rgba_image_is_accepted_directly():
    loaded = load_image(Image.new("RGBA", (20, 20), (0, 0, 0, 0)))
    assert loaded.mode == "RGB" and tuple(_pixels(loaded)[0, 0]) == (255, 255, 255)


def test_cmyk_jpeg_is_converted():
    cmyk = Image.new("CMYK", (32, 32), (0, 255, 255, 0))  # no cyan, full magenta and yellow: red
    cmyk.paste((255, 0, 0, 0), (16, 0, 32, 32))  # full cyan only: cyan
    data = _encode(cmyk, "JPEG", quality=95)
    assert Image.open(io.BytesIO(data)).mode == "CMYK"
    loaded = _pixels(load_image(data))
    assert np.all(np.abs(loaded[16, 4] - (255, 0, 0)) <= 12)
    assert np.all(np.abs(loaded[16, 28] - (0, 255, 255)) <= 12)


def test_16_bit_grayscale_png_is_scaled_not_clipped():
    ramp = np.tile(np.linspace(0, 65535, 32).round().astype(np.uint16), (16, 1))
    data = _encode(Image.fromarray(ramp))
    assert Image.open(io.BytesIO(data)).mode.startswith("I")
    loaded = _pixels(load_image(data))
    np.testing.assert_allclose(loaded[..., 0], ramp / 257.0, atol=1)
    assert np.array_equal(loaded[..., 0], loaded[..., 2])


def test_dark_16_bit_png_stays_dark():
    """Values up to 200 of 65535 are near-black, not a bright 8-bit picture."""
    dark = np.tile(np.linspace(0, 200, 32).round().astype(np.uint16), (16, 1))
    loaded = _pixels(load_image(_encode(Image.fromarray(dark))))
    assert loaded.max() <= 1


def test_16_bit_rgb_png_is_read():
    width, height = 20, 16
    pixel = np.array([65535, 32768, 0], ">u2").tobytes()  # orange-ish, big-endian as PNG stores it
    rows = (b"\x00" + pixel * width) * height
    loaded = _pixels(load_image(png_bytes(width, height, rows, bit_depth=16, colour_type=2)))
    assert loaded.shape == (height, width, 3)
    assert np.all(np.abs(loaded[0, 0] - (255, 128, 0)) <= 1)


@pytest.mark.parametrize(("fmt", "options"), [("GIF", {}), ("WEBP", {"lossless": True})])
def test_animated_image_gives_its_first_frame(fmt, options):
    frames = [Image.new("RGB", (24, 24), colour) for colour in ((255, 0, 0), (0, 0, 255), (0, 255, 0))]
    data = _encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, loop=0, **options)
    assert getattr(Image.open(io.BytesIO(data)), "n_frames", 1) == 3
    loaded = _pixels(load_image(data))
    assert np.all(np.abs(loaded - (255, 0, 0)) <= 2)


def test_sources_path_bytes_file_object_agree(tmp_path, picture):
    image = picture(30, 20)
    path = tmp_path / "picture.png"
    image.save(path)
    data = path.read_bytes()
    for source in (path, str(path), data, io.BytesIO(data)):
        np.testing.assert_array_equal(_pixels(load_image(source)), _pixels(image))


def test_small_but_valid_images_load():
    assert load_image(_encode(Image.new("RGB", (16, 16)))).size == (16, 16)
    assert load_image(_encode(Image.new("RGB", (256, 16)))).size == (256, 16)  # 16:1 exactly


# --- bad files --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_file_is_refused_with_a_clear_message(name, bad_files):
    with pytest.raises(StyleTransferError) as error:
        load_image(bad_files[name], "style image")
    message = str(error.value)
    assert BAD_FILES[name] in message
    assert message.startswith("style image"), "the message must say which input is wrong"
    assert "\n" not in message


@pytest.mark.parametrize("name", ["bomb.png", "big_header.png"])
def test_decompression_bomb_is_refused_before_decoding(name, bad_files, monkeypatch):
    def decode(self):
        raise AssertionError("the pixels were decoded before the size was checked")

    monkeypatch.setattr(ImageFile.ImageFile, "load", decode)
    assert bad_files[name].stat().st_size < 1000
    with pytest.raises(StyleTransferError, match="megapixels"):
        load_image(bad_files[name])


def test_a_limit_above_pillows_own_bomb_warning_is_honoured(monkeypatch):
    """Pillow warns above ~89 MP; the configured limit, not Pillow's, decides what is refused."""

    class Decoding(Exception):
        pass

    def decode(self):
        raise Decoding

    monkeypatch.setattr(ImageFile.ImageFile, "load", decode)
    data = png_bytes(10000, 9500, (b"\x00" + bytes(30000)) * 4)  # the header says 95 megapixels
    assert Image.MAX_IMAGE_PIXELS < 10000 * 9500
    with pytest.raises(Decoding):  # accepted: it gets as far as decoding
        load_image(data, max_megapixels=100)
    with pytest.raises(StyleTransferError, match=r"10000x9500 \(95 megapixels\); the limit is 90 megapixels"):
        load_image(data, max_megapixels=90)


def test_megapixel_limit_is_configurable():
    data = _encode(Image.new("RGB", (200, 100)))  # 0.02 megapixels
    assert load_image(data, max_megapixels=0.02).size == (200, 100)
    with pytest.raises(StyleTransferError, match=r"200x100 \(0\.02 megapixels\); the limit is 0\.019"):
        load_image(data, max_megapixels=0.019)


def test_byte_limit_for_every_kind_of_source(tmp_path):
    data = _encode(Image.new("RGB", (64, 64)))
    path = tmp_path / "ok.png"
    path.write_bytes(data)
    for source in (path, data, io.BytesIO(data)):
        assert load_image(source, max_bytes=len(data)).size == (64, 64)
    for source in (path, data, io.BytesIO(data)):
        with pytest.raises(StyleTransferError, match=f"the limit is {len(data) - 1:,}"):
            load_image(source, max_bytes=len(data) - 1)


def test_empty_sources_and_missing_files(tmp_path):
    for source in (b"", io.BytesIO(b"")):
        with pytest.raises(StyleTransferError, match="empty"):
            load_image(source)
    with pytest.raises(StyleTransferError, match="not found"):
        load_image(tmp_path / "missing.png", "content image")
    with pytest.raises(StyleTransferError, match="not found"):
        load_image(tmp_path)  # a folder


def test_pil_image_input_is_checked_too():
    with pytest.raises(StyleTransferError, match="aspect ratio"):
        load_image(Image.new("RGB", (1000, 10)))
    with pytest.raises(StyleTransferError, match="megapixels"):
        load_image(Image.new("L", (500, 500)), max_megapixels=0.1)


# --- colour transfer --------------------------------------------------------------------------


def test_match_colours_gives_the_style_the_content_palette(picture):
    content = picture(48, 48, seed=2)
    style = Image.fromarray(255 - np.asarray(picture(64, 64, seed=5))[..., ::-1])  # other colours
    matched = match_colours(style, content)
    assert matched.size == style.size and matched.mode == "RGB"
    content_mean = np.asarray(content).reshape(-1, 3).mean(axis=0)
    before = np.abs(np.asarray(style).reshape(-1, 3).mean(axis=0) - content_mean).max()
    after = np.abs(np.asarray(matched).reshape(-1, 3).mean(axis=0) - content_mean).max()
    assert after < 12 < before


@pytest.mark.parametrize("orientation", range(1, 9))
def test_upright_size_matches_the_loaded_image(tmp_path, orientation):
    """The header-only size the app's estimate uses agrees with what load_image produces."""
    from style_transfer.image import upright_size

    path = tmp_path / f"o{orientation}.jpg"
    picture = Image.new("RGB", (40, 24), (200, 100, 50))
    exif = picture.getexif()
    exif[0x0112] = orientation
    picture.save(path, exif=exif)
    assert upright_size(path) == load_image(path).size
