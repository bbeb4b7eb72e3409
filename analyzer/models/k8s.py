"""Kubernetes facts about pods and containers (from pod JSON/YAML, kubelet /pods, describe)."""
# no `from __future__ import annotations`: pydantic would compile each field's annotation string first

from datetime import datetime

from pydantic import BaseModel, Field

from analyzer.models.common import Evidence, new_dict, new_list


class ContainerInfo(BaseModel):
    name: str
    container_id: str | None = None  # bare id, the runtime prefix (containerd:// ...) removed
    runtime: str | None = None
    image: str | None = None
    requests_memory_bytes: int | None = None
    limits_memory_bytes: int | None = None
    restart_count: int | None = None
    state: str | None = None  # running | waiting | terminated
    state_reason: str | None = None
    terminated_reason: str | None = None
    terminated_exit_code: int | None = None
    terminated_finished_at: datetime | None = None
    last_container_id: str | None = None  # lastState.terminated.containerID: the previous (killed) container
    last_reason: str | None = None
    last_exit_code: int | None = None
    last_started_at: datetime | None = None
    last_finished_at: datetime | None = None
    is_init: bool = False
    evidence: dict[str, Evidence] = Field(default_factory=new_dict)


class PodInfo(BaseModel):
    uid: str | None = None
    namespace: str | None = None
    name: str | None = None
    node_name: str | None = None
    qos: str | None = None
    priority: int | None = None
    priority_class: str | None = None
    phase: str | None = None
    reason: str | None = None
    message: str | None = None
    owner_kind: str | None = None
    owner_name: str | None = None
    start_time: datetime | None = None
    disruption_message: str | None = None  # DisruptionTarget condition message (newer kubelets)
    containers: list[ContainerInfo] = Field(default_factory=new_list)
    evidence: dict[str, Evidence] = Field(default_factory=new_dict)

    @property
    def ref(self) -> str:
        """``namespace/name``; the name alone when a paste does not show the namespace."""
        if self.namespace is None and self.name:
            return self.name
        return f"{self.namespace or '?'}/{self.name or '?'}"

    @property
    def memory_request_bytes(self) -> int:
        return sum(c.requests_memory_bytes or 0 for c in self.containers if not c.is_init)
