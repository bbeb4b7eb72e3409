"""Analyzer speed and memory on the SYNTHETIC benchmark bundles, beside the `zcat | grep` floor (issue 8).

Run by hand (prints figures; not a timed test):

    .venv/bin/python benchmarks/perf_bench.py [--only typical|big] [--repeat 3]

For each bundle of benchmarks/make_bundles.py (built, or reused from benchmarks/.cache/), in one run:

- ``podmortem analyze BUNDLE --format json -o OUT``: wall time and peak RSS (the venv's podmortem as
  a subprocess; peak RSS from ``os.wait4``'s rusage ``ru_maxrss``, KiB on Linux);
- the floor a user knows: ``tar -xzOf BUNDLE | grep -c -E 'Killed process|Kill process|eviction
  manager'``, wall time, and the ratio analyze / floor;
- ``python -c pass`` with the venv's interpreter, for reference (interpreter start);
- the decompressor child (analyzer/inflate_child.py, which inflates a compressed bundle on the other
  core) alone on the bundle: its peak RSS, added to the analyzer's for the memory target.

The project's bytecode is compiled first (``python -m compileall analyzer reports``: ``__pycache__``
folders, ignored by git), as ``pip install`` compiles an installed package: in an environment with
``PYTHONDONTWRITEBYTECODE=1`` (this project's machines set it) every run would otherwise compile
every module of the project from source, about 40 ms that no installed podmortem pays. (A
``PYTHONPYCACHEPREFIX`` would keep the tree clean but moves the bytecode of every library too: pydantic
and typer were then compiled on every run.)

Each is repeated N times and the median reported (the bundle is in the page cache after the first
read: these are warm figures). The report must match the sidecar's expected answers (number of
oom_kill incidents, their victim pids and pod UIDs, the evicted pods), so a fast wrong answer
cannot pass: a mismatch prints what differs and the script exits 1. Targets (issue 8): typical
bundle end to end under 0.5 s; big bundle at most 1.5x the floor; peak RSS under 120 MB (10^6
bytes) for both; each printed as PASS or MISS (a MISS alone does not change the exit status).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
import make_bundles  # noqa: E402

VENV_BIN = ROOT / ".venv" / "bin"
FLOOR_PATTERN = "Killed process|Kill process|eviction manager"
TYPICAL_WALL_S = 0.5
BIG_FLOOR_RATIO = 1.5
PEAK_RSS_BYTES = 120_000_000


# Children are started by a small spawner process, not by this script: a child's ru_maxrss counts the
# moments between fork and exec, when it is a copy of its parent, and this script holds the big report
# it has just checked (tens of MB), which a 10 MB child would then seem to use.
SPAWNER = r"""
import json, os, subprocess, sys, time
for line in sys.stdin:
    job = json.loads(line)
    began = time.perf_counter()
    child = subprocess.Popen(job["argv"], cwd=job["cwd"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - began
    print(json.dumps({"wall": wall, "maxrss_kb": usage.ru_maxrss, "code": os.waitstatus_to_exitcode(status),
                      "stderr": err[-4000:].decode(errors="replace")}), flush=True)
"""
_spawner: subprocess.Popen | None = None


def run_measured(argv: list[str], cwd: Path | None = None) -> tuple[float, int, int, bytes]:
    """(wall seconds, peak RSS bytes of the child, exit status, stderr) of one child process."""
    global _spawner
    if _spawner is None:
        _spawner = subprocess.Popen([sys.executable, "-c", SPAWNER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    _spawner.stdin.write(json.dumps({"argv": argv, "cwd": str(cwd) if cwd else None}) + "\n")
    _spawner.stdin.flush()
    done = json.loads(_spawner.stdout.readline())
    return done["wall"], done["maxrss_kb"] * 1024, done["code"], done["stderr"].encode()


def child_rss(bundle: Path) -> int:
    """Peak RSS of the decompressor child (analyzer/inflate_child.py) on this bundle, run alone as the
    analyzer runs it: its RSS is not in the analyzer's ``ru_maxrss`` (wait4 gives the larger of a
    process and its children, not their sum), so it is measured apart and added."""
    argv = subprocess.run([str(VENV_BIN / "python"), "-c", "import json, sys; from analyzer.decompress import child_argv; "
                           "print(json.dumps(child_argv(sys.argv[1])))", str(bundle)], capture_output=True, text=True, check=True).stdout
    return run_measured(json.loads(argv))[1]


def floor(bundle: Path) -> tuple[float, int]:
    """(wall seconds, count printed) of tar -xzOf | grep -c -E."""
    command = f"tar -xzOf {shlex.quote(str(bundle))} | grep -c -E {shlex.quote(FLOOR_PATTERN)}"
    began = time.perf_counter()
    out = subprocess.run(["sh", "-c", command], capture_output=True, text=True)
    wall = time.perf_counter() - began
    try:
        return wall, int(out.stdout.strip())
    except ValueError:
        raise SystemExit(f"perf_bench: the floor command failed: {command}: {out.stderr.strip()}") from None


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = "?"
    try:
        kib = int(next(l for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal:")).split()[1])
        ram = f"{kib / 1024**2:.1f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    venv_python = subprocess.run([str(VENV_BIN / "python"), "-c", "import platform; print(platform.python_version())"],
                                 capture_output=True, text=True).stdout.strip()
    return (f"machine: {model}, {os.cpu_count()} cores, {ram} RAM, kernel {platform.release()}, "
            f"python {venv_python} (venv), {platform.python_implementation()}")


def check(report_path: Path, expected: dict) -> list[str]:
    """What differs between the report and the sidecar's answers (empty when right)."""
    try:
        report = json.loads(report_path.read_text())
    except (OSError, ValueError) as err:
        return [f"no readable JSON report at {report_path}: {err}"]
    incidents = report.get("incidents") or []
    ooms = [i for i in incidents if i.get("kind") == "oom_kill"]
    evictions = [i for i in incidents if i.get("kind") == "eviction"]
    problems = []
    want = expected["oom_kills"]
    if len(ooms) != expected["oom_kill_count"]:
        problems.append(f"oom_kill incidents: {len(ooms)} found, {expected['oom_kill_count']} expected")
    got_pids = sorted((i.get("victim") or {}).get("pid") or 0 for i in ooms)
    want_pids = sorted(o["victim_pid"] for o in want)
    if got_pids != want_pids:
        missing = sorted(set(want_pids) - set(got_pids))
        extra = sorted(set(got_pids) - set(want_pids))
        problems.append(f"victim pids differ: missing {_short(missing)}, unexpected {_short(extra)}")
    by_pid = {o["victim_pid"]: o for o in want}
    wrong_pod = [i["victim"]["pid"] for i in ooms if (i.get("victim") or {}).get("pid") in by_pid
                 and (i.get("pod") or {}).get("uid") != by_pid[i["victim"]["pid"]]["pod_uid"]]
    if wrong_pod:
        problems.append(f"victims attributed to the wrong pod UID: pids {_short(wrong_pod)}")
    if len(evictions) != expected["eviction_count"]:
        problems.append(f"eviction incidents: {len(evictions)} found, {expected['eviction_count']} expected")
    got_evicted = sorted(_ref(i) for i in evictions)
    want_evicted = sorted(e["pod"] for e in expected["evictions"])
    if got_evicted != want_evicted:
        problems.append(f"evicted pods differ: missing {_short(sorted(set(want_evicted) - set(got_evicted)))}, "
                        f"unexpected {_short(sorted(set(got_evicted) - set(want_evicted)))}")
    uid_of = {e["pod"]: e["pod_uid"] for e in expected["evictions"]}
    wrong_uid = [ref for ref, i in zip(got_evicted, sorted(evictions, key=_ref)) if ref in uid_of and (i.get("pod") or {}).get("uid") != uid_of[ref]]
    if wrong_uid:
        problems.append(f"evicted pods with a wrong or missing UID: {_short(wrong_uid)}")
    return problems


def _ref(incident: dict) -> str:
    pod = incident.get("pod") or {}
    return f"{pod.get('namespace')}/{pod.get('name')}"


def _short(items: list) -> str:
    return "[" + ", ".join(map(str, items[:8])) + (f", ... {len(items) - 8} more" if len(items) > 8 else "") + "]"


def compile_project() -> None:
    """The project's bytecode, written beside its sources as a pip install writes it."""
    subprocess.run([str(VENV_BIN / "python"), "-m", "compileall", "-q", str(ROOT / "analyzer"), str(ROOT / "reports")],
                   check=True, stdout=subprocess.DEVNULL)


def bench(name: str, repeat: int, cache_dir: Path) -> tuple[list[tuple[str, bool]], list[str]]:
    """Measure one bundle; returns ([(target line, met)], [check problems])."""
    bundle, meta = make_bundles.build(name, cache_dir, say=lambda msg: print(f"  {msg}"))
    expected = meta["expected"]
    print(f"\n== {name}: {bundle.name}, {meta['bundle_bytes'] / 1e6:.1f} MB gzipped, {meta['log_bytes_total'] / 1e6:.1f} MB of logs, "
          f"{meta['members']} members, {meta['running_pods']} running pods; expects {expected['oom_kill_count']} OOM kills, "
          f"{expected['eviction_count']} evictions (SYNTHETIC)")
    podmortem = VENV_BIN / "podmortem"
    walls, rsss, floors, starts, children = [], [], [], [], []
    problems: list[str] = []
    floor_count = None
    with tempfile.TemporaryDirectory(prefix="podmortem-bench-") as tmp:
        out = Path(tmp) / "report.json"
        compile_project()
        for n in range(repeat):
            out.unlink(missing_ok=True)
            wall, rss, code, stderr = run_measured([str(podmortem), "analyze", str(bundle), "--format", "json", "-o", str(out)],
                                                   cwd=Path(tmp))
            walls.append(wall)
            rsss.append(rss)
            if code != 0:
                problems.append(f"run {n + 1}: podmortem exited {code}: {stderr.decode(errors='replace').strip()[-400:]}")
            elif n == 0:
                problems += check(out, expected)
            f_wall, floor_count = floor(bundle)
            floors.append(f_wall)
            starts.append(run_measured([str(VENV_BIN / "python"), "-c", "pass"])[0])
            children.append(child_rss(bundle))
    wall, rss, f_wall, start, child = (statistics.median(x) for x in (walls, rsss, floors, starts, children))
    ratio = wall / f_wall if f_wall else float("inf")
    print(f"  podmortem analyze --format json : {wall:8.3f} s median of {repeat} ({', '.join(f'{w:.3f}' for w in walls)}), "
          f"peak RSS {rss / 1e6:7.1f} MB (max {max(rsss) / 1e6:.1f})")
    print(f"  floor tar -xzOf | grep -c -E    : {f_wall:8.3f} s median of {repeat}, count {floor_count} "
          f"(sidecar says {expected['floor_grep_count']})")
    print(f"  ratio analyze / floor           : {ratio:8.2f}x")
    print(f"  python -c pass (venv)           : {start:8.3f} s")
    if floor_count != expected["floor_grep_count"]:
        problems.append(f"the floor grep counted {floor_count} lines, the sidecar expects {expected['floor_grep_count']}")
    targets = []
    if name == "typical":
        targets.append((f"typical end to end < {TYPICAL_WALL_S} s: {wall:.3f} s", wall < TYPICAL_WALL_S))
    else:
        targets.append((f"{name} <= {BIG_FLOOR_RATIO}x floor: {ratio:.2f}x ({wall:.2f} s vs {f_wall:.2f} s)", ratio <= BIG_FLOOR_RATIO))
    both = rss + child
    targets.append((f"{name} peak RSS < {PEAK_RSS_BYTES / 1e6:.0f} MB: {both / 1e6:.1f} MB (analyzer {rss / 1e6:.1f} + "
                    f"decompressor child {child / 1e6:.1f}, counted apart though they share the interpreter's pages)", both < PEAK_RSS_BYTES))
    for text, met in targets:
        print(f"  target {'PASS' if met else 'MISS'}  {text}")
    if problems:
        print(f"  CHECK FAILED ({name}): the report does not match the expected answers:")
        for p in problems:
            print(f"    - {p}")
    else:
        print(f"  check OK: {expected['oom_kill_count']} oom_kill incidents with the expected victim pids and pod UIDs, "
              f"{expected['eviction_count']} evictions of the expected pods")
    return targets, problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Time podmortem on the SYNTHETIC benchmark bundles against the zcat|grep floor.")
    parser.add_argument("--only", choices=sorted(make_bundles.SPECS), help="one bundle only")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the median is reported (default 3)")
    parser.add_argument("--cache-dir", type=Path, default=make_bundles.DEFAULT_CACHE, help="bundle cache (default benchmarks/.cache)")
    args = parser.parse_args(argv)
    if not (VENV_BIN / "podmortem").exists():
        print(f"perf_bench: {VENV_BIN / 'podmortem'} not found (create the venv: see README.md)", file=sys.stderr)
        return 2
    if not make_bundles.LAB_BUNDLE.exists():
        print(f"perf_bench: {make_bundles.LAB_BUNDLE} is missing (the generator copies its OOM report)", file=sys.stderr)
        return 2
    if args.repeat < 1:
        print("perf_bench: --repeat must be at least 1", file=sys.stderr)
        return 2
    print(machine())
    print(f"command: {' '.join([Path(sys.executable).name, 'benchmarks/perf_bench.py', *(argv if argv is not None else sys.argv[1:])])}")
    failed = []
    for name in [args.only] if args.only else list(make_bundles.SPECS):
        _, problems = bench(name, args.repeat, args.cache_dir)
        if problems:
            failed.append(name)
    if failed:
        print(f"\nperf_bench: WRONG ANSWERS for {', '.join(failed)}: the figures above do not count (see CHECK FAILED)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
