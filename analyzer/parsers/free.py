"""``free`` output (procps-ng): the node's memory as people paste it, in any unit flag.

procps-ng free(1) reads /proc/meminfo: total = MemTotal, free = MemFree, shared = Shmem,
buff/cache = Buffers + Cached + SReclaimable, available = MemAvailable (FACTS.md section 7).
Real paste (kubernetes/kubernetes#112927, ``free -h``)::

                  total        used        free      shared  buff/cache   available
    Mem:           125G         22G         57G        4.0G         45G         96G
    Swap:            0B          0B          0B

Units: ``-h`` prints B, K/Ki, M/Mi, G/Gi, T/Ti (binary multiples, "K" meaning KiB, rounded to
two or three significant digits: the bytes are approximate); ``-b``/``-k``(default)/``-m``/``-g``
print bare integers in bytes, KiB, MiB, GiB. Older procps (< 3.3.10) printed
``total used free shared buffers cached`` and a ``-/+ buffers/cache:`` row; both are read.
The unit of bare numbers is unknown from the output alone: KiB (free's default) is assumed
unless the command line in the paste says ``-b``, ``-m`` or ``-g``.
"""
from __future__ import annotations

import re

from pydantic import BaseModel

from analyzer.models.common import Evidence, Parsed, Problem

RE_HEADER = re.compile(r"^\s*total\s+used\s+free\s+shared\s+(?P<rest>.*)$")
RE_MEM_ROW = re.compile(r"^\s*Mem:\s+(?P<values>.*)$")
RE_HUMAN = re.compile(r"^(?P<num>\d+(?:[.,]\d+)?)(?P<unit>[BKMGTP]i?)?$")
RE_COMMAND = re.compile(r"\bfree\s+(?P<flags>(?:-{1,2}[a-z]+\s*)+)")
HUMAN = {"B": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4, "P": 1024**5}
FLAG_UNITS = {"b": 1, "bytes": 1, "k": 1024, "kibi": 1024, "m": 1024**2, "mebi": 1024**2, "g": 1024**3, "gibi": 1024**3}


class FreeOutput(BaseModel):
    total_bytes: int | None = None
    used_bytes: int | None = None
    free_bytes: int | None = None
    shared_bytes: int | None = None
    buff_cache_bytes: int | None = None
    available_bytes: int | None = None
    approximate: bool = False  # -h output: rounded to a few significant digits
    evidence: Evidence


def _value(text: str, unit: int) -> tuple[int | None, bool]:
    """(bytes, approximate) of one cell: ``45G``, ``4.0Gi``, ``0B`` or a bare integer in ``unit``."""
    match = RE_HUMAN.match(text.strip())
    if match is None:
        return None, False
    number = float(match["num"].replace(",", "."))
    if match["unit"]:
        return round(number * HUMAN[match["unit"][0]]), match["unit"] != "B"
    return (int(match["num"]) * unit if match["num"].isdigit() else None), False


def _unit_of(text: str) -> int:
    command = RE_COMMAND.search(text)
    if command is None:
        return 1024
    for flag in re.findall(r"-{1,2}([a-z]+)", command["flags"]):
        if flag in FLAG_UNITS:
            return FLAG_UNITS[flag]
    return 1024


def parse(text: str, source: str) -> Parsed[FreeOutput]:
    """The ``Mem:`` row of the first ``free`` output in ``text`` (a paste may hold other commands' output).

    >>> r = parse("       total   used   free   shared  buff/cache   available\\nMem:  125G  22G  57G  4.0G  45G  96G\\n", "p.txt")
    >>> f = r.value
    >>> f.total_bytes // 1024**3, f.available_bytes // 1024**3, f.buff_cache_bytes // 1024**3, f.approximate, f.evidence.line
    (125, 96, 45, True, 2)
    >>> parse("$ free -m\\n  total used free shared buff/cache available\\nMem: 1000 200 300 10 500 700\\n", "f").value.available_bytes
    734003200
    """
    lines = text.split("\n")
    unit = _unit_of(text)
    columns: list[str] | None = None
    for no, raw in enumerate(lines, start=1):
        line = raw.replace("*", "")  # markdown emphasis left in pastes: **free**, **57G**
        header = RE_HEADER.match(line)
        if header is not None:
            columns = ["total", "used", "free", "shared", *header["rest"].split()]
            continue
        row = RE_MEM_ROW.match(line)
        if row is None or columns is None:
            continue
        cells = row["values"].split()
        out = FreeOutput(evidence=Evidence(file=source, line=no))
        for name, cell in zip(columns, cells):
            value, approximate = _value(cell, unit)
            out.approximate |= approximate
            field = {"buff/cache": "buff_cache", "available": "available"}.get(name, name)
            if f"{field}_bytes" in FreeOutput.model_fields and value is not None:
                setattr(out, f"{field}_bytes", value)
        if "buffers" in columns and "cached" in columns:  # procps < 3.3.10: buffers and cached apart
            values = dict(zip(columns, (_value(c, unit)[0] for c in cells)))
            if values.get("buffers") is not None and values.get("cached") is not None:
                out.buff_cache_bytes = values["buffers"] + values["cached"]
        if out.total_bytes is None:
            return Parsed(value=None, status="unrecognised", problems=[Problem(message="free: unreadable Mem: row", evidence=out.evidence)])
        return Parsed(value=out)
    return Parsed(value=None, status="unrecognised", problems=[Problem(message="no `free` output found", evidence=Evidence(file=source))])
