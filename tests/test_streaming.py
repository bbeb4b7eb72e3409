"""Big logs are read once through the line prefilter, and give the same answers as whole reads.

The bundles here are the REAL lab bundle (fixtures/lab) with its kernel log made big: the lab's
own OOM reports are spliced between many MiB of the same log's non-OOM lines (boot messages,
repeated). Nothing else is changed, so the streamed analysis must equal the whole-file analysis:
same victims, same cited line numbers, same quoted lines.
"""
from __future__ import annotations

import io
import tarfile
import zlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.bundle import Limits, open_bundle
from analyzer.pipeline import analyze
from analyzer.prefilter import KERNEL_LOG, LineFilter
from tests.conftest import FIXTURES, extract_bundle
from tests.test_cli import lab_facts

WHOLE = Limits(stream_threshold_bytes=1024**3)  # never stream: the reference answer
OOM_WORDS = ("oom", "Killed process", "Out of memory", "Memory cgroup", "Tasks state", "memory: usage")


def _noise(lines: list[str], size: int) -> list[str]:
    """The real log's lines before its first OOM report (boot messages), repeated until ``size`` bytes."""
    first = next(n for n, line in enumerate(lines) if "invoked oom-killer" in line)
    quiet = [line for line in lines[:first] if line]
    assert len(quiet) > 20 and not any(word in line for line in quiet for word in OOM_WORDS)
    out, total = [], 0
    while total < size:
        for line in quiet:
            out.append(line)
            total += len(line) + 1
    return out


@pytest.fixture(scope="module")
def big_lab_bundle(tmp_path_factory) -> tuple[Path, int]:
    """(bundle dir, line offset): the lab bundle with ~6 MiB of noise before and ~3 MiB after its dmesg."""
    root = tmp_path_factory.mktemp("big")
    top = extract_bundle(FIXTURES / "lab" / "lab-oom-128mi.tar.gz", root)
    dmesg = top / "commands" / "dmesg.txt"
    lines = dmesg.read_text().split("\n")
    before, after = _noise(lines, 6 * 1024**2), _noise(lines, 3 * 1024**2)
    dmesg.write_text("\n".join(before + lines + after) + "\n")
    for copy in ("dmesg-T.txt", "journalctl-k.txt"):  # one big kernel log is enough; keep the test quick
        (top / "commands" / copy).unlink(missing_ok=True)
    return root, len(before)


def _oom_view(report) -> list[tuple]:
    return sorted(
        (i.victim.pid, i.memcg.limit_bytes, tuple(sorted(e.cite() for e in i.evidence)))
        for i in report.incidents if i.kind == "oom_kill"
    )


def test_streamed_big_log_equals_whole_read(big_lab_bundle):
    root, offset = big_lab_bundle
    streamed, whole = analyze(root), analyze(root, WHOLE)
    facts = lab_facts()
    assert int(facts["victim pid"]) in [i.victim.pid for i in streamed.incidents]
    assert _oom_view(streamed) == _oom_view(whole)
    assert streamed.evidence_lines == whole.evidence_lines
    cited = [int(k.rsplit(":", 1)[1]) for k in streamed.evidence_lines if "dmesg.txt" in k]
    assert cited and min(cited) > offset, "cited lines are the member's own line numbers, after the noise"
    (entry,) = [f for f in streamed.bundle.files_read if f.path.endswith("commands/dmesg.txt")]
    assert entry.note and "streamed" in entry.note


def test_streamed_log_cut_by_a_truncated_gzip_keeps_what_came_before(big_lab_bundle, tmp_path):
    root, _ = big_lab_bundle
    dmesg = next(root.glob("*/commands/dmesg.txt"))
    tar_bytes = io.BytesIO()
    with tarfile.open(fileobj=tar_bytes, mode="w") as tar:
        tar.add(dmesg.parent.parent / "proc", arcname="b/proc")
        tar.add(dmesg, arcname="b/commands/dmesg.txt")  # last: the gzip stream ends inside it
    data = tar_bytes.getvalue()
    text = dmesg.read_bytes()
    cut_at = data.index(text[:4096]) + text.rindex(b"Killed process") + (len(text) - text.rindex(b"Killed process")) // 2
    packer = zlib.compressobj(wbits=31)  # gzip; flushed at the cut so everything before it decompresses
    head = packer.compress(data[:cut_at]) + packer.flush(zlib.Z_FULL_FLUSH)
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(head)
    report = analyze(cut)
    assert int(lab_facts()["victim pid"]) in [i.victim.pid for i in report.incidents]
    assert any("truncated" in w.message for w in report.bundle.warnings)
    assert any("cut" in w.message and w.file == "b/commands/dmesg.txt" for w in report.bundle.warnings)


def test_line_filter_keeps_windows_across_chunk_boundaries():
    """A report split across every possible chunk boundary gives the same kept lines."""
    lines = (FIXTURES / "lab").glob("*.tar.gz")
    with tarfile.open(next(iter(sorted(lines)))) as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith("commands/dmesg.txt"))
        data = tar.extractfile(member).read()
    reference = LineFilter(KERNEL_LOG)
    reference.feed(data)
    expected = reference.finish()
    assert expected[1], "the lab log has OOM lines to keep"
    for size in (1, 7, 100, 4096):
        chunked = LineFilter(KERNEL_LOG)
        for at in range(0, len(data), size):
            chunked.feed(data[at : at + size])
        assert chunked.finish() == expected, f"chunk size {size}"


def test_huge_line_without_newline_is_cut_not_held():
    filt = LineFilter(KERNEL_LOG, max_line_bytes=1000)
    filt.feed(b"[1.0] Killed process 9 (x) " + b"y" * 10_000)
    for _ in range(100):
        filt.feed(b"z" * 100_000)  # 10 MB more of the same line: never held
        assert len(filt.carry) <= 1000
    filt.feed(b"\n[2.0] Killed process 10 (w) total-vm:4kB\n")
    text, numbers = filt.finish()
    assert numbers == [1, 2] and filt.lines_cut == 1
    assert text.split("\n")[1].startswith("[2.0] Killed process 10")


def test_streaming_kicks_in_only_for_big_logs(big_lab_bundle):
    root, _ = big_lab_bundle
    bundle = open_bundle(root)
    streamed = {a.path.rsplit("/", 1)[-1] for a in bundle.artifacts if a.line_numbers is not None}
    assert streamed == {"dmesg.txt"}


def _reference_filter(data: bytes, spec) -> list[int]:
    """The line filter's rule, written the slow obvious way: line by line."""
    kept, window, ending = [], 0, False
    for number, line in enumerate(data.split(b"\n")[:-1] if data.endswith(b"\n") else data.split(b"\n"), start=1):
        if window > 0:
            kept.append(number)
            window -= 1
            if not ending and any(n in line for n in spec.window_end):
                ending, window = True, spec.tail_lines
            elif any(n in line for n in spec.window_start):
                ending, window = False, spec.max_window_lines
            continue
        if any(n in line for n in spec.single + spec.window_start):
            kept.append(number)
            if any(n in line for n in spec.window_start):
                ending, window = False, spec.max_window_lines
    return kept


LINES = [b"[1.0] eth0: link up", b"[2.0] a invoked oom-killer: gfp_mask=0x0", b"[2.0] CPU: 0 PID: 1 Comm: a",
         b"[2.0] Killed process 7 (a) total-vm:4kB", b"[2.1] oom_reaper: reaped process 7 (a)", b"",
         b"[3.0] Tasks state (memory values in pages):", b"[3.0] [  7]  0  7  10  1  0  0  0 a", b"plain text"]


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(st.sampled_from(LINES), max_size=60), st.lists(st.integers(1, 50), min_size=1, max_size=8),
       st.integers(1, 6))
def test_line_filter_matches_the_line_by_line_rule(lines, cuts, max_window):
    from dataclasses import replace

    spec = replace(KERNEL_LOG, max_window_lines=max_window, tail_lines=2)
    data = b"\n".join(lines) + b"\n"
    filt, at, i = LineFilter(spec), 0, 0
    while at < len(data):
        size = cuts[i % len(cuts)]
        filt.feed(data[at : at + size])
        at, i = at + size, i + 1
    text, numbers = filt.finish()
    assert numbers == _reference_filter(data, spec)
    assert text.split("\n") == [lines[n - 1].decode() for n in numbers] or not numbers


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.binary(max_size=64), st.sampled_from([b"Kill", b"oom", b"vict", b"\n", b"Killed process"]),
       st.integers(0, 12_000), st.integers(0, 12_000), st.integers(-20, 12_000), st.integers(0, 12_000))
def test_memmem_find_answers_as_bytes_find(chunk, needle, filler, where, start, stop):
    """analyzer.prefilter.find (libc's memmem over long spans) gives bytes.find's answer: a needle
    before, at, across or after the span's ends, spans long and short, and none at all."""
    from analyzer.prefilter import find

    data = bytes(b"a \n"[i % 3] for i in range(filler)) + chunk
    data = data[:where] + needle + data[where:]
    assert find(data, needle, start, stop) == data.find(needle, start, stop)
    assert find(data + b"x" * 5000, needle, start, stop + 5000) == (data + b"x" * 5000).find(needle, start, stop + 5000)
