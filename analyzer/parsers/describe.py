"""``kubectl describe pod`` text, several kubectl versions, whole or as pasted fragments.

Trimmed real sample (kubectl ~1.2x)::

    Name:           treetracker-pgpool-598947fd8f-vzvkq
    Namespace:      pgpool
    Status:         Failed
    Reason:         Evicted
    Message:        The node was low on resource: memory. Container treetracker-pgpool was using 1275700Ki, which e
    xceeds its request of 0.
    Containers:
      worker:
        Container ID:   containerd://3afe...
        State:          Running
        Last State:     Terminated
          Reason:       OOMKilled
          Exit Code:    137
          Finished:     Mon, 13 Dec 2021 18:02:42 -0800
        Restart Count:  5
        Limits:
          memory:  300Mi
    QoS Class:       Burstable

Fields are read by their names and indentation, not by column positions: pastes lose
alignment (single spaces, lone tabs) and cut Message lines mid-word. A fragment that starts
inside a container section becomes an unnamed container. Describe output has no pod UID: the
join to kernel incidents goes through the Container ID.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

from analyzer.models.common import Evidence, Parsed, Problem
from analyzer.models.k8s import ContainerInfo, PodInfo
from analyzer.parsers.pod_json import qos_class, split_container_id
from analyzer.quantity import parse_quantity

# value taken whole and right-stripped in code: ``(?P<value>.*?)\s*$`` backtracks quadratically on long runs of spaces
RE_FIELD = re.compile(r"^(?P<indent>[ \t]*)(?P<key>[A-Z][A-Za-z ()/]*?):[ \t]*(?P<value>.*)$")
RE_CONTAINER_NAME = re.compile(r"^(?P<indent>[ \t]{1,4})(?P<name>[a-z0-9][-a-z0-9.]*):\s*$")
RE_RESOURCE = re.compile(r"^[ \t]+(?P<key>memory|cpu|ephemeral-storage):\s*(?P<value>\S+)")
POD_KEYS = {"Name", "Namespace", "Priority", "Priority Class Name", "Node", "Start Time", "Status", "Reason", "Message", "QoS Class", "Controlled By"}
SECTION_ENDS = {"Conditions", "Volumes", "QoS Class", "Node-Selectors", "Tolerations", "Events"}
# the command line a paste often keeps: `kubectl -n shop describe pod cart-7d9f` (any flag order)
RE_DESCRIBE_CMD = re.compile(r"kubectl\b(?P<args>[^\n]*?)\bdescribe\s+(?:pods?|po)(?:/|\s+)(?P<rest>[^\n]*)")
RE_NAMESPACE_FLAG = re.compile(r"(?:-n\s*|--namespace[=\s]+)(?P<ns>[a-z0-9][-a-z0-9]*)")
RE_POD_NAME_ARG = re.compile(r"(?:^|\s)(?P<name>[a-z0-9][-a-z0-9.]*[a-z0-9])(?=\s|$|\*)")


def _time(text: str) -> datetime | None:
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):  # OverflowError: a year past C int
        return None
    return when.astimezone(timezone.utc) if when.tzinfo else when.replace(tzinfo=timezone.utc)


def _int(text: str) -> int | None:
    text = text.strip()
    return int(text) if re.fullmatch(r"-?\d{1,25}", text) else None  # not isdigit(): "²" is a digit int() refuses


class _Reader:
    def __init__(self, source: str) -> None:
        self.source = source
        self.pods: list[PodInfo] = []
        self.pod: PodInfo | None = None
        self.container: ContainerInfo | None = None
        self.state: str | None = None  # "state" or "last" while reading State / Last State details
        self.resources: str | None = None  # "limits" / "requests"
        self.in_containers = False
        self.last_key: str | None = None
        self.command: tuple[str | None, str | None, int] | None = None  # (namespace, pod name, line) of a pasted command

    def remember_command(self, no: int, raw: str) -> bool:
        match = RE_DESCRIBE_CMD.search(raw)
        if match is None:
            return False
        namespace = RE_NAMESPACE_FLAG.search(match["args"] + " " + match["rest"])
        rest = RE_NAMESPACE_FLAG.sub(" ", match["rest"])
        name = RE_POD_NAME_ARG.search(rest)
        self.command = (namespace["ns"] if namespace else None, name["name"] if name else None, no)
        return True

    def name_fragment(self, pods: list[PodInfo]) -> None:
        """A fragment without a Name: line takes the pod named on the pasted describe command line."""
        unnamed = [p for p in pods if p.name is None]
        if self.command is None or self.command[1] is None or len(unnamed) != 1:
            return
        namespace, name, no = self.command
        pod = unnamed[0]
        pod.name, pod.namespace = name, pod.namespace or namespace
        pod.evidence["name"] = self.ev(no)

    def ev(self, no: int) -> Evidence:
        return Evidence(file=self.source, line=no)

    def need_pod(self, no: int) -> PodInfo:
        if self.pod is None:
            self.pod = PodInfo()
            self.pod.evidence["pod"] = self.ev(no)
            self.pods.append(self.pod)
        return self.pod

    def need_container(self, no: int) -> ContainerInfo:
        if self.container is None:
            self.container = ContainerInfo(name="?")
            self.container.evidence["container"] = self.ev(no)
            self.need_pod(no).containers.append(self.container)
        return self.container

    def line(self, no: int, raw: str) -> None:
        if not raw.strip():
            self.resources = None
            return
        if "describe" in raw and self.remember_command(no, raw):
            return
        if self.resources:
            res = RE_RESOURCE.match(raw)
            if res is not None:
                if res.group("key") == "memory" and self.container is not None:
                    attr = "limits_memory_bytes" if self.resources == "limits" else "requests_memory_bytes"
                    setattr(self.container, attr, parse_quantity(res.group("value")))
                    self.container.evidence[self.resources] = self.ev(no)
                return
            self.resources = None
        name = RE_CONTAINER_NAME.match(raw)
        if name is not None and self.in_containers and name.group("name") not in ("memory", "cpu"):
            self.container = ContainerInfo(name=name.group("name"))
            self.container.evidence["container"] = self.ev(no)
            self.need_pod(no).containers.append(self.container)
            self.state = None
            return
        field = RE_FIELD.match(raw)
        if field is None:
            self.continuation(raw)
            return
        indent = len(field.group("indent").expandtabs(4))
        key, value = field.group("key").strip(), field.group("value").rstrip()
        self.last_key = key
        if indent == 0:
            self.top_level(no, key, value)
        else:
            self.container_field(no, key, value, indent)

    def continuation(self, raw: str) -> None:
        """A Message wrapped by the terminal or the paste: glue it back (no space: cut mid-word)."""
        if self.last_key == "Message" and self.pod is not None and self.pod.message is not None and not raw.startswith(" "):
            self.pod.message += raw.strip()

    def top_level(self, no: int, key: str, value: str) -> None:
        if key == "Name" and self.pod is not None and self.pod.name is not None:
            self.pod, self.container, self.in_containers = None, None, False  # the next pod of a multi-pod describe
        if key in ("Containers", "Init Containers"):
            self.in_containers, self.container = True, None
            return
        if key in SECTION_ENDS:
            self.in_containers = False
        if key not in POD_KEYS:
            return
        pod = self.need_pod(no)
        attr = {"Name": "name", "Namespace": "namespace", "Node": "node_name", "Status": "phase", "Reason": "reason",
                "Message": "message", "QoS Class": "qos", "Priority Class Name": "priority_class"}.get(key)
        if attr is not None:
            if key == "Message":
                value = value.strip("*").rstrip()  # markdown emphasis a paste kept around the line
            setattr(pod, attr, value.split("/")[0] if key == "Node" else qos_class(value) if key == "QoS Class" else value)
            pod.evidence[attr] = self.ev(no)
        elif key == "Priority":
            pod.priority = _int(value)
        elif key == "Start Time":
            pod.start_time = _time(value)
        elif key == "Controlled By" and "/" in value:
            pod.owner_kind, pod.owner_name = value.split("/", 1)

    def container_field(self, no: int, key: str, value: str, indent: int) -> None:
        if key in ("State", "Last State"):
            container = self.need_container(no)
            if key == "State" and container.state is not None:  # a second fragment: a new (unnamed) container
                self.container = None
                container = self.need_container(no)
            self.state = "state" if key == "State" else "last"
            if key == "State":
                container.state = value.strip().lower() or None
            container.evidence[self.state] = self.ev(no)
            return
        container = self.container
        if key == "Container ID":
            runtime, cid = split_container_id(value)
            container = self.need_container(no)
            container.runtime, container.container_id = runtime, cid
        elif key in ("Reason", "Exit Code", "Started", "Finished") and container is not None and self.state:
            self.state_detail(no, container, key, value)
        elif key == "Restart Count":
            self.need_container(no).restart_count = _int(value)
            self.container.evidence["restart_count"] = self.ev(no)
        elif key in ("Limits", "Requests"):
            self.need_container(no)
            self.resources = key.lower()
        elif key == "Image" and container is not None:
            container.image = value

    def state_detail(self, no: int, container: ContainerInfo, key: str, value: str) -> None:
        last = self.state == "last"
        if key == "Reason":
            if last:
                container.last_reason = value
                container.evidence["last_reason"] = self.ev(no)
            elif container.state == "terminated":
                container.terminated_reason = value
                container.evidence["terminated_reason"] = self.ev(no)
            else:
                container.state_reason = value
        elif key == "Exit Code":
            if last:
                container.last_exit_code = _int(value)
            else:
                container.terminated_exit_code = _int(value)
        elif key == "Finished":
            if last:
                container.last_finished_at = _time(value)
            else:
                container.terminated_finished_at = _time(value)
        elif key == "Started" and last:
            container.last_started_at = _time(value)


def parse(text: str, source: str) -> Parsed[list[PodInfo]]:
    """Pods (and containers) of a describe output.

    >>> text = "Name: cart\\nNamespace: shop\\nContainers:\\n  worker:\\n    Last State:     Terminated\\n      Reason:       OOMKilled\\n" \\
    ...        "      Exit Code:    137\\n    Restart Count:  3\\n    Limits:\\n      memory:  128Mi\\nQoS Class: Burstable\\n"
    >>> pod = parse(text, "d.txt").value[0]
    >>> pod.ref, pod.qos, [(c.name, c.last_reason, c.last_exit_code, c.restart_count, c.limits_memory_bytes) for c in pod.containers]
    ('shop/cart', 'Burstable', [('worker', 'OOMKilled', 137, 3, 134217728)])
    """
    reader = _Reader(source)
    for no, raw in enumerate(text.split("\n"), start=1):
        reader.line(no, raw.rstrip("\r"))
    pods = [p for p in reader.pods if p.name or p.containers or p.reason or p.message]
    reader.name_fragment(pods)
    if not pods:
        return Parsed(value=[], status="unrecognised", problems=[Problem(message="no pod or container fields found", evidence=Evidence(file=source))])
    fragment = any(p.name is None for p in pods)
    problems = [Problem(message="describe fragment: pod name not in the paste", evidence=Evidence(file=source))] if fragment else []
    return Parsed(value=pods, status="partial" if fragment else "complete", problems=problems)
