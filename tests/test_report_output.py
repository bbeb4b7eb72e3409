"""The report stage and the JSON output: what a user reads in the file is what the report holds.

Inputs: the shipped bundles in fixtures/ (lab and docker OOM kills) and small reports built here.
"""
from __future__ import annotations

import io
import json
import subprocess
import sys
from datetime import datetime, timezone

import orjson
import pytest
from typer.testing import CliRunner

from analyzer.cli import app
from analyzer.models.common import Evidence, Finding
from analyzer.models.kernel import KilledProcess, OomReport
from analyzer.models.report import BundleInfo, Generator, Memcg, OomKillIncident, Report, TaskRow, Victim
from analyzer.pipeline import Quotable, analyze, dedupe_reports, drop_impossible_numbers, quote_evidence
from reports.json_report import render_json, write_json
from tests.conftest import FIXTURES, ROOT

BUNDLES = [FIXTURES / "lab" / "lab-oom-128mi.tar.gz", FIXTURES / "docker" / "docker-oom.tar.gz"]
runner = CliRunner()


def dict_then_orjson(report: Report) -> bytes:
    """How the JSON report was made before it was serialised directly: model_dump, then orjson."""
    return orjson.dumps(report.model_dump(mode="json", by_alias=True), option=orjson.OPT_INDENT_2) + b"\n"


def small_report(**fields) -> Report:
    return Report(generator=Generator(version="0"), generated_at=datetime(2026, 1, 2, tzinfo=timezone.utc),
                  bundle=BundleInfo(source="b.tar.gz", source_kind="tar"), **fields)


@pytest.mark.parametrize("bundle", BUNDLES, ids=lambda p: p.name)
def test_json_report_is_the_document_the_dict_made(bundle):
    report = analyze(bundle)
    before = dict_then_orjson(report)
    streamed = io.BytesIO()
    write_json(report, streamed)
    assert render_json(report) == before  # same bytes: indentation, key order, number and time formats
    assert streamed.getvalue() == before
    assert json.loads(streamed.getvalue()) == json.loads(before)


def test_json_report_keeps_non_ascii_text_as_utf8():
    report = small_report(findings=[Finding(code="x", severity="info", message="pod café — 128 MiB ≥ limit ✓ \x1b[31m")])
    streamed = io.BytesIO()
    write_json(report, streamed)
    data = streamed.getvalue()
    assert data == dict_then_orjson(report) == render_json(report)
    assert "café — 128 MiB ≥ limit ✓".encode() in data  # UTF-8, not \u escapes
    assert json.loads(data.decode("utf-8"))["findings"][0]["message"].endswith("\x1b[31m")


def test_cli_json_to_a_file_and_to_stdout_are_the_same_report(tmp_path):
    target = tmp_path / "r.json"
    to_file = runner.invoke(app, ["analyze", str(BUNDLES[0]), "--format", "json", "-o", str(target)])
    to_stdout = runner.invoke(app, ["analyze", str(BUNDLES[0]), "--format", "json", "-o", "-"])
    assert to_file.exit_code == 0 and to_stdout.exit_code == 0, to_file.output + to_stdout.output
    written, printed = json.loads(target.read_bytes()), json.loads(to_stdout.stdout)
    written.pop("generated_at"), printed.pop("generated_at")
    assert written == printed
    assert [i["victim"]["pid"] for i in written["incidents"] if i["kind"] == "oom_kill"]


def test_impossible_numbers_are_named_where_they_are_and_dropped():
    incident = OomKillIncident(id="oom-1", summary="", scope="container", victim=Victim(pid=7),
                               memcg=Memcg(stat={"rss": 4096, "cache": 2**70}),
                               tasks=[TaskRow(pid=6, name="sh"), TaskRow(pid=7, name="java", rss_bytes=2**64)],
                               evidence=[Evidence(file="dmesg", line=3)])
    report = small_report(incidents=[incident])
    warnings = drop_impossible_numbers(report)
    assert [w.message.split(":")[0] for w in warnings] == ["report.incidents[0].memcg.stat[cache]", "report.incidents[0].tasks[1].rss_bytes"]
    assert incident.tasks[1].rss_bytes is None and incident.memcg.stat == {"rss": 4096}
    assert incident.tasks[1].pid == 7 and incident.evidence == [Evidence(file="dmesg", line=3)]


def test_cited_lines_are_quoted_from_plain_files_and_prefiltered_logs():
    report = small_report(findings=[Finding(code="x", severity="info", message="m", evidence=[
        Evidence(file="journal.txt", line=120), Evidence(file="pod/memory.stat", line=2),
        Evidence(file="pod/memory.stat", line=9), Evidence(file="manifest.json", line=1)])])
    quotable = {
        "journal.txt": Quotable("kept line 10\nkept line 120\nkept line 130", [10, 120, 130], True),  # only the kept lines
        "pod/memory.stat": Quotable("cache 4096\nrss 8192\n", None, True),
    }
    assert quote_evidence(report, quotable) == {"journal.txt:120": "kept line 120", "pod/memory.stat:2": "rss 8192"}


def oom(source: str, time: datetime | None) -> OomReport:
    return OomReport(source=source, time=time, uptime_s=812.5, killed=KilledProcess(pid=7, comm="java", total_vm_bytes=4096),
                     evidence={"killed": Evidence(file=source, line=40)})


def test_copies_of_one_oom_are_merged_and_the_parsed_reports_stay_as_read():
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    dmesg, journal = oom("dmesg.txt", None), oom("journal.txt", at)
    (merged,) = dedupe_reports([dmesg, journal])  # as rich as each other: the first one read is kept
    assert (merged.source, merged.time, set(merged.evidence)) == ("dmesg.txt", at, {"killed", "killed@journal.txt"})
    assert dmesg.time is None and set(dmesg.evidence) == {"killed"} and set(journal.evidence) == {"killed"}


def test_one_bundle_needs_no_fleet_and_no_parser_of_absent_kinds():
    """Start-up: `podmortem analyze BUNDLE` imports the parsers of the kinds a bundle holds when it holds them."""
    code = ("import sys, analyzer.cli, analyzer.pipeline, reports.json_report; "
            "print(' '.join(sorted(m for m in sys.modules if m.startswith(('analyzer', 'reports', 'multiprocessing', 'concurrent')))))")
    loaded = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout.split())
    unneeded = {"analyzer.fleet", "analyzer.models.fleet", "analyzer.diff", "multiprocessing", "concurrent.futures",
                *(f"analyzer.parsers.{name}" for name in ("crictl", "docker", "events", "runtime_log", "describe",
                                                          "describe_node", "paste", "free", "kubectl_top"))}
    assert loaded & unneeded == set()
    assert {"analyzer.pipeline", "analyzer.rules.runtime_events", "reports.json_report"} <= loaded


def test_a_member_size_beyond_any_real_file_is_warned_and_the_rest_read(tmp_path):
    """A tar header may claim a size of 2^70 bytes (GNU base-256) on a member with no data (a symlink):
    files_read entries get the same impossible-number check as every other number of the report (files
    are checked in a loop of their own: 37,000 entries on a 500-pod node), and the member after it is read."""
    import tarfile

    link = tarfile.TarInfo("b/link")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    block = bytearray(link.tobuf(tarfile.GNU_FORMAT))
    block[124:136] = b"\x80" + (2**70).to_bytes(11, "big")
    block[148:156] = b" " * 8
    block[148:156] = b"%06o\x00 " % sum(block)
    line = b"[ 5.000001] Memory cgroup out of memory: Killed process 4242 (eater) total-vm:1024kB, anon-rss:512kB, file-rss:0kB, shmem-rss:0kB\n"
    dmesg = tarfile.TarInfo("b/dmesg.txt")
    dmesg.size = len(line)
    path = tmp_path / "huge.tar"
    path.write_bytes(bytes(block) + dmesg.tobuf(tarfile.GNU_FORMAT) + line + bytes(-len(line) % 512) + bytes(1024))
    report = analyze(path)
    assert [i.victim.pid for i in report.incidents] == [4242]
    assert report.bundle.files_read[0].path == "b/link" and report.bundle.files_read[0].size_bytes is None
    assert any(w.message.startswith("report.bundle.files_read[0].size_bytes: 1180591620717411303424") for w in report.bundle.warnings)
