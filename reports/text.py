"""Text helpers shared by the renderers: safe display of bundle strings, sizes, citations.

Anything from a bundle is untrusted: control characters and ANSI escapes are made visible,
Markdown's active characters are escaped, HTML escaping is jinja2's autoescape.
"""
from __future__ import annotations

import re

from analyzer.models.common import Evidence
from analyzer.units import fmt_bytes

RE_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]")
RE_MD_ACTIVE = re.compile(r"([\\`*_\[\]<>|#!~])")


def visible(text: object) -> str:
    """Control characters (ANSI escapes included) shown as \\xNN, never interpreted.

    >>> visible("a\\x1b[31mred")
    'a\\\\x1b[31mred'
    """
    return RE_CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text))


def md(text: object) -> str:
    """Escape a bundle string for Markdown (tables included).

    >>> md("<script>|x*")
    '\\\\<script\\\\>\\\\|x\\\\*'
    """
    return RE_MD_ACTIVE.sub(r"\\\1", visible(text).replace("\n", " "))


def size(n: int | None) -> str:
    """Human size with the exact byte count.

    >>> size(134217728)
    '128 MiB (134217728 B)'
    """
    if n is None:
        return "unknown"
    return f"{fmt_bytes(n)} ({n} B)" if abs(n) >= 1024 else fmt_bytes(n)


def cite(ev: Evidence | None) -> str:
    return ev.cite() if ev is not None else ""
