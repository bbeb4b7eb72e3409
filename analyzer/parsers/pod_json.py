"""Pod objects: ``kubectl get pod -o json|yaml`` (one Pod, a List/PodList), kubelet ``/pods``.

A trimmed real shape (core/v1 Pod)::

    {"kind": "Pod", "metadata": {"name": "cart-7d9f", "namespace": "shop", "uid": "f2e7..."},
     "spec": {"containers": [{"name": "worker", "resources": {"limits": {"memory": "128Mi"}}}], "priority": 0},
     "status": {"qosClass": "Burstable", "containerStatuses": [{"name": "worker", "restartCount": 3,
       "containerID": "containerd://3afe...", "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137,
       "containerID": "containerd://9b1c...", "finishedAt": "2026-11-24T11:02:03Z"}}}]}}

Pasted fragments that are not valid JSON/YAML (cut mid-object, trailing commas) are read
field by field where possible and reported as partial. Each value is cited at the line of its own
key, as the reader saw it (analyzer.textpos): a pod's name at its ``metadata.name``, a container at
its ``name`` in the pod's spec, its last termination reason in its own ``containerStatuses`` entry
(a minified /pods document is one line: every value is on line 1). A list is read one pod at a time:
only one pod's dicts are alive at once.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Container
from datetime import datetime, timezone

from pydantic import ValidationError

from analyzer.models.common import Evidence, Parsed, Problem
from analyzer.models.k8s import ContainerInfo, PodInfo
from analyzer.quantity import parse_quantity
from analyzer.textpos import Each, LineCounter, position, read_json, read_yaml

RUNTIME_PREFIXES = {"containerd": "containerd", "cri-o": "cri-o", "docker": "docker"}
RE_FRAGMENT_FIELD = re.compile(r'"?(?P<key>reason|exitCode|message|qosClass|phase|containerID|restartCount)"?\s*:\s*"?(?P<value>[^",\n]*)"?')


def _time(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc)
    except (ValueError, OverflowError):  # OverflowError: "0001-01-01T00:30:00+01:00" is before year 1 in UTC
        return None


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d{1,25}\s*", value):  # not isdigit(): "²" is a digit int() refuses
        return int(value)
    return None


QOS_CLASSES = ("Guaranteed", "Burstable", "BestEffort")  # v1.PodQOSClass: the report's PodRef.qos takes only these


def qos_class(value: object) -> str | None:
    """The pod's QoS class, or None for anything else (an edited or corrupt value must not reach the report).

    >>> qos_class("Burstable"), qos_class("burstable"), qos_class(3)
    ('Burstable', None, None)
    """
    return value if value in QOS_CLASSES else None


def _dict(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list:
    return value if isinstance(value, list) else []


def split_container_id(text: object) -> tuple[str | None, str | None]:
    """(runtime, bare id) of ``containerd://<id>``.

    >>> split_container_id("containerd://3afe"), split_container_id("docker://ab"), split_container_id(None)
    (('containerd', '3afe'), ('docker', 'ab'), (None, None))
    """
    if not isinstance(text, str) or not text:
        return None, None
    scheme, sep, rest = text.partition("://")
    if not sep:
        return None, text
    return RUNTIME_PREFIXES.get(scheme, scheme), rest


class _Lines:
    """Evidence at a position of the text (a key's, as the reader recorded it; None: not in the text).
    One Evidence a line (it is frozen): a minified /pods document cites line 1 some 4,000 times."""

    def __init__(self, text: str, source: str) -> None:
        self.source, self.counter = source, LineCounter(text)
        self.made: dict[int | None, Evidence] = {}

    def at(self, offset: int | None) -> Evidence:
        line = self.counter.line_at(offset)
        evidence = self.made.get(line)
        if evidence is None:
            evidence = self.made[line] = Evidence(file=self.source, line=line)
        return evidence


def _container(spec: dict, status: dict, lines: _Lines, is_init: bool) -> ContainerInfo:
    resources = _dict(spec.get("resources"))
    runtime, cid = split_container_id(status.get("containerID"))
    state = _dict(status.get("state"))
    last = _dict(_dict(status.get("lastState")).get("terminated"))
    current_term = _dict(state.get("terminated"))
    state_name = next((k for k in ("running", "waiting", "terminated") if k in state), None)
    _, last_cid = split_container_id(last.get("containerID"))
    name = spec.get("name") or status.get("name") or "?"
    info = ContainerInfo(
        name=str(name),
        container_id=cid,
        runtime=runtime,
        image=spec.get("image") or status.get("image"),
        requests_memory_bytes=parse_quantity(_dict(resources.get("requests")).get("memory")),
        limits_memory_bytes=parse_quantity(_dict(resources.get("limits")).get("memory")),
        restart_count=_int(status.get("restartCount")),
        state=state_name,
        state_reason=_dict(state.get(state_name)).get("reason") if state_name else None,
        terminated_reason=current_term.get("reason"),
        terminated_exit_code=_int(current_term.get("exitCode")),
        terminated_finished_at=_time(current_term.get("finishedAt")),
        last_container_id=last_cid,
        last_reason=last.get("reason"),
        last_exit_code=_int(last.get("exitCode")),
        last_started_at=_time(last.get("startedAt")),
        last_finished_at=_time(last.get("finishedAt")),
        is_init=is_init,
    )
    info.evidence["container"] = lines.at(position(spec, "name") if spec.get("name") else position(status, "name") if status.get("name") else None)
    if last.get("reason"):
        info.evidence["last_reason"] = lines.at(position(last, "reason"))
    info.evidence["restart_count"] = lines.at(position(status, "restartCount"))
    info.evidence["limits"] = lines.at(position(resources, "limits"))
    return info


def _pod(obj: dict, lines: _Lines) -> PodInfo:
    meta, spec, status = _dict(obj.get("metadata")), _dict(obj.get("spec")), _dict(obj.get("status"))
    statuses = {s.get("name"): s for s in _list(status.get("containerStatuses")) + _list(status.get("initContainerStatuses")) if isinstance(s, dict)}
    containers = []
    for is_init, key in ((False, "containers"), (True, "initContainers")):
        for c in _list(spec.get(key)):
            if isinstance(c, dict):
                containers.append(_container(c, _dict(statuses.pop(c.get("name"), None)), lines, is_init))
    for leftover in statuses.values():  # a status whose spec the paste lacks
        containers.append(_container({}, leftover, lines, False))
    owner = next((o for o in _list(meta.get("ownerReferences")) if isinstance(o, dict)), {})
    disruption = next(
        (c.get("message") for c in _list(status.get("conditions")) if isinstance(c, dict) and c.get("type") == "DisruptionTarget"),
        None,
    )
    pod = PodInfo(
        uid=meta.get("uid"),
        namespace=meta.get("namespace"),
        name=meta.get("name"),
        node_name=spec.get("nodeName"),
        qos=qos_class(status.get("qosClass")),
        priority=_int(spec.get("priority")),
        priority_class=spec.get("priorityClassName"),
        phase=status.get("phase"),
        reason=status.get("reason"),
        message=status.get("message"),
        owner_kind=owner.get("kind"),
        owner_name=owner.get("name"),
        start_time=_time(status.get("startTime")),
        disruption_message=disruption,
        containers=containers,
    )
    pod.evidence["pod"] = lines.at(position(meta, "name") if pod.name else position(meta, "uid") if pod.uid else None)
    if pod.message:
        pod.evidence["message"] = lines.at(position(status, "message"))
    if pod.reason:
        pod.evidence["reason"] = lines.at(position(status, "reason"))
    return pod


class _Read:
    """What one object of the document gave: a pod, a problem (a pod that could not be read), or
    neither (an object of another kind). Objects with none of metadata/spec/status are dropped."""

    def __init__(self, pod: PodInfo | None = None, problem: Problem | None = None, known: bool = False) -> None:
        self.pod, self.problem, self.known = pod, problem, known


def _reader(lines: _Lines, source: str) -> Callable[[object], _Read | None]:
    def read(obj: object) -> _Read | None:
        if not isinstance(obj, dict) or not ("metadata" in obj or "status" in obj or "spec" in obj):
            return None
        if obj.get("kind") not in (None, "Pod"):
            return _Read()
        try:
            return _Read(pod=_pod(obj, lines))
        except ValidationError as err:  # a field of the wrong type (an edited or corrupt file): that pod is skipped, and said
            return _Read(problem=Problem(message=f"a pod object was skipped: {str(err).splitlines()[1:3]}", evidence=Evidence(file=source)))

    return read


# Where the reader records positions: the objects whose keys are cited, and the arrays that lead to them.
CONTAINER_PLAN = {"resources": {}}
STATUS_PLAN = {"lastState": {"terminated": {}}}
POD_PLAN = {
    "metadata": {},
    "spec": {"containers": [CONTAINER_PLAN], "initContainers": [CONTAINER_PLAN]},
    "status": {"containerStatuses": [STATUS_PLAN], "initContainerStatuses": [STATUS_PLAN]},
}
RE_LEADING_SPACE = re.compile(r"\s*")  # str.isspace's characters, as text.lstrip() (which copies the text) strips


def _uid(obj: object) -> object:
    metadata = obj.get("metadata") if isinstance(obj, dict) else None
    return metadata.get("uid") if isinstance(metadata, dict) else None


def _read_objects(text: str, source: str, known_uids: Container[str] = ()) -> list[_Read]:
    """What each object of the document gave (a List's or a PodList's items, an array's elements, or
    the one object), read one pod at a time; a list item whose UID is in ``known_uids`` gives
    ``_Read(known=True)``, read without positions and without a PodInfo. Raises on what is neither JSON
    nor YAML."""
    lines = _Lines(text, source)
    read = _reader(lines, source)
    passed_over = []

    def wanted(obj: object) -> bool:
        if _uid(obj) in known_uids:
            passed_over.append(_Read(known=True))
            return False
        return True

    items = Each(POD_PLAN, read, wanted=wanted if known_uids else None)
    return _objects_of(text, lines, read, items) + passed_over


def _objects_of(text: str, lines: _Lines, read: Callable[[object], _Read | None], items: Each) -> list[_Read]:
    """The document's objects as ``read`` gave them: a pod list's items (through ``items``), or the one object."""
    plan = ({**POD_PLAN, "items": items}, items)  # an array of pods, or an object: a List (items) or one Pod (known at its end)
    start = RE_LEADING_SPACE.match(text).end()
    data = read_json(text, start, plan) if text.startswith(("{", "["), start) else read_yaml(text, plan)
    if isinstance(data, list):
        return data
    if not isinstance(data, dict):
        return []
    if isinstance(data.get("items"), list):
        return data["items"]
    one = read(data)
    return [one] if one is not None else []


def _fragment(text: str, source: str) -> Parsed[list[PodInfo]]:
    """A paste that is not a whole document: read the fields that matter, line by line."""
    pod = PodInfo()
    container = ContainerInfo(name="?")
    in_last = False
    for no, line in enumerate(text.split("\n"), start=1):
        if "lastState" in line or "termination" in line:
            in_last = True
        for match in RE_FRAGMENT_FIELD.finditer(line):
            key, value = match.group("key"), match.group("value").strip().strip("'")
            ev = Evidence(file=source, line=no)
            if key == "reason" and in_last and container.last_reason is None:
                container.last_reason, container.evidence["last_reason"] = value, ev
            elif key == "reason" and pod.reason is None:
                pod.reason, pod.evidence["reason"] = value, ev
            elif key == "exitCode":
                container.last_exit_code = _int(value)
            elif key == "message" and pod.message is None:
                pod.message, pod.evidence["message"] = value, ev
            elif key == "qosClass":
                pod.qos = qos_class(value)
            elif key == "phase":
                pod.phase = value
            elif key == "containerID":
                runtime, cid = split_container_id(value)
                container.runtime = runtime
                if in_last:
                    container.last_container_id = cid
                else:
                    container.container_id = cid
            elif key == "restartCount":
                container.restart_count = _int(value)
    if pod.message and pod.message.count("'") == 0:
        pod.message = _continued_message(text, pod.message)
    if container.last_reason or container.last_exit_code is not None or container.container_id:
        pod.containers.append(container)
    if not (pod.reason or pod.message or pod.containers or pod.qos):
        return Parsed(value=[], status="unrecognised", problems=[Problem(message="no pod fields found", evidence=Evidence(file=source))])
    needle = pod.reason or pod.message
    at = text.find(needle) if needle else -1
    pod.evidence.setdefault("pod", Evidence(file=source, line=LineCounter(text).line_at(at) if at >= 0 else None))
    return Parsed(value=[pod], status="partial", problems=[Problem(message="not a whole pod document: read field by field", evidence=Evidence(file=source))])


def _continued_message(text: str, start: str) -> str:
    """A YAML message folded over several indented lines, joined back."""
    at = text.find(start)
    tail = text[at:].split("\n")
    parts = [tail[0]]
    for line in tail[1:]:
        if line.startswith("    ") and ":" not in line.split()[0]:
            parts.append(line.strip())
        else:
            break
    return " ".join(parts).strip().strip("'").strip()


def parse(text: str, source: str, known_uids: Container[str] = ()) -> Parsed[list[PodInfo]]:
    """Every pod in the text (but the items of a list whose UID is in ``known_uids``: the pipeline passes
    the pods it already has, which the kubelet's /pods lists again after kubectl's).

    >>> doc = '{"kind": "Pod", "metadata": {"name": "cart", "namespace": "shop", "uid": "u1"}, "status": {"qosClass": "Burstable",' \\
    ...       ' "containerStatuses": [{"name": "worker", "restartCount": 3, "containerID": "containerd://abc",' \\
    ...       ' "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137, "containerID": "containerd://old"}}}]}}'
    >>> pod = parse(doc, "pods.json").value[0]
    >>> pod.ref, pod.qos, pod.containers[0].last_reason, pod.containers[0].last_container_id, pod.containers[0].restart_count
    ('shop/cart', 'Burstable', 'OOMKilled', 'old', 3)
    """
    try:
        read = _read_objects(text, source, known_uids)
    except (ValueError, RecursionError):  # ValueError: not JSON or YAML (read_yaml says so); RecursionError: "[[[[..." nested past yaml's stack
        return _fragment(text, source)
    if not read:
        return _fragment(text, source)
    pods = [r.pod for r in read if r.pod is not None]
    problems = [r.problem for r in read if r.problem is not None]
    if not pods and any(r.known for r in read):  # every pod of the list was read before, from another file
        return Parsed(value=[], status="complete", problems=problems)
    if not pods and not problems:
        problems.append(Problem(message="no Pod object in this JSON/YAML", evidence=Evidence(file=source)))
    return Parsed(value=pods, status=("partial" if problems else "complete") if pods else "unrecognised", problems=problems)
