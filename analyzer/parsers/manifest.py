"""The collector's ``manifest.json``: which node, when, and how each collector step went.

podmortem-collect (analyzer/collector) writes it at the top of the bundle when it is done. Trimmed
from the lab fixture fixtures/lab/lab-oom-128mi.tar.gz::

    {
      "collector": "podmortem-collect",
      "collector_version": "0.1.0",
      "hostname": "vm",
      "kernel": "6.18.44-fc-v595",
      "started_at": "2026-11-24T12:42:53Z",
      "wall_time": "2026-11-24T12:42:54Z",
      "steps": [
        {"name": "dmesg", "command": "timeout -s KILL 20 dmesg", "exit_status": "0", "duration_s": 0, "bytes": 36833, "error": "", "timed_out": false},
        {"name": "kubectl-version", "command": "timeout -s KILL 20 kubectl version --request-timeout=5s", "exit_status": "1",
         "duration_s": 0, "bytes": 61, "error": "The connection to the server localhost:8080 was refused - did you specify the right host or port?", "timed_out": false}
      ],
      "files": [
        {"path": "commands/dmesg.txt", "size": 36833, "sha256": "fa4b487a448a475f5bc48d32b38f8b8f23f352cf4bfe2ac546e2c191857af73e"},
        {"path": "commands/docker-ps.txt", "size": 0, "sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}
      ]
    }

``files`` lists every member of the bundle with its size and sha256: 37,000 entries (8 MB) for a
500-pod node. Nothing reads it, so it is read (checked) 256 KB at a time and dropped
(analyzer.textpos.SKIP): building all its entries at once, as orjson did, was a 115 MB transient for
a list thrown away at once. A step that timed out or failed explains an output that is missing or
cut; it is a problem cited at the line of the step's ``name``.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from analyzer.models.common import Evidence, Parsed, Problem
from analyzer.textpos import SKIP, LineCounter, position, read_json, refusal


class Manifest(BaseModel):
    fields: dict[str, Any]  # every top-level key but "files"
    host: str | None = None
    kernel: str | None = None
    collected_at: datetime | None = None  # wall_time (the collector's clock when it began), else started_at


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _collected_at(manifest: dict) -> datetime | None:
    collected = _str(manifest.get("wall_time") or manifest.get("started_at"))
    if not collected:
        return None
    try:
        return datetime.fromisoformat(collected.replace("Z", "+00:00"))
    except ValueError:
        return None


def step_problems(manifest: dict, lines: LineCounter, source: str) -> list[Problem]:
    """Collector steps that timed out or failed: why an output is missing or cut (a hung kubectl, no docker).

    >>> doc = '{"steps": [\\n {"name": "dmesg", "exit_status": "0"},\\n {"name": "docker-ps", "exit_status": "1", "error": "no docker"}]}'
    >>> [(p.message, p.evidence.line) for p in step_problems(read_json(doc, 0, {"steps": [{}]}), LineCounter(doc), "manifest.json")]
    [('collector step docker-ps failed (exit 1): no docker', 3)]
    """
    steps = manifest.get("steps")
    problems = []
    for step in steps if isinstance(steps, list) else []:
        if not isinstance(step, dict):
            continue
        name, error = _str(step.get("name")) or "?", _str(step.get("error"))
        exit_status = str(step.get("exit_status", "0"))
        where = Evidence(file=source, line=lines.line_at(position(step, "name") if _str(step.get("name")) else None))
        if step.get("timed_out") is True:
            problems.append(Problem(message=f"collector step {name} timed out after {step.get('duration_s')} s: its output is cut or missing", evidence=where))
        elif exit_status not in ("0", ""):
            problems.append(Problem(message=f"collector step {name} failed (exit {exit_status})" + (f": {error[:200]}" if error else ""), evidence=where))
    return problems


PLAN = {"steps": [{}], "files": SKIP}  # steps cite their lines; files are read (checked) and dropped


def parse(text: str, source: str) -> Parsed[Manifest]:
    """The manifest without its file list, and the collector steps that went wrong.

    >>> doc = '{"hostname": "vm", "wall_time": "2026-11-24T12:42:54Z", "steps": [], "files": [{"path": "proc/meminfo", "size": 1}]}'
    >>> m = parse(doc, "manifest.json").value
    >>> m.host, m.collected_at.isoformat(), sorted(m.fields)
    ('vm', '2026-11-24T12:42:54+00:00', ['hostname', 'steps', 'wall_time'])
    """
    try:
        manifest = read_json(text, 0, PLAN)
    except ValueError as err:
        return Parsed(status="unrecognised", problems=[Problem(message=f"manifest.json is not valid JSON: {refusal(text, 0, err)}", evidence=Evidence(file=source))])
    if not isinstance(manifest, dict):
        return Parsed(status="unrecognised", problems=[Problem(message="manifest.json is not a JSON object", evidence=Evidence(file=source))])
    fields = {k: v for k, v in manifest.items() if k != "files"}  # the file list (one entry per member) is not kept
    value = Manifest(fields=fields, host=_str(manifest.get("hostname")), kernel=_str(manifest.get("kernel")), collected_at=_collected_at(manifest))
    return Parsed(value=value, status="complete", problems=step_problems(manifest, LineCounter(text), source))
