"""What a visitor keeps and shares, without gradio: "Your results" and "Share this result".

Two places, two lifetimes:

- **The visitor's browser** (``gr.BrowserState``: localStorage, this browser only) keeps a short list
  of entries, newest first: each finished result's recipe, a caption and two small JPEG thumbnails
  (the result and its photo) as data URLs. It survives reloads and server restarts; no other
  visitor can see it. The list is bounded (``MAX_RESULTS`` entries, ``MAX_LIST_CHARS`` in all).
- **The server** keeps each result's full-size files for an hour (Gradio's cache, see ResultStore),
  so an entry clicked within the hour comes back whole; later its thumbnails and recipe do. A share
  copies one result (its PNG and its photo) into ShareStore under an unguessable token for a day.

Everything that comes back from the browser is untrusted input: entries are checked (shape, sizes,
thumbnail headers) before anything is decoded, and an entry's id is only ever a lookup key.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import io
import json
import re
import secrets
import shutil
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from .. import image as images
from .results import LastRun

MAX_RESULTS = 12  # entries kept in the browser, newest first
# The list travels back to the server as JSON with the events that read it, under the request bounds
# of service/serving.py (strings of 16 kB, bodies of 256 kB): small thumbnails. At 128 px, quality 75,
# the examples' results and photos are at most 9.0 kB as data URLs (256 px was 10-25 kB).
THUMB_SIDE = 128  # px, long side of both thumbnails
THUMB_QUALITY = 75
MAX_THUMB_CHARS = 16_000  # a data URL longer than this is not one of ours
MAX_RECIPE_CHARS = 20_000  # a recipe is ~1 kB, ~8 kB with its parents; a longer one loses its parents
# The whole list as JSON: under the 256 kB request bound with the event's other inputs.
MAX_LIST_CHARS = 192_000
THUMB_PREFIX = "data:image/jpeg;base64,"
ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{16,32}")
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{22}")  # secrets.token_urlsafe(16)
SHARE_SECONDS = 24 * 3600  # a share link works for a day (and not past a restart of a Space)
MAX_SHARES = 64  # shares kept on disk at most, oldest dropped first: ~64 PNGs of at most the largest size
PHOTO_QUALITY = 90


# ---------------------------------------------------------------- the browser's list


def thumbnail_url(path: str | Path, side: int = THUMB_SIDE) -> str:
    """A JPEG data URL of the picture at ``path``, long side at most ``side``, upright."""
    with Image.open(path) as opened:
        opened.draft("RGB", (side * 2, side * 2))  # JPEG: decode at a fraction of a large photo's size
        picture = images.to_rgb(opened)
    picture.thumbnail((side, side), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=THUMB_QUALITY)
    return THUMB_PREFIX + base64.b64encode(buffer.getvalue()).decode()


def entry_for(run: LastRun, run_id: str) -> dict[str, Any]:
    """The browser's record of a finished run: recipe, caption and thumbnails (no server paths)."""
    return {
        "id": run_id,
        "made": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "caption": caption(run.recipe),
        "recipe": _small_recipe(run.recipe),
        "result": thumbnail_url(run.png),
        "photo": thumbnail_url(run.content),
    }


def caption(recipe: dict[str, Any]) -> str:
    """``512×384 px · 32 steps`` from a recipe's plan (the sizes and steps it ran)."""
    plan = recipe.get("plan") or []
    if not plan:
        return "a result"
    width, height, _ = plan[-1]
    return f"{width}×{height} px · {sum(steps for *_, steps in plan)} steps"


def _small_recipe(recipe: dict[str, Any]) -> dict[str, Any]:
    """The recipe, without its parents if it is over MAX_RECIPE_CHARS, then without its mask's copy (its
    hash stays): the browser's list keeps settings, the PNG keeps the whole recipe."""
    if len(json.dumps(recipe)) <= MAX_RECIPE_CHARS:
        return recipe
    smaller = {key: value for key, value in recipe.items() if key != "parent"} | {"parent_cut": True}
    if len(json.dumps(smaller)) > MAX_RECIPE_CHARS and isinstance(smaller.get("mask"), dict):
        smaller["mask"] = {key: value for key, value in smaller["mask"].items() if key != "png"} | {"png_cut": True}
    return smaller


def checked_list(value: Any) -> list[dict[str, Any]]:
    """The valid entries of what the browser sent, newest first, bounded in number and size."""
    if not isinstance(value, list):
        return []
    kept: list[dict[str, Any]] = []
    total = 2
    for entry in value[: MAX_RESULTS * 2]:  # bounded work whatever the list's length
        if len(kept) == MAX_RESULTS:
            break
        if not valid_entry(entry):
            continue
        size = len(json.dumps(entry)) + 1
        if total + size > MAX_LIST_CHARS:
            break
        kept.append(entry)
        total += size
    return kept


def valid_entry(entry: Any) -> bool:
    """Whether ``entry`` has the shape entry_for gives, within its sizes (nothing is decoded here)."""
    if not isinstance(entry, dict) or set(entry) != {"id", "made", "caption", "recipe", "result", "photo"}:
        return False
    texts = [entry[key] for key in ("id", "made", "caption", "result", "photo")]
    if not all(isinstance(text, str) for text in texts) or not isinstance(entry["recipe"], dict):
        return False
    thumbs_ok = all(_is_thumb_url(entry[key]) for key in ("result", "photo"))
    small = len(entry["made"]) <= 40 and len(entry["caption"]) <= 200
    return bool(ID_PATTERN.fullmatch(entry["id"])) and thumbs_ok and small and _recipe_fits(entry["recipe"])


def _is_thumb_url(url: str) -> bool:
    return url.startswith(THUMB_PREFIX) and len(url) <= MAX_THUMB_CHARS


def _recipe_fits(recipe: dict[str, Any]) -> bool:
    try:
        return len(json.dumps(recipe)) <= MAX_RECIPE_CHARS
    except (TypeError, ValueError, RecursionError):  # not JSON we wrote (nested past Python's limit)
        return False


def with_new_entry(entry: dict[str, Any], earlier: Any) -> list[dict[str, Any]]:
    """The list with ``entry`` first; the oldest go past MAX_RESULTS or MAX_LIST_CHARS."""
    return checked_list([entry, *checked_list(earlier)])


def thumbnail_bytes(url: str) -> bytes:
    """The JPEG of a thumbnail data URL, checked to be a small JPEG; ValueError otherwise."""
    if not _is_thumb_url(url):
        raise ValueError("not a thumbnail data URL")
    try:
        data = base64.b64decode(url.removeprefix(THUMB_PREFIX), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not base64") from None
    with Image.open(io.BytesIO(data)) as header:  # the header only: the size is checked before decoding
        if header.format != "JPEG" or max(header.size) > 2 * THUMB_SIDE:
            raise ValueError("not a thumbnail")
    return data


# ---------------------------------------------------------------- the server's side


class ResultStore:
    """Finished runs by a random id, for the hour Gradio's cache keeps their files; bounded, thread-safe.

    Only the browser that made a run is told its id, so knowing one is the right to see it again.
    """

    def __init__(self, capacity: int = 512) -> None:
        self._runs: OrderedDict[str, LastRun] = OrderedDict()
        self._lock = threading.Lock()
        self.capacity = capacity

    def add(self, run: LastRun) -> str:
        run_id = secrets.token_urlsafe(12)
        with self._lock:
            self._runs[run_id] = run
            while len(self._runs) > self.capacity:
                self._runs.popitem(last=False)
        return run_id

    def get(self, run_id: Any) -> LastRun | None:
        """The run, if its id is known and its files are all still there."""
        with self._lock:
            run = self._runs.get(run_id) if isinstance(run_id, str) else None
        return run if run is not None and _present(run) else None


def _present(run: LastRun) -> bool:
    files = [
        run.png,
        run.content,
        *run.styles,
        *(frame.path for frame in run.frames),
        *([run.mask] if run.mask else []),
    ]
    return all(Path(name).is_file() for name in files)


@dataclass(frozen=True)
class SharedResult:
    photo: str  # JPEG, at the result's size
    png: str  # the result, recipe in its metadata
    recipe: dict[str, Any]


class ShareStore:
    """Shared results: a copy of one result under a random token, for SHARE_SECONDS, at most MAX_SHARES."""

    def __init__(self, folder: str | Path, seconds: float = SHARE_SECONDS, capacity: int = MAX_SHARES) -> None:
        self.folder, self.seconds, self.capacity = Path(folder), seconds, capacity
        self._lock = threading.Lock()

    def share(self, run: LastRun) -> str:
        """Copy ``run``'s PNG and its photo (at the PNG's size) under a new token; the token."""
        token = secrets.token_urlsafe(16)
        folder = self.folder / token
        folder.mkdir(parents=True)
        shutil.copyfile(run.png, folder / "result.png")
        with Image.open(run.png) as result:
            size = result.size
        # The run has read this photo under the operator's limits already; these are Pillow's own.
        photo = images.load_image(run.content, "content photo", max_megapixels=170.0, max_bytes=2_000_000_000)
        images.resize(photo, size).save(folder / "photo.jpg", quality=PHOTO_QUALITY)
        (folder / "recipe.json").write_text(json.dumps(run.recipe))
        self._prune()
        return token

    def get(self, token: Any) -> SharedResult | None:
        """The shared result, or None if the token is malformed, unknown or expired."""
        if not isinstance(token, str) or not TOKEN_PATTERN.fullmatch(token):
            return None
        folder = self.folder / token
        try:
            if time.time() - folder.stat().st_mtime > self.seconds:
                return None
            recipe = json.loads((folder / "recipe.json").read_text())
        except (OSError, ValueError):
            return None
        return SharedResult(str(folder / "photo.jpg"), str(folder / "result.png"), recipe)

    def _prune(self) -> None:
        """Drop expired shares, then the oldest past the capacity."""
        with self._lock:
            ages = {}
            for folder in self.folder.iterdir():
                try:
                    if folder.is_dir() and TOKEN_PATTERN.fullmatch(folder.name):
                        ages[folder] = time.time() - folder.stat().st_mtime
                except OSError:  # gone meanwhile (another server process shares the folder)
                    continue
            newest_first = sorted(ages, key=ages.__getitem__)
            drop = [f for f in newest_first if ages[f] > self.seconds] + newest_first[self.capacity :]
            for folder in set(drop):
                shutil.rmtree(folder, ignore_errors=True)
