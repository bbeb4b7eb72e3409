"""Quoting cited lines: the text of every bundle line a report cites, redacted, so a reader sees
what each number rests on without opening the bundle.

The pipeline keeps the text of each artifact a report may cite (``Quotable``) until the report is
built and its citations are known. A text bigger than PACK_CHARS (a 500-pod ``kubectl get pods``
is 4 MB, /stats/summary and the kubelet's /pods 2 MB each) is kept zlib-compressed, about a tenth
of its size: on a 500-pod node that is 9 MB less held to the end of the run. Lines are then taken
from the text where they are, never by splitting a whole document into lines (140,000 strings for
that pod list, to quote a few hundred).

>>> q = Quotable.of("a\\nb\\nc\\n", None, True)
>>> q.lines_around([(2, 3)])
{2: 'b', 3: 'c'}
"""
from __future__ import annotations

from typing import NamedTuple

from analyzer.decompress import fast_zlib
from analyzer.redact import QUOTE_CONTEXT_LINES, redact_quotes

PACK_CHARS = 1024 * 1024  # texts above this are kept compressed (zlib level 1: ~30 ms for 10 MB with zlib-ng)
MAX_QUOTED_LINE = 400
SCAN_CHARS = 64 * 1024  # newlines are counted this many characters at a time on the way to a wanted line


class Quotable(NamedTuple):
    """What quoting a file's cited lines needs: its text (``bytes``: UTF-8, zlib-compressed), the line
    numbers of a filtered log, and whether its lines stand alone (a log line, a counter) or may
    continue a block (YAML env, PEM)."""

    text: str | bytes
    line_numbers: list[int] | None
    lines_stand_alone: bool

    @classmethod
    def of(cls, text: str, line_numbers: list[int] | None, lines_stand_alone: bool) -> Quotable:
        """The text kept as it is, or compressed when it is big.

        >>> q = Quotable.of("x" * (PACK_CHARS + 1), None, True)
        >>> type(q.text), len(q.text) < PACK_CHARS // 10, q.unpacked() == "x" * (PACK_CHARS + 1)
        (<class 'bytes'>, True, True)
        """
        if len(text) > PACK_CHARS:
            return cls(fast_zlib.compress(text.encode("utf-8", "surrogatepass"), 1), line_numbers, lines_stand_alone)
        return cls(text, line_numbers, lines_stand_alone)

    def unpacked(self) -> str:
        if isinstance(self.text, bytes):
            return fast_zlib.decompress(self.text).decode("utf-8", "surrogatepass")
        return self.text

    def lines_around(self, ranges: list[tuple[int, int]]) -> dict[int, str]:
        """Lines ``first..last`` (1-based, both included) of each range, by their line number.

        A filtered log holds only its kept lines: a number it did not keep is not found.
        """
        text = self.unpacked()
        if self.line_numbers is not None:
            wanted = {n for first, last in ranges for n in range(first, last + 1)}
            return {n: line for n, line in zip(self.line_numbers, text.split("\n")) if n in wanted}
        return lines_at(text, ranges)


def lines_at(text: str, ranges: list[tuple[int, int]]) -> dict[int, str]:
    """Lines ``first..last`` of each range (sorted, not overlapping) of ``text``: newlines are counted in
    C a chunk at a time up to each range, and only the lines wanted become strings.

    >>> text = "".join(f"line {n}\\n" for n in range(1, 200_001))
    >>> lines_at(text, [(2, 3), (150_000, 150_000), (200_001, 200_002)])
    {2: 'line 2', 3: 'line 3', 150000: 'line 150000', 200001: ''}
    """
    found: dict[int, str] = {}
    pos, line = 0, 1  # ``pos`` starts line number ``line``
    for first, last in ranges:
        pos, line = _skip_to(text, pos, line, first)
        if line < first:
            break  # the text ends before this range
        while line <= last:
            end = text.find("\n", pos)
            found[line] = text[pos:] if end == -1 else text[pos:end]
            if end == -1:
                return found
            pos, line = end + 1, line + 1
    return found


def _skip_to(text: str, pos: int, line: int, target: int) -> tuple[int, int]:
    """(position, number) of the start of line ``target``, from the start of line ``line`` at ``pos``;
    short of it where the text ends first."""
    while line < target:  # whole chunks that end before the target line: their newlines counted in C
        stop = min(len(text), pos + SCAN_CHARS)
        newlines = text.count("\n", pos, stop)
        if line + newlines >= target or stop == len(text):
            break
        pos, line = stop, line + newlines  # ``pos`` may be inside a line now: the count stays right
    while line < target:  # then newline by newline, inside the last chunk
        end = text.find("\n", pos)
        if end == -1:
            break
        pos, line = end + 1, line + 1
    return pos, line


def _windows(numbers: set[int], context: int) -> list[tuple[int, int]]:
    """Each cited line with the ``context`` lines before it, windows that touch merged, as
    redact.redact_quotes merges them (so each range here is one of its stretches).

    >>> _windows({10, 12, 90}, 5)
    [(5, 12), (85, 90)]
    """
    ranges: list[list[int]] = []
    for number in sorted(numbers):
        start = max(1, number - context)
        if ranges and start <= ranges[-1][1] + 1:
            ranges[-1][1] = number
        else:
            ranges.append([start, number])
    return [(first, last) for first, last in ranges]


def quote_lines(cited: dict[str, set[int]], quotable: dict[str, Quotable]) -> dict[str, str]:
    """``"file:line" -> quoted text`` of every cited line of a file in ``quotable``, through the redaction
    rules (analyzer/redact.py: a cited line may hold an env value), sorted by key.

    >>> quote_lines({"p/memory.stat": {2}, "gone.txt": {1}}, {"p/memory.stat": Quotable.of("cache 1\\nrss 2\\n", None, True)})
    {'p/memory.stat:2': 'rss 2'}
    """
    quotes: dict[str, str] = {}
    for path, wanted in cited.items():
        source = quotable.get(path)
        if source is None:
            continue
        context = 0 if source.lines_stand_alone else QUOTE_CONTEXT_LINES
        ranges = _windows(wanted, context)
        found = source.lines_around(ranges)
        for first, last in ranges:  # one stretch a range: redacted as redact_quotes would redact it in the whole text
            numbers = [n for n in range(first, last + 1) if n in found]
            stretch = [found[n] for n in numbers]
            cited_here = [i for i, n in enumerate(numbers) if n in wanted]
            for index, quoted in redact_quotes(stretch, cited_here, context).items():
                quotes[f"{path}:{numbers[index]}"] = quoted[:MAX_QUOTED_LINE]
    return dict(sorted(quotes.items()))
