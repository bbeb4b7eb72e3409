"""Collector wall time and bundle size: the 110-pod fake node tree (v1 and v2) and this machine.

Run by hand: `.venv/bin/python benchmarks/collector_bench.py`. Prints figures; asserts nothing
about speed (targets from the issue: under 3 s and under 5 MB without logs).
"""
from __future__ import annotations

import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.lab import fake_node  # noqa: E402

COLLECTOR = ROOT / "collectors" / "node" / "podmortem-collect"


def run(shell: list[str], args: list[str]) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as out:
        began = time.monotonic()
        proc = subprocess.run([*shell, str(COLLECTOR), "--output", out, "--quiet", *args], capture_output=True, text=True, timeout=300)
        elapsed = time.monotonic() - began
        if proc.returncode != 0:
            raise SystemExit(f"collector failed: {proc.stderr}")
        return elapsed, Path(proc.stdout.strip()).stat().st_size


def main() -> None:
    shells = [s for s in (["dash"], ["busybox", "ash"], ["bash"]) if shutil.which(s[0])]
    print(f"machine: {platform.node()} {platform.machine()} kernel {platform.release()}, python {platform.python_version()}")
    print(f"{'case':38} {'shell':12} {'wall s':>8} {'bundle KiB':>11}")
    with tempfile.TemporaryDirectory() as tmp:
        for version in (1, 2):
            tree = Path(tmp) / f"v{version}"
            fake_node.build(tree, pods=110, containers=2, version=version)
            for shell in shells:
                wall, size = run(shell, ["--root", str(tree), "--max-seconds", "120"])
                print(f"{'fake node 110 pods x 2, cgroup v' + str(version):38} {' '.join(shell):12} {wall:8.2f} {size / 1024:11.1f}")
    for shell in shells:
        wall, size = run(shell, ["--max-seconds", "120"])
        print(f"{'this machine (--root /)':38} {' '.join(shell):12} {wall:8.2f} {size / 1024:11.1f}")


if __name__ == "__main__":
    main()
