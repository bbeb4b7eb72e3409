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
    """``file:line`` as Markdown shows it: a bundle's file names are untrusted (control characters and
    line breaks shown as \\xNN, ``|`` escaped for tables, backticks made quotes for code spans).

    >>> shown = cite(Evidence(file="b/dmesg" + chr(10) + chr(27) + "[31m|x`.txt", line=3))
    >>> chr(10) in shown, chr(27) in shown, shown.endswith("[31m\\\\|x'.txt:3")
    (False, False, True)
    """
    return shown_name(ev.cite()) if ev is not None else ""


def shown_name(text: str) -> str:
    """A bundle file name in Markdown (see ``cite``)."""
    text = text.replace("\n", "\\x0a").replace("\r", "\\x0d").replace("\t", "\\x09")
    return visible(text).replace("|", "\\|").replace("`", "'")
