"""Quality study (issue 16 item 2): variants of the engine at FIXED STEP COUNTS, judged by the peer
benchmark's judges (benchmarks/judges.py), one contact sheet per study.

The machines are shared: a time budget buys fewer steps the busier the machine, so variants are
compared at equal steps (and, for a change that costs per step, its step time is measured apart with
``--step-cost``, on both precision paths, and converted into the steps a 30 s budget buys).

    python -m benchmarks.quality_study --variants base,bold:style_strength=2 --pairs screen --size 384 --steps 100
    python -m benchmarks.quality_study --variants base,half2:spec.half_resolution_from=block2_conv1 --steps 200
    python -m benchmarks.quality_study --step-cost base,hist:spec.histogram_weight=1 --size 512

A variant is ``name:key=value,...`` (or a name from VARIANTS): a key is a StyleConfig field, or
``spec.<field>`` of the default objective's ObjectiveSpec (losses.OBJECTIVE_SPECS), or
``schedule=<fraction>:<share>+...`` for the run's preset (plan.SCHEDULES); tuple values join with
"+". ``base`` is today's defaults. Engine constants are patched for one run at a time and restored,
so one process compares them all on the same load. Results: benchmarks/out/peers/<name>/ (STUDY.md,
study.json, contact_study.jpg and every result as a PNG).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import statistics
import time
from collections.abc import Iterator
from typing import Any

from . import common, judges, peers
from .peer_images import EVALUATION_SET, Pair

# Screening subset: portraits (one colourful, one two-tone, one small face), architecture, a two-tone
# landscape, an animal, a monochrome portrait and a high-contrast still life: the pairs the baseline lost.
SCREEN = (
    "obama x starry night",
    "biden x udnie",
    "astronaut x bw udnie",
    "cameraman x mono starry night",
    "tubingen x starry night",
    "rocket x bw great wave",
    "chelsea x woman with hat",
    "coffee x mondrian",
)
VARIANTS: dict[str, str] = {"base": ""}
Variant = dict[str, Any]


def parse_variant(text: str) -> tuple[str, Variant]:
    name, _, items = text.partition(":")
    items = items or VARIANTS.get(name, "")
    changes: Variant = {}
    for item in filter(None, items.split(",")):
        key, value = item.split("=", 1)
        changes[key] = value
    return name, changes


def typed(value: str, like: Any) -> Any:
    if isinstance(like, tuple) or like is None and "+" in value:
        parts = [p for p in value.split("+") if p]
        return tuple(float(p) if _number(p) else p for p in parts)
    if like is None:
        return None if value == "none" else float(value) if _number(value) else value
    if isinstance(like, bool):
        return value.lower() == "true"
    return type(like)(value)


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


@contextlib.contextmanager
def patched(changes: Variant, preset: str) -> Iterator[dict[str, Any]]:
    """The engine with ``spec.*`` and ``schedule`` changes applied; yields the StyleConfig changes."""
    from style_transfer import losses, plan

    spec = losses.OBJECTIVE_SPECS["normalized"]
    schedule = plan.SCHEDULES[preset]
    spec_changes = {k[5:]: typed(v, getattr(spec, k[5:])) for k, v in changes.items() if k.startswith("spec.")}
    if "schedule" in changes:
        pairs = [item.split(":") for item in changes["schedule"].split("+")]
        plan.SCHEDULES[preset] = tuple((float(f), float(s)) for f, s in pairs)
    losses.OBJECTIVE_SPECS["normalized"] = dataclasses.replace(spec, **spec_changes)
    try:
        yield {k: v for k, v in changes.items() if not k.startswith("spec.") and k != "schedule"}
    finally:
        losses.OBJECTIVE_SPECS["normalized"] = spec
        plan.SCHEDULES[preset] = schedule


def config_for(config_changes: dict[str, Any], size: int, steps: int, seconds: float) -> Any:
    from style_transfer import StyleConfig

    base = StyleConfig(size=size, steps=steps, seconds=seconds)
    typed_changes = {k: typed(v, getattr(base, k)) for k, v in config_changes.items()}
    return base.replace(**typed_changes)


def run_variant(name: str, changes: Variant, pairs: list[Pair], args: argparse.Namespace, operator: Any) -> dict:
    plan = study_plan(args, pairs)
    records = {}
    preset = changes.get("preset", "balanced")
    for pair in pairs:
        judged = judged_pair(pair)
        with patched(changes, preset) as config_changes:
            config = config_for(config_changes, args.size, args.steps, args.seconds)
            image, record = peers.run_ours(config, pair, operator)
        records[pair.name] = record | judged.scores(image) | {"load": os.getloadavg()[0]}
        peers.keep(plan, name, pair, image)
        print(f"  {name:14s} {pair.name:32s} {peers.brief(records[pair.name])}", flush=True)
    return records


_JUDGED: dict[str, judges.Judged] = {}


def judged_pair(pair: Pair) -> judges.Judged:
    if pair.name not in _JUDGED:
        photo, painting = peers.open_image(pair.content), peers.open_image(pair.style)
        _JUDGED[pair.name] = judges.Judged(photo, painting, "portrait" in pair.kind)
    return _JUDGED[pair.name]


def study_plan(args: argparse.Namespace, pairs: list[Pair]) -> peers.Plan:
    return peers.Plan(pairs, {}, [], args.size, 0, args.name)


def magenta_records(pairs: list[Pair], args: argparse.Namespace) -> dict:
    plan = study_plan(args, pairs)
    records = {}
    for pair in pairs:
        image, record = peers.run_magenta(pair, args.size)
        records[pair.name] = record | judged_pair(pair).scores(image)
        peers.keep(plan, "magenta", pair, image)
    return records


def summary_lines(runs: dict[str, dict]) -> list[str]:
    from .common import table

    rows = []
    for name, records in runs.items():
        summary = peers.summarise(records)
        per_step = [r["seconds"] / r["steps"] for r in records.values() if r.get("steps")]
        step = f"{statistics.median(per_step):.3f}" if per_step else ""
        judged = [peers.cell(summary, key) for key, _, _ in peers.JUDGES[:4]]
        mean_style = statistics.mean(r["style"] for r in records.values())
        rows.append([name, *judged, f"{mean_style:.3f}", summary.get("faces_kept", ""), step])
    header = ["variant", "style", "palette", "texture", "edges", "style mean", "faces kept", "s a step (loaded)"]
    return table(header, rows)


def pair_lines(runs: dict[str, dict], pairs: list[Pair]) -> list[str]:
    from .common import table

    rows = []
    for pair in pairs:
        cells = []
        for records in runs.values():
            r = records.get(pair.name)
            face = f" f{r['face_confidence']:.2f}" if r and r.get("face_confidence") is not None else ""
            texture = f"/{r['texture']:.2f}" if r and "texture" in r else ""
            cells.append(f"{r['style']:.2f}/{r['palette']:.2f}{texture}/{r['edges']:.2f}{face}" if r else "")
        rows.append([pair.name, *cells])
    return table(["pair: style/palette/texture/edges", *runs], rows)


def step_costs(variants: list[tuple[str, Variant]], size: int, repeats: int) -> dict[str, Any]:
    """Median seconds of one loss-and-gradient at a 4:3 image of long side ``size``, per variant,
    interleaved (variant A, B, A, B, ...) so load changes hit them alike."""
    import numpy as np
    import tensorflow as tf

    from style_transfer import OperatorSettings, StyleConfig
    from style_transfer.engine.objective import CompiledObjective
    from style_transfer.model import objective_dtype

    operator = common.settings(common.imagenet_weights())
    dtype = objective_dtype("normalized", OperatorSettings.from_env().precision)
    width, height = size, size * 3 // 4
    rng = np.random.default_rng(0)
    image = rng.uniform(0, 1, (1, height, width, 3)).astype(np.float32)
    style = rng.uniform(0, 1, (1, height, width, 3)).astype(np.float32)
    steps = {}
    for name, changes in variants:
        with patched(changes, "balanced") as config_changes:
            config = StyleConfig(**{k: typed(v, getattr(StyleConfig(), k)) for k, v in config_changes.items()})
            objective = CompiledObjective(operator.weights, config, dtype)
            step = objective.loss_and_gradient(objective.targets(image, [style], [1.0]), (width, height))
            step(tf.constant(image))  # trace
            steps[name] = step
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(repeats):
        for name, step in steps.items():
            start = time.perf_counter()
            losses, gradient = step(tf.constant(image))
            float(losses["total"])
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()} | {"dtype": dtype}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variants", default="base", help="comma-separated NAME[:key=value,...] joined by ';'")
    parser.add_argument("--pairs", default="screen", help="screen, all, or a kind word (portrait, ...)")
    parser.add_argument("--size", type=int, default=384)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=0.0, help="a time budget instead of steps (load-sensitive)")
    parser.add_argument("--name", default="study")
    parser.add_argument("--no-magenta", action="store_true")
    parser.add_argument("--step-cost", action="store_true", help="only measure each variant's step time")
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    variants = [parse_variant(text) for text in args.variants.split(";")]
    if args.step_cost:
        print(json.dumps(step_costs(variants, args.size, args.repeats), indent=1))
        return
    pairs = select_pairs(args.pairs)
    operator = common.settings(common.imagenet_weights())
    peers.warm_up(operator, args.size, [] if args.no_magenta else ["magenta"])
    runs = {name: run_variant(name, changes, pairs, args, operator) for name, changes in variants}
    if not args.no_magenta:
        runs["magenta"] = magenta_records(pairs, args)
    save(args, variants, pairs, runs)


def select_pairs(which: str) -> list[Pair]:
    if which == "screen":
        return [p for p in EVALUATION_SET if p.name in SCREEN]
    return [p for p in EVALUATION_SET if which == "all" or which in p.kind or which in p.name]


def save(args: argparse.Namespace, variants: list[tuple[str, Variant]], pairs: list[Pair], runs: dict) -> None:
    plan = study_plan(args, pairs)
    folder = peers.output_folder(plan)
    folder.mkdir(parents=True, exist_ok=True)
    data = {"machine": common.machine(), "args": vars(args), "variants": dict(variants), "runs": runs}
    (folder / "study.json").write_text(json.dumps(data, indent=1, default=str))
    peers.contact_sheet(plan, list(runs), folder / "contact_study.jpg")
    title = f"# {args.name}: {len(pairs)} pairs at {args.size} px, {args.steps or args.seconds} steps/s"
    text = "\n".join([title, "", *summary_lines(runs), "", *pair_lines(runs, pairs)]) + "\n"
    (folder / "STUDY.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
