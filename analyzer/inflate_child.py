"""The decompressor child of analyzer/decompress.py (``ChildBlocks``): ``python -I -S inflate_child.py
BUNDLE [PATH ...]`` writes the decompressed bytes of BUNDLE (gzip, xz or bz2, by its magic) to stdout.

It imports nothing of podmortem and as little as it can (sys, os, the decompressor): it starts in a
few milliseconds and holds about 10 MB, most of it the interpreter's pages it shares with the
analyzer. gzip goes through zlib-ng when the PATH arguments lead to it (the analyzer's own
sys.path entries), else the standard zlib; concatenated members and zero padding after the last
one are read as gzip(1) reads them (analyzer.decompress.gzip_blocks does the same in a thread).

At a fault, every byte decompressed before it has been written; then ``<kind>\\t<message>`` goes
to stderr and the exit status is 3 (kind: EOFError, zlib.error, LZMAError, OSError), and the
reader raises that error after the last block, as a thread would have.
"""
import os
import sys

READ = 256 * 1024  # compressed bytes a read
PIECE = 256 * 1024  # decompressed bytes a write: the child holds about one piece


def _write(data) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(1, view):]


def _gzip(file, zlib) -> None:
    inflater, started, data = zlib.decompressobj(31), False, b""
    while True:
        if not data:
            data = inflater.unconsumed_tail or file.read(READ)
        if not data:
            if started and not inflater.eof:
                raise EOFError("Compressed file ended before the end-of-stream marker was reached")
            return
        started = True
        _write(inflater.decompress(data, PIECE))
        data = b""
        if inflater.eof:
            rest = inflater.unused_data
            if not rest.strip(b"\0"):  # the end, or the zero padding some tools write after the last member
                rest = rest or file.read(READ)
                if not rest.strip(b"\0"):
                    return
            inflater, started, data = zlib.decompressobj(31), False, rest


def _stream(opened) -> None:
    read = getattr(opened, "read1", opened.read)  # one decompression step a call: a cut .xz keeps all before it
    while True:
        piece = read(PIECE)
        if not piece:
            return
        _write(piece)


def _kind(err: BaseException) -> str:
    name = type(err).__name__
    if name == "error":  # zlib's and zlib-ng's own error class
        return "zlib.error"
    return name if name in ("EOFError", "LZMAError") else "OSError"


def main(path: str) -> int:
    try:
        with open(path, "rb") as file:
            magic = file.read(6)
            file.seek(0)
            if magic[:2] == b"\x1f\x8b":
                try:
                    from zlib_ng import zlib_ng as zlib
                except ImportError:
                    import zlib
                _gzip(file, zlib)
            elif magic == b"\xfd7zXZ\x00":
                import lzma

                with lzma.open(file) as opened:
                    _stream(opened)
            else:
                import bz2

                with bz2.open(file) as opened:
                    _stream(opened)
    except BrokenPipeError:  # the reader stopped reading (a cap, a fault of its own): nothing to say
        return 0
    except Exception as err:  # EOFError, zlib.error, LZMAError, OSError...: the reader raises it after the blocks
        sys.stderr.write(f"{_kind(err)}\t{err}")
        return 3
    return 0


if __name__ == "__main__":
    sys.path[:0] = sys.argv[2:]
    sys.exit(main(sys.argv[1]))
