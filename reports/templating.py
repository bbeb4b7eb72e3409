"""What the fleet and diff renderers share: one jinja2 environment per escaping mode, and the
JSON / Markdown / HTML rendering of a pydantic model through ``<stem>.md.j2`` / ``<stem>.html.j2``.

Bundle strings go through ``visible`` and autoescape (HTML) or ``md`` (Markdown); HTML pages carry
the node report's strict CSP (no scripts, no network).
"""
from __future__ import annotations

import functools
import re

import jinja2
import orjson
from pydantic import BaseModel

from analyzer.units import fmt_bytes
from reports.text import md, visible

RE_BLANK_RUNS = re.compile(r"\n{3,}")
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"


def signed(n: int | None) -> str:
    """A delta in binary units with its sign, or nothing when unknown or zero.

    >>> signed(134217728), signed(-1024), signed(0), signed(None)
    ('+128 MiB', '-1 KiB', '', '')
    """
    if not n:
        return ""
    return ("+" if n > 0 else "") + fmt_bytes(n)


def new_environment(autoescape: bool) -> jinja2.Environment:
    """The templates' environment: strict (an unknown field is an error, not an empty cell), blocks trimmed."""
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


@functools.lru_cache(maxsize=2)  # one compiled template set per process: a fleet renders hundreds
def environment(autoescape: bool) -> jinja2.Environment:
    return new_environment(autoescape)


def render_model(model: BaseModel, fmt: str, stem: str, name: str) -> bytes:
    """``model`` as JSON, or through ``<stem>.md.j2`` / ``<stem>.html.j2`` with the model as ``name``."""
    if fmt == "json":
        return orjson.dumps(model.model_dump(mode="json", by_alias=True), option=orjson.OPT_INDENT_2) + b"\n"
    if fmt == "md":
        text = environment(autoescape=False).get_template(f"{stem}.md.j2").render(**{name: model})
        return (RE_BLANK_RUNS.sub("\n\n", text).strip() + "\n").encode()
    return environment(autoescape=True).get_template(f"{stem}.html.j2").render(**{name: model}).encode()
