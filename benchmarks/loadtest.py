"""Load test: many gradio_client sessions against app.py, then a sequential leak check.

Loopback only (127.0.0.1), bounded in job count and time; the server is a subprocess
that stops when this script ends (its stdin closes) or after a hard time limit.

Long form (a few minutes; run it before a release and put its figures in the notes)::

    .venv/bin/python benchmarks/loadtest.py

CI short form (a minute or two; tests/test_load.py runs it)::

    .venv/bin/python benchmarks/loadtest.py --short --json out.json

Phases, all on untrained weights with small jobs (64 px, 4 steps):

1. burst: while one long job holds the only worker, N sessions submit at once: exactly
   ``queue-size`` are queued and the rest get Gradio's queue-full message; then the long
   job is cancelled and every queued job must complete.
2. sustained: N sessions submit jobs back to back for ``--duration`` seconds (every
   fifth job is cancelled after its first frame): every accepted job completes or is
   cancelled, jobs refused for a full queue are counted, nothing else fails.
3. leak: ``--leak-runs`` sequential jobs from one session: the server's RSS after all of
   them stays within 10% of its RSS after the first 5.

The server's log (stderr) must contain no traceback or exception. Exit status 0 when
every invariant holds, 1 otherwise. Figures: jobs run/rejected/failed/cancelled, RSS at
start and end, RSS after 5 and after ``--leak-runs`` sequential runs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SIZE, STEPS, BLOCKER_STEPS = 64, 4, 2000
CANCEL_EVERY = 5
LEAK_BASE_RUNS, LEAK_TOLERANCE = 5, 0.10
LOG_PROBLEM = re.compile(r"Traceback|Exception|\bERROR\b|\bCRITICAL\b")


# ---------------------------------------------------------------- the server (a subprocess)


def serve(port: int, queue_size: int, max_seconds: float) -> None:
    """Launch app.py's demo on 127.0.0.1:port; stop when stdin closes or after max_seconds."""
    import logging

    sys.path.insert(0, str(ROOT))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from style_transfer.service.runner import Runner
    from style_transfer.settings import OperatorSettings
    from style_transfer.web import layout

    # No step cap: the blocker job is a deliberately long run (2000 steps at 64 px). No share per client:
    # every simulated visitor connects from 127.0.0.1, so to the server they are all one client.
    runner = Runner(
        OperatorSettings(weights="untrained", queue_size=queue_size, concurrency=1, max_steps=0, runs_per_client=0)
    )
    demo = layout.build_demo(runner)
    demo.launch(
        prevent_thread_lock=True,
        server_name="127.0.0.1",
        server_port=port,
        quiet=True,
        ssr_mode=False,
        **layout.launch_options(runner.settings),  # the upload limits main() launches with
    )
    print("READY", flush=True)
    stdin_closed = threading.Event()

    def wait_for_stdin_to_close() -> None:
        sys.stdin.read()
        stdin_closed.set()

    threading.Thread(target=wait_for_stdin_to_close, daemon=True).start()
    stdin_closed.wait(max_seconds)
    demo.close()


class Server:
    def __init__(self, queue_size: int, workdir: Path, max_seconds: float):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/"
        self.temp_dir = workdir / "gradio"
        self.log_path = workdir / "server.log"
        env = {**os.environ, "GRADIO_TEMP_DIR": str(self.temp_dir), "GRADIO_ANALYTICS_ENABLED": "False"}
        env |= {"HF_HUB_OFFLINE": "1", "STYLE_TRANSFER_WEIGHTS": "untrained", "PYTHONUNBUFFERED": "1"}
        self.log = self.log_path.open("w")
        command = [sys.executable, __file__, "--serve", str(self.port), str(queue_size), str(max_seconds)]
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True, env=env, cwd=ROOT
        )

    def wait_ready(self, timeout: float) -> None:
        ready = threading.Event()
        stdout = self.process.stdout
        assert stdout is not None  # Popen(stdout=PIPE)

        def read_ready_line() -> None:
            if "READY" in stdout.readline():
                ready.set()

        threading.Thread(target=read_ready_line, daemon=True).start()
        if not ready.wait(timeout):
            raise RuntimeError(f"server not ready after {timeout:g} s; see {self.log_path}")

    def rss_mib(self) -> float:
        import psutil

        return psutil.Process(self.process.pid).memory_info().rss / 2**20

    def stop(self) -> int:
        assert self.process.stdin is not None  # Popen(stdin=PIPE)
        self.process.stdin.close()  # the server closes itself when its stdin ends
        try:
            return self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(10)
        finally:
            self.log.close()

    def log_problems(self) -> list[str]:
        return [line.rstrip() for line in self.log_path.read_text().splitlines() if LOG_PROBLEM.search(line)]


# ---------------------------------------------------------------- the clients


@dataclass
class Tally:
    completed: int = 0
    cancelled: int = 0
    rejected: int = 0
    failed: int = 0
    failures: list[str] = field(default_factory=list)
    queue_full_messages: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, outcome: str, detail: str = "") -> None:
        with self.lock:
            setattr(self, outcome, getattr(self, outcome) + 1)
            if outcome == "failed":
                self.failures.append(detail[:300])
            if outcome == "rejected":
                self.queue_full_messages[detail] += 1


class Session:
    """One visitor: its own gradio_client.Client (its own session hash)."""

    def __init__(self, server: Server, images: tuple[str, str], downloads: Path):
        from gradio_client import Client

        self.client = Client(server.url, verbose=False, download_files=str(downloads))
        self.images = images

    def submit(self, steps: int = STEPS):
        from gradio_client import handle_file

        content, style = self.images
        return self.client.submit(
            handle_file(content), handle_file(style), size=SIZE, preset="fast", steps=steps, api_name="/stylize"
        )


def outcome_of(job, timeout: float) -> tuple[str, str]:
    """Wait for a job: ('completed'|'rejected'|'failed', detail)."""
    from gradio_client.utils import QueueError
    from PIL import Image

    try:
        result = job.result(timeout=timeout)
    except QueueError as error:
        return "rejected", str(error)
    except Exception as error:  # anything else is a failure the report shows
        return "failed", f"{type(error).__name__}: {error}"
    with Image.open(result[0]) as image:  # (image, progress, chart, download)
        if max(image.size) != SIZE:
            return "failed", f"final image is {image.size}, expected a long side of {SIZE}"
    return "completed", ""


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.05)  # polling interval: the condition decides


def burst(operator: Session, sessions: list[Session], queue_size: int) -> dict[str, Any]:
    """All sessions submit at once while the operator's long job holds the only worker."""
    from gradio_client.utils import Status

    blocker = operator.submit(steps=BLOCKER_STEPS)
    wait_for(lambda: blocker.outputs(), 180, "the long job to stream")
    jobs = [session.submit() for session in sessions]
    settled = {Status.IN_QUEUE, Status.PROCESSING, Status.ITERATING, Status.FINISHED, Status.QUEUE_FULL}
    wait_for(lambda: all(job.done() or job.status().code in settled for job in jobs), 120, "the burst to be queued")
    blocker.cancel()
    tally = Tally()
    for job in jobs:
        tally.add(*outcome_of(job, 600))
    accepted = tally.completed + tally.failed
    expected_accepted = min(queue_size, len(jobs))
    return {
        "submitted": len(jobs),
        "completed": tally.completed,
        "rejected": tally.rejected,
        "failed": tally.failed,
        "failures": tally.failures,
        "queue_full_messages": dict(tally.queue_full_messages),
        "expected_accepted": expected_accepted,
        "ok": accepted == expected_accepted and tally.failed == 0 and tally.rejected == len(jobs) - expected_accepted,
    }


def sustained(sessions: list[Session], duration: float) -> dict[str, Any]:
    """Each session submits back to back until the deadline; every fifth job is cancelled mid-run."""
    tally = Tally()
    deadline = time.monotonic() + duration

    def visitor(session: Session) -> None:
        submitted = 0
        while time.monotonic() < deadline:
            job = session.submit()
            submitted += 1
            if submitted % CANCEL_EVERY == 0:
                try:
                    wait_for(lambda job=job: job.outputs() or job.done(), 600, "a frame to cancel after")
                except RuntimeError as error:
                    tally.add("failed", str(error))
                    continue
                if not job.done():
                    job.cancel()
                    wait_for(job.done, 60, "the cancelled job to end")
                    tally.add("cancelled")
                    continue
            outcome, detail = outcome_of(job, 600)
            tally.add(outcome, detail)
            if outcome == "rejected":
                time.sleep(0.5)  # pacing: a refused visitor waits a moment before trying again

    threads = [threading.Thread(target=visitor, args=(s,)) for s in sessions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(duration + 900)
    return {
        "completed": tally.completed,
        "cancelled": tally.cancelled,
        "rejected": tally.rejected,
        "failed": tally.failed,
        "failures": tally.failures[:10],
        "queue_full_messages": dict(tally.queue_full_messages),
        "ok": tally.failed == 0 and all(not t.is_alive() for t in threads),
    }


def leak(server: Server, session: Session, runs: int) -> dict[str, Any]:
    rss: list[float] = []
    failures = []
    for _ in range(runs):
        outcome, detail = outcome_of(session.submit(), 600)
        if outcome != "completed":
            failures.append(detail or outcome)
        rss.append(server.rss_mib())
    base, last = rss[LEAK_BASE_RUNS - 1], rss[-1]
    return {
        "runs": runs,
        "rss_after_5_mib": round(base, 1),
        f"rss_after_{runs}_mib": round(last, 1),
        "growth": round(last / base - 1, 4),
        "failures": failures,
        "ok": not failures and last <= base * (1 + LEAK_TOLERANCE),
    }


def write_images(folder: Path) -> tuple[str, str]:
    import numpy as np
    from PIL import Image

    paths = []
    for name, seed in (("content.png", 1), ("style.png", 2)):
        pixels = np.random.default_rng(seed).integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)
        Image.fromarray(pixels, "RGB").save(folder / name)
        paths.append(str(folder / name))
    return paths[0], paths[1]


def run(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="loadtest-"))
    images = write_images(workdir)
    budget = args.duration + 60 * 20  # hard stop for the server, whatever happens here
    server = Server(args.queue_size, workdir, budget)
    report: dict[str, Any] = {"sessions": args.sessions, "queue_size": args.queue_size, "duration_s": args.duration}
    started = time.monotonic()
    try:
        server.wait_ready(300)
        report["rss_launch_mib"] = round(server.rss_mib(), 1)
        # The visitors, and one more session for the warm-up, the burst's long job and the leak runs.
        operator, *sessions = [Session(server, images, workdir / "downloads") for _ in range(args.sessions + 1)]
        outcome_of(operator.submit(), 600)  # warm-up: traces and compiles
        report["rss_start_mib"] = round(server.rss_mib(), 1)
        report["burst"] = burst(operator, sessions, args.queue_size)
        report["sustained"] = sustained(sessions, args.duration)
        report["rss_end_of_load_mib"] = round(server.rss_mib(), 1)
        report["leak"] = leak(server, operator, args.leak_runs)
        report["rss_end_mib"] = round(server.rss_mib(), 1)
    finally:
        report["server_exit_code"] = server.stop()
        report["log_problems"] = server.log_problems()[:20]
        report["server_log"] = str(server.log_path)
        report["wall_s"] = round(time.monotonic() - started, 1)
    totals = [report["burst"], report["sustained"]]
    report["jobs_run"] = sum(p["completed"] for p in totals) + report["leak"]["runs"] + 1
    report["jobs_rejected"] = sum(p["rejected"] for p in totals)
    report["jobs_failed"] = sum(p["failed"] for p in totals) + len(report["leak"]["failures"])
    report["jobs_cancelled"] = report["sustained"]["cancelled"] + 1  # + the burst's long job
    messages = {**report["burst"]["queue_full_messages"], **report["sustained"]["queue_full_messages"]}
    report["ok"] = (
        report["burst"]["ok"]
        and report["sustained"]["ok"]
        and report["leak"]["ok"]
        and not report["log_problems"]
        and all("Queue is full" in message for message in messages)
    )
    return report


def summary(report: dict[str, Any]) -> str:
    leak_report = report["leak"]
    runs = leak_report["runs"]
    return "\n".join(
        [
            f"load test: {report['sessions']} sessions, queue size {report['queue_size']}, "
            f"{report['duration_s']:g} s sustained, {report['wall_s']:g} s in all",
            f"jobs run {report['jobs_run']}, rejected (queue full) {report['jobs_rejected']}, "
            f"failed {report['jobs_failed']}, cancelled {report['jobs_cancelled']}",
            f"burst: {report['burst']['completed']} of {report['burst']['submitted']} queued and completed "
            f"(expected {report['burst']['expected_accepted']}), {report['burst']['rejected']} refused",
            f"RSS: {report['rss_launch_mib']} MiB at launch, {report['rss_start_mib']} after warm-up, "
            f"{report['rss_end_of_load_mib']} after the load, {report['rss_end_mib']} at the end",
            f"leak: RSS {leak_report['rss_after_5_mib']} MiB after 5 runs, {leak_report[f'rss_after_{runs}_mib']} "
            f"after {runs} ({leak_report['growth']:+.1%}; limit +{LEAK_TOLERANCE:.0%})",
            f"server log problems: {len(report['log_problems'])}; exit code {report['server_exit_code']}",
            "OK" if report["ok"] else "FAILED",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    if argv is None and len(sys.argv) > 1 and sys.argv[1] == "--serve":
        serve(int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--short", action="store_true", help="CI form: 30 s sustained load, 20 leak runs")
    parser.add_argument("--sessions", type=int, default=8, help="concurrent gradio_client sessions")
    parser.add_argument("--queue-size", type=int, default=4, help="the server's queue size (max waiting jobs)")
    parser.add_argument("--duration", type=float, help="seconds of sustained load (default 240; --short 30)")
    parser.add_argument("--leak-runs", type=int, help="sequential runs for the leak check (default 50; --short 20)")
    parser.add_argument("--json", type=Path, help="also write the report here as JSON")
    args = parser.parse_args(argv)
    args.duration = args.duration or (30.0 if args.short else 240.0)
    args.leak_runs = args.leak_runs or (20 if args.short else 50)
    if args.leak_runs <= LEAK_BASE_RUNS or args.sessions < 2:
        parser.error(f"--leak-runs must be over {LEAK_BASE_RUNS} and --sessions at least 2")
    report = run(args)
    print(summary(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=str))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
