"""Trends from the collector's --samples: growth rates, time to the limit, likely_leak, page_cache_growth.

Three levels: the rule on HAND-WRITTEN counter series (exact numbers), the real collector on a
fake node tree whose counters a thread moves at a known rate (no root needed), and a real lab
run (root, cgroup v1): a process that leaks 4 MiB/s in one container cgroup and one that reads
a file at 4 MiB/s (page cache) in another, collected with ``--samples 5 --interval 1``.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from analyzer.models.node import CgroupMemory
from analyzer.pipeline import analyze
from analyzer.rules.trends import SampleStamp, explain_trends, least_squares
from tests.conftest import ROOT
from tests.lab import fake_node

MiB = 1024 * 1024
COLLECTOR = ROOT / "collectors" / "node" / "podmortem-collect"
POD = "/kubepods/burstable/pod0b8e7d1a-5c3f-4e2a-9f61-3d2c1b0a9e8f"
CID = "4f9e3c2a1b0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f"
BOOT = datetime(2026, 11, 25, 0, 0, tzinfo=timezone.utc)


def series(anon_per_s: float, cache_per_s: float, n: int = 5, step_s: float = 2.0, limit: int | None = 256 * MiB,
           shmem_per_s: float = 0.0):
    """HAND-WRITTEN: v1 counters of one container growing at the given rates, sampled every step_s."""
    samples, stamps = {}, {}
    for i in range(n):
        t = i * step_s
        anon, cache, shmem = int(20 * MiB + anon_per_s * t), int(10 * MiB + cache_per_s * t), int(shmem_per_s * t)
        cg = CgroupMemory(path=f"{POD}/{CID}", version=1, usage_bytes=anon + cache,
                          stat={"total_rss": anon, "total_cache": cache, "total_shmem": shmem})
        samples[i + 1] = {cg.path: cg}
        stamps[i + 1] = SampleStamp(uptime_s=1000.0 + t)
    current = {f"{POD}/{CID}": CgroupMemory(path=f"{POD}/{CID}", version=1, limit_bytes=limit)}
    return samples, stamps, current


def test_least_squares_exact_line():
    fit = least_squares([0.0, 1.0, 2.5, 4.0], [100.0, 110.0, 125.0, 140.0])
    assert fit.slope == pytest.approx(10.0) and fit.r2 == pytest.approx(1.0)


def test_steady_anon_growth_is_a_likely_leak_with_its_projection():
    samples, stamps, current = series(anon_per_s=4 * MiB, cache_per_s=0)
    (trend,) = explain_trends(samples, stamps, current, btime=BOOT)
    assert trend.container_id == CID and trend.pod_uid == "0b8e7d1a-5c3f-4e2a-9f61-3d2c1b0a9e8f"
    assert trend.anon_bytes_per_s == pytest.approx(4 * MiB)
    assert trend.cache_bytes_per_s == 0
    last_anon = 20 * MiB + 4 * MiB * 8
    assert trend.seconds_to_limit == pytest.approx((256 * MiB - last_anon) / (4 * MiB), abs=0.1)
    assert trend.projected_limit_at == BOOT + timedelta(seconds=1008 + trend.seconds_to_limit)
    (finding,) = trend.findings
    assert finding.code == "likely_leak" and finding.severity == "critical"
    assert len(trend.samples) == 5 and trend.samples[-1].t_s == 8.0


def test_slow_leak_beyond_a_day_is_not_flagged():
    samples, stamps, current = series(anon_per_s=1024, cache_per_s=0, n=5, step_s=600, limit=64 * 1024 * MiB)
    (trend,) = explain_trends(samples, stamps, current)
    assert trend.seconds_to_limit > 24 * 3600
    assert not trend.findings


def test_leak_without_limit_still_said():
    samples, stamps, current = series(anon_per_s=2 * MiB, cache_per_s=0, limit=None)
    (trend,) = explain_trends(samples, stamps, current)
    assert trend.limit_bytes is None and trend.projected_limit_at is None
    assert [f.code for f in trend.findings] == ["likely_leak"] and "no memory limit" in trend.findings[0].message


def test_page_cache_growth_with_flat_anon_is_harmless():
    samples, stamps, current = series(anon_per_s=0, cache_per_s=4 * MiB)
    (trend,) = explain_trends(samples, stamps, current)
    assert trend.cache_bytes_per_s == pytest.approx(4 * MiB)
    assert [f.code for f in trend.findings] == ["page_cache_growth"]
    assert trend.findings[0].severity == "info"


def test_shmem_growth_is_not_called_harmless():
    samples, stamps, current = series(anon_per_s=0, cache_per_s=4 * MiB, shmem_per_s=4 * MiB)
    (trend,) = explain_trends(samples, stamps, current)
    assert not trend.findings


def test_no_times_no_trend():
    samples, _, current = series(anon_per_s=4 * MiB, cache_per_s=0)
    assert explain_trends(samples, {}, current) == []


def test_taken_at_is_the_fallback_clock():
    samples, _, current = series(anon_per_s=4 * MiB, cache_per_s=0, step_s=2.0)
    stamps = {n: SampleStamp(uptime_s=1000.5, taken_at=BOOT + timedelta(seconds=2 * (n - 1))) for n in samples}
    (trend,) = explain_trends(samples, stamps, current)
    assert trend.time_source == "taken_at" and trend.anon_bytes_per_s == pytest.approx(4 * MiB)


# --- the real collector on a fake node whose counters move -------------------------------------


class MovingCounters(threading.Thread):
    """Rewrites a fake container's memory.stat and the fake /proc/uptime every 50 ms (HAND-MADE node)."""

    def __init__(self, root: Path, stat: Path, anon_per_s: float, cache_per_s: float):
        super().__init__(daemon=True)
        self.root, self.stat, self.anon, self.cache = root, stat, anon_per_s, cache_per_s
        self.stop = threading.Event()

    def run(self):
        began = time.monotonic()
        while not self.stop.is_set():
            t = time.monotonic() - began
            anon, cache = int(30 * MiB + self.anon * t), int(5 * MiB + self.cache * t)
            _atomic_write(self.stat, f"anon {anon}\nfile {cache}\nshmem 0\ninactive_file {cache // 2}\nactive_file {cache // 2}\n")
            _atomic_write(self.stat.with_name("memory.current"), f"{anon + cache}\n")
            _atomic_write(self.root / "proc" / "uptime", f"{5000 + t:.2f} 9000.00\n")
            time.sleep(0.05)


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def test_collector_samples_on_a_fake_node_give_the_rates(tmp_path):
    root = tmp_path / "node"
    made = fake_node.build(root, pods=2, containers=1, version=2)
    leak_cid, cache_cid = made[0][1][0], made[1][1][0]
    stats = {cid: next(root.glob(f"sys/fs/cgroup/kubepods.slice/**/cri-containerd-{cid}.scope/memory.stat")) for cid in (leak_cid, cache_cid)}
    movers = [MovingCounters(root, stats[leak_cid], 2 * MiB, 0), MovingCounters(root, stats[cache_cid], 0, 3 * MiB)]
    movers[1].root = tmp_path / "unused"  # one thread owns the fake uptime
    (tmp_path / "unused" / "proc").mkdir(parents=True)
    for mover in movers:
        mover.start()
    try:
        out = tmp_path / "out"
        out.mkdir()
        run = subprocess.run(["sh", str(COLLECTOR), "--root", str(root), "--output", str(out), "--samples", "5", "--interval", "1",
                              "--quiet"], capture_output=True, text=True, timeout=120)
    finally:
        for mover in movers:
            mover.stop.set()
            mover.join()
    assert run.returncode == 0, run.stderr
    report = analyze(Path(run.stdout.strip().splitlines()[-1]))
    by_id = {t.container_id: t for t in report.trends}
    leak, cache = by_id[leak_cid], by_id[cache_cid]
    assert leak.time_source == "uptime" and len(leak.samples) == 5
    assert leak.anon_bytes_per_s == pytest.approx(2 * MiB, rel=0.15)
    assert cache.cache_bytes_per_s == pytest.approx(3 * MiB, rel=0.15)
    assert leak.limit_bytes == 256 * MiB
    assert [f.code for f in leak.findings] == ["likely_leak"]
    assert [f.code for f in cache.findings] == ["page_cache_growth"]


# --- a real lab run -----------------------------------------------------------------------------

LEAK_RATE = CACHE_RATE = 4 * MiB  # bytes per second, by construction of the workloads below
# 1 MiB every 0.25 s on an absolute schedule (no drift); bytes filled so every page is charged
LEAKER = ("import time\nt0 = time.monotonic()\nkeep = []\nfor k in range(1, 161):\n"
          "    keep.append(b'x' * (1 << 20))\n    time.sleep(max(0.0, t0 + k * 0.25 - time.monotonic()))\ntime.sleep(120)\n")
# FADV_RANDOM: no readahead, so the cache grows by what is read (readahead windows make steps)
READER = ("import os, sys, time\nfd = os.open(sys.argv[1], os.O_RDONLY)\nos.posix_fadvise(fd, 0, 0, os.POSIX_FADV_RANDOM)\n"
          "buf = bytearray(1 << 20)\nt0 = time.monotonic()\n"
          "for k in range(1, 161):\n    os.readv(fd, [buf])\n    time.sleep(max(0.0, t0 + k * 0.25 - time.monotonic()))\ntime.sleep(120)\n")


def _lab_reason() -> str | None:
    from tests.lab.cgroups import lab_unavailable_reason

    return lab_unavailable_reason()


LAB_REASON = _lab_reason()


@pytest.mark.lab
@pytest.mark.skipif(LAB_REASON is not None, reason=LAB_REASON or "")
def test_lab_leak_and_page_cache_trends():
    """Real cgroups (v1), real workloads, the real collector with --samples 5 --interval 1."""
    from tests.lab.cgroups import lab, wait_for_file_value  # our own cgroups only, removed afterwards

    data = Path("/var/tmp") / f"pm-lab-trends-{time.time_ns()}"
    with open(data, "wb") as f:
        f.write(os.urandom(MiB) * 200)
        f.flush()
        os.fsync(f.fileno())
        os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)  # not cached: the reader's reads charge its cgroup
    try:
        with lab() as session, tempfile.TemporaryDirectory(prefix="pm-lab-trends-") as out:
            pod = session.pod(container_limits=(300 * MiB, 300 * MiB))
            leaking, reading = pod.containers
            leaker = session.start(leaking, f"exec python3 -c \"{LEAKER}\"")
            reader = session.start(reading, f"exec python3 -c \"{READER}\" {data}")
            assert wait_for_file_value(leaking.dir / "memory.usage_in_bytes", lambda t: int(t) > 8 * MiB, 20)
            run = subprocess.run(["sh", str(COLLECTOR), "--output", out, "--samples", "5", "--interval", "1", "--max-seconds", "40",
                                  "--since", "10m", "--quiet"], capture_output=True, text=True, timeout=90)
            assert leaker.poll() is None and reader.poll() is None, "both workloads were still running"
            assert run.returncode == 0, run.stderr
            bundle = Path(run.stdout.strip().splitlines()[-1])
            analysis = subprocess.run([sys.executable, "-m", "analyzer.cli", "analyze", str(bundle), "--format", "json", "-o", "-"],
                                      capture_output=True, text=True, timeout=120, cwd=ROOT)
    finally:
        data.unlink(missing_ok=True)
    assert analysis.returncode == 0, analysis.stderr
    trends = {t["container_id"]: t for t in json.loads(analysis.stdout)["trends"]}
    leak, cache = trends[leaking.cid], trends[reading.cid]
    print(f"measured: anon {leak['anon_bytes_per_s'] / MiB:.2f} MiB/s (r² {leak['anon_fit_r2']}), "
          f"cache {cache['cache_bytes_per_s'] / MiB:.2f} MiB/s (r² {cache['cache_fit_r2']}); both run at 4 MiB/s")
    assert leak["time_source"] == "uptime" and len(leak["samples"]) == 5
    assert leak["anon_bytes_per_s"] == pytest.approx(LEAK_RATE, rel=0.30)
    assert leak["limit_bytes"] == 300 * MiB and leak["projected_limit_at"] is not None
    assert "likely_leak" in [f["code"] for f in leak["findings"]]
    assert cache["cache_bytes_per_s"] == pytest.approx(CACHE_RATE, rel=0.30)
    assert abs(cache["anon_bytes_per_s"]) < 0.1 * CACHE_RATE
    assert [f["code"] for f in cache["findings"]] == ["page_cache_growth"]
