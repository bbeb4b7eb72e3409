"""cgroup v2 memory files, one at a time (``/sys/fs/cgroup/<cgroup>/memory.*``).

Written by mm/memcontrol.c (FACTS.md §2): ``memory.current``, ``memory.peak``,
``memory.swap.current`` (bytes); ``memory.max``/``high``/``low``/``min``/``swap.max`` (bytes or
``max``); ``memory.stat``, ``memory.events``, ``memory.events.local`` (``key value``);
``memory.pressure`` (PSI). Sample ``memory.events``::

    low 0
    high 0
    max 13693
    oom 0
    oom_kill 0
"""
from __future__ import annotations

import re

from analyzer.models.common import Evidence, Parsed, Problem
from analyzer.parsers.memcg_v1 import MemcgFile, parse_key_values, parse_number

NUMBER_FILES = {
    "memory.current": "usage_bytes",
    "memory.peak": "max_usage_bytes",
    "memory.max": "limit_bytes",
    "memory.high": "high_bytes",
    "memory.low": "low_bytes",
    "memory.min": "min_bytes",
    "memory.swap.current": "swap_usage_bytes",
    "memory.swap.max": "swap_limit_bytes",
    "memory.oom.group": "oom_group",
}
KV_FILES = {"memory.stat", "memory.events", "memory.events.local", "memory.swap.events"}
UNLIMITED_WORDS = ("max",)
RE_PSI = re.compile(r"^(?P<kind>some|full)\s+(?P<rest>.*)$")


def read_pressure(text: str) -> dict[str, int]:
    """PSI values as ``<kind>_<key>``, avg in hundredths and total in µs (empty: no PSI line).

    >>> read_pressure("some avg10=1.50 avg60=0.00 avg300=0.00 total=42\\nfull avg10=inf total=x\\n")
    {'some_avg10': 150, 'some_avg60': 0, 'some_avg300': 0, 'some_total': 42}
    """
    values: dict[str, int] = {}
    for line in text.split("\n"):
        match = RE_PSI.match(line.strip())
        if match is None:
            continue
        for pair in match["rest"].split():
            key, _, val = pair.partition("=")
            try:
                values[f"{match['kind']}_{key}"] = int(float(val) * 100) if key.startswith("avg") else int(val)
            except (ValueError, OverflowError):  # OverflowError: "inf" or 1e400, whose int() is no number
                continue
    return values


def parse_pressure(text: str, source: str) -> Parsed[MemcgFile]:
    """PSI lines; values kept as ``<kind>_<key>`` with avg in hundredths and total in µs.

    >>> parse_pressure("some avg10=1.50 avg60=0.00 avg300=0.00 total=42\\n", "x/memory.pressure").value.values["some_total"]
    42
    """
    name = source.rpartition("/")[2]
    values = read_pressure(text)
    if not values:
        return Parsed(status="unrecognised", problems=[Problem(message=f"{name}: no PSI lines", evidence=Evidence(file=source))])
    return Parsed(value=MemcgFile(file=name, values=values, evidence={name: Evidence(file=source, line=1)}))


def parse(text: str, source: str) -> Parsed[MemcgFile]:
    """Any v2 memory file, chosen by its name (the basename of ``source``).

    >>> parse("max\\n", "kubepods.slice/memory.max").value.unlimited
    True
    """
    name = source.rpartition("/")[2]
    if name in NUMBER_FILES:
        return parse_number(text, source, NUMBER_FILES[name], unlimited_words=UNLIMITED_WORDS)
    if name in KV_FILES:
        return parse_key_values(text, source)
    if name == "memory.pressure":
        return parse_pressure(text, source)
    return Parsed(status="unrecognised", problems=[])
