"""VGG19's vocabulary, without TensorFlow: its conv layers, in order, and their kernel shapes.

Shared by the request (which layers a run reads), the feature network and the weights readers,
so none of them has to import another for a name.
"""

from __future__ import annotations

CONVS_PER_BLOCK = (2, 2, 4, 4, 4)
CHANNELS_PER_BLOCK = (64, 128, 256, 512, 512)
VGG_CONV_LAYERS = tuple(
    f"block{block}_conv{conv}" for block, convs in enumerate(CONVS_PER_BLOCK, start=1) for conv in range(1, convs + 1)
)


def vgg19_kernel_shapes() -> dict[str, tuple[int, int, int, int]]:
    """Keras layout (kh, kw, in, out) of every VGG19 conv kernel: 64, 128, 256, 512, 512 channels by block."""
    shapes, channels_in = {}, 3
    for name in VGG_CONV_LAYERS:
        channels_out = CHANNELS_PER_BLOCK[int(name[5]) - 1]
        shapes[name] = (3, 3, channels_in, channels_out)
        channels_in = channels_out
    return shapes
