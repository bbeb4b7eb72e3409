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


def test_hostile_member_names_cannot_break_the_markdown(tmp_path):
    """HAND-WRITTEN bundle: a member name with a newline, an ANSI escape and a table pipe; a comm with an OSC escape."""
    import io
    import tarfile

    bundle = tmp_path / "weird.tar.gz"
    with tarfile.open(bundle, "w:gz") as tar:
        data = b"[1.0] Memory cgroup out of memory: Killed process 42 (x\x1b]0;pwn\x07) total-vm:4kB, anon-rss:4kB, file-rss:0kB, shmem-rss:0kB\n"
        info = tarfile.TarInfo("b/commands/dmesg\n\x1b[31m|red.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    text = render_markdown(analyze(bundle))
    assert "\x1b" not in text and "\x07" not in text
    table_rows = [line for line in text.splitlines() if line.startswith("| time |")]
    assert table_rows and table_rows[0].count(" | ") == 2, "the pipe in the name is escaped: the row keeps three cells"
    assert "red.txt:1" in table_rows[0]
