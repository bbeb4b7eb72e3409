"""Terminations Kubernetes recorded that no kernel report in the bundle explains.

The commonest paste is `kubectl describe pod` or `-o yaml` of a pod whose container shows
``OOMKilled, exit 137``: with no kernel log beside it, the report must still say what Kubernetes
recorded and what to collect to learn the rest (the victim, the limit that was hit, the memory
breakdown come only from the kernel's OOM report). Exit 137 without OOMKilled is SIGKILL from
elsewhere (a liveness probe after its grace period, ``kill -9``), or a node-wide OOM kill that the
runtime reported as Error (kubernetes/kubernetes#53669; FACTS.md section 5: "Exit code 137 alone is
not proof of OOM").

Kubernetes spelled the reason ``OOM Killed`` before 1.0 (kubernetes/kubernetes#3044, 2015 docs).
"""
from __future__ import annotations

from analyzer.models.common import Finding
from analyzer.models.k8s import ContainerInfo, PodInfo
from analyzer.models.report import ContainerRef, KubernetesStatus, Memcg, OomKillIncident, PodRef, Victim
from analyzer.units import fmt_bytes

OOM_REASONS = {"OOMKilled", "OOM Killed"}


def _terminations(container: ContainerInfo) -> list[tuple[str, KubernetesStatus, str | None]]:
    """(which, status, container id) of the container's current and last terminations."""
    found = []
    if container.terminated_reason or container.terminated_exit_code is not None:
        found.append(("current", KubernetesStatus(reason=container.terminated_reason, exit_code=container.terminated_exit_code,
                                                  restart_count=container.restart_count, finished_at=container.terminated_finished_at),
                      container.container_id))
    if container.last_reason or container.last_exit_code is not None:
        found.append(("last", KubernetesStatus(reason=container.last_reason, exit_code=container.last_exit_code,
                                               restart_count=container.restart_count, finished_at=container.last_finished_at),
                      container.last_container_id))
    return found


def _explained(pod: PodInfo, container: ContainerInfo, incidents: list[OomKillIncident]) -> bool:
    """A kernel incident of this bundle was already joined to this container (shown once, both sources cited)."""
    for incident in incidents:
        if incident.kubernetes is None or incident.container is None or incident.pod is None:
            continue
        if incident.container.name == container.name and (incident.pod.name, incident.pod.namespace) == (pod.name, pod.namespace):
            return True
    return False


def _where(pod: PodInfo) -> str:
    return f"pod {pod.ref}" if pod.name else "a pod whose name is not in the paste"


def _container_words(container: ContainerInfo) -> str:
    return f"Container {container.name}" if container.name and container.name != "?" else "A container (its name is not in the paste)"


def _collect_hint(pod: PodInfo, status: KubernetesStatus) -> str:
    node = f"node {pod.node_name}" if pod.node_name else "the pod's node (kubectl get pod -o wide)"
    when = f" around {status.finished_at:%Y-%m-%d %H:%M:%S} UTC" if status.finished_at else ""
    return (f"Collect the kernel log of {node}{when} (`dmesg -T`, `journalctl -k`) or run the collector there: "
            "the victim, the limit that was hit and the memory breakdown are only in the kernel's OOM report.")


def kubernetes_summary(incident: OomKillIncident) -> str:
    """The one sentence of an incident only Kubernetes recorded (rules/oom_victim.summarize uses it)."""
    status, pod, container = incident.kubernetes or KubernetesStatus(), incident.pod, incident.container
    name = container.name if container and container.name and container.name != "?" else None
    where = f"pod {pod.namespace or '?'}/{pod.name}" if pod and pod.name else "a pod whose name is not in the paste"
    limit = incident.memcg.limit_bytes
    return (
        f"Kubernetes recorded {'container ' + name if name else 'a container'} of {where} as {status.reason} (exit {status.exit_code}"
        + (f", {status.restart_count} restart(s)" if status.restart_count is not None else "")
        + ")" + (f" with a {fmt_bytes(limit)} memory limit" if limit else "")
        + "; the kernel's report of the kill is not in this bundle."
    )


def _incident(pod: PodInfo, container: ContainerInfo, status: KubernetesStatus, cid: str | None, number: int) -> OomKillIncident:
    evidence = [e for e in container.evidence.values() if e.line is not None] or [e for e in pod.evidence.values() if e.line is not None]
    limit = container.limits_memory_bytes
    incident = OomKillIncident(
        id=f"k8s-oom-{number}",
        source="kubernetes",
        summary="",
        status="partial",
        scope="unknown",
        time=status.finished_at,
        time_source="kubernetes_status" if status.finished_at else None,
        victim=Victim(),
        memcg=Memcg(limit_bytes=limit, limit_source="pod spec" if limit else None),
        pod=PodRef(uid=pod.uid, namespace=pod.namespace, name=pod.name, qos=pod.qos),
        container=ContainerRef(id=cid, name=container.name, runtime=container.runtime),
        kubernetes=status,
        findings=[Finding(code="kernel_report_missing", severity="warning",
                          message=f"Kubernetes says {status.reason}; nothing in the bundle shows the kernel's side. " + _collect_hint(pod, status),
                          evidence=evidence)],
        evidence=evidence,
    )
    incident.summary = kubernetes_summary(incident)
    return incident


def _not_oom_finding(pod: PodInfo, container: ContainerInfo, status: KubernetesStatus) -> Finding:
    evidence = [e for e in container.evidence.values() if e.line is not None]
    return Finding(
        code="exit_137_not_oomkilled",
        severity="info",
        message=(
            f"{_container_words(container)} of {_where(pod)} exited 137 (SIGKILL) with reason {status.reason or 'unknown'}, not OOMKilled: "
            "the runtime saw no OOM kill in its cgroup. SIGKILL came from elsewhere: a liveness probe after its grace period, "
            "a `kill -9`, or a node-wide OOM kill that the runtime reports as Error. " + _collect_hint(pod, status)
        ),
        evidence=evidence,
    )


def kubernetes_only_terminations(pods: list[PodInfo], incidents: list[OomKillIncident], first: int = 1) -> tuple[list[OomKillIncident], list[Finding]]:
    """Incidents for OOMKilled terminations no kernel report explains, and findings for unexplained exit-137 ones.

    >>> from analyzer.models.k8s import ContainerInfo, PodInfo
    >>> pod = PodInfo(namespace="shop", name="cart", containers=[ContainerInfo(name="worker", last_reason="OOMKilled",
    ...               last_exit_code=137, restart_count=3, limits_memory_bytes=134217728)])
    >>> new, findings = kubernetes_only_terminations([pod], [])
    >>> new[0].summary
    "Kubernetes recorded container worker of pod shop/cart as OOMKilled (exit 137, 3 restart(s)) with a 128 MiB memory limit; the kernel's report of the kill is not in this bundle."
    """
    new: list[OomKillIncident] = []
    findings: list[Finding] = []
    for pod in pods:
        for container in pod.containers:
            if _explained(pod, container, incidents):
                continue
            for _, status, cid in _terminations(container):
                if status.reason in OOM_REASONS:
                    new.append(_incident(pod, container, status, cid, first + len(new)))
                elif status.exit_code == 137:
                    findings.append(_not_oom_finding(pod, container, status))
    return new, findings
