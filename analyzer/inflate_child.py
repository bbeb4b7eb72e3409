"""The decompressor child of analyzer/decompress.py (``ChildBlocks``): ``python -I -S inflate_child.py
BUNDLE [PATH ...]`` writes the decompressed bytes of BUNDLE (gzip, xz or bz2, by its magic) to stdout.

It imports nothing of podmortem and as little as it can (sys, os, the decompressor): it starts in a
few milliseconds and holds about 10 MB, most of it the interpreter's pages it shares with the
analyzer. gzip goes through ISA-L (python-isal's ``isal_zlib``) when the PATH arguments lead to it
(the analyzer's own sys.path entries), else the standard zlib; concatenated members and zero padding after the last
one are read as gzip(1) reads them. Its loops (``decompressed_blocks``) are also the ones
analyzer/decompress.py runs in a thread where no child can be started.

At a fault, every byte decompressed before it has been written; then ``<kind>\\t<message>`` goes
to stderr and the exit status is 3 (kind: EOFError, zlib.error, LZMAError, OSError), and the
reader raises that error after the last block, as a thread would have.
"""
import os
import sys

READ = 256 * 1024  # compressed bytes a read
PIECE = 256 * 1024  # decompressed bytes a write: the child holds about one piece
GZIP_WBITS = 31  # gzip header and trailer (CRC32, size) checked by zlib itself


def gzip_blocks(raw, zlib, size: int = PIECE):
    """Decompressed blocks of at most ``size`` bytes of a gzip file (several concatenated members too, as
    gzip(1) reads them), inflated with ``zlib`` (the standard module or isal_zlib). A truncated file
    raises EOFError after every block before the cut.

    >>> import gzip as g, io, zlib
    >>> b"".join(gzip_blocks(io.BytesIO(g.compress(b"a" * 10) + g.compress(b"b" * 5)), zlib))
    b'aaaaaaaaaabbbbb'
    """
    inflater, started, data = zlib.decompressobj(GZIP_WBITS), False, b""
    while True:
        if not data:
            data = inflater.unconsumed_tail or raw.read(READ)
        if not data:
            if started and not inflater.eof:
                raise EOFError("Compressed file ended before the end-of-stream marker was reached")
            return
        started = True
        block = inflater.decompress(data, size)
        data = b""
        if block:
            yield block
        if inflater.eof:
            rest = inflater.unused_data
            if not rest.strip(b"\0"):  # the end, or the zero padding some tools write after the last member
                rest = rest or raw.read(READ)
                if not rest.strip(b"\0"):
                    return
            inflater, started, data = zlib.decompressobj(GZIP_WBITS), False, rest


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


def _write(data) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(1, view):]


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


def main(path: str) -> int:
    try:
        with open(path, "rb") as file:
            magic = file.read(6)
            file.seek(0)
            for block in decompressed_blocks(file, magic, _fast_zlib() if magic[:2] == b"\x1f\x8b" else None):
                _write(block)
    except BrokenPipeError:  # the reader stopped reading (a cap, a fault of its own): nothing to say
        return 0
    except Exception as err:  # EOFError, zlib.error, LZMAError, OSError...: the reader raises it after the blocks
        sys.stderr.write(f"{_kind(err)}\t{err}")
        return 3
    return 0


if __name__ == "__main__":
    sys.path[:0] = sys.argv[2:]
    sys.exit(main(sys.argv[1]))
