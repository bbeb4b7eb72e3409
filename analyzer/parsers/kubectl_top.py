"""``kubectl top nodes`` and ``kubectl top pods`` tables (metrics-server numbers).

metrics-server reports the kubelet's working set (/stats/summary ``workingSetBytes``: usage
minus inactive_file, FACTS.md section 3) as MEMORY; ``kubectl top node`` prints MEMORY% as that
working set over the node's allocatable memory (kubectl top_node.go). Real paste
(kubernetes/kubernetes#112927)::

    NAME            CPU(cores)   CPU%   MEMORY(bytes)   MEMORY%
    k8s-107   1072m        2%     127894Mi        **100%**

``kubectl top pods`` prints ``NAME CPU(cores) MEMORY(bytes)`` (``NAMESPACE`` first with ``-A``).
Memory is a Kubernetes quantity (Mi, Ki).
"""
from __future__ import annotations

import re

from pydantic import BaseModel

from analyzer.models.common import Evidence, Parsed, Problem
from analyzer.quantity import parse_quantity

RE_NODES_HEADER = re.compile(r"^\s*NAME\s+CPU\(cores\)\s+CPU%\s+MEMORY\(bytes\)\s+MEMORY%")
RE_PODS_HEADER = re.compile(r"^\s*(?P<ns>NAMESPACE\s+)?NAME\s+CPU\(cores\)\s+MEMORY\(bytes\)\s*$")
RE_NODE_ROW = re.compile(r"^\s*(?P<name>[a-z0-9][-a-z0-9.]*)\s+(?P<cpu>\S+)\s+(?P<cpu_pct>\S+%)\s+(?P<mem>\d+[KMGT]i?)\s+(?P<mem_pct>\d+)%")
RE_POD_ROW = re.compile(r"^\s*(?:(?P<ns>[a-z0-9][-a-z0-9]*)\s+)?(?P<name>[a-z0-9][-a-z0-9.]*)\s+(?P<cpu>\d+m?)\s+(?P<mem>\d+[KMGT]i?)\s*$")


class TopRow(BaseModel):
    kind: str  # "node" or "pod"
    name: str
    namespace: str | None = None
    working_set_bytes: int
    percent_of_allocatable: int | None = None  # nodes only
    evidence: Evidence


def parse(text: str, source: str) -> Parsed[list[TopRow]]:
    """Rows of every ``kubectl top nodes`` / ``top pods`` table in ``text``.

    >>> r = parse("NAME  CPU(cores)  CPU%  MEMORY(bytes)  MEMORY%\\nk8s-107  1072m  2%  127894Mi  **100%**\\n", "p.txt")
    >>> row = r.value[0]
    >>> row.kind, row.name, row.working_set_bytes // 1024**2, row.percent_of_allocatable, row.evidence.line
    ('node', 'k8s-107', 127894, 100, 2)
    """
    rows: list[TopRow] = []
    table: str | None = None
    for no, raw in enumerate(text.split("\n"), start=1):
        line = raw.replace("*", "")  # markdown emphasis left in pastes
        if RE_NODES_HEADER.match(line):
            table = "node"
            continue
        if RE_PODS_HEADER.match(line):
            table = "pod"
            continue
        if table is None or not line.strip():
            table = None if not line.strip() else table
            continue
        match = (RE_NODE_ROW if table == "node" else RE_POD_ROW).match(line)
        if match is None:
            table = None
            continue
        memory = parse_quantity(match["mem"])
        if memory is None:
            continue
        rows.append(TopRow(kind=table, name=match["name"], namespace=match.groupdict().get("ns"), working_set_bytes=memory,
                           percent_of_allocatable=int(match["mem_pct"]) if table == "node" else None,
                           evidence=Evidence(file=source, line=no)))
    if not rows:
        return Parsed(value=[], status="unrecognised", problems=[Problem(message="no `kubectl top` table found", evidence=Evidence(file=source))])
    return Parsed(value=rows)
