"""Kubelet log lines of the eviction manager (journalctl -u kubelet, /var/log/kubelet.log).

klog header ``I1215 19:22:47.149077   77158 eviction_manager.go:243] <message>``, with or without
a journald prefix (``May 28 16:05:50 host kubelet[2269385]: `` or short-iso). Messages, both
the structured (klog InfoS, k8s >= ~1.21) and the legacy printf forms (pkg/kubelet/eviction/
eviction_manager.go, helpers.go; FACTS.md §4)::

    "Eviction manager: attempting to reclaim" resourceName="memory"
    "Eviction manager: pods ranked for eviction" pods=["sre/a","sre/b"]
    "Eviction manager: pod is evicted successfully" pod="sre/a"
    eviction manager: must evict pod(s) to reclaim memory
    eviction manager: observations: signal=memory.available, available: 60329376Ki, capacity: 65973468Ki, time: ...

klog stamps have no year: it comes from a journald short-iso prefix when there is one.
Only lines mentioning the eviction manager are looked at (a cheap prefilter: logs are GBs).
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timezone

from pydantic import BaseModel

from analyzer.models.common import Evidence, Parsed
from analyzer.quantity import parse_quantity

RE_KLOG = re.compile(r"(?P<sev>[IWEF])(?P<mm>\d\d)(?P<dd>\d\d) (?P<clock>\d\d:\d\d:\d\d(?:\.\d+)?)\s+\d+ (?P<where>[\w.-]+:\d+)\] (?P<msg>.*)$")
RE_ISO = re.compile(r"^(?P<iso>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)")
RE_RESOURCE = re.compile(r'resourceName="(?P<r>[^"]+)"|reclaim (?P<r2>[\w.-]+)')
RE_POD_KV = re.compile(r'\bpod="(?P<pod>[^"]+)"')
RE_PODS_LIST = re.compile(r"pods=\[(?P<list>[^\]]*)\]|ranked for eviction: (?P<legacy>.*)$")
RE_OBSERVATION = re.compile(r"signal=(?P<signal>[\w.]+), available: (?P<available>-?[\w.]+), capacity: (?P<capacity>[\w.]+)")
KINDS = (
    ("pods ranked for eviction", "pods_ranked"),
    ("evicted successfully", "evicted"),
    ("is evicted successfully", "evicted"),
    ("failed to evict", "eviction_failed"),
    ("must evict pod(s)", "must_evict"),
    ("attempting to reclaim", "attempting_reclaim"),
    ("cannot evict a critical pod", "critical_pod"),
    ("observations", "observation"),
    ("thresholds have been met", "threshold_met"),
    ("Evicting pod", "evicting_pod"),
    ("no resources are starved", "no_pressure"),
    ("able to reduce", "reclaimed_without_eviction"),
)


class KubeletLogEvent(BaseModel):
    kind: str
    time: datetime | None = None
    time_text: str | None = None  # "12-15 19:22:47.149077" when the year is unknown
    resource: str | None = None
    signal: str | None = None
    available_bytes: int | None = None
    capacity_bytes: int | None = None
    pods: list[str] = []
    pod: str | None = None
    message: str
    evidence: Evidence


def _time(prefix: str, month: str, day: str, clock: str) -> tuple[datetime | None, str]:
    text = f"{month}-{day} {clock}"
    iso = RE_ISO.match(prefix.strip())
    if iso is None:
        return None, text
    year = int(iso.group("iso")[:4])
    try:
        hms, _, frac = clock.partition(".")
        h, m, s = (int(x) for x in hms.split(":"))
        micro = int((frac + "000000")[:6]) if frac else 0
        return datetime(year, int(month), int(day), h, m, s, micro, tzinfo=timezone.utc), text
    except ValueError:
        return None, text


def _pods(msg: str) -> list[str]:
    match = RE_PODS_LIST.search(msg)
    if match is None:
        return []
    if match.group("list") is not None:
        return [p.strip('"') for p in (p.strip() for p in match.group("list").split(",")) if p]
    return [p for p in (p.strip() for p in match.group("legacy").split(",")) if p]


def parse(text: str, source: str, line_numbers: Sequence[int] | None = None) -> Parsed[list[KubeletLogEvent]]:
    """Eviction-manager events in order. ``line_numbers``: the member's line number of each line of
    ``text`` when it holds only the lines a big log's prefilter kept (analyzer.prefilter).

    >>> log = 'May 28 16:05:54 n kubelet[1]: I0528 16:05:54.802914 1 eviction_manager.go:627] "Eviction manager: pod is evicted successfully" pod="sre/a"'
    >>> e = parse(log, "kubelet.log").value[0]
    >>> e.kind, e.pod, e.time_text, e.evidence.line
    ('evicted', 'sre/a', '05-28 16:05:54.802914', 1)
    """
    events: list[KubeletLogEvent] = []
    lines = text.split("\n")
    for no, line in zip(line_numbers or range(1, len(lines) + 1), lines):
        if "viction" not in line and "Evicting" not in line:
            continue
        match = RE_KLOG.search(line)
        if match is None:
            continue
        msg = match.group("msg")
        kind = next((k for needle, k in KINDS if needle in msg), None)
        if kind is None:
            continue
        when, text_time = _time(line[: match.start()], match.group("mm"), match.group("dd"), match.group("clock"))
        event = KubeletLogEvent(kind=kind, time=when, time_text=None if when else text_time, message=msg[:500],
                                evidence=Evidence(file=source, line=no))
        # the kind is checked before the search, and a literal before RE_POD_KV: a "pods ranked"
        # line lists hundreds of pods (18 kB), and each search of it cost 0.1 ms
        resource = RE_RESOURCE.search(msg) if kind in ("attempting_reclaim", "must_evict", "reclaimed_without_eviction") else None
        if resource is not None:
            event.resource = (resource.group("r") or resource.group("r2") or "").rstrip(".") or None
        pod = RE_POD_KV.search(msg) if 'pod="' in msg else None
        event.pod = pod.group("pod") if pod else None
        if kind == "pods_ranked":
            event.pods = _pods(msg)
        if kind == "observation":
            obs = RE_OBSERVATION.search(msg)
            if obs is not None:
                event.signal = obs.group("signal")
                event.available_bytes = parse_quantity(obs.group("available"))
                event.capacity_bytes = parse_quantity(obs.group("capacity"))
        events.append(event)
    if not events:
        return Parsed(value=[], status="complete", problems=[])
    return Parsed(value=events)
