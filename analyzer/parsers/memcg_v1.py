"""cgroup v1 memory controller files, one file at a time (``/sys/fs/cgroup/memory/<cgroup>/``).

Written by mm/memcontrol-v1.c (FACTS.md §1). Single numbers in bytes (``memory.usage_in_bytes``,
``memory.limit_in_bytes`` (9223372036854771712 = unlimited), ``memory.max_usage_in_bytes``,
``memory.failcnt``, ``memory.memsw.*``, ``memory.kmem.*``) or ``key value`` lines
(``memory.stat``, ``memory.oom_control``). Sample ``memory.oom_control``::

    oom_kill_disable 0
    under_oom 0
    oom_kill 1

``parse*`` return ``Parsed[MemcgFile]`` (the parsers' contract); ``read_number`` and
``read_key_values`` are what they are made of, plain values for analyzer.cgroup_tree, which reads
~26,000 of these files in a 500-pod bundle and keeps no per-file object.
"""
from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field

from analyzer.models.common import Evidence, Parsed, Problem, new_dict

UNLIMITED_FROM = 2**62  # PAGE_COUNTER_MAX x page size and anything near it means "no limit"
RE_KV = re.compile(r"^(?P<key>[a-z_][a-z0-9_]*)\s+(?P<val>-?\d{1,25})\s*$")  # 25 digits: int() refuses > 4300
RE_NUMBER = re.compile(r"-?\d{1,25}")

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

    # built on first use: analyzer.cgroup_tree reads bundle files without it (0.3 ms less at every start)
    model_config = ConfigDict(defer_build=True)

    file: str
    field: str | None = None  # CgroupMemory field set by a single-number file
    number: int | None = None
    unlimited: bool = False
    values: dict[str, int] = Field(default_factory=new_dict)
    evidence: dict[str, Evidence] = Field(default_factory=new_dict)


def read_number(text: str, limit: bool, unlimited_words: tuple[str, ...] = ()) -> tuple[int | None, bool, str | None]:
    """(number, unlimited, problem) of a one-number file; ``limit``: a number from 2**62 up means no limit.

    >>> read_number("4096\\n", False), read_number("max\\n", True, ("max",)), read_number("-1", True)
    ((4096, False, None), (None, True, None), (None, False, 'negative value -1'))
    """
    word = text.strip()
    if word.isdecimal() and len(word) <= 25:  # one non-negative number, as the kernel writes it (what RE_NUMBER takes)
        number = int(word)
    else:
        word = word.split("\n")[0].strip()
        if word in unlimited_words:
            return None, True, None
        if not RE_NUMBER.fullmatch(word):
            return None, False, f"expected a number, found {word[:40]!r}"
        number = int(word)
        if number < 0:
            return None, False, f"negative value {number}"
    if limit and number >= UNLIMITED_FROM:
        return None, True, None
    return number, False, None


def parse_number(text: str, source: str, field: str, unlimited_words: tuple[str, ...] = ()) -> Parsed[MemcgFile]:
    """A file holding one number (or an 'unlimited' word such as v2's ``max``).

    >>> parse_number("9223372036854771712\\n", "x/memory.limit_in_bytes", "limit_bytes").value.unlimited
    True
    >>> parse_number("abc", "x/memory.failcnt", "failcnt").status
    'unrecognised'
    """
    name = source.rpartition("/")[2]
    number, unlimited, problem = read_number(text, field.endswith("limit_bytes"), unlimited_words)
    ev = Evidence(file=source, line=1)
    if problem is not None:
        return Parsed(status="unrecognised", problems=[Problem(message=f"{name}: {problem}", evidence=ev)])
    return Parsed(value=MemcgFile(file=name, field=field, number=number, unlimited=unlimited, evidence={name: ev}))


# memory.stat keys whose own line the rules cite (number_gaps, trends, eviction, oom_victim); an Evidence per
# key of every memory.stat of a 500-pod node would cost more memory than all the rest of the analysis
CITED_KEYS = {"rss", "cache", "anon", "file", "active_file", "inactive_file", "oom_kill"}
# the evidence key of each cited key, v1's hierarchical total_<key> included (made once, not per line)
EVIDENCE_KEYS = {key: f"stat:{key}" for cited in CITED_KEYS for key in (cited, f"total_{cited}")}
# Keys RE_KV has accepted -> (the key, kept once; its evidence key or None). A line "<known key> <digits>" then needs
# no regex (read_key_values: 24 -> 13 µs for a 42-line memory.stat), and the ~50 keys of 2,000 memory.stat files
# share one string each (3 KB a cgroup). Bounded, so odd files cannot make it grow for ever.
_KNOWN_KEYS: dict[str, tuple[str, str | None]] = {}
KNOWN_KEYS_MAX = 4096


def read_key_values(text: str, name: str) -> tuple[dict[str, int], dict[str, int], list[tuple[str, int | None]]]:
    """(values, line of each cited key under its evidence key, problems as (message, line)) of ``key value`` lines.

    >>> read_key_values("cache 4096\\nrss 8192\\n\\nbogus line\\n", "memory.stat")
    ({'cache': 4096, 'rss': 8192}, {'stat:cache': 1, 'stat:rss': 2}, [("memory.stat: unexpected line 'bogus line'", 4)])
    >>> read_key_values("\\n", "memory.stat")
    ({}, {}, [('memory.stat: empty', None)])
    """
    values: dict[str, int] = {}
    cited: dict[str, int] = {}
    problems: list[tuple[str, int | None]] = []
    known = _KNOWN_KEYS
    no = 0
    for line in text.split("\n"):
        no += 1
        key, _, val = line.partition(" ")
        entry = known.get(key)
        if entry is None or not val.isdecimal() or len(val) > 25:  # anything but "<known key> <digits>": the full rule
            stripped = line.strip()
            if not stripped:
                continue
            match = RE_KV.match(stripped)
            if match is None:
                problems.append((f"{name}: unexpected line {line[:80]!r}", no))
                continue
            key, val = match["key"], match["val"]
            entry = known.get(key)
            if entry is None:
                entry = (key, EVIDENCE_KEYS.get(key))
                if len(known) < KNOWN_KEYS_MAX:
                    known[key] = entry
        key, evidence_key = entry
        values[key] = int(val)
        if evidence_key is not None:  # a line a report may cite; the other ~50 keys share the file's
            cited[evidence_key] = no
    if not values and not problems:
        problems.append((f"{name}: empty", None))
    return values, cited, problems


def parse_key_values(text: str, source: str) -> Parsed[MemcgFile]:
    """``key value`` lines (memory.stat, memory.oom_control, v2 memory.events).

    >>> r = parse_key_values("cache 4096\\nrss 8192\\nbogus line\\n", "x/memory.stat")
    >>> r.value.values, r.status, r.value.evidence["stat:rss"].line
    ({'cache': 4096, 'rss': 8192}, 'partial', 2)
    """
    name = source.rpartition("/")[2]
    values, cited, found = read_key_values(text, name)
    problems = [Problem(message=message, evidence=Evidence(file=source) if no is None else Evidence(file=source, line=no))
                for message, no in found]
    if not values:
        return Parsed(status="unrecognised", problems=problems)
    evidence = {key: Evidence(file=source, line=no) for key, no in cited.items()}
    evidence[name] = Evidence(file=source, line=1)
    return Parsed(value=MemcgFile(file=name, values=values, evidence=evidence), status="partial" if problems else "complete", problems=problems)


def parse(text: str, source: str) -> Parsed[MemcgFile]:
    """Any v1 memory file, chosen by its name (the basename of ``source``)."""
    name = source.rpartition("/")[2]
    if name in NUMBER_FILES:
        return parse_number(text, source, NUMBER_FILES[name])
    if name in KV_FILES:
        return parse_key_values(text, source)
    return Parsed(status="unrecognised", problems=[])
