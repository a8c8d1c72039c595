"""`python -m style_transfer.deploy`: the plan (files, variables, front matter), the calls it makes
on a fake HfApi, and that the planned file set alone runs the app. Nothing here touches the network."""

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

from style_transfer import deploy
from style_transfer.deploy import PRECISION_ENV, WEIGHTS_ENV

ROOT = Path(__file__).resolve().parent.parent
TF_PACKAGES = {"tensorflow", "tensorflow-cpu"}


def _dry_run(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert deploy.main(["alice/style-transfer", "--dry-run", *args]) == 0
    return capsys.readouterr().out


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
    sizes = {name: (ROOT / name).stat().st_size for name in listed}
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
        "app.py", "README.md", "LICENSE", "requirements.txt",
        "style_transfer/__init__.py", "examples/pairs.json", "examples/CREDITS.md", "examples/a.jpg",
    }  # fmt: skip
    assert files["requirements.txt"] == tmp_path / "requirements.txt"
    assert deploy.space_files(tmp_path, gpu=True)["requirements.txt"] == tmp_path / "requirements-gpu.txt"


def test_a_missing_file_is_refused_before_anything_is_uploaded(tmp_path):
    (tmp_path / "app.py").write_text("x")
    with pytest.raises(deploy.StyleTransferError, match="LICENSE"):
        deploy.space_files(tmp_path)


@pytest.mark.parametrize("weights", ["imagenet", "imagenet-pypi", "hf://alice/vgg19-weights/vgg19.h5"])
def test_the_weights_variable_is_always_set_explicitly(capsys, weights):
    default = deploy.make_plan("alice/style-transfer")
    assert default.variables == {WEIGHTS_ENV: "imagenet"}
    assert deploy.make_plan("alice/style-transfer", weights=weights).variables == {WEIGHTS_ENV: weights}
    assert f"  {WEIGHTS_ENV}={weights}\n" in _dry_run(capsys, "--weights", weights)


def test_front_matter_is_the_readmes_own_without_hub_weights():
    plan = deploy.make_plan("alice/style-transfer")
    assert plan.readme == (ROOT / "README.md").read_text(encoding="utf-8")
    front = plan.front_matter
    assert front["sdk"] == "gradio" and front["app_file"] in plan.files
    assert "preload_from_hub" not in front


def test_hub_weights_are_preloaded_at_build_time(capsys):
    plan = deploy.make_plan("alice/style-transfer", weights="hf://alice/vgg19-weights/sub/vgg19.h5")
    assert plan.front_matter["preload_from_hub"] == ["alice/vgg19-weights sub/vgg19.h5"]
    original = SpaceCard((ROOT / "README.md").read_text(encoding="utf-8"))
    assert SpaceCard(plan.readme).text == original.text  # the body is untouched
    assert {k: v for k, v in plan.front_matter.items() if k != "preload_from_hub"} == original.data.to_dict()
    output = _dry_run(capsys, "--weights", "hf://alice/vgg19-weights/vgg19.h5")
    assert "  preload_from_hub:\n  - alice/vgg19-weights vgg19.h5\n" in output


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
        (["alice"], "OWNER/SPACE"),
        (["alice/x/y"], "OWNER/SPACE"),
        (["alice/bad..name"], "not a valid repo id"),
        (["alice/x", "--hardware", "zero-a10g"], "ZeroGPU is not supported"),
        (["alice/x", "--hardware", "h100"], "unknown Space hardware"),
        (["alice/x", "--weights", "hf://alice/file.h5"], "hf://<owner>/<repo>/<file>"),
        (["alice/x", "--weights", " "], "--weights is empty"),
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

    def __init__(self, exists: bool = False, fail: Exception | None = None) -> None:
        self.exists, self.fail = exists, fail
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
    names = ["repo_exists", "create_repo", "add_space_variable", "add_space_variable", "upload_folder"]
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
        ("alice/style-transfer", WEIGHTS_ENV, weights),
        ("alice/style-transfer", PRECISION_ENV, "float32"),  # a T4 has no native bfloat16
    ]
    upload = api.calls[-1][2]
    assert upload["repo_id"] == "alice/style-transfer" and upload["repo_type"] == "space"
    assert set(upload["delete_patterns"]) == {"style_transfer/*", "examples/*"}
    plan = deploy.make_plan("alice/style-transfer", "t4-small", True, weights)
    assert set(api.uploaded) == set(plan.files)
    assert api.uploaded["requirements.txt"] == (ROOT / "requirements-gpu.txt").read_bytes()
    assert api.uploaded["README.md"].decode() == plan.readme
    assert api.uploaded["app.py"] == (ROOT / "app.py").read_bytes()


def test_redeploy_sets_hardware_and_privacy_of_an_existing_space(monkeypatch):
    api = FakeHfApi(exists=True)
    monkeypatch.setattr(deploy, "make_api", lambda: api)
    assert deploy.main(["alice/style-transfer", "--hardware", "cpu-upgrade", "--private"]) == 0
    calls = {name: (args, kwargs) for name, args, kwargs in api.calls}
    assert calls["request_space_hardware"][0] == ("alice/style-transfer", "cpu-upgrade")
    assert calls["update_repo_settings"] == (("alice/style-transfer",), {"private": True, "repo_type": "space"})
    assert api.uploaded["requirements.txt"] == (ROOT / "requirements.txt").read_bytes()


def test_a_hub_error_prints_one_line_and_exits_1(capsys, monkeypatch):
    monkeypatch.setattr(deploy, "make_api", lambda: FakeHfApi(fail=RuntimeError("401 Unauthorized:\ninvalid token")))
    assert deploy.main(["alice/style-transfer"]) == 1
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
    front = SpaceCard((ROOT / "README.md").read_text(encoding="utf-8")).data.to_dict()
    gradio = next(r for r in _requirements("requirements.txt") if r.name == "gradio")
    assert str(gradio.specifier) == f"=={front['sdk_version']}"
    assert isinstance(front["python_version"], str)  # unquoted 3.10 would be read as the float 3.1
    assert Version(front["python_version"]) >= Version("3.11")  # Keras 3.15 needs it; Spaces defaults to 3.10
    assert front["license"] == "mit" and "MIT License" in (ROOT / "LICENSE").read_text()
    assert {"style-transfer", "tensorflow", "vgg19"} <= set(front["tags"])


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
    plan = deploy.make_plan("alice/style-transfer")
    space = deploy.stage(plan, tmp_path / "space")
    assert {p.relative_to(space).as_posix() for p in space.rglob("*") if p.is_file()} == set(plan.files)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env |= {WEIGHTS_ENV: "untrained", "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    result = subprocess.run(
        [sys.executable, "-c", BUILD_DEMO], cwd=space, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "endpoints: ['stylize']" in result.stdout
