"""The load test's short form (benchmarks/loadtest.py --short) holds its invariants.

Runs the script as a subprocess: it serves app.py on 127.0.0.1 in a process of its own,
drives 8 gradio_client sessions for 30 s, then 20 sequential runs, and stops by itself.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_short_load_test_holds_its_invariants(tmp_path):
    report_path = tmp_path / "load.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "loadtest.py"), "--short", "--json", str(report_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=480,
    )
    assert report_path.exists(), f"no report (exit {done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    report = json.loads(report_path.read_text())
    print(done.stdout)

    burst = report["burst"]
    assert burst["completed"] == burst["expected_accepted"] == report["queue_size"], burst
    assert burst["rejected"] == burst["submitted"] - report["queue_size"], burst
    assert report["jobs_failed"] == 0, (report["burst"]["failures"], report["sustained"]["failures"])
    assert report["sustained"]["completed"] > 0 and report["sustained"]["cancelled"] > 0
    assert report["jobs_rejected"] > 0, "no job met a full queue: the queue limit was not exercised"
    messages = {**burst["queue_full_messages"], **report["sustained"]["queue_full_messages"]}
    assert messages and all("Queue is full" in message for message in messages), messages
    assert not report["log_problems"], report["log_problems"]
    assert report["leak"]["ok"], report["leak"]
    assert report["server_exit_code"] == 0
    assert report["ok"] and done.returncode == 0, done.stdout
