"""The decompressor child of analyzer/decompress.py (``ChildBlocks``): ``python -I -S inflate_child.py
BUNDLE [PATH ...]`` writes the decompressed bytes of BUNDLE (gzip, xz or bz2, by its magic) to stdout,
in frames, with the records of a tar archive's headers between them.

It imports nothing of podmortem but analyzer/tarstream.py, and as little as it can (sys, os, marshal,
the decompressor): it starts in a few milliseconds and holds about 10 MB, most of it the interpreter's
pages it shares with the analyzer. gzip goes through ISA-L (python-isal's ``isal_zlib``) and the
headers are read with analyzer/tarstream.py when the PATH arguments lead to them (the analyzer's own
sys.path entries), else with the standard zlib and not at all; concatenated members and zero padding
after the last one are read as gzip(1) reads them. Its loops (``decompressed_blocks``) are also the
ones analyzer/decompress.py runs in a thread where no child can be started.

Frames: one kind byte, the payload's length (4 bytes, little-endian), the payload.

- ``D``: decompressed bytes, every byte once and in order;
- ``M``: a marshal'd list of header records (``tarstream.header_records``) of members whose headers
  lie in the bytes of the ``D`` frames before it and of the next one: the records always come before
  the data the reader needs them for;
- ``S``: no more records; the reader reads any headers after the last record itself (the end of
  the archive, anything ``header_records`` stops at, or a decompressed stream that is no ustar tar).

At a fault, every byte decompressed before it has been written; then ``<kind>\\t<message>`` goes
to stderr and the exit status is 3 (kind: EOFError, zlib.error, LZMAError, OSError), and the
reader raises that error after the last block, as a thread would have.
"""
import marshal
import os
import sys

READ = 256 * 1024  # compressed bytes a read
PIECE = 256 * 1024  # decompressed bytes a write: the child holds about one piece
GZIP_WBITS = 31  # gzip header and trailer (CRC32, size) checked by zlib itself


def gzip_blocks(raw, zlib, size: int = PIECE):
    """Decompressed blocks of at most ``size`` bytes of a gzip file (several concatenated members too, as
    gzip(1) reads them), inflated with ``zlib`` (the standard module or isal_zlib). A truncated file
    raises EOFError after every byte before the cut: a block that stops at ``size`` may leave output
    in the inflater when the input is all read, and it is asked for that first.

    >>> import gzip as g, io, zlib
    >>> b"".join(gzip_blocks(io.BytesIO(g.compress(b"a" * 10) + g.compress(b"b" * 5)), zlib))
    b'aaaaaaaaaabbbbb'
    """
    inflater, started, data, full = zlib.decompressobj(GZIP_WBITS), False, b"", False
    while True:
        if not data:
            data = inflater.unconsumed_tail
        if not data and not full:  # after a block cut at ``size``, output may be left in the inflater: no read
            data = raw.read(READ)
            if not data:
                if started and not inflater.eof:
                    raise EOFError("Compressed file ended before the end-of-stream marker was reached")
                return
        started = True
        block = inflater.decompress(data, size)
        data, full = b"", len(block) == size
        if block:
            yield block
        if inflater.eof:
            rest = inflater.unused_data
            if not rest.strip(b"\0"):  # the end, or the zero padding some tools write after the last member
                rest = rest or raw.read(READ)
                if not rest.strip(b"\0"):
                    return
            inflater, started, data, full = zlib.decompressobj(GZIP_WBITS), False, rest, False


def file_blocks(stream, size: int = PIECE):
    """Blocks of an already decompressing file object (lzma, bz2), one decompression step each:
    ``read(n)`` of a truncated .xz raises and drops all it had decompressed for that call, ``read1``
    has handed every earlier step over before the step that meets the end raises."""
    read = getattr(stream, "read1", stream.read)
    while True:
        block = read(size)
        if not block:
            return
        yield block


DATA, RECORDS, NO_MORE_RECORDS = b"D", b"M", b"S"


def _write(data) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(1, view):]


def write_frame(kind: bytes, payload=b"") -> None:
    _write(kind + len(payload).to_bytes(4, "little"))
    if payload:
        _write(payload)


class Forwarder:
    """The decompressed blocks, handed to a header reader (iterate it) and written as ``D`` frames
    once it has moved past them, each after the records of the headers read in it (``records``).
    ``finish()`` writes what is left: the records, ``S``, then every block not yet written."""

    def __init__(self, blocks) -> None:
        self.blocks = iter(blocks)
        self.held = None  # the block the header reader is in: written when it asks for the next
        self.records: list = []
        self.error: BaseException | None = None  # the decompressor's, raised after the last block

    def __iter__(self):
        while True:
            try:
                block = next(self.blocks)
            except StopIteration:
                return
            except Exception as err:  # the decompressor's: kept, so that finish() raises it after the last block
                self.error = err
                raise
            self._flush()
            self.held = block
            yield block

    def _send_records(self) -> None:
        if self.records:
            write_frame(RECORDS, marshal.dumps(self.records))
            self.records.clear()  # in place: the header reader appends to this list

    def _flush(self) -> None:
        self._send_records()
        if self.held is not None:
            write_frame(DATA, self.held)
            self.held = None

    def finish(self) -> None:
        self._send_records()
        write_frame(NO_MORE_RECORDS)
        self._flush()
        if self.error is not None:
            raise self.error
        for block in self.blocks:
            write_frame(DATA, block)


def read_headers(forward: Forwarder, tarstream) -> None:
    """Records of the headers of the decompressed stream, if it is a ustar tar, into ``forward``;
    where the reading stops (anything ``header_records`` raises) the reader reads on itself."""
    source = tarstream.BlockSource(iter(forward))
    try:
        head = source.read(tarstream.BLOCK)
        if not tarstream.is_tar_header(head):
            return
        source.unread(head)
        tarstream.header_records(source, forward.records.append)
    except Exception:  # a bad header, a cut stream, the decompressor's error (kept by forward), a closed pipe
        return


def _kind(err: BaseException) -> str:
    name = type(err).__name__
    if name in ("error", "IsalError"):  # zlib's error class, and isal_zlib's (igzip_lib.IsalError)
        return "zlib.error"
    return name if name in ("EOFError", "LZMAError") else "OSError"


def decompressed_blocks(file, magic: bytes, zlib, size: int = PIECE):
    """Blocks of the open compressed ``file`` by its first bytes ``magic``: gzip (inflated with ``zlib``),
    xz, else bzip2. The child runs it, and analyzer/decompress.py where no child can start."""
    if magic[:2] == b"\x1f\x8b":
        return gzip_blocks(file, zlib, size)
    if magic[:6] == b"\xfd7zXZ\x00":
        import lzma

        return file_blocks(lzma.open(file), size)
    import bz2

    return file_blocks(bz2.open(file), size)


def _fast_zlib():
    """isal_zlib where the PATH arguments lead to it, else the standard zlib."""
    try:
        from isal import isal_zlib

        return isal_zlib
    except ImportError:
        import zlib

        return zlib


def _tarstream():
    """analyzer/tarstream.py where the PATH arguments lead to it, else None (no records: the reader reads
    every header itself)."""
    try:
        from analyzer import tarstream

        return tarstream
    except ImportError:
        return None


def main(path: str) -> int:
    try:
        with open(path, "rb") as file:
            magic = file.read(6)
            file.seek(0)
            forward = Forwarder(decompressed_blocks(file, magic, _fast_zlib() if magic[:2] == b"\x1f\x8b" else None))
            tarstream = _tarstream()
            if tarstream is not None:
                read_headers(forward, tarstream)
            forward.finish()
    except BrokenPipeError:  # the reader stopped reading (a cap, a fault of its own): nothing to say
        return 0
    except Exception as err:  # EOFError, zlib.error, LZMAError, OSError...: the reader raises it after the blocks
        sys.stderr.write(f"{_kind(err)}\t{err}")
        return 3
    return 0


if __name__ == "__main__":
    sys.path[:0] = sys.argv[2:]
    sys.exit(main(sys.argv[1]))
