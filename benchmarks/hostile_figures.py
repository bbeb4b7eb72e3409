"""Figures for the hostile-bundle suite (issue 7 part 1): crashes, leaks, time and peak memory.

Each hostile input of tests/hostile_builders.py (absolute and ../ names, links out, devices,
fifos, duplicates, 100,000 tiny members, gzip and zip bombs, nested archives, a truncated gzip, a
corrupt header mid-archive, non-UTF-8/NUL, a 10 MB line, CRLF, an empty archive...) is built in
its own folder, then ``podmortem analyze BUNDLE --format json -o OUT/report.json`` runs on it in a
subprocess whose working directory, $TMPDIR and $HOME are fresh empty folders of that case.
Checked for each:

- exit code 0 or 2 (as the input calls for), no traceback on stderr, within --timeout;
- a clear warning: the expected word in the report's warnings or skipped-file notes (or the one
  stderr line when the input is refused);
- no write outside OUT: the case folder (bundle, cwd, tmp, home) is listed before and after, and
  no file named like the case's random canary (hostile members are called ``/tmp/canary-<hex>``,
  ``../../canary-<hex>``) exists anywhere under /tmp or the case folder afterwards;
- what was readable before the fault is analyzed: the planted kernel OOM (pid 4242) is an incident;
- peak RSS of the analyzer process (os.wait4 rusage, through a small spawner: see SPAWNER), wall time.

Run: ``.venv/bin/python benchmarks/hostile_figures.py [--quick] [--only WORD] [--keep]``.
``--quick`` shrinks the slow inputs (10,000 members, 512 MiB bombs). Targets: 0 crashes, 0 leaks,
peak RSS under 200 MB. Exit code 0 when every case passes, 1 otherwise.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.hostile_builders import (  # noqa: E402
    HOSTILE,
    OOM_PID,
    Hostile,
    build_gzip_bomb,
    build_long_line,
    build_many_members,
    build_zip_bomb,
    new_canary,
)

PODMORTEM = ROOT / ".venv" / "bin" / "podmortem"
RSS_TARGET_MB = 200


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """path -> (size, mtime_ns) of everything under folder (links not followed)."""
    seen = {}
    for top, dirs, files in os.walk(folder, followlinks=False):
        for name in dirs + files:
            full = Path(top) / name
            try:
                info = full.lstat()
            except OSError:
                continue
            seen[str(full.relative_to(folder))] = (info.st_size, info.st_mtime_ns)
    return seen


def _canaries(canary: str, roots: list[Path], skip: Path) -> list[str]:
    """Files named like the canary under roots (the input folder itself is skipped: a directory bundle holds one)."""
    found = []
    for root in roots:
        for top, dirs, files in os.walk(root, followlinks=False, onerror=lambda e: None):
            if Path(top) == skip:
                dirs[:] = []
                continue
            found += [str(Path(top) / n) for n in dirs + files if canary in n]
    return found


# Linux starts a child's peak RSS at its parent's RSS (dup_mm sets hiwater_rss, exec keeps the max), and this
# script grows (bomb builders, 15 MB reports read back). So analyzers are started by a small spawner process
# forked at the start, whose own RSS (~10 MB) is the floor of every figure instead of ours.
SPAWNER = r"""
import json, os, subprocess, sys, time
for line in sys.stdin:
    job = json.loads(line)
    with open(job["stdout"], "wb") as out, open(job["stderr"], "wb") as err:
        began = time.monotonic()
        child = subprocess.Popen(job["argv"], cwd=job["cwd"], env=job["env"], stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        code = None
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid == child.pid:
                code = os.waitstatus_to_exitcode(status)
                break
            if time.monotonic() - began > job["timeout"]:
                child.kill()
                _, status, usage = os.wait4(child.pid, 0)
                break
            time.sleep(0.01)
        child.returncode = code if code is not None else -9
    print(json.dumps({"code": code, "seconds": time.monotonic() - began, "maxrss_kb": usage.ru_maxrss}), flush=True)
"""


class Spawner:
    def __init__(self) -> None:
        self.process = subprocess.Popen([sys.executable, "-S", "-c", SPAWNER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def run(self, argv: list[str], cwd: Path, env: dict, stdout: Path, stderr: Path, timeout: float) -> dict:
        job = {"argv": argv, "cwd": str(cwd), "env": env, "stdout": str(stdout), "stderr": str(stderr), "timeout": timeout}
        self.process.stdin.write(json.dumps(job) + "\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait()


def _run(spawner: Spawner, bundle: Path, case: Path, timeout: float) -> tuple[int | None, float, float, str]:
    """(exit code or None on timeout, seconds, peak RSS MB, stderr) of podmortem analyze in its own cwd/tmp/home."""
    cwd, tmp, home, out = (case / n for n in ("cwd", "tmp", "home", "out"))
    env = {**os.environ, "TMPDIR": str(tmp), "HOME": str(home), "PYTHONDONTWRITEBYTECODE": "1"}
    argv = [str(PODMORTEM), "analyze", str(bundle), "--format", "json", "-o", str(out / "report.json")]
    done = spawner.run(argv, cwd, env, case / "stdout.txt", case / "stderr.txt", timeout)
    return done["code"], done["seconds"], done["maxrss_kb"] / 1024, (case / "stderr.txt").read_text(errors="replace")


def _warning_seen(hostile: Hostile, report: dict | None, stderr: str) -> str | None:
    """The first message that names the fault (report warnings, skipped-file notes, or stderr)."""
    messages = []
    if report is not None:
        bundle = report.get("bundle", {})
        messages += [f"{w.get('message')} ({w.get('file')})" if w.get("file") else str(w.get("message")) for w in bundle.get("warnings", [])]
        messages += [f"skipped {f.get('path')}: {f.get('note')}" for f in bundle.get("files_read", []) if f.get("status") == "skipped"]
    messages += [line for line in stderr.splitlines() if line.strip()]
    if hostile.warning is None:
        return messages[0] if messages else None
    return next((m for m in messages if hostile.warning in m), None)


def run_case(spawner: Spawner, hostile: Hostile, work: Path, timeout: float) -> dict:
    case = work / hostile.build.__name__ if not isinstance(hostile.build, partial) else work / hostile.build.func.__name__
    case.mkdir()
    canary = new_canary()
    (case / "input").mkdir()
    bundle = hostile.build(case / "input", canary)
    for name in ("cwd", "tmp", "home", "out"):  # fresh and empty: the child's working directory, $TMPDIR, $HOME, -o folder
        (case / name).mkdir()
    (case / "stdout.txt").touch()
    (case / "stderr.txt").touch()
    before = _snapshot(case)
    code, took, rss_mb, stderr = _run(spawner, bundle, case, timeout)
    after = _snapshot(case)
    ours = ("out", "stdout.txt", "stderr.txt")  # what the run may write: the report folder and what we capture
    written = sorted(p for p in set(after) - set(before) if p.split("/")[0] not in ours)
    changed = sorted(p for p in set(before) & set(after) if before[p] != after[p] and p.split("/")[0] not in ours)
    leaks = written + changed + _canaries(canary, [Path("/tmp"), case], skip=case / "input" / "dir-bundle")
    report = None
    report_path = case / "out" / "report.json"
    if report_path.exists():
        try:
            report = json.loads(report_path.read_bytes())
        except ValueError:
            report = None
    warning = _warning_seen(hostile, report, stderr)
    problems = []
    if code is None:
        problems.append(f"timeout after {timeout:g} s")
    elif code not in hostile.exit_codes:
        problems.append(f"exit {code}, expected {hostile.exit_codes}")
    if "Traceback" in stderr:
        problems.append("traceback on stderr")
    if code == 2 and len([line for line in stderr.splitlines() if line.strip()]) != 1:
        problems.append("refusal is not one stderr line")
    if hostile.warning is not None and warning is None:
        problems.append(f"no warning naming '{hostile.warning}'")
    if leaks:
        problems.append(f"wrote outside OUT: {leaks[:3]}")
    if hostile.planted:
        pids = {(i.get("victim") or {}).get("pid") for i in (report or {}).get("incidents", [])}
        if OOM_PID not in pids:
            problems.append(f"planted OOM (pid {OOM_PID}) not in the report")
        if 777 in pids:
            problems.append("a nested archive was opened (pid 777)")
    if rss_mb > RSS_TARGET_MB:
        problems.append(f"peak RSS {rss_mb:.0f} MB > {RSS_TARGET_MB}")
    crashed = code is None or code not in (0, 2) or "Traceback" in stderr
    return {
        "input": hostile.name, "exit": code, "seconds": took, "rss_mb": rss_mb, "warning": warning or "-",
        "problems": problems, "crashed": crashed, "leaks": leaks,
        "bundle_mb": _size(bundle) / 1024**2, "report_mb": report_path.stat().st_size / 1024**2 if report_path.exists() else 0.0,
    }


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.lstat().st_size for p in path.rglob("*"))
    return path.stat().st_size


def suite(quick: bool) -> list[Hostile]:
    if not quick:
        return list(HOSTILE)
    smaller = {
        build_many_members: partial(build_many_members, count=10_000),
        build_gzip_bomb: partial(build_gzip_bomb, size=512 * 1024**2),
        build_zip_bomb: partial(build_zip_bomb, size=512 * 1024**2),
        build_long_line: build_long_line,
    }
    return [Hostile(h.name, smaller.get(h.build, h.build), h.warning, h.planted, h.exit_codes, h.slow) for h in HOSTILE]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller slow inputs (10,000 members, 512 MiB bombs)")
    parser.add_argument("--only", default=None, help="only inputs whose name contains this")
    parser.add_argument("--timeout", type=float, default=600.0, help="per input (default 600 s)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (bundles, reports, stderr)")
    args = parser.parse_args()
    if not PODMORTEM.exists():
        print(f"{PODMORTEM} not found: create the venv first (README)", file=sys.stderr)
        return 2
    cases = [h for h in suite(args.quick) if args.only is None or args.only in h.name]
    work = Path(tempfile.mkdtemp(prefix="podmortem-hostile-"))
    spawner = Spawner()
    rows = []
    print(f"hostile suite: {len(cases)} inputs; work folder {work}\n", flush=True)
    print(f"{'input':40} {'exit':>4} {'seconds':>8} {'RSS MB':>7} {'bundle MB':>9} {'report MB':>9}  {'result':6} warning")
    try:
        for hostile in cases:
            row = run_case(spawner, hostile, work, args.timeout)
            rows.append(row)
            result = "pass" if not row["problems"] else "FAIL"
            print(f"{row['input'][:40]:40} {str(row['exit']):>4} {row['seconds']:8.2f} {row['rss_mb']:7.0f} {row['bundle_mb']:9.2f} "
                  f"{row['report_mb']:9.2f}  {result:6} {row['warning'][:90]}", flush=True)
            for problem in row["problems"]:
                print(f"{'':40} -> {problem}")
    finally:
        spawner.close()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    worst = max(rows, key=lambda r: r["rss_mb"])
    failed = [r for r in rows if r["problems"]]
    print(f"\nTOTAL inputs tried {len(rows)}, crashes {sum(r['crashed'] for r in rows)}, "
          f"leaks (writes outside the output path) {sum(bool(r['leaks']) for r in rows)}, "
          f"peak RSS {worst['rss_mb']:.0f} MB on '{worst['input']}' (target < {RSS_TARGET_MB} MB), "
          f"slowest {max(r['seconds'] for r in rows):.1f} s, failed checks {len(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
