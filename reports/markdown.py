"""Markdown renderer (GitHub-flavoured), for tickets and postmortems."""
from __future__ import annotations

import functools
import re

import jinja2

from analyzer.models.report import Report
from reports.templating import new_environment
from reports.text import cite, shown_name, size

RE_BLANK_RUNS = re.compile(r"\n{3,}")


@functools.lru_cache(maxsize=1)  # one compiled template set per process: a fleet renders hundreds
def _environment() -> jinja2.Environment:
    env = new_environment(autoescape=False)  # Markdown: bundle strings go through the md/visible filters instead
    env.filters.update(size=size, cite=cite, name=shown_name)
    return env


RE_NEEDS_BLANK_BEFORE = re.compile(r"(?m)(?<=[^\n])\n(?=#{1,3} |Evidence: |Findings:|\| what |\| pid |\| cgroup )")


def render_markdown(report: Report) -> str:
    text = _environment().get_template("report.md.j2").render(report=report)
    text = RE_NEEDS_BLANK_BEFORE.sub("\n\n", text)
    return RE_BLANK_RUNS.sub("\n\n", text).strip() + "\n"
