"""Operator settings: read once from the environment, validated, documented in the README, and
what `python app.py` and the CLI do with a bad one (one line, no traceback)."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from style_transfer import OperatorSettings, StyleTransferError
from style_transfer.settings import CAPS, ENV_VARS

ROOT = Path(__file__).resolve().parent.parent
FIELDS = {f.name: f for f in dataclasses.fields(OperatorSettings)}
GOOD = {
    "weights": ("/models/vgg19.h5", "/models/vgg19.h5"),
    "precision": ("float32", "float32"),
    "queue_size": ("3", 3),
    "concurrency": ("2", 2),
    "runs_per_client": ("0", 0),
    "max_sessions": ("200", 200),
    "max_input_megapixels": ("12.5", 12.5),
    "max_input_bytes": ("1000", 1000),
    "max_size": ("768", 768),
    "max_steps": ("0", 0),
    "max_seconds": ("20", 20.0),
    "max_styles": ("2", 2),
    "max_memory": ("4000000000", 4_000_000_000),
}
BAD = {
    "precision": ["fp16", "Float32", "1"],
    "queue_size": ["lots", "0", "-1", "2.5", "100000"],
    "concurrency": ["two", "0"],
    "runs_per_client": ["-1", "all", "2.5"],
    "max_sessions": ["0", "1e4", "none"],
    "max_input_megapixels": ["171", "0", "nan", "inf", "big"],
    "max_input_bytes": ["0", "1e6", "30 MB"],
    "max_size": ["4096", "-1", "1024px"],
    "max_seconds": ["-5", "nan", "1 min"],
    "max_memory": ["6GB", "-1"],
}


def test_defaults_without_any_variable():
    assert OperatorSettings.from_env({}) == OperatorSettings()
    defaults = OperatorSettings()
    assert (defaults.weights, defaults.precision, defaults.queue_size, defaults.concurrency) == ("auto", "auto", 16, 1)
    assert (defaults.max_input_megapixels, defaults.max_input_bytes) == (40.0, 30_000_000)
    caps = (defaults.max_size, defaults.max_steps, defaults.max_seconds, defaults.max_styles, defaults.max_memory)
    assert caps == (1024, 600, 180.0, 4, 6_000_000_000)  # fits a 2-vCPU, 16 GB Space


def test_without_caps_turns_every_cap_off_and_nothing_else():
    settings = OperatorSettings(queue_size=3).without_caps()
    assert all(getattr(settings, name) == 0 for name in CAPS)
    assert (settings.queue_size, settings.max_input_bytes) == (3, 30_000_000)


def test_every_field_is_documented_and_tested_here():
    assert set(GOOD) == set(FIELDS)
    for f in FIELDS.values():
        assert f.metadata["env"].startswith("STYLE_TRANSFER_") and f.metadata["help"], f.name


@pytest.mark.parametrize("name", sorted(GOOD))
def test_each_variable_is_read(name):
    raw, value = GOOD[name]
    settings = OperatorSettings.from_env({ENV_VARS[name]: f"  {raw} "})
    assert getattr(settings, name) == value
    assert settings == OperatorSettings().replace(**{name: value})
    assert OperatorSettings.from_env({ENV_VARS[name]: "  "}) == OperatorSettings(), "empty means the default"


@pytest.mark.parametrize(("name", "raw"), [(name, raw) for name, values in BAD.items() for raw in values])
def test_a_bad_value_names_the_variable_and_what_it_allows(name, raw):
    with pytest.raises(StyleTransferError) as error:
        OperatorSettings.from_env({**os.environ, ENV_VARS[name]: raw})
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(f"{ENV_VARS[name]} is {raw!r}; it must be ")


def test_the_megapixel_limit_is_capped_below_pillows_own_refusal():
    assert OperatorSettings.from_env({ENV_VARS["max_input_megapixels"]: "170"}).max_input_megapixels == 170
    with pytest.raises(StyleTransferError, match="from 0.01 to 170"):
        OperatorSettings(max_input_megapixels=171.0)


@pytest.mark.parametrize(
    ("changes", "message"),
    [({"queue_size": 0}, "queue_size is 0"), ({"weights": ""}, "weights is ''"), ({"precision": "fp8"}, "one of")],
)
def test_settings_built_in_code_are_checked_too(changes, message):
    with pytest.raises(StyleTransferError, match=message):
        OperatorSettings(**changes)


def test_settings_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        OperatorSettings().queue_size = 2  # type: ignore[misc]


# --- the README's table --------------------------------------------------------------------------


def readme_settings_table() -> dict[str, str]:
    """{variable: default} from the README's "Settings (environment variables)" table."""
    text = (ROOT / "README.md").read_text()
    section = text.split("### Settings (environment variables)", 1)[1].split("\n#", 1)[0]
    rows = {}
    for line in section.splitlines():
        match = re.match(r"\|\s*`(STYLE_TRANSFER_\w+)`\s*\|\s*`([^`]*)`", line)
        if match:
            rows[match.group(1)] = match.group(2)
    return rows


def test_the_readme_table_lists_every_setting_with_its_default():
    documented = readme_settings_table()
    assert set(documented) == set(ENV_VARS.values()), "the README's table and OperatorSettings disagree"
    for name, f in FIELDS.items():
        default = f"{f.default:g}" if isinstance(f.default, float) else str(f.default)
        assert documented[ENV_VARS[name]] == default, name


# --- what the programs do with a bad setting ------------------------------------------------------


def test_the_app_exits_with_one_line_on_a_bad_setting(monkeypatch):
    import app

    monkeypatch.setenv(ENV_VARS["precision"], "fp16")
    with pytest.raises(SystemExit) as exit_:
        app.main([])
    message = str(exit_.value.code)
    assert message.startswith("error: STYLE_TRANSFER_PRECISION is 'fp16'") and "\n" not in message


def test_the_app_exits_with_one_line_when_the_weights_cannot_be_had(monkeypatch, tmp_path):
    import app

    monkeypatch.setenv(ENV_VARS["weights"], str(tmp_path / "missing.h5"))
    with pytest.raises(SystemExit, match="weights file not found") as exit_:
        app.main([])
    assert "\n" not in str(exit_.value.code)


@pytest.mark.slow
def test_python_app_py_prints_one_line_and_no_traceback():
    env = {**os.environ, ENV_VARS["queue_size"]: "lots"}
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # as for a user: the package silences TensorFlow itself
    done = subprocess.run([sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        "error: STYLE_TRANSFER_QUEUE_SIZE is 'lots'; it must be a whole number from 1 to 10,000"
    ]


def test_the_cli_takes_the_limits_from_the_environment_and_its_flags(monkeypatch):
    from style_transfer.__main__ import build_parser, settings_from_args

    monkeypatch.setenv(ENV_VARS["max_input_bytes"], "1000")
    args = build_parser().parse_args(["c", "s", "-o", "o.png"])
    assert settings_from_args(args).max_input_bytes == 1000
    args = build_parser().parse_args(["c", "s", "-o", "o.png", "--max-input-bytes", "2000", "--weights", "untrained"])
    assert (settings_from_args(args).max_input_bytes, settings_from_args(args).weights) == (2000, "untrained")
    args = build_parser().parse_args(["c", "s", "-o", "o.png", "--max-input-megapixels", "0.5"])
    assert settings_from_args(args).max_input_megapixels == 0.5


def test_the_cli_refuses_a_bad_setting_in_one_line(monkeypatch, capfd, image_files, tmp_path):
    from style_transfer.__main__ import main

    monkeypatch.setenv(ENV_VARS["precision"], "fast")
    code = main([str(image_files["photo_small"]), str(image_files["style"]), "-o", str(tmp_path / "out.png")])
    _, err = capfd.readouterr()
    assert code == 2 and err.splitlines() == [
        "error: STYLE_TRANSFER_PRECISION is 'fast'; it must be one of auto, float32, bfloat16"
    ]
    monkeypatch.delenv(ENV_VARS["precision"])
    code = main(
        [str(image_files["photo_small"]), str(image_files["style"]), "-o", "out.png", "--max-input-megapixels", "500"]
    )
    _, err = capfd.readouterr()
    assert code == 2 and "max_input_megapixels is 500.0" in err and len(err.splitlines()) == 1
