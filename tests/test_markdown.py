"""The Markdown report reads as Markdown: one list item per line (a ticket pastes it as is)."""
from __future__ import annotations

import re

from analyzer.pipeline import analyze
from reports.markdown import render_markdown
from tests.conftest import FIXTURES


def test_every_incident_warning_and_finding_is_its_own_list_item():
    report = analyze(FIXTURES / "lab" / "lab-oom-128mi.tar.gz")
    text = render_markdown(report)
    verdict = [line for line in text.splitlines() if re.match(r"^\d+\. \*\*\[", line)]
    assert len(verdict) == len(report.incidents) == 3
    assert [re.search(r"\(pid (\d+)\)", line).group(1) for line in verdict] == [str(i.victim.pid) for i in report.incidents]
    for warning in report.bundle.warnings:
        assert any(line.startswith("- " + warning.message[:40]) for line in text.splitlines()), warning.message
    findings = [f for i in report.incidents for f in i.findings]
    assert findings and all(sum(line.count(f"`{f.code}`:") for line in text.splitlines() if line.startswith("- **")) >= 1 for f in findings)
    assert not [line for line in text.splitlines() if line.count("- **") > 1], "two findings run together on one line"
