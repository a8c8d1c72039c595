"""Check that the pinned requirements resolve to binary wheels on every platform TensorFlow supports.

For each target (macOS 14 arm64, Linux aarch64 and x86-64, x86-64 with an NVIDIA GPU, Windows x86-64;
Python 3.12, the Space's) this evaluates the requirement file's environment markers for that target
with packaging.markers, writes the pins that apply, and asks pip to resolve them from wheels for that
platform: ``pip install --dry-run --platform ...`` reads metadata only and installs nothing. Its own
marker evaluation would use the machine it runs on (x86-64 Linux), hence the first step. It still
does so for the dependencies' own dependencies: on these pins that only leaves out colorama (Windows
only, a pure-Python wheel) from the Windows set, measured by forcing pip's marker environment once.
Needs PyPI; run by .ci/run after the venv is made. Exits 1 if any target does not resolve.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
PYTHON = "3.12"  # the Space's python_version (README front matter)
GLIBC_MINORS = range(17, 29)  # manylinux_2_17 ... 2_28: glibc 2.28 and newer (Debian 10, RHEL 8 on)


@dataclass(frozen=True)
class Target:
    name: str
    requirements: str
    system: str  # platform.system() there: Darwin, Linux, Windows
    machine: str  # platform.machine() there
    platforms: tuple[str, ...]  # pip --platform tags

    def markers(self) -> dict[str, str]:
        """The marker environment of a CPython 3.12 on this target (PEP 508 names)."""
        return {
            "implementation_name": "cpython",
            "implementation_version": f"{PYTHON}.0",
            "os_name": "nt" if self.system == "Windows" else "posix",
            "platform_machine": self.machine,
            "platform_python_implementation": "CPython",
            "platform_release": "",
            "platform_system": self.system,
            "platform_version": "",
            "python_full_version": f"{PYTHON}.0",
            "python_version": PYTHON,
            "sys_platform": {"Darwin": "darwin", "Linux": "linux", "Windows": "win32"}[self.system],
        }


def manylinux(arch: str) -> tuple[str, ...]:
    return tuple(f"manylinux_2_{minor}_{arch}" for minor in GLIBC_MINORS) + (f"manylinux2014_{arch}",)


TARGETS = (
    Target("macOS 14 arm64", "requirements.txt", "Darwin", "arm64", ("macosx_14_0_arm64",)),
    Target("Linux aarch64", "requirements.txt", "Linux", "aarch64", manylinux("aarch64")),
    Target("Linux x86-64", "requirements.txt", "Linux", "x86_64", manylinux("x86_64")),
    Target("Linux x86-64 GPU", "requirements-gpu.txt", "Linux", "x86_64", manylinux("x86_64")),
    Target("Windows x86-64", "requirements.txt", "Windows", "AMD64", ("win_amd64",)),
)


def pins_for(target: Target) -> list[str]:
    """The requirement lines of the target's file that apply there, markers evaluated and dropped."""
    pins = []
    for line in (ROOT / target.requirements).read_text().splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("-"):  # -r / -c / --index-url: not evaluated here, so refuse to guess
            raise SystemExit(f"{target.requirements}: option lines are not supported here: {line}")
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate(target.markers()):
            requirement.marker = None
            pins.append(str(requirement))
    return pins


def resolve(target: Target, folder: Path) -> tuple[bool, str]:
    """Ask pip for the target's wheels; (ok, a one-line summary or pip's error)."""
    pins, report = folder / "pins.txt", folder / "report.json"
    pins.write_text("\n".join(pins_for(target)) + "\n")
    command = [sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--ignore-installed"]
    command += ["--only-binary=:all:", "--python-version", PYTHON, "--implementation", "cp"]
    command += [arg for tag in target.platforms for arg in ("--platform", tag)]
    command += ["--report", str(report), "-r", str(pins)]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        errors = [line for line in result.stderr.splitlines() if "ERROR" in line] or result.stderr.splitlines()
        return False, " | ".join(errors[-3:])
    installs = json.loads(report.read_text())["install"]
    tensorflow = [
        item["download_info"]["url"].rsplit("/", 1)[-1]
        for item in installs
        if item["metadata"]["name"].lower().replace("_", "-") in ("tensorflow", "tensorflow-cpu")
    ]
    return True, f"{len(installs)} wheels, {', '.join(tensorflow) or 'no TensorFlow?'}"


def check(target: Target) -> tuple[bool, str]:
    with tempfile.TemporaryDirectory(prefix="platforms-") as folder:
        start = time.monotonic()
        ok, summary = resolve(target, Path(folder))
    took = time.monotonic() - start
    status = "ok  " if ok else "FAIL"
    return ok, f"{status} {target.name} (Python {PYTHON}, {target.requirements}): {summary} [{took:.0f} s]"


def main() -> int:
    # All targets at once: pip mostly waits on PyPI here, so this keeps the check well under a minute.
    with ThreadPoolExecutor(max_workers=len(TARGETS)) as pool:
        results = list(pool.map(check, TARGETS))
    for _, line in results:
        print(line)
    return 0 if all(ok for ok, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
