"""Kubelet ``/stats/summary`` (statsapi v1alpha1): node, system containers and per-pod memory.

Trimmed real sample (GKE, 2017; newer kubelets add pods[].memory at pod level)::

    {"node": {"nodeName": "gke-...", "memory": {"availableBytes": 1768316928, "usageBytes": 2764943360,
              "workingSetBytes": 2111090688, "rssBytes": 2150400}, "systemContainers": [{"name": "kubelet", ...}]},
     "pods": [{"podRef": {"name": "nginx-...", "namespace": "default", "uid": "..."},
               "memory": {"workingSetBytes": ...}, "containers": [{"name": "nginx", "memory": {"workingSetBytes": 1454080}}]}]}

node.memory.availableBytes is the kubelet's memory.available (MemTotal - root working set);
the ``pods`` system container is the kubepods cgroup behind allocatableMemory.available (FACTS.md §3, §4).
A pod's working set is its pod cgroup's, or the sum of its containers' when the pod level is absent.
The summary is cited at node.memory's ``availableBytes`` (the ``pods`` system container, printed before
it, has one too), each pod at its podRef ``name``; pods are read one at a time (analyzer.textpos).
"""
from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel

from analyzer.models.common import Evidence, Parsed, Problem
from analyzer.textpos import Each, LineCounter, position, read_json, refusal


class MemoryStats(BaseModel):
    available_bytes: int | None = None
    usage_bytes: int | None = None
    working_set_bytes: int | None = None
    rss_bytes: int | None = None


class PodStats(BaseModel):
    namespace: str | None = None
    name: str | None = None
    uid: str | None = None
    memory: MemoryStats
    evidence: Evidence


class Summary(BaseModel):
    node_name: str | None = None
    node: MemoryStats | None = None
    system_containers: dict[str, MemoryStats] = {}
    pods: list[PodStats] = []
    evidence: Evidence


def _memory(obj: object) -> MemoryStats | None:
    if not isinstance(obj, dict):
        return None
    pick = lambda key: obj[key] if isinstance(obj.get(key), int) and not isinstance(obj.get(key), bool) else None  # noqa: E731
    return MemoryStats(available_bytes=pick("availableBytes"), usage_bytes=pick("usageBytes"),
                       working_set_bytes=pick("workingSetBytes"), rss_bytes=pick("rssBytes"))


def _pod_memory(pod: dict) -> MemoryStats:
    own = _memory(pod.get("memory"))
    if own is not None and own.working_set_bytes is not None:
        return own
    sets = [m.working_set_bytes for c in pod.get("containers") or [] if isinstance(c, dict) for m in [_memory(c.get("memory"))] if m and m.working_set_bytes is not None]
    return MemoryStats(working_set_bytes=sum(sets) if sets else None)


def parse(text: str, source: str) -> Parsed[Summary]:
    """
    >>> s = parse('{"node": {"nodeName": "n1", "memory": {"availableBytes": 5, "workingSetBytes": 7}},'
    ...           ' "pods": [{"podRef": {"name": "a", "namespace": "ns"}, "containers": [{"memory": {"workingSetBytes": 3}}]}]}', "s.json").value
    >>> s.node.available_bytes, s.pods[0].name, s.pods[0].memory.working_set_bytes
    (5, 'a', 3)
    """
    start = text.find("{")
    lines = LineCounter(text)
    plan = {"node": {"memory": {}}, "pods": Each({"podRef": {}}, _pod_reader(lines, source))}
    try:
        data = read_json(text, start, plan) if start >= 0 else None
    except ValueError as err:
        return Parsed(status="unrecognised", problems=[Problem(message=f"stats/summary is not whole JSON: {refusal(text, start, err)}", evidence=Evidence(file=source))])
    if not isinstance(data, dict):
        return Parsed(status="unrecognised", problems=[Problem(message="stats/summary is not a JSON object", evidence=Evidence(file=source))])
    node = data.get("node") if isinstance(data.get("node"), dict) else ({"memory": data} if "workingSetBytes" in data else {})
    summary = Summary(node_name=node.get("nodeName") if isinstance(node.get("nodeName"), str) else None, node=_memory(node.get("memory")),
                      evidence=Evidence(file=source, line=lines.line_at(_available_at(text, node))))
    containers = node.get("systemContainers")
    for container in containers if isinstance(containers, list) else []:  # a mangled paste: anything but a list is none
        if isinstance(container, dict) and isinstance(container.get("name"), str):
            memory = _memory(container.get("memory"))
            if memory is not None:
                summary.system_containers[container["name"]] = memory
    if isinstance(data.get("pods"), list):  # the PodStats the reader made, one pod at a time
        summary.pods = data["pods"]
    return Parsed(value=summary)


def _available_at(text: str, node: dict) -> int | None:
    """Where node.memory.availableBytes is; without one, the first availableBytes of the text (as always)."""
    at = position(node.get("memory"), "availableBytes")
    if at is None:
        at = text.find("availableBytes")
    return at if at >= 0 else None


def _pod_reader(lines: LineCounter, source: str) -> Callable[[object], PodStats | None]:
    def read(pod: object) -> PodStats | None:
        if not isinstance(pod, dict):
            return None
        located = pod.get("podRef") if isinstance(pod.get("podRef"), dict) else {}
        ref = {k: v for k, v in located.items() if isinstance(v, str)}  # a number or a list where a name belongs is not a name
        at = position(located, "name") if "name" in ref else None
        return PodStats(namespace=ref.get("namespace"), name=ref.get("name"), uid=ref.get("uid"),
                        memory=_pod_memory(pod), evidence=Evidence(file=source, line=lines.line_at(at)))

    return read
