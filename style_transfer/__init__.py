"""Neural style transfer (Gatys et al., CVPR 2016) on VGG19 with TensorFlow/Keras.

Importable without gradio::

    from style_transfer import StyleConfig, stylize
    for frame in stylize("photo.jpg", ["painting.jpg"], StyleConfig(size=256, preset="fast")):
        print(frame.step, frame.total, frame.losses["total"])
    frame.image.save("out.png")
"""

from ._quiet import import_tensorflow_quietly

import_tensorflow_quietly()

from .config import StyleConfig  # noqa: E402 (after the quiet TF import)
from .engine import Frame, stylize  # noqa: E402 (after the quiet TF import)
from .errors import StyleTransferError  # noqa: E402 (after the quiet TF import)
from .image import load_image  # noqa: E402 (after the quiet TF import)
from .plan import Plan, Scale  # noqa: E402 (after the quiet TF import)
from .recipe import config_from_recipe, make_recipe, read_recipe, save_png  # noqa: E402 (after the quiet TF import)
from .runner import Runner  # noqa: E402 (after the quiet TF import)
from .settings import OperatorSettings  # noqa: E402 (after the quiet TF import)
from .weights import WeightsInfo  # noqa: E402 (after the quiet TF import)

__all__ = [
    "Frame",
    "OperatorSettings",
    "Plan",
    "Runner",
    "Scale",
    "StyleConfig",
    "StyleTransferError",
    "WeightsInfo",
    "config_from_recipe",
    "load_image",
    "make_recipe",
    "read_recipe",
    "save_png",
    "stylize",
]
