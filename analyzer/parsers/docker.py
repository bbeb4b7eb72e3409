"""``docker inspect`` JSON and the ``docker stats --no-stream`` table (docker CLI 20.10+).

``docker inspect`` prints a JSON array, one object per container (docker/cli
cli/command/inspect). The fields an incident needs, trimmed from a real lab capture::

    [{"Id": "cbc5fb5e...", "Name": "/eater-burstable-d33c7df1",
      "State": {"Status": "exited", "OOMKilled": true, "ExitCode": 137, "Pid": 0,
                "StartedAt": "2026-11-24T12:57:05.476581312Z", "FinishedAt": "2026-11-24T12:57:05.822307952Z"},
      "HostConfig": {"Memory": 134217728, "CgroupParent": "/kubepods/burstable/podd33c7df1-..."},
      "Config": {"Labels": {"io.kubernetes.pod.name": "...", ...}}}]

Under dockershim / cri-dockerd, names are ``/k8s_<container>_<pod>_<namespace>_<pod uid>_<attempt>``
and labels carry ``io.kubernetes.pod.name``/``namespace``/``uid`` and ``io.kubernetes.container.name``.
``docker stats`` MEM USAGE uses binary units (KiB, MiB, GiB: docker/go-units BytesSize).
"""
from __future__ import annotations

import json
import re
from datetime import datetime, timezone

from pydantic import BaseModel

from analyzer.models.common import Evidence, Parsed, Problem
from analyzer.textpos import LineIndex

RE_K8S_NAME = re.compile(r"^/?k8s_(?P<container>[^_]+)_(?P<pod>[^_]+)_(?P<namespace>[^_]+)_(?P<uid>[^_]+)_(?P<attempt>\d+)$")
RE_STATS_ROW = re.compile(
    r"^(?P<id>[0-9a-f]{12,64})\s+(?P<name>\S+)\s+(?P<cpu>[\d.]+%|--)\s+(?P<usage>[\d.]+\s*[KMGTP]?i?B)\s*/\s*(?P<limit>[\d.]+\s*[KMGTP]?i?B)"
)
UNITS = {"B": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3, "TiB": 1024**4, "kB": 1000, "KB": 1000, "MB": 1000**2, "GB": 1000**3}


class DockerContainer(BaseModel):
    id: str
    name: str | None = None
    oom_killed: bool | None = None
    exit_code: int | None = None
    status: str | None = None
    pid: int | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    memory_limit_bytes: int | None = None
    cgroup_parent: str | None = None
    pod_name: str | None = None
    pod_namespace: str | None = None
    pod_uid: str | None = None
    container_name: str | None = None
    evidence: Evidence | None = None


class DockerStatsRow(BaseModel):
    id: str
    name: str
    usage_bytes: int
    limit_bytes: int
    evidence: Evidence


def _time(text: object) -> datetime | None:
    if not isinstance(text, str) or not text or text.startswith("0001-01-01"):
        return None
    match = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)?$", text)
    if match is None:
        return None
    frac = (match.group(2) or "")[:7]
    zone = match.group(3) or "Z"
    try:
        return datetime.fromisoformat(match.group(1) + frac + ("+00:00" if zone == "Z" else zone)).astimezone(timezone.utc)
    except ValueError:
        return None


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _container(obj: dict, lines: LineIndex, source: str) -> DockerContainer | None:
    cid = obj.get("Id")
    if not isinstance(cid, str) or not re.fullmatch(r"[0-9a-f]{12,64}", cid):
        return None
    state = obj.get("State") if isinstance(obj.get("State"), dict) else {}
    host = obj.get("HostConfig") if isinstance(obj.get("HostConfig"), dict) else {}
    config = obj.get("Config") if isinstance(obj.get("Config"), dict) else {}
    labels = config.get("Labels") if isinstance(config.get("Labels"), dict) else {}
    name = obj.get("Name") if isinstance(obj.get("Name"), str) else None
    k8s = RE_K8S_NAME.match(name or "")
    memory = _int(host.get("Memory"))
    return DockerContainer(
        id=cid,
        name=name.lstrip("/") if name else None,
        oom_killed=state.get("OOMKilled") if isinstance(state.get("OOMKilled"), bool) else None,
        exit_code=_int(state.get("ExitCode")),
        status=state.get("Status") if isinstance(state.get("Status"), str) else None,
        pid=_int(state.get("Pid")) or None,
        started_at=_time(state.get("StartedAt")),
        finished_at=_time(state.get("FinishedAt")),
        memory_limit_bytes=memory or None,
        cgroup_parent=host.get("CgroupParent") if isinstance(host.get("CgroupParent"), str) else None,
        pod_name=labels.get("io.kubernetes.pod.name") or (k8s.group("pod") if k8s else None),
        pod_namespace=labels.get("io.kubernetes.pod.namespace") or (k8s.group("namespace") if k8s else None),
        pod_uid=labels.get("io.kubernetes.pod.uid") or (k8s.group("uid") if k8s else None),
        container_name=labels.get("io.kubernetes.container.name") or (k8s.group("container") if k8s else None),
        # this container's own OOMKilled line: after its Id (``docker inspect a b`` prints several objects)
        evidence=Evidence(file=source, line=lines.find_line('"OOMKilled"', max(lines.text.find(cid), 0)) or lines.find_line(cid)),
    )


def parse_inspect(text: str, source: str) -> Parsed[list[DockerContainer]]:
    """Containers of a ``docker inspect`` output (an array, or one object).

    >>> r = parse_inspect('[{"Id": "' + "a" * 64 + '", "Name": "/k8s_worker_cart-7d9f_shop_u1_3", '
    ...                   '"State": {"OOMKilled": true, "ExitCode": 137}}]', "docker-inspect.json")
    >>> c = r.value[0]
    >>> c.oom_killed, c.exit_code, c.pod_namespace, c.pod_name, c.container_name
    (True, 137, 'shop', 'cart-7d9f', 'worker')
    """
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as err:
        return Parsed(status="unrecognised", problems=[Problem(message=f"docker inspect output is not JSON: {err}", evidence=Evidence(file=source))])
    items = data if isinstance(data, list) else [data]
    lines = LineIndex(text)
    containers = [c for c in (_container(obj, lines, source) for obj in items if isinstance(obj, dict)) if c is not None]
    if not containers:
        return Parsed(value=[], status="unrecognised", problems=[Problem(message="no container in docker inspect output", evidence=Evidence(file=source))])
    return Parsed(value=containers)


def size_bytes(text: str) -> int | None:
    """A docker size like ``102.3MiB`` in bytes (binary units as docker prints them).

    >>> size_bytes("102.3MiB"), size_bytes("128MiB"), size_bytes("0B")
    (107269325, 134217728, 0)
    """
    match = re.fullmatch(r"\s*(\d{1,20}(?:\.\d{1,20})?)\s*([KMGTP]?i?B|kB)\s*", text)  # not [\d.]+: "1.2.3" and 400 digits broke float()/round()
    if match is None or match.group(2) not in UNITS:
        return None
    return round(float(match.group(1)) * UNITS[match.group(2)])


def parse_stats(text: str, source: str) -> Parsed[list[DockerStatsRow]]:
    """Rows of the ``docker stats --no-stream`` table (MEM USAGE / LIMIT)."""
    rows, problems = [], []
    for no, line in enumerate(text.split("\n"), start=1):
        match = RE_STATS_ROW.match(line.strip())
        if match is None:
            continue
        usage, limit = size_bytes(match["usage"]), size_bytes(match["limit"])
        if usage is None or limit is None:
            problems.append(Problem(message=f"unreadable docker stats sizes {line[:80]!r}", evidence=Evidence(file=source, line=no)))
            continue
        rows.append(DockerStatsRow(id=match["id"], name=match["name"], usage_bytes=usage, limit_bytes=limit, evidence=Evidence(file=source, line=no)))
    status = "partial" if problems else ("complete" if rows else "unrecognised")
    if not rows and not problems:
        problems.append(Problem(message="no container row of the docker stats table (MEM USAGE / LIMIT) found", evidence=Evidence(file=source)))
    return Parsed(value=rows, status=status, problems=problems)
