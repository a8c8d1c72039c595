"""Deploy the app to a Hugging Face Space in one command.

    python -m style_transfer.deploy OWNER/SPACE [--hardware cpu-basic] [--private] [--weights imagenet] [--dry-run]

Creates the Space (Gradio SDK) if needed, sets its hardware, sets STYLE_TRANSFER_WEIGHTS
as a Space variable (so a public Space never falls back to untrained weights unnoticed),
and uploads only what the Space runs: app.py, the style_transfer package, the example
images with pairs.json and CREDITS.md, requirements.txt, README.md and LICENSE.
GPU hardware gets requirements-gpu.txt as its requirements.txt; hf:// weights add
``preload_from_hub`` to the uploaded README so they are fetched when the Space is built.
--dry-run prints that plan and needs neither the network nor a token.
Bad arguments print one line and exit 2; a failure on the Hub exits 1.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

# SpaceCard and SpaceHardware are local helpers (no network); HfApi is imported only to upload.
from huggingface_hub import SpaceCard, SpaceHardware
from huggingface_hub.utils import HFValidationError, validate_repo_id

from .errors import StyleTransferError, one_line
from .settings import ENV_VARS

WEIGHTS_ENV, PRECISION_ENV = ENV_VARS["weights"], ENV_VARS["precision"]

ROOT = Path(__file__).resolve().parent.parent
EXIT_BAD_INPUT, EXIT_HUB_ERROR = 2, 1
TOP_LEVEL_FILES = ("app.py", "README.md", "LICENSE")
CPU_REQUIREMENTS, GPU_REQUIREMENTS = "requirements.txt", "requirements-gpu.txt"
PACKAGE_DIR, EXAMPLES_DIR = "style_transfer", "examples"
CPU_HARDWARE = ("cpu-basic", "cpu-upgrade")
# GPUs below compute capability 8.0 have no native bfloat16 (a T4 is 7.5; A10G, L4, L40S, A100 are
# 8.0 or more), so a Space on them computes in float32 whatever the app's own detection says.
FLOAT32_HARDWARE = ("t4-small", "t4-medium")
DEFAULT_HARDWARE, DEFAULT_WEIGHTS = "cpu-basic", "imagenet"
# Files the deploy owns on the Space: stale ones there (a renamed module, a dropped example) are deleted.
OWNED_PATTERNS = (f"{PACKAGE_DIR}/*", f"{EXAMPLES_DIR}/*")
ZERO_GPU_REFUSAL = (
    "ZeroGPU is not supported: it lends a GPU to PyTorch code inside @spaces.GPU functions "
    "(PyTorch only, Python 3.10), and this app runs TensorFlow on Python 3.11+; "
    "use a GPU flavour such as t4-small, or cpu-basic"
)


@dataclass(frozen=True)
class Plan:
    """Everything one deployment does, computed without touching the network."""

    space: str
    hardware: str
    private: bool
    files: dict[str, Path]  # path in the Space -> local file (README.md is written from ``readme``)
    readme: str
    variables: dict[str, str]

    @property
    def front_matter(self) -> dict[str, Any]:
        return SpaceCard(self.readme).data.to_dict()


def make_plan(
    space: str,
    hardware: str = DEFAULT_HARDWARE,
    private: bool = False,
    weights: str = DEFAULT_WEIGHTS,
    root: Path = ROOT,
) -> Plan:
    """The deployment for these arguments; raises StyleTransferError on a bad one."""
    _check_space(space)
    _check_hardware(hardware)
    preload = _preload_entry(weights)
    return Plan(
        space=space,
        hardware=hardware,
        private=private,
        files=space_files(root, gpu=hardware not in CPU_HARDWARE),
        readme=space_readme(root / "README.md", preload),
        variables=space_variables(hardware, weights),
    )


def space_variables(hardware: str, weights: str) -> dict[str, str]:
    """The Space's environment: the weights always set, so it never falls back to untrained unnoticed."""
    variables = {WEIGHTS_ENV: weights}
    if hardware in FLOAT32_HARDWARE:
        variables[PRECISION_ENV] = "float32"
    return variables


def _check_space(space: str) -> None:
    owner, _, name = space.partition("/")
    if not owner or not name or "/" in name:
        raise StyleTransferError(f"Space {space!r} should be OWNER/SPACE, e.g. alice/style-transfer")
    try:
        validate_repo_id(space)
    except HFValidationError as error:
        raise StyleTransferError(f"Space {space!r} is not a valid repo id: {one_line(error)}") from None


def _check_hardware(hardware: str) -> None:
    flavours = [flavour.value for flavour in SpaceHardware]
    if hardware.startswith("zero-"):
        raise StyleTransferError(ZERO_GPU_REFUSAL)
    if hardware not in flavours:
        known = ", ".join(f for f in flavours if not f.startswith("zero-"))
        raise StyleTransferError(f"unknown Space hardware {hardware!r}; one of: {known}")


def _preload_entry(weights: str) -> str | None:
    """``owner/repo file`` for Spaces' preload_from_hub when the weights come from the Hub, else None.

    Other specs (imagenet, imagenet-pypi, a path, ...) pass through unchecked: the app decides
    what it accepts, and refuses at start-up, loudly, what it does not.
    """
    if not weights.strip():
        raise StyleTransferError("--weights is empty; give imagenet, hf://owner/repo/file.h5 or another spec")
    if not weights.startswith("hf://"):
        return None
    parts = weights.removeprefix("hf://").split("/")
    if len(parts) < 3 or not all(parts):
        raise StyleTransferError(f"--weights {weights}: expected hf://<owner>/<repo>/<file>")
    return f"{parts[0]}/{parts[1]} {'/'.join(parts[2:])}"


def space_files(root: Path, gpu: bool = False) -> dict[str, Path]:
    """Path in the Space -> local file, for every file the Space needs and nothing else."""
    files = {name: root / name for name in TOP_LEVEL_FILES}
    files["requirements.txt"] = root / (GPU_REQUIREMENTS if gpu else CPU_REQUIREMENTS)
    files |= _tree(root, PACKAGE_DIR, skip_suffixes=(".pyc",))
    # The make_*.py scripts drew the example images; the app never imports them.
    files |= _tree(root, EXAMPLES_DIR, skip_suffixes=(".py", ".pyc"))
    missing = sorted(name for name, path in files.items() if not path.is_file())
    if missing:
        raise StyleTransferError(f"files the Space needs are missing from {root}: {', '.join(missing)}")
    return dict(sorted(files.items()))


def _tree(root: Path, folder: str, skip_suffixes: tuple[str, ...]) -> dict[str, Path]:
    found = {}
    for path in (root / folder).rglob("*"):
        relative = path.relative_to(root)
        hidden = any(part.startswith(".") or part == "__pycache__" for part in relative.parts)
        if path.is_file() and not hidden and path.suffix not in skip_suffixes:
            found[relative.as_posix()] = path
    return found


def space_readme(readme: Path, preload: str | None) -> str:
    """The README as uploaded: the repo's own, plus ``preload_from_hub`` for Hub-hosted weights."""
    text = readme.read_text(encoding="utf-8")
    front_matter_text(text)  # refuse a README Spaces could not configure from
    if preload is None:
        return text  # byte for byte the repo's
    card = SpaceCard(text)
    # Spaces downloads these into the image's Hub cache at build time, so start-up needs no fetch.
    entries = list(card.data.get("preload_from_hub") or [])
    card.data["preload_from_hub"] = entries if preload in entries else entries + [preload]
    return str(card)


def front_matter_text(readme: str) -> str:
    """The YAML between a README's opening and closing ``---`` lines, as written."""
    if not readme.startswith("---\n") or "\n---\n" not in readme:
        raise StyleTransferError("README.md has no YAML front matter (--- lines); Spaces needs it")
    return readme.removeprefix("---\n").split("\n---\n", 1)[0]


def stage(plan: Plan, folder: Path) -> Path:
    """Copy exactly the planned files into ``folder`` (the README as planned) and return it."""
    for name, source in plan.files.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    (folder / "README.md").write_text(plan.readme, encoding="utf-8")
    return folder


def describe(plan: Plan) -> str:
    """What the deployment uploads and sets, as printed by --dry-run (and before a real upload)."""
    sizes = {
        name: len(plan.readme.encode()) if name == "README.md" else path.stat().st_size
        for name, path in plan.files.items()
    }
    visibility = "private" if plan.private else "public"
    lines = [f"Space {plan.space}: gradio SDK, hardware {plan.hardware}, {visibility}"]
    lines.append(f"Files ({len(sizes)}, {_size(sum(sizes.values()))}):")
    for name, size in sizes.items():
        source = plan.files[name].name
        note = f"  (from {source})" if name == "requirements.txt" and source != CPU_REQUIREMENTS else ""
        lines.append(f"  {_size(size):>10}  {name}{note}")
    lines.append("Variables:")
    lines += [f"  {key}={value}" for key, value in plan.variables.items()]
    lines.append("README front matter:")
    lines += [f"  {line}" for line in front_matter_text(plan.readme).splitlines()]
    return "\n".join(lines)


def _size(size: int) -> str:
    return f"{size / 1000:.1f} kB" if size < 1_000_000 else f"{size / 1_000_000:.2f} MB"


def publish(plan: Plan, api: Any) -> str:
    """Create or update the Space through ``api`` (an HfApi) and return its URL."""
    existed = api.repo_exists(plan.space, repo_type="space")
    url = api.create_repo(
        plan.space,
        repo_type="space",
        space_sdk="gradio",
        private=plan.private,
        space_hardware=plan.hardware,
        exist_ok=True,
    )
    if existed:  # create_repo sets hardware and visibility only on a new Space
        api.request_space_hardware(plan.space, plan.hardware)
        if plan.private:
            api.update_repo_settings(plan.space, private=True, repo_type="space")
    # Variables before the upload: the build the upload starts then already sees them.
    for key, value in plan.variables.items():
        api.add_space_variable(plan.space, key, value, description="set by python -m style_transfer.deploy")
    with tempfile.TemporaryDirectory(prefix="space-") as folder:
        api.upload_folder(
            repo_id=plan.space,
            repo_type="space",
            folder_path=stage(plan, Path(folder)),
            commit_message="Deploy with python -m style_transfer.deploy",
            delete_patterns=list(OWNED_PATTERNS),
        )
    return str(url)


def make_api() -> Any:
    from huggingface_hub import HfApi

    return HfApi()  # the token: HF_TOKEN or `hf auth login`'s saved one


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, not usage + message
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m style_transfer.deploy",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("space", metavar="OWNER/SPACE", help="the Space to create or update")
    parser.add_argument(
        "--hardware",
        default=DEFAULT_HARDWARE,
        help="cpu-basic (free, 2 vCPU, 16 GB), cpu-upgrade, or a GPU flavour such as t4-small "
        "(GPU flavours get requirements-gpu.txt); set also on an existing Space (default: %(default)s)",
    )
    parser.add_argument("--private", action="store_true", help="make the Space private")
    parser.add_argument(
        "--weights",
        default=DEFAULT_WEIGHTS,
        help=f"the Space's {WEIGHTS_ENV}: imagenet, hf://owner/repo/file.h5 (preloaded at build time), "
        "or any spec the app accepts (default: %(default)s)",
    )
    parser.add_argument("--dry-run", action="store_true", help="print what would be uploaded and set; no network")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        plan = make_plan(args.space, args.hardware, args.private, args.weights)
    except StyleTransferError as error:
        parser.error(one_line(error, 2000))
    if args.weights.strip() in ("auto", "untrained"):
        print(f"note: --weights {args.weights.strip()} can serve untrained weights to the public", file=sys.stderr)
    print(describe(plan))
    if args.dry_run:
        print("Dry run: nothing uploaded, nothing set.")
        return 0
    try:
        url = publish(plan, make_api())
    except Exception as error:  # the Hub's HTTP errors, a missing token, a network failure
        print(f"error: {one_line(error, 2000)}", file=sys.stderr)
        return EXIT_HUB_ERROR
    print(f"Deployed: {url} (the Space now builds; its logs are on the Space page)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
