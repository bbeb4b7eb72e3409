"""The decompressor child reads a tar's headers (analyzer/inflate_child.py, tarstream.header_records) so
that the reader skips them (tarstream.handed_members): the reader must then find exactly what it
finds reading every header itself, on good archives and on every kind of broken one, and must read
on by itself wherever the child's records stop.

Every archive here is HAND-BUILT in the test's folder (Python's tarfile, in the formats GNU tar and
busybox write, and the hostile builders of tests/hostile_builders.py); each is read twice: through
the child, and through a thread that decompresses in this process and sends no records.
"""
from __future__ import annotations

import gzip
import io
import random
import tarfile
from pathlib import Path

import pytest

from analyzer import decompress, tarstream
from analyzer.bundle import Limits, open_bundle
from analyzer.tarstream import BlockSource, member_spans
from tests.hostile_builders import HOSTILE, OOM_LINE, add, new_canary

CG = "node-1/sys/fs/cgroup/memory/kubepods/burstable/pod8f8e4ad6-0b46-4bde-9b4e-1f4c12a3c0de/" + "e" * 64 + "/"
LOG_LINE = b"Nov 24 12:00:00 node-1 kubelet[812]: I1124 12:00:00.000000     812 kubelet.go:2455] SyncLoop (PLEG): event\n"


def _read(path: Path, limits: Limits | None = None):
    """What a user gets of the bundle: artifacts, file records, warnings; or the error that stopped it."""
    try:
        bundle = open_bundle(path, limits)
    except Exception as err:  # InputUnreadable: the same message both ways
        return type(err).__name__, str(err)
    artifacts = [(a.path, a.kind, a.size, a.text, a.node_path, a.sample, a.truncated, a.line_numbers, a.notes) for a in bundle.artifacts]
    return artifacts, [f.model_dump() for f in bundle.files], [w.model_dump() for w in bundle.warnings], bundle.bytes_read


def both_ways(path: Path, monkeypatch, limits: Limits | None = None) -> tuple[object, object, int]:
    """(read through the child, read through a thread, records the reader took from the child)."""
    handed = []
    records = decompress.ChildBlocks.header_records

    def counted(self):
        for record in records(self):
            handed.append(record[0])
            yield record

    with monkeypatch.context() as patch:
        patch.setattr(decompress.ChildBlocks, "header_records", counted)
        through_child = _read(path, limits)
    with monkeypatch.context() as patch:
        patch.setattr(decompress.subprocess, "Popen", _no_process)
        through_thread = _read(path, limits)
    return through_child, through_thread, len(handed)


def _no_process(*args, **kwargs):
    raise OSError("no process left")


def _tar_bytes(members, tar_format=tarfile.PAX_FORMAT) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tar_format) as tar:
        for name, data in members:
            add(tar, name, data)
    return buffer.getvalue()


def _node_members(pods: int) -> list[tuple[str, bytes]]:
    """A node's cgroup and /proc files (names past 100 characters: a PAX or long-name header each), a
    kernel log and a kubelet journal past the line filter's threshold."""
    members = [("node-1/commands/dmesg.txt", OOM_LINE + b"\n")]
    for pod in range(pods):
        folder = CG.replace("8f8e4ad6", f"{pod:08x}")
        members += [(folder + "memory.limit_in_bytes", b"268435456\n"), (folder + "memory.stat", b"cache 4096\nrss 8192\n"),
                    (folder + "cgroup.procs", b"%d\n" % (1000 + pod)), (f"node-1/proc/{1000 + pod}/oom_score_adj", b"999\n")]
    members.append(("node-1/commands/journalctl-u-kubelet.txt", LOG_LINE * 50_000))  # 5 MB: streamed
    return members


def test_the_child_sends_every_byte_once_and_the_records_this_process_reads(tmp_path):
    tar = _tar_bytes(_node_members(200))
    path = tmp_path / "node.tar.gz"
    path.write_bytes(gzip.compress(tar, compresslevel=1))
    expected = []
    tarstream.header_records(BlockSource(iter([tar])), expected.append)
    with decompress.ChildBlocks(path) as blocks:
        data = b"".join(blocks)
        records = list(blocks.header_records())
    assert data == tar
    assert records == expected and len(records) == 1 + 200 * 4 + 1


@pytest.mark.parametrize("tar_format", [tarfile.PAX_FORMAT, tarfile.GNU_FORMAT], ids=["pax", "gnu"])
def test_headers_read_by_the_child_give_what_the_reader_finds_itself(tmp_path, monkeypatch, tar_format):
    path = tmp_path / "node.tar.gz"
    path.write_bytes(gzip.compress(_tar_bytes(_node_members(300), tar_format), compresslevel=1))
    through_child, through_thread, handed = both_ways(path, monkeypatch)
    assert through_child == through_thread
    artifacts, files, warnings, _ = through_child
    assert handed == len(files) == 1 + 300 * 4 + 1  # every header read by the child, none read twice
    assert any(a[0].endswith("memory.stat") and a[3] == "cache 4096\nrss 8192\n" for a in artifacts)
    assert not warnings


def test_the_reader_reads_on_after_a_global_pax_header(tmp_path, monkeypatch):
    """A global PAX header applies to every member after it: the child stops its records before it, and
    the reader reads it, and every header after it, itself."""
    members = _tar_bytes(_node_members(20))
    _, end = _member_offsets(members)
    glob = tarfile.TarInfo.create_pax_global_header({"comment": "collected by hand"})
    after = _tar_bytes([("node-1/proc/77/oom_score_adj", b"-997\n")])
    path = tmp_path / "global.tar.gz"
    path.write_bytes(gzip.compress(members[:end] + glob + after, compresslevel=1))
    through_child, through_thread, handed = both_ways(path, monkeypatch)
    assert through_child == through_thread
    files = through_child[1]
    assert handed == len(files) - 1 and files[-1]["path"] == "node-1/proc/77/oom_score_adj"


def _member_offsets(tar: bytes) -> tuple[list[int], int]:
    """(the offset of each member's first header, the offset of the end-of-archive block)."""
    source = BlockSource(iter([tar]))
    starts, end = [], 0
    for _, data_bytes in member_spans(source, {}):
        starts.append(end)
        end = source.offset + tarstream._padded(data_bytes)
    return starts, end


@pytest.mark.parametrize("cut_at", [0.3, 0.6, 0.999], ids=["in-cgroup-files", "in-the-journal", "at-the-end"])
def test_a_cut_bundle_gives_the_same_members_and_the_same_warning(tmp_path, monkeypatch, cut_at):
    packed = gzip.compress(_tar_bytes(_node_members(300)), compresslevel=1)
    path = tmp_path / "cut.tar.gz"
    path.write_bytes(packed[: int(len(packed) * cut_at)])
    through_child, through_thread, handed = both_ways(path, monkeypatch)
    assert through_child == through_thread
    assert any("truncated" in w["message"] or "ends inside" in w["message"] for w in through_child[2])
    assert handed >= 1


@pytest.mark.parametrize("where", ["first", "middle"])
def test_a_bad_header_stops_both_ways_at_the_same_member(tmp_path, monkeypatch, where):
    tar = bytearray(_tar_bytes(_node_members(50)))
    spans, _ = _member_offsets(bytes(tar))
    at = spans[0] if where == "first" else spans[len(spans) // 2]
    tar[at + 148 : at + 156] = b"0000000\0"  # a checksum no header has
    path = tmp_path / "bad.tar.gz"
    path.write_bytes(gzip.compress(bytes(tar), compresslevel=1))
    through_child, through_thread, _ = both_ways(path, monkeypatch)
    assert through_child == through_thread
    if where == "first":
        assert through_child[0] == "InputUnreadable"
    else:
        assert any("unreadable member header" in w["message"] for w in through_child[2])


def test_trailing_bytes_and_caps_are_said_the_same_way(tmp_path, monkeypatch):
    tar = _tar_bytes(_node_members(40))
    path = tmp_path / "trailing.tar.gz"
    path.write_bytes(gzip.compress(tar + b"garbage after the end" + bytes(4096), compresslevel=1))
    child, thread, handed = both_ways(path, monkeypatch)
    assert child == thread and handed == len(child[1])
    assert any("after the end-of-archive marker" in w["message"] for w in child[2])
    child, thread, _ = both_ways(path, monkeypatch, Limits(max_members=25))
    assert child == thread and any("more than 25 members" in w["message"] for w in child[2])


def test_a_compressed_single_log_sends_no_records(tmp_path, monkeypatch):
    path = tmp_path / "kern.log.gz"
    path.write_bytes(gzip.compress(OOM_LINE + b"\n" + LOG_LINE * 1000))
    through_child, through_thread, handed = both_ways(path, monkeypatch)
    assert through_child == through_thread and handed == 0
    assert through_child[0][0][0] == "kern.log"


@pytest.mark.parametrize("hostile", [h for h in HOSTILE if not h.slow], ids=lambda h: h.build.__name__.removeprefix("build_"))
def test_every_hostile_bundle_reads_the_sameboth_ways(tmp_path, monkeypatch, hostile):
    bundle = hostile.build(tmp_path, new_canary())
    through_child, through_thread, _ = both_ways(bundle, monkeypatch)
    assert through_child == through_thread


def mutated_tar(rng: random.Random) -> bytes:
    """A gzipped node tar (PAX or GNU long names) with one to four faults: bytes changed in a block,
    a block of zeros or noise put in or taken out, the tar cut, the gzip cut."""
    tar = bytearray(_tar_bytes(_node_members(30), rng.choice([tarfile.PAX_FORMAT, tarfile.GNU_FORMAT])))
    for _ in range(rng.randint(1, 4)):
        at = rng.randrange(max(len(tar) // 512, 1)) * 512
        fault = rng.random()
        if fault < 0.5:
            for _ in range(rng.randint(1, 3)):
                spot = at + rng.randrange(512)
                if spot < len(tar):
                    tar[spot] = rng.randrange(256)
        elif fault < 0.7:
            tar = tar[: rng.randrange(len(tar) + 1)]
        elif fault < 0.85:
            tar[at:at] = bytes(512) if rng.random() < 0.5 else rng.randbytes(512)
        else:
            del tar[at : at + 512]
    packed = gzip.compress(bytes(tar), compresslevel=1)
    return packed[: rng.randrange(len(packed) + 1)] if rng.random() < 0.2 else packed


def test_mutated_archives_read_the_same_both_ways(tmp_path, monkeypatch):
    """40 archives with random faults (benchmarks/header_records_fuzz.py runs thousands: 1 in 700
    found the cut-gzip tail that gzip_blocks now keeps)."""
    rng = random.Random(20261206)
    path = tmp_path / "mutated.tar.gz"
    for case in range(40):
        path.write_bytes(mutated_tar(rng))
        through_child, through_thread, _ = both_ways(path, monkeypatch)
        assert through_child == through_thread, f"case {case}"
