"""Renderers of the fleet report (``podmortem-fleet/v1``): JSON, Markdown and self-contained HTML.

The HTML page has the same strict CSP as a node report (no scripts, no network); links to each
node's report are relative (``nodes/<name>.<fmt>``), so the output directory can be moved whole.
Everything from bundles goes through ``visible`` and jinja2's autoescape (HTML) or ``md``.
"""
from __future__ import annotations

from analyzer.models.fleet import FleetReport
from reports.templating import render_model


def render_fleet(fleet: FleetReport, fmt: str) -> bytes:
    """The fleet report in ``fmt`` ("json", "md", else HTML)."""
    return render_model(fleet, fmt, "fleet", "fleet")
