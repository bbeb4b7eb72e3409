"""Kubernetes events: ``kubectl get events`` (table, JSON, watch), describe Events, sinks, recorder logs.

Events are the cluster's own diary of a memory incident: node-problem-detector's kernel monitor
posts ``OOMKilling`` with the kernel's kill line, the kubelet posts ``SystemOOM`` for an OOM of the
whole node (pkg/kubelet/oom/oom_watcher_linux.go: only when cAdvisor's OOM instance has
ContainerName "/"; message ``System OOM encountered, victim process: %s, pid: %d`` on newer
kubelets, ``System OOM encountered`` on old ones), ``Evicted`` / ``Killing`` /
``EvictionThresholdMet`` for evictions (pkg/kubelet/eviction/eviction_manager.go, FACTS.md §4).

Layouts read (trimmed real samples from ../shared/corpus/k8s):

``kubectl get events`` (kubectl >= ~1.14 columns; older ones have FIRSTSEEN/LASTSEEN/COUNT/NAME/KIND/
SUBOBJECT/TYPE/REASON/SOURCE/MESSAGE; the header is often missing from pastes)::

    LAST SEEN   TYPE      REASON                OBJECT               MESSAGE
    4m11s       Warning   Evicted               pod/egg-<id here>    The node was low on resource: memory. ...

the Events section of ``kubectl describe pod|node`` (and the 1.0 tab layout FirstSeen/LastSeen/...)::

    Events:
      Type     Reason     Age   From            Message
      ----     ------     ----  ----            -------
      Warning  SystemOOM  17m   kubelet, node1  System OOM encountered

``kubectl get events -o json`` (a List of Event), watch output (``{"verb":"ADDED","event":{...}}`` or
a stream of Event objects; a cut last object is salvaged field by field), a kube-eventer text sink
(sinks/dingtalk/dingtalk.go ``MSG_TEMPLATE``: ``Level:%s \\nKind:%s \\nNamespace:%s \\nName:%s
\\nReason:%s \\nTimestamp:%s \\nMessage:%s``, Name being the *event's* name ``<object>.<hex>``), and
the event recorder's log line (client-go tools/record/event.go)::

    Event(v1.ObjectReference{Kind:"Pod", Namespace:"a", Name:"b", ...}): type: 'Warning' reason: 'Evicted' The node was low ...
    "Event occurred" object="a/b" fieldPath="" kind="Pod" apiVersion="v1" type="Warning" reason="Evicted" message="..."

Ages ("4m11s", "17m") are relative to when kubectl ran, which the paste does not say: they are kept as
``time_text``, never turned into a time.
"""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

from pydantic import BaseModel

from analyzer.models.common import Evidence, Parsed, Problem
from analyzer.units import parse_int
from analyzer.textpos import LineIndex

# reason -> what it means for a memory incident (None: kept, but not a memory event)
MEANINGS = {
    "OOMKilling": "oom_kill",  # node-problem-detector kernel monitor (config/kernel-monitor.json)
    "PodOOMKilling": "oom_kill",  # custom NPD rules
    "CgroupOOM": "oom_kill",  # proposed by kubernetes#100487, never merged
    "OOMKilled": "oom_kill",
    "SystemOOM": "system_oom",  # kubelet: an OOM kill outside any container limit (node-level)
    "Evicted": "evicted",
    "Killing": "killing",
    "ExceededGracePeriod": "exceeded_grace_period",
    "EvictionThresholdMet": "eviction_threshold_met",
    "NodeHasInsufficientMemory": "memory_pressure",
    "OutOfmemory": "admission_out_of_memory",  # kubelet admission: "OutOf" + resource name
    "PreemptionByKubeScheduler": "preempted",
    "PreemptionByScheduler": "preempted",
    "Preempted": "preempted",
    "BackOff": "back_off",
}
RE_KILLED = re.compile(r"Killed process (?P<pid>\d{1,10}) \((?P<comm>[^)]*)\)")  # pids fit in 10 digits
RE_KILL = re.compile(r"Kill process (?P<pid>\d{1,10}) \((?P<comm>[^)]*)\)(?: score (?P<score>\d{1,12}))?")
RE_VICTIM = re.compile(r"victim process: (?P<comm>[^,]+), pid: (?P<pid>\d{1,10})\b")
RE_ISO = re.compile(r"^(?P<base>\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d)(?P<frac>\.\d+)?\s*(?P<zone>Z|[+-]\d\d:?\d\d)?")
RE_AGE = r"(?:<unknown>|<invalid>|\d+(?:\.\d+)?[smhdy](?:\d+[smhdy])*)"
RE_REPEAT = re.compile(r"\(x(?P<count>\d+) over [^)]*\)")
RE_HEADERLESS_ROW = re.compile(
    rf"^\s*(?:(?P<namespace>[a-z0-9][-a-z0-9]*)\s+)?(?P<age>{RE_AGE}(?: \(x\d+ over [^)]*\))?)\s+(?P<type>Normal|Warning)\s+"
    r"(?P<reason>[A-Z][A-Za-z]*)\s+(?P<object>[a-z][\w.-]*/.+?)(?:\s{2,}|\t)(?P<message>.*)$"
)
RE_TABLE_HEADER = re.compile(r"^\s*(?:NAMESPACE\s+)?(?:LAST SEEN|LASTSEEN|FIRSTSEEN|FIRST SEEN)\s")
RE_EVENTS_SECTION = re.compile(r"^Events:\s*(?P<none><none>)?\s*$")
RE_DESCRIBE_HEADER = re.compile(r"^\s*(?:Type\s+Reason\s+Age|FirstSeen\s+LastSeen)")
RE_DESCRIBE_CMD = re.compile(r"(?:\bkubectl(?:\.sh)?|\boc|(?:^|\s)k)\s+describe\s+(?P<kind>pods?|po|nodes?|no)\b(?P<args>[^\n]*)")
RE_KUBE_EVENTER = re.compile(r"(?m)^Level:(?:Normal|Warning)\s*\nKind:\S")
RE_SINK_FIELD = re.compile(r"^(?P<key>Level|Kind|Namespace|Name|Reason|Timestamp|Message):(?P<value>.*)$")
RE_RECORDER = re.compile(r"(?:Event\((?P<ref>.*?)\): )?(?:type: '(?P<type>\w*)' )?reason: '(?P<reason>\w+)' (?P<message>.*)$")
RE_RECORDER_KV = re.compile(r'"Event occurred"(?P<kv>.*)$')
RE_KV = re.compile(r'(?P<key>\w+)=(?P<value>"(?:[^"\\]|\\.)*"|\S*)')
RE_REF_FIELD = re.compile(r'(?P<key>Kind|Namespace|Name):"(?P<value>[^"]*)"')
RE_JSON_START = re.compile(r"^\s*(?:\{|\[\s*[{\]])")
RE_JSON_STR = r'"(?P<v>(?:[^"\\]|\\.)*)"'


class KubeEvent(BaseModel):
    """One Kubernetes event, whatever layout it came in."""

    time: datetime | None = None  # lastTimestamp / eventTime / series.lastObservedTime / firstTimestamp
    time_text: str | None = None  # an age ("4m11s") or a stamp that is not a full time
    type: str | None = None  # Normal | Warning
    reason: str
    meaning: str | None = None  # MEANINGS[reason]
    object_kind: str | None = None  # Pod | Node | ...
    object_namespace: str | None = None
    object_name: str | None = None
    source: str | None = None  # component: kubelet, kernel-monitor, default-scheduler
    source_host: str | None = None
    count: int | None = None
    message: str = ""
    victim_pid: int | None = None  # from the kernel text in the message (Killed process / victim process)
    victim_comm: str | None = None
    selected_pid: int | None = None  # old kernels: "Kill process N (x) score S or sacrifice child"
    selected_comm: str | None = None
    layout: str  # table | describe | json | watch | kube-eventer | recorder
    evidence: Evidence

    @property
    def object_ref(self) -> str | None:
        if self.object_name is None:
            return None
        return f"{self.object_namespace}/{self.object_name}" if self.object_namespace else self.object_name


# --- shared helpers ---------------------------------------------------------------------------


def parse_time(text: object) -> datetime | None:
    """An RFC 3339 / Go time string as UTC; None for zero or unreadable times.

    >>> parse_time("2023-06-13T14:35:38Z").isoformat(), parse_time("2020-07-01 10:04:39 +0800 CST").isoformat()
    ('2023-06-13T14:35:38+00:00', '2020-07-01T02:04:39+00:00')
    >>> parse_time("0001-01-01T00:00:00Z"), parse_time("4m11s")
    (None, None)
    """
    if not isinstance(text, str) or text.startswith("0001-01-01"):
        return None
    match = RE_ISO.match(text.strip())
    if match is None:
        return None
    zone = match["zone"] or "Z"
    offset = timezone.utc if zone == "Z" else timezone(timedelta(hours=int(zone[:3]), minutes=int(zone[-2:]) * (1 if zone[0] == "+" else -1)))
    try:
        when = datetime.fromisoformat(match["base"].replace(" ", "T") + (match["frac"] or "")[:7])
    except ValueError:
        return None
    return when.replace(tzinfo=offset).astimezone(timezone.utc)


def _victim(event: KubeEvent) -> KubeEvent:
    """Victim pid/comm out of the kernel text an OOM event quotes."""
    killed = RE_KILLED.search(event.message) or RE_VICTIM.search(event.message)
    chosen = RE_KILL.search(event.message)
    if killed is not None:
        event.victim_pid, event.victim_comm = int(killed["pid"]), killed["comm"].strip()
    if chosen is not None:
        event.selected_pid, event.selected_comm = int(chosen["pid"]), chosen["comm"]
        if killed is None:
            event.victim_pid, event.victim_comm = event.selected_pid, event.selected_comm
    return event


def _event(**fields) -> KubeEvent:
    reason = fields["reason"]
    event = KubeEvent(meaning=MEANINGS.get(reason), **fields)
    return _victim(event) if event.meaning in ("oom_kill", "system_oom") or "process" in event.message else event


def _source(text: str) -> tuple[str | None, str | None]:
    """``kubelet, node1`` / ``{kubelet node1}`` / ``kernel-monitor`` -> (component, host)."""
    text = text.strip().strip("{}").strip()
    if not text:
        return None, None
    component, _, host = text.replace(",", " ").partition(" ")
    return component or None, host.strip() or None


def _object(text: str) -> tuple[str | None, str | None]:
    """``pod/egg-1`` -> ("Pod", "egg-1")."""
    kind, _, name = text.strip().partition("/")
    if not name:
        return None, text.strip() or None
    return {"pod": "Pod", "node": "Node", "deployment": "Deployment", "replicaset": "ReplicaSet"}.get(kind.lower(), kind), name


def _count(text: str | None) -> int | None:
    if not text:
        return None
    repeat = RE_REPEAT.search(text)
    if repeat is not None:
        return int(repeat["count"])
    return parse_int(text)


# --- tables: kubectl get events and describe's Events section ----------------------------------


def _columns(header: str) -> list[tuple[str, int]]:
    """(name, start) of each header column; names may hold one space ("LAST SEEN")."""
    return [(m.group(0).strip().upper().replace(" ", ""), m.start()) for m in re.finditer(r"\S+(?: \S+)*", header)]


def _cells(row: str, columns: list[tuple[str, int]], raw: str) -> dict[str, str]:
    """Cells by the header's positions (kubectl's tabwriter aligns them); else by separators.

    Pastes lose alignment (tabs dropped, spaces squeezed): then cells are split on tabs or runs of
    two spaces, and an empty SUBOBJECT column (most events have none) is assumed when one cell is missing.
    """
    cells = {}
    for i, (name, start) in enumerate(columns):
        end = columns[i + 1][1] if i + 1 < len(columns) else None
        cells[name] = row[start:end].strip() if end is not None else row[start:].strip()
    aligned = all(row[start - 1:start] in ("", " ") and row[start:start + 1] != " " for _, start in columns[1:] if start < len(row))
    type_ok = cells.get("TYPE", "Normal") in ("Normal", "Warning", "")
    if aligned and type_ok and (cells.get("REASON") or "").replace("-", "").isalnum():
        return cells
    text = raw.strip().removeprefix("$ ")
    cell = r"[^\t]+" if "\t" in text else r"\S+(?: \S+)*"  # cells end at a tab, or at a run of two spaces
    tokens = [(m.start(), m.end()) for m in re.finditer(cell, text)]
    names = [name for name, _ in columns]
    if len(tokens) == len(names) - 1:
        names = [n for n in names if not n.startswith("SUBOBJECT")] if any(n.startswith("SUBOBJECT") for n in names) else names
    cells = {}
    for i, name in enumerate(names):
        if i >= len(tokens):
            break
        start, end = tokens[i]
        cells[name] = text[start:].strip() if i == len(names) - 1 else text[start:end].strip()
    return cells


def _from_cells(cells: dict[str, str], layout: str, ev: Evidence, default_object: tuple) -> KubeEvent | None:
    reason = cells.get("REASON", "").strip()
    if not reason or not re.fullmatch(r"[A-Za-z][\w-]*", reason):
        return None
    kind, namespace, name = default_object
    if cells.get("OBJECT"):
        kind, name = _object(cells["OBJECT"])
        namespace = cells.get("NAMESPACE") or None
    elif cells.get("NAME") and layout == "table":
        name = cells["NAME"].rsplit(".", 1)[0] if re.search(r"\.[0-9a-f]{10,}$", cells["NAME"]) else cells["NAME"]
        kind = cells.get("KIND") or None
        namespace = cells.get("NAMESPACE") or None
    source, host = _source(cells.get("FROM") or cells.get("SOURCE") or "")
    seen = cells.get("LASTSEEN") or cells.get("AGE") or cells.get("FIRSTSEEN") or ""
    when = parse_time(seen) or _rfc1123(seen)
    return _event(
        time=when,
        time_text=None if when else (re.sub(r"\s*\(x\d+ over [^)]*\)", "", seen) or None),
        type=cells.get("TYPE") or None,
        reason=reason,
        object_kind=kind,
        object_namespace=namespace,
        object_name=name,
        source=source,
        source_host=host,
        count=_count(cells.get("COUNT")) or _count(seen),
        message=cells.get("MESSAGE", ""),
        layout=layout,
        evidence=ev,
    )


def _rfc1123(text: str) -> datetime | None:
    from email.utils import parsedate_to_datetime

    if not re.match(r"^[A-Z][a-z]{2}, \d", text):
        return None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return when.astimezone(timezone.utc) if when.tzinfo else when.replace(tzinfo=timezone.utc)


def _describe_object(lines: list[str]) -> tuple[str | None, str | None, str | None]:
    """The object a describe output is about: its command line, else its Name:/Namespace: lines."""
    kind = namespace = name = None
    for line in lines[:400]:
        cmd = RE_DESCRIBE_CMD.search(line)
        if cmd is not None and name is None:
            kind = "Node" if cmd["kind"].startswith("no") else "Pod"
            args = cmd["args"].split()
            for i, arg in enumerate(args):
                if arg in ("-n", "--namespace") and i + 1 < len(args):
                    namespace = args[i + 1]
                elif arg.startswith("--namespace="):
                    namespace = arg.partition("=")[2]
            positional = [a for i, a in enumerate(args) if not a.startswith("-") and (i == 0 or args[i - 1] not in ("-n", "--namespace"))]
            name = positional[0].split("/")[-1] if positional else None
        field = re.match(r"^(Name|Namespace|Roles):\s+(\S+)", line)
        if field is not None:
            if field[1] == "Name" and name is None:
                name = field[2]
            elif field[1] == "Namespace" and namespace is None:
                namespace = field[2]
            elif field[1] == "Roles":
                kind = "Node"
        if line.startswith("Events:"):
            break
    return kind or ("Pod" if namespace else None), namespace, name


def _tables(lines: list[str], source: str) -> list[KubeEvent]:
    events: list[KubeEvent] = []
    columns: list[tuple[str, int]] | None = None
    layout = "table"
    default_object: tuple = (None, None, None)
    for no, raw in enumerate(lines, start=1):
        line = raw.expandtabs(8).removeprefix("$ ").rstrip()
        if RE_EVENTS_SECTION.match(line):
            default_object, columns, layout = _describe_object(lines[:no]), None, "describe"
            continue
        if RE_TABLE_HEADER.match(line) or RE_DESCRIBE_HEADER.match(line):
            columns = _columns(line)
            layout = "describe" if RE_DESCRIBE_HEADER.match(line) else "table"
            continue
        if not line.strip() or re.fullmatch(r"[\s-]+", line):
            continue
        if columns is None:
            event = _headerless(line, Evidence(file=source, line=no))
        else:
            if layout == "describe" and not line.startswith((" ", "\t")) and re.match(r"^[A-Z][\w -]*:", line):
                columns = None  # the next describe section
                continue
            event = _from_cells(_cells(line, columns, raw), layout, Evidence(file=source, line=no), default_object)
        if event is not None:
            events.append(event)
    return events


def _headerless(line: str, ev: Evidence) -> KubeEvent | None:
    match = RE_HEADERLESS_ROW.match(line)
    if match is None:
        return None
    kind, name = _object(match["object"])
    return _event(time_text=re.sub(r"\s*\(x\d+ over [^)]*\)", "", match["age"]), type=match["type"], reason=match["reason"],
                  object_kind=kind, object_namespace=match["namespace"], object_name=name, count=_count(match["age"]),
                  message=match["message"].strip(), layout="table", evidence=ev)


# --- JSON: List, single Event, watch stream, salvage -------------------------------------------


def _json_event(obj: dict, ev: Evidence, layout: str) -> KubeEvent | None:
    if isinstance(obj.get("event"), dict):
        obj = obj["event"]  # watch: {"verb": "ADDED", "event": {...}}
    elif isinstance(obj.get("object"), dict) and obj.get("type") in ("ADDED", "MODIFIED", "DELETED"):
        obj = obj["object"]  # kubectl get events -w -o json --output-watch-events
    reason = obj.get("reason")
    if not isinstance(reason, str) or not reason:
        return None
    ref = obj.get("involvedObject") or obj.get("regarding") or {}
    ref = ref if isinstance(ref, dict) else {}
    src = obj.get("source") if isinstance(obj.get("source"), dict) else {}
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    series = obj.get("series") if isinstance(obj.get("series"), dict) else {}
    when = None
    for key in ("lastTimestamp", "deprecatedLastTimestamp", "eventTime", "firstTimestamp", "deprecatedFirstTimestamp"):
        when = when or parse_time(obj.get(key))
    when = parse_time(series.get("lastObservedTime")) or when or parse_time(meta.get("creationTimestamp"))
    count = obj.get("count") or obj.get("deprecatedCount") or series.get("count")
    return _event(
        time=when,
        type=obj.get("type") if isinstance(obj.get("type"), str) else None,
        reason=reason,
        object_kind=_s(ref.get("kind")),
        object_namespace=_s(ref.get("namespace")) or (_s(meta.get("namespace")) if ref.get("kind") not in ("Node", None) else None),
        object_name=_s(ref.get("name")),
        source=_s(src.get("component")) or _s(obj.get("reportingComponent")) or _s(obj.get("reportingController")),
        source_host=_s(src.get("host")) or _s(obj.get("reportingInstance")),
        count=count if isinstance(count, int) else None,
        message=_s(obj.get("message")) or _s(obj.get("note")) or "",
        layout=layout,
        evidence=ev,
    )


def _s(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _reason_line(lines: LineIndex, reason: str, cursor: int) -> tuple[int, int]:
    """Line of the next ``"reason": "<reason>"`` at or after cursor (JSON loses line numbers)."""
    match = re.compile(r'"reason"\s*:\s*"' + re.escape(reason) + '"').search(lines.text, cursor)
    if match is None:
        return lines.line_at(cursor), cursor
    return lines.line_at(match.start()), match.end()


def _items(value: object) -> tuple[list, str]:
    if isinstance(value, list):
        return value, "json"
    if isinstance(value, dict) and isinstance(value.get("items"), list):
        return value["items"], "json"
    if isinstance(value, dict) and ("event" in value or value.get("type") in ("ADDED", "MODIFIED", "DELETED")):
        return [value], "watch"
    return [value], "json"


def _salvage(fragment: str, lines: LineIndex, offset: int, source: str) -> KubeEvent | None:
    """Fields of a cut Event object, read one by one: a paste that stops mid-object still names its kill."""

    def field(name: str, within: str = fragment) -> str | None:
        match = re.search(rf'"{name}"\s*:\s*{RE_JSON_STR}', within)
        if match is None:
            return None
        try:
            return json.loads(f'"{match["v"]}"')
        except ValueError:
            return match["v"]

    reason = field("reason")
    if not reason:
        return None
    obj = re.search(r'"(?:involvedObject|regarding)"\s*:\s*\{(?P<body>[^{}]*)\}', fragment)
    src = re.search(r'"source"\s*:\s*\{(?P<body>[^{}]*)\}', fragment)
    at = re.search(r'"reason"\s*:', fragment)
    when = parse_time(field("lastTimestamp")) or parse_time(field("eventTime")) or parse_time(field("firstTimestamp"))
    return _event(
        time=when,
        type=field("type") if field("type") in ("Normal", "Warning") else None,
        reason=reason,
        object_kind=field("kind", obj["body"]) if obj else None,
        object_namespace=field("namespace", obj["body"]) if obj else None,
        object_name=field("name", obj["body"]) if obj else None,
        source=field("component", src["body"]) if src else None,
        source_host=field("host", src["body"]) if src else None,
        message=field("message") or "",
        layout="watch" if '"verb"' in fragment else "json",
        evidence=Evidence(file=source, line=lines.line_at(offset + (at.start() if at else 0))),
    )


def _json_stream(text: str, source: str) -> tuple[list[KubeEvent], list[Problem]]:
    decoder = json.JSONDecoder()
    events: list[KubeEvent] = []
    problems: list[Problem] = []
    pos, cursor = 0, 0
    lines = LineIndex(text)
    while True:
        start = _next_json_start(text, pos)
        if start is None:
            break
        try:
            value, end = decoder.raw_decode(text, start)
        except (ValueError, RecursionError):
            salvaged = _salvage(text[start:], lines, start, source)
            if salvaged is not None:
                events.append(salvaged)
                problems.append(Problem(message="event JSON is cut or invalid: its fields were read one by one",
                                        evidence=salvaged.evidence))
            else:
                problems.append(Problem(message="unreadable JSON in events output", evidence=Evidence(file=source, line=lines.line_at(start))))
            break
        items, layout = _items(value)
        for item in items:
            if not isinstance(item, dict):
                continue
            inner = item.get("event") if isinstance(item.get("event"), dict) else item
            reason = inner.get("reason") if isinstance(inner, dict) else None
            line, cursor = _reason_line(lines, reason, max(cursor, start)) if isinstance(reason, str) else (lines.line_at(max(cursor, start)), cursor)
            event = _json_event(item, Evidence(file=source, line=line), layout)
            if event is not None:
                events.append(event)
        pos = end
    return events, problems


def _next_json_start(text: str, pos: int) -> int | None:
    match = re.compile(r"^\s*[\[{]", re.M).search(text, pos)
    if match is None:
        return None
    return match.end() - 1


# --- kube-eventer and recorder log lines ---------------------------------------------------------


def _kube_eventer(lines: list[str], source: str) -> list[KubeEvent]:
    events: list[KubeEvent] = []
    block: dict[str, str] = {}
    first = 0

    def flush() -> None:
        if block.get("Reason"):
            name = block.get("Name", "").strip()
            events.append(_event(
                time=parse_time(block.get("Timestamp", "").strip()),
                time_text=None if parse_time(block.get("Timestamp", "").strip()) else block.get("Timestamp", "").strip() or None,
                type=block.get("Level", "").strip() or None,
                reason=block["Reason"].strip(),
                object_kind=block.get("Kind", "").strip() or None,
                object_namespace=(block.get("Namespace", "").strip() or None) if block.get("Kind", "").strip() != "Node" else None,
                object_name=re.sub(r"\.[0-9a-f]{10,}$", "", name) or None,  # the event's name is <object>.<hex>
                message=re.sub(r"^\(combined from similar events\):\s*", "", block.get("Message", "").strip()),
                layout="kube-eventer",
                evidence=Evidence(file=source, line=first),
            ))
        block.clear()

    key = None
    for no, raw in enumerate(lines, start=1):
        match = RE_SINK_FIELD.match(raw.strip())
        if match is not None:
            if match["key"] == "Level" and block:
                flush()
            if not block:
                first = no
            key = match["key"]
            block[key] = match["value"]
        elif key == "Message" and raw.strip():
            block["Message"] += "\n" + raw.strip()  # the kernel text of an OOM spans lines
    flush()
    return events


def _recorder(lines: list[str], source: str) -> list[KubeEvent]:
    events = []
    for no, raw in enumerate(lines, start=1):
        ev = Evidence(file=source, line=no)
        kv = RE_RECORDER_KV.search(raw)
        if kv is not None:
            fields = {m["key"]: _unquote(m["value"]) for m in RE_KV.finditer(kv["kv"])}
            if fields.get("reason"):
                namespace, _, name = (fields.get("object") or "").rpartition("/")
                events.append(_event(type=fields.get("type"), reason=fields["reason"], object_kind=fields.get("kind"),
                                     object_namespace=namespace or None, object_name=name or None,
                                     message=fields.get("message", ""), layout="recorder", evidence=ev))
            continue
        match = RE_RECORDER.search(raw)
        if match is None:
            continue
        ref = {m["key"]: m["value"] for m in RE_REF_FIELD.finditer(match["ref"] or "")}
        events.append(_event(type=match["type"] or None, reason=match["reason"], object_kind=ref.get("Kind") or None,
                             object_namespace=ref.get("Namespace") or None, object_name=ref.get("Name") or None,
                             message=match["message"].strip(), layout="recorder", evidence=ev))
    return events


def _unquote(value: str) -> str:
    if value.startswith('"'):
        try:
            return json.loads(value)
        except ValueError:
            return value.strip('"')
    return value


# --- entry point ---------------------------------------------------------------------------------


def parse(text: str, source: str) -> Parsed[list[KubeEvent]]:
    """Every event in the text, whichever layout; OOM events carry the victim the kernel named.

    >>> r = parse("LAST SEEN   TYPE      REASON       OBJECT        MESSAGE\\n"
    ...           "2m          Warning   OOMKilling   node/n1       Memory cgroup out of memory: Killed process 42 (java) total-vm:1kB\\n", "ev.txt")
    >>> e = r.value[0]
    >>> e.reason, e.meaning, e.object_kind, e.object_name, e.victim_pid, e.victim_comm, e.time_text, e.evidence.line
    ('OOMKilling', 'oom_kill', 'Node', 'n1', 42, 'java', '2m', 2)
    """
    lines = text.split("\n")
    problems: list[Problem] = []
    if RE_JSON_START.match(text) or ('"involvedObject"' in text[:65536] and re.search(r"(?m)^\s*[\[{]", text)):
        events, problems = _json_stream(text, source)
    elif RE_KUBE_EVENTER.search(text[:65536]):
        events = _kube_eventer(lines, source)
    else:
        events = _tables(lines, source)
        if not events:
            events = _recorder(lines, source)
    if not events and not problems and any((m := RE_EVENTS_SECTION.match(line.strip())) and m["none"] for line in lines):
        return Parsed(value=[], status="complete")  # describe output saying "Events:  <none>"
    if not events:
        problems = problems or [Problem(message="no Kubernetes event found in this file", evidence=Evidence(file=source))]
        return Parsed(value=[], status="unrecognised", problems=problems)
    return Parsed(value=events, status="partial" if problems else "complete", problems=problems)
