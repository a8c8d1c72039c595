"""Real stylisation with the ImageNet weights (marked `imagenet`: .ci/run fetches them).

Untrained weights transfer colour and noise; these tests check, with numbers that could
fail, that the ImageNet network moves the picture towards the painting's style while it
stays the photo: the style loss of the result (against the style image, under the default
objective) must fall well below the photo's own, and the content loss must stay bounded.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from style_transfer import StyleConfig, stylize

pytestmark = [pytest.mark.imagenet, pytest.mark.slow, pytest.mark.usefixtures("no_network")]

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SIZE = 128
# Measured (balanced, 128 px, ImageNet weights, the ten example pairs): the style loss falls 3.1x to 48x
# below the photo's own (cat x stained glass 4.3x, astronaut x cubist 48x), content losses 0.36-0.93.
MIN_STYLE_RATIO = 3.0
MAX_CONTENT_LOSS = 1.5


def losses_of(image, style, weights: str) -> dict[str, float]:
    """The default objective's terms for ``image`` as the content and the start image: one step, one scale."""
    # The image itself, not recoloured nor repainted: its own losses.
    config = StyleConfig(size=SIZE, steps=1, init="content", recolour="none")
    (frame,) = stylize(image, [style], config, weights=weights)
    return frame.losses


@pytest.mark.parametrize(
    "content, style",
    [("content_cat.jpg", "style_stained_glass.jpg"), ("content_astronaut.jpg", "style_cubist.jpg")],
)
def test_a_run_moves_the_photo_towards_the_style(imagenet_weights, content, style):
    content, style = EXAMPLES / content, EXAMPLES / style
    frames = list(stylize(content, [style], StyleConfig(size=SIZE, preset="balanced"), weights=imagenet_weights))
    result = frames[-1].image
    photo_style = losses_of(content, style, imagenet_weights)["style"]
    result_style = losses_of(result, style, imagenet_weights)["style"]
    assert photo_style / result_style >= MIN_STYLE_RATIO, (photo_style, result_style)
    assert 0 < frames[-1].losses["content"] <= MAX_CONTENT_LOSS


# The independent judge (issue 16): Magenta's style-prediction embedding, a network the engine does not
# optimise (run on TensorFlow from the cached networks). Score = distance of the result's embedding to the
# painting's / the photo's: 1 = no change, lower = more stylised. At 192 px (the images themselves at full
# size, so the numbers run higher than the benchmark's at 512), measured with today's defaults (balanced,
# the feed-forward start, the photo recoloured): Tübingen x Starry Night 0.74, cat x Woman with a Hat 0.48;
# the old defaults (the photo as start and content) 0.89 and 0.70; Magenta's painting alone 0.52 and 0.47.
# Each limit sits between today's and the old default's.
JUDGE_SIZE = 192
JUDGE_PAIRS = [
    ("content_tubingen.jpg", "style_starry_night.jpg", 0.81),
    ("content_cat.jpg", "style_woman_with_hat.jpg", 0.59),
]


def embedding_distance(result, photo, painting) -> float:
    import numpy as np
    from PIL import Image

    from style_transfer import feedforward

    magenta = feedforward.network("float32")
    pictures = [p if isinstance(p, Image.Image) else Image.open(p).convert("RGB") for p in (result, photo, painting)]
    result_vector, photo_vector, painting_vector = (magenta.style_vector(p) for p in pictures)
    return float(np.linalg.norm(result_vector - painting_vector) / np.linalg.norm(photo_vector - painting_vector))


@pytest.mark.parametrize("content, style, most", JUDGE_PAIRS)
def test_the_default_paints_by_a_judge_it_does_not_optimise(imagenet_weights, magenta_weights, content, style, most):
    content, style = EXAMPLES / content, EXAMPLES / style
    frames = list(stylize(content, [style], StyleConfig(size=JUDGE_SIZE), weights=imagenet_weights))
    distance = embedding_distance(frames[-1].image, content, style)
    assert distance <= most, distance
