"""HTML renderer: one self-contained page (inline CSS and SVG, no network, strict CSP).

Everything from the bundle goes through jinja2's autoescape after ``visible`` (control
characters and ANSI escapes shown as ``\\xNN``), so a pod named ``<script>`` shows as text.
The page needs no JavaScript.
"""
from __future__ import annotations

import functools
import re

import jinja2

from analyzer.models.common import Evidence
from analyzer.models.report import Report
from reports.svg import COLORS, ROWS, timeline_axis, trend_chart
from reports.templating import new_environment

RE_SLUG = re.compile(r"[^A-Za-z0-9]+")


def anchor(ev: Evidence | str | None) -> str:
    """The id of an evidence line in the appendix.

    >>> anchor(Evidence(file="b/commands/dmesg.txt", line=79))
    'ev-b-commands-dmesg-txt-79'
    """
    if ev is None:
        return ""
    key = ev if isinstance(ev, str) else ev.cite()
    return "ev-" + RE_SLUG.sub("-", key).strip("-")


def size_title(n: int | None) -> str:
    return f"{n} bytes" if n is not None else "not in the bundle"


def composition(stat: dict[str, int]) -> list[tuple[str, int]]:
    """The parts of a memcg's usage for the stacked bar: anon, active/inactive page cache, shmem, kernel."""
    prefix = "total_" if "total_rss" in stat else ""
    anon = stat.get(f"{prefix}rss", stat.get("anon"))
    shmem = stat.get(f"{prefix}shmem", stat.get("shmem", 0)) or 0
    active = stat.get(f"{prefix}active_file", stat.get("active_file"))
    inactive = stat.get(f"{prefix}inactive_file", stat.get("inactive_file"))
    parts = [("anon", anon), ("active page cache", active), ("inactive page cache", inactive), ("shmem/tmpfs", shmem or None)]
    if "kernel" in stat:
        parts.append(("kernel", stat["kernel"]))
    return [(name, value) for name, value in parts if value]


@functools.lru_cache(maxsize=1)  # one compiled template set per process: a fleet renders hundreds
def _environment() -> jinja2.Environment:
    env = new_environment(autoescape=True)
    env.filters.update(size_title=size_title, anchor=anchor)
    env.globals.update(composition=composition, timeline_axis=timeline_axis, trend_chart=trend_chart, ROWS=ROWS, COLORS=COLORS)
    return env


def render_html(report: Report) -> str:
    return _environment().get_template("report.html.j2").render(report=report)
