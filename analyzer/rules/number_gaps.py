"""Why the memory numbers disagree: usage, working set, RSS, cache, docker stats, per container.

From one cgroup's counters (FACTS.md §3):

- usage = v1 ``memory.usage_in_bytes`` / v2 ``memory.current`` (anon + page cache incl. shmem + kernel)
- working set = usage - inactive_file, floored at 0: the kubelet's, ``kubectl top``'s and
  ``crictl stats``' number (cAdvisor ``setMemoryStats``); active page cache stays in it
- rss = v1 ``total_rss`` / v2 ``anon``; cache = v1 ``total_cache`` / v2 ``file``
- ``docker stats``: CLI >= 20.10 shows usage - total_inactive_file (v1) / inactive_file (v2);
  CLI <= 19.03 showed usage - ``cache`` (the local key) (docker/cli commit a4a07c6430)
"""
from __future__ import annotations

from analyzer.k8s_paths import CgroupPlace, locate
from analyzer.models.common import Evidence, Finding
from analyzer.models.node import CgroupMemory
from analyzer.models.report import ContainerUsage, DockerStatsBytes
from analyzer.units import fmt_bytes

NEAR_LIMIT_SHARE = 0.90  # usage within 10% of the limit
ACTIVE_CACHE_SHARE = 0.25  # active page cache at >= 25% of the working set inflates it
SHMEM_SHARE = 0.10
MIN_WORTH_SAYING = 16 * 1024 * 1024  # below 16 MiB none of these matter to anyone


def working_set(cg: CgroupMemory) -> int | None:
    """cAdvisor's working set: usage - inactive_file (v1 total_inactive_file), floored at 0.

    >>> working_set(CgroupMemory(path="/x", version=1, usage_bytes=100, stat={"total_inactive_file": 30}))
    70
    >>> working_set(CgroupMemory(path="/x", version=2, usage_bytes=10, stat={"inactive_file": 30}))
    0
    """
    if cg.usage_bytes is None:
        return None
    inactive = cg.stat_value("inactive_file")
    if inactive is None:
        return cg.usage_bytes
    return max(cg.usage_bytes - inactive, 0)


def docker_stats(cg: CgroupMemory) -> DockerStatsBytes | None:
    """What ``docker stats`` shows for this cgroup, before and since docker CLI 20.10."""
    if cg.usage_bytes is None:
        return None
    usage = cg.usage_bytes
    inactive = cg.stat_value("inactive_file")
    since = usage - inactive if inactive is not None and inactive < usage else usage
    before = None
    if cg.version == 1 and "cache" in cg.stat:
        before = usage - cg.stat["cache"]
    return DockerStatsBytes(before_20_10=before, since_20_10=since)


def _evidence(cg: CgroupMemory, *keys: str) -> list[Evidence]:
    found, seen = [], set()
    for key in keys:
        ev = cg.evidence.get(key)
        if ev is not None and (ev.file, ev.line) not in seen:  # not `ev in found`: pydantic __eq__, 0.8 µs a pair
            seen.add((ev.file, ev.line))
            found.append(ev)
    return found


def _has_total_keys(stat: dict[str, int]) -> bool:
    """v1 memory.stat with hierarchical ``total_*`` keys (looked up first: ~20 keys precede the first total_)."""
    return "total_inactive_file" in stat or any(k.startswith("total_") for k in stat)


def container_usage(cg: CgroupMemory, place: CgroupPlace | None = None) -> ContainerUsage:
    """The containers-table row of one cgroup (``place``: its ``locate(cg.path)`` when known)."""
    if place is None:
        place = locate(cg.path)
    usage_file = "memory.usage_in_bytes" if cg.version == 1 else "memory.current"
    limit_file = "memory.limit_in_bytes" if cg.version == 1 else "memory.max"
    prefix = "total_" if cg.version == 1 and _has_total_keys(cg.stat) else ""
    row = ContainerUsage(
        cgroup=cg.path,
        pod_uid=place.pod_uid,
        container_id=place.container_id,
        usage_bytes=cg.usage_bytes,
        limit_bytes=cg.limit_bytes,
        working_set_bytes=working_set(cg),
        rss_bytes=cg.stat_value("rss") if cg.version == 1 else cg.stat.get("anon"),
        cache_bytes=cg.stat_value("cache") if cg.version == 1 else cg.stat.get("file"),
        active_file_bytes=cg.stat_value("active_file"),
        inactive_file_bytes=cg.stat_value("inactive_file"),
        shmem_bytes=cg.stat_value("shmem"),
        docker_stats_bytes=docker_stats(cg),
        evidence=_evidence(
            cg, usage_file, limit_file, f"stat:{prefix}inactive_file", f"stat:{prefix}active_file", "memory.stat"
        ),
        findings=[],  # given, not the field's default: pydantic deep-copies a default list for every row
    )
    row.findings.extend(explain_number_gaps(row))
    reclaimed = _limit_reached_without_oom(cg)
    if reclaimed is not None:
        row.findings.append(reclaimed)
    return row


def _limit_reached_without_oom(cg: CgroupMemory) -> Finding | None:
    """v2 memory.events ``max`` (v1 ``failcnt``): times the charge hit the limit and reclaim ran; no OOM followed."""
    hits = cg.events.get("max") if cg.version == 2 else cg.failcnt
    ooms = cg.events.get("oom_kill", cg.oom_kill) if cg.version == 2 else cg.oom_kill
    if not hits or ooms:
        return None
    counter = "memory.events max" if cg.version == 2 else "memory.failcnt"
    return Finding(
        code="limit_reached_without_oom",
        severity="info",
        message=(
            f"The cgroup reached its memory limit {hits} times ({counter}) and reclaim freed enough every time: "
            + ("no OOM was recorded (oom_kill 0). " if ooms == 0 else "the bundle does not say whether an OOM followed. ")
            + "Each time its tasks stalled in direct reclaim (page cache dropped first), which shows as latency, not as a kill."
        ),
        evidence=_evidence(cg, "memory.events" if cg.version == 2 else "memory.failcnt", "stat:oom_kill"),
    )


def explain_number_gaps(row: ContainerUsage) -> list[Finding]:
    findings = []
    for check in (_page_cache_in_working_set, _shmem_charged, _near_limit):
        finding = check(row)
        if finding is not None:
            findings.append(finding)
    return findings


def _page_cache_in_working_set(row: ContainerUsage) -> Finding | None:
    active, ws = row.active_file_bytes, row.working_set_bytes
    if not active or not ws or active < MIN_WORTH_SAYING or active < ws * ACTIVE_CACHE_SHARE:
        return None
    near = row.limit_bytes and ws >= row.limit_bytes * NEAR_LIMIT_SHARE
    return Finding(
        code="page_cache_in_working_set",
        severity="warning" if near else "info",
        message=(
            f"{fmt_bytes(active)} of the {fmt_bytes(ws)} working set (what kubectl top and the kubelet's eviction "
            "ranking see) is active page cache: file pages read more than once. The kernel can reclaim them before "
            "an OOM kill, but the kubelet counts them as used, so this container looks bigger than its "
            f"RSS ({fmt_bytes(row.rss_bytes)}) and can be ranked first for eviction."
        ),
        evidence=row.evidence,
    )


def _shmem_charged(row: ContainerUsage) -> Finding | None:
    shmem, usage = row.shmem_bytes, row.usage_bytes
    if not shmem or not usage or shmem < MIN_WORTH_SAYING or shmem < usage * SHMEM_SHARE:
        return None
    return Finding(
        code="shmem_charged",
        severity="warning",
        message=(
            f"{fmt_bytes(shmem)} of this container's usage is shmem/tmpfs (emptyDir medium Memory, /dev/shm): it counts "
            "against the limit and the working set, shows in no process's RSS, and cannot be reclaimed without swap "
            "until the files are deleted."
        ),
        evidence=row.evidence,
    )


def _near_limit(row: ContainerUsage) -> Finding | None:
    usage, limit = row.usage_bytes, row.limit_bytes
    if not usage or not limit or usage < limit * NEAR_LIMIT_SHARE:
        return None
    return Finding(
        code="near_limit",
        severity="warning",
        message=(
            f"Usage {fmt_bytes(usage)} is within 10% of the {fmt_bytes(limit)} limit "
            f"(working set {fmt_bytes(row.working_set_bytes)}): the next allocation that reclaim cannot cover is an OOM kill."
        ),
        evidence=row.evidence,
    )


def containers_table(cgroups: dict[str, CgroupMemory]) -> list[ContainerUsage]:
    """One row per container cgroup in the bundle (pause/sandbox containers included, as the kernel sees them).

    A bundle with no container cgroup (a pasted pod cgroup, one memory.stat, a docker container's
    files) gets a row per cgroup that has counters: that cgroup is what the user asks about.
    """
    placed = ((cg, locate(path)) for path, cg in sorted(cgroups.items()))
    rows = [container_usage(cg, place) for cg, place in placed if place.level == "container"]
    if not rows:
        rows = [container_usage(cg) for path, cg in sorted(cgroups.items()) if path != "/" and (cg.usage_bytes is not None or cg.stat)]
    return rows
