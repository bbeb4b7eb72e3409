"""``crictl inspect`` / ``crictl stats`` (table and ``-o json``) / ``crictl ps``: the CRI runtime's own view.

``crictl inspect <id>`` prints the CRI ContainerStatus (cri-api ``ContainerStatusResponse``): ``status``
{id, metadata {name, attempt}, state ``CONTAINER_EXITED``, startedAt, finishedAt, exitCode, reason,
labels ``io.kubernetes.pod.*``} and a runtime-specific ``info`` (containerd: sandboxID, pid,
runtimeType, snapshotter, runtimeSpec.linux.cgroupsPath ``...:cri-containerd:<id>``; CRI-O:
sandboxID, pid, runtimeSpec, privileged). CRI-O sets reason ``OOMKilled`` when conmon left its
``oom`` file (cri-o server/container_status.go ``oomKilledReason``), containerd on a TaskOOM event
(internal/cri/server/events.go). Pastes are often trimmed (``| jq .status``, elements cut, a
trailing comma left): the fields are then read one by one. Real trimmed sample (cri-o#4203)::

    {
      "state": "CONTAINER_EXITED",
      "reason": "Error",
    }

``crictl stats`` MEM is the CRI ``memory.workingSetBytes`` (FACTS.md §3), printed with go-units
HumanSize (decimal: kB, MB). Tables with and without the NAME column (cri-tools versions)::

    CONTAINER           CPU %               MEM                 DISK                INODES
    538fbb2396de1       5.49                30.65MB             8.194kB             3

``crictl stats -o json`` has the CRI stats shape, numbers wrapped as ``{"value": "<string>"}``::

    {"stats": [{"attributes": {"id": "0e70a82a...", "metadata": {"name": "nanoserver-6"}},
                "memory": {"timestamp": "1572041798995566100", "workingSetBytes": {"value": "25317376"}}}]}

``crictl ps``: ``CONTAINER  IMAGE  CREATED  STATE  NAME  ATTEMPT  POD ID  [POD]`` (ids cut to 13).
"""
from __future__ import annotations

import json
import re
from datetime import datetime, timezone

from pydantic import BaseModel

from analyzer.models.common import Evidence, Parsed, Problem
from analyzer.parsers.docker import size_bytes
from analyzer.parsers.events import parse_time
from analyzer.units import parse_int
from analyzer.textpos import LineIndex

RE_STATS_HEADER = re.compile(r"^\s*CONTAINER(?:\s+ID)?\s+(?P<name>NAME\s+)?CPU %\s+MEM\s+DISK\s+INODES")
RE_STATS_ROW = re.compile(r"^\s*(?P<id>[0-9a-f]{12,64})\s+(?:(?P<name>\S+)\s+)?(?P<cpu>[\d.]+)\s+(?P<mem>[\d.]+\s*[kKMGTP]?i?B)\s+(?P<disk>[\d.]+\s*[kKMGTP]?i?B)\s+(?P<inodes>\d+)")
RE_PS_ROW = re.compile(
    r"^\s*(?P<id>[0-9a-f]{12,64})\s{2,}(?P<image>\S+)\s{2,}(?P<created>\S+(?: \S+)*)\s{2,}(?P<state>Running|Exited|Created|Unknown|CONTAINER_[A-Z]+)"
    r"\s{2,}(?P<name>\S+)\s{2,}(?P<attempt>\d+)\s{2,}(?P<pod_id>[0-9a-f]{12,64})(?:\s{2,}(?P<pod>\S+))?"
)
RE_JSON_STR = r'"(?P<v>(?:[^"\\]|\\.)*)"'
RE_TRAILING_COMMA = re.compile(r",(\s*[}\]])")
CGROUP_RUNTIME = (("cri-containerd", "containerd"), ("crio-", "cri-o"), ("docker", "docker"))


class CriContainer(BaseModel):
    """One ``crictl inspect`` result (fields the trimmed paste kept; the rest None)."""

    id: str | None = None
    name: str | None = None  # metadata.name (the Kubernetes container name)
    attempt: int | None = None
    state: str | None = None  # CONTAINER_RUNNING | CONTAINER_EXITED | ...
    reason: str | None = None  # OOMKilled | Error | Completed
    message: str | None = None
    exit_code: int | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    pod_name: str | None = None
    pod_namespace: str | None = None
    pod_uid: str | None = None
    sandbox_id: str | None = None
    runtime: str | None = None  # containerd | cri-o | docker (cri-dockerd), when info tells
    pid: int | None = None
    cgroups_path: str | None = None
    memory_limit_bytes: int | None = None
    salvaged: bool = False  # read field by field from invalid JSON
    evidence: Evidence


class CriStats(BaseModel):
    """One container of ``crictl stats`` (table or JSON)."""

    id: str  # full (JSON) or cut to 13 characters (table)
    name: str | None = None
    pod_uid: str | None = None  # JSON labels
    pod_id: str | None = None  # the sandbox id, from a crictl ps row of the same file
    working_set_bytes: int | None = None  # the MEM column
    usage_bytes: int | None = None
    rss_bytes: int | None = None
    available_bytes: int | None = None
    evidence: Evidence


class CriPs(BaseModel):
    """One ``crictl ps`` row."""

    id: str
    image: str | None = None
    state: str | None = None
    name: str | None = None
    attempt: int | None = None
    pod_id: str | None = None
    pod_name: str | None = None
    evidence: Evidence


def _num(value: object) -> int | None:
    """CRI numbers: 123, "123", {"value": "123"}."""
    if isinstance(value, dict):
        value = value.get("value")
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    return parse_int(value)


def _time(value: object) -> datetime | None:
    """crictl prints RFC 3339 strings; raw CRI has nanoseconds since the epoch."""
    nanos = _num(value)
    if nanos is not None:
        return datetime.fromtimestamp(nanos / 1e9, tz=timezone.utc) if nanos > 0 else None
    return parse_time(value)


def _json_values(text: str) -> tuple[list[tuple[object, int]], int | None]:
    """Every top-level JSON value with its offset; the offset where unreadable text starts, if any."""
    decoder = json.JSONDecoder()
    values, pos = [], 0
    while True:
        match = re.compile(r"[\[{]").search(text, pos)
        if match is None:
            return values, None
        try:
            value, end = decoder.raw_decode(text, match.start())
        except (ValueError, RecursionError):
            return values, match.start()
        values.append((value, match.start()))
        pos = end


def _runtime(info: dict, cgroups_path: str | None) -> str | None:
    for marker, runtime in CGROUP_RUNTIME:
        if cgroups_path and marker in cgroups_path:
            return runtime
    if "snapshotter" in info or "runtimeType" in info:
        return "containerd"
    if "privileged" in info and "sandboxID" in info:
        return "cri-o"
    return None


def _container(obj: dict, lines: LineIndex, offset: int, source: str) -> CriContainer | None:
    status = obj.get("status") if isinstance(obj.get("status"), dict) else obj
    if not isinstance(status, dict) or not ({"state", "id", "exitCode", "reason"} & set(status)):
        return None
    info = obj.get("info") if isinstance(obj.get("info"), dict) else {}
    meta = status.get("metadata") if isinstance(status.get("metadata"), dict) else {}
    labels = status.get("labels") if isinstance(status.get("labels"), dict) else {}
    spec = info.get("runtimeSpec") if isinstance(info.get("runtimeSpec"), dict) else {}
    linux = spec.get("linux") if isinstance(spec.get("linux"), dict) else {}
    cgroups_path = linux.get("cgroupsPath") if isinstance(linux.get("cgroupsPath"), str) else None
    resources = status.get("resources") if isinstance(status.get("resources"), dict) else {}
    limit = _num((resources.get("linux") or {}).get("memoryLimitInBytes")) if isinstance(resources.get("linux"), dict) else None
    anchor = lines.text.find('"reason"', offset)
    anchor = anchor if anchor >= 0 else lines.text.find('"state"', offset)
    return CriContainer(
        id=_str(status.get("id")),
        name=_str(meta.get("name")) or _str(labels.get("io.kubernetes.container.name")),
        attempt=_num(meta.get("attempt")),
        state=_str(status.get("state")),
        reason=_str(status.get("reason")),
        message=_str(status.get("message")),
        exit_code=_num(status.get("exitCode")),
        started_at=_time(status.get("startedAt")),
        finished_at=_time(status.get("finishedAt")),
        pod_name=_str(labels.get("io.kubernetes.pod.name")),
        pod_namespace=_str(labels.get("io.kubernetes.pod.namespace")),
        pod_uid=_str(labels.get("io.kubernetes.pod.uid")),
        sandbox_id=_str(info.get("sandboxID")),
        runtime=_runtime(info, cgroups_path),
        pid=_num(info.get("pid")) or None,
        cgroups_path=cgroups_path,
        memory_limit_bytes=limit or None,
        evidence=Evidence(file=source, line=lines.line_at(anchor if anchor >= 0 else offset)),
    )


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _field(name: str, text: str) -> tuple[str | None, int]:
    match = re.search(rf'"{re.escape(name)}"\s*:\s*(?:{RE_JSON_STR}|(?P<n>-?\d+))', text)
    if match is None:
        return None, -1
    if match["n"] is not None:
        return match["n"], match.start()
    try:
        return json.loads(f'"{match["v"]}"'), match.start()
    except ValueError:
        return match["v"], match.start()


def _salvage_container(fragment: str, lines: LineIndex, offset: int, source: str) -> CriContainer | None:
    """Fields of a trimmed, invalid ``crictl inspect`` paste, read one by one."""
    fields = {}
    first = None
    for name in ("id", "state", "reason", "message", "exitCode", "startedAt", "finishedAt", "sandboxID", "cgroupsPath",
                 "io.kubernetes.pod.name", "io.kubernetes.pod.namespace", "io.kubernetes.pod.uid", "io.kubernetes.container.name"):
        value, at = _field(name, fragment)
        if value is not None:
            fields[name] = value
            if name in ("state", "reason") and (first is None or at < first):
                first = at
    if not ({"state", "reason", "exitCode"} & set(fields)):
        return None
    exit_code = fields.get("exitCode")
    cgroups = fields.get("cgroupsPath")
    return CriContainer(
        id=fields.get("id") if re.fullmatch(r"[0-9a-f]{12,64}", fields.get("id") or "") else None,
        name=fields.get("io.kubernetes.container.name"),
        state=fields.get("state"),
        reason=fields.get("reason"),
        message=fields.get("message") or None,
        exit_code=parse_int(str(exit_code)) if exit_code is not None else None,
        started_at=parse_time(fields.get("startedAt")),
        finished_at=parse_time(fields.get("finishedAt")),
        pod_name=fields.get("io.kubernetes.pod.name"),
        pod_namespace=fields.get("io.kubernetes.pod.namespace"),
        pod_uid=fields.get("io.kubernetes.pod.uid"),
        sandbox_id=fields.get("sandboxID"),
        runtime=_runtime({}, cgroups),
        cgroups_path=cgroups,
        salvaged=True,
        evidence=Evidence(file=source, line=lines.line_at(offset + (first or 0))),
    )


def parse_inspect(text: str, source: str) -> Parsed[list[CriContainer]]:
    """Containers of ``crictl inspect`` output (one or several objects; trimmed pastes salvaged).

    >>> r = parse_inspect('{"status": {"id": "' + "a" * 64 + '", "metadata": {"name": "worker"}, "state": "CONTAINER_EXITED",'
    ...                   ' "exitCode": 137, "reason": "OOMKilled"}, "info": {"snapshotter": "overlayfs"}}', "crictl-inspect.json")
    >>> c = r.value[0]
    >>> c.name, c.state, c.reason, c.exit_code, c.runtime, r.status
    ('worker', 'CONTAINER_EXITED', 'OOMKilled', 137, 'containerd', 'complete')
    >>> parse_inspect('{\\n  "state": "CONTAINER_EXITED",\\n  "reason": "Error",\\n}', "paste.json").value[0].reason
    'Error'
    """
    values, bad_at = _json_values(text)
    lines = LineIndex(text)
    containers: list[CriContainer] = []
    problems: list[Problem] = []
    for value, offset in values:
        for obj in value if isinstance(value, list) else [value]:
            if isinstance(obj, dict):
                container = _container(obj, lines, offset, source)
                if container is not None:
                    containers.append(container)
    if bad_at is not None:
        fragment = text[bad_at:]
        repaired = RE_TRAILING_COMMA.sub(r"\1", fragment)
        salvaged = None
        try:
            obj = json.loads(repaired)
            salvaged = _container(obj, lines, bad_at, source) if isinstance(obj, dict) else None
            if salvaged is not None:
                salvaged.salvaged = True
        except (ValueError, RecursionError):
            salvaged = _salvage_container(fragment, lines, bad_at, source)
        if salvaged is not None:
            containers.append(salvaged)
        problems.append(Problem(message="crictl inspect output is not valid JSON (trimmed paste?): "
                                + ("its fields were read one by one" if salvaged else "nothing could be read"),
                                evidence=Evidence(file=source, line=lines.line_at(bad_at))))
    if not containers:
        problems = problems or [Problem(message="no container status in crictl inspect output", evidence=Evidence(file=source))]
        return Parsed(value=[], status="unrecognised", problems=problems)
    return Parsed(value=containers, status="partial" if problems else "complete", problems=problems)


# --- crictl stats ------------------------------------------------------------------------------


def _stats_entry(obj: dict, lines: LineIndex, offset: int, source: str) -> CriStats | None:
    attrs = obj.get("attributes") if isinstance(obj.get("attributes"), dict) else {}
    cid = _str(attrs.get("id"))
    if cid is None:
        return None
    memory = obj.get("memory") if isinstance(obj.get("memory"), dict) else {}
    meta = attrs.get("metadata") if isinstance(attrs.get("metadata"), dict) else {}
    labels = attrs.get("labels") if isinstance(attrs.get("labels"), dict) else {}
    at = lines.text.find('"workingSetBytes"', offset)
    return CriStats(
        id=cid,
        name=_str(meta.get("name")) or _str(labels.get("io.kubernetes.container.name")),
        pod_uid=_str(labels.get("io.kubernetes.pod.uid")),
        working_set_bytes=_num(memory.get("workingSetBytes")),
        usage_bytes=_num(memory.get("usageBytes")),
        rss_bytes=_num(memory.get("rssBytes")),
        available_bytes=_num(memory.get("availableBytes")),
        evidence=Evidence(file=source, line=lines.line_at(at if at >= 0 else offset)),
    )


def _stats_json(text: str, source: str) -> tuple[list[CriStats], list[Problem]]:
    """Each ``{"attributes": ...}`` item decoded on its own, so a cut last item costs only itself."""
    decoder = json.JSONDecoder()
    rows, problems = [], []
    lines = LineIndex(text)
    for match in re.finditer(r'\{\s*"attributes"\s*:', text):
        try:
            obj, _ = decoder.raw_decode(text, match.start())
        except (ValueError, RecursionError):
            fragment = text[match.start():]
            cid, _ = _field("id", fragment)
            ws, ws_at = _field("value", fragment[fragment.find('"workingSetBytes"'):]) if '"workingSetBytes"' in fragment else (None, -1)
            problems.append(Problem(message="crictl stats JSON is cut: the last container is read field by field",
                                    evidence=Evidence(file=source, line=lines.line_at(match.start()))))
            if cid:
                name, _ = _field("name", fragment)
                rows.append(CriStats(id=cid, name=name, working_set_bytes=parse_int(ws),
                                     evidence=Evidence(file=source, line=lines.line_at(match.start()))))
            continue
        if isinstance(obj, dict):
            row = _stats_entry(obj, lines, match.start(), source)
            if row is not None:
                rows.append(row)
    return rows, problems


def _stats_table(text: str, source: str) -> tuple[list[CriStats], list[Problem]]:
    rows, problems = [], []
    has_name = None
    for no, line in enumerate(text.split("\n"), start=1):
        header = RE_STATS_HEADER.match(line)
        if header is not None:
            has_name = header["name"] is not None
            continue
        if has_name is None:
            continue
        match = RE_STATS_ROW.match(line)
        if match is None:
            continue
        mem = size_bytes(match["mem"].replace(" ", ""))
        if mem is None:
            problems.append(Problem(message=f"unreadable crictl stats MEM {match['mem']!r}", evidence=Evidence(file=source, line=no)))
        rows.append(CriStats(id=match["id"], name=match["name"] if has_name else None, working_set_bytes=mem,
                             evidence=Evidence(file=source, line=no)))
    return rows, problems


def parse_stats(text: str, source: str) -> Parsed[list[CriStats]]:
    """Containers of ``crictl stats`` (table or JSON); ``crictl ps`` rows in the same paste give their pod.

    >>> r = parse_stats("CONTAINER           CPU %               MEM                 DISK                INODES\\n"
    ...                 "538fbb2396de1       5.49                30.65MB             8.194kB             3\\n", "crictl-stats.txt")
    >>> r.value[0].id, r.value[0].working_set_bytes, r.value[0].evidence.line
    ('538fbb2396de1', 30650000, 2)
    """
    if '"attributes"' in text:
        rows, problems = _stats_json(text, source)
    else:
        rows, problems = _stats_table(text, source)
    pods = {row.id: row for row in parse_ps(text, source).value or []}
    for row in rows:
        ps = next((p for pid, p in pods.items() if pid.startswith(row.id) or row.id.startswith(pid)), None)
        if ps is not None:
            row.pod_id, row.name = ps.pod_id, row.name or ps.name
    if not rows:
        return Parsed(value=[], status="unrecognised", problems=problems or [Problem(message="no container row in crictl stats output", evidence=Evidence(file=source))])
    return Parsed(value=rows, status="partial" if problems else "complete", problems=problems)


def parse_ps(text: str, source: str) -> Parsed[list[CriPs]]:
    """Rows of ``crictl ps [-a]`` (with or without the header, as grep leaves them).

    >>> r = parse_ps("538fbb2396de1       013718a8b3d9       About an hour ago   Running             nginx     0     f432ef16bf3ca\\n", "ps.txt")
    >>> r.value[0].name, r.value[0].state, r.value[0].pod_id
    ('nginx', 'Running', 'f432ef16bf3ca')
    """
    rows = []
    for no, line in enumerate(text.split("\n"), start=1):
        match = RE_PS_ROW.match(line)
        if match is None:
            continue
        rows.append(CriPs(id=match["id"], image=match["image"], state=match["state"], name=match["name"],
                          attempt=parse_int(match["attempt"]), pod_id=match["pod_id"], pod_name=match["pod"],
                          evidence=Evidence(file=source, line=no)))
    if not rows:
        return Parsed(value=[], status="unrecognised", problems=[Problem(message="no container row in crictl ps output", evidence=Evidence(file=source))])
    return Parsed(value=rows)
