"""Kernel log: OOM-killer reports in dmesg, ``dmesg -T``, journalctl -k, syslog, /dev/kmsg.

Written by mm/oom_kill.c (``dump_header``, ``dump_tasks``, ``dump_oom_summary``,
``__oom_kill_process``, ``oom_reap_task_mm``) and mm/memcontrol.c
(``mem_cgroup_print_oom_context``, ``mem_cgroup_print_oom_meminfo``,
``mem_cgroup_print_oom_group``), kernels 3.10 to 6.18 (FACTS.md §5). A 6.18 memcg v1 report
from this project's lab, trimmed::

    [  392.318474] memory: usage 131072kB, limit 131072kB, failcnt 72
    [  392.318487] Memory cgroup stats for /kubepods/burstable/pod1111.../aaaa...:
    [  392.318525] cache 16384
    [  392.318602] Tasks state (memory values in pages):
    [  392.318603] [  pid  ]   uid  tgid total_vm      rss rss_anon rss_file rss_shmem pgtables_bytes swapents oom_score_adj name
    [  392.318606] [   2109]     0  2109    35238    34278    32640     1638         0   323584        0             0 python3
    [  392.318609] oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/kubepods/...,task_memcg=/kubepods/...,task=python3,pid=2109,uid=0
    [  392.318633] Memory cgroup out of memory: Killed process 2109 (python3) total-vm:140952kB, anon-rss:130560kB, file-rss:6552kB, shmem-rss:0kB, UID:0 pgtables:316kB oom_score_adj:0

Two passes, in the manner of OOMAnalyser: first each physical line loses its prefix (time,
host) and wrapped lines are joined into logical lines; then a table of named regexes drives a
small state machine, one ``OomReport`` per OOM-killer run. Fragments are kept as ``partial``
reports, never dropped. A cheap keyword prefilter keeps unrelated lines out of the regexes.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from analyzer.models.common import Evidence, Parsed, Problem
from analyzer.models.kernel import (
    PAGE_SIZE,
    KernelLog,
    KilledProcess,
    MemcgStatsBlock,
    OomReport,
    OomTask,
    OomTrigger,
    ReapedProcess,
    SelectedProcess,
)
from analyzer.units import parse_int

KIB = 1024

# --- line prefixes --------------------------------------------------------------------------
# /dev/kmsg record: "6,30574067,3816544225424,-;message" (priority,seq,usec,flags;)
RE_KMSG = re.compile(r"^(?P<prio>\d+),(?P<seq>\d+),(?P<usec>\d{1,25}),[^;]*;(?P<msg>.*)$")  # 25 digits: int() refuses > 4300
# Talos: "10.200.70.91: kern:    info: [2025-06-04T04:51:57.572293906Z]: message"
RE_TALOS = re.compile(r"^(?P<host>\S+): kern:\s+\w+: \[(?P<iso>\d{4}-\d\d-\d\dT[^\]]+)\]: (?P<msg>.*)$")
# journalctl -o short-iso / short-iso-precise, rsyslog RFC 3339: "2026-11-24T11:53:05+0000 host kernel: msg"
RE_ISO_HOST = re.compile(
    r"^(?P<iso>\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?) (?P<host>\S+) kernel: ?(?P<msg>.*)$"
)
# syslog / journalctl short(-precise): "Dec  4 15:24:33 host kernel: msg"
RE_SYSLOG = re.compile(
    r"^(?P<mon>[A-Z][a-z]{2}) {1,2}(?P<day>\d{1,2}) (?P<hms>\d\d:\d\d:\d\d(?:\.\d+)?) (?P<host>\S+) kernel: ?(?P<msg>.*)$"
)
# dmesg: "[ 1234.567890] msg"; also "<6>[ 1234.5]" from dmesg -r
RE_UPTIME = re.compile(r"^(?:<\d+>)?\[\s*(?P<up>\d+\.\d+)\]\s?(?P<msg>.*)$")
# dmesg -T: "[Tue Nov 24 11:53:05 2026] msg" (any locale: a bracket holding a clock time)
RE_WALL_BRACKET = re.compile(r"^\[?(?P<wall>[^\[\]]{0,20}\d\d:\d\d:\d\d[^\[\]]{0,8})\]\s?(?P<msg>.*)$")
RE_ISO_PARTS = re.compile(r"^(.*T\d\d:\d\d:\d\d)(\.\d+)?(.*)$")
RE_ZONE_NO_COLON = re.compile(r"[+-]\d{4}")
RE_CLOCK = re.compile(r"(?P<h>\d\d):(?P<m>\d\d):(?P<s>\d\d)")
RE_YEAR = re.compile(r"\b(?P<y>(?:19|20)\d\d)\b")
RE_ZH_MONTH = re.compile(r"(?P<mon>\d{1,2})月\s*(?P<day>\d{1,2})")
RE_WORD_MONTH_DAY = re.compile(r"(?<![^\W\d_])(?P<mon>[^\W\d_]{3,})\.?\s+(?P<day>\d{1,2})\b")  # starts at a word start: linear on long letter runs
MONTHS = {
    # English, German, French, Spanish abbreviations seen in localized dmesg -T output
    "jan": 1, "feb": 2, "mar": 3, "mär": 3, "apr": 4, "may": 5, "mai": 5, "jun": 6, "jul": 7, "aug": 8,
    "sep": 9, "oct": 10, "okt": 10, "nov": 11, "dec": 12, "dez": 12, "ene": 1, "abr": 4, "ago": 8,
    "dic": 12, "fév": 2, "avr": 4, "déc": 12, "juin": 6, "juil": 7,
}
MAX_CLOCK_PAIRS = 1000  # (uptime, wall time) pairs kept per log: enough to see a clock step
RE_NOISE = re.compile(r"^(?:--|\$ .*|# .*|\.\.\.+|……+|\s*:)\s*$")

# --- OOM report lines (message text after the prefix) ----------------------------------------
# mm/oom_kill.c:dump_header
RE_HEADER = re.compile(
    r"^(?P<comm>.+?) invoked oom-killer: ?gfp_mask=(?P<gfp>0x[0-9a-fA-F]+(?:\([^)]*\))?)"
    r"(?:, ?nodemask=(?P<nodemask>[^,]*))?, ?order=(?P<order>-?\d+), ?(?:oom_score_adj|oomkilladj)=(?P<adj>-?\d+)"
)
# lib/dump_stack.c: "CPU: 0 PID: 2109 Comm: python3 Not tainted 6.18.44 #1" (6.x: "CPU: 5 UID: 0 PID: ...").
# The taint flags and the spaces before the version are read as "[A-Z ]*, then a tab or the like and
# any spaces": the same text as "[A-Z ]*?\s*" (a version starts with a digit), but without two ways to
# split a run of spaces, which took quadratic time (a 116 kB line of spaces: 95 s)
RE_CPU = re.compile(
    r"^CPU: \d+ (?:UID: \d+ )?PID: (?P<pid>\d+) Comm: (?P<comm>.{1,16}?) (?:Not tainted\s*|Tainted: [A-Z ]*(?:[^\S ]\s*)?)"
    r"(?P<version>\d+\.\d+[\w.+~-]*)"
)
RE_OLD_CPUSET = re.compile(r"^(?P<comm>.+?) cpuset=(?P<cpuset>\S+) mems_allowed=")
# mm/memcontrol.c:mem_cgroup_print_oom_context (before 4.19)
RE_TASK_IN = re.compile(r"^Task in (?P<task>\S+) killed as a result of limit of (?P<oom>\S+)")
# mm/memcontrol.c:mem_cgroup_print_oom_meminfo
RE_COUNTER = re.compile(
    r"^(?P<which>memory|memory\+swap|swap|kmem): usage (?P<usage>\d+)kB, limit (?P<limit>\d+)kB, failcnt (?P<failcnt>\d+)"
)
RE_STATS_FOR = re.compile(r"^Memory cgroup stats for (?P<path>/\S*?):?(?:\s+(?P<rest>\S.*))?$")
RE_STAT_KV = re.compile(r"^\s*(?P<key>[a-z][a-z0-9_]*)\s+(?P<val>\d+)\s*$")
RE_STAT_KB = re.compile(r"(?<![a-z0-9_])(?P<key>[a-z][a-z0-9_]*):(?P<val>\d{1,25})KB")  # word start: linear; 25 digits: int()
# mm/oom_kill.c:dump_tasks / dump_task
RE_TASKS_STATE = re.compile(r"^Tasks state \(memory values in pages\):")
RE_TASKS_HEADER = re.compile(r"^\[\s*pid\s*\]\s+(?P<cols>uid\s.*\bname)\s*$")
RE_TASK_ROW = re.compile(r"^\[\s*(?P<pid>\d+)\]\s+(?P<rest>.*)$")
# mm/oom_kill.c:dump_oom_summary (4.19+)
RE_SUMMARY = re.compile(r"^oom-kill:(?P<body>.*)$")
RE_SUMMARY_FIELD = re.compile(r"(?:^|,)(?P<key>[a-z_]+)(?:=(?P<val>[^,]*))?")
# mm/oom_kill.c:__oom_kill_process; the old 2nd line has no "<msg>: " prefix
RE_KILLED = re.compile(
    r"^(?:(?P<msg>[A-Za-z][^:]*?(?:\([^)]*\))?): )?Killed process (?P<pid>\d+) ?\((?P<comm>.*?)\)"
    r"(?= ?total-vm|[,.]|\s*$)"
    r"(?:,? ?total-vm:(?P<vm>\d+)kB, ?anon-rss:(?P<anon>\d+)kB, ?file-rss:(?P<file>\d+)kB(?:, ?shmem-rss:(?P<shmem>\d+)kB)?)?"
    r"(?:,? ?UID:(?P<uid>\d+))?(?: ?pgtables:(?P<pgt>\d+)kB)?(?: ?oom_score_adj:(?P<adj>-?\d+))?"
)
# mm/oom_kill.c:oom_kill_process before 5.1
RE_KILL_SCORE = re.compile(
    r"^(?:(?P<msg>[A-Za-z][^:]*?): )?Kill process (?P<pid>\d+) ?\((?P<comm>.*?)\) ?score (?P<score>-?\d+) or sacrifice child"
)
RE_REAPED = re.compile(
    r"^oom_reaper: reaped process (?P<pid>\d+) \((?P<comm>.*?)\), now anon-rss:(?P<anon>\d+)kB, "
    r"file-rss:(?P<file>\d+)kB(?:, shmem-rss:(?P<shmem>\d+)kB)?"
)
RE_GROUP = re.compile(r"^Tasks in (?P<path>\S+) are going to be killed due to memory\.oom\.group set")
RE_NO_KILLABLE = re.compile(r"^Out of memory and no killable processes")
RE_SUPPRESSED = re.compile(r"^oom_kill_process: (?P<n>\d+) callbacks suppressed")
RE_PAGES_RAM = re.compile(r"^(?P<n>\d+) pages RAM")
RE_TOTAL_SWAP = re.compile(r"^Total swap = (?P<kb>\d+)kB")
RE_LINUX_VERSION = re.compile(r"^Linux version (?P<version>\S+)")

# a logical line must contain one of these to enter the regex table (outside a stats/tasks block)
RE_PREFILTER = re.compile(
    r"oom|Kill|memory|Memory|Tasks|kmem:|swap:|pages RAM|Total swap|CPU: |Linux version|cpuset=|Task in|\[\s*pid\s*\]"
)
CONTINUABLE = (RE_KILLED, RE_SUMMARY, RE_TASK_IN, RE_HEADER, RE_STATS_FOR, RE_KILL_SCORE, RE_REAPED)
# a logical line that may go on in the next physical line (wrapped by a terminal, a pager or a mail client)
RE_WRAPPABLE = re.compile(
    r"Killed process|Kill process|oom-kill:|invoked oom-killer|Task in |reaped process|^CPU: \d+|^Tasks in |^\[\s*(?:pid|\d+)\s*\]"
    r"|cpuset=|^memory: usage"
)


class Line:
    """One logical kernel message with where it came from.

    The wall time of its prefix is read only when asked for (``time``): a log has thousands of
    lines and an OOM report a few dozen; reading every ``dmesg -T`` stamp cost 6 us a line,
    half of the parse of a 0.6 MB dmesg -T.
    """

    __slots__ = ("no", "msg", "time_has_year", "uptime_s", "host", "_stamp", "_read_stamp", "_time")

    def __init__(self, no: int, msg: str, time: datetime | None = None, time_has_year: bool = True, uptime_s: float | None = None,
                 host: str | None = None, stamp: object = None, read_stamp: Callable[[object], datetime | None] | None = None) -> None:
        self.no = no  # 1-based number of its first physical line
        self.msg = msg
        self.time_has_year = time_has_year
        self.uptime_s = uptime_s
        self.host = host
        self._time = time
        self._stamp = stamp  # the prefix's time text, read by read_stamp on first use
        self._read_stamp = read_stamp

    @property
    def time(self) -> datetime | None:
        if self._read_stamp is not None:
            self._time, self._read_stamp = self._read_stamp(self._stamp), None
        return self._time

    def __repr__(self) -> str:
        return f"Line(no={self.no}, msg={self.msg!r}, time={self.time!r}, uptime_s={self.uptime_s!r}, host={self.host!r})"


@dataclass
class Prefix:
    msg: str
    style: str
    time: datetime | None = None
    time_has_year: bool = True
    uptime_s: float | None = None
    host: str | None = None


# --- pass 1: prefixes and wrapped lines ------------------------------------------------------


def _iso(text: str) -> datetime | None:
    text = text.replace(",", ".").replace(" ", "T", 1)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    match = RE_ISO_PARTS.match(text)
    if match is None:
        return None
    base, frac, zone = match.groups()
    frac = (frac or "")[:7]  # fromisoformat takes at most microseconds
    if RE_ZONE_NO_COLON.fullmatch(zone or ""):
        zone = zone[:3] + ":" + zone[3:]
    try:
        when = datetime.fromisoformat(base + frac + (zone or ""))
        return when.astimezone(timezone.utc) if when.tzinfo else when.replace(tzinfo=timezone.utc)
    except (ValueError, OverflowError):  # OverflowError: year 1 with a positive offset is before datetime.min in UTC
        return None


def _month(word: str) -> int | None:
    word = word.lower()
    return MONTHS.get(word[:4]) or MONTHS.get(word[:3])


def parse_wall_bracket(text: str) -> datetime | None:
    """A ``dmesg -T`` stamp in any locale; None when month/day/year cannot all be read.

    >>> parse_wall_bracket("Tue Nov 24 11:53:05 2026")
    datetime.datetime(2026, 11, 24, 11, 53, 5, tzinfo=datetime.timezone.utc)
    >>> parse_wall_bracket("四 4月 17 22:43:41 2025").month, parse_wall_bracket("Di Aug 12 03:54:03 2025").day
    (4, 12)
    """
    clock, year = RE_CLOCK.search(text), RE_YEAR.search(text)
    if clock is None or year is None:
        return None
    zh = RE_ZH_MONTH.search(text)
    if zh is not None:
        month, day = int(zh.group("mon")), int(zh.group("day"))
    else:
        month = day = None
        for match in RE_WORD_MONTH_DAY.finditer(text):
            month = _month(match.group("mon"))
            if month:
                day = int(match.group("day"))
                break
    if not month or not day:
        return None
    try:
        # dmesg -T prints local time; with no zone in the stamp it is taken as UTC (said in the report)
        return datetime(int(year.group("y")), month, day, int(clock["h"]), int(clock["m"]), int(clock["s"]), tzinfo=timezone.utc)
    except ValueError:
        return None


def _syslog_time(mon: str, day: str, hms: str) -> datetime | None:
    month = _month(mon)
    if month is None:
        return None
    h, m, s = hms.split(":")
    sec = float(s)
    try:
        # syslog has no year: 2000 is a placeholder; time_has_year=False tells the pipeline to fix it
        base = datetime(2000, month, int(day), int(h), int(m), int(sec), tzinfo=timezone.utc)
    except ValueError:
        return None
    return base + timedelta(microseconds=round((sec - int(sec)) * 1e6))


def _syslog_stamp(parts: tuple[str, str, str]) -> datetime | None:
    return _syslog_time(*parts)


# (style, message, time stamp text, reader of that text, uptime seconds, host, time_has_year)
Split = tuple[str, str, object, Callable[[object], datetime | None] | None, float | None, str | None, bool]


def _split_prefix(raw: str) -> Split | None:
    """The prefix of one physical line, its time left unread; None when the line has none.

    Same order and patterns as always (kmsg, Talos, ISO journal, syslog, dmesg, dmesg -T); each
    pattern is tried only on a line holding a literal it cannot match without (``;``, ``: kern:``,
    `` kernel:``, a leading ``[``/``<``, ``]``): a dmesg line costs one regex, not six.
    """
    if ";" in raw:
        match = RE_KMSG.match(raw)
        if match:
            return "kmsg", match["msg"], None, None, int(match["usec"]) / 1e6, None, True
    if ": kern:" in raw:
        match = RE_TALOS.match(raw)
        if match:
            return _after_host("talos", match["msg"], match["iso"], _iso, match["host"], True)
    if " kernel:" in raw:
        match = RE_ISO_HOST.match(raw)
        if match:
            return _after_host("journal_iso", match["msg"], match["iso"], _iso, match["host"], True)
        match = RE_SYSLOG.match(raw)
        if match:
            return _after_host("syslog", match["msg"], (match["mon"], match["day"], match["hms"]), _syslog_stamp, match["host"], False)
    if raw[:1] in ("[", "<"):
        match = RE_UPTIME.match(raw)
        if match:
            return "dmesg", match["msg"], None, None, float(match["up"]), None, True
    if "]" in raw:
        match = RE_WALL_BRACKET.match(raw)
        if match and not RE_TASK_ROW.match(raw):
            return "dmesg_T", match["msg"], match["wall"], parse_wall_bracket, None, None, True
    return None


def _after_host(style: str, msg: str, stamp: object, reader: Callable, host: str, has_year: bool) -> Split:
    """A journal/syslog message may still begin with the kernel's own ``[uptime]`` stamp."""
    uptime = None
    if msg[:1] in ("[", "<"):
        match = RE_UPTIME.match(msg)
        if match:
            msg, uptime = match["msg"], float(match["up"])
    return style, msg, stamp, reader, uptime, host, has_year


def strip_prefix(raw: str) -> Prefix | None:
    """Remove a known line prefix; None when the line has none.

    >>> p = strip_prefix("Dec  4 15:24:33 optiplex-2 kernel: [6686782.276093] calloc invoked oom-killer: x")
    >>> p.style, p.host, p.uptime_s, p.msg
    ('syslog', 'optiplex-2', 6686782.276093, 'calloc invoked oom-killer: x')
    >>> strip_prefix("6,30574067,3816544225424,-;Task in /a").uptime_s
    3816544.225424
    """
    split = _split_prefix(raw)
    if split is None:
        return None
    style, msg, stamp, reader, uptime, host, has_year = split
    return Prefix(msg, style, time=reader(stamp) if reader is not None else None, time_has_year=has_year, uptime_s=uptime, host=host)


def _decode_quoted_printable(text: str) -> str:
    """Undo e-mail quoted-printable: soft breaks ('=' at line end) and =3D / =20 escapes."""
    text = re.sub(r"=\n", "", text)
    return re.sub(r"=(3D|20|09)", lambda m: {"3D": "=", "20": " ", "09": "\t"}[m.group(1)], text)


def _is_continuation(previous: str, raw: str) -> bool:
    """An unprefixed line after a prefixed one: a wrap of a long line (terminal, mail) or not."""
    if not raw.strip() or RE_NOISE.match(raw):
        return False
    if any(rx.match(raw.strip()) for rx in CONTINUABLE) or RE_TASK_ROW.match(raw.strip()):
        return False  # a message of its own whose prefix was lost
    if raw[:1].isspace() and RE_STAT_KV.match(raw):
        return False  # memory.stat keys printed without a prefix (v2 continuation style)
    if not previous.strip():
        return True  # a prefix alone on its line: the message went to the next one
    return bool(RE_WRAPPABLE.search(previous)) or previous.rstrip().endswith(("=", ",", "-", "/"))


def logical_lines(text: str, line_numbers: Sequence[int] | None = None) -> tuple[list[Line], str, list[tuple[float, datetime]]]:
    """Strip prefixes and join wrapped lines. Returns (lines, dominant prefix style, clock pairs).

    ``line_numbers`` gives the member's line number of each line of ``text`` when the text holds
    only the lines a big log's prefilter kept (then it is a collected log, not an e-mail paste).

    >>> lines, style, pairs = logical_lines("[ 5.1] Killed process 42 (eater),\\n  total-vm:1024kB\\n[ 5.2] next")
    >>> [(line.no, line.msg) for line in lines], style
    ([(1, 'Killed process 42 (eater),total-vm:1024kB'), (3, 'next')], 'dmesg')
    """
    rows, dominant, pairs = _logical_rows(*_physical_lines(text, line_numbers))
    return [_line(row) for row in rows], dominant, pairs


def _physical_lines(text: str, line_numbers: Sequence[int] | None) -> tuple[list[str], Sequence[int]]:
    """The lines of ``text`` (an e-mail's quoted-printable undone) and the member's number of each."""
    if "=3D" in text and line_numbers is None:
        text = _decode_quoted_printable(text)
    raws = text.split("\n")
    return raws, line_numbers if line_numbers is not None else range(1, len(raws) + 1)


def _line(row: list) -> Line:
    no, msg, prefix = row
    if prefix is None:
        return Line(no, msg)
    return Line(no, msg, None, prefix[6], prefix[4], prefix[5], prefix[2], prefix[3])


def _logical_rows(raws: list[str], numbers: Sequence[int]) -> tuple[list[list], str, list[tuple[float, datetime]]]:
    """``logical_lines`` as rows [number, message, split prefix or None]: a Line is made only for a
    row the OOM state machine reads (a dozen per report, against thousands of unrelated lines)."""
    prefixes = [_split_prefix(r) for r in raws]
    mostly_prefixed = _mostly_prefixed(len(prefixes) - prefixes.count(None), raws)
    styles: dict[str, int] = {}  # in order of first appearance: the first of equals dominates
    rows: list[list] = []
    pairs: list[tuple[float, datetime]] = []
    for no, raw, prefix in zip(numbers, raws, prefixes):
        if prefix is None:
            raw = raw.rstrip("\r")
            if rows and _wraps(rows[-1][1], raw, mostly_prefixed):
                rows[-1][1] += raw.strip()  # the wrap point keeps its space where the line had one
                continue
            if not raw.strip() or RE_NOISE.match(raw):
                continue
            rows.append([no, raw.strip(), None])
            continue
        style, reader, uptime = prefix[0], prefix[3], prefix[4]
        styles[style] = styles.get(style, 0) + 1
        rows.append([no, prefix[1].rstrip("\r"), prefix])
        if reader is not None and uptime is not None and prefix[6] and len(pairs) < MAX_CLOCK_PAIRS:
            when = reader(prefix[2])  # journal and Talos lines that also carry the kernel's [uptime]
            if when is not None:
                pairs.append((uptime, when))
    for row in rows:
        row[1] = row[1].rstrip()
    dominant = max(styles, key=styles.get) if styles else "bare"
    return rows, dominant, pairs


def _mostly_prefixed(prefixed_count: int, raws: list[str]) -> bool:
    """At least a third of the non-blank lines have a prefix (counting blank lines only when it matters)."""
    if prefixed_count >= max(1, len(raws) // 3):
        return True
    return prefixed_count >= max(1, sum(1 for r in raws if r.strip()) // 3)


def _wraps(previous: str, raw: str, mostly_prefixed: bool) -> bool:
    """Is ``raw`` the rest of the message ``previous``? In prefixed logs any fitting unprefixed line
    may be; in bare logs (prefix stripped by the author) only lines after one that visibly goes on."""
    if not previous.strip() and raw.strip():
        return True
    if not _is_continuation(previous, raw):
        return False
    return mostly_prefixed or previous.rstrip().endswith((",", "=")) or previous.endswith(" ")


# --- pass 2: the OOM report state machine ------------------------------------------------------


@dataclass
class _State:
    source: str
    reports: list[OomReport] = field(default_factory=list)
    current: OomReport | None = None
    block: str | None = None  # "stats" | "tasks" | None
    stats: MemcgStatsBlock | None = None
    pending_cpu: Line | None = None  # "CPU: ... Comm:" printed right after the header line
    # last line of the stats block being read: one pydantic assignment per block, not one per
    # line (8,400 stats lines of the big benchmark's journal cost 17 ms of assignments)
    stats_last_line: int | None = None
    kernel_version: str | None = None
    number_problems: list[Problem] = field(default_factory=list)

    def ev(self, line: Line) -> Evidence:
        return Evidence(file=self.source, line=line.no)


def _kb(value: str | None) -> int | None:
    return int(value) * KIB if value is not None else None


def _open(state: _State, line: Line, status: str = "complete") -> OomReport:
    _close(state)
    report = OomReport(
        source=state.source,
        first_line=line.no,
        last_line=line.no,
        time=line.time,
        time_has_year=line.time_has_year,
        uptime_s=line.uptime_s,
        host=line.host,
        status=status,
    )
    state.current = report
    return report


def _current(state: _State, line: Line) -> OomReport:
    """The report in progress, or a new partial one (a fragment starting mid-report)."""
    if state.current is None:
        return _open(state, line, status="partial")
    return state.current


def _close(state: _State) -> None:
    _end_block(state)
    report = state.current
    if report is None:
        return
    has_start = report.trigger is not None
    has_end = report.killed is not None or report.reaped is not None or report.no_killable
    if not (has_start and has_end) and report.status == "complete":
        report.status = "partial"
    if report.kernel_version is None:
        report.kernel_version = state.kernel_version
    state.reports.append(report)
    state.current = None


def _end_block(state: _State) -> None:
    if state.block == "stats" and state.stats is not None and state.current is not None:
        state.current.memcg_stats.append(state.stats)
    if state.stats_last_line is not None and state.current is not None:
        state.current.last_line = state.stats_last_line
    state.block, state.stats, state.stats_last_line = None, None, None


def _touch(report: OomReport, line: Line, key: str, state: _State) -> None:
    last = max(report.last_line or line.no, line.no)
    if last != report.last_line:  # a pydantic assignment costs a microsecond: only when it changes
        report.last_line = last
    if key not in report.evidence:
        report.evidence[key] = state.ev(line)
    if report.time is None and line.time is not None:
        report.time, report.time_has_year = line.time, line.time_has_year
    if report.uptime_s is None and line.uptime_s is not None:
        report.uptime_s = line.uptime_s
    if report.host is None and line.host is not None:
        report.host = line.host


def _on_header(state: _State, line: Line, m: re.Match) -> None:
    report = _open(state, line)
    report.trigger = OomTrigger(comm=m["comm"], gfp_mask=m["gfp"], order=int(m["order"]), oom_score_adj=int(m["adj"]))
    _touch(report, line, "header", state)


def _on_cpu(state: _State, line: Line, m: re.Match) -> None:
    state.kernel_version = m["version"]
    report = state.current
    if report is None:
        return
    report.kernel_version = m["version"]
    if report.trigger is not None and report.trigger.pid is None and report.trigger.comm.startswith(m["comm"].strip()[:15]):
        report.trigger.pid = int(m["pid"])
    _touch(report, line, "cpu", state)


def _on_task_in(state: _State, line: Line, m: re.Match) -> None:
    report = _current(state, line)
    report.task_memcg, report.oom_memcg = m["task"], m["oom"]
    _touch(report, line, "task_in", state)


def _on_counter(state: _State, line: Line, m: re.Match) -> None:
    report = _current(state, line)
    if m["which"] == "memory" and report.memory_usage_bytes is not None:
        report = _open(state, line, status="partial")  # a second usage line: the next OOM, header lost
    usage, limit, failcnt = _kb(m["usage"]), _kb(m["limit"]), int(m["failcnt"])
    which = m["which"]
    if which == "memory":
        report.memory_usage_bytes, report.memory_limit_bytes, report.memory_failcnt = usage, limit, failcnt
        _touch(report, line, "memory_usage", state)
    elif which == "memory+swap":
        report.memsw_usage_bytes, report.memsw_limit_bytes, report.memsw_failcnt = usage, limit, failcnt
        report.cgroup_version = 1
        _touch(report, line, "memsw_usage", state)
    elif which == "swap":
        report.swap_usage_bytes, report.swap_limit_bytes, report.swap_failcnt = usage, limit, failcnt
        report.cgroup_version = 2
        _touch(report, line, "swap_usage", state)
    else:
        report.kmem_usage_bytes = usage
        report.cgroup_version = 1
        _touch(report, line, "kmem_usage", state)


def _on_stats_for(state: _State, line: Line, m: re.Match) -> None:
    report = _current(state, line)
    _end_block(state)
    block = MemcgStatsBlock(path=m["path"], evidence=state.ev(line))
    rest = m["rest"]
    if rest and RE_STAT_KB.search(rest):  # v1 one-line style, values in KB, local to that cgroup
        block.values = {k: int(v) * KIB for k, v in RE_STAT_KB.findall(rest)}
        report.memcg_stats.append(block)
        report.cgroup_version = 1
    else:
        state.block, state.stats = "stats", block
    _touch(report, line, f"stats:{block.path}", state)


def _on_stat_kv(state: _State, no: int, m: re.Match) -> None:
    assert state.stats is not None and state.current is not None
    key = m["key"]
    state.stats.values[key] = int(m["val"])
    if key in ("anon", "file") and state.current.cgroup_version is None:
        state.current.cgroup_version = 2
    elif key.startswith("total_") and state.current.cgroup_version != 1:
        state.current.cgroup_version = 1
    state.stats_last_line = no  # written to the report when the block ends (_end_block)


def _on_tasks_header(state: _State, line: Line, m: re.Match) -> None:
    report = _current(state, line)
    _end_block(state)
    report.tasks_columns = m["cols"].split()
    report.tasks = []
    state.block = "tasks"
    _touch(report, line, "tasks_header", state)


def _task_from_row(columns: list[str], pid: int, rest: str) -> OomTask | None:
    numeric = [c for c in columns if c != "name"]
    parts = rest.split(None, len(numeric))
    if len(parts) < len(numeric) + 1:
        return None
    values: dict[str, int] = {}
    for column, text in zip(numeric, parts):
        try:
            values[column] = int(text)
        except ValueError:
            return None
    pages = lambda key: values[key] * PAGE_SIZE if key in values else None  # noqa: E731
    pgtables = values.get("pgtables_bytes")
    if pgtables is None and "nr_ptes" in values:
        pgtables = (values["nr_ptes"] + values.get("nr_pmds", 0)) * PAGE_SIZE
    return OomTask(
        pid=pid,
        uid=values.get("uid"),
        tgid=values.get("tgid"),
        total_vm_bytes=pages("total_vm"),
        rss_bytes=pages("rss"),
        rss_anon_bytes=pages("rss_anon"),
        rss_file_bytes=pages("rss_file"),
        rss_shmem_bytes=pages("rss_shmem"),
        pgtables_bytes=pgtables,
        swapents=values.get("swapents"),
        oom_score_adj=values.get("oom_score_adj", values.get("oom_adj")),
        name=parts[len(numeric)].strip(),
    )


def _on_task_row(state: _State, no: int, m: re.Match) -> bool:
    report = state.current
    if report is None or not report.tasks_columns:
        return False
    task = _task_from_row(report.tasks_columns, int(m["pid"]), m["rest"])
    if task is None:
        return False
    task.evidence = Evidence(file=state.source, line=no)
    report.tasks.append(task)
    report.evidence.setdefault(f"task:{task.pid}", task.evidence)
    report.last_line = no
    return True


def _on_summary(state: _State, line: Line, m: re.Match) -> None:
    report = _current(state, line)
    _end_block(state)
    fields = {mm["key"]: mm["val"] for mm in RE_SUMMARY_FIELD.finditer(m["body"])}
    report.constraint = fields.get("constraint") or report.constraint
    report.cpuset = fields.get("cpuset") or report.cpuset
    if "global_oom" in fields:
        report.global_oom = True
    if fields.get("oom_memcg"):
        report.oom_memcg, report.global_oom = fields["oom_memcg"], False
    if fields.get("task_memcg"):
        report.task_memcg = fields["task_memcg"]
    report.summary_task = fields.get("task") or report.summary_task
    for key, attr in (("pid", "summary_pid"), ("uid", "summary_uid")):
        value = parse_int(fields.get(key) or "")
        if value is not None and value >= 0:
            setattr(report, attr, value)
    _touch(report, line, "summary", state)


def _killed(m: re.Match) -> KilledProcess:
    return KilledProcess(
        pid=int(m["pid"]),
        comm=m["comm"],
        message=m["msg"],
        total_vm_bytes=_kb(m["vm"]),
        anon_rss_bytes=_kb(m["anon"]),
        file_rss_bytes=_kb(m["file"]),
        shmem_rss_bytes=_kb(m["shmem"]),
        uid=int(m["uid"]) if m["uid"] else None,
        pgtables_bytes=_kb(m["pgt"]),
        oom_score_adj=int(m["adj"]) if m["adj"] else None,
    )


def _on_killed(state: _State, line: Line, m: re.Match) -> None:
    _end_block(state)
    report = _current(state, line)
    killed = _killed(m)
    if report.killed is not None:
        if report.group_kill_path is not None or killed.pid == report.killed.pid:
            report.extra_killed.append(killed)  # oom.group members, or the same kill printed twice
            _touch(report, line, f"killed:{killed.pid}:{line.no}", state)
            return
        report = _open(state, line, status="partial")  # a second kill with no header: next OOM, header lost
    report.killed = killed
    if killed.message and killed.message.startswith("Out of memory") and report.oom_memcg is None:
        report.global_oom = True if report.global_oom is None else report.global_oom
    _touch(report, line, "killed", state)


def _on_kill_score(state: _State, line: Line, m: re.Match) -> None:
    _end_block(state)
    report = _current(state, line)
    if report.selected is not None or report.killed is not None:
        report = _open(state, line, status="partial")
    report.selected = SelectedProcess(pid=int(m["pid"]), comm=m["comm"], score=int(m["score"]), message=m["msg"])
    if (m["msg"] or "").startswith("Out of memory") and report.oom_memcg is None and report.memory_usage_bytes is None:
        report.global_oom = True
    _touch(report, line, "score", state)


def _on_reaped(state: _State, line: Line, m: re.Match) -> None:
    _end_block(state)
    reaped = ReapedProcess(
        pid=int(m["pid"]), comm=m["comm"], anon_rss_bytes=_kb(m["anon"]), file_rss_bytes=_kb(m["file"]),
        shmem_rss_bytes=_kb(m["shmem"]),
    )
    report = state.current
    victim_pid = report.killed.pid if report and report.killed else None
    if report is None or (report.reaped is not None) or (victim_pid is not None and victim_pid != reaped.pid):
        # the reaper of an earlier kill (a previous report) or of a kill whose lines are missing
        previous = next((r for r in reversed(state.reports) if r.killed and r.killed.pid == reaped.pid), None)
        if previous is not None and previous.reaped is None:
            previous.reaped = reaped
            previous.evidence.setdefault("reaper", state.ev(line))
            return
        if report is None or report.reaped is not None or victim_pid is not None:
            report = _open(state, line, status="partial")
    report.reaped = reaped
    _touch(report, line, "reaper", state)


def _on_group(state: _State, line: Line, m: re.Match) -> None:
    report = _current(state, line)
    report.group_kill_path = m["path"]
    _touch(report, line, "group_kill", state)


def _on_no_killable(state: _State, line: Line, m: re.Match) -> None:
    report = _current(state, line)
    report.no_killable = True
    _touch(report, line, "no_killable", state)


def _on_suppressed(state: _State, line: Line, m: re.Match) -> None:
    report = _current(state, line)
    report.suppressed_callbacks = int(m["n"])
    _touch(report, line, "suppressed", state)


def _on_old_cpuset(state: _State, line: Line, m: re.Match) -> None:
    if state.current is not None and state.current.cpuset is None:
        state.current.cpuset = m["cpuset"]


def _on_pages_ram(state: _State, line: Line, m: re.Match) -> None:
    if state.current is not None:
        state.current.meminfo["ram_bytes"] = int(m["n"]) * PAGE_SIZE


def _on_total_swap(state: _State, line: Line, m: re.Match) -> None:
    if state.current is not None:
        state.current.meminfo["swap_total_bytes"] = int(m["kb"]) * KIB


def _on_linux_version(state: _State, line: Line, m: re.Match) -> None:
    state.kernel_version = m["version"]


# the table: first match wins; order matters only where two patterns could both match. Each
# pattern is tried only on a line holding its literal (a pattern cannot match without it): a
# substring test costs a tenth of a failed match, and most lines reach the table's end.
HANDLERS = (
    (" invoked oom-killer:", RE_HEADER, _on_header),
    ("Killed process ", RE_KILLED, _on_killed),
    ("oom-kill:", RE_SUMMARY, _on_summary),
    ("Kill process ", RE_KILL_SCORE, _on_kill_score),
    ("oom_reaper: reaped process ", RE_REAPED, _on_reaped),
    (": usage ", RE_COUNTER, _on_counter),
    ("Memory cgroup stats for ", RE_STATS_FOR, _on_stats_for),
    ("Task in ", RE_TASK_IN, _on_task_in),
    ("pid", RE_TASKS_HEADER, _on_tasks_header),
    ("Tasks in ", RE_GROUP, _on_group),
    ("Out of memory and no killable processes", RE_NO_KILLABLE, _on_no_killable),
    ("oom_kill_process: ", RE_SUPPRESSED, _on_suppressed),
    ("CPU: ", RE_CPU, _on_cpu),
    (" cpuset=", RE_OLD_CPUSET, _on_old_cpuset),
    (" pages RAM", RE_PAGES_RAM, _on_pages_ram),
    ("Total swap = ", RE_TOTAL_SWAP, _on_total_swap),
    ("Linux version ", RE_LINUX_VERSION, _on_linux_version),
)


def _feed(state: _State, row: list) -> None:
    """One logical line (a row of ``_logical_rows``) through the state machine. Its Line is made
    only for a handler that keeps evidence of it: stats and Tasks rows need just the number."""
    no, msg = row[0], row[1]
    if state.block == "stats":
        m = RE_STAT_KV.match(msg)
        if m is not None:
            _on_stat_kv(state, no, m)
            return
        _end_block(state)
    if state.block == "tasks":
        m = RE_TASK_ROW.match(msg)
        if m is not None and _on_task_row(state, no, m):
            return
        _end_block(state)
    if not RE_PREFILTER.search(msg):
        return
    line = _line(row)
    for literal, regex, handler in HANDLERS:
        if literal in msg:
            m = regex.match(msg)
            if m is not None:
                handler(state, line, m)
                return
    if RE_TASKS_STATE.match(msg) and state.current is not None:
        _touch(state.current, line, "tasks_state", state)


def _read_prefixed(state: _State, raws: list[str], numbers: Sequence[int]) -> tuple[int, str, list[tuple[float, datetime]]] | None:
    """A collected log (every non-empty line has a prefix, so no line goes on another) fed to the
    state machine line by line as its prefix is split: nothing is kept of the thousands of lines
    that name nothing of an OOM report (a list of them was 5 MB and most of the garbage collector's
    work during the big benchmark's 16,480-line journal). Returns what _logical_rows would give:
    (lines read, dominant style, clock pairs), or None at the first line without a prefix."""
    styles: dict[str, int] = {}  # in order of first appearance: the first of equals dominates
    pairs: list[tuple[float, datetime]] = []
    lines_read = 0
    prefilter = RE_PREFILTER.search
    for no, raw in zip(numbers, raws):
        prefix = _split_prefix(raw)
        if prefix is None:
            if raw:
                return None
            continue  # an empty line: skipped, as _logical_rows does
        lines_read += 1
        style, stamp, reader, uptime = prefix[0], prefix[2], prefix[3], prefix[4]
        styles[style] = styles.get(style, 0) + 1
        if reader is not None and uptime is not None and prefix[6] and len(pairs) < MAX_CLOCK_PAIRS:
            when = reader(stamp)  # journal and Talos lines that also carry the kernel's [uptime]
            if when is not None:
                pairs.append((uptime, when))
        msg = prefix[1].rstrip()
        if state.block is None and prefilter(msg) is None:
            continue  # what _feed does with a line outside a block that names nothing of an OOM report
        _feed_safely(state, [no, msg, prefix])
    return lines_read, max(styles, key=styles.get) if styles else "bare", pairs


def _feed_safely(state: _State, row: list) -> None:
    try:
        _feed(state, row)
    except (ValueError, OverflowError) as err:  # a number int() refuses (over 4300 digits): that line is skipped, and said
        state.number_problems.append(Problem(message=f"line {row[0]} skipped: unreadable number ({str(err)[:80]})",
                                             evidence=Evidence(file=state.source, line=row[0])))


def parse(text: str, source: str, line_numbers: Sequence[int] | None = None) -> Parsed[KernelLog]:
    """Every OOM report in a kernel log; partial reports for fragments, never an exception.

    ``line_numbers``: see ``logical_lines`` (a big log read through analyzer.prefilter).

    >>> log = "[ 5.1] Memory cgroup out of memory: Killed process 42 (eater) total-vm:1024kB, anon-rss:512kB, file-rss:0kB, shmem-rss:0kB"
    >>> r = parse(log, "dmesg.txt")
    >>> oom = r.value.ooms[0]
    >>> oom.killed.pid, oom.killed.anon_rss_bytes, oom.status, oom.evidence["killed"].cite()
    (42, 524288, 'partial', 'dmesg.txt:1')
    >>> parse("", "empty").status
    'unrecognised'
    """
    raws, numbers = _physical_lines(text, line_numbers)
    state = _State(source=source)
    read = _read_prefixed(state, raws, numbers)
    if read is None:  # a line without a prefix may go on the line before: lines are joined first
        state = _State(source=source)
        rows, style, pairs = _logical_rows(raws, numbers)
        for row in rows:
            if state.block is not None or RE_PREFILTER.search(row[1]):  # else _feed would do nothing
                _feed_safely(state, row)
        read = len(rows), style, pairs
    lines_read, style, pairs = read
    _close(state)
    log = KernelLog(ooms=state.reports, prefix_style=style, lines_read=lines_read, kernel_version=state.kernel_version, clock_pairs=pairs)
    problems = [
        Problem(message=f"OOM report at line {r.first_line} is incomplete (a fragment)", evidence=Evidence(file=source, line=r.first_line))
        for r in state.reports
        if r.status == "partial"
    ]
    problems += state.number_problems[:20]
    status = "partial" if problems else ("complete" if lines_read else "unrecognised")
    if not lines_read:
        problems.append(Problem(message="no kernel log line found (empty file)", evidence=Evidence(file=source)))
    return Parsed(value=log, status=status, problems=problems)
