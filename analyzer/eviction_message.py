"""The kubelet's eviction message (pod status.message, Evicted events), as fields.

Written by pkg/kubelet/eviction/helpers.go ``evictionMessage`` (FACTS.md §4)::

    The node was low on resource: memory. Threshold quantity: 100Mi, available: 51200Ki.
    Container app was using 1843200Ki, which exceeds its request of 512Mi.

Newer kubelets: ``Container X was using Y, request is Z, has larger consumption of memory.``;
pod-level: ``Pod X was using Y, request is Z, ...``; admission: ``The node had condition: [MemoryPressure].``
"""
from __future__ import annotations

import re

from pydantic import BaseModel

from analyzer.quantity import parse_quantity

RE_RESOURCE = re.compile(r"low on resource: \[?(?P<resource>[A-Za-z.-]+)\]?")
RE_THRESHOLD = re.compile(r"Threshold quantity: (?P<threshold>[^,\s]+), available: (?P<available>[^.\s]+(?:\.\d+)?[A-Za-z]*)")
RE_CONTAINER = re.compile(
    r"(?P<kind>Container|Pod) (?P<name>\S+) was using (?P<usage>[^,\s]+),\s+(?:which exceeds its request of (?P<old_request>[^.\s]+)"
    r"|request is (?P<request>[^,\s]+))"
)
RE_CONDITION = re.compile(r"The node had condition: \[(?P<conditions>[^\]]*)\]")


class OffendingContainer(BaseModel):
    name: str
    usage_bytes: int | None = None
    request_bytes: int | None = None
    pod_level: bool = False


class EvictionMessage(BaseModel):
    resource: str | None = None  # "memory", "ephemeral-storage", "MemoryPressure" (old 1.6 wording)
    threshold_bytes: int | None = None
    available_bytes: int | None = None
    containers: list[OffendingContainer] = []
    admission_conditions: list[str] = []  # "The node had condition: [MemoryPressure]" (rejected at admission)


def parse_eviction_message(message: str) -> EvictionMessage | None:
    """Fields of an eviction message; None when it is not one.

    >>> m = parse_eviction_message("The node was low on resource: memory. Threshold quantity: 100Mi, available: 51200Ki. "
    ...                            "Container app was using 1843200Ki, which exceeds its request of 512Mi. ")
    >>> m.resource, m.threshold_bytes, m.available_bytes, m.containers[0].usage_bytes, m.containers[0].request_bytes
    ('memory', 104857600, 52428800, 1887436800, 536870912)
    """
    text = " ".join(message.split())
    resource = RE_RESOURCE.search(text)
    condition = RE_CONDITION.search(text)
    if resource is None and condition is None:
        return None
    parsed = EvictionMessage(resource=resource.group("resource").rstrip(".") if resource else None)
    threshold = RE_THRESHOLD.search(text)
    if threshold is not None:
        parsed.threshold_bytes = parse_quantity(threshold.group("threshold"))
        parsed.available_bytes = parse_quantity(threshold.group("available").rstrip("."))
    for match in RE_CONTAINER.finditer(text):
        request = match.group("request") or match.group("old_request")
        parsed.containers.append(
            OffendingContainer(
                name=match.group("name"),
                usage_bytes=parse_quantity(match.group("usage")),
                request_bytes=parse_quantity(request.rstrip(".")) if request else None,
                pod_level=match.group("kind") == "Pod",
            )
        )
    if condition is not None:
        parsed.admission_conditions = [c.strip() for c in condition.group("conditions").split(",") if c.strip()]
    return parsed
