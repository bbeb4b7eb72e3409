"""Renderers of a bundle diff (``podmortem-diff/v1``): JSON, Markdown and self-contained HTML.

Sizes show both bundles' values and the signed delta; the HTML page has the node report's strict
CSP (no scripts, no network) and bundle strings go through ``visible`` and autoescape (or ``md``).
"""
from __future__ import annotations

from analyzer.models.diff import BundleDiff
from reports.templating import render_model


def render_diff(diff: BundleDiff, fmt: str) -> bytes:
    """The diff in ``fmt`` ("json", "html", else Markdown)."""
    return render_model(diff, fmt if fmt in ("json", "html") else "md", "diff", "diff")
