"""Two bundles of the same node side by side: what changed between the collections.

    d = diff_bundles(Path("node-monday.tar.gz"), Path("node-tuesday.tar.gz"))

Each bundle is analysed by the pipeline (incidents, per-container cgroup numbers, node memory)
and its pods read for limits and restart counts. Containers are matched by pod and container
name where the pod JSON gives them (a restarted container has a new id and cgroup), else by
cgroup path. Incidents are matched by identity, never by report id (ids are renumbered per
report): a kernel OOM kill by victim pid, comm and OOM cgroup; an eviction by its pod.
"""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from analyzer import __version__
from analyzer.models.diff import (
    BundleDiff,
    Change,
    ContainerDiff,
    IncidentSide,
    NodeNumber,
    RestartChange,
    Side,
)
from analyzer.models.k8s import PodInfo
from analyzer.models.report import Generator, Report

NODE_NUMBERS = (
    "mem_total_bytes", "free_available_bytes", "buff_cache_bytes", "shmem_bytes", "root_usage_bytes",
    "root_working_set_bytes", "kubelet_memory_available_bytes", "summary_memory_available_bytes",
    "eviction_threshold_bytes",
)
STATUS_ORDER = {"changed": 0, "added": 1, "removed": 2, "unchanged": 3}


def change(before: int | None, after: int | None) -> Change:
    """
    >>> change(134217728, 268435456).delta, change(None, 5).delta
    (134217728, None)
    """
    delta = after - before if before is not None and after is not None else None
    return Change(before=before, after=after, delta=delta)


def incident_identity(incident) -> str:
    """Who died where (OOM kill) or which pod went (eviction): stable across two reports.

    >>> from analyzer.models.report import EvictionIncident, PodRef
    >>> incident_identity(EvictionIncident(id="evict-1", summary="", pod=PodRef(namespace="shop", name="cart")))
    'eviction of pod shop/cart'
    """
    if incident.kind == "eviction":
        pod = incident.pod
        name = f"{pod.namespace or '?'}/{pod.name}" if pod and pod.name else (pod.uid if pod and pod.uid else incident.summary)
        return f"eviction of pod {name}"
    victim = incident.victim
    cgroup = incident.memcg.oom_memcg or incident.memcg.task_memcg or "no cgroup"
    return f"oom_kill of pid {victim.pid} ({victim.comm}) in {cgroup}"


def _incidents(report: Report) -> dict[str, IncidentSide]:
    found = {}
    for incident in report.incidents:
        identity = incident_identity(incident)
        found.setdefault(identity, IncidentSide(identity=identity, id=incident.id, kind=incident.kind,
                                                summary=incident.summary, time=incident.time))
    return found


class _Row:
    """One container of one bundle: cgroup numbers and pod spec, under its matching key."""

    def __init__(self, key: str, pod: str | None = None, container: str | None = None) -> None:
        self.key, self.pod, self.container = key, pod, container
        self.cgroup: str | None = None
        self.limit = self.usage = self.working_set = self.spec_limit = None
        self.evidence: list = []


def _pod_name(pod: PodInfo) -> str:
    return f"{pod.namespace or '?'}/{pod.name or pod.uid or '?'}"


def container_rows(report: Report, pods: list[PodInfo]) -> dict[str, _Row]:
    """Every container of a bundle, keyed by "namespace/pod container" where the pods name it."""
    by_id: dict[str, tuple[PodInfo, object]] = {}
    for pod in pods:
        for container in pod.containers:
            for cid in (container.last_container_id, container.container_id):  # the current id wins
                if cid:
                    by_id[cid] = (pod, container)
    rows: dict[str, _Row] = {}
    for usage in report.containers:
        row = _row_for_cgroup(usage, by_id, rows)
        row.cgroup, row.limit, row.usage, row.working_set = usage.cgroup, usage.limit_bytes, usage.usage_bytes, usage.working_set_bytes
        row.evidence.extend(usage.evidence)
    for pod in pods:
        for container in pod.containers:
            if container.is_init:
                continue
            key = f"{_pod_name(pod)} {container.name}"
            row = rows.setdefault(key, _Row(key, _pod_name(pod), container.name))
            row.spec_limit = container.limits_memory_bytes
            if "limits" in container.evidence:
                row.evidence.append(container.evidence["limits"])
    return rows


def _row_for_cgroup(usage, by_id: dict, rows: dict[str, _Row]) -> _Row:
    match = by_id.get(usage.container_id) if usage.container_id else None
    if match is not None:
        pod, container = match
        key = f"{_pod_name(pod)} {container.name}"
        current = container.container_id == usage.container_id
        if key not in rows or current:
            row = _Row(key, _pod_name(pod), container.name)
            if key in rows:  # an older (previous container's) cgroup keeps its own row
                old = rows.pop(key)
                old.key = old.cgroup
                rows[old.key] = old
            rows[key] = row
            return row
    row = _Row(usage.cgroup)
    rows[usage.cgroup] = row
    return row


def diff_containers(before: dict[str, _Row], after: dict[str, _Row]) -> list[ContainerDiff]:
    result = []
    for key in sorted(set(before) | set(after)):
        a, b = before.get(key), after.get(key)
        some = b or a
        item = ContainerDiff(
            key=key, pod=some.pod, container=some.container,
            cgroup_before=a.cgroup if a else None, cgroup_after=b.cgroup if b else None,
            status="added" if a is None else "removed" if b is None else "unchanged",
            limit_bytes=change(a.limit if a else None, b.limit if b else None),
            spec_limit_bytes=change(a.spec_limit if a else None, b.spec_limit if b else None),
            usage_bytes=change(a.usage if a else None, b.usage if b else None),
            working_set_bytes=change(a.working_set if a else None, b.working_set if b else None),
            evidence_before=a.evidence if a else [], evidence_after=b.evidence if b else [],
        )
        if item.status == "unchanged" and any(c.changed for c in (item.limit_bytes, item.spec_limit_bytes, item.usage_bytes, item.working_set_bytes)):
            item.status = "changed"
        result.append(item)
    return sorted(result, key=lambda c: (STATUS_ORDER[c.status], c.key))


def restart_counts(pods: list[PodInfo]) -> dict[tuple[str, str], tuple[int, object]]:
    """(pod, container) -> (restart count, its evidence)."""
    return {
        (_pod_name(pod), container.name): (container.restart_count, container.evidence.get("restart_count"))
        for pod in pods
        for container in pod.containers
        if container.restart_count is not None
    }


def diff_restarts(before: list[PodInfo], after: list[PodInfo]) -> list[RestartChange]:
    a, b = restart_counts(before), restart_counts(after)
    changes = []
    for key in sorted(set(a) | set(b)):
        (count_a, where_a), (count_b, where_b) = a.get(key, (None, None)), b.get(key, (None, None))
        if count_a != count_b:
            changes.append(RestartChange(pod=key[0], container=key[1], restarts=change(count_a, count_b),
                                         evidence_before=where_a, evidence_after=where_b))
    return changes


def diff_node(before: Report, after: Report) -> list[NodeNumber]:
    if before.node is None and after.node is None:
        return []
    return [
        NodeNumber(name=name, value=change(getattr(before.node, name, None), getattr(after.node, name, None)))
        for name in NODE_NUMBERS
    ]


def _side(report: Report) -> Side:
    info = report.bundle
    return Side(source=info.source, host=info.host, kernel=info.kernel, collected_at=info.collected_at)


def _warnings(before: Side, after: Side) -> list[str]:
    warnings = []
    if before.host and after.host and before.host != after.host:
        warnings.append(f"the bundles come from different hosts ({before.host} and {after.host}): "
                        "this compares two nodes, not one node over time")
    if before.collected_at and after.collected_at and after.collected_at < before.collected_at:
        warnings.append("the second bundle was collected before the first: 'new' means 'only in the second bundle'")
    return warnings


def compare(before: Report, after: Report, pods_before: list[PodInfo], pods_after: list[PodInfo]) -> BundleDiff:
    """The diff of two analysed bundles (reports and their pods)."""
    a_incidents, b_incidents = _incidents(before), _incidents(after)
    sides = _side(before), _side(after)
    return BundleDiff(
        generator=Generator(version=__version__),
        generated_at=datetime.now(timezone.utc),
        before=sides[0],
        after=sides[1],
        warnings=_warnings(*sides),
        containers=diff_containers(container_rows(before, pods_before), container_rows(after, pods_after)),
        new_incidents=[i for key, i in b_incidents.items() if key not in a_incidents],
        gone_incidents=[i for key, i in a_incidents.items() if key not in b_incidents],
        restarts=diff_restarts(pods_before, pods_after),
        node=diff_node(before, after),
    )


def diff_bundles(before: Path, after: Path) -> BundleDiff:
    """Analyse both bundles and compare them. Raises InputUnreadable for an unreadable bundle."""
    from analyzer.pipeline import analyze_with_facts

    (report_a, facts_a), (report_b, facts_b) = (analyze_with_facts(Path(path)) for path in (before, after))
    return compare(report_a, report_b, list(facts_a.pods), list(facts_b.pods))
