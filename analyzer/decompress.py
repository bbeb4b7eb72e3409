"""Open a compressed bundle for one sequential read, decompressed ahead of the reader.

A 1 GiB gzipped journal costs a second or more of inflate; the line prefilter costs about as much.
The inflate runs beside the reader, in a child process (``ChildBlocks``: analyzer/inflate_child.py
writes the decompressed bytes to a pipe), so the wall time is near the larger of the two, not their
sum, as in the ``tar -xzOf | grep`` pipeline a user compares with. A thread would not do: inflate
releases the GIL, but the thread needs it back after each call, while the reader holds it in long C
calls (measured in benchmarks/RESULTS.md). Where no child can be started, a thread does it
(``Prefetch``). gzip is inflated with ISA-L (python-isal's ``isal_zlib``, zlib's interface over
Intel's igzip: 1.3 times zlib-ng's speed and 2.4 times zlib's on a bundle, benchmarks/RESULTS.md)
when installed, else the standard library's zlib. Of a tar archive the child also reads the member
headers, on that core too, and sends their records ahead of the bytes (analyzer/tarstream.py,
``header_records`` there and ``handed_members`` here): the reader skips the headers it was told of.

Errors keep their place in the stream: every block decompressed before a fault (a truncated
gzip, a corrupt block, a bad CRC) is delivered first, then the error is raised to the reader,
so a cut bundle still yields everything before the cut. gzip is inflated with a ``decompressobj``
rather than through ``gzip.open``: its ``read`` keeps what it decompressed in the call that meets
the end of a truncated file, while
``decompressobj`` hands over every byte it produced.
"""
from __future__ import annotations

import bz2
import io
import lzma
import marshal
import queue
import subprocess
import sys
import threading
import zlib
from collections import deque
from collections.abc import Iterator
from pathlib import Path

from analyzer import inflate_child

try:  # optional speed-up: python-isal (a pyproject dependency; the standard library does the same, slower)
    from isal import isal_zlib as fast_zlib
except ImportError:  # pragma: no cover - exercised where isal has no wheel
    fast_zlib = zlib

BLOCK = 1024 * 1024  # decompressed bytes per block handed to the reader
AHEAD = 4  # blocks decompressed ahead at most: memory stays at a few MiB whatever the archive


def opener_for(magic: bytes):
    """The function that opens a compressed file of this magic for a plain read, or None if not compressed.

    >>> opener_for(bytes([0x1F, 0x8B, 8])) is not None, opener_for(b"plain text")
    (True, None)
    """
    if magic[:2] == b"\x1f\x8b":
        import gzip

        return gzip.open
    if magic[:6] == b"\xfd7zXZ\x00":
        return lzma.open
    if magic[:3] == b"BZh":
        return bz2.open
    return None


class _Blocks:
    """An iterator of blocks that holds a resource (a thread, a child process): ``close()`` frees it,
    and ``with`` closes it."""

    def __iter__(self):
        return self

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Prefetch(_Blocks):
    """The blocks of ``blocks``, taken in a background thread at most AHEAD blocks ahead; an error of the
    source is raised in the reader's thread after the blocks before it. ``close()`` stops the thread.

    >>> blocks = Prefetch(iter([b"abc"] * 1000))
    >>> sum(len(block) for block in blocks)
    3000
    >>> blocks.close()
    """

    def __init__(self, blocks: Iterator[bytes]) -> None:
        self.source = blocks
        self.blocks: queue.Queue = queue.Queue(maxsize=AHEAD)
        self.finished = False
        self.stopping = threading.Event()
        self.worker = threading.Thread(target=self._fill, name="podmortem-decompress", daemon=True)
        self.worker.start()

    def _fill(self) -> None:
        try:
            for block in self.source:
                if self.stopping.is_set():
                    return
                self._put(block)
        except BaseException as err:  # delivered to the reader after the blocks before it
            self._put(err)
            return
        self._put(None)

    def _put(self, item) -> None:
        while not self.stopping.is_set():
            try:
                self.blocks.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def __next__(self) -> bytes:
        if self.finished:
            raise StopIteration
        item = self.blocks.get()
        if item is None:
            self.finished = True
            raise StopIteration
        if isinstance(item, BaseException):
            self.finished = True
            raise item
        return item

    def close(self) -> None:
        self.stopping.set()
        self.worker.join(timeout=5)


def plain_blocks(stream: io.IOBase) -> Iterator[bytes]:
    """An uncompressed file's bytes in blocks of BLOCK (no thread: reading a file costs little)."""
    while True:
        block = stream.read(BLOCK)
        if not block:
            return
        yield block


def source_blocks(path: Path, magic: bytes) -> Iterator[bytes]:
    """The decompressed blocks of ``path`` in this process, as the child process makes them
    (inflate_child.decompressed_blocks), isal_zlib's own error class turned into the standard one
    that callers catch.

    >>> import gzip as g, tempfile
    >>> path = Path(tempfile.mkdtemp()) / "cut.gz"; _ = path.write_bytes(g.compress(b"x" * 100000)[:-12])
    >>> list(source_blocks(path, path.read_bytes()[:6]))
    Traceback (most recent call last):
    EOFError: Compressed file ended before the end-of-stream marker was reached
    """
    with path.open("rb") as raw:
        try:
            yield from inflate_child.decompressed_blocks(raw, magic, fast_zlib, BLOCK)
        except fast_zlib.error as err:
            raise zlib.error(str(err)) from None


def open_blocks(path: Path, magic: bytes) -> ChildBlocks | Prefetch:
    """``path`` decompressed (per its magic) in blocks, ahead of the reader: by a child process
    (``ChildBlocks``; the one ``start_early`` started, if it did), or by a thread of this process
    where no child can be started. The caller closes it."""
    if opener_for(magic) is None:
        raise ValueError(f"{path.name} is not compressed")
    early = _EARLY.pop(_key(path), None)
    if early is not None:
        return early
    try:
        return ChildBlocks(path)
    except OSError:  # no interpreter to start (an embedded Python), no process left: a thread does it
        return Prefetch(source_blocks(path, magic))


_EARLY: dict[tuple, ChildBlocks] = {}


def _key(path: Path) -> tuple:
    """The file itself (device, inode, size, mtime): the early child is only for the same bundle."""
    info = Path(path).stat()
    return info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns


def start_early(path: Path) -> None:
    """Start decompressing a compressed bundle now, while the analyzer loads its modules (the command
    line calls this first: the child's start and first block, 10 ms, are then not waited for). The
    blocks wait in the pipe for ``open_blocks`` of the same file; anything odd (not a regular file, not
    compressed, unreadable) is left for the reader to find and say."""
    try:
        path = Path(path)
        if not path.is_file():
            return
        with path.open("rb") as probe:
            magic = probe.read(6)
        if opener_for(magic) is not None:
            for unused in _EARLY.values():  # a bundle started early but never read (one analysis at a time)
                unused.close()
            _EARLY.clear()
            _EARLY[_key(path)] = ChildBlocks(path)
    except OSError:
        return


# --- a child process that decompresses ------------------------------------------------------
#
# Inflate releases the GIL, but a thread that inflates needs the GIL back after every call (to
# return, to read the next compressed piece, to hand the block over), and the reader holds it in
# long C calls (the line filter's searches): on the 500-pod benchmark the reader waited 0.95 s of
# 3.4 s for blocks that the thread had decompressed in 1.0 s of its own time, because the two took
# turns. A child process shares no GIL: it inflates on the other core while the reader reads, as
# gzip does beside tar in `tar -xzOf | grep`, and the reader gets the blocks through a pipe.

CHILD = Path(inflate_child.__file__)
CHILD_ERRORS = {"EOFError": EOFError, "zlib.error": zlib.error, "LZMAError": lzma.LZMAError, "OSError": OSError}
MAX_READ_AHEAD = 8  # data frames held while looking for records (the child sends records first: none, normally)
FRAME_HEAD_READ = 64 * 1024  # the pipe reader's buffer: frame heads and records; a data frame (256 KB) is read past it, straight into its block
PIPE_BYTES = BLOCK  # the pipe holds a block ahead (Linux F_SETPIPE_SZ), so the child rarely waits for the reader


def child_argv(path: Path) -> list[str]:
    """The command line of the decompressor child of ``path``: ``-I -S`` (no site, no environment, no
    current folder: it starts in a few ms) and the folders of what it imports, analyzer/tarstream.py
    to read a tar's headers and isal where installed."""
    paths = [str(CHILD.parent.parent)]
    if fast_zlib is not zlib:
        paths.append(str(Path(fast_zlib.__file__).parent.parent))
    return [sys.executable, "-I", "-S", str(CHILD), str(path), *paths]


class ChildBlocks(_Blocks):
    """Blocks of a compressed file, decompressed by a child process (analyzer/inflate_child.py) and read
    from its pipe; the child's error, if any, is raised after the last block it wrote, as
    ``source_blocks`` raises it. ``close()`` stops the child.

    Of a tar archive the child also reads the headers (the frames of inflate_child.py):
    ``header_records()`` gives their records, for ``tarstream.handed_members``.

    >>> import gzip as g, tempfile
    >>> path = Path(tempfile.mkdtemp()) / "x.gz"; _ = path.write_bytes(g.compress(b"abc" * 100000))
    >>> with ChildBlocks(path) as blocks:
    ...     len(b"".join(blocks))
    300000
    """

    def __init__(self, path: Path) -> None:
        self.proc = subprocess.Popen(child_argv(path), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0)
        self._grow_pipe()
        self.pipe = io.BufferedReader(self.proc.stdout, buffer_size=FRAME_HEAD_READ)
        self.done = False
        self.read_ahead: deque[bytes] = deque()  # blocks met while looking for records
        self.records: deque[list] = deque()  # lists of header records not yet handed over
        self.records_ended = False

    def _grow_pipe(self) -> None:
        try:
            import fcntl

            fcntl.fcntl(self.proc.stdout.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)
        except (ImportError, AttributeError, OSError):  # not Linux, or a limit below a block: the default pipe works too
            pass

    def _next_frame(self) -> tuple[bytes, bytes] | None:
        """(kind, payload) of the next frame; None at the end of the pipe. A frame the child could not
        finish (it was killed) is what it holds: data as far as it came, records not at all."""
        head = self.pipe.read(5)
        if len(head) < 5:
            return None
        payload = self.pipe.read(int.from_bytes(head[1:], "little"))
        return head[:1], payload

    def _take_frame(self, frame: tuple[bytes, bytes]) -> bytes | None:
        """A data frame's block; records and the end of records are put aside (None)."""
        kind, payload = frame
        if kind == inflate_child.DATA:
            return payload
        if kind == inflate_child.RECORDS:
            try:
                self.records.append(marshal.loads(payload))
            except (EOFError, ValueError, TypeError):  # cut short: the reader reads those headers itself
                self.records_ended = True
        else:
            self.records_ended = True
        return None

    def header_records(self) -> Iterator[tuple]:
        """The records of the headers the child read, in order, as the reader gets to them."""
        while True:
            while self.records:
                yield from self.records.popleft()
            if self.records_ended or self.done:
                return
            frame = self._next_frame()
            if frame is None:
                return
            block = self._take_frame(frame)
            if block:
                self.read_ahead.append(block)
            if len(self.read_ahead) > MAX_READ_AHEAD:  # records that do not come before their data: no more of them
                self.records_ended = True

    def __next__(self) -> bytes:
        if self.read_ahead:
            return self.read_ahead.popleft()
        if self.done:
            raise StopIteration
        while True:
            frame = self._next_frame()
            if frame is None:
                break
            block = self._take_frame(frame)
            if block:
                return block
        self.done = True
        self.proc.wait()
        if self.proc.returncode == 0:
            raise StopIteration
        raise self._error()

    def _error(self) -> BaseException:
        kind, _, message = self.proc.stderr.read(4096).decode("utf-8", "replace").partition("\t")
        error = CHILD_ERRORS.get(kind)
        if error is None:
            return OSError(f"the decompressor stopped (exit {self.proc.returncode}): {kind.strip()[:200]}")
        return error(message)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()
        self.proc.stderr.close()

