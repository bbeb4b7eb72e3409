"""Compressed bundles are decompressed by a child process (analyzer/inflate_child.py) and read
through a pipe: the same bytes as decompressing in this process, the same error at the same place
(every byte before a cut first), a thread where no child can start, and no child left behind.
"""
from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import time
import zlib

import pytest

from analyzer import decompress, inflate_child
from analyzer.decompress import ChildBlocks, Prefetch, open_blocks, source_blocks, start_early

PAYLOAD = b"".join(b"[%8d.000000] line %d of a kernel log\n" % (i, i) for i in range(60_000))  # 2.6 MB
PACKERS = {"gz": gzip.compress, "xz": lzma.compress, "bz2": bz2.compress}


def blocks_and_error(blocks) -> tuple[bytes, BaseException | None]:
    data, error = [], None
    try:
        for block in blocks:
            data.append(block)
    except (EOFError, zlib.error, lzma.LZMAError, OSError) as err:
        error = err
    return b"".join(data), error


@pytest.mark.parametrize("kind", sorted(PACKERS))
def test_the_child_gives_the_bytes_this_process_gives(tmp_path, kind):
    path = tmp_path / f"bundle.tar.{kind}"
    path.write_bytes(PACKERS[kind](PAYLOAD))
    with open_blocks(path, path.read_bytes()[:6]) as blocks:
        assert isinstance(blocks, ChildBlocks)
        assert blocks_and_error(blocks) == (PAYLOAD, None)


@pytest.mark.parametrize("kind", sorted(PACKERS))
def test_a_cut_file_gives_every_byte_before_the_cut_then_the_same_error(tmp_path, kind):
    packed = PACKERS[kind](PAYLOAD)
    path = tmp_path / f"cut.{kind}"
    path.write_bytes(packed[: len(packed) * 2 // 3])
    in_process = blocks_and_error(source_blocks(path, packed[:6]))
    with ChildBlocks(path) as blocks:
        from_child = blocks_and_error(blocks)
    assert from_child[0] == in_process[0] and len(from_child[0]) > len(PAYLOAD) // 3
    assert PAYLOAD.startswith(from_child[0])
    assert type(from_child[1]) is type(in_process[1]) and str(from_child[1]) == str(in_process[1])


@pytest.mark.parametrize("size", [1000, 1003, 4096, 65536, 262144])
@pytest.mark.parametrize("inflate", ["zlib", "isal"])
def test_a_cut_gzip_gives_every_byte_inflate_can_give_whatever_the_block_size(inflate, size):
    """A block that stops at the block size can leave output in the inflater when the input is all
    read (ISA-L keeps some at a cut): it is taken before the EOFError, so a cut bundle loses nothing
    the inflater could give (found by a fuzz run: the child, 256 KB blocks, lost 603 bytes of a cut
    journal that the thread, 1 MB blocks, kept)."""
    module = pytest.importorskip("isal.isal_zlib") if inflate == "isal" else zlib
    payload = b"".join(b"[%8d.000000] line %d %s\n" % (i, i, bytes([65 + i % 26]) * (i % 40)) for i in range(30_000))
    packed = gzip.compress(payload)
    for cut in (len(packed) // 3, len(packed) * 2 // 3, len(packed) - 9):
        expected = module.decompressobj(31).decompress(packed[:cut])
        data, error = blocks_and_error(inflate_child.gzip_blocks(io.BytesIO(packed[:cut]), module, size))
        assert data == expected and isinstance(error, EOFError)
    assert b"".join(inflate_child.gzip_blocks(io.BytesIO(packed), module, size)) == payload


def test_corrupt_gzip_data_is_a_zlib_error_after_the_good_blocks(tmp_path):
    packed = bytearray(gzip.compress(PAYLOAD, compresslevel=1))
    packed[len(packed) // 2 : len(packed) // 2 + 64] = os.urandom(64)
    path = tmp_path / "corrupt.gz"
    path.write_bytes(bytes(packed))
    with ChildBlocks(path) as blocks:
        data, error = blocks_and_error(blocks)
    assert isinstance(error, zlib.error) and PAYLOAD.startswith(data[:1000])


def test_a_thread_decompresses_where_no_child_can_start(tmp_path, monkeypatch):
    path = tmp_path / "b.gz"
    path.write_bytes(gzip.compress(PAYLOAD))

    def no_process(*args, **kwargs):
        raise OSError("no process left")

    monkeypatch.setattr(decompress.subprocess, "Popen", no_process)
    blocks = open_blocks(path, b"\x1f\x8b")
    try:
        assert isinstance(blocks, Prefetch) and blocks_and_error(blocks) == (PAYLOAD, None)
    finally:
        blocks.close()


def test_an_early_start_is_read_by_the_same_bundle_only(tmp_path):
    first, second = tmp_path / "a.gz", tmp_path / "b.gz"
    first.write_bytes(gzip.compress(b"first"))
    second.write_bytes(gzip.compress(b"second"))
    start_early(first)
    early = next(iter(decompress._EARLY.values()))
    with open_blocks(second, b"\x1f\x8b") as other:
        assert other is not early and b"".join(other) == b"second"
    with open_blocks(first, b"\x1f\x8b") as blocks:
        assert blocks is early and b"".join(blocks) == b"first"
    assert not decompress._EARLY


def test_closing_stops_a_child_that_has_more_to_write(tmp_path):
    """A reader that stops early (a member cap, a fault of its own) does not wait for a bomb to inflate."""
    path = tmp_path / "bomb.gz"
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    with path.open("wb") as out:
        for _ in range(256):  # 1 GiB of zeros, 1 MB on disk
            out.write(packer.compress(bytes(4 * 1024**2)))
        out.write(packer.flush())
    began = time.monotonic()
    blocks = ChildBlocks(path)
    assert len(next(blocks)) > 0
    blocks.close()
    assert blocks.proc.returncode is not None and time.monotonic() - began < 5  # killed, reaped: no zombie left
