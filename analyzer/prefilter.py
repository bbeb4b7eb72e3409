"""Keep only the lines of a big log that a parser can use, reading it once as bytes.

A week of kernel and kubelet journal is hundreds of MB to GBs; an OOM report or an eviction is a
few hundred lines of it. A ``LineFilter`` is fed the log in chunks as it is decompressed and keeps
the lines that can matter with their original 1-based line numbers, so evidence still cites the
bundle's own lines. The search is for literal needles with the C library's ``memmem`` (``find``
below: glibc's is 2-3 times ``bytes.find`` on log text) or ``bytes.find`` where there is none; no
per-line Python work outside the kept lines, and only kept lines are decoded.

Two kinds of keeping:

- single lines that contain a needle (``Killed process``, ``eviction manager``...);
- windows: from a line with a window-start needle (``invoked oom-killer``) every line is kept
  (the Tasks table, the memcg stats, ``CPU: ... Comm:``) until a window-end needle
  (``Killed process``) and a few lines more, or ``max_window_lines`` without one.

The needles mirror what the parsers read: analyzer/parsers/kernel_log.py (every line of an OOM
report, mm/oom_kill.c and mm/memcontrol.c print them) and analyzer/parsers/kubelet_log.py (eviction
manager lines). A line longer than ``max_line_bytes`` is cut there, as the bundle reader does.

>>> f = LineFilter(KERNEL_LOG)
>>> f.feed(b"[1.0] eth0 up\\n[2.0] a invoked oom-killer: gfp_mask=0x0\\n[2.0] CPU: 1 PID: 7 Comm: a\\n")
>>> f.feed(b"[2.1] Killed process 7 (a) total-vm:4kB\\n[3.0] usb 1-1: new device\\n" * 1)
>>> text, numbers = f.finish()
>>> numbers
[2, 3, 4, 5]
>>> f.lines_seen, f.lines_kept
(5, 4)
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from analyzer.libc import libc_function

MEMMEM_MIN_BYTES = 4096  # shorter spans (a hit's line, a carried piece) go to bytes.find: a ctypes call costs ~1 µs


def find(buf: bytes, needle: bytes, start: int, stop: int) -> int:
    """``buf.find(needle, start, stop)``, by libc's memmem(3) over a long span of a ``bytes`` object.

    glibc's memmem scans log text for a 3-4 byte needle at 3.5-4 GB/s where ``bytes.find`` (CPython
    3.11) does 1.2-1.5 GB/s (benchmarks/RESULTS.md): on a GB of journal that is most of the reader's
    time. The bytes are read in place (no copy), through their address while ``buf`` is alive.

    >>> data = b"kubelet: eviction manager: attempting to reclaim\\n" * 200
    >>> find(data, b"vict", 60, len(data)) == data.find(b"vict", 60), find(data, b"zzz", 0, len(data))
    (True, -1)
    """
    stop = min(stop, len(buf))
    memmem = _memmem() if stop - start >= MEMMEM_MIN_BYTES and start >= 0 and type(buf) is bytes else None
    if memmem is None:
        return buf.find(needle, start, stop)
    search, address_of = memmem
    base = address_of(buf)
    hit = search(base + start, stop - start, needle, len(needle))
    return -1 if hit is None else hit - base


@lru_cache(maxsize=1)
def _memmem() -> tuple[Callable, Callable[[bytes], int]] | None:
    """(memmem, address of a bytes object's first byte) from the C library, or None (no memmem here,
    or not the memmem(3) we know). Looked up at the first big log: a bundle without one never loads ctypes."""
    memmem = libc_function("memmem")
    if memmem is None:
        return None
    import ctypes

    memmem.restype = ctypes.c_void_p  # None when not found
    memmem.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t)
    void_p, cast = ctypes.c_void_p, ctypes.cast

    def address_of(data: bytes) -> int:
        return cast(data, void_p).value  # a bytes object passes its own buffer: no copy

    probe = b"-" * MEMMEM_MIN_BYTES + b"needle"
    base = address_of(probe)
    if memmem(base, len(probe), b"needle", 6) != base + MEMMEM_MIN_BYTES:  # not the memmem(3) we know: stay with bytes.find
        return None
    return memmem, address_of


@dataclass(frozen=True)
class FilterSpec:
    """What a kind of log keeps: needles of single lines, of window starts and of window ends.

    ``scan`` are the needles searched for (one ``bytes.find`` pass over the log each): fewer and
    shorter than the needles that decide, each needle that decides containing one of them; a line
    a scan needle finds is kept only if it holds a needle that decides. Empty: the deciding needles.
    """

    single: tuple[bytes, ...]
    window_start: tuple[bytes, ...] = ()
    window_end: tuple[bytes, ...] = ()
    tail_lines: int = 3  # lines kept after a window's end line (the oom_reaper line, a summary)
    max_window_lines: int = 50_000  # a window without an end stops here (a Tasks table of a huge node fits)
    scan: tuple[bytes, ...] = ()

    def __post_init__(self) -> None:
        deciding = self.single + self.window_start
        if not self.scan:
            object.__setattr__(self, "scan", tuple(dict.fromkeys(deciding)))
        missed = [needle for needle in deciding if not any(part in needle for part in self.scan)]
        if missed:
            raise ValueError(f"no scan needle finds {missed}")


# Each scan needle costs one pass over the log (0.6 s/GiB on this project's 2-core machine, whatever
# the needle: benchmarks/RESULTS.md), and counting the lines for their numbers one more, so they are
# few: "Kill" finds "Killed process" (mm/oom_kill.c __oom_kill_process) and 3.10's "Kill process ... or
# sacrifice child"; "oom" finds "oom-kill" (the 4.19+ "oom-kill:constraint=" summary), "invoked
# oom-killer" (dump_header) and "oom_reaper", the reaper's line, which comes later, apart from its
# report. Everything else of a report (CPU/Comm line, Mem-Info, memcg usage and stats, the Tasks table)
# lies between "invoked oom-killer" and the kill line, so a window keeps it. A report whose head is not
# in the log (a ring buffer that wrapped mid-report) keeps only its kill lines: such logs are small and
# read whole.
KERNEL_LOG = FilterSpec(
    single=(b"Kill", b"oom-kill", b"oom_reaper"),
    window_start=(b"invoked oom-killer",),
    window_end=(b"Killed process", b"reaped process", b"no killable"),
    scan=(b"Kill", b"oom"),
)
# analyzer/parsers/kubelet_log.py reads only lines with "viction" or "Evicting": "vict" finds both in one pass
KUBELET_LOG = FilterSpec(single=(b"viction", b"Evicting"), scan=(b"vict",))
# analyzer/parsers/runtime_log.py reads containerd's TaskOOM/TaskExit/PodSandbox/CreateContainer lines,
# conmon's "<ninfo>: OOM received" and `docker events` lines (text and JSON)
RUNTIME_LOG = FilterSpec(single=(b"Task", b"tasks/oom", b"Sandbox", b"CreateContainer", b": OOM",
                                 b"container oom", b"container die", b"container kill", b'"Action"'))
# a big text whose head says nothing (a whole journal, a log under an odd name): every log's needles,
# then the kept lines decide its kind
ANY_LOG = FilterSpec(
    single=tuple(dict.fromkeys(KERNEL_LOG.single + KUBELET_LOG.single + RUNTIME_LOG.single)),
    window_start=KERNEL_LOG.window_start,
    window_end=KERNEL_LOG.window_end,
    scan=tuple(dict.fromkeys(KERNEL_LOG.scan + KUBELET_LOG.scan + RUNTIME_LOG.scan)),
)


class LineFilter:
    """Feed bytes in chunks, then ``finish()`` -> (kept text, original line number of each kept line)."""

    def __init__(self, spec: FilterSpec, max_line_bytes: int = 1_000_000, max_kept_bytes: int = 64 * 1024**2) -> None:
        self.spec = spec
        self.max_line_bytes = max_line_bytes
        self.max_kept_bytes = max_kept_bytes  # a log of nothing but matching lines (a bomb) stops being kept here
        self.kept_bytes = 0
        self.full = False
        self.needles = spec.scan
        self.deciding = spec.single + spec.window_start
        self.kept: list[bytes] = []
        self.numbers: list[int] = []
        self.lines_seen = 0  # complete lines before the carried partial line
        self.carry = b""
        self.dropping = False  # inside a line already cut at max_line_bytes
        self.window_left = 0  # lines still kept unconditionally (inside a window)
        self.ending = False  # the window's end line was seen: window_left counts the tail
        self.lines_cut = 0

    # --- feeding ----------------------------------------------------------------------------

    def feed(self, data: bytes, start: int = 0, stop: int | None = None) -> None:
        """Scan ``data[start:stop]`` in place (no copy of it is made: this is the path of every byte of the log)."""
        stop = len(data) if stop is None else stop
        if self.dropping or self.carry:  # first finish the line the previous chunk ended inside
            newline = data.find(b"\n", start, stop)
            if newline == -1:
                if not self.dropping:
                    self._carry(self.carry + data[start:stop])
                return
            line = self.carry if self.dropping else self.carry + data[start:newline]
            self.dropping, self.carry = False, b""
            self._scan(line + b"\n", 0, len(line) + 1)
            start = newline + 1
        end = data.rfind(b"\n", start, stop)
        if end == -1:
            self._carry(data[start:stop])
            return
        self._scan(data, start, end + 1)
        self._carry(data[end + 1 : stop])

    def _carry(self, rest: bytes) -> None:
        if len(rest) > self.max_line_bytes:
            rest = rest[: self.max_line_bytes]
            self.dropping = True
            self.lines_cut += 1
        self.carry = rest

    def finish(self) -> tuple[str, list[int]]:
        if self.carry:
            self._scan(self.carry + b"\n", 0, len(self.carry) + 1)
            self.carry = b""
        text = b"\n".join(self.kept).decode("utf-8", errors="replace").replace("\x00", "")
        if "\r" in text:  # a stray CR must not split a kept line: line numbers would shift
            text = text.replace("\r\n", "\n").replace("\r", " ")
        return text, self.numbers

    @property
    def lines_kept(self) -> int:
        return len(self.kept)

    # --- scanning ---------------------------------------------------------------------------

    def _scan(self, buf: bytes, begin: int, stop: int) -> None:
        """Keep the wanted lines of ``buf[begin:stop]`` (whole lines: it ends with a newline)."""
        pos, line_no = begin, self.lines_seen  # line_no: lines before ``pos``
        upcoming = {needle: find(buf, needle, begin, stop) for needle in self.needles}
        while pos < stop:
            if self.window_left > 0:
                pos, line_no = self._keep_window(buf, pos, stop, line_no)
                continue
            hit = self._next_hit(buf, upcoming, pos, stop)
            if hit == -1:
                break
            newline = buf.rfind(b"\n", pos, hit)
            start = newline + 1 if newline != -1 else pos
            line_no += buf.count(b"\n", pos, start)
            end = buf.find(b"\n", start, stop)
            line = buf[start:end]
            if any(needle in line for needle in self.deciding):
                self._keep(line, line_no + 1)
                if any(needle in line for needle in self.spec.window_start):
                    self.window_left, self.ending = self.spec.max_window_lines, False
            pos, line_no = end + 1, line_no + 1
        self.lines_seen += buf.count(b"\n", begin, stop)

    def _next_hit(self, buf: bytes, upcoming: dict[bytes, int], pos: int, stop: int) -> int:
        best = -1
        for needle, at in upcoming.items():
            if at != -1 and at < pos:
                at = find(buf, needle, pos, stop)
                upcoming[needle] = at
            if at != -1 and (best == -1 or at < best):
                best = at
        return best

    def _keep_window(self, buf: bytes, pos: int, stop: int, line_no: int) -> tuple[int, int]:
        while pos < stop and self.window_left > 0:
            end = buf.find(b"\n", pos, stop)
            line = buf[pos:end]
            line_no += 1
            self._keep(line, line_no)
            self.window_left -= 1
            if not self.ending and any(needle in line for needle in self.spec.window_end):
                self.ending, self.window_left = True, self.spec.tail_lines
            elif any(needle in line for needle in self.spec.window_start):
                self.ending, self.window_left = False, self.spec.max_window_lines
            pos = end + 1
        return pos, line_no

    def _keep(self, line: bytes, number: int) -> None:
        if self.kept_bytes > self.max_kept_bytes:
            self.full = True
            return
        if len(line) > self.max_line_bytes:
            line = line[: self.max_line_bytes]
            self.lines_cut += 1
        self.kept.append(line.rstrip(b"\r"))
        self.numbers.append(number)
        self.kept_bytes += len(line) + 1
