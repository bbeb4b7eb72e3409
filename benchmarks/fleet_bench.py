"""Fleet analysis of 200 typical bundles: wall time with one process and with one per core,
the speedup, and the parent's peak RSS (issue 9's benchmark).

The bundles are MODIFIED COPIES of the real lab bundle (fixtures/lab/lab-oom-128mi.tar.gz, 3 real
OOM kills in its kernel log, its cgroup and /proc files): each copy gets its own hostname in
manifest.json, HAND-WRITTEN pod JSON (a replica of one of 10 Deployments claiming the lab's killed
container) and a HAND-WRITTEN kubelet /configz (every 20th node with a 500Mi eviction threshold
instead of 100Mi). They are written as .tar.gz to a temporary directory, removed afterwards.

With ``--source typical`` the bundles are instead 200 hard links to benchmarks/make_bundles.py's
SYNTHETIC "typical" bundle (110 pods, 3 OOM kills, 1 eviction, ~50 MB of logs; identical copies,
so one host name), built or reused from its cache.

Run: `.venv/bin/python benchmarks/fleet_bench.py [--bundles 200] [--format html] [--source lab|typical] [--repeat N]`.
The parent's peak RSS is resource.getrusage(RUSAGE_SELF).ru_maxrss, read after each run (a
high-water mark: it includes making the bundles, which is small: the fixture is 60 KB).
"""
from __future__ import annotations

import argparse
import io
import json
import os
import resource
import shutil
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analyzer.fleet import analyze_fleet_command, default_jobs  # noqa: E402
from tests.test_cli import lab_facts  # noqa: E402
from tests.test_k8s_view import hand_written_pod  # noqa: E402

LAB = ROOT / "fixtures" / "lab" / "lab-oom-128mi.tar.gz"
HASH_SUFFIXES = ("6c8b9", "7d4f8", "5b9cd", "8f6g2", "9x7kq", "4hv2m", "2w5tn", "6rzs8", "7jb4p", "5lq9c")


def fixture_members() -> list[tuple[tarfile.TarInfo, bytes | None]]:
    with tarfile.open(LAB) as tar:
        return [(m, tar.extractfile(m).read() if m.isfile() else None) for m in tar.getmembers()]


def modified_files(n: int, members) -> dict[str, bytes]:
    """manifest.json with hostname node-<n>; HAND-WRITTEN pods and configz (see the module docstring)."""
    facts = lab_facts()
    top = members[0][0].name.split("/")[0]
    manifest = json.loads(next(data for m, data in members if m.name.endswith("/manifest.json")))
    manifest["hostname"] = manifest["node"] = f"node-{n:03d}"
    pods = hand_written_pod(facts["pod uid"], facts["container id"])
    item = pods["items"][0]
    app = n % len(HASH_SUFFIXES)
    item["metadata"]["name"] = f"app{app}-{HASH_SUFFIXES[app]}-x{n:03d}"
    item["metadata"]["ownerReferences"][0]["name"] = f"app{app}-{HASH_SUFFIXES[app]}"
    item["spec"]["containers"][0]["image"] = f"shop/app{app}:1.{app}"
    threshold = "500Mi" if n % 20 == 0 else "100Mi"
    configz = {"kubeletconfig": {"evictionHard": {"memory.available": threshold, "nodefs.available": "10%"},
                                 "cgroupDriver": "cgroupfs", "enforceNodeAllocatable": ["pods"]}}
    return {
        f"{top}/manifest.json": json.dumps(manifest, indent=2).encode(),
        f"{top}/commands/kubectl-get-pods.json": json.dumps(pods, indent=2).encode(),
        f"{top}/commands/kubelet-configz.json": json.dumps(configz, indent=2).encode(),
    }


def write_bundle(target: Path, members, replaced: dict[str, bytes]) -> None:
    with tarfile.open(target, "w:gz") as tar:
        for member, data in members:
            if member.name in replaced:
                continue
            tar.addfile(member, io.BytesIO(data) if data is not None else None)
        for name, data in replaced.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), int(time.time()), 0o644
            tar.addfile(info, io.BytesIO(data))


def make_bundles(directory: Path, count: int) -> None:
    members = fixture_members()
    for n in range(count):
        write_bundle(directory / f"node-{n:03d}.tar.gz", members, modified_files(n, members))


def link_typical_bundles(directory: Path, count: int) -> None:
    """``count`` hard links (no copies) to make_bundles.py's typical bundle."""
    from benchmarks.make_bundles import build

    typical, _ = build("typical", say=lambda *_: None)
    for n in range(count):
        os.link(typical, directory / f"node-{n:03d}.tar.gz")


def _burn(n: int) -> int:
    return sum(i * i for i in range(n))


def pure_cpu_speedup(cores: int) -> float:
    """What this machine gives right now: the same pure-Python CPU work with 1 and with ``cores``
    processes (other load on a shared machine shows here: 2 cores busy elsewhere give ~1x)."""
    from concurrent.futures import ProcessPoolExecutor

    walls = []
    for workers in (1, cores):
        began = time.perf_counter()
        with ProcessPoolExecutor(workers) as pool:
            list(pool.map(_burn, [2_000_000] * 4 * cores))
        walls.append(time.perf_counter() - began)
    return walls[0] / walls[1]


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def timed_run(bundles: Path, out: Path, fmt: str, jobs: int) -> tuple[float, float, float, list[str]]:
    """(wall seconds, CPU seconds of the workers, of the parent, summary lines) of one `podmortem analyze DIR`."""
    lines: list[str] = []
    before = resource.getrusage(resource.RUSAGE_CHILDREN), resource.getrusage(resource.RUSAGE_SELF)
    began = time.perf_counter()
    analyze_fleet_command(bundles, fmt, str(out), jobs, echo=lines.append)
    wall = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN), resource.getrusage(resource.RUSAGE_SELF)
    workers, parent = (a.ru_utime + a.ru_stime - b.ru_utime - b.ru_stime for a, b in zip(after, before))
    return wall, workers, parent, "\n".join(lines).splitlines()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundles", type=int, default=200)
    parser.add_argument("--format", default="html", choices=("html", "md", "json"))
    parser.add_argument("--source", default="lab", choices=("lab", "typical"), help="copies of the lab fixture, or make_bundles.py's typical bundle")
    parser.add_argument("--repeat", type=int, default=1, help="alternate the runs N times and keep each one's best wall time")
    args = parser.parse_args()
    cores = default_jobs()
    work = Path(tempfile.mkdtemp(prefix="podmortem-fleet-bench-"))
    try:
        bundles = work / "bundles"
        bundles.mkdir()
        began = time.perf_counter()
        if args.source == "typical":
            link_typical_bundles(bundles, args.bundles)
        else:
            make_bundles(bundles, args.bundles)
        size = sum(p.stat().st_size for p in bundles.iterdir())
        print(f"made {args.bundles} {args.source} bundles ({size / 1024**2:.1f} MiB) in {time.perf_counter() - began:.1f} s; "
              f"cores: {cores}; parent peak RSS before the runs: {peak_rss_mib():.1f} MiB")
        print(f"calibration: pure-CPU work runs {pure_cpu_speedup(cores):.2f}x faster with {cores} processes than with 1 "
              f"on this machine now (load average {os.getloadavg()[0]:.1f})")
        results: dict[int, float] = {}
        for jobs in [j for _ in range(args.repeat) for j in (1, cores)]:
            out = work / f"out-{jobs}"
            shutil.rmtree(out, ignore_errors=True)
            load = os.getloadavg()[0]
            seconds, cpu, parent_cpu, lines = timed_run(bundles, out, args.format, jobs)
            results[jobs] = min(seconds, results.get(jobs, seconds))
            reports = len(list((out / "nodes").iterdir()))
            print(f"--jobs {jobs}: {seconds:.2f} s wall, {cpu:.1f} s CPU in workers, {parent_cpu:.1f} s in the parent, {args.bundles / seconds:.1f} bundles/s, "
                  f"{reports} node reports, fleet.{args.format} {(out / f'fleet.{args.format}').stat().st_size / 1024:.0f} KiB; "
                  f"parent peak RSS so far {peak_rss_mib():.1f} MiB; load average before {load:.1f}")
            print("   " + lines[1])
            failures = [line for line in lines if "could not be analysed" in line]
            print("   " + "\n   ".join(failures[:3]) if failures else "   no bundle failed")
        children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"best wall: --jobs 1 {results[1]:.2f} s, --jobs {cores} {results[cores]:.2f} s; speedup {results[1] / results[cores]:.2f}x; "
              f"parent peak RSS {peak_rss_mib():.1f} MiB; largest worker peak RSS {children:.1f} MiB")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
