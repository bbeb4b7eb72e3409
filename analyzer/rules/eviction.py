"""Kubelet evictions from its own log, and the node's memory.available recomputed from the bundle.

The kubelet's ``memory.available`` = MemTotal - (root cgroup usage - root inactive_file)
(pkg/kubelet/eviction/helpers_linux.go ``makeMemoryAvailableSignalObservation`` with the
summary's node stats; FACTS.md §4): active page cache and all shmem count as used, which is
why the kubelet can evict while ``free`` shows gigabytes of buff/cache (FACTS.md §7).
Pods are ranked by: usage above request first, then lower priority, then usage minus request.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from analyzer.models.common import Finding
from analyzer.models.node import CgroupMemory, MemInfo
from analyzer.models.report import EvictionIncident, NodeMemory, PodRef, RankedPod
from analyzer.parsers.kubelet_config import DEFAULT_EVICTION_HARD, KubeletConfig, threshold
from analyzer.models.k8s import PodInfo
from analyzer.units import fmt_bytes

if TYPE_CHECKING:  # types only: the parsers of pasted output a bundle may not hold are imported when it does
    from analyzer.parsers.describe_node import NodeCapacity
    from analyzer.parsers.free import FreeOutput
    from analyzer.parsers.kubectl_top import TopRow
    from analyzer.parsers.kubelet_log import KubeletLogEvent
    from analyzer.parsers.kubelet_summary import Summary


def _memory_threshold(config: KubeletConfig | None):
    if config is not None and "memory.available" in config.eviction_hard:
        return config.eviction_hard["memory.available"]
    return threshold("memory.available", DEFAULT_EVICTION_HARD["memory.available"], defaulted=True)


def evictions_from_kubelet_log(
    events: list[KubeletLogEvent], config: KubeletConfig | None, known: list[EvictionIncident], first_id: int
) -> list[EvictionIncident]:
    """An incident per pod the eviction manager evicted; pods already known from their status are enriched."""
    by_pod = {f"{i.pod.namespace}/{i.pod.name}": i for i in known if i.pod and i.pod.name}
    new: list[EvictionIncident] = []
    ranked: list[str] = []
    resource: str | None = None
    observed: dict[str, KubeletLogEvent] = {}
    ranked_pods: dict[str, RankedPod] = {}  # one entry a pod, shared by every ranking that names it (20 rankings of 500 pods)
    for event in events:
        if event.kind == "pods_ranked":
            ranked = event.pods
        elif event.kind in ("attempting_reclaim", "must_evict") and event.resource:
            resource = event.resource
        elif event.kind == "observation" and event.signal:
            observed[event.signal] = event
        elif event.kind == "evicted" and event.pod:
            incident = by_pod.get(event.pod)
            if incident is None:
                incident = _from_log(event, resource, observed, config, f"evict-{first_id + len(new)}")
                new.append(incident)
                by_pod[event.pod] = incident
            _add_log_facts(incident, event, ranked, ranked_pods)
    return new


def _from_log(event: KubeletLogEvent, resource: str | None, observed: dict, config: KubeletConfig | None, incident_id: str) -> EvictionIncident:
    namespace, _, name = event.pod.partition("/")
    signal = "memory.available" if resource == "memory" else None
    obs = observed.get(signal) if signal else None
    limit = _memory_threshold(config) if signal else None
    incident = EvictionIncident(
        id=incident_id,
        summary="",
        pod=PodRef(namespace=namespace or None, name=name or None),
        signal=signal,
        threshold_bytes=limit.quantity_bytes if limit else None,
        observed_bytes=obs.available_bytes if obs else None,
        evidence=[event.evidence] + ([obs.evidence] if obs else []),
    )
    what = f"low on {resource}" if resource else "under pressure (the resource is not in this log)"
    incident.summary = f"The kubelet evicted pod {event.pod}: the node was {what}" + (
        f"; {signal} was {fmt_bytes(obs.available_bytes)} against a threshold of {fmt_bytes(limit.quantity_bytes)}" if obs and limit else ""
    ) + "."
    return incident


def _add_log_facts(incident: EvictionIncident, event: KubeletLogEvent, ranked: list[str], ranked_pods: dict[str, RankedPod]) -> None:
    incident.time = incident.time or event.time
    if event.evidence not in incident.evidence:
        incident.evidence.append(event.evidence)
    if ranked and len(incident.ranking) <= 1:
        known = {r.pod: r for r in incident.ranking}
        incident.ranking = [known[p] if p in known else _ranked_pod(p, ranked_pods) for p in ranked]
        incident.findings.append(
            Finding(
                code="eviction_ranking",
                severity="info",
                message=(
                    f"The kubelet ranked {len(ranked)} pod(s) and evicted the first: {', '.join(ranked[:5])}"
                    + ("..." if len(ranked) > 5 else "")
                    + ". Its order: pods whose working set exceeds their memory request first, then lower priority, then the "
                    "largest usage above request (one pod per eviction cycle)."
                ),
                evidence=[event.evidence],
            )
        )


def _ranked_pod(pod: str, ranked_pods: dict[str, RankedPod]) -> RankedPod:
    """The one RankedPod of a pod named in the log's rankings (rank_with_summary fills in its numbers)."""
    found = ranked_pods.get(pod)
    if found is None:
        found = ranked_pods[pod] = RankedPod(pod=pod)
    return found


@dataclass
class PastedNode:
    """What a paste may hold instead of /proc/meminfo and the root cgroup: `free`, `kubectl top nodes`,
    `kubectl describe node` (each None or empty when absent)."""

    free: FreeOutput | None = None
    top_rows: list[TopRow] = field(default_factory=list)
    capacity: NodeCapacity | None = None


def node_memory(
    meminfo: MemInfo | None,
    root: CgroupMemory | None,
    config: KubeletConfig | None,
    summary: Summary | None = None,
    kubelet_events: list[KubeletLogEvent] | None = None,
    collected_at: datetime | None = None,
    pasted: PastedNode | None = None,
) -> NodeMemory | None:
    """What `free` shows next to what the kubelet computes, from the bundle's own counters (or, in a
    paste, from `free`, `kubectl top nodes` and `kubectl describe node`), checked against what the
    kubelet itself reported (/stats/summary, its logged observations)."""
    pasted = pasted or PastedNode()
    if meminfo is not None:
        node = _from_meminfo(meminfo)
    elif pasted.free is not None or pasted.capacity is not None:
        node = _from_paste(pasted)
    else:
        return None
    limit = _memory_threshold(config)
    node.eviction_threshold_bytes, node.eviction_threshold_defaulted = limit.quantity_bytes, limit.defaulted
    if summary is not None and summary.node is not None:
        node.summary_memory_available_bytes = summary.node.available_bytes
        node.evidence.append(summary.evidence)
    top_node = next((r for r in pasted.top_rows if r.kind == "node"), None)
    if root is None and top_node is not None:  # metrics-server's MEMORY is the node's root working set
        node.root_working_set_bytes = top_node.working_set_bytes
        node.working_set_source = "kubectl_top"
        node.evidence.append(top_node.evidence)
    if root is not None:
        node.working_set_source = "root_cgroup"
        usage = root.usage_bytes
        if root.version == 2 or usage is None:
            anon, file = root.stat.get("anon"), root.stat.get("file")
            usage = anon + file if anon is not None and file is not None else usage  # root has no memory.current on v2
        inactive = root.stat_value("inactive_file")
        if usage is not None:
            node.root_usage_bytes = usage
            node.root_working_set_bytes = max(usage - (inactive or 0), 0)
            node.evidence.extend(e for k, e in root.evidence.items() if k in ("memory.usage_in_bytes", "memory.stat", "stat:total_inactive_file", "stat:inactive_file"))
    _last_logged_observation(node, kubelet_events or [])
    if node.mem_total_bytes is not None and node.root_working_set_bytes is not None:
        node.kubelet_memory_available_bytes = node.mem_total_bytes - node.root_working_set_bytes
        node.findings = _node_findings(node)
        check = _cross_check(node, collected_at)
        if check is not None:
            node.findings.append(check)
    return node


def _from_meminfo(meminfo: MemInfo) -> NodeMemory:
    values = meminfo.values
    return NodeMemory(
        mem_total_bytes=values.get("MemTotal"),
        free_available_bytes=values.get("MemAvailable"),
        buff_cache_bytes=sum(values.get(k, 0) for k in ("Buffers", "Cached", "SReclaimable")) or None,
        shmem_bytes=values.get("Shmem"),
        evidence=[meminfo.evidence[k] for k in ("MemTotal", "MemAvailable", "Cached") if k in meminfo.evidence],
    )


def _from_paste(pasted: PastedNode) -> NodeMemory:
    """The node's numbers from pasted `free` and `describe node` output. The kubelet's capacity is the
    machine's MemTotal (cAdvisor), exact in describe node; free -h rounds to a few digits."""
    free, capacity = pasted.free, pasted.capacity
    node = NodeMemory(
        mem_total_bytes=(capacity.capacity_memory_bytes if capacity else None) or (free.total_bytes if free else None),
        free_available_bytes=free.available_bytes if free else None,
        buff_cache_bytes=free.buff_cache_bytes if free else None,
        shmem_bytes=free.shared_bytes if free else None,
        values_approximate=bool(free and free.approximate),
        allocatable_bytes=capacity.allocatable_memory_bytes if capacity else None,
    )
    if free is not None:
        node.evidence.append(free.evidence)
    if capacity is not None:
        node.evidence.extend(capacity.evidence.values())
    return node


def _last_logged_observation(node: NodeMemory, events: list[KubeletLogEvent]) -> None:
    """The kubelet's last logged ``signal=memory.available`` observation (verbose eviction-manager logs)."""
    logged = [e for e in events if e.kind == "observation" and e.signal == "memory.available" and e.available_bytes is not None]
    if not logged:
        return
    last = logged[-1]
    node.kubelet_logged_memory_available_bytes = last.available_bytes
    node.kubelet_logged_capacity_bytes = last.capacity_bytes
    node.kubelet_logged_at = last.time
    node.kubelet_logged_at_text = None if last.time else last.time_text
    node.evidence.append(last.evidence)


AGREE_SHARE = 0.02  # two samples of a moving number taken seconds apart: within 2% of MemTotal...
AGREE_BYTES = 64 * 1024**2  # ...or 64 MiB, whichever is larger, is "the same"
SAME_MOMENT_S = 300  # a logged observation this close to collection describes the same node state


def _agrees(a: int, b: int, total: int | None) -> bool:
    return abs(a - b) <= max(AGREE_BYTES, int((total or 0) * AGREE_SHARE))


def _cross_check(node: NodeMemory, collected_at: datetime | None) -> Finding | None:
    """The recomputed memory.available beside the kubelet's own numbers: do they agree, and when."""
    mine, total = node.kubelet_memory_available_bytes, node.mem_total_bytes
    parts, disagree = [], False
    if node.summary_memory_available_bytes is not None:
        theirs = node.summary_memory_available_bytes
        same = _agrees(mine, theirs, total)
        disagree |= not same
        parts.append(
            f"/stats/summary (fetched in the same collection) said {fmt_bytes(theirs)}: "
            + ("they agree" if same else f"they differ by {fmt_bytes(abs(mine - theirs))}: the kubelet's cAdvisor sample "
               "and the copied cgroup files are seconds apart, or its root cgroup is not this bundle's (a kubelet in a container)")
        )
    logged = node.kubelet_logged_memory_available_bytes
    if logged is not None:
        when = node.kubelet_logged_at.strftime("%Y-%m-%d %H:%M:%S UTC") if node.kubelet_logged_at else (node.kubelet_logged_at_text or "an unknown time")
        apart = abs((collected_at - node.kubelet_logged_at).total_seconds()) if collected_at and node.kubelet_logged_at else None
        if apart is not None and apart <= SAME_MOMENT_S:
            same = _agrees(mine, logged, total)
            disagree |= not same
            parts.append(f"the kubelet logged {fmt_bytes(logged)} at {when}, {apart:.0f} s from collection: "
                         + ("they agree" if same else f"they differ by {fmt_bytes(abs(mine - logged))}"))
        else:
            parts.append(f"the kubelet last logged {fmt_bytes(logged)} at {when}"
                         + (f", {apart / 60:.0f} min from collection" if apart is not None else "")
                         + ": that describes the node then (at an eviction, say), the recomputed value the node at collection")
        capacity = node.kubelet_logged_capacity_bytes
        if capacity is not None and total is not None and not _agrees(capacity, total, None):
            parts.append(f"its capacity ({fmt_bytes(capacity)}) is not this bundle's MemTotal ({fmt_bytes(total)}): another node's log?")
            disagree = True
    if not parts:
        return None
    return Finding(
        code="memory_available_cross_check",
        severity="warning" if disagree else "info",
        message=f"memory.available recomputed from the bundle (MemTotal - root working set) is {fmt_bytes(mine)}; " + "; ".join(parts) + ".",
        evidence=node.evidence,
    )


def _node_findings(node: NodeMemory) -> list[Finding]:
    findings = []
    available, free_available = node.kubelet_memory_available_bytes, node.free_available_bytes
    if available is not None and free_available is not None and free_available - available > 256 * 1024**2:
        findings.append(
            Finding(
                code="kubelet_sees_less_than_free",
                severity="warning" if node.eviction_threshold_bytes and available < 2 * node.eviction_threshold_bytes else "info",
                message=(
                    f"The kubelet's memory.available is {fmt_bytes(available)} while `free` shows {fmt_bytes(free_available)} available "
                    f"and {fmt_bytes(node.buff_cache_bytes)} buff/cache: the kubelet counts active page cache and shmem as used "
                    "(working set = usage - inactive_file), the kernel's MemAvailable counts reclaimable cache as free."
                ),
                evidence=node.evidence,
            )
        )
    if available is not None and node.eviction_threshold_bytes and available < node.eviction_threshold_bytes:
        findings.append(
            Finding(
                code="below_eviction_threshold",
                severity="critical",
                message=(
                    f"At collection the node's memory.available ({fmt_bytes(available)}) was below the hard eviction threshold "
                    f"({fmt_bytes(node.eviction_threshold_bytes)}{', the default' if node.eviction_threshold_defaulted else ''}): "
                    "the kubelet evicts a pod each cycle until it is back above it."
                ),
                evidence=node.evidence,
            )
        )
    return findings


def rank_pods(summary: Summary, pods: list[PodInfo]) -> list[RankedPod]:
    """The kubelet's memory ranking (eviction/helpers.go ``rankMemoryPressure``) over the pods the bundle shows.

    Order: working set above the pod's memory request first, then lower priority, then the
    largest working set minus request. Pods without stats are left out (the kubelet puts them first).
    """
    info = {f"{p.namespace}/{p.name}": p for p in pods if p.name}
    rows = []
    for stats in summary.pods:
        if stats.memory.working_set_bytes is None:
            continue
        ref = f"{stats.namespace}/{stats.name}"
        pod = info.get(ref)
        request = pod.memory_request_bytes if pod else None
        rows.append(RankedPod(pod=ref, usage_bytes=stats.memory.working_set_bytes, request_bytes=request,
                              priority=pod.priority if pod else None,
                              exceeds_request=stats.memory.working_set_bytes > request if request is not None else None))
    return sorted(rows, key=lambda r: (not r.exceeds_request, r.priority or 0, -((r.usage_bytes or 0) - (r.request_bytes or 0))))


def rank_with_summary(incidents: list[EvictionIncident], summary: Summary | None, pods: list[PodInfo]) -> None:
    """Fill each memory eviction's ranking with the summary's working sets and say whether the evicted pod ranked first."""
    if summary is None or not summary.pods:
        return
    ranking = rank_pods(summary, pods)
    by_pod = {r.pod: r for r in ranking}
    for incident in incidents:
        if incident.signal not in ("memory.available", "allocatableMemory.available") or incident.pod is None:
            continue
        if len(incident.ranking) > 1:
            incident.ranking = [by_pod.get(r.pod, r) for r in incident.ranking]
        else:
            incident.ranking = ranking
        evicted = f"{incident.pod.namespace}/{incident.pod.name}"
        first = incident.ranking[0].pod if incident.ranking else None
        incident.findings.append(
            Finding(
                code="eviction_ranking_recomputed",
                severity="info" if first == evicted else "warning",
                message=(
                    f"Ranked from the bundle's /stats/summary working sets and the pods' requests and priorities, {first} comes first"
                    + (": the evicted pod." if first == evicted else f", not the evicted {evicted}: the summary was taken at another moment than the eviction.")
                ),
                evidence=[summary.evidence],
            )
        )
