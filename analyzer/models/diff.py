"""What changed between two bundles of the same node: ``podmortem-diff/v1``.

``before`` is the first bundle given, ``after`` the second. Every number is kept on both sides
(null: that bundle does not say) with ``delta = after - before`` when both are known.
"""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from analyzer.models.common import Evidence
from analyzer.models.report import Generator

DIFF_SCHEMA_ID = "podmortem-diff/v1"


class Change(BaseModel):
    """One number in both bundles."""

    before: int | None = None
    after: int | None = None
    delta: int | None = None  # after - before, when both are known

    @property
    def changed(self) -> bool:
        return self.before != self.after


class Side(BaseModel):
    source: str  # the bundle's file or directory name
    host: str | None = None
    kernel: str | None = None
    collected_at: datetime | None = None


class ContainerDiff(BaseModel):
    """One container in either bundle, matched by pod and container name when the pod JSON names it,
    else by its cgroup path."""

    key: str
    pod: str | None = None  # namespace/name
    container: str | None = None
    cgroup_before: str | None = None
    cgroup_after: str | None = None
    status: Literal["added", "removed", "changed", "unchanged"]
    limit_bytes: Change = Change()  # the cgroup's limit (memory.limit_in_bytes / memory.max)
    spec_limit_bytes: Change = Change()  # resources.limits.memory in the pod spec
    usage_bytes: Change = Change()
    working_set_bytes: Change = Change()
    evidence_before: list[Evidence] = []  # files and lines of the first bundle these numbers came from
    evidence_after: list[Evidence] = []


class IncidentSide(BaseModel):
    """An incident present in one bundle only (by identity, not by its report id)."""

    identity: str  # "oom_kill pid 15510 (python3) in /kubepods/..." or "eviction of pod shop/cart"
    id: str  # its id in that bundle's report
    kind: Literal["oom_kill", "eviction"]
    summary: str
    time: datetime | None = None


class RestartChange(BaseModel):
    pod: str  # namespace/name
    container: str
    restarts: Change
    evidence_before: Evidence | None = None
    evidence_after: Evidence | None = None


class NodeNumber(BaseModel):
    name: str  # the NodeMemory field name (mem_total_bytes, free_available_bytes, ...)
    value: Change


class BundleDiff(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    schema_id: str = Field(default=DIFF_SCHEMA_ID, alias="schema")
    generator: Generator
    generated_at: datetime
    before: Side
    after: Side
    warnings: list[str] = []
    containers: list[ContainerDiff] = []  # changed, added, removed first; unchanged last
    new_incidents: list[IncidentSide] = []  # in after, not in before
    gone_incidents: list[IncidentSide] = []  # in before, not in after (rotated out of the log, or a reboot)
    restarts: list[RestartChange] = []  # containers whose restart count changed
    node: list[NodeNumber] = []
