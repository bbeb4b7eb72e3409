"""analyzer/tarstream.py reads what the standard library's ``tarfile`` reads, the same way.

The reference is ``tarfile`` itself: archives of every format it writes (GNU, PAX, USTAR), names
of every length and alphabet, every member type, PAX global headers, the real fixture bundles and
hand-made oddities (a signed checksum, a base-256 size, an old GNU sparse member, a corrupt
header), each read by both, in blocks of awkward sizes, and compared member by member (name,
type, size, link name and the bytes of regular members). A cut archive gives what ``tarfile``
gives up to the cut, then says where it was cut.
"""
from __future__ import annotations

import gzip
import io
import re
import tarfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analyzer.tarstream import BlockSource, StreamEnded, TarHeaderError, _pax_records, members
from tests.conftest import FIXTURES


def chunked(data: bytes, sizes: list[int]):
    """``data`` in blocks of the given sizes, cycled (a decompressor hands over odd sizes)."""
    at, i = 0, 0
    while at < len(data):
        size = sizes[i % len(sizes)]
        yield data[at : at + size]
        at, i = at + size, i + 1


def ours(data: bytes, sizes: list[int] = (4096,)) -> list[tuple]:
    source = BlockSource(chunked(data, list(sizes)))
    return [_row(m.name, m.type, m.size, m.linkname, source.take(m.size) if m.isreg() else None) for m in members(source)]


def reference(data: bytes) -> list[tuple]:
    rows = []
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
        for info in tar:
            body = tar.extractfile(info).read() if info.isreg() else None
            rows.append(_row(info.name, ord(info.type), info.size, info.linkname, body))
    return rows


def _row(name, kind, size, linkname, body) -> tuple:
    return (name, kind, size if body is not None else None, linkname, body)


NAME_PARTS = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="/\x00"), min_size=1, max_size=40)
NAMES = st.lists(NAME_PARTS, min_size=1, max_size=9).map("/".join).filter(lambda n: n not in (".", ".."))
TYPES = st.sampled_from([tarfile.REGTYPE] * 4 + [tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.FIFOTYPE, tarfile.CHRTYPE])
MEMBERS = st.lists(st.tuples(NAMES, TYPES, st.binary(max_size=1500), NAMES), min_size=1, max_size=12)


def build(entries, fmt: int, pax_global: dict | None = None) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=fmt, pax_headers=pax_global) as tar:
        for name, kind, body, link in entries:
            info = tarfile.TarInfo(name)
            info.type = kind
            if kind == tarfile.REGTYPE:
                info.size = len(body)
            elif kind in (tarfile.SYMTYPE, tarfile.LNKTYPE):
                info.linkname = link
            tar.addfile(info, io.BytesIO(body) if kind == tarfile.REGTYPE else None)
    return raw.getvalue()


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(MEMBERS, st.sampled_from([tarfile.GNU_FORMAT, tarfile.PAX_FORMAT, tarfile.USTAR_FORMAT]),
       st.lists(st.integers(1, 3000), min_size=1, max_size=5), st.booleans())
def test_every_format_reads_as_tarfile_reads_it(entries, fmt, sizes, with_global):
    try:
        data = build(entries, fmt, {"comment": "podmortem test"} if with_global and fmt == tarfile.PAX_FORMAT else None)
    except (ValueError, UnicodeError):  # USTAR cannot hold this name, or a link name that is too long
        return
    assert ours(data, sizes) == reference(data)


def test_the_real_bundles_read_as_tarfile_reads_them():
    for bundle in sorted(FIXTURES.glob("*/*.tar.gz")):
        data = gzip.decompress(bundle.read_bytes())
        expected = reference(data)
        assert len(expected) > 20
        assert ours(data, [1, 511, 513, 65536]) == expected, bundle.name


def test_a_cut_archive_gives_every_member_before_the_cut():
    entries = [(f"b/sys/fs/cgroup/memory/kubepods/pod{i}/" + "x" * 90 + "/memory.stat", tarfile.REGTYPE, b"rss %d\n" % i * 50, "")
               for i in range(6)]
    data = build(entries, tarfile.GNU_FORMAT)
    full = reference(data)
    for cut in range(0, len(data), 97):
        source = BlockSource(chunked(data[:cut], [300]))
        got = []
        with pytest.raises(StreamEnded) if cut <= _end_of_last_member(data) else _nothing():
            for member in members(source):
                got.append(_row(member.name, member.type, member.size, member.linkname, source.take(member.size)))
        assert got == full[: len(got)], f"cut at {cut}"


def _end_of_last_member(data: bytes) -> int:
    """Where the end-of-archive blocks start: a cut inside them loses no member, a cut there may have
    (nothing says whether more members followed)."""
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        last = tar.getmembers()[-1]
        return last.offset_data + -(-last.size // 512) * 512


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_a_cut_member_hands_over_the_bytes_that_came():
    body = b"".join(b"line %d\n" % i for i in range(400))
    data = build([("b/commands/dmesg.txt", tarfile.REGTYPE, body, "")], tarfile.GNU_FORMAT)
    source = BlockSource(chunked(data[: 512 + 700], [256]))  # the header and 700 bytes of the member
    member = next(members(source))
    with pytest.raises(StreamEnded) as cut:
        source.take(member.size)
    assert member.name == "b/commands/dmesg.txt" and cut.value.partial == body[:700]


def test_a_decompression_error_keeps_its_cause_and_the_bytes_before_it():
    def blocks():
        yield b"a" * 100
        raise EOFError("Compressed file ended before the end-of-stream marker was reached")

    source = BlockSource(blocks())
    with pytest.raises(StreamEnded) as ended:
        source.take(150)
    assert ended.value.partial == b"a" * 100 and isinstance(ended.value.__cause__, EOFError)


def test_a_corrupt_header_is_an_error_not_an_end():
    data = bytearray(build([("b/a.txt", tarfile.REGTYPE, b"x" * 10, ""), ("b/b.txt", tarfile.REGTYPE, b"y", "")], tarfile.GNU_FORMAT))
    data[1024:1034] = b"\xff" * 10  # the second header
    source = BlockSource(iter([bytes(data)]))
    names = []
    with pytest.raises(TarHeaderError, match="checksum"):
        for member in members(source):
            names.append(member.name)
    assert names == ["b/a.txt"]


def test_signed_checksum_and_base256_size_are_read_as_tarfile_reads_them():
    info = tarfile.TarInfo("b/caf\u00e9-\u00e9t\u00e9.txt")
    info.size = 5
    block = bytearray(info.tobuf(tarfile.GNU_FORMAT, encoding="latin-1"))  # bytes >= 128 in the name
    block[124:136] = b"\x80" + (5).to_bytes(11, "big")  # the size in GNU base-256
    signed = sum(b if b < 128 else b - 256 for i, b in enumerate(block) if not 148 <= i < 156) + 256
    assert signed != sum(block[:148]) + sum(block[156:]) + 256  # the test means something: the two sums differ
    block[148:156] = b"%06o\x00 " % signed
    data = bytes(block) + b"hello" + bytes(507) + bytes(1024)
    assert ours(data) == reference(data) == [("b/caf\udce9-\udce9t\udce9.txt", ord("0"), 5, "", b"hello")]


def test_old_gnu_sparse_member_is_marked_and_skipped_with_its_extension_blocks():
    def header(name: str, kind: bytes, size: int, extended: bool) -> bytes:
        info = tarfile.TarInfo(name)
        info.size = size
        info.type = kind
        block = bytearray(info.tobuf(tarfile.GNU_FORMAT))
        block[482] = 1 if extended else 0
        block[148:156] = b" " * 8
        block[148:156] = b"%06o\x00 " % sum(block)
        return bytes(block)

    extension = bytearray(512)  # one extension block, not extended further
    data = (header("b/sparse.img", tarfile.GNUTYPE_SPARSE, 512, True) + bytes(extension) + b"s" * 512
            + header("b/after.txt", tarfile.REGTYPE, 3, False) + b"abc" + bytes(509) + bytes(1024))
    source = BlockSource(iter([data]))
    seen = [(m.name, m.sparse, source.take(m.size) if m.isreg() else None) for m in members(source)]
    assert seen == [("b/sparse.img", True, None), ("b/after.txt", False, b"abc")]


def test_a_huge_long_name_header_is_refused_not_read():
    info = tarfile.TarInfo("././@LongLink")
    info.type = tarfile.GNUTYPE_LONGNAME
    info.size = 10 * 1024**3  # claims 10 GiB of name
    source = BlockSource(iter([info.tobuf(tarfile.GNU_FORMAT)]))
    with pytest.raises(TarHeaderError, match="bytes"):
        list(members(source))


def test_data_after_the_end_marker_is_seen():
    data = build([("b/a.txt", tarfile.REGTYPE, b"x", "")], tarfile.GNU_FORMAT)
    source = BlockSource(iter([data + b"garbage"]))
    assert [m.name for m in members(source)] == ["b/a.txt"]
    assert not source.rest_is_zeros(1 << 20)
    clean = BlockSource(iter([data]))
    list(members(clean))
    assert clean.rest_is_zeros(1 << 20)


def test_a_file_record_is_the_model_pydantic_constructs():
    """bundle.file_record sets a BundleFile's state directly (a quarter of a member's intake time saved):
    it must be exactly what pydantic's own model_construct builds, for every use the report makes of it."""
    from analyzer.bundle import BUNDLE_FILE_FIELDS, file_record
    from analyzer.models.report import BundleFile

    ours_ = file_record("b/proc/meminfo", "proc_meminfo", 1475, "parsed", None)
    theirs = BundleFile.model_construct(BUNDLE_FILE_FIELDS, path="b/proc/meminfo", kind="proc_meminfo", size_bytes=1475, status="parsed", note=None)
    assert ours_ == theirs and ours_.model_dump() == theirs.model_dump() and ours_.model_dump_json() == theirs.model_dump_json()
    assert ours_.model_fields_set == theirs.model_fields_set and ours_.__pydantic_extra__ is theirs.__pydantic_extra__
    assert BundleFile.model_validate(ours_.model_dump()) == ours_
    ours_.status, ours_.note = "partial", "read in part"  # the pipeline sets these after parsing
    assert ours_.model_dump()["status"] == "partial" and repr(ours_).startswith("BundleFile(path='b/proc/meminfo'")


RE_TARFILE_PAX_RECORD = re.compile(rb"(\d+) ([^=]+)=")  # tarfile's _proc_pax pattern (CPython 3.11)


def _pax_records_by_tarfiles_pattern(data: bytes) -> dict[str, str]:
    records, at = {}, 0
    while True:
        match = RE_TARFILE_PAX_RECORD.match(data, at)
        if match is None:
            return records
        length = int(match.group(1))
        if length == 0:
            raise TarHeaderError("invalid header (a PAX record of length 0)")
        value = data[match.end(2) + 1 : match.start(1) + length - 1]
        records[match.group(2).decode("utf-8", "surrogateescape")] = value.decode("utf-8", "surrogateescape")
        at += length


def _outcome(read, data: bytes):
    try:
        return read(data)
    except TarHeaderError as err:
        return str(err)


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.tuples(st.integers(-3, 40), st.binary(max_size=6), st.binary(max_size=8)), max_size=4), st.binary(max_size=24))
def test_pax_records_are_read_as_tarfiles_pattern_reads_them(records, noise):
    """tarstream reads PAX records with find (the decompressor child then needs no ``re``): the same
    records, the same stop and the same error as tarfile's pattern, on well-formed records with wrong
    lengths and on noise."""
    data = b"".join(b"%d %s=%s\n" % (len(key) + len(value) + 4 + extra, key, value) for extra, key, value in records)
    for candidate in (data, noise, data + noise, noise + data):
        assert _outcome(_pax_records, candidate) == _outcome(_pax_records_by_tarfiles_pattern, candidate)
