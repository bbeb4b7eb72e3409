"""Growth over time from the collector's ``--samples N --interval S`` snapshots: leaks and page cache.

The collector copies each container's memory.stat (and usage) into ``samples/NNNN/`` N times;
each sample also holds the node's ``proc/uptime`` read when the sample began (10 ms steps) and
``taken_at`` (UTC, whole seconds, written when it ended). Per container cgroup this rule fits a
least-squares line through the samples, with their times, to:

- anon (v1 ``total_rss`` / v2 ``anon``): memory only the process can free. Steady growth
  (a good fit) projected to reach the container's limit within ``LEAK_HORIZON_S`` is
  ``likely_leak``: the kernel OOM-kills the container when anon (plus what reclaim cannot free)
  reaches the limit.
- page cache (v1 ``total_cache`` / v2 ``file``): file pages the kernel reclaims under pressure.
  Growth with anon flat is ``page_cache_growth``: harmless to the process, but usage and
  the working set (usage - inactive_file, FACTS.md §3) rise with it, so dashboards and the
  kubelet's eviction ranking see a bigger container. shmem/tmpfs is in the same counter and is
  not reclaimable without swap: when shmem makes the growth, no harmless finding is given.

Rules read models only: the sample times come from ``sample_stamps`` (the pipeline passes the
sample artifacts' text, as it does for every parser).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import PurePosixPath

from analyzer.artifacts import ArtifactKind
from analyzer.k8s_paths import locate
from analyzer.models.common import Evidence, Finding
from analyzer.models.node import CgroupMemory
from analyzer.models.report import ContainerTrend, TrendSample
from analyzer.units import fmt_bytes

MIN_SAMPLES = 3  # two points always make a perfect line: a fit needs three
GOOD_FIT_R2 = 0.90  # r² of a steady line (a leak at a constant rate gives > 0.99)
LEAK_HORIZON_S = 24 * 3600  # likely_leak when the limit is reached within a day
CRITICAL_HORIZON_S = 3600
MIN_GROWTH_BYTES = 1024 * 1024  # below 1 MiB over the window nothing is said (allocator noise)
FLAT_ANON_SHARE = 0.10  # anon "flat": its slope under 10% of the cache's (or under MIN_GROWTH over the window)


@dataclass
class SampleStamp:
    """When one sample was taken, as the bundle says."""

    uptime_s: float | None = None
    taken_at: datetime | None = None
    evidence: Evidence | None = None


def sample_stamps(artifacts) -> dict[int, SampleStamp]:
    """Each sample's ``proc/uptime`` (first field) and ``taken_at`` (ISO UTC); unreadable ones are left None.

    >>> from analyzer.artifacts import Artifact, ArtifactKind
    >>> a = Artifact(path="b/samples/0002/proc/uptime", kind=ArtifactKind.PROC_UPTIME, size=12, text="1000.25 1800.00\\n", sample=2)
    >>> b = Artifact(path="b/samples/0002/taken_at", kind=ArtifactKind.UNKNOWN, size=21, text="2026-11-25T12:00:01Z\\n", sample=2)
    >>> s = sample_stamps([a, b])[2]
    >>> s.uptime_s, s.taken_at.isoformat()
    (1000.25, '2026-11-25T12:00:01+00:00')
    """
    stamps: dict[int, SampleStamp] = {}
    for artifact in artifacts:
        if artifact.sample is None:
            continue
        name = PurePosixPath(artifact.path).name
        if artifact.kind is ArtifactKind.PROC_UPTIME:
            stamp = stamps.setdefault(artifact.sample, SampleStamp())
            stamp.uptime_s = _first_float(artifact.text)
            stamp.evidence = Evidence(file=artifact.path, line=1)
        elif name == "taken_at":
            stamp = stamps.setdefault(artifact.sample, SampleStamp())
            stamp.taken_at = _utc(artifact.text.strip())
            stamp.evidence = stamp.evidence or Evidence(file=artifact.path, line=1)
    return stamps


def _first_float(text: str) -> float | None:
    try:
        return float(text.split()[0])
    except (IndexError, ValueError):
        return None


def _utc(text: str) -> datetime | None:
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


# --- the line ---------------------------------------------------------------------------------


@dataclass
class Fit:
    slope: float  # bytes per second
    r2: float  # 1.0 a perfect line; 0.0 when the values do not move (or move at random)
    rise_bytes: float  # slope times the window: how much the line grew over the samples


def least_squares(times: list[float], values: list[float]) -> Fit | None:
    """Slope and r² of the least-squares line through (time, value); None with fewer than 3 points.

    >>> f = least_squares([0, 1, 2, 3], [10, 14, 18, 22])
    >>> f.slope, f.r2, f.rise_bytes
    (4.0, 1.0, 12.0)
    >>> least_squares([0, 1, 2], [5, 5, 5]).r2
    0.0
    """
    if len(times) < MIN_SAMPLES or len(times) != len(values):
        return None
    n = len(times)
    mean_t, mean_v = sum(times) / n, sum(values) / n
    stt = sum((t - mean_t) ** 2 for t in times)
    if stt == 0:
        return None
    slope = sum((t - mean_t) * (v - mean_v) for t, v in zip(times, values)) / stt
    svv = sum((v - mean_v) ** 2 for v in values)
    residual = sum((v - (mean_v + slope * (t - mean_t))) ** 2 for t, v in zip(times, values))
    r2 = 1.0 - residual / svv if svv > 0 else 0.0
    return Fit(slope=slope, r2=max(0.0, r2), rise_bytes=slope * (max(times) - min(times)))


# --- per container ----------------------------------------------------------------------------


def _anon(cg: CgroupMemory) -> int | None:
    return cg.stat_value("rss") if cg.version == 1 else cg.stat.get("anon")


def _cache(cg: CgroupMemory) -> int | None:
    return cg.stat_value("cache") if cg.version == 1 else cg.stat.get("file")


def _limit(path: str, samples: list[CgroupMemory], current: CgroupMemory | None) -> int | None:
    """The container's limit: the main snapshot's, else v1 memory.stat hierarchical_memory_limit."""
    if current is not None and current.limit_bytes is not None:
        return current.limit_bytes
    for cg in reversed(samples):
        value = cg.stat.get("hierarchical_memory_limit")
        if value is not None and value < 2**62:  # "unlimited" is PAGE_COUNTER_MAX pages
            return value
    return None


def _times(numbers: list[int], stamps: dict[int, SampleStamp]) -> tuple[list[float], str] | None:
    """Seconds of each sample on one clock: uptime when it rises, else taken_at, else None."""
    uptimes = [stamps.get(n, SampleStamp()).uptime_s for n in numbers]
    if all(u is not None for u in uptimes) and all(b > a for a, b in zip(uptimes, uptimes[1:])):
        return [u - uptimes[0] for u in uptimes], "uptime"
    walls = [stamps.get(n, SampleStamp()).taken_at for n in numbers]
    if all(w is not None for w in walls) and all(b > a for a, b in zip(walls, walls[1:])):
        return [(w - walls[0]).total_seconds() for w in walls], "taken_at"
    return None


def _wall_times(numbers: list[int], offsets: list[float], stamps: dict[int, SampleStamp], btime: datetime | None) -> list[datetime | None]:
    """Wall time of each sample: the last taken_at minus the offsets, else btime + uptime."""
    last = stamps.get(numbers[-1], SampleStamp())
    if last.taken_at is not None:
        return [last.taken_at - timedelta(seconds=offsets[-1] - o) for o in offsets]
    if btime is not None and last.uptime_s is not None:
        return [btime + timedelta(seconds=last.uptime_s - (offsets[-1] - o)) for o in offsets]
    return [None] * len(offsets)


def container_trend(path: str, series: list[tuple[int, CgroupMemory]], stamps: dict[int, SampleStamp],
                    current: CgroupMemory | None, btime: datetime | None = None) -> ContainerTrend | None:
    """The trend of one container over its samples (sample number, counters), or None without times."""
    numbers = [n for n, _ in series]
    clock = _times(numbers, stamps)
    if clock is None or len(series) < MIN_SAMPLES:
        return None
    offsets, source = clock
    walls = _wall_times(numbers, offsets, stamps, btime)
    cgs = [cg for _, cg in series]
    place = locate(path)
    trend = ContainerTrend(
        cgroup=path, pod_uid=place.pod_uid, container_id=place.container_id, time_source=source,
        samples=[TrendSample(at=w, t_s=round(t, 3), usage_bytes=cg.usage_bytes, anon_bytes=_anon(cg), cache_bytes=_cache(cg))
                 for w, t, cg in zip(walls, offsets, cgs)],
        limit_bytes=_limit(path, cgs, current),
    )
    anon = _fit(offsets, [s.anon_bytes for s in trend.samples])
    cache = _fit(offsets, [s.cache_bytes for s in trend.samples])
    usage = _fit(offsets, [s.usage_bytes for s in trend.samples])
    shmem = _fit(offsets, [cg.stat_value("shmem") for cg in cgs])
    trend.anon_bytes_per_s = round(anon.slope, 1) if anon else None
    trend.cache_bytes_per_s = round(cache.slope, 1) if cache else None
    trend.usage_bytes_per_s = round(usage.slope, 1) if usage else None
    trend.anon_fit_r2 = round(anon.r2, 4) if anon else None
    trend.cache_fit_r2 = round(cache.r2, 4) if cache else None
    trend.evidence = _evidence(cgs, stamps, numbers)
    last_anon = trend.samples[-1].anon_bytes
    if anon and anon.slope > 0 and trend.limit_bytes is not None and last_anon is not None:
        trend.seconds_to_limit = round(max(trend.limit_bytes - last_anon, 0) / anon.slope, 1)
        if walls[-1] is not None:
            trend.projected_limit_at = walls[-1] + timedelta(seconds=trend.seconds_to_limit)
    trend.findings = [f for f in (_likely_leak(trend, anon), _page_cache_growth(trend, anon, cache, shmem)) if f]
    return trend


def _fit(times: list[float], values: list[int | None]) -> Fit | None:
    if any(v is None for v in values):
        return None
    return least_squares(times, [float(v) for v in values])


def _evidence(cgs: list[CgroupMemory], stamps: dict[int, SampleStamp], numbers: list[int]) -> list[Evidence]:
    """The first and last sample's anon and cache lines, and their time stamps."""
    found: list[Evidence] = []
    for cg, n in ((cgs[0], numbers[0]), (cgs[-1], numbers[-1])):
        keys = ("stat:total_rss", "stat:total_cache") if cg.version == 1 else ("stat:anon", "stat:file")
        for key in keys:
            ev = cg.evidence.get(key)
            if ev is not None and ev not in found:
                found.append(ev)
        stamp = stamps.get(n)
        if stamp is not None and stamp.evidence is not None and stamp.evidence not in found:
            found.append(stamp.evidence)
    return found


def _fmt_duration(seconds: float) -> str:
    """
    >>> _fmt_duration(42), _fmt_duration(5400), _fmt_duration(200000)
    ('42 s', '1.5 h', '2.3 days')
    """
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def _likely_leak(trend: ContainerTrend, anon: Fit | None) -> Finding | None:
    if anon is None or anon.slope <= 0 or anon.r2 < GOOD_FIT_R2 or anon.rise_bytes < MIN_GROWTH_BYTES:
        return None
    rate = f"{fmt_bytes(int(anon.slope))}/s"
    window = f"{len(trend.samples)} samples over {_fmt_duration(trend.samples[-1].t_s)}"
    if trend.limit_bytes is None:
        return Finding(code="likely_leak", severity="warning", evidence=trend.evidence, message=(
            f"Anonymous memory grows steadily at {rate} ({window}, fit r² {anon.r2:.2f}) and the container has no "
            f"memory limit: it keeps growing until the node runs short and the kubelet evicts or the kernel kills."))
    if trend.seconds_to_limit is None or trend.seconds_to_limit > LEAK_HORIZON_S:
        return None
    severity = "critical" if trend.seconds_to_limit <= CRITICAL_HORIZON_S else "warning"
    when = f" (about {trend.projected_limit_at:%Y-%m-%d %H:%M:%S} UTC)" if trend.projected_limit_at else ""
    return Finding(code="likely_leak", severity=severity, evidence=trend.evidence, message=(
        f"Anonymous memory grows steadily at {rate} ({window}, fit r² {anon.r2:.2f}); at that rate it reaches the "
        f"{fmt_bytes(trend.limit_bytes)} limit in {_fmt_duration(trend.seconds_to_limit)}{when}, and the kernel "
        f"OOM-kills the container: anon memory cannot be reclaimed (only swapped). A leak is likely."))


def _page_cache_growth(trend: ContainerTrend, anon: Fit | None, cache: Fit | None, shmem: Fit | None) -> Finding | None:
    if cache is None or cache.slope <= 0 or cache.r2 < GOOD_FIT_R2 or cache.rise_bytes < MIN_GROWTH_BYTES:
        return None
    anon_flat = anon is None or anon.rise_bytes < MIN_GROWTH_BYTES or anon.slope < FLAT_ANON_SHARE * cache.slope
    if not anon_flat:
        return None
    if shmem is not None and shmem.slope > 0.5 * cache.slope:
        return None  # tmpfs/shared memory growing: not reclaimable, not harmless
    return Finding(code="page_cache_growth", severity="info", evidence=trend.evidence, message=(
        f"Page cache grows at {fmt_bytes(int(cache.slope))}/s while anonymous memory stays flat: file pages the kernel "
        f"reclaims under pressure, harmless to the process, but usage and the working set (what kubectl top, "
        f"dashboards and the kubelet's eviction ranking use) rise with it."))


def explain_trends(samples: dict[int, dict[str, CgroupMemory]], stamps: dict[int, SampleStamp],
                   current: dict[str, CgroupMemory], btime: datetime | None = None) -> list[ContainerTrend]:
    """One trend per container cgroup present in at least MIN_SAMPLES samples, with findings."""
    series: dict[str, list[tuple[int, CgroupMemory]]] = {}
    for number in sorted(samples):
        for path, cg in samples[number].items():
            if locate(path).level == "container":
                series.setdefault(path, []).append((number, cg))
    trends = []
    for path in sorted(series):
        trend = container_trend(path, series[path], stamps, current.get(path), btime)
        if trend is not None:
            trends.append(trend)
    return trends
