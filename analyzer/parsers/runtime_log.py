"""Container runtime logs: containerd and CRI-O/conmon journals, dockerd journal, ``docker events``.

What each runtime writes when the kernel OOM-kills inside a container:

- containerd (CRI plugin, internal/cri/server/events.go) logs every task event it handles, e.g.
  ``TaskOOM event container_id:"<id>"`` (gogo-proto form on older releases:
  ``TaskOOM event &TaskOOM{ContainerID:<id>,...}``) and ``TaskExit event ... exit_status:137``; the
  CRI server logs ``StopPodSandbox for "<id>"``, ``RunPodSandbox for &PodSandboxMetadata{Name:..,
  Uid:..,Namespace:..} returns sandbox id "<id>"`` and ``CreateContainer within sandbox "<sb>" for
  &ContainerMetadata{Name:..} returns container id "<id>"`` (which name sandbox and container ids).
  Real lines (containerd#8893, pasted with "$ "; the TaskOOM id there is the pod SANDBOX id)::

    $ Sep 01 19:12:33 tmp-node-e2e-b9a730eb containerd[1472]: time="2023-09-01T19:12:33.012922721Z" level=info msg="TaskOOM event container_id:\\"4bcba7fc...\\""
    $ Sep 01 19:12:34 tmp-node-e2e-b9a730eb containerd[1472]: time="2023-09-01T19:12:34.733787645Z" level=info msg="StopPodSandbox for \\"4bcba7fc...\\""

- CRI-O itself logs nothing at info level for an OOM: it marks the container OOMKilled when conmon
  has written its ``oom`` file (cri-o internal/oci/runtime_oci.go ``UpdateContainerStatus``). conmon
  logs to syslog ``conmon <id, first 20 chars> <ninfo>: OOM received`` (cgroup v1 adds ``OOM event
  received``) (containers/conmon src/cgroup.c ``write_oom_files``, src/utils.h ``ninfo``).
- dockerd: ``docker events`` prints ``<time> container oom <id> (<labels>)`` and ``container die <id>
  (exitCode=137, ...)`` (docker/cli events formatter); the journal has ``topic=/tasks/oom`` lines at
  debug level. Real line (docker/for-linux#670, labels wrapped across lines by the paste)::

    2019-05-04T18:05:44.998251824-05:00 container oom 29d72966e0be... (annotation.io.kubernetes.container.hash=cad60de0, ...,
    io.kubernetes.container.name=notebook, io.kubernetes.pod.name=jupyter-******, io.kubernetes.pod.namespace=jhub-prod, ...)

Journald prefixes (``Sep 01 19:12:33 host containerd[1472]: ``, short-iso) and a pasted ``$ `` are
skipped. A journald stamp has no year; the logrus ``time="..."`` or docker's RFC 3339 stamp is used
when present.
"""
from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel

from analyzer.models.common import Evidence, Parsed, Problem
from analyzer.parsers.events import parse_time
from analyzer.units import parse_int

ID = r"[0-9a-f]{64}"
RE_PROMPT = re.compile(r"^\s*(?:\$\s+|#\s+)")
RE_JOURNAL = re.compile(
    r"^(?P<stamp>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d(?:\.\d+)?|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?)\s+"
    r"(?P<host>\S+)\s+(?P<unit>[\w.@-]+)(?:\[\d+\])?:\s"
)
RE_LOGRUS_TIME = re.compile(r'\btime="(?P<t>[^"]+)"')
RE_TASK_OOM = re.compile(rf'TaskOOM event (?:container_id:\\*"(?P<id>{ID})\\*"|&TaskOOM\{{ContainerID:(?P<id2>{ID}))')
RE_TASK_EXIT = re.compile(
    rf'TaskExit event (?:(?:in podsandbox handler )?container_id:\\*"(?P<cid>{ID})\\*" id:\\*"(?P<id>\w+)\\*" pid:(?P<pid>\d+) exit_status:(?P<status>\d+)'
    rf"|&TaskExit\{{ContainerID:(?P<cid2>{ID}),ID:(?P<id2>\w+),Pid:(?P<pid2>\d+),ExitStatus:(?P<status2>\d+))"
)
RE_TOPIC_OOM = re.compile(rf"topic=/tasks/oom\b.*?(?:container=(?P<id>{ID}))?|container=(?P<id2>{ID}).*?topic=/tasks/oom\b")
RE_STOP_SANDBOX = re.compile(rf'StopPodSandbox for \\*"(?P<id>{ID})\\*"(?P<ok> returns successfully)?')
RE_RUN_SANDBOX = re.compile(
    rf'RunPodSandbox for &PodSandboxMetadata\{{Name:(?P<name>[^,]*),Uid:(?P<uid>[^,]*),Namespace:(?P<ns>[^,]*),[^}}]*\}} returns sandbox id \\*"(?P<id>{ID})\\*"'
)
RE_CREATE_CONTAINER = re.compile(
    rf'CreateContainer within sandbox \\*"(?P<sandbox>{ID})\\*" for &ContainerMetadata\{{Name:(?P<name>[^,]*),[^}}]*\}} returns container id \\*"(?P<id>{ID})\\*"'
)
RE_CONMON_OOM = re.compile(r"conmon (?P<id>[0-9a-f]{12,64}) <ninfo>: OOM (?:event )?received")
RE_DOCKER_EVENT = re.compile(
    rf"^(?P<time>\d{{4}}-\d\d-\d\dT\S+)\s+container (?P<action>oom|die|kill|stop|start|destroy) (?P<id>{ID})(?:\s+\((?P<attrs>.*))?$"
)
RE_ATTR = re.compile(r"(?:^|,\s)(?P<key>[\w./-]+)=(?P<value>[^,]*)")
CONTAINERD_WORDS = ("TaskOOM", "TaskExit", "/tasks/oom", "PodSandbox", "CreateContainer", "<ninfo>: OOM")
# a line holding none of these cannot give an event or a problem (each is looked for in the line's body)
WORDS = ('"Action"', "container ", *CONTAINERD_WORDS)
RUNTIME_OF_UNIT = {"containerd": "containerd", "crio": "cri-o", "cri-o": "cri-o", "conmon": "cri-o", "dockerd": "docker", "docker": "docker"}


class RuntimeEvent(BaseModel):
    """One thing a container runtime logged about a container or sandbox."""

    runtime: str  # containerd | cri-o | docker
    kind: str  # oom | exit | die | stop_sandbox | sandbox_created | container_created | kill | stop | start | destroy
    container_id: str | None = None  # full id; a 20-char prefix from conmon
    task_id: str | None = None  # TaskExit: the exec/process id (== container id for the main process)
    exit_code: int | None = None
    pid: int | None = None
    time: datetime | None = None
    time_text: str | None = None  # a journald stamp without year
    sandbox_id: str | None = None
    pod_name: str | None = None
    pod_namespace: str | None = None
    pod_uid: str | None = None
    container_name: str | None = None
    message: str
    evidence: Evidence


def _strip(line: str) -> tuple[str, str | None, str | None]:
    """(message, unit, journald stamp) of a line without its "$ " and journald prefixes."""
    line = RE_PROMPT.sub("", line, count=1)
    journal = RE_JOURNAL.match(line)
    if journal is None:
        return line, None, None
    return line[journal.end():], journal["unit"], journal["stamp"]


def _runtime_of(unit: str | None, body: str, default: str) -> str:
    if unit in RUNTIME_OF_UNIT:
        return RUNTIME_OF_UNIT[unit]
    return default


def _time(body: str, stamp: str | None) -> tuple[datetime | None, str | None]:
    logrus = RE_LOGRUS_TIME.search(body)
    when = parse_time(logrus["t"]) if logrus else None
    if when is None and stamp is not None:
        when = parse_time(stamp)
    return when, None if when else stamp


def _containerd(body: str, unit: str | None, ev: Evidence, when, text_time) -> RuntimeEvent | None:
    common = dict(runtime=_runtime_of(unit, body, "containerd"), time=when, time_text=text_time, message=body.strip()[:400], evidence=ev)
    oom = RE_TASK_OOM.search(body)
    if oom is not None:
        return RuntimeEvent(kind="oom", container_id=oom["id"] or oom["id2"], **common)
    exit_ = RE_TASK_EXIT.search(body)
    if exit_ is not None:
        return RuntimeEvent(kind="exit", container_id=exit_["cid"] or exit_["cid2"], task_id=exit_["id"] or exit_["id2"],
                            pid=int(exit_["pid"] or exit_["pid2"]), exit_code=int(exit_["status"] or exit_["status2"]), **common)
    topic = RE_TOPIC_OOM.search(body)
    if topic is not None:
        return RuntimeEvent(kind="oom", container_id=topic["id"] or topic["id2"], **common)
    stop = RE_STOP_SANDBOX.search(body)
    if stop is not None:
        return RuntimeEvent(kind="stop_sandbox", container_id=stop["id"], sandbox_id=stop["id"], **common)
    run = RE_RUN_SANDBOX.search(body)
    if run is not None:
        return RuntimeEvent(kind="sandbox_created", container_id=run["id"], sandbox_id=run["id"], pod_name=run["name"] or None,
                            pod_uid=run["uid"] or None, pod_namespace=run["ns"] or None, **common)
    create = RE_CREATE_CONTAINER.search(body)
    if create is not None:
        return RuntimeEvent(kind="container_created", container_id=create["id"], sandbox_id=create["sandbox"],
                            container_name=create["name"] or None, **common)
    conmon = RE_CONMON_OOM.search(body)
    if conmon is not None:
        common["runtime"] = "cri-o"
        return RuntimeEvent(kind="oom", container_id=conmon["id"], **common)
    return None


def _docker_attrs(text: str) -> dict[str, str]:
    return {m["key"]: m["value"].strip().rstrip(")") for m in RE_ATTR.finditer(text)}


def _docker_event(body: str, attrs_text: str, ev: Evidence) -> RuntimeEvent | None:
    match = RE_DOCKER_EVENT.match(body.strip())
    if match is None:
        return None
    attrs = _docker_attrs(attrs_text)
    exit_code = attrs.get("exitCode")
    return RuntimeEvent(
        runtime="docker",
        kind=match["action"],
        container_id=match["id"],
        exit_code=parse_int(exit_code),
        time=parse_time(match["time"]),
        sandbox_id=attrs.get("io.kubernetes.sandbox.id") or None,
        pod_name=attrs.get("io.kubernetes.pod.name") or None,
        pod_namespace=attrs.get("io.kubernetes.pod.namespace") or None,
        pod_uid=attrs.get("io.kubernetes.pod.uid") or None,
        container_name=attrs.get("io.kubernetes.container.name") or None,
        message=body.strip()[:400],
        evidence=ev,
    )


def _docker_json(body: str, ev: Evidence) -> RuntimeEvent | None:
    """``docker events --format '{{json .}}'``: {"status": "oom", "id": ..., "Actor": {"Attributes": {...}}}."""
    try:
        obj = json.loads(body)
    except ValueError:
        return None
    if not isinstance(obj, dict) or obj.get("Type") != "container" or not isinstance(obj.get("Action"), str):
        return None
    action = obj["Action"].split(":")[0]
    actor = obj.get("Actor") if isinstance(obj.get("Actor"), dict) else {}
    attrs = actor.get("Attributes") if isinstance(actor.get("Attributes"), dict) else {}
    nanos = obj.get("timeNano")
    when = parse_time(datetime.utcfromtimestamp(nanos / 1e9).isoformat() + "Z") if isinstance(nanos, int) else None
    exit_code = attrs.get("exitCode")
    return RuntimeEvent(runtime="docker", kind=action, container_id=actor.get("ID") or obj.get("id"), time=when,
                        exit_code=parse_int(exit_code),
                        sandbox_id=attrs.get("io.kubernetes.sandbox.id"), pod_name=attrs.get("io.kubernetes.pod.name"),
                        pod_namespace=attrs.get("io.kubernetes.pod.namespace"), pod_uid=attrs.get("io.kubernetes.pod.uid"),
                        container_name=attrs.get("io.kubernetes.container.name"), message=body.strip()[:400], evidence=ev)


def _joined_docker_lines(lines: list[str], numbers: Sequence[int]) -> list[tuple[int, str]]:
    """docker events lines with their wrapped label continuations glued back (first line number kept)."""
    joined: list[tuple[int, str]] = []
    for no, raw in zip(numbers, lines):
        # the literal tests skip what cannot apply (2 us a line of a 30,000-line containerd journal):
        # a prompt has a '$' or '#', an open label list a '('
        line = RE_PROMPT.sub("", raw, count=1) if "$" in raw or "#" in raw else raw
        last = joined[-1][1] if joined else ""
        if "(" in last and _continues_docker_event(last.strip(), line):
            joined[-1] = (joined[-1][0], last + line.strip())  # wrapped mid-value: no space
            continue
        joined.append((no, line))
    return joined


def _continues_docker_event(previous: str, line: str) -> bool:
    return not previous.endswith(")") and bool(RE_DOCKER_EVENT.match(previous)) \
        and bool(line.strip()) and not RE_DOCKER_EVENT.match(line.strip()) and not RE_JOURNAL.match(line)


def parse(text: str, source: str, line_numbers: Sequence[int] | None = None) -> Parsed[list[RuntimeEvent]]:
    """Runtime events in order: OOM, exits, sandbox stops, and the lines that name ids.

    ``line_numbers``: the member's line number of each line of ``text`` when a big log was
    prefiltered (analyzer.prefilter keeps only the lines worth reading).

    >>> r = parse('Sep 01 19:12:33 n containerd[1472]: time="2023-09-01T19:12:33.01Z" level=info msg="TaskOOM event container_id:\\\\"'
    ...           + "4b" * 32 + '\\\\""', "containerd.log")
    >>> e = r.value[0]
    >>> e.runtime, e.kind, e.container_id[:4], e.time.isoformat(), e.evidence.line
    ('containerd', 'oom', '4b4b', '2023-09-01T19:12:33.010000+00:00', 1)
    """
    events: list[RuntimeEvent] = []
    problems: list[Problem] = []
    lines = text.split("\n")
    for no, line in _joined_docker_lines(lines, line_numbers or range(1, len(lines) + 1)):
        if not any(map(line.__contains__, WORDS)):
            continue  # the body is part of the line: nothing below can match (and no Evidence is made for it)
        ev = Evidence(file=source, line=no)
        body, unit, stamp = _strip(line)
        event = None
        if body.lstrip().startswith("{") and '"Action"' in body:
            event = _docker_json(body.strip(), ev)
        elif " container " in f" {body}":
            match = RE_DOCKER_EVENT.match(body.strip())
            event = _docker_event(body, match["attrs"] or "", ev) if match else None
        if event is None and any(k in body for k in CONTAINERD_WORDS):
            when, text_time = _time(body, stamp)
            event = _containerd(body, unit, ev, when, text_time)
        if event is not None:
            events.append(event)
        elif "container oom" in body or "TaskOOM" in body:
            problems.append(Problem(message=f"a runtime OOM line that could not be read: {body.strip()[:120]!r}", evidence=ev))
    if not events:
        return Parsed(value=[], status="unrecognised" if not problems else "partial",
                      problems=problems or [Problem(message="no container runtime event found in this file", evidence=Evidence(file=source))])
    return Parsed(value=events, status="partial" if problems else "complete", problems=problems)
