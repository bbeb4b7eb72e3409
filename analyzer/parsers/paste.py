"""What people paste into tickets that is no single command's whole output: shell transcripts.

Real pastes (../shared/corpus/k8s) hold, mixed with prompts and other commands:

- cgroup files shown with ``cat`` (a path, or a name after ``pwd`` printed the directory)::

    sh-4.2$ pwd
    /sys/fs/cgroup/memory/kubepods/burstable/pod22697648-cc63-47d6-ba97-fe420988dfc1
    sh-4.2$ cat memory.limit_in_bytes
    524288000

- cgroup v2 values as ``memory.current=394907648`` lines, and a bare ``memory.events`` block
  (``low 0`` / ``max 13693`` / ``oom 0`` / ``oom_kill 0``);
- an evicted pod's status message printed by jsonpath (``name<TAB>Evicted<TAB>message``) or by
  ``yq '.status.message'`` (the message alone, wrapped over two lines);
- a ``-o go-template`` dump of ``lastState``: ``map[terminated:map[exitCode:137 reason:OOM Killed ...]]``.

Each part keeps the paste's own line numbers. Cgroup files come back as (node path, text, line
numbers) for the cgroup tree; a file whose directory the paste does not show goes under
``sys/fs/cgroup/(pasted)/``.
"""
from __future__ import annotations

import re

from pydantic import BaseModel, Field

from analyzer.models.common import Evidence, Parsed, Problem, new_list
from analyzer.models.k8s import ContainerInfo, PodInfo
from analyzer.parsers.pod_json import split_container_id
from analyzer.units import parse_int

PASTED_DIR = "sys/fs/cgroup/(pasted)"
MARKERS = ("cat ", "memory.current=", "memory.max=", "The node was low on resource", "map[terminated:")
RE_PROMPT_CMD = re.compile(r"^(?:.*?[$#%>➜]\s*)?(?P<cmd>(?:cat|pwd|kubectl|oc|\./cluster/kubectl\.sh|docker|crictl|yq)\b.*)$")
RE_CGROUP_DIR = re.compile(r"^\s*(?P<dir>/sys/fs/cgroup/\S*)\s*$")
RE_CAT = re.compile(r"^cat\s+(?P<path>\S*memory\.[\w.]+)\s*$")
RE_V2_KV = re.compile(r"^\s*(?P<name>memory\.[\w.]+)=(?P<value>\S+)\s*$")
RE_EVENTS_KEY = re.compile(r"^\s*(?P<key>low|high|max|oom|oom_kill|oom_group_kill)\s+(?P<value>\d{1,25})\s*$")
EVICTION_PHRASE = "The node was low on resource: "  # the eviction manager's message (eviction/helpers.go evictionMessage)
RE_POD_NAME = re.compile(r"^[a-z0-9][-a-z0-9.]{0,252}$")
RE_TEMPLATE_TERMINATED = re.compile(r"map\[terminated:map\[(?P<body>[^\]]*)\]")
RE_TEMPLATE_KEY = re.compile(r"(?:^|\s)(?P<key>exitCode|reason|startedAt|finishedAt|containerID|signal|message):")
RE_CONTAINER_NAME = re.compile(r"Container Name:\s*(?P<name>[a-z0-9][-a-z0-9.]*)")


class PastedFile(BaseModel):
    """A cgroup file shown in the paste: where it is on the node, its lines, their paste line numbers."""

    node_path: str
    text: str
    line_numbers: list[int]


class Paste(BaseModel):
    pods: list[PodInfo] = Field(default_factory=new_list)
    cgroup_files: list[PastedFile] = Field(default_factory=new_list)


def _lines(text: str) -> list[str]:
    return text.replace("\r", "").split("\n")


def _cat_transcripts(lines: list[str]) -> list[PastedFile]:
    """``cat memory.X`` outputs, placed by the directory ``pwd`` printed or the path given to cat."""
    files, cwd, i = [], None, 0
    while i < len(lines):
        command = RE_PROMPT_CMD.match(lines[i].strip())
        directory = RE_CGROUP_DIR.match(lines[i])
        if directory is not None and (command is None or command["cmd"].startswith("pwd")):
            cwd = directory["dir"].rstrip("/")
        cat = RE_CAT.match(command["cmd"]) if command else None
        i += 1
        if cat is None:
            continue
        path = cat["path"] if cat["path"].startswith("/") else f"{cwd or '/' + PASTED_DIR}/{cat['path']}"
        body, numbers = [], []
        while i < len(lines) and lines[i].strip() and not RE_PROMPT_CMD.match(lines[i].strip()):
            body.append(lines[i].strip().rstrip("%"))  # zsh marks an output without a final newline with %
            numbers.append(i + 1)
            i += 1
        if body and path.startswith("/sys/fs/cgroup/"):
            files.append(PastedFile(node_path=path.lstrip("/"), text="\n".join(body), line_numbers=numbers))
    return files


def _v2_values(lines: list[str]) -> list[PastedFile]:
    """``memory.current=NNN`` lines and a bare memory.events block (a cgroup v2 directory, shown without its path)."""
    files, events, numbers = [], [], []
    for no, line in enumerate(lines, start=1):
        kv = RE_V2_KV.match(line)
        if kv is not None:
            files.append(PastedFile(node_path=f"{PASTED_DIR}/{kv['name']}", text=kv["value"], line_numbers=[no]))
            continue
        key = RE_EVENTS_KEY.match(line)
        if key is not None:
            events.append(line.strip())
            numbers.append(no)
    if len(events) >= 3 and any(e.startswith("oom") for e in events):  # low/high/max/oom...: memory.events, not prose
        files.append(PastedFile(node_path=f"{PASTED_DIR}/memory.events", text="\n".join(events), line_numbers=numbers))
    return files if files and any(f.node_path.endswith(("memory.current", "memory.max", "memory.events")) for f in files) else []


def _evicted_pods(lines: list[str], source: str) -> list[PodInfo]:
    """Status messages printed alone (jsonpath, yq), with the pod's name when the same line has it."""
    pods = []
    for no, line in enumerate(lines, start=1):
        at = line.find(EVICTION_PHRASE)  # str.find, then plain splits: a regex of tab-separated fields backtracks on long lines
        if at < 0:
            continue
        start = at - 4 if line[max(at - 4, 0):at] == "Pod " else at
        before = line[:start]
        if before.strip() and "\t" not in before:  # "message: '...", "Message:   ...": a YAML or describe field, read by those parsers
            continue
        fields = [f.strip() for f in before.split("\t") if f.strip()]
        if any(f.endswith(":") for f in fields):  # kubectl 1.0 describe's "Message:\t\t\t..."
            continue
        message = line[start:].rstrip()
        follow = no
        while follow < len(lines) and re.match(r"^(?:Container|Pod) \S+ was using ", lines[follow].strip()):
            message += " " + lines[follow].strip()  # yq printed the message over two lines
            follow += 1
        name = fields[0] if fields and RE_POD_NAME.match(fields[0]) else None
        pod = PodInfo(name=name, reason="Evicted", message=message, phase="Failed")  # only the eviction manager writes this message
        pod.evidence = {"message": Evidence(file=source, line=no), **({"name": Evidence(file=source, line=no)} if name else {})}
        pods.append(pod)
    return pods


def _template_fields(body: str) -> dict[str, str]:
    keys = list(RE_TEMPLATE_KEY.finditer(body))
    return {m["key"]: body[m.end(): keys[i + 1].start() if i + 1 < len(keys) else len(body)].strip() for i, m in enumerate(keys)}


def _template_dumps(lines: list[str], source: str) -> list[PodInfo]:
    """``get pod -o go-template`` dumps of ``lastState`` (Go map[] rendering) with the container and pod names."""
    pods, command_pod = [], None
    for no, line in enumerate(lines, start=1):
        command = RE_PROMPT_CMD.match(line.strip())
        if command is not None and " get po" in f" {command['cmd']}":
            last = command["cmd"].split()[-1]
            command_pod = last if RE_POD_NAME.match(last) else command_pod
        terminated = RE_TEMPLATE_TERMINATED.search(line)
        if terminated is None:
            continue
        fields = _template_fields(terminated["body"])
        name = next((m["name"] for m in map(RE_CONTAINER_NAME.search, reversed(lines[max(0, no - 3): no])) if m), None)
        runtime, cid = split_container_id(fields.get("containerID"))
        container = ContainerInfo(name=name or "?", last_reason=fields.get("reason"), last_exit_code=parse_int(fields.get("exitCode")),
                                  last_container_id=cid, runtime=runtime, evidence={"last": Evidence(file=source, line=no)})
        pod = PodInfo(name=command_pod, containers=[container], evidence={"pod": Evidence(file=source, line=no)})
        pods.append(pod)
    return pods


def parse(text: str, source: str) -> Parsed[Paste]:
    """Everything of the above in a paste.

    >>> r = parse("$ cat /sys/fs/cgroup/memory/kubepods/burstable/pod1/memory.limit_in_bytes\\n524288000\\n", "p.txt")
    >>> f = r.value.cgroup_files[0]
    >>> f.node_path, f.text, f.line_numbers
    ('sys/fs/cgroup/memory/kubepods/burstable/pod1/memory.limit_in_bytes', '524288000', [2])
    """
    lines = _lines(text)
    paste = Paste(cgroup_files=_cat_transcripts(lines) or _v2_values(lines),
                  pods=_evicted_pods(lines, source) + _template_dumps(lines, source))
    if not paste.pods and not paste.cgroup_files:
        return Parsed(value=paste, status="unrecognised", problems=[Problem(message="nothing read from this paste", evidence=Evidence(file=source))])
    return Parsed(value=paste)


def whole_file(text: str, version_1: bool) -> PastedFile:
    """A pasted file that is one cgroup file's content alone (a memory.stat): its lines as they are."""
    lines = _lines(text)
    kept = [(no, line.strip()) for no, line in enumerate(lines, start=1) if line.strip()]
    root = "sys/fs/cgroup/memory/(pasted)" if version_1 else PASTED_DIR
    return PastedFile(node_path=f"{root}/memory.stat", text="\n".join(line for _, line in kept), line_numbers=[no for no, _ in kept])
