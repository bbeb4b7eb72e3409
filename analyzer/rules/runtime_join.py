"""Join the runtime's view of a container to the kernel's incident and to the container table.

A kernel OOM kill names a cgroup; the runtime names the container at that cgroup and records
how it ended (docker ``State.OOMKilled``, ``ExitCode`` 137 = 128 + SIGKILL). The same event seen
by both is shown once, with both sources as evidence. Exit code 137 alone is not proof of an
OOM kill: any SIGKILL gives it (FACTS.md §5).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from analyzer.models.common import Finding
from analyzer.models.report import ContainerRef, ContainerUsage, OomKillIncident, PodRef, RuntimeStatus
from analyzer.rules.oom_victim import summarize

if TYPE_CHECKING:  # types only: a bundle without docker output never imports its parser
    from analyzer.parsers.docker import DockerContainer, DockerStatsRow


def _by_id(containers: list[DockerContainer]) -> dict[str, DockerContainer]:
    return {c.id: c for c in containers}


def join_docker(incidents: list[OomKillIncident], containers: list[DockerContainer]) -> None:
    """Name the container and add docker's own account of its end to each OOM incident."""
    index = _by_id(containers)
    for incident in incidents:
        cid = incident.container.id if incident.container else None
        docker = index.get(cid) if cid else None
        if docker is None:
            continue
        evidence = [docker.evidence] if docker.evidence else []
        incident.runtime_status = RuntimeStatus(
            runtime="docker",
            container_name=docker.name,
            oom_killed=docker.oom_killed,
            exit_code=docker.exit_code,
            status=docker.status,
            finished_at=docker.finished_at,
            evidence=evidence,
        )
        incident.container = ContainerRef(id=cid, name=docker.container_name or docker.name, runtime="docker")
        if docker.pod_name and incident.pod is not None:
            incident.pod = PodRef(uid=incident.pod.uid, namespace=docker.pod_namespace, name=docker.pod_name, qos=incident.pod.qos)
        incident.evidence.extend(e for e in evidence if e not in incident.evidence)
        finding = _runtime_finding(incident, docker)
        if finding is not None:
            incident.findings.append(finding)
        incident.summary = summarize(incident)


def _runtime_finding(incident: OomKillIncident, docker: DockerContainer) -> Finding | None:
    evidence = [docker.evidence] if docker.evidence else []
    main_killed = not any(f.code == "victim_not_main_process" for f in incident.findings)
    if docker.oom_killed and docker.exit_code == 137:
        return Finding(
            code="runtime_confirms_oom_kill",
            severity="info",
            message=(
                f"docker recorded the same event for container {docker.name}: OOMKilled true, exit code 137"
                + (f", finished {docker.finished_at:%Y-%m-%d %H:%M:%S} UTC" if docker.finished_at else "")
                + ". Kubernetes would show Reason OOMKilled, Exit Code 137 and restart the container."
            ),
            evidence=evidence,
        )
    if docker.oom_killed and docker.status == "running":
        return Finding(
            code="runtime_oom_flag_while_running",
            severity="warning",
            message=(
                f"docker flags container {docker.name} OOMKilled but it is still running: a process inside was killed "
                "while the main process lived on. Nothing shows in Kubernetes until the container exits; then its "
                "reason may read OOMKilled for an exit with another cause."
            ),
            evidence=evidence,
        )
    if main_killed and docker.exit_code == 137 and docker.oom_killed is False:
        return Finding(
            code="exit_137_without_runtime_oom_flag",
            severity="warning",
            message=(
                f"docker recorded exit code 137 for {docker.name} without its OOMKilled flag: the runtime missed the "
                "OOM event, so Kubernetes shows Reason Error, not OOMKilled, for this kernel OOM kill."
            ),
            evidence=evidence,
        )
    return None


def join_docker_stats(rows: list[ContainerUsage], stats: list[DockerStatsRow]) -> None:
    """Put what `docker stats` showed beside what the cgroup counters say it should show."""
    for row in rows:
        if not row.container_id:
            continue
        match = next((s for s in stats if row.container_id.startswith(s.id) or s.id.startswith(row.container_id)), None)
        if match is not None:
            row.docker_stats_observed_bytes = match.usage_bytes
            row.evidence.append(match.evidence)
