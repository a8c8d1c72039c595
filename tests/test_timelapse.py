"""Kept frames and the timelapse (style_transfer/timelapse.py): thinning, the animation, its recipe."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from style_transfer import Frame, StyleConfig, StyleTransferError, WeightsInfo, make_recipe, read_recipe, stylize
from style_transfer.__main__ import main as cli_main
from style_transfer.timelapse import (
    EVERY_STEP_UP_TO,
    FRAME_MS,
    HOLD_MS,
    MAX_SIDE,
    MIN_FILM_FRAMES,
    WEBP_METHOD,
    WEBP_QUALITY,
    FrameKeeper,
    KeptFrame,
    film_frame_due,
    save_frame_png,
    timelapse_size,
    write_timelapse,
)

UNTRAINED = WeightsInfo("untrained:0", True, "untrained VGG19 (seeded He-normal)")


def fake_frame(step: int, total: int, size: tuple[int, int] = (40, 30), preview: bool = True) -> Frame:
    """A frame whose picture is a flat colour that changes with the step (so no two are alike)."""
    done = step == total
    return Frame(
        step=step,
        total=total,
        size=size,
        scale=1,
        scales=1,
        losses={"total": 10.0 / step},
        elapsed=0.0,
        eta=None,
        done=done,
        image=Image.new("RGB", size, (step * 7 % 256, 255 - step % 256, 90)) if preview or done else None,
        recipe=make_recipe(StyleConfig(size=max(size), steps=total), UNTRAINED) if done else None,
    )


def durations(path: Path) -> list[int]:
    with Image.open(path) as image:
        found = []
        for index in range(getattr(image, "n_frames", 1)):
            image.seek(index)
            image.load()  # a WebP frame's duration is known once it is decoded
            found.append(image.info["duration"])
        return found


def frame_pixels(path: Path, index: int) -> np.ndarray:
    with Image.open(path) as image:
        image.seek(index)
        return np.asarray(image.convert("RGB"), np.float64)


def repeats(kept: tuple[KeptFrame, ...]) -> int:
    """Kept frames whose pixels equal the previous one's: an encoder shows such a run of frames as one, longer."""
    pictures = [np.asarray(Image.open(k.path).convert("RGB").resize(kept[-1].size)) for k in kept]
    return sum(np.array_equal(a, b) for a, b in zip(pictures, pictures[1:]))


def as_webp(picture: Image.Image) -> np.ndarray:
    """``picture`` after a round trip through a still WebP of the timelapse's quality."""
    buffer = io.BytesIO()
    picture.save(buffer, format="WEBP", quality=WEBP_QUALITY, method=WEBP_METHOD)
    return np.asarray(Image.open(buffer).convert("RGB"), np.float64)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a - b) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


# ---------------------------------------------------------------- keeping frames


def test_the_keeper_keeps_every_preview_up_to_its_cap(tmp_path):
    keeper = FrameKeeper(tmp_path / "frames", cap=8)
    for step in range(1, 9):
        keeper.add(fake_frame(step, 8))
    keeper.add(fake_frame(9, 10, preview=False))  # no picture: nothing to keep
    assert [k.step for k in keeper.frames] == list(range(1, 9))
    assert [k.index for k in keeper.frames] == list(range(8))
    for kept in keeper.frames:
        with Image.open(kept.path) as image:
            assert image.getpixel((0, 0)) == (kept.step * 7 % 256, 255 - kept.step, 90)


def test_past_its_cap_the_keeper_thins_evenly_keeps_the_last_and_deletes_the_rest(tmp_path):
    folder = tmp_path / "frames"
    keeper = FrameKeeper(folder, cap=8)
    total = 30
    for step in range(1, total + 1):
        keeper.add(fake_frame(step, total))
    kept = keeper.frames
    assert 4 <= len(kept) <= 8
    assert kept[0].step == 1 and kept[-1].step == total, "the first and the finished picture are always kept"
    gaps = {b.index - a.index for a, b in zip(kept[:-2], kept[1:-1])}
    assert gaps == {keeper.stride}, f"not evenly spaced: indices {[k.index for k in kept]}"
    assert sorted(p.name for p in folder.iterdir()) == sorted(Path(k.path).name for k in kept)


# ---------------------------------------------------------------- the timelapse


@pytest.fixture(scope="module")
def real_run(tmp_path_factory, picture, stripes):
    """A two-scale run (48x36 then 96x72, untrained) with a preview every step, all kept."""
    folder = tmp_path_factory.mktemp("timelapse")
    keeper = FrameKeeper(folder / "frames")
    config = StyleConfig(size=96, steps=8, preset="fast", preview_every=1)
    streamed = []
    for frame in stylize(picture(128, 96, seed=1), [stripes(64, 64)], config, weights="untrained"):
        keeper.add(frame)
        streamed.append(frame)
    final = streamed[-1]
    assert final.done and final.image is not None and final.recipe is not None
    png = folder / "final.png"
    final.image.save(png)
    return keeper.frames, final, png, folder


def test_the_timelapse_has_every_kept_frame_ends_on_the_final_picture_and_holds_it(real_run):
    """Every kept frame is in the timelapse for FRAME_MS, the last for HOLD_MS. A scale's first two previews
    can be the same picture (the start, then an L-BFGS step too small to change a pixel): the encoder
    shows such a pair as one frame of twice the time, so frames are counted by their time too."""
    kept, final, png, folder = real_run
    assert len(kept) == 8 and {k.size for k in kept} == {(48, 36), (96, 72)}, "expected two scales, 8 previews"
    path = write_timelapse(kept, folder / "run.webp", final.recipe)
    with Image.open(path) as image:
        # The encoder may merge neighbours that encode alike (pixel-identical ones at least): the time
        # check below is the exact one.
        assert image.format == "WEBP" and len(kept) - repeats(kept) - 2 <= image.n_frames <= len(kept)
        assert image.size == (96, 72), "the output's size (under the cap): earlier frames upscaled to it"
    shown = durations(path)
    assert sum(shown) == FRAME_MS * (len(kept) - 1) + HOLD_MS and shown[-1] >= HOLD_MS  # merged twins add up
    # Lossy WebP: the last frame is the final PNG as WebP encodes it (chroma at half resolution costs a
    # saturated tiny picture ~25 dB against the PNG itself; an animation codes it against the frame
    # before, a few dB more), and far from where the run started.
    last = frame_pixels(path, len(shown) - 1)
    final_as_webp = as_webp(Image.open(png).convert("RGB"))
    first_as_webp = as_webp(Image.open(kept[0].path).convert("RGB").resize((96, 72), Image.Resampling.LANCZOS))
    assert psnr(last, final_as_webp) > 35, psnr(last, final_as_webp)
    assert psnr(last, final_as_webp) > psnr(last, first_as_webp) + 10
    assert read_recipe(path) == final.recipe


def test_a_gif_timelapse_carries_the_recipe_in_a_comment(real_run):
    kept, final, _, folder = real_run
    path = write_timelapse(kept, folder / "run.gif", final.recipe)
    with Image.open(path) as image:
        assert image.format == "GIF" and len(kept) - repeats(kept) - 2 <= image.n_frames <= len(kept)
    assert sum(durations(path)) == FRAME_MS * (len(kept) - 1) + HOLD_MS
    assert read_recipe(path) == final.recipe


def test_the_timelapse_is_bounded_in_frames_and_size(tmp_path):
    keeper = FrameKeeper(tmp_path / "frames", cap=8)
    total = 40
    for step in range(1, total + 1):
        keeper.add(fake_frame(step, total, size=(700, 525) if step > 20 else (350, 262)))
    recipe = make_recipe(StyleConfig(size=700), UNTRAINED)
    path = write_timelapse(keeper.frames, tmp_path / "big.webp", recipe)
    with Image.open(path) as image:
        assert image.size == timelapse_size((700, 525)) == (MAX_SIDE, 384)
        assert image.n_frames <= 8
    assert path.stat().st_size < 8 * MAX_SIDE * 384 * 3 // 20, "not compressed"


def test_a_kept_frame_saves_as_a_png_with_the_recipe_and_its_step(real_run, tmp_path):
    kept, final, _, _ = real_run
    frame = kept[3]
    save_frame_png(frame, tmp_path / "frame.png", final.recipe)
    recipe = read_recipe(tmp_path / "frame.png")
    assert recipe == final.recipe | {"step": frame.step}
    with Image.open(tmp_path / "frame.png") as saved, Image.open(frame.path) as original:
        assert np.array_equal(np.asarray(saved), np.asarray(original))


def test_recipes_are_read_only_from_what_this_tool_wrote(tmp_path):
    plain_gif, plain_webp = tmp_path / "plain.gif", tmp_path / "plain.webp"
    Image.new("RGB", (8, 8)).save(plain_gif, comment="made with another tool")
    Image.new("RGB", (8, 8)).save(plain_webp, xmp=b"<x:xmpmeta xmlns:x='adobe:ns:meta/'/>")
    for path in (plain_gif, plain_webp):
        with pytest.raises(StyleTransferError, match="no style-transfer recipe"):
            read_recipe(path)
    with pytest.raises(StyleTransferError, match=r"\.webp or \.gif"):
        write_timelapse([KeptFrame(0, 1, 1, (8, 8), 1.0, str(plain_gif))], tmp_path / "out.mp4", {})


# ---------------------------------------------------------------- which steps make the film


@pytest.mark.parametrize("total", [1, 10, 16, EVERY_STEP_UP_TO, EVERY_STEP_UP_TO + 1, 97, 600, 5000])
def test_the_film_rule_keeps_every_step_of_a_short_run_and_at_least_min_frames_of_a_long_one(total):
    due = [step for step in range(1, total + 1) if film_frame_due(step, total)]
    if total <= EVERY_STEP_UP_TO:
        assert due == list(range(1, total + 1))
    else:  # past the cap the engine's clock adds about one a second; these alone are evenly spaced
        assert MIN_FILM_FRAMES <= len(due) < 2 * MIN_FILM_FRAMES
        assert len({b - a for a, b in zip(due, due[1:])}) == 1


def test_a_requests_own_preview_every_decides_alone():
    assert not any(film_frame_due(step, 16, preview_every=5) for step in range(1, 17))


def test_a_short_run_previews_every_step(content_image, style_image, tmp_path):
    """The film issue's complaint: a 16-step `fast` run made a 4-frame timelapse (one preview a second)."""
    config = StyleConfig(size=64, preset="fast")  # 16 steps over two scales, fast enough for the clock to skip
    frames = list(stylize(content_image, [style_image], config, weights="untrained"))
    assert len(frames) == 16 and all(frame.image is not None for frame in frames)


def test_a_long_fast_run_still_makes_min_film_frames(content_image, style_image):
    config = StyleConfig(size=32, steps=EVERY_STEP_UP_TO * 3, preset="fast")  # ~10 ms steps: the clock adds few
    frames = list(stylize(content_image, [style_image], config, weights="untrained"))
    previews = [frame.step for frame in frames if frame.image is not None]
    assert MIN_FILM_FRAMES <= len(previews) < len(frames), previews


def test_the_cli_timelapse_of_a_fast_run_has_a_frame_per_step(capfd, image_files, tmp_path):
    out, webp = tmp_path / "out.png", tmp_path / "run.webp"
    args = [image_files["photo"], image_files["style"], "-o", out, "--size", "64", "--preset", "fast"]
    assert cli_main([*map(str, args), "--timelapse", str(webp), "--weights", "untrained", "-q"]) == 0
    assert "(16 frames," in capfd.readouterr().err
    assert sum(durations(webp)) == FRAME_MS * 15 + HOLD_MS  # all 16 in the file (twins merged add up)
