"""Render benchmarks/RESULTS.md and benchmarks/convergence.png from benchmarks/results/*.json.

python -m benchmarks.report
"""

from __future__ import annotations

from pathlib import Path

from . import common

HERE = Path(__file__).resolve().parent


def _row(
    what: str, value: float | None, unit: str, ratio: float | None, target: str, ok: bool | None, missing="not measured"
) -> str:
    shown = missing if value is None else f"{value:.3g} {unit}"
    met = {True: "yes", False: "**no**", None: "n/a"}[ok]
    return f"| {what} | {shown} | {'' if ratio is None else f'{ratio:.3g}'} | {target} | {met} |"


def step_rows(data: dict) -> list[str]:
    rows = []
    for r in data["rows"]:
        ratio = r["step_s"] / r["tutorial_s"]
        what = f"step {r['size']}px, tutorial layers, {r['dtype']} (tutorial {r['tutorial_s']:.3g} s)"
        rows.append(_row(what, r["step_s"], "s", ratio, "<= 1.0", ratio <= 1.0 if r["size"] == 512 else None))
    return rows


def preset_rows(data: dict) -> list[str]:
    tut, rows = data["tutorial_512_s"], []
    limits = {("fast", 512): 4, ("balanced", 512): 12}
    for r in data["rows"]:
        key = (r["preset"], r["size"])
        ratio = r["wall_s"] / tut
        if key in limits:
            rows.append(
                _row(
                    f"`{r['preset']}` {r['size']}px wall",
                    r["wall_s"],
                    "s",
                    ratio,
                    f"<= {limits[key]}",
                    ratio <= limits[key],
                )
            )
        elif key == ("balanced", 1024):
            rows.append(_row("`balanced` 1024px wall", r["wall_s"], "s", ratio, "<= 240 s", r["wall_s"] <= 240))
        if r["size"] == 512 and r["preset"] == "balanced":
            rows.append(
                _row(
                    "first preview (balanced 512)", r["first_preview_s"], "s", None, "<= 2 s", r["first_preview_s"] <= 2
                )
            )
            rows.append(
                _row(
                    "longest gap between frames (balanced 512)",
                    r["max_frame_gap_s"],
                    "s",
                    None,
                    "<= 2 s",
                    r["max_frame_gap_s"] <= 2,
                )
            )
    cli = data["cli_s"] / tut
    rows.append(_row("CLI at defaults (process start + load + run)", data["cli_s"], "s", cli, "<= 12", cli <= 12))
    return rows


def estimate_rows(presets: dict | None, memory: dict | None) -> list[str]:
    from style_transfer import StyleConfig
    from style_transfer.estimate import estimate_run
    from style_transfer.image import load_image

    size = load_image(str(common.content_image()), "content").size
    precision = common.operator_settings().precision
    rows = []
    for r in (presets or {}).get("rows", []):
        if r["preset"] == "balanced":
            est = estimate_run(StyleConfig(size=r["size"]), size, precision).seconds
            error = est / r["wall_s"] - 1
            rows.append(
                _row(
                    f"estimate, balanced {r['size']}px ({est:.3g} s)",
                    r["wall_s"],
                    "s measured",
                    error,
                    "+-30%",
                    abs(error) <= 0.3,
                )
            )
    for r in (memory or {}).get("rows", []):
        est = estimate_run(StyleConfig(size=r["size"], steps=9), size, precision).peak_memory_bytes
        error = est / r["peak_rss_bytes"] - 1
        rows.append(
            _row(
                f"peak RSS {r['size']}px (estimate {est / 1e9:.2f} GB)",
                r["peak_rss_bytes"] / 1e9,
                "GB",
                error,
                "<= 8 GB at 2048",
                r["peak_rss_bytes"] <= 8e9 if r["size"] == 2048 else None,
            )
        )
    return rows


def convergence_rows(data: dict) -> list[str]:
    tut_1000 = 1000 * data["tutorial_256_step_s"]
    rows = []
    for run in data["runs_256"]:
        reach = run["time_to_tutorial_final_s"]
        ratio = None if reach is None else reach / (data["tutorial_256_steps"] * data["tutorial_256_step_s"])
        what = (
            f"time to the tutorial's step-{data['tutorial_256_steps']} objective ({data['tutorial_256_final']:.4g}), "
            f"`{run['preset']}` {run['steps']} steps at 256 (final {run['curve'][-1][1]:.4g})"
        )
        rows.append(
            _row(
                what, reach, "s", ratio, "<= 0.05 of the tutorial's time", ratio is not None and ratio <= 0.05, "never"
            )
        )
    rows += equal_value_rows(data)
    tut = data.get("tutorial_512_final")
    for preset in ("balanced", "best"):
        final = data.get(f"{preset}_512_final")
        if final is None:
            continue
        rows.append(
            _row(
                f"`{preset}` 512 final objective ({data[f'{preset}_512_wall_s']:.0f} s) vs tutorial's 500 steps",
                final,
                "",
                None if tut is None else final / tut,
                "ratio <= 1",
                None if tut is None else final <= tut,
            )
        )
    rows.append(f"| (tutorial 1000 steps at 256 = {tut_1000:.0f} s from its step time in this run) | | | | |")
    return rows


def equal_value_rows(data: dict) -> list[str]:
    """How much sooner each run reaches its own final value than the tutorial algorithm does."""
    log = common.tutorial_log(256)
    rows = []
    for run in data["runs_256"]:
        final_time, final = run["curve"][-1]
        reached = next((r["step"] for r in log if r["total"] <= final), None)
        if reached is None:
            continue
        tutorial_time = reached * data["tutorial_256_step_s"]
        what = (
            f"`{run['preset']}` {run['steps']} steps at 256 reaches {final:.4g}; the tutorial needs "
            f"{reached} steps ({tutorial_time:.0f} s) for that"
        )
        rows.append(_row(what, final_time, "s", final_time / tutorial_time, "(equal-value time ratio)", None))
    return rows


def study_lines(data: dict) -> list[str]:
    """The optimiser study (benchmarks/optimizer_study.py): objective per evaluation, and coarse-to-fine at 512."""
    log = common.tutorial_log(256)
    tutorial = {r["step"]: r["total"] for r in log}
    shown = [n for n in (25, 50, 100, 200) if n <= data["evals"]]
    lines = [
        "",
        "## Optimiser study: the tutorial objective at 256 px, single scale, per evaluation",
        "",
        "One evaluation (loss and gradient) costs one tutorial step. Target: "
        f"{tutorial[1000]:.4g}, the tutorial's value after 1000 steps, within 50 evaluations' time.",
        "",
        "| variant | " + " | ".join(f"after {n}" for n in shown) + " | style / content / tv at the end |",
        "| --- | " + " | ".join("---" for _ in shown) + " | --- |",
        "| tutorial Adam (its log) | "
        + " | ".join(f"{tutorial[n]:.4g}" if n in tutorial else "" for n in shown)
        + f" | at 1000: {log[-1]['style']:.3g} / {log[-1]['content']:.3g} / {log[-1]['tv']:.3g} |",
    ]
    for name, curve in data["curves_256"].items():
        values = dict((n, v) for n, v in curve)
        last = curve[-1][1]
        cells = " | ".join(f"{values[n]['total']:.4g}" if n in values else "" for n in shown)
        lines.append(f"| {name} | {cells} | {last['style']:.3g} / {last['content']:.3g} / {last['tv']:.3g} |")
    if data.get("coarse_to_fine_512"):
        lines += [
            "",
            "Coarse to fine at 512 px on the same objective (tutorial after 500 steps at 512: "
            f"{common.tutorial_log(512)[-1]['total']:.4g}):",
            "",
            "| schedule | objective at the start of 512 (content term) | final (style / content / tv) |",
            "| --- | --- | --- |",
        ]
        for name, r in data["coarse_to_fine_512"].items():
            start, final = r["start"], r["final"]
            lines.append(
                f"| {name} | {start['total']:.4g} ({start['content']:.3g}) | {final['total']:.4g} "
                f"({final['style']:.3g} / {final['content']:.3g} / {final['tv']:.3g}) |"
            )
    return lines + ["", "![objective per evaluation](optimizer_study.png)"]


def plot(data: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    log = common.tutorial_log(256)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.plot(
        [r["step"] * data["tutorial_256_step_s"] for r in log],
        [r["total"] for r in log],
        label="tutorial (Adam), 256px",
    )
    for run in data["runs_256"]:
        t, v = zip(*run["curve"])
        ax.plot(t, v, label=f"{run['preset']} {run['steps']} steps (full-size steps)")
    ax.set(
        xlabel="wall time, s (tutorial: steps x its step time in this run)",
        ylabel="tutorial objective at 256px",
        yscale="log",
    )
    ax.legend()
    fig.tight_layout()
    fig.savefig(HERE / "convergence.png", dpi=100)


def main() -> None:
    import style_transfer  # noqa: F401 (quiet TensorFlow import)

    names = ("check_objective", "step_time", "presets", "memory", "convergence", "optimizer_study")
    results = {name: common.load(name) for name in names}
    any_result = next((r for r in results.values() if r), {})
    m = any_result.get("machine", {})
    lines = [
        "# Benchmark results",
        "",
        f"Machine: {m.get('cpu')}, {m.get('cores')} cores, {m.get('memory_gb')} GB, "
        f"TensorFlow {m.get('tensorflow')}; {m.get('date')}; load average {m.get('load_average')}.",
        "",
        "Ratios divide by the tutorial step time measured in the same benchmark process (machine shared; load varies).",
        "",
        "| what | measured | ratio | target | met? |",
        "| --- | --- | --- | --- | --- |",
    ]
    if results["check_objective"]:
        c = results["check_objective"]
        lines.append(
            _row(
                f"engine `tutorial` objective vs Tutorial.loss, float32, {c['size']}px "
                f"(bfloat16: {c['bfloat16']['total']:.1e})",
                max(c["float32"].values()),
                "rel. diff",
                None,
                "<= 1e-4",
                c["passed"],
            )
        )
    for name, fn in (("step_time", step_rows), ("presets", preset_rows), ("convergence", convergence_rows)):
        data = results[name]
        if data:
            lines += fn(data)
    lines += estimate_rows(results["presets"], results["memory"])
    if results["convergence"]:
        plot(results["convergence"])
        lines += ["", "![objective vs wall time](convergence.png)"]
    if results["optimizer_study"]:
        lines += study_lines(results["optimizer_study"])
    (HERE / "RESULTS.md").write_text(
        "\n".join(lines) + "\n" + (HERE / "NOTES.md").read_text()
        if (HERE / "NOTES.md").exists()
        else "\n".join(lines) + "\n"
    )
    print(f"wrote {HERE / 'RESULTS.md'}")


if __name__ == "__main__":
    main()
