"""More hostile bundles (issue 7 part 1), through `podmortem analyze` as a user runs it.

Every input is HAND-BUILT by tests/hostile_builders.py in the test's folder, the same builders
benchmarks/hostile_figures.py measures (that script also runs the slow ones kept out of here:
100,000 members, 4 GiB gzip and 1 GiB zip bombs, a 10 MB line: seconds each). Each case checks
what a user and a security reviewer would: the exit code, one clear warning, nothing written
outside the -o folder (no file named like the case's random canary anywhere), and the kernel OOM
planted before the fault (victim pid 4242) still in the report.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from analyzer.artifacts import ArtifactKind
from analyzer.bundle import open_bundle
from analyzer.cli import app
from analyzer.pipeline import analyze
from tests.hostile_builders import (
    HOSTILE,
    OOM_LINE,
    OOM_PID,
    make_tar,
    build_directory_links,
    build_long_line,
    build_nested,
    build_symlink_out,
    build_truncated_gzip,
    build_whitespace_runs,
    new_canary,
)
from tests.fuzz_mutations import time_limit

runner = CliRunner()
FAST = [h for h in HOSTILE if not h.slow]


def _tree(folder: Path) -> dict[str, tuple[int, int]]:
    out = {}
    for top, dirs, files in os.walk(folder):
        for name in dirs + files:
            info = (Path(top) / name).lstat()
            out[str((Path(top) / name).relative_to(folder))] = (info.st_size, info.st_mtime_ns)
    return out


def _messages(report: dict) -> list[str]:
    bundle = report["bundle"]
    return [w["message"] for w in bundle["warnings"]] + [f"{f['note']}" for f in bundle["files_read"] if f["status"] == "skipped"]


@pytest.mark.parametrize("hostile", FAST, ids=[h.build.__name__.removeprefix("build_") for h in FAST])
def test_hostile_bundle_through_the_cli(tmp_path, monkeypatch, hostile):
    canary = new_canary()
    (tmp_path / "input").mkdir()
    bundle = hostile.build(tmp_path / "input", canary)
    (tmp_path / "cwd").mkdir()
    (tmp_path / "out").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    before = _tree(tmp_path)

    result = runner.invoke(app, ["analyze", str(bundle), "--format", "json", "-o", str(tmp_path / "out" / "report.json")])

    assert result.exit_code in hostile.exit_codes, result.output
    assert "Traceback" not in result.output
    after = _tree(tmp_path)
    outside = {p for p in after if not p.startswith("out") and after[p] != before.get(p)}
    assert not outside, f"written outside the output folder: {sorted(outside)}"
    assert not list(Path("/tmp").glob(f"{canary}*")) and not list(tmp_path.parent.glob(f"{canary}*"))
    if result.exit_code == 2:
        assert hostile.warning in result.output and len(result.output.strip().splitlines()) == 1
        return
    report = json.loads((tmp_path / "out" / "report.json").read_bytes())
    if hostile.warning is not None:
        assert any(hostile.warning in m for m in _messages(report)), _messages(report)
    if hostile.planted:
        assert OOM_PID in [i["victim"]["pid"] for i in report["incidents"]]


def test_truncated_gzip_keeps_the_members_before_the_cut(tmp_path):
    """Half a tar.gz: dmesg and meminfo come before the cut and are read; the warning names the fault."""
    bundle = open_bundle(build_truncated_gzip(tmp_path, new_canary()))
    assert [a.path for a in bundle.artifacts][:2] == ["b/commands/dmesg.txt", "b/proc/meminfo"]
    assert any("truncated" in w.message for w in bundle.warnings)


def test_a_link_named_like_an_artifact_never_reads_the_analysts_own_file(tmp_path):
    """b/proc/meminfo -> /proc/meminfo in a tar, and the same in a bundle folder: the host's memory is not reported."""
    for bundle in (build_symlink_out(tmp_path, new_canary()), build_directory_links(tmp_path, new_canary())):
        report = analyze(bundle)
        assert report.node is None or not report.node.evidence, "node memory came from the analyst's /proc/meminfo"
        assert "proc/meminfo" in {f.path.removeprefix("b/") for f in report.bundle.files_read if f.status == "skipped"}


def test_nested_archives_are_listed_not_opened(tmp_path):
    report = analyze(build_nested(tmp_path, new_canary()))
    notes = {f.path: f.note for f in report.bundle.files_read if f.status == "skipped"}
    assert "nested archive" in notes["b/middle.zip"] and "nested archive" in notes["b/raw.gz"]
    assert [i.victim.pid for i in report.incidents] == [OOM_PID], "the OOM inside the nested archive (pid 777) was not read"


def test_a_10_mb_line_is_cut_and_the_log_around_it_read(tmp_path):
    report = analyze(build_long_line(tmp_path, new_canary()))
    assert any("longer than" in w.message for w in report.bundle.warnings)
    assert [i.victim.pid for i in report.incidents] == [OOM_PID]


def test_whitespace_runs_in_tables_are_read_in_linear_time(tmp_path):
    """100,000 spaces/tabs inside describe, events and crictl ps cells: a backtracking regex takes
    minutes here (the figures script runs 990,000: hours); linear code well under a second."""
    bundle = build_whitespace_runs(tmp_path, new_canary(), run=100_000)
    with time_limit(20):
        report = analyze(bundle)
    assert [i.victim.pid for i in report.incidents if i.kind == "oom_kill"] == [OOM_PID]


CG = "node-1/sys/fs/cgroup/memory/kubepods/burstable/pod0a1b/"
PLAIN_PATH_MEMBERS = [
    (CG + "memory.limit_in_bytes", b"268435456\n"),
    (CG + "memory.stat", b"cache 4096\nrss 8192\n"),
    (CG + "memory.usage_in_bytes", b"1\r\n"),  # CR: decoded the general way
    (CG + "memory.failcnt", b"caf\xc3\xa9 0\n"),  # UTF-8
    (CG + "memory.max_usage_in_bytes", b"\x00\x01\x02\x03" * 64),  # binary
    (CG + "memory.soft_limit_in_bytes", b"BZh91AY&SY"),  # looks compressed
    (CG + "cgroup.procs", b"1\n2\n"),
    (CG + "notes.txt", b"[ 5.0] Memory cgroup out of memory: Killed process 4242 (eater)\n"),  # kind by content
    (CG + "memory.stat", b"second copy\n"),  # duplicate
    (CG + "..", b"x\n"),
    (CG + "a\\b", b"x\n"),
    (CG + ".hidden", b"rss 1\n"),  # odd but plain file names: the short way
    (CG + "memory.stat.", b"rss 1\n"),
    (CG + "spaced name:1", b"rss 1\n"),
    (CG + "\u00e9t\u00e9", b"1\n"),
    ("node-1/sys/fs/cgroup/memory//kubepods/memory.stat", b"rss 1\n"),  # unclean folder
    ("node-1/sys/fs/cgroup/memory/../../../escape/memory.stat", b"rss 1\n"),  # unsafe folder
    ("node-1/samples/0002/sys/fs/cgroup/memory/kubepods/memory.stat", b"rss 2\n"),  # a --samples snapshot
    ("node-1/proc/42/status", b"Name:\teater\nVmRSS:\t512 kB\n"),
    ("node-1/proc/42/oom_score", b"1000\n"),
    ("node-1/notes/readme.txt", b"hello\n"),  # no node folder
    ("node-1/commands/dmesg.txt", OOM_LINE),
]


def test_plain_members_read_the_short_way_give_what_the_general_way_gives(tmp_path, monkeypatch):
    """bundle._Intake.add_plain (a cgroup or /proc folder's small files, worked out once a folder) gives
    the same artifacts, file records and warnings as _Intake.add, for plain members and for every kind
    of member it must hand over: odd bytes, duplicates, unclean, unsafe and odd names, samples."""
    from analyzer import bundle as bundle_module

    path = make_tar(tmp_path / "plain.tar.gz", PLAIN_PATH_MEMBERS)

    def seen(result):
        artifacts = [(a.path, a.kind, a.size, a.text, a.node_path, a.sample, a.truncated, a.notes) for a in result.artifacts]
        return artifacts, [f.model_dump() for f in result.files], [w.message for w in result.warnings]

    add_plain, taken = bundle_module._Intake.add_plain, []

    def counted(self, name, source, size):
        took = add_plain(self, name, source, size)
        taken.extend([name] if took else [])
        return took

    monkeypatch.setattr(bundle_module._Intake, "add_plain", counted)
    short = seen(open_bundle(path))
    assert CG + "memory.limit_in_bytes" in taken and "node-1/proc/42/status" in taken and len(taken) >= 9
    monkeypatch.setattr(bundle_module._Intake, "add_plain", lambda self, name, source, size: False)
    general = seen(open_bundle(path))
    assert short == general
    artifacts, files, _ = short
    assert (CG + "memory.stat", ArtifactKind.MEMCG_V1, 20, "cache 4096\nrss 8192\n") in [a[:4] for a in artifacts]
    assert any(a[0].endswith("/notes.txt") and a[1] is ArtifactKind.KERNEL_LOG for a in artifacts)
    assert [a[5] for a in artifacts if "/samples/" in a[0]] == [2]
    assert {f["note"] for f in files if f["status"] == "skipped"} >= {"binary content", "duplicate member name: the first one was kept"}
    assert not any("escape" in a[0] for a in artifacts)
