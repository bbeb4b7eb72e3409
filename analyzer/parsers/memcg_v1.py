"""cgroup v1 memory controller files, one file at a time (``/sys/fs/cgroup/memory/<cgroup>/``).

Written by mm/memcontrol-v1.c (FACTS.md §1). Single numbers in bytes (``memory.usage_in_bytes``,
``memory.limit_in_bytes`` (9223372036854771712 = unlimited), ``memory.max_usage_in_bytes``,
``memory.failcnt``, ``memory.memsw.*``, ``memory.kmem.*``) or ``key value`` lines
(``memory.stat``, ``memory.oom_control``). Sample ``memory.oom_control``::

    oom_kill_disable 0
    under_oom 0
    oom_kill 1
"""
from __future__ import annotations

import re

from pydantic import BaseModel, Field

from analyzer.models.common import Evidence, Parsed, Problem

UNLIMITED_FROM = 2**62  # PAGE_COUNTER_MAX x page size and anything near it means "no limit"
RE_KV = re.compile(r"^(?P<key>[a-z_][a-z0-9_]*)\s+(?P<val>-?\d{1,25})\s*$")  # 25 digits: int() refuses > 4300

NUMBER_FILES = {
    "memory.usage_in_bytes": "usage_bytes",
    "memory.limit_in_bytes": "limit_bytes",
    "memory.max_usage_in_bytes": "max_usage_bytes",
    "memory.failcnt": "failcnt",
    "memory.memsw.usage_in_bytes": "memsw_usage_bytes",
    "memory.memsw.limit_in_bytes": "memsw_limit_bytes",
    "memory.soft_limit_in_bytes": "soft_limit_bytes",
    "memory.kmem.usage_in_bytes": "kmem_usage_bytes",
}
KV_FILES = {"memory.stat", "memory.oom_control"}


class MemcgFile(BaseModel):
    """What one cgroup memory file says: a field of CgroupMemory, or key/value pairs."""

    file: str
    field: str | None = None  # CgroupMemory field set by a single-number file
    number: int | None = None
    unlimited: bool = False
    values: dict[str, int] = Field(default_factory=dict)
    evidence: dict[str, Evidence] = Field(default_factory=dict)


def parse_number(text: str, source: str, field: str, unlimited_words: tuple[str, ...] = ()) -> Parsed[MemcgFile]:
    """A file holding one number (or an 'unlimited' word such as v2's ``max``).

    >>> parse_number("9223372036854771712\\n", "x/memory.limit_in_bytes", "limit_bytes").value.unlimited
    True
    >>> parse_number("abc", "x/memory.failcnt", "failcnt").status
    'unrecognised'
    """
    name = source.rpartition("/")[2]
    word = text.strip().split("\n")[0].strip() if text.strip() else ""
    ev = Evidence(file=source, line=1)
    if word in unlimited_words:
        return Parsed(value=MemcgFile(file=name, field=field, unlimited=True, evidence={name: ev}))
    if not re.fullmatch(r"-?\d{1,25}", word):
        return Parsed(status="unrecognised", problems=[Problem(message=f"{name}: expected a number, found {word[:40]!r}", evidence=ev)])
    number = int(word)
    if number < 0:
        return Parsed(status="unrecognised", problems=[Problem(message=f"{name}: negative value {number}", evidence=ev)])
    unlimited = field.endswith("limit_bytes") and number >= UNLIMITED_FROM
    return Parsed(value=MemcgFile(file=name, field=field, number=None if unlimited else number, unlimited=unlimited, evidence={name: ev}))


# memory.stat keys whose own line the rules cite (number_gaps, trends, eviction, oom_victim); an Evidence per
# key of every memory.stat of a 500-pod node would cost more memory than all the rest of the analysis
CITED_KEYS = {"rss", "cache", "anon", "file", "active_file", "inactive_file", "oom_kill"}


def parse_key_values(text: str, source: str) -> Parsed[MemcgFile]:
    """``key value`` lines (memory.stat, memory.oom_control, v2 memory.events).

    >>> r = parse_key_values("cache 4096\\nrss 8192\\nbogus line\\n", "x/memory.stat")
    >>> r.value.values, r.status, r.value.evidence["stat:rss"].line
    ({'cache': 4096, 'rss': 8192}, 'partial', 2)
    """
    name = source.rpartition("/")[2]
    values: dict[str, int] = {}
    evidence: dict[str, Evidence] = {}
    problems = []
    for no, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        match = RE_KV.match(line.strip())
        if match is None:
            problems.append(Problem(message=f"{name}: unexpected line {line[:80]!r}", evidence=Evidence(file=source, line=no)))
            continue
        key = match["key"]
        values[key] = int(match["val"])
        if key.removeprefix("total_") in CITED_KEYS:  # a line a report may cite; the other ~50 keys share the file's
            evidence[f"stat:{key}"] = Evidence(file=source, line=no)
    evidence[name] = Evidence(file=source, line=1)
    if not values:
        return Parsed(status="unrecognised", problems=problems or [Problem(message=f"{name}: empty", evidence=Evidence(file=source))])
    return Parsed(value=MemcgFile(file=name, values=values, evidence=evidence), status="partial" if problems else "complete", problems=problems)


def parse(text: str, source: str) -> Parsed[MemcgFile]:
    """Any v1 memory file, chosen by its name (the basename of ``source``)."""
    name = source.rpartition("/")[2]
    if name in NUMBER_FILES:
        return parse_number(text, source, NUMBER_FILES[name])
    if name in KV_FILES:
        return parse_key_values(text, source)
    return Parsed(status="unrecognised", problems=[])
