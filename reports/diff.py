"""Renderers of a bundle diff (``podmortem-diff/v1``): JSON, Markdown and self-contained HTML.

Sizes show both bundles' values and the signed delta; the HTML page has the node report's strict
CSP (no scripts, no network) and bundle strings go through ``visible`` and autoescape (or ``md``).
"""
from __future__ import annotations

import re

import jinja2
import orjson

from analyzer.models.diff import BundleDiff
from analyzer.units import fmt_bytes
from reports.html import CSP
from reports.text import md, visible

RE_BLANK_RUNS = re.compile(r"\n{3,}")


def signed(n: int | None) -> str:
    """A delta in binary units with its sign, or nothing when unknown or zero.

    >>> signed(134217728), signed(-1024), signed(0), signed(None)
    ('+128 MiB', '-1 KiB', '', '')
    """
    if not n:
        return ""
    return ("+" if n > 0 else "") + fmt_bytes(n)


def _environment(autoescape: bool) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("reports", "templates"),
        autoescape=autoescape,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(visible=visible, md=md, human=fmt_bytes, signed=signed)
    env.globals.update(CSP=CSP)
    return env


def render_diff_json(diff: BundleDiff) -> bytes:
    return orjson.dumps(diff.model_dump(mode="json", by_alias=True), option=orjson.OPT_INDENT_2) + b"\n"


def render_diff_markdown(diff: BundleDiff) -> str:
    text = _environment(autoescape=False).get_template("diff.md.j2").render(diff=diff)
    return RE_BLANK_RUNS.sub("\n\n", text).strip() + "\n"


def render_diff_html(diff: BundleDiff) -> str:
    return _environment(autoescape=True).get_template("diff.html.j2").render(diff=diff)


def render_diff(diff: BundleDiff, fmt: str) -> bytes:
    if fmt == "json":
        return render_diff_json(diff)
    if fmt == "html":
        return render_diff_html(diff).encode()
    return render_diff_markdown(diff).encode()
