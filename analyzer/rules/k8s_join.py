"""Join Kubernetes' view to the kernel's: pod names, container names, what Kubernetes recorded.

cgroup path -> pod UID -> pod namespace/name/QoS/priority -> container ID -> container name,
limits, restart count and last termination (FACTS.md §6). A pod whose status says ``Evicted``
becomes an eviction incident with the kubelet's message read into signal, threshold and
observed value (FACTS.md §4).
"""
from __future__ import annotations

from analyzer.models.common import Evidence, Finding
from analyzer.models.k8s import ContainerInfo, PodInfo
from analyzer.models.report import (
    ContainerRef,
    EvictionIncident,
    KubernetesStatus,
    OomKillIncident,
    PodRef,
    RankedPod,
)
from analyzer.rules.oom_victim import summarize
from analyzer.units import fmt_bytes

SIGNAL_OF_RESOURCE = {"memory": "memory.available", "MemoryPressure": "memory.available"}


def _match_container(pod: PodInfo, container_id: str | None) -> tuple[ContainerInfo | None, str | None]:
    """The container whose current or previous (lastState) id is the killed cgroup's id."""
    if not container_id:
        return None, None
    for container in pod.containers:
        if container.container_id and (container.container_id == container_id):
            return container, "current"
        if container.last_container_id and container.last_container_id == container_id:
            return container, "last"
    return None, None


def _pod_of(incident: OomKillIncident, by_uid: dict[str, PodInfo], pods: list[PodInfo]) -> PodInfo | None:
    """By the cgroup's pod UID, else (describe output has no UID) by the container ID."""
    uid = incident.pod.uid if incident.pod else None
    if uid and uid in by_uid:
        return by_uid[uid]
    cid = incident.container.id if incident.container else None
    if cid:
        return next((p for p in pods if _match_container(p, cid)[0] is not None), None)
    return None


def join_pods(incidents: list[OomKillIncident], pods: list[PodInfo]) -> None:
    by_uid = {p.uid: p for p in pods if p.uid}
    for incident in incidents:
        pod = _pod_of(incident, by_uid, pods)
        if pod is None or incident.pod is None:
            continue
        uid = incident.pod.uid
        incident.pod = PodRef(uid=uid, namespace=pod.namespace, name=pod.name, qos=pod.qos or incident.pod.qos)
        incident.evidence.extend(e for e in pod.evidence.values() if e.line is not None and e not in incident.evidence)
        container, which = _match_container(pod, incident.container.id if incident.container else None)
        if container is not None:
            incident.container = ContainerRef(id=incident.container.id, name=container.name, runtime=container.runtime or incident.container.runtime)
            incident.kubernetes = _status(container, which)
            incident.evidence.extend(e for e in container.evidence.values() if e.line is not None and e not in incident.evidence)
            finding = _kubernetes_finding(incident, container, which)
            if finding is not None:
                incident.findings.append(finding)
        incident.summary = summarize(incident)


def _status(container: ContainerInfo, which: str | None) -> KubernetesStatus:
    if which == "last":
        return KubernetesStatus(reason=container.last_reason, exit_code=container.last_exit_code,
                                restart_count=container.restart_count, finished_at=container.last_finished_at)
    return KubernetesStatus(reason=container.terminated_reason or container.state_reason, exit_code=container.terminated_exit_code,
                            restart_count=container.restart_count, finished_at=container.terminated_finished_at)


def _kubernetes_finding(incident: OomKillIncident, container: ContainerInfo, which: str | None) -> Finding | None:
    status = incident.kubernetes
    evidence = [e for e in container.evidence.values() if e.line is not None]
    if status is None:
        return None
    if which == "current" and container.state == "running":
        return Finding(
            code="container_still_running",
            severity="warning",
            message=(
                f"Kubernetes shows container {container.name} running with {container.restart_count} restart(s): the kernel "
                "killed a process inside it, not the container itself, so no OOMKilled status was recorded."
            ),
            evidence=evidence,
        )
    if status.exit_code == 137 and status.reason and status.reason != "OOMKilled" and "OOM" not in status.reason:
        return Finding(
            code="exit_137_not_reported_as_oom",
            severity="warning",
            message=(
                f"Kubernetes recorded Reason {status.reason}, exit code 137 for {container.name}, but the kernel log shows "
                "this OOM kill: the runtime missed the OOM event (or it was a node-level OOM), so dashboards keyed on "
                "OOMKilled miss it."
            ),
            evidence=evidence,
        )
    return None


def _requests_exceeded(pod: PodInfo, usage: int | None) -> bool | None:
    if usage is None:
        return None
    return usage > pod.memory_request_bytes


def eviction_incidents(pods: list[PodInfo], first_id: int = 1) -> list[EvictionIncident]:
    """One eviction incident per pod the kubelet evicted, from its status message."""
    incidents = []
    for pod in pods:
        message = pod.message or pod.disruption_message
        evicted = (pod.reason == "Evicted") or any(
            m is not None and "The node was low on resource" in m for m in (pod.disruption_message, pod.message)
        )  # the eviction manager's own status message (eviction/helpers.go evictionMessage), when Reason is not in the paste
        if not evicted or not message:
            continue
        from analyzer.eviction_message import parse_eviction_message  # here: most bundles have no evicted pod

        parsed = parse_eviction_message(message)
        if parsed is None:
            continue
        signal = SIGNAL_OF_RESOURCE.get(parsed.resource or "", parsed.resource)
        usage = sum(c.usage_bytes or 0 for c in parsed.containers) or None
        request = sum(c.request_bytes or 0 for c in parsed.containers) if parsed.containers else None
        evidence = list(dict.fromkeys(e for e in pod.evidence.values() if e.line is not None))
        incident = EvictionIncident(
            id=f"evict-{first_id + len(incidents)}",
            summary="",
            time=None,
            pod=PodRef(uid=pod.uid, namespace=pod.namespace, name=pod.name, qos=pod.qos),
            signal=signal,
            threshold_bytes=parsed.threshold_bytes,
            observed_bytes=parsed.available_bytes,
            ranking=[RankedPod(pod=pod.ref, usage_bytes=usage, request_bytes=request, priority=pod.priority,
                               exceeds_request=(usage > request) if usage is not None and request is not None else None)]
            if parsed.containers else [],
            evidence=evidence,
        )
        incident.findings = _eviction_findings(pod, parsed, evidence)
        incident.summary = _eviction_summary(pod, parsed, signal)
        incidents.append(incident)
    return incidents


def _eviction_findings(pod: PodInfo, parsed, evidence: list[Evidence]) -> list[Finding]:
    findings = []
    for container in parsed.containers:
        if container.usage_bytes is None:
            continue
        findings.append(
            Finding(
                code="evicted_above_request",
                severity="warning",
                message=(
                    f"{'Pod' if container.pod_level else 'Container'} {container.name} used {fmt_bytes(container.usage_bytes)} "
                    f"(working set) against a request of {fmt_bytes(container.request_bytes or 0)}: the kubelet ranks pods whose "
                    "usage exceeds their requests first, then by priority, then by how far above the request they are. "
                    + ("With no request at all (BestEffort), any usage exceeds it." if not container.request_bytes else "")
                ),
                evidence=evidence,
            )
        )
    if parsed.threshold_bytes is not None and parsed.available_bytes is not None:
        findings.append(
            Finding(
                code="eviction_threshold_crossed",
                severity="critical",
                message=(
                    f"The kubelet saw {parsed.resource} available at {fmt_bytes(parsed.available_bytes)}, below its eviction threshold "
                    f"of {fmt_bytes(parsed.threshold_bytes)}. memory.available is capacity minus the root cgroup's working set, "
                    "which counts active page cache: `free` can show plenty of buff/cache while the kubelet evicts."
                ),
                evidence=evidence,
            )
        )
    return findings


# kubelet 1.6.0-1.6.3 named the node condition instead of the resource (kubernetes/kubernetes#48632)
PRESSURE_RESOURCE = {"MemoryPressure": "memory", "DiskPressure": "disk", "PIDPressure": "pids"}


def _eviction_summary(pod: PodInfo, parsed, signal: str | None) -> str:
    who = (f"pod {pod.ref}" if pod.name else "a pod (its name is not in the bundle)") + (f" ({pod.qos})" if pod.qos else "")
    resource = PRESSURE_RESOURCE.get(parsed.resource or "", parsed.resource)
    sentence = f"The kubelet evicted {who}: the node was low on {resource}" + (
        f" (kubelet 1.6 wording: [{parsed.resource}])" if resource != parsed.resource else "")
    if parsed.threshold_bytes is not None and parsed.available_bytes is not None:
        sentence += f" ({signal} {fmt_bytes(parsed.available_bytes)} < threshold {fmt_bytes(parsed.threshold_bytes)})"
    if parsed.containers:
        c = parsed.containers[0]
        sentence += f"; {c.name} used {fmt_bytes(c.usage_bytes)} against a request of {fmt_bytes(c.request_bytes or 0)}"
    return sentence + "."
