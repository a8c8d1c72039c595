"""Run the benchmarks one process at a time (2 cores: never two heavy ones at once), then the report.

    python -m benchmarks.run [--quick] [--only MODULE ...]

Timing benchmarks (step_time, targets, memory) run twice: on the default precision path
(bfloat16 where the CPU has AVX512_BF16 or AMX) and with STYLE_TRANSFER_PRECISION=float32;
on a CPU without native bfloat16 the default is float32 and they run once. The studies
(check_objective, convergence, coarse_to_fine, param_study, quality, peers) run once, on the
default path: the tutorial objective always computes in float32, and quality is judged by eye
and by the peer benchmark's independent judges (peers needs requirements-bench.txt).
The optimiser study is not re-run (the report shows its stored results) unless named in --only.

--quick: tiny sizes and few steps, into benchmarks/quick/ (its own results and RESULTS.md),
so a smoke run never overwrites the stored results. --only: just these modules, then the report.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import time
from dataclasses import dataclass

from . import common


@dataclass(frozen=True)
class Job:
    module: str
    full: tuple[str, ...] = ()
    quick: tuple[str, ...] | None = ()  # None: left out of --quick
    per_path: bool = False  # a timing benchmark: once per precision path
    by_default: bool = True  # False: only when named in --only


JOBS = (
    Job("check_objective", quick=("--size", "128")),
    Job("step_time", ("--sizes", "128", "256", "512", "1024"), ("--sizes", "128", "--repeat", "1"), True),
    Job("targets", quick=("--size", "128", "--budgets", "5", "5", "--estimate-sizes", "128"), per_path=True),
    Job("memory", ("--sizes", "512", "1024", "2048"), ("--sizes", "128"), True),
    Job("convergence", quick=("--sizes", "256", "--presets", "fast")),
    Job("coarse_to_fine", quick=("--size", "128", "--steps", "5", "2", "3")),
    Job("param_study", quick=("--sizes", "128", "--steps", "8")),
    Job("quality", quick=("--presets", "fast", "--size", "128")),
    Job("peers", quick=("--quick",)),
    Job("optimizer_study", quick=None, by_default=False),
)


def environments(base: dict[str, str]) -> dict[str, dict[str, str]]:
    """The environment of each precision path: the default one, and float32 where that differs."""
    default = {k: v for k, v in base.items() if k != "STYLE_TRANSFER_PRECISION"}
    paths = {"default": default}
    if common.native_bfloat16():
        paths["float32"] = default | {"STYLE_TRANSFER_PRECISION": "float32"}
    return paths


def run_job(job: Job, args: list[str], path: str, env: dict[str, str]) -> None:
    print(f"== {job.module} {' '.join(args)} [{path} precision]", flush=True)
    start = time.perf_counter()
    subprocess.run([common.python(), "-m", f"benchmarks.{job.module}", *args], check=True, cwd=common.ROOT, env=env)
    print(f"== {job.module} [{path}] took {time.perf_counter() - start:.0f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a smoke run into benchmarks/quick/ (a few minutes)")
    parser.add_argument("--only", nargs="+", metavar="MODULE", choices=[job.module for job in JOBS])
    args = parser.parse_args()
    base = dict(os.environ)
    if args.quick:
        base["STYLE_BENCH_OUT"] = str(common.HERE / "quick")
    paths = environments(base)
    for job in JOBS:
        chosen = job.module in args.only if args.only else job.by_default
        if not chosen or (args.quick and job.quick is None):
            continue
        job_args = list(job.quick if args.quick and job.quick is not None else job.full)
        for path, env in paths.items() if job.per_path else [("default", paths["default"])]:
            run_job(job, job_args, path, env)
    subprocess.run([common.python(), "-m", "benchmarks.report"], check=True, cwd=common.ROOT, env=paths["default"])


if __name__ == "__main__":
    main()
