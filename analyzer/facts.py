"""Everything the parsers learned from one bundle, gathered for the rules.

Rules read ``NodeFacts`` only; they never open files. The pipeline fills it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from analyzer.models.common import Evidence
from analyzer.models.kernel import OomReport
from analyzer.models.node import CgroupMemory, MemInfo, NodeClock


def pod_key(pod: Any) -> object:
    """What makes two pod records the same pod: its UID, else namespace/name (describe output has no
    UID), else nothing (the record itself)."""
    return pod.uid or ((pod.namespace, pod.name) if pod.name else id(pod))


class PodList(list):
    """Pods as the parsers find them, the first record of each pod kept: kubectl's pod list and the
    kubelet's /pods hold the same pods (500 on a big node, 3 MB of the second copy never used).

    >>> from types import SimpleNamespace as Pod
    >>> pods = PodList()
    >>> pods.extend([Pod(uid="u1", namespace="a", name="x"), Pod(uid="u1", namespace="a", name="x (kubelet)")])
    >>> [p.name for p in pods]
    ['x']
    """

    def __init__(self) -> None:
        super().__init__()
        self.keys: set[object] = set()

    def append(self, pod: Any) -> None:
        key = pod_key(pod)
        if key not in self.keys:
            self.keys.add(key)
            super().append(pod)

    def extend(self, pods) -> None:
        for pod in pods:
            self.append(pod)


@dataclass
class NodeFacts:
    host: str | None = None
    host_evidence: Evidence | None = None
    kernel_release: str | None = None
    kernel_evidence: Evidence | None = None
    clock: NodeClock = field(default_factory=NodeClock)
    meminfo: MemInfo | None = None
    cgroups: dict[str, CgroupMemory] = field(default_factory=dict)
    cgroup_samples: dict[int, dict[str, CgroupMemory]] = field(default_factory=dict)
    oom_reports: list[OomReport] = field(default_factory=list)
    clock_pairs: list[tuple[float, datetime]] = field(default_factory=list)  # (uptime, wall) of kernel lines with both
    kernel_log_files: list[str] = field(default_factory=list)
    manifest: dict[str, Any] | None = None
    # Kubernetes view (issue 5): filled when those parsers ran
    pods: list[Any] = field(default_factory=PodList)  # the first record of each pod
    events: list[Any] = field(default_factory=list)  # Kubernetes events (KubeEvent)
    kubelet_events: list[Any] = field(default_factory=list)
    runtime_events: list[Any] = field(default_factory=list)  # containerd/cri-o/docker log lines (RuntimeEvent)
    kubelet_config: Any = None
    kubelet_summary: Any = None
    runtime_containers: list[Any] = field(default_factory=list)  # docker inspect (DockerContainer)
    docker_stats: list[Any] = field(default_factory=list)  # docker stats rows (DockerStatsRow)
    crictl_containers: list[Any] = field(default_factory=list)  # crictl inspect (CriContainer)
    crictl_stats: list[Any] = field(default_factory=list)  # crictl stats rows (CriStats)
    crictl_ps: list[Any] = field(default_factory=list)  # crictl ps rows (CriPs)
    free: Any = None  # `free` output (FreeOutput), when pasted
    top_rows: list[Any] = field(default_factory=list)  # `kubectl top nodes|pods` rows (TopRow)
    node_capacity: Any = None  # `kubectl describe node` Capacity/Allocatable memory (NodeCapacity)
    kinds_seen: set[str] = field(default_factory=set)
