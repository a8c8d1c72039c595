"""Render RESULTS.md and its figures from the stored results, without running anything.

    python -m benchmarks.report

Reads results/*.json under $STYLE_BENCH_OUT (default: benchmarks/) and the tutorial's logs
in benchmarks/results/; writes RESULTS.md, convergence.png and param_study.png beside them,
followed by NOTES.md. A missing result or log is said in its row, never an error.
"""

from __future__ import annotations

import functools
import statistics
from collections.abc import Callable
from typing import Any

from . import common
from .common import table

Data = dict[str, Any]
Cell = tuple[str, bool | None]  # what is shown, and whether it meets its target (None: no target)
NOT_MEASURED: Cell = ("not measured", None)
TIMING = ("targets", "step_time", "memory")
STUDIES = (
    "check_objective",
    "convergence",
    "coarse_to_fine",
    "param_study",
    "quality",
    "peers",
    "peers_float32",
    "optimizer_study",
)
WEIGHTS_NAMES = {"imagenet": "ImageNet", "untrained": "untrained (seeded)"}


def met(ok: bool | None) -> str:
    return {True: "yes", False: "**no**", None: ""}[ok]


def cells(values: list[Cell]) -> list[str]:
    return [text for value in values for text in (value[0], met(value[1]))]


def tutorial_value(weights: str, size: int, step: int) -> float | None:
    return next((r["total"] for r in common.tutorial_log(weights, size) if r["step"] == step), None)


def missing_log(weights: str, size: int) -> str:
    return f"no tutorial log ({common.tutorial_log_path(weights, size).name} missing)"


def no_value(weights: str, size: int, step: int) -> str:
    """Why the tutorial's value after ``step`` steps is not known."""
    if not common.tutorial_log(weights, size):
        return missing_log(weights, size)
    return f"{common.tutorial_log_path(weights, size).name} has no step {step}"


# -- machine ------------------------------------------------------------------------------------


def machine_lines(results: dict[str, Data]) -> list[str]:
    records = sorted((r["machine"] for r in results.values()), key=lambda m: m["date"])
    if not records:
        return ["No results stored yet: run `python -m benchmarks.run`."]
    m = next((r for r in reversed(records) if "flags" in r), records[-1])
    flags = ", ".join(f"{flag} {'yes' if on else 'no'}" for flag, on in m.get("flags", {}).items())
    loads = [r["load_average"][0] for r in records]
    lines = [
        f"**Machine:** {m['cpu']}; CPU flags: {flags or 'not recorded'}; {m['cores']} cores; "
        f"{m['memory_gb']} GB; TensorFlow {m['tensorflow']}.",
        "",
        f"Measured {records[0]['date']} to {records[-1]['date']}, load average (1 min) {min(loads):.2g} to "
        f"{max(loads):.2g}; each results file's own are under [Runs](#runs). Ratios divide by the tutorial "
        "measured in the same benchmark process (the machines are shared and their load varies).",
    ]
    cpus = sorted({r["cpu"] for r in records})
    if len(cpus) > 1:
        lines += ["", f"**The stored results come from different CPUs ({'; '.join(cpus)}): compare with care.**"]
    return lines


def runs_lines(results: dict[str, Data]) -> list[str]:
    rows = [
        [f"results/{name}.json", r["machine"].get("precision_setting", "?"), r["machine"]["date"]]
        + [str(r["machine"]["load_average"]), r["machine"]["cpu"]]
        for name, r in sorted(results.items())
    ]
    return ["", "## Runs", ""] + table(["file", "STYLE_TRANSFER_PRECISION", "date", "load average", "CPU"], rows)


# -- the speed targets, per precision path -----------------------------------------------


def in_steps(data: Data, seconds: float, limit: float | None) -> Cell:
    steps = seconds / data["tutorial_step_s"]
    return f"{seconds:.3g} s = {steps:.3g} steps", None if limit is None else steps <= limit


def at_most(seconds: float | None, limit: float) -> Cell:
    return ("none", False) if seconds is None else (f"{seconds:.2f} s", seconds <= limit)


def within(measured: float, aimed: float, tolerance: float, what: str = "") -> Cell:
    error = measured / aimed - 1
    return f"{measured:.3g} s ({error:+.0%}{what})", abs(error) <= tolerance


def balanced_at(data: Data, size: int) -> Data | None:
    return next((r for r in data["balanced"] if r["size"] == size), None)


def budget_quality(data: Data) -> Cell:
    run, size = data["budget_tutorial"], data["size"]
    reference = tutorial_value("imagenet", size, 500)
    if reference is None:
        return f"{run['tutorial_objective']:.4g}; {no_value('imagenet', size, 500)}", None
    ratio = run["tutorial_objective"] / reference
    return f"{run['tutorial_objective']:.4g} = {ratio:.2f}x ({run['wall_s']:.3g} s)", ratio <= 1


def estimate_cell(data: Data, size: int) -> Cell:
    run = balanced_at(data, size)
    if run is None:
        return NOT_MEASURED
    error = run["estimate_s"] / run["wall_s"] - 1
    return f"{run['estimate_s']:.3g} s vs {run['wall_s']:.3g} s ({error:+.0%})", abs(error) <= 0.2


def on_balanced(cell: Callable[[Data, Data], Cell]) -> Callable[[Data], Cell]:
    """A cell of a path's `balanced` run at its target size."""

    def at_size(data: Data) -> Cell:
        run = balanced_at(data, data["size"])
        return NOT_MEASURED if run is None else cell(data, run)

    return at_size


def cli_budget_cell(data: Data) -> Cell:
    run = data["cli_budget"]
    return within(run["elapsed_s"], run["budget_s"], 0.1, f"; process {run['process_s']:.3g} s")


def target_rows(ref: Data) -> list[tuple[str, str, Callable[[Data], Cell]]]:
    """(what, target, the cell of one path's results); the labels from ``ref``, one path's results."""
    size, budget, cli_budget = ref["size"], ref["budget"]["budget_s"], ref["cli_budget"]["budget_s"]
    rows: list[tuple[str, str, Callable[[Data], Cell]]] = [
        (f"tutorial step at {size}x{size} px (the unit below)", "", lambda d: (f"{d['tutorial_step_s']:.3g} s", None)),
        (f"CLI at defaults, {size} px, process start included", "<= 8 steps", lambda d: in_steps(d, d["cli_s"], 8)),
        (f"`fast` {size} px", "<= 3 steps", lambda d: in_steps(d, d["fast"]["wall_s"], 3)),
        (f"`balanced` {size} px (in the app)", "", on_balanced(lambda d, run: in_steps(d, run["wall_s"], None))),
        ("first preview (`balanced`)", "<= 1.5 s", on_balanced(lambda d, run: at_most(run["first_preview_s"], 1.5))),
        (
            "longest gap between frames (`balanced`)",
            "<= 2 s",
            on_balanced(lambda d, run: at_most(run["max_frame_gap_s"], 2)),
        ),
        (
            f"{budget:g} s budget, {size} px: wall",
            "+-10%",
            lambda d: within(d["budget"]["wall_s"], d["budget"]["budget_s"], 0.1),
        ),
        (
            f"{budget:g} s budget on the tutorial objective, {size} px: final value / the tutorial's 500 steps",
            "<= 1",
            budget_quality,
        ),
        (f"CLI `--seconds {cli_budget:g}`, {size} px: the last frame's elapsed", "+-10%", cli_budget_cell),
    ]
    for run in ref["balanced"]:
        estimate = functools.partial(estimate_cell, size=run["size"])
        rows.append((f"estimate vs measured, `balanced` {run['size']} px", "+-20%", estimate))
    rows.append(("calibration (engine.calibrate)", "", lambda d: (f"{d['calibration_s']:.2g} s", None)))
    return rows


def targets_lines(by_path: dict[str, Data | None]) -> list[str]:
    lines = ["", '## Speed targets ("Fast on every CPU"), ImageNet weights', ""]
    ref = next((d for d in by_path.values() if d), None)
    if ref is None:
        return lines + ["Not measured: `python -m benchmarks.run --only targets`."]
    header = ["what", "target"] + [x for p in common.PRECISIONS for x in (p, "met?")]
    rows = [
        [what, target, *cells([fn(d) if (d := by_path[p]) else NOT_MEASURED for p in common.PRECISIONS])]
        for what, target, fn in target_rows(ref)
    ]
    note = (
        "Steps are tutorial steps at that size measured in the same run (plain Keras, float32 on both paths). "
        "bfloat16 is the default where the CPU has AVX512_BF16 or AMX; elsewhere the default is float32 and "
        "only that column is measured. The tutorial-objective budget computes in float32 on both paths."
    )
    return lines + table(header, rows) + ["", note]


def step_time_lines(by_path: dict[str, Data | None]) -> list[str]:
    lines = ["", "## Step time, tutorial layers and loss, L-BFGS vs the tutorial's Adam step", ""]
    sizes = sorted({r["size"] for d in by_path.values() if d for r in d["rows"]})
    if not sizes:
        return lines + ["Not measured."]

    def cell(data: Data | None, size: int) -> Cell:
        row = next((r for r in data["rows"] if r["size"] == size), None) if data else None
        if row is None:
            return NOT_MEASURED
        ratio = row["step_s"] / row["tutorial_s"]
        return f"{row['step_s']:.3g} s / {row['tutorial_s']:.3g} s = {ratio:.2f}", ratio <= 1 if size == 512 else None

    header = ["size", "target"] + [x for p in common.PRECISIONS for x in (f"{p}: ours / tutorial", "met?")]
    rows = [
        [f"{s} px", "<= 1 at 512" if s == 512 else "", *cells([cell(by_path[p], s) for p in common.PRECISIONS])]
        for s in sizes
    ]
    return lines + table(header, rows)


def memory_lines(by_path: dict[str, Data | None]) -> list[str]:
    lines = ["", "## Peak memory (RSS of a fresh process) vs the pre-run estimate", ""]
    sizes = sorted({r["size"] for d in by_path.values() if d for r in d["rows"]})

    def cell(data: Data | None, size: int) -> Cell:
        row = next((r for r in data["rows"] if r["size"] == size), None) if data else None
        if row is None:
            return NOT_MEASURED
        peak, error = row["peak_rss_bytes"] / 1e9, row["estimate_bytes"] / row["peak_rss_bytes"] - 1
        return f"{peak:.2f} GB (estimate {error:+.0%})", peak <= 8 if size == 2048 else None

    header = ["size", "target"] + [x for p in common.PRECISIONS for x in (p, "met?")]
    rows = [
        [f"{s} px", "<= 8 GB at 2048" if s == 2048 else "", *cells([cell(by_path[p], s) for p in common.PRECISIONS])]
        for s in sizes
    ]
    return lines + (table(header, rows) if sizes else ["Not measured."])


# -- the studies ----------------------------------------------------------------------------------


def check_lines(data: Data | None) -> list[str]:
    lines = ["", "## The engine's `tutorial` objective vs the reference's `Tutorial.loss`", ""]
    if data is None:
        return lines + ["Not measured."]
    rows = [
        [
            WEIGHTS_NAMES[kind],
            f"{max(r['float32'].values()):.1e}",
            met(r["passed"]),
            f"{max(r['bfloat16'].values()):.1e}",
        ]
        for kind, r in data["by_weights"].items()
    ]
    header = [
        f"weights ({data['size']} px)",
        "float32: largest relative difference (<= 1e-4)",
        "met?",
        "bfloat16 (information)",
    ]
    return lines + table(header, rows)


def reach_cell(run: Data, weights: str, step: int, step_s: float) -> Cell:
    value = tutorial_value(weights, run["size"], step)
    if value is None:
        return no_value(weights, run["size"], step), None
    reached = next((t for t, v in run["curve"] if v <= value), None)
    if reached is None:
        final = run["curve"][-1][1]
        return f"not in {run['wall_s']:.0f} s (final {final / value:.2f}x its value)", False
    share = reached / (step * step_s)
    return f"{reached:.1f} s = {share:.3f} of its {step * step_s:.0f} s", share <= 0.05


def final_cell(run: Data, weights: str, step_s: float, guard: bool) -> Cell:
    """The final value against the tutorial's 500-step one, and how soon the tutorial reaches it."""
    final, log = run["curve"][-1][1], common.tutorial_log(weights, run["size"])
    value = tutorial_value(weights, run["size"], 500)
    if value is None:
        return f"{final:.4g} ({run['wall_s']:.0f} s); {no_value(weights, run['size'], 500)}", None
    text = f"{final:.4g} = {final / value:.2f}x ({run['wall_s']:.0f} s)"
    equal = next((r["step"] for r in log if r["total"] <= final), None)
    if equal is not None:
        text += (
            f"; the tutorial gets there at step {equal}: ours took {run['wall_s'] / (equal * step_s):.3f} of its time"
        )
    return text, final <= value if guard else None


def convergence_lines(data: Data | None) -> list[str]:
    lines = ["", "## Convergence on the tutorial objective: time to reach the tutorial's values", ""]
    if data is None:
        return lines + ["Not measured: `python -m benchmarks.run --only convergence`."]
    kinds = list(data["runs"])
    header = ["run", "target"] + [x for kind in kinds for x in (WEIGHTS_NAMES[kind], "met?")]
    rows = []
    for index, run in enumerate(data["runs"][kinds[0]]):
        size, step_s = run["size"], data["tutorial_pair_step_s"][str(run["size"])]
        name = f"`{run['preset']}` ({run['steps']} steps) at {size} px"
        runs = [data["runs"][kind][index] for kind in kinds]
        for step in (500, 1000):
            row = [f"{name}: time to the tutorial's {step}-step value", "<= 0.05 of its time"]
            rows.append(row + cells([reach_cell(r, k, step, step_s) for r, k in zip(runs, kinds)]))
        guard = run["preset"] == "balanced" and size == 512
        target = "<= 1 (the quality guard)" if guard else ""
        row = [f"{name}: final value / the tutorial's 500-step value", target]
        rows.append(row + cells([final_cell(r, k, step_s, guard) for r, k in zip(runs, kinds)]))
    steps = ", ".join(f"{s} px {t:.3g} s" for s, t in data["tutorial_pair_step_s"].items())
    note = (
        f"Every value is the reference's `Tutorial.loss` (float32) of the saved 8-bit frame. The tutorial's "
        f"time is its steps x its step time on the same pair, measured in this run ({steps}); its values "
        "come from its logs in results/tutorial_<weights>_<size>.jsonl."
    )
    return lines + table(header, rows) + ["", note, "", "![objective vs wall time](convergence.png)"]


def subplots(rows: int, columns: int, height: float) -> tuple[Any, Any]:
    """A figure of rows x columns plots, 6 wide and ``height`` high each (headless)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(rows, columns, figsize=(6 * columns, height * rows), squeeze=False)


def plot_tutorial_log(ax: Any, weights: str, size: str, step_s: float, label: str) -> None:
    """The tutorial's logged objective against its wall time (its steps x its step time)."""
    log = common.tutorial_log(weights, int(size))
    ax.plot([r["step"] * step_s for r in log], [r["total"] for r in log], "k", label=label)


def save_figure(fig: Any, name: str) -> None:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(common.OUT / name, dpi=90)
    plt.close(fig)


def plot_convergence(data: Data) -> None:
    kinds, sizes = list(data["runs"]), list(data["tutorial_pair_step_s"])
    fig, axes = subplots(len(kinds), len(sizes), 4)
    for row, kind in enumerate(kinds):
        for column, size in enumerate(sizes):
            ax = axes[row][column]
            plot_tutorial_log(ax, kind, size, data["tutorial_pair_step_s"][size], "tutorial (Adam)")
            for step, style in ((500, ":"), (1000, "--")):
                if (value := tutorial_value(kind, int(size), step)) is not None:
                    ax.axhline(value, color="grey", linestyle=style, label=f"tutorial after {step} steps")
            for run in (r for r in data["runs"][kind] if str(r["size"]) == size):
                t, v = zip(*run["curve"])
                ax.plot(t, v, marker=".", label=f"{run['preset']} ({run['steps']} steps)")
            ax.set(title=f"{WEIGHTS_NAMES[kind]} weights, {size} px", xscale="log", yscale="log")
            ax.set(xlabel="wall time, s (tutorial: steps x its step time)", ylabel="tutorial objective")
            ax.legend(fontsize=8)
    save_figure(fig, "convergence.png")


def coarse_lines(data: Data | None) -> list[str]:
    lines = ["", "## Coarse to fine on the tutorial objective", ""]
    if data is None:
        return lines + ["Not measured: `python -m benchmarks.run --only coarse_to_fine`."]
    kinds, size = list(data["by_weights"]), data["size"]

    def cell(r: Data) -> str:
        start, final = r["start"], r["final"]
        terms = f"{final['style']:.3g} / {final['content']:.3g} / {final['tv']:.3g}"
        return f"{start['total']:.4g} ({start['content']:.3g}) | {final['total']:.4g} ({terms})"

    header = ["schedule"] + [
        x
        for k in kinds
        for x in (f"{WEIGHTS_NAMES[k]}: at the start of {size} (content)", "final (style / content / tv)")
    ]
    rows = [[name] + [cell(data["by_weights"][k][name]) for k in kinds] for name in data["by_weights"][kinds[0]]]
    refs = [
        f"{WEIGHTS_NAMES[k]} {v:.4g}"
        if (v := tutorial_value(k, size, 500))
        else f"{WEIGHTS_NAMES[k]}: {no_value(k, size, 500)}"
        for k in kinds
    ]
    intro = f"Our L-BFGS on the reference's loss; the tutorial after 500 steps at {size} px: {'; '.join(refs)}."
    return lines + [intro, ""] + table(header, rows)


def value_cells(curve: list, marks: list[int]) -> list[str]:
    """The lowest value reached by each mark (seconds), then the last point's value and time."""
    reached = [min((v for t, v in curve if t <= n), default=None) for n in marks]
    end = f"{curve[-1][1]:.4g} ({curve[-1][0]:.0f} s)" if curve else ""
    return [f"{v:.4g}" if v is not None else "" for v in reached] + [end]


def param_lines(data: Data | None) -> list[str]:
    lines = ["", "## Parametrisation study: the tutorial objective vs seconds, ImageNet weights", ""]
    if data is None:
        return lines + ["Not measured: `python -m benchmarks.run --only param_study`."]
    for size, runs in data["runs"].items():
        step_s, log = data["tutorial_pair_step_s"][size], common.tutorial_log("imagenet", int(size))
        curves = runs | {"tutorial (its log)": [(r["step"] * step_s, r["total"]) for r in log]}
        longest = max(curve[-1][0] for curve in runs.values())
        marks = [n for n in (5, 10, 20, 40, 80, 160, 320) if n <= longest]
        rows = [[name] + value_cells(curve, marks) for name, curve in curves.items()]
        note = "" if log else f" ({missing_log('imagenet', int(size))})"
        lines += [f"{size} px, {data['steps']} steps each{note}:", ""]
        lines += table(["variant"] + [f"after {n} s" for n in marks] + ["at the end"], rows) + [""]
    return lines + ["![objective vs seconds per variant](param_study.png)"]


def plot_params(data: Data) -> None:
    sizes = list(data["runs"])
    fig, axes = subplots(1, len(sizes), 4.5)
    for ax, size in zip(axes[0], sizes):
        plot_tutorial_log(ax, "imagenet", size, data["tutorial_pair_step_s"][size], "tutorial (Adam, its log)")
        for variant, curve in data["runs"][size].items():
            ax.plot(*zip(*curve), marker=".", label=variant)
        ax.set(title=f"{size} px", xlabel="wall time, s", ylabel="tutorial objective", xscale="log", yscale="log")
        ax.legend(fontsize=8)
    save_figure(fig, "param_study.png")


def quality_lines(data: Data | None) -> list[str]:
    lines = ["", "## Quality by eye: the evaluation set per preset", ""]
    if data is None:
        return lines + ["Not measured: `python -m benchmarks.run --only quality`."]
    lines.append(f"{data['size']} px, weights {data['weights']}, each preset's defaults (benchmarks/quality.py).")
    for preset, runs in data["presets"].items():
        median = statistics.median(r["seconds"] for r in runs)
        lines += [
            "",
            f"`{preset}`: median {median:.1f} s a pair.",
            "",
            f"![contact sheet, {preset}](contact_{preset}.jpg)",
        ]
    return lines


def peers_lines(data: Data | None, float32: Data | None) -> list[str]:
    """The peer benchmark (benchmarks/peers.py): ours against Magenta and the tutorial, independent judges;
    then the float32 path's run of the same pairs (its table only), if stored."""
    lines = ["", "## Peers: ours against Magenta and the tutorial, on judges the engine does not optimise", ""]
    if data is None:
        return lines + ["Not measured: `python -m benchmarks.peers`."]
    from .peers import markdown, table_lines

    lines += markdown(data, "contact_peers.jpg")
    lines += ["", "### The same pairs on the float32 path", ""]
    if float32 is None:
        return lines + [f"Not measured: `{FLOAT32_PEERS}`, then copy its peers.json to results/peers_float32.json."]
    return lines + [
        f"`{FLOAT32_PEERS}` ({float32['machine']['cpu']}, "
        f"with {', '.join(f for f, has in float32['machine']['flags'].items() if has) or 'none of the flags'}; "
        f"precision path {float32['precision']}; load average before / after "
        f"{float32['load_average']['before'][0]:.2f} / {float32['load_average']['after'][0]:.2f}; "
        f"one tutorial step: {float32.get('tutorial_step_s') or float('nan'):.2f} s, measured in this run).",
        "",
        *table_lines(float32),
    ]


FLOAT32_PEERS = "STYLE_TRANSFER_PRECISION=float32 python -m benchmarks.peers --only ours_30s,fast,balanced,magenta"


def optimizer_lines(data: Data | None) -> list[str]:
    """The optimiser study (benchmarks/optimizer_study.py), from its stored results."""
    lines = ["", "## Optimiser study: the tutorial objective at 256 px, single scale, per evaluation", ""]
    if data is None:
        return lines + ["Not measured: `python -m benchmarks.run --only optimizer_study`."]
    log = common.tutorial_log("untrained", 256)
    tutorial = {r["step"]: r["total"] for r in log}
    shown = [n for n in (25, 50, 100, 200) if n <= data["evals"]]
    lines.append(
        f"Stored results of {data['machine']['date']} on the seeded untrained weights; `benchmarks.run` does "
        "not re-run this study (`--only optimizer_study` does). One evaluation (loss and gradient) costs one "
        "tutorial step."
    )
    rows = [["tutorial Adam (its log)"] + [f"{tutorial[n]:.4g}" if n in tutorial else "" for n in shown]]
    if log:
        rows[0].append(f"at {log[-1]['step']}: {log[-1]['style']:.3g} / {log[-1]['content']:.3g} / {log[-1]['tv']:.3g}")
    for name, curve in data["curves_256"].items():
        values, last = dict((n, v) for n, v in curve), curve[-1][1]
        row = [name] + [f"{values[n]['total']:.4g}" if n in values else "" for n in shown]
        rows.append(row + [f"{last['style']:.3g} / {last['content']:.3g} / {last['tv']:.3g}"])
    header = ["variant"] + [f"after {n}" for n in shown] + ["style / content / tv at the end"]
    return lines + [""] + table(header, rows) + ["", "![objective per evaluation](optimizer_study.png)"]


def main() -> None:
    per_path = {name: {p: common.load(f"{name}.{p}") for p in common.PRECISIONS} for name in TIMING}
    studies = {name: common.load(name) for name in STUDIES}
    stored = {f"{n}.{p}": d for n, by in per_path.items() for p, d in by.items() if d}
    stored |= {n: d for n, d in studies.items() if d}
    lines = ["# Benchmark results", "", *machine_lines(stored)]
    lines += targets_lines(per_path["targets"]) + step_time_lines(per_path["step_time"])
    lines += memory_lines(per_path["memory"]) + check_lines(studies["check_objective"])
    lines += convergence_lines(studies["convergence"]) + coarse_lines(studies["coarse_to_fine"])
    lines += (
        param_lines(studies["param_study"])
        + quality_lines(studies["quality"])
        + peers_lines(studies["peers"], studies["peers_float32"])
    )
    lines += optimizer_lines(studies["optimizer_study"]) + runs_lines(stored)
    if studies["convergence"]:
        plot_convergence(studies["convergence"])
    if studies["param_study"]:
        plot_params(studies["param_study"])
    notes = common.HERE / "NOTES.md"
    text = "\n".join(lines) + "\n" + ("\n" + notes.read_text() if notes.exists() else "")
    common.OUT.mkdir(parents=True, exist_ok=True)
    (common.OUT / "RESULTS.md").write_text(text)
    print(f"wrote {common.OUT / 'RESULTS.md'}")


if __name__ == "__main__":
    main()
