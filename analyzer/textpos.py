"""Line numbers of positions in a text, for parsers of whole documents (JSON, YAML) that find a value
by searching for it: counting newlines from the start for each value is quadratic on a 500-pod list.

>>> index = LineIndex("a\\nbb\\nccc\\n")
>>> index.line_at(0), index.line_at(2), index.line_at(5), index.find_line("ccc")
(1, 2, 3, 3)
"""
from __future__ import annotations

import re
from bisect import bisect_right

RE_NEWLINE = re.compile("\n")


class LineIndex:
    """The offsets of a text's newlines, searched by bisection."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.newlines = [m.start() for m in RE_NEWLINE.finditer(text)]

    def line_at(self, offset: int) -> int:
        """The 1-based line of the character at ``offset``."""
        return bisect_right(self.newlines, max(offset, 0) - 1) + 1

    def find_line(self, needle: str, start: int = 0) -> int | None:
        """The line of the first ``needle`` at or after ``start``, or None."""
        at = self.text.find(needle, start) if needle else -1
        return self.line_at(at) if at >= 0 else None
