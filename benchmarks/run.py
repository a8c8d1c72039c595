"""Run every benchmark, one process at a time (2 cores: never two heavy ones at once), then the report.

    python -m benchmarks.run [--quick]

--quick: step time to 512 px, presets at 512 px only, memory at 512 px, no long run.
"""

from __future__ import annotations

import argparse
import subprocess

from . import common

FULL = [
    ["check_objective"],
    ["step_time", "--sizes", "128", "256", "512", "1024"],
    ["presets"],
    ["memory", "--sizes", "512", "1024", "2048"],
    ["convergence", "--long-steps", "300"],
    ["optimizer_study"],
]
QUICK = [
    ["check_objective"],
    ["step_time", "--sizes", "128", "256", "512"],
    ["presets", "--quick"],
    ["memory", "--sizes", "512"],
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    for module, *rest in QUICK if args.quick else FULL:
        print(f"== {module} {' '.join(rest)}", flush=True)
        subprocess.run([common.python(), "-m", f"benchmarks.{module}", *rest], check=True, cwd=common.ROOT)
    subprocess.run([common.python(), "-m", "benchmarks.report"], check=True, cwd=common.ROOT)


if __name__ == "__main__":
    main()
