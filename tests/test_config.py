"""StyleConfig validation (property-based) and the coarse-to-fine pyramid."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from style_transfer import StyleTransferError
from style_transfer.config import PRESET_STEPS, PRESETS, StyleConfig
from style_transfer.costs import fallback
from style_transfer.plan import MIN_SCALE_SIDE, plan_scales, pyramid
from style_transfer.vgg import VGG_CONV_LAYERS

FIELDS = {f.name: f for f in dataclasses.fields(StyleConfig)}
BOUNDED = [name for name, f in FIELDS.items() if "min" in f.metadata]
CHOICE = [name for name, f in FIELDS.items() if "choices" in f.metadata and not isinstance(f.default, tuple)]
NUMBERS = st.one_of(st.integers(-(10**12), 10**12), st.floats(allow_nan=True, allow_infinity=True))


def test_defaults_build_and_are_documented():
    config = StyleConfig()
    assert config.total_steps == PRESET_STEPS[config.preset]
    for f in dataclasses.fields(StyleConfig):
        assert f.metadata.get("help"), f"{f.name} has no help text for the CLI and UI"
        if "min" in f.metadata:
            assert f.metadata["min"] <= f.default <= f.metadata["max"], f.name


def test_config_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        StyleConfig().size = 64  # type: ignore[misc]


@st.composite
def valid_value(draw: st.DrawFn, name: str):
    f = FIELDS[name]
    meta = f.metadata
    if isinstance(f.default, tuple) and "choices" in meta:
        return tuple(draw(st.lists(st.sampled_from(VGG_CONV_LAYERS), min_size=1, max_size=5, unique=True)))
    if isinstance(f.default, tuple):  # blend weights
        weights = draw(st.lists(st.floats(0.0, 1e6), min_size=1, max_size=5))
        return tuple(weights) if sum(weights) > 0 else (*weights, 1.0)
    if "choices" in meta:
        return draw(st.sampled_from(meta["choices"]))
    if isinstance(f.default, bool):  # a switch (keep_faces): its bounds are its two values
        return draw(st.booleans())
    if isinstance(f.default, int):
        return draw(st.integers(meta["min"], meta["max"]))
    return draw(st.floats(meta["min"], meta["max"], allow_nan=False))


@st.composite
def valid_settings(draw: st.DrawFn) -> dict:
    names = draw(st.lists(st.sampled_from(sorted(FIELDS)), unique=True))
    return {name: draw(valid_value(name)) for name in names}


@given(valid_settings())
@settings(max_examples=200, deadline=None)
def test_any_valid_settings_build(values):
    config = StyleConfig(**values)
    for name, value in values.items():
        assert getattr(config, name) == value
    assert StyleConfig.from_dict(config.to_dict()) == config


@st.composite
def out_of_range(draw: st.DrawFn) -> tuple[str, object]:
    name = draw(st.sampled_from(BOUNDED))
    meta = FIELDS[name].metadata
    kind: Any = type(FIELDS[name].default)
    below = draw(st.integers(1, 10**9)) if kind is int else draw(st.floats(1e-6, 1e9))
    if kind is float and meta["min"] > 0:  # also just below a positive minimum
        below = draw(st.sampled_from([below, meta["min"] * 0.999]))
    value = draw(st.sampled_from([meta["min"] - below, meta["max"] + below]))
    return name, kind(value)


@given(out_of_range())
@settings(max_examples=300, deadline=None)
def test_out_of_range_numbers_are_refused(case):
    name, value = case
    with pytest.raises(StyleTransferError, match=name):
        StyleConfig(**{name: value})


@given(
    st.sampled_from([n for n in BOUNDED if FIELDS[n].default.__class__ is float]),
    st.sampled_from([math.nan, math.inf, -math.inf]),
)
def test_nan_and_infinite_numbers_are_refused(name, value):
    with pytest.raises(StyleTransferError, match=name):
        StyleConfig(**{name: value})


WRONG_TYPES = st.one_of(
    st.none(),
    st.booleans(),
    st.text(max_size=5),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=1),
    st.complex_numbers(),
)


@given(st.sampled_from(sorted(FIELDS)), st.one_of(WRONG_TYPES, NUMBERS))
@settings(max_examples=300, deadline=None)
def test_wrong_types_are_refused(name, value):
    f = FIELDS[name]
    kind = type(f.default)
    acceptable = (
        (kind is int and isinstance(value, int) and not isinstance(value, bool))
        or (kind is float and isinstance(value, (int, float)) and not isinstance(value, bool))
        or (kind is str and isinstance(value, str))
        or (kind is bool and isinstance(value, bool))
    )
    if acceptable:  # the right type: only invalid if out of range / not a choice, which other tests cover
        return
    with pytest.raises(StyleTransferError, match=name):
        StyleConfig(**{name: value})


@given(st.sampled_from(CHOICE), st.text(max_size=12))
def test_unknown_choices_are_refused(name, value):
    if value in FIELDS[name].metadata["choices"]:
        return
    with pytest.raises(StyleTransferError, match=name):
        StyleConfig(**{name: value})


@given(
    st.lists(
        st.one_of(
            st.floats(max_value=-1e-9),
            st.just(math.nan),
            st.just(math.inf),
            st.booleans(),
            st.text(max_size=3),
            st.none(),
        ),
        min_size=1,
        max_size=3,
    ),
    st.lists(st.floats(0.0, 10.0), max_size=2),
    st.randoms(use_true_random=False),
)
def test_bad_blend_weights_are_refused(bad, good, random):
    weights = bad + good
    random.shuffle(weights)
    with pytest.raises(StyleTransferError, match="style_blend"):
        StyleConfig(style_blend=tuple(weights))


@pytest.mark.parametrize("weights", [(0.0,), (0.0, 0.0, 0.0)])
def test_all_zero_blend_weights_are_refused(weights):
    with pytest.raises(StyleTransferError, match="style_blend"):
        StyleConfig(style_blend=weights)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("style_layers", ()),
        ("style_layers", ("block1_conv1", "block1_conv1")),
        ("style_layers", ("block1_conv1", "dense_1")),
        ("content_layers", ()),
        ("content_layers", ("block6_conv1",)),
        ("style_layers", ["block1_conv1"]),  # a list, not a tuple: from_dict converts, the constructor does not
    ],
)
def test_bad_layer_lists_are_refused(name, value):
    with pytest.raises(StyleTransferError, match=name):
        StyleConfig(**{name: value})


def test_from_dict_refuses_unknown_settings_and_converts_lists():
    with pytest.raises(StyleTransferError, match="unknown setting"):
        StyleConfig.from_dict({"size": 64, "sizee": 64})
    config = StyleConfig.from_dict({"style_blend": [1, 2], "style_layers": ["block1_conv1"]})
    assert config.style_blend == (1, 2) and config.style_layers == ("block1_conv1",)


def test_from_raw_converts_ui_and_json_values():
    config = StyleConfig.from_raw(
        {"size": 128.0, "steps": 12.0, "style_blend": "2, 1", "style_layers": ["block1_conv1"], "preset": "fast"}
    )
    assert (config.size, config.steps, config.style_blend) == (128, 12, (2.0, 1.0))
    assert config.style_layers == ("block1_conv1",)
    assert StyleConfig.from_raw({"style_blend": ""}).style_blend == ()


def test_error_messages_name_the_limit():
    with pytest.raises(StyleTransferError) as error:
        StyleConfig(size=100_000)
    assert "size" in str(error.value) and "2048" in str(error.value)


# --- the pyramid ------------------------------------------------------------------------------

SIZES = st.tuples(st.integers(16, 6000), st.integers(16, 6000)).filter(lambda s: max(s) / min(s) <= 16)


@given(SIZES, st.integers(16, 2048), st.sampled_from(PRESETS), st.integers(1, 5000))
@settings(max_examples=400, deadline=None)
def test_pyramid_keeps_aspect_ratio_and_step_total(content_size, long_side, preset, total):
    plan = pyramid(content_size, long_side, preset, total)
    width, height = content_size
    assert plan, "no scale at all"
    assert sum(steps for _, steps in plan) == total
    assert all(steps >= 1 for _, steps in plan)
    # The output (last scale) is the configured size, whatever the number of steps.
    assert max(plan[-1][0]) == long_side
    for (w, h), _ in plan:
        # Each scale is the content scaled by one factor: the short side is within rounding of exact.
        scale = max(w, h) / max(width, height)
        assert abs(w - width * scale) <= 0.5 + 1e-9 or w == 1
        assert abs(h - height * scale) <= 0.5 + 1e-9 or h == 1
    longs = [max(size) for size, _ in plan]
    assert longs == sorted(longs) and len(set(longs)) == len(longs), "scales must grow, coarse to fine"
    for size, _ in plan[:-1]:
        assert min(size) >= MIN_SCALE_SIDE, "a coarse scale below the minimum side was kept"


def test_pyramid_of_a_4_3_photo_at_128():
    # 0.25 * 128 = 32 long side is 32x24: too small, its steps go to the 64x48 scale.
    plan = plan_scales(StyleConfig(size=128, preset="fast", steps=30), (400, 300), fallback("float32"))
    assert [size for size, _ in plan] == [(64, 48), (128, 96)]
    assert sum(steps for _, steps in plan) == 30


@pytest.mark.parametrize("steps", [1, 2, 3])
def test_few_steps_still_reach_the_full_size(steps):
    plan = plan_scales(StyleConfig(size=512, steps=steps), (400, 300), fallback("float32"))
    assert plan[-1][0] == (512, 384)
    assert sum(n for _, n in plan) == steps


def test_portrait_keeps_orientation():
    plan = plan_scales(StyleConfig(size=64, steps=5), (300, 400), fallback("float32"))
    assert plan[-1][0] == (48, 64)
