"""Small /proc files: ``stat`` (btime), ``uptime``, ``version``.

Samples: ``/proc/stat`` holds ``btime 1795952813`` (boot time, seconds since the epoch, UTC);
``/proc/uptime`` holds ``392.81 780.12``; ``/proc/version`` holds
``Linux version 6.18.44-fc-v595 (builder@host) (gcc ...) #1 SMP PREEMPT_DYNAMIC ...``.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone

from pydantic import BaseModel

from analyzer.models.common import Evidence, Parsed, Problem

RE_BTIME = re.compile(r"(?m)^btime (?P<s>\d{1,12})\s*$")
RE_UPTIME = re.compile(r"^\s*(?P<up>\d+(?:\.\d+)?)")
RE_VERSION = re.compile(r"Linux version (?P<release>\S+)")


class KernelVersion(BaseModel):
    release: str
    text: str


def parse_stat_btime(text: str, source: str) -> Parsed[datetime]:
    """
    >>> parse_stat_btime("cpu 1 2\\nbtime 1795952813\\n", "proc/stat").value.isoformat()
    '2026-11-29T11:46:53+00:00'
    """
    match = RE_BTIME.search(text)
    if match is None:
        return Parsed(status="unrecognised", problems=[Problem(message="/proc/stat has no btime line", evidence=Evidence(file=source))])
    try:
        return Parsed(value=datetime.fromtimestamp(int(match["s"]), tz=timezone.utc))
    except (OverflowError, OSError, ValueError):
        return Parsed(status="unrecognised", problems=[Problem(message="/proc/stat btime out of range", evidence=Evidence(file=source))])


def parse_uptime(text: str, source: str) -> Parsed[float]:
    """
    >>> parse_uptime("392.81 780.12\\n", "proc/uptime").value
    392.81
    """
    match = RE_UPTIME.match(text)
    if match is None:
        return Parsed(status="unrecognised", problems=[Problem(message="/proc/uptime is not 'seconds idle'", evidence=Evidence(file=source))])
    return Parsed(value=float(match["up"]))


def parse_version(text: str, source: str) -> Parsed[KernelVersion]:
    """
    >>> parse_version("Linux version 6.18.44-fc-v595 (b@h) #1\\n", "proc/version").value.release
    '6.18.44-fc-v595'
    """
    match = RE_VERSION.search(text)
    if match is None:
        return Parsed(status="unrecognised", problems=[Problem(message="/proc/version has no 'Linux version'", evidence=Evidence(file=source))])
    return Parsed(value=KernelVersion(release=match["release"], text=text.strip()[:300]))
