"""Renderers of the fleet report (``podmortem-fleet/v1``): JSON, Markdown and self-contained HTML.

The HTML page has the same strict CSP as a node report (no scripts, no network); links to each
node's report are relative (``nodes/<name>.<fmt>``), so the output directory can be moved whole.
Everything from bundles goes through ``visible`` and jinja2's autoescape (HTML) or ``md``.
"""
from __future__ import annotations

import re

import jinja2
import orjson

from analyzer.models.fleet import FleetReport
from analyzer.units import fmt_bytes
from reports.html import CSP
from reports.text import md, visible

RE_BLANK_RUNS = re.compile(r"\n{3,}")


def _environment(autoescape: bool) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("reports", "templates"),
        autoescape=autoescape,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(visible=visible, md=md, human=fmt_bytes)
    env.globals.update(CSP=CSP)
    return env


def render_fleet_json(fleet: FleetReport) -> bytes:
    data = fleet.model_dump(mode="json", by_alias=True)
    return orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n"


def render_fleet_markdown(fleet: FleetReport) -> str:
    text = _environment(autoescape=False).get_template("fleet.md.j2").render(fleet=fleet)
    return RE_BLANK_RUNS.sub("\n\n", text).strip() + "\n"


def render_fleet_html(fleet: FleetReport) -> str:
    return _environment(autoescape=True).get_template("fleet.html.j2").render(fleet=fleet)


def render_fleet(fleet: FleetReport, fmt: str) -> bytes:
    if fmt == "json":
        return render_fleet_json(fleet)
    if fmt == "md":
        return render_fleet_markdown(fleet).encode()
    return render_fleet_html(fleet).encode()


def fleet_json_schema() -> dict:
    schema = FleetReport.model_json_schema(by_alias=True, mode="serialization")
    schema["$id"] = "https://podmortem.invalid/schema/podmortem-fleet-v1.json"
    schema["title"] = "podmortem fleet report (podmortem-fleet/v1)"
    return schema
