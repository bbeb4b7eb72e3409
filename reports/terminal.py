"""The one-screen summary printed after a report is written."""
from __future__ import annotations

from analyzer.models.report import Report
from reports.text import visible

MAX_LINES = 12


def render_summary(report: Report, written_to: str | None) -> str:
    lines = []
    n = len(report.incidents)
    host = visible(report.bundle.host or report.bundle.source)
    lines.append(f"podmortem: {host}: {n} incident{'s' if n != 1 else ''}")
    for inc in report.incidents[:MAX_LINES]:
        when = inc.time.strftime("%Y-%m-%d %H:%M:%S UTC") if inc.time else "time unknown"
        lines.append(f"  [{inc.id}] {when}: {visible(inc.summary)}")
    if n > MAX_LINES:
        lines.append(f"  ... and {n - MAX_LINES} more in the report")
    if report.bundle.warnings:
        lines.append(f"  {len(report.bundle.warnings)} warning(s) about the bundle: see the report")
    for m in report.missing[:3]:
        lines.append(f"  missing: {m.what}")
    if written_to:
        lines.append(f"report: {written_to}")
    return "\n".join(lines)
