"""``kubectl describe node``: the node's memory capacity and allocatable (its Events go to events.py).

The kubelet reports capacity = the machine's memory (cAdvisor MachineInfo, MemTotal) and
allocatable = capacity - kube-reserved - system-reserved - the hard eviction threshold
(pkg/kubelet/cm/node_container_manager_linux.go; FACTS.md section 4). Real paste
(kubernetes/kubernetes#112927)::

    Addresses:
      InternalIP:  172.18.13.107
      Hostname:    k8s-107
    Capacity:
     cpu:                40
     memory:             131671024Ki
    Allocatable:
     memory:             131437552Ki
"""
from __future__ import annotations

import re

from pydantic import BaseModel

from analyzer.models.common import Evidence, Parsed, Problem
from analyzer.quantity import parse_quantity

RE_SECTION = re.compile(r"^(?P<name>Capacity|Allocatable):\s*$")
RE_MEMORY = re.compile(r"^\s+memory:\s+(?P<value>\S+)\s*$")
RE_NAME = re.compile(r"^(?:Name:|\s+Hostname:)\s+(?P<name>[a-z0-9][-a-z0-9.]*)\s*$")


class NodeCapacity(BaseModel):
    name: str | None = None
    capacity_memory_bytes: int | None = None
    allocatable_memory_bytes: int | None = None
    evidence: dict[str, Evidence] = {}


def parse(text: str, source: str) -> Parsed[NodeCapacity]:
    """Capacity and Allocatable memory of the first node described in ``text``.

    >>> r = parse("Name: n1\\nCapacity:\\n memory: 1Gi\\nAllocatable:\\n memory: 900Mi\\n", "node.txt")
    >>> r.value.name, r.value.capacity_memory_bytes, r.value.allocatable_memory_bytes // 1024**2
    ('n1', 1073741824, 900)
    """
    node = NodeCapacity()
    section = None
    for no, line in enumerate(text.split("\n"), start=1):
        name = RE_NAME.match(line)
        if name is not None and node.name is None:
            node.name = name["name"]
            continue
        heading = RE_SECTION.match(line)
        if heading is not None:
            section = heading["name"].lower()
            continue
        memory = RE_MEMORY.match(line)
        if memory is not None and section is not None:
            field = f"{section}_memory_bytes"
            if getattr(node, field) is None:
                setattr(node, field, parse_quantity(memory["value"]))
                node.evidence[section] = Evidence(file=source, line=no)
            continue
        if line and not line[0].isspace():
            section = None
    if node.capacity_memory_bytes is None and node.allocatable_memory_bytes is None:
        return Parsed(value=None, status="unrecognised", problems=[Problem(message="no Capacity/Allocatable memory found", evidence=Evidence(file=source))])
    return Parsed(value=node)
