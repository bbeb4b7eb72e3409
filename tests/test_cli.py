"""The podmortem CLI as a user runs it: through typer's runner and as a real subprocess.

Inputs: the lab bundle in fixtures/lab (a real kernel OOM kill) and bad inputs built here.
"""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from analyzer.cli import app
from tests.conftest import FIXTURES, ROOT

LAB_BUNDLE = FIXTURES / "lab" / "lab-oom-128mi.tar.gz"
runner = CliRunner()


def lab_bundle() -> Path:
    if not LAB_BUNDLE.exists():
        pytest.fail(f"the shipped lab bundle {LAB_BUNDLE} is missing")
    return LAB_BUNDLE


def lab_facts() -> dict:
    """What fixtures/lab/README.md records about the lab incident (written when it was made)."""
    facts = {}
    for line in (FIXTURES / "lab" / "README.md").read_text().splitlines():
        if line.startswith("- ") and ":" in line:
            key, _, value = line[2:].partition(":")
            facts[key.strip().lower()] = value.strip().strip("`")
    return facts


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "analyzer.cli", *args], capture_output=True, text=True, timeout=120, cwd=ROOT
    )


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.startswith("podmortem ")


def test_schema_is_json_schema_of_the_report():
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert {"schema", "bundle", "incidents"} <= set(schema["properties"])
    assert "OomKillIncident" in schema["$defs"]


def test_lab_bundle_json_names_victim_pod_container_and_limit():
    facts = lab_facts()
    result = runner.invoke(app, ["analyze", str(lab_bundle()), "--format", "json", "-o", "-"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    ooms = [i for i in data["incidents"] if i["kind"] == "oom_kill" and i["pod"] and i["pod"]["uid"] == facts["pod uid"]]
    assert len(ooms) == 1
    (incident,) = ooms
    assert incident["scope"] == "container"
    assert incident["victim"]["pid"] == int(facts["victim pid"])
    assert incident["container"]["id"] == facts["container id"]
    assert incident["memcg"]["limit_bytes"] == 128 * 1024 * 1024
    assert incident["time"] is not None, "btime from the bundle turns the dmesg uptime into wall time"
    assert incident["evidence"] and all(":" not in e["file"] or e["file"] for e in incident["evidence"])


def test_default_output_file_in_cwd_and_summary(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["analyze", str(lab_bundle()), "--format", "md"])
    assert result.exit_code == 0, result.output
    written = list(tmp_path.glob("podmortem-report-*.md"))
    assert len(written) == 1
    assert f"report: {written[0]}" in result.stdout
    assert "OOM-killed" in result.stdout
    text = written[0].read_text()
    assert "## Verdict" in text and "128 MiB" in text


def test_output_into_a_directory(tmp_path):
    result = runner.invoke(app, ["analyze", str(lab_bundle()), "--format", "json", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert len(list(tmp_path.glob("podmortem-report-*.json"))) == 1


@pytest.mark.parametrize(
    "name, content, needle",
    [
        ("missing.tar.gz", None, "does not exist"),
        ("empty.log", b"", "empty"),
        ("random.tar.gz", os.urandom(4096), ""),
        ("binary.bin", bytes(range(256)) * 64, "binary"),
        ("bad.zip", b"PK\x03\x04" + os.urandom(200), "zip"),
    ],
    ids=["missing", "empty", "random-bytes", "binary", "corrupt-zip"],
)
def test_unreadable_inputs_exit_2_with_one_line(tmp_path, name, content, needle):
    target = tmp_path / name
    if content is not None:
        target.write_bytes(content)
    proc = run_cli("analyze", str(target), "--format", "json", "-o", "-")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("podmortem: error:")
    assert needle in lines[0]
    assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_truncated_tarball_gives_partial_report_with_warning(tmp_path):
    data = lab_bundle().read_bytes()
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(data[: len(data) // 2])
    proc = run_cli("analyze", str(cut), "--format", "json", "-o", "-")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert any("truncated" in w["message"] or "lost" in w["message"] or "not read" in w["message"] for w in report["bundle"]["warnings"])


def test_directory_with_nothing_known(tmp_path):
    (tmp_path / "notes.txt").write_text("nothing to see here\n")
    result = runner.invoke(app, ["analyze", str(tmp_path), "--format", "json", "-o", "-"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["incidents"] == []
    assert {m["what"] for m in report["missing"]} >= {"kernel log"}


def test_hostile_members_are_skipped_and_never_written(tmp_path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name in ("/tmp/podmortem-evil-abs.txt", "../podmortem-evil-up.txt"):
            info = tarfile.TarInfo(name)
            payload = b"Memory cgroup out of memory: Killed process 1 (x) total-vm:1kB, anon-rss:1kB, file-rss:0kB, shmem-rss:0kB\n"
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
        link = tarfile.TarInfo("bundle/dmesg.txt")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(link)
    bundle = tmp_path / "hostile.tar.gz"
    bundle.write_bytes(buf.getvalue())
    result = runner.invoke(app, ["analyze", str(bundle), "--format", "json", "-o", "-"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    skipped = {f["path"]: f for f in report["bundle"]["files_read"] if f["status"] == "skipped"}
    assert len(skipped) == 3
    assert not Path("/tmp/podmortem-evil-abs.txt").exists()
    assert not (tmp_path / "podmortem-evil-up.txt").exists()
    assert list(work.iterdir()) == []


def test_output_to_missing_directory_is_one_line_error(tmp_path):
    proc = run_cli("analyze", str(lab_bundle()), "-o", str(tmp_path / "no" / "such" / "r.md"), "--format", "md")
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "does not exist" in proc.stderr


def test_subprocess_markdown_to_stdout():
    proc = run_cli("analyze", str(lab_bundle()), "--format", "md", "-o", "-")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("# podmortem report")
    assert "Killed" in proc.stdout or "OOM-killed" in proc.stdout


@pytest.mark.parametrize("args", [["analyze"], ["analyze", "x", "--format", "pdf"], ["--bogus"]], ids=["no-path", "bad-format", "bad-option"])
def test_usage_errors_are_one_line_exit_2(args):
    proc = run_cli(*args)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("podmortem: error:"), proc.stderr


def test_syslog_stamp_without_year_is_kept_as_text(corpus_dir):
    """A syslog paste has no year and no bundle clock: the report says so instead of inventing one."""
    result = runner.invoke(app, ["analyze", str(corpus_dir / "kernel-oom" / "4.15-memcg-v1-blog-ieevee-shm-calloc.log"), "-f", "json", "-o", "-"])
    (incident,) = json.loads(result.stdout)["incidents"]
    assert incident["time"] is None
    assert incident["time_text"].startswith("Dec 04 15:24:33")
