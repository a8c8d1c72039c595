"""Neural style transfer (Gatys et al., CVPR 2016) on VGG19 with TensorFlow/Keras.

Importable without gradio::

    from style_transfer import StyleConfig, stylize
    for frame in stylize("photo.jpg", ["painting.jpg"], StyleConfig(size=256, preset="fast")):
        print(frame.step, frame.total, frame.losses["total"])
    frame.image.save("out.png")

The public names load their module on first use (PEP 562), so running a submodule as a
program (``python -m style_transfer.weights ...``) does not import it twice.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._quiet import import_tensorflow_quietly

import_tensorflow_quietly()

_HOMES = {
    "StyleConfig": "config",
    "Frame": "engine",
    "stylize": "engine",
    "StyleTransferError": "errors",
    "load_image": "image",
    "Plan": "plan",
    "Scale": "plan",
    "config_from_recipe": "recipe",
    "make_recipe": "recipe",
    "read_recipe": "recipe",
    "save_png": "recipe",
    "Runner": "service.runner",
    "OperatorSettings": "settings",
    "WeightsInfo": "weights",
}
__all__ = sorted(_HOMES)

if TYPE_CHECKING:
    from .config import StyleConfig as StyleConfig
    from .engine import Frame as Frame
    from .engine import stylize as stylize
    from .errors import StyleTransferError as StyleTransferError
    from .image import load_image as load_image
    from .plan import Plan as Plan
    from .plan import Scale as Scale
    from .recipe import (
        config_from_recipe as config_from_recipe,
    )
    from .recipe import (
        make_recipe as make_recipe,
    )
    from .recipe import (
        read_recipe as read_recipe,
    )
    from .recipe import (
        save_png as save_png,
    )
    from .service.runner import Runner as Runner
    from .settings import OperatorSettings as OperatorSettings
    from .weights import WeightsInfo as WeightsInfo


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'style_transfer' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_HOMES[name]}", __name__), name)
    globals()[name] = value
    return value
