"""Quoting cited lines: the text of every bundle line a report cites, redacted, so a reader sees
what each number rests on without opening the bundle.

The pipeline keeps the text of each artifact a report may cite (``Quotable``) until the report is
built and its citations are known. A text bigger than PACK_CHARS (a 500-pod ``kubectl get pods``
is 4 MB, /stats/summary and the kubelet's /pods 2 MB each) is kept zlib-compressed, about a tenth
of its size, in pieces of PIECE_CHARS: on a 500-pod node that is 9 MB less held to the end of the
run, and quoting decompresses one piece at a time. Lines are taken from the text where they are,
never by splitting a whole document into lines (140,000 strings for that pod list, to quote a few
hundred).

>>> q = Quotable.of("a\\nb\\nc\\n", None, False)
>>> q.lines_around([(2, 3)])
{2: 'b', 3: 'c'}
"""
from __future__ import annotations

from typing import NamedTuple

from analyzer.decompress import fast_zlib
from analyzer.redact import QUOTE_CONTEXT_LINES, redact_quotes, rules_cannot_change

PACK_CHARS = 1024 * 1024  # texts above this are kept compressed (level 1, ISA-L's or zlib's: ~30 ms for 10 MB)
PIECE_CHARS = 256 * 1024  # ... in pieces of about this size, so quoting decompresses one piece at a time
MAX_QUOTED_LINE = 400
SCAN_CHARS = 64 * 1024  # newlines are counted this many characters at a time on the way to a wanted line


class Packed(NamedTuple):
    """A big text kept as zlib-compressed pieces of about PIECE_CHARS, each cut after a newline: the
    0-based index of each piece's first line, and the pieces.

    >>> packed = Packed.of("".join(f"{n}\\n" for n in range(100_000)))
    >>> len(packed.pieces) > 1, packed.lines([0, 99_999, 50_000])
    (True, {0: '0', 50000: '50000', 99999: '99999'})
    """

    first_lines: list[int]
    pieces: list[bytes]

    @classmethod
    def of(cls, text: str) -> Packed:
        first_lines, pieces, pos, line = [], [], 0, 0
        while pos < len(text):
            end = text.find("\n", pos + PIECE_CHARS)
            end = len(text) if end == -1 else end + 1
            piece = text[pos:end]
            first_lines.append(line)
            pieces.append(fast_zlib.compress(piece.encode("utf-8", "surrogatepass"), 1))
            line += piece.count("\n")
            pos = end
        return cls(first_lines, pieces)

    def lines(self, indexes: list[int]) -> dict[int, str]:
        """The lines at these 0-based indexes (those the text has), each piece decompressed once."""
        found: dict[int, str] = {}
        for number, (first, packed) in enumerate(zip(self.first_lines, self.pieces)):
            stop = self.first_lines[number + 1] if number + 1 < len(self.first_lines) else None
            inside = [i for i in indexes if first <= i and (stop is None or i < stop)]
            if inside:
                lines = fast_zlib.decompress(packed).decode("utf-8", "surrogatepass").split("\n")
                found.update((i, lines[i - first]) for i in inside if i - first < len(lines))
        return found


class Quotable(NamedTuple):
    """What quoting a file's cited lines needs: its text (``Packed`` when big), the line numbers of a
    filtered log, and whether its lines stand alone (a log line, a counter) or may continue a block
    (YAML env, PEM)."""

    text: str | Packed
    line_numbers: list[int] | None
    lines_stand_alone: bool

    @classmethod
    def of(cls, text: str, line_numbers: list[int] | None, lines_stand_alone: bool) -> Quotable | str:
        """The text kept as it is, or compressed when it is big; a small text whose lines stand alone is
        kept as the str itself (26,000 cgroup files on a 500-pod node: 1.7 MB of tuples less).

        >>> q = Quotable.of("x\\n" * PACK_CHARS, None, True)
        >>> type(q.text).__name__, sum(map(len, q.text.pieces)) < PACK_CHARS // 10, q.lines_around([(3, 4)])
        ('Packed', True, {3: 'x', 4: 'x'})
        """
        if len(text) > PACK_CHARS:
            return cls(Packed.of(text), line_numbers, lines_stand_alone)
        if line_numbers is None and lines_stand_alone:
            return text
        return cls(text, line_numbers, lines_stand_alone)

    def lines_around(self, ranges: list[tuple[int, int]]) -> dict[int, str]:
        """Lines ``first..last`` (1-based, both included) of each range, by their line number.

        A filtered log holds only its kept lines: a number it did not keep is not found.
        """
        wanted = [n for first, last in ranges for n in range(first, last + 1)]
        if isinstance(self.text, Packed):
            index_of = {n: i for i, n in enumerate(self.line_numbers)} if self.line_numbers is not None else None
            numbers = {(n - 1 if index_of is None else index_of[n]): n for n in wanted if index_of is None or n in index_of}
            return {numbers[i]: line for i, line in self.text.lines(sorted(numbers)).items()}
        if self.line_numbers is not None:
            wanted_set = set(wanted)
            return {n: line for n, line in zip(self.line_numbers, self.text.split("\n")) if n in wanted_set}
        return lines_at(self.text, ranges)


def lines_at(text: str, ranges: list[tuple[int, int]]) -> dict[int, str]:
    """Lines ``first..last`` of each range (sorted, not overlapping) of ``text``: newlines are counted in
    C a chunk at a time up to each range, and only the lines wanted are cut out.

    >>> text = "".join(f"line {n}\\n" for n in range(1, 200_001))
    >>> lines_at(text, [(2, 3), (150_000, 150_000), (200_001, 200_002)])
    {2: 'line 2', 3: 'line 3', 150000: 'line 150000', 200001: ''}
    """
    newline = "\n"
    if len(text) <= SCAN_CHARS:  # a small file (a cgroup counter, /proc/meminfo): splitting it is cheapest
        lines = text.split(newline)
        return {n: lines[n - 1] for first, last in ranges for n in range(first, min(last, len(lines)) + 1)}
    found: dict[int, str] = {}
    pos, line = 0, 1  # ``pos`` starts line number ``line``
    for first, last in ranges:
        pos, line = _skip_to(text, newline, pos, line, first)
        if line < first:
            break  # the text ends before this range
        while line <= last:
            end = text.find(newline, pos)
            found[line] = text[pos:] if end == -1 else text[pos:end]
            if end == -1:
                return found
            pos, line = end + 1, line + 1
    return found


def _skip_to(text: str, newline: str, pos: int, line: int, target: int) -> tuple[int, int]:
    """(position, number) of the start of line ``target``, from the start of line ``line`` at ``pos``;
    short of it where the text ends first."""
    while line < target:  # whole chunks that end before the target line: their newlines counted in C
        stop = min(len(text), pos + SCAN_CHARS)
        newlines = text.count(newline, pos, stop)
        if line + newlines >= target or stop == len(text):
            break
        pos, line = stop, line + newlines  # ``pos`` may be inside a line now: the count stays right
    while line < target:  # then newline by newline, inside the last chunk
        end = text.find(newline, pos)
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


def quote_lines(cited: dict[str, set[int]], quotable: dict[str, Quotable | str]) -> dict[str, str]:
    """``"file:line" -> quoted text`` of every cited line of a file in ``quotable``, through the redaction
    rules (analyzer/redact.py: a cited line may hold an env value), sorted by key.

    >>> quote_lines({"p/memory.stat": {2}, "gone.txt": {1}}, {"p/memory.stat": Quotable.of("cache 1\\nrss 2\\n", None, True)})
    {'p/memory.stat:2': 'rss 2'}
    """
    quotes: dict[str, str] = {}
    plain: dict[str, dict[int, str]] = {}  # small stand-alone files (counters): one redaction test for all of them
    for path, wanted in cited.items():
        source = quotable.get(path)
        if source is None:
            continue
        if type(source) is str:  # Quotable.of's compact form: a small text whose lines stand alone
            plain[path] = lines_at(source, [(n, n) for n in sorted(wanted) if n > 0])
            continue
        _quote_file(path, wanted, source, quotes)
    unchanged, maybe = _sorted_out(list(plain.items()))
    quotes.update((f"{path}:{number}", line[:MAX_QUOTED_LINE]) for path, found in unchanged for number, line in found.items())
    for path, found in maybe:  # a file with a line redaction may change: its stretches redacted as usual
        _quote_file(path, set(found), Quotable("\n".join(found.values()), list(found), True), quotes)
    return dict(sorted(quotes.items()))


def _sorted_out(files: list[tuple[str, dict[int, str]]]) -> tuple[list, list]:
    """(files whose lines redaction cannot change, the others), tested together and halved where the
    test fails: a thousand counter files and two kernel logs cost about twenty tests, not a thousand."""
    if not files or rules_cannot_change("\n".join(line for _, found in files for line in found.values())):
        return files, []
    if len(files) == 1:
        return [], files
    half = len(files) // 2
    left, right = _sorted_out(files[:half]), _sorted_out(files[half:])
    return left[0] + right[0], left[1] + right[1]


def _quote_file(path: str, wanted: set[int], source: Quotable, quotes: dict[str, str]) -> None:
    """The cited lines of one file into ``quotes``, redacted stretch by stretch."""
    context = 0 if source.lines_stand_alone else QUOTE_CONTEXT_LINES
    ranges = _windows(wanted, context)
    found = source.lines_around(ranges)
    if context == 0 and rules_cannot_change("\n".join(found.values())):  # counters, most log lines: nothing to redact
        quotes.update((f"{path}:{number}", line[:MAX_QUOTED_LINE]) for number, line in found.items() if number in wanted)
        return
    for first, last in ranges:  # one stretch a range: redacted as redact_quotes would redact it in the whole text
        numbers = [n for n in range(first, last + 1) if n in found]
        stretch = [found[n] for n in numbers]
        cited_here = [i for i, n in enumerate(numbers) if n in wanted]
        for index, quoted in redact_quotes(stretch, cited_here, context).items():
            quotes[f"{path}:{numbers[index]}"] = quoted[:MAX_QUOTED_LINE]
