"""/proc/meminfo: ``Key:   value kB`` lines, normalised to bytes (HugePages_* counts stay counts).

Sample::

    MemTotal:       24683636 kB
    MemFree:        24574348 kB
    MemAvailable:   24474800 kB
    Shmem:              8260 kB
"""
from __future__ import annotations

import re

from analyzer.models.common import Evidence, Parsed, Problem
from analyzer.models.node import MemInfo

RE_LINE = re.compile(r"^(?P<key>[A-Za-z0-9_()]+):\s+(?P<val>\d{1,25})(?:\s+(?P<unit>kB))?\s*$")  # 25 digits: int() refuses > 4300


def parse(text: str, source: str) -> Parsed[MemInfo]:
    """
    >>> r = parse("MemTotal:  1024 kB\\nHugePages_Total: 2\\n", "proc/meminfo")
    >>> r.value.values, r.value.evidence["MemTotal"].line
    ({'MemTotal': 1048576, 'HugePages_Total': 2}, 1)
    """
    info = MemInfo()
    problems = []
    for no, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        match = RE_LINE.match(line.strip())
        if match is None:
            problems.append(Problem(message=f"meminfo: unexpected line {line[:80]!r}", evidence=Evidence(file=source, line=no)))
            continue
        value = int(match["val"])
        info.values[match["key"]] = value * 1024 if match["unit"] else value
        info.evidence[match["key"]] = Evidence(file=source, line=no)
    if "MemTotal" not in info.values:
        return Parsed(value=info if info.values else None, status="unrecognised", problems=problems + [Problem(message="meminfo: no MemTotal line", evidence=Evidence(file=source))])
    return Parsed(value=info, status="partial" if problems else "complete", problems=problems)
