"""Hostile and broken bundles: nothing is followed or written, caps hold, what came before a fault is kept.

Every archive is built here, in the test's own temporary directory, small on disk.
"""
from __future__ import annotations

import gzip
import io
import os
import resource
import tarfile
import time
import zipfile
from pathlib import Path

import pytest

from analyzer.artifacts import ArtifactKind
from analyzer.bundle import Limits, open_bundle
from analyzer.errors import InputUnreadable
from analyzer.pipeline import analyze
from tests.hostile_builders import OOM_LINE, add, make_tar


@pytest.mark.parametrize(
    "name, attrs, reason",
    [
        ("/etc/podmortem-abs", {}, "absolute path"),
        ("../../podmortem-up", {}, "escapes"),
        ("b/link-to-passwd", {"type": tarfile.SYMTYPE, "linkname": "/etc/passwd"}, "symbolic link"),
        ("b/hardlink", {"type": tarfile.LNKTYPE, "linkname": "b/dmesg.txt"}, "hard link"),
        ("b/dev-null", {"type": tarfile.CHRTYPE, "devmajor": 1, "devminor": 3}, "character device"),
        ("b/disk", {"type": tarfile.BLKTYPE, "devmajor": 8, "devminor": 0}, "block device"),
        ("b/pipe", {"type": tarfile.FIFOTYPE}, "fifo"),
    ],
    ids=["absolute", "dotdot", "symlink", "hardlink", "chardev", "blockdev", "fifo"],
)
def test_each_hostile_member_kind_is_skipped_and_the_rest_read(tmp_path, monkeypatch, name, attrs, reason):
    monkeypatch.chdir(tmp_path)
    data = OOM_LINE if not attrs else b""
    bundle = make_tar(tmp_path / "h.tar.gz", [("b/dmesg.txt", OOM_LINE), (name, data, attrs)])
    before = set(tmp_path.rglob("*"))
    result = open_bundle(bundle)
    skipped = [f for f in result.files if f.status == "skipped"]
    assert len(skipped) == 1 and reason in skipped[0].note
    assert [a.path for a in result.artifacts] == ["b/dmesg.txt"]
    assert set(tmp_path.rglob("*")) == before, "nothing was written"
    assert not Path("/etc/podmortem-abs").exists() and not (tmp_path.parent.parent / "podmortem-up").exists()


def test_duplicate_names_keep_the_first(tmp_path):
    bundle = make_tar(tmp_path / "d.tar.gz", [("b/dmesg.txt", OOM_LINE), ("b/dmesg.txt", b"second\n")])
    result = open_bundle(bundle)
    assert [a.text for a in result.artifacts] == [OOM_LINE.decode()]
    assert any("duplicate" in w.message for w in result.warnings)


def test_gzip_bomb_is_stopped_by_the_member_cap(tmp_path):
    """1 GiB of zeros in one member, about 1 MB on disk: read up to the cap, warned, bounded."""
    path = tmp_path / "bomb.tar.gz"
    size = 1024**3
    with gzip.open(path, "wb", compresslevel=9) as gz:
        with tarfile.open(fileobj=gz, mode="w|") as tar:
            info = tarfile.TarInfo("b/zeros.log")
            info.size = size

            class Zeros(io.RawIOBase):
                left = size

                def readinto(self, buf):
                    n = min(len(buf), self.left)
                    buf[:n] = bytes(n)
                    self.left -= n
                    return n

            tar.addfile(info, Zeros())
            add(tar, "b/dmesg.txt", OOM_LINE)
    assert path.stat().st_size < 2 * 1024**2
    began = time.monotonic()
    result = open_bundle(path, Limits(max_member_bytes=8 * 1024**2))
    assert time.monotonic() - began < 30
    assert any("cap" in w.message or "decompression bomb" in w.message for w in result.warnings)
    (zeros,) = [f for f in result.files if f.path == "b/zeros.log"]
    assert zeros.status == "skipped" and "not read past" in zeros.note, "the bomb is never decompressed past its head"
    assert "b/dmesg.txt" in [a.path for a in result.artifacts], "members after the bomb are still read"
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    assert peak_mib < 1024, f"peak RSS {peak_mib:.0f} MiB"


def test_zip_bomb_and_zip_symlink(tmp_path):
    path = tmp_path / "z.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("b/zeros.log", bytes(64 * 1024**2))
        link = zipfile.ZipInfo("b/passwd")
        link.external_attr = (0o120777 << 16)
        archive.writestr(link, "/etc/passwd")
        archive.writestr("b/dmesg.txt", OOM_LINE)
    result = open_bundle(path, Limits(max_member_bytes=1024**2))
    notes = {f.path: f.note for f in result.files if f.status == "skipped"}
    assert "symbolic link" in notes["b/passwd"]
    assert "b/dmesg.txt" in [a.path for a in result.artifacts]
    assert any("cap" in w.message or "decompression bomb" in w.message for w in result.warnings)


def test_nested_archive_is_not_opened(tmp_path):
    inner = make_tar(tmp_path / "inner.tar.gz", [("x/dmesg.txt", OOM_LINE)])
    outer = make_tar(tmp_path / "outer.tar", [("b/inner.tar.gz", inner.read_bytes()), ("b/dmesg.txt", OOM_LINE)], mode="w")
    result = open_bundle(outer)
    notes = {f.path: f.note for f in result.files if f.status == "skipped"}
    assert "nested archive" in notes["b/inner.tar.gz"]


def test_corrupt_header_in_the_middle_keeps_what_came_before(tmp_path):
    good = make_tar(tmp_path / "g.tar", [("b/dmesg.txt", OOM_LINE), ("b/proc/meminfo", b"MemTotal: 1 kB\n"), ("b/later.txt", b"x" * 600)], mode="w")
    raw = bytearray(good.read_bytes())
    raw[2048 : 2048 + 100] = b"\xff" * 100  # the third header: two members of one header + one data block each before it
    broken = tmp_path / "broken.tar"
    broken.write_bytes(bytes(raw))
    result = open_bundle(broken)
    assert "b/dmesg.txt" in [a.path for a in result.artifacts]
    assert any("corrupt" in w.message or "truncated" in w.message for w in result.warnings)


def test_text_oddities_are_decoded(tmp_path):
    text = b"\xff\xfe bad utf8\r\n" + b"\x00" * 10 + OOM_LINE.replace(b"\n", b"\r\n") + b"y" * (3 * 1024**2) + b"\n"
    bundle = make_tar(tmp_path / "t.tar.gz", [("b/kern.log", text)])
    result = open_bundle(bundle, Limits(max_line_chars=1024**2))
    (artifact,) = result.artifacts
    assert artifact.kind is ArtifactKind.KERNEL_LOG
    assert "\r" not in artifact.text and "\x00" not in artifact.text
    assert any("longer than" in w.message for w in result.warnings)
    report = analyze(bundle)
    assert [i.victim.pid for i in report.incidents] == [4242]


def test_empty_archive_warns(tmp_path):
    path = tmp_path / "empty.tar.gz"
    with tarfile.open(path, "w:gz"):
        pass
    result = open_bundle(path)
    assert result.artifacts == [] and any("empty archive" in w.message for w in result.warnings)


def test_hundred_thousand_tiny_members_are_capped(tmp_path):
    path = tmp_path / "many.tar"
    with tarfile.open(path, "w") as tar:
        for i in range(3000):
            add(tar, f"b/f{i}.txt", b"x\n")
    result = open_bundle(path, Limits(max_members=1000))
    assert len(result.files) == 1000
    assert any("members" in w.message for w in result.warnings)


def test_directory_symlink_out_is_not_followed(tmp_path):
    root = tmp_path / "bundle"
    root.mkdir()
    (root / "dmesg.txt").write_bytes(OOM_LINE)
    (root / "passwd").symlink_to("/etc/passwd")
    (root / "fifo").parent.mkdir(exist_ok=True)
    os.mkfifo(root / "fifo")
    result = open_bundle(root)
    notes = {f.path: f.note for f in result.files if f.status == "skipped"}
    assert "symbolic link" in notes["passwd"] and "special file" in notes["fifo"]
    assert [a.path for a in result.artifacts] == ["dmesg.txt"]


def test_gzipped_single_log(tmp_path):
    path = tmp_path / "dmesg.txt.gz"
    path.write_bytes(gzip.compress(OOM_LINE))
    result = open_bundle(path)
    assert result.source_kind == "file" and result.artifacts[0].path == "dmesg.txt"


def test_unreadable_inputs_raise_one_clear_error(tmp_path):
    (tmp_path / "empty").write_bytes(b"")
    (tmp_path / "bin").write_bytes(os.urandom(8192))
    for name, needle in (("empty", "empty"), ("bin", "binary"), ("nope", "does not exist")):
        with pytest.raises(InputUnreadable, match=needle):
            open_bundle(tmp_path / name)


def test_utf16_log_with_bom_is_read(tmp_path):
    path = tmp_path / "dmesg-utf16.txt"
    path.write_bytes(b"\xff\xfe" + OOM_LINE.decode().encode("utf-16-le"))
    report = analyze(path)
    assert [i.victim.pid for i in report.incidents] == [4242]


def test_one_line_json_longer_than_the_line_cap_is_kept_whole(tmp_path):
    """kubelet /pods and /stats/summary print one line of JSON: a 1.8 MB one (500 pods) must stay valid JSON."""
    import json

    pods = {"kind": "PodList", "items": [{"metadata": {"name": f"p{i}", "namespace": "ns", "uid": f"u{i}"}, "status": {"phase": "Running"}}
                                          for i in range(20000)]}
    text = json.dumps(pods, separators=(",", ":")).encode()
    assert len(text) > 1_000_000 and b"\n" not in text
    bundle = make_tar(tmp_path / "b.tar.gz", [("b/commands/kubelet-pods.json", text)])
    (artifact,) = open_bundle(bundle).artifacts
    assert json.loads(artifact.text) == pods


def test_truncated_xz_keeps_the_members_before_the_cut(tmp_path):
    """A .tar.xz cut short: like a cut .tar.gz, what came before the cut is read (lzma's read() of a truncated
    stream drops everything it decompressed in that call; the reader takes one decompression step at a time)."""
    import lzma

    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        add(tar, "b/commands/dmesg.txt", OOM_LINE)
        add(tar, "b/var/log/noise.log", os.urandom(512 * 1024))  # incompressible: the cut lands inside it
    packed = lzma.compress(raw.getvalue())
    cut = tmp_path / "cut.tar.xz"
    cut.write_bytes(packed[: len(packed) // 2])
    result = open_bundle(cut)
    assert "b/commands/dmesg.txt" in [a.path for a in result.artifacts]
    assert any("truncated" in w.message or "cut" in w.message for w in result.warnings)
