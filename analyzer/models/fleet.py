"""The fleet report: ``podmortem-fleet/v1``, many node bundles analysed together.

A public contract like ``podmortem/v1`` (docs/fleet-schema.md): later versions add fields, never
rename or repurpose them. Sizes are integers in bytes; times ISO 8601 UTC; null means "not known".
Each node keeps only a compact summary here; its full report is a separate file (``report``).
"""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from analyzer.models.common import Evidence, Severity
from analyzer.models.report import Generator

FLEET_SCHEMA_ID = "podmortem-fleet/v1"


class FleetModel(BaseModel):
    """Built on first use: `podmortem analyze` of a bundle directory imports analyzer.fleet to tell
    a fleet from one bundle, and one bundle never uses these (with the process pool imported only
    when it starts, importing analyzer.fleet went from 15 ms to 5 ms)."""

    model_config = ConfigDict(defer_build=True)


class Workload(FleetModel):
    """The controller that owns a pod, from its ownerReferences."""

    kind: str  # Deployment, StatefulSet, DaemonSet, Job, ReplicaSet, ... or "Pod" (no owner)
    namespace: str | None = None
    name: str
    derived_from: str | None = None  # how it was found when not read as is ("ReplicaSet cart-6c8b9 ...")

    @property
    def label(self) -> str:
        return f"{self.kind} {self.namespace or '?'}/{self.name}"


class FleetIncident(FleetModel):
    """One incident of one node, as much as the fleet view needs (the node's report has the rest)."""

    node: str  # FleetNode.name
    id: str  # the incident's id in the node's report (oom-1, evict-2, ...)
    kind: Literal["oom_kill", "eviction"]
    summary: str
    time: datetime | None = None
    scope: str | None = None
    pod: str | None = None  # namespace/name
    pod_uid: str | None = None
    container: str | None = None
    image: str | None = None
    workload: Workload | None = None
    victim_pid: int | None = None
    victim_comm: str | None = None
    cgroup: str | None = None  # the OOM memcg
    limit_bytes: int | None = None
    report: str | None = None  # link to the incident in the node's report (relative; #id in HTML)


class NodeSetting(FleetModel):
    """One node setting compared across the fleet, in display form."""

    name: str  # "eviction_hard.memory.available", "allocatable_bytes", ...
    value: str
    evidence: Evidence | None = None


class NodeConfig(FleetModel):
    """The settings of one node that decide when it kills or evicts."""

    source: str | None = None  # the kubelet config's bundle file (configz or config.yaml), None when absent
    mem_total_bytes: int | None = None
    allocatable_bytes: int | None = None  # computed: MemTotal - kubeReserved - systemReserved - evictionHard memory.available
    settings: list[NodeSetting] = []


class FleetNode(FleetModel):
    name: str  # unique, file-name safe: the node's report is nodes/<name>.<format>
    bundle: str  # the bundle's file or directory name, as found in the fleet directory
    status: Literal["analyzed", "failed"]
    error: str | None = None  # one line, when failed
    report: str | None = None  # relative path of the node's report from the fleet report
    host: str | None = None
    kernel: str | None = None
    collected_at: datetime | None = None
    warnings: int = 0
    oom_kills: int = 0
    evictions: int = 0
    incidents: list[FleetIncident] = []
    config: NodeConfig | None = None


class IncidentRef(FleetModel):
    node: str
    id: str
    report: str | None = None  # link target: nodes/<name>.<fmt>#<id>


class WorkloadSummary(FleetModel):
    workload: Workload
    oom_kills: int = 0
    evictions: int = 0
    nodes: list[str] = []
    containers: list[str] = []
    images: list[str] = []
    incidents: list[IncidentRef] = []


class ImageSummary(FleetModel):
    image: str
    oom_kills: int = 0
    evictions: int = 0
    nodes: list[str] = []
    workloads: list[str] = []


class FleetFinding(FleetModel):
    """A conclusion across nodes. ``code`` values are listed in docs/fleet-schema.md."""

    code: Literal["repeated_oom_kill", "node_setting_differs", "bundle_failed"]
    severity: Severity
    message: str
    nodes: list[str] = []
    subject: str | None = None  # the workload/container, the setting, or the bundle concerned
    incidents: list[IncidentRef] = []
    evidence: list[NodeEvidence] = []


class NodeEvidence(FleetModel):
    node: str
    file: str
    line: int | None = None


class SkippedEntry(FleetModel):
    """An entry of the fleet directory that is not a bundle (a loose file, a link)."""

    name: str
    reason: str


class FleetReport(FleetModel):
    model_config = ConfigDict(populate_by_name=True)

    schema_id: str = Field(default=FLEET_SCHEMA_ID, alias="schema")
    generator: Generator
    generated_at: datetime
    source: str  # the fleet directory's name (no absolute path)
    format: str  # the node reports' format: html, md or json
    nodes: list[FleetNode] = []
    skipped: list[SkippedEntry] = []
    workloads: list[WorkloadSummary] = []
    images: list[ImageSummary] = []
    majority: list[NodeSetting] = []  # the most common value of each compared setting
    findings: list[FleetFinding] = []

