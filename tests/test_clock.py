"""How exact kernel times are: btime + uptime, checked against a journal's own stamps.

The lab machine runs no journald or syslog daemon, so the journal copies here are HAND-WRITTEN
from the REAL lab dmesg: each line gets a `journalctl -k -o short-iso`-style prefix whose wall
time is btime + its uptime + a chosen offset (0.2 s: a daemon's receive delay; 95 s: an NTP step
after boot). The analyzer must measure the offset it is given.
"""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from analyzer.pipeline import analyze
from tests.conftest import FIXTURES, extract_bundle

RE_UPTIME = re.compile(r"^\[\s*(\d+\.\d+)\]")


def _with_journal(tmp_path, offset_s: float):
    top = extract_bundle(FIXTURES / "lab" / "lab-oom-128mi.tar.gz", tmp_path / "b")
    btime = analyze(FIXTURES / "lab" / "lab-oom-128mi.tar.gz").clock.btime
    out = []
    for line in (top / "commands" / "dmesg.txt").read_text().splitlines():
        match = RE_UPTIME.match(line)
        if match is None:
            continue
        wall = btime + timedelta(seconds=float(match.group(1)) + offset_s)
        out.append(f"{wall.strftime('%Y-%m-%dT%H:%M:%S.%f')}+00:00 vm kernel: {line}")
    (top / "commands" / "journalctl-k.txt").write_text("\n".join(out) + "\n")
    return tmp_path / "b"


def test_without_an_independent_clock_the_report_says_so():
    clock = analyze(FIXTURES / "lab" / "lab-oom-128mi.tar.gz").clock
    assert clock.conversion == "btime+uptime" and clock.pairs_compared == 0
    assert "Not checked against an independent clock" in clock.statement
    assert clock.evidence and clock.evidence[0].file.endswith("proc/stat")


def test_a_journal_that_agrees_confirms_the_conversion(tmp_path):
    clock = analyze(_with_journal(tmp_path, 0.2)).clock
    assert clock.pairs_compared > 100
    assert clock.median_offset_s == pytest.approx(0.2, abs=0.01)
    assert "good to about a second" in clock.statement


def test_a_stepped_clock_is_measured_and_said(tmp_path):
    clock = analyze(_with_journal(tmp_path, 95.0)).clock
    assert clock.max_offset_s == pytest.approx(95.0, abs=0.01)
    assert "stepped since boot" in clock.statement and "+95.0 s" in clock.statement
