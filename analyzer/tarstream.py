"""A one-pass tar reader over a stream of byte blocks: headers parsed as the standard library's
``tarfile`` parses them, member data handed over without copies.

Why not ``tarfile``: a collector bundle holds tens of thousands of small members (about ten
cgroup files per container), and their long paths need a GNU long-name header each, so a
500-pod bundle has 41,686 headers. ``tarfile`` costs about 40 us a header (TarInfo objects,
field-by-field ``nti``/``nts``, a checksum computed twice, an ``ExFileObject`` per member);
this reader about 5 us, and it hands a big member's bytes to the line prefilter as the
decompressed blocks themselves, where ``tarfile`` copied them twice (measured in
benchmarks/RESULTS.md). It reads what ``tarfile`` reads, the same way (tests/test_tarstream.py
compares the two on archives of every format ``tarfile`` writes, GNU, PAX and USTAR, and on
hostile ones):

- POSIX ustar and GNU headers, v7 headers (no magic): name, ustar prefix, size (octal, or GNU
  base-256), type, link name; the checksum, unsigned or signed, as ``tarfile`` accepts it;
- GNU long names and long link names (types ``L``, ``K``), PAX extended headers (``x``, and
  global ``g``: ``path``, ``linkpath``, ``size``); old GNU sparse members (``S``, extension
  blocks skipped) and PAX sparse members are reported as sparse and their data is not read;
- data follows only regular members and unknown types, as in ``tarfile`` (a symlink header
  that claims a size has no data).

Nothing is ever written or followed here: the caller decides what to do with each member.
Faults are exceptions that keep their place: ``TarHeaderError`` (a header that is not one:
bad checksum, bad number) and ``StreamEnded`` (the stream ended inside a header or a member's
data: a truncated archive, or the decompressor's error, kept as ``__cause__``), which carries
the bytes of the member that were read before it.

>>> import io, tarfile
>>> raw = io.BytesIO()
>>> with tarfile.open(fileobj=raw, mode="w") as tar:
...     info = tarfile.TarInfo("b/commands/dmesg.txt"); info.size = 6
...     tar.addfile(info, io.BytesIO(b"hello\\n"))
>>> source = BlockSource(iter([raw.getvalue()]))
>>> [(m.name, m.size, source.take(m.size)) for m in members(source)]
[('b/commands/dmesg.txt', 6, b'hello\\n')]
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from zlib import adler32

BLOCK = 512
ZERO_BLOCK = bytes(BLOCK)
MAX_META_BYTES = 1024 * 1024  # a long name or PAX header bigger than this is no real header
ENCODING, ERRORS = "utf-8", "surrogateescape"  # tarfile's defaults on Linux

REGULAR_TYPES = frozenset(b"0\x007S")  # tarfile.REGULAR_TYPES: data follows
SUPPORTED_TYPES = frozenset(b"0\x0012345 67LKS".replace(b" ", b""))  # tarfile.SUPPORTED_TYPES; others have data too
GNU_META = frozenset(b"LKS")  # tarfile.GNU_TYPES: no ustar prefix
REGULAR, DIRECTORY = ord("0"), ord("5")
LINK_TYPES = frozenset(b"12")  # hard link, symbolic link: their link name is read
EXTENSION_TYPES = frozenset(b"LKxXg")  # headers that describe the next member (GNU long names, PAX)
LONG_NAME, LONG_LINK, GLOBAL_PAX, OLD_SPARSE = ord("L"), ord("K"), ord("g"), ord("S")


class TarHeaderError(ValueError):
    """A block where a header should be is not a valid header (bad checksum, bad number)."""


class StreamEnded(EOFError):
    """The stream ended (or its decompression failed) before the bytes asked for: ``partial`` has
    the bytes of this read that did arrive."""

    def __init__(self, message: str, partial: bytes = b"") -> None:
        super().__init__(message)
        self.partial = partial


class TarMember:
    """One archive member as ``tarfile`` would name it (``type`` is the header's type byte).

    A plain class, not a dataclass: the decompressor child imports this module, and dataclasses
    would cost it 1.7 MB and 14 ms of imports (inspect, ast, dis).
    """

    __slots__ = ("name", "type", "size", "linkname", "sparse")

    def __init__(self, name: str, type: int, size: int, linkname: str = "", sparse: bool = False) -> None:
        self.name, self.type, self.size, self.linkname, self.sparse = name, type, size, linkname, sparse

    def __repr__(self) -> str:
        return f"TarMember({self.name!r}, {chr(self.type)!r}, {self.size}, {self.linkname!r}, {self.sparse})"

    def isreg(self) -> bool:
        return self.type in REGULAR_TYPES and not self.sparse

    def isdir(self) -> bool:
        return self.type == DIRECTORY


class BlockSource:
    """The bytes of a stream that arrives as blocks (a decompressor's output, file reads).

    ``take`` returns bytes (one slice when they lie in one block); ``pieces`` hands over
    ``(block, start, stop)`` views of the blocks themselves, for a scanner that reads them in
    place. ``offset`` counts the bytes consumed so far.

    >>> s = BlockSource(iter([b"abc", b"defg"]))
    >>> s.take(2), s.take(3), [b[i:j] for b, i, j in s.pieces(2)], s.offset
    (b'ab', b'cde', [b'fg'], 7)
    >>> s.take(1)
    Traceback (most recent call last):
    analyzer.tarstream.StreamEnded: the stream ended 1 byte(s) early
    """

    def __init__(self, blocks: Iterator[bytes]) -> None:
        self.blocks = blocks
        self.block = b""
        self.at = 0  # read position in ``block``
        self.offset = 0
        self.ended = False

    def _next_block(self, partial: bytes, missing: int) -> bool:
        """Load the next non-empty block; False at the end of the stream. A decompression error becomes
        StreamEnded with the bytes of this read gathered so far."""
        if self.ended:
            return False
        try:
            for block in self.blocks:
                if block:
                    self.block, self.at = block, 0
                    return True
        except Exception as err:  # EOFError, OSError, zlib.error, lzma.LZMAError...: the decompressor's fault
            self.ended = True
            raise StreamEnded(f"{_described(err)}: {err}", partial) from err
        self.ended = True
        return False

    def take(self, size: int) -> bytes:
        """Exactly ``size`` bytes; StreamEnded (with the bytes that came) if the stream ends first."""
        end = self.at + size
        if end <= len(self.block):  # the common case: inside the current block, one slice
            data = self.block[self.at : end]
            self.at = end
            self.offset += size
            return data
        parts, wanted = [], size
        while wanted:
            if self.at >= len(self.block) and not self._next_block(b"".join(parts), wanted):
                partial = b"".join(parts)
                raise StreamEnded(f"the stream ended {wanted} byte(s) early", partial)
            piece = self.block[self.at : self.at + wanted]
            self.at += len(piece)
            self.offset += len(piece)
            wanted -= len(piece)
            parts.append(piece)
        return b"".join(parts)

    def read(self, size: int) -> bytes:
        """Up to ``size`` bytes: fewer only at the end of the stream (a file object's ``read``)."""
        try:
            return self.take(size)
        except StreamEnded as err:
            if err.__cause__ is not None:
                raise
            return err.partial

    def unread(self, data: bytes) -> None:
        """Put back ``data``, the bytes just read, in front of the rest (a head looked at first).

        >>> s = BlockSource(iter([b"abcdef"])); head = s.read(4); s.unread(head); s.read(10)
        b'abcdef'
        """
        self.block = data + self.block[self.at :]
        self.at = 0
        self.offset -= len(data)

    def pieces(self, size: int | None = None) -> Iterator[tuple[bytes, int, int]]:
        """``size`` bytes (None: all that is left) as views ``(block, start, stop)`` of the blocks, in
        order, without copies."""
        wanted = -1 if size is None else size
        while wanted:
            if self.at >= len(self.block) and not self._next_block(b"", wanted):
                if size is None:
                    return
                raise StreamEnded(f"the stream ended {wanted} byte(s) early")
            start = self.at
            stop = len(self.block) if wanted < 0 else min(len(self.block), start + wanted)
            self.at = stop
            self.offset += stop - start
            wanted -= stop - start
            yield self.block, start, stop

    def skip(self, size: int) -> None:
        end = self.at + size
        if end <= len(self.block):  # the padding after a small member: inside the current block
            self.at = end
            self.offset += size
            return
        for _ in self.pieces(size):
            pass

    def rest_is_zeros(self, limit: int) -> bool:
        """True if nothing but NUL bytes follows, up to ``limit`` bytes (the end-of-archive padding)."""
        seen = 0
        while seen < limit:
            if self.at >= len(self.block) and not self._next_block(b"", 0):
                return True
            chunk = self.block[self.at :]
            self.at = len(self.block)
            seen += len(chunk)
            if chunk.count(0) != len(chunk):
                return False
        return True


def _described(err: BaseException) -> str:
    """The kind of a decompressor's error as a reader can tell it: zlib's class is called ``error``.

    >>> import zlib; _described(zlib.error()), _described(EOFError())
    ('zlib error', 'EOFError')
    """
    name = type(err).__name__
    return f"{type(err).__module__.split('.')[0].lstrip('_')} error" if name == "error" else name


# --- headers -------------------------------------------------------------------------------


def is_tar_header(block: bytes) -> bool:
    """A block with the ustar magic of a POSIX or GNU header (v7 headers have none).

    >>> import tarfile; is_tar_header(tarfile.TarInfo("a").tobuf()), is_tar_header(b"[1.0] Killed process 4242")
    (True, False)
    """
    return len(block) >= 262 and block[257:262] == b"ustar"


def _number(field: bytes) -> int:
    """A numeric header field: octal text (tarfile's ``nti``), or GNU base-256 (first byte 0x80/0xff).

    >>> _number(b"0000644\\x00"), _number(b"\\x80" + (5).to_bytes(11, "big")), _number(b"\\x00" * 8)
    (420, 5, 0)
    """
    if field[0] in (0o200, 0o377):
        value = int.from_bytes(field[1:], "big")
        return value - 256 ** (len(field) - 1) if field[0] == 0o377 else value
    text = field.split(b"\0", 1)[0].strip()
    if not text:
        return 0
    try:
        return int(text, 8)
    except ValueError:
        raise TarHeaderError("invalid header (a number field is not a number)") from None


def _text(field: bytes) -> str:
    """A NUL-terminated string field (tarfile's ``nts``)."""
    end = field.find(0)
    return (field[:end] if end != -1 else field).decode(ENCODING, ERRORS)


def _byte_sum(block: bytes) -> int:
    """The sum of a header's 512 bytes. Adler-32's low half is 1 + the sum of the bytes modulo 65521,
    exact for 256 bytes (at most 65,280): two C calls, four times faster than ``sum(block)``.

    >>> block = bytes(range(256)) * 2
    >>> _byte_sum(block) == sum(block)
    True
    """
    return (adler32(block[:256]) & 0xFFFF) + (adler32(block[256:]) & 0xFFFF) - 2


def _octal(block: bytes, start: int, digits: int) -> int | None:
    """The octal number of ``digits`` characters at ``start`` when a NUL or a space ends it there (what
    GNU tar, busybox and tarfile write: "%011o\\0" sizes, "%06o\\0 " checksums), else None: the
    field is read by ``_number`` then (other widths, base-256). One C call instead of a split and a strip."""
    if block[start + digits] not in (0, 32):
        return None
    try:
        return int(block[start : start + digits], 8)
    except ValueError:
        return None


def _checksum_ok(block: bytes) -> bool:
    """The header checksum, unsigned (POSIX) or signed (old tars), as tarfile's ``calc_chksums``."""
    unsigned = _byte_sum(block) - sum(block[148:156]) + 256  # the checksum field counts as eight spaces
    if _octal(block, 148, 6) == unsigned:
        return True
    stored = _number(block[148:156])
    if stored == unsigned:
        return True
    high = sum(1 for i, byte in enumerate(block) if byte >= 128 and not 148 <= i < 156)
    return stored == unsigned - 256 * high


def parse_header(block: bytes) -> TarMember:
    """The member a 512-byte header block describes (before long-name and PAX headers apply).

    >>> import tarfile
    >>> info = tarfile.TarInfo("a" * 90 + "/" + "b" * 30); info.size = 3
    >>> m = parse_header(info.tobuf(tarfile.USTAR_FORMAT))
    >>> m.name == info.name, m.size, chr(m.type)
    (True, 3, '0')
    """
    if not _checksum_ok(block):
        raise TarHeaderError("bad checksum")
    kind = block[156]
    end = block.find(0, 0, 100)
    name = block[: end if end != -1 else 100].decode(ENCODING, ERRORS)
    size = _octal(block, 124, 11)
    if size is None:
        size = _number(block[124:136])
    if size < 0:
        raise TarHeaderError("invalid header (negative size)")
    member = TarMember(name, kind, size)  # positional: half the cost of keywords, once a header
    if kind in LINK_TYPES:
        member.linkname = _text(block[157:257])
    if kind == 0 and name.endswith("/"):  # v7: a directory is a regular header named with a slash
        member.type = DIRECTORY
    if member.type == DIRECTORY:
        member.name = member.name.rstrip("/")
    if block[345] and kind not in GNU_META:  # ustar: the name is prefix + "/" + name
        member.name = _text(block[345:500]) + "/" + member.name
    return member


def _pax_records(data: bytes) -> dict[str, str]:
    """``length key=value\\n`` records of a PAX extended header, read as tarfile's ``_proc_pax`` reads
    them (a record that does not parse ends the list; a zero length is an invalid header). Each record
    must start as tarfile's pattern ``(\\d+) ([^=]+)=`` matches it: ASCII digits, one space, a key of
    at least one byte up to the first "=". Read with ``find`` rather than that pattern: the decompressor
    child imports this module, and ``re`` would cost it 1.3 MB.

    >>> _pax_records(b"16 path=a/b.txt\\n11 size=42\\n")
    {'path': 'a/b.txt', 'size': '42'}
    >>> _pax_records(b"16 path=a/b.txt\\n1x size=42\\n"), _pax_records(b" 5 a=b"), _pax_records(b"9 =value")
    ({'path': 'a/b.txt'}, {}, {})
    """
    records, at = {}, 0
    while True:
        space = data.find(b" ", at)
        if space <= at or not data[at:space].isdigit():
            return records
        equals = data.find(b"=", space + 1)
        if equals <= space + 1:
            return records
        length = int(data[at:space])
        if length == 0:
            raise TarHeaderError("invalid header (a PAX record of length 0)")
        value = data[equals + 1 : at + length - 1]
        records[data[space + 1 : equals].decode(ENCODING, ERRORS)] = value.decode(ENCODING, ERRORS)
        at += length


def _apply_pax(member: TarMember, records: dict[str, str]) -> None:
    """tarfile's ``_apply_pax_info``: path, linkpath and size; a bad number reads as 0. A GNU sparse
    member is marked, and its data (the stored bytes, a map and the pieces) is never read."""
    for key, value in records.items():
        if key.startswith("GNU.sparse."):
            member.sparse = True
        elif key == "path":
            member.name = value.rstrip("/")
        elif key == "linkpath":
            member.linkname = value
        elif key == "size":
            member.size = int(value) if value.isdigit() and value.isascii() else 0


def _padded(size: int) -> int:
    return (size + BLOCK - 1) & ~(BLOCK - 1)


def _data_bytes(member: TarMember) -> int:
    """Bytes of data that follow the header: regular members and unknown types only, as in tarfile."""
    return member.size if member.type in REGULAR_TYPES or member.type not in SUPPORTED_TYPES else 0


def _meta_data(source: BlockSource, header: TarMember) -> bytes:
    if header.size > MAX_META_BYTES:
        raise TarHeaderError(f"invalid header (a {chr(header.type)!r} header of {header.size} bytes)")
    data = source.take(_padded(header.size))
    return data[: header.size]


def _skip_sparse_extensions(source: BlockSource, block: bytes) -> None:
    """Old GNU sparse: extension blocks follow the header while their 'isextended' byte is set."""
    extended = block[482]
    while extended:
        extended = source.take(BLOCK)[504]


def members(source: BlockSource) -> Iterator[TarMember]:
    """Each member of the archive in ``source``, in order; ends at the end-of-archive block.

    After a member is yielded its data comes next in ``source``: the caller may ``take`` or
    ``pieces`` any part of it; whatever is left is skipped before the next header is read.
    A stream that ends where a header should start has lost its end-of-archive marker, and
    perhaps members after it: StreamEnded says so (``tarfile`` ends quietly there). A stream
    cut inside the end marker's zeros lost nothing.
    """
    for member, _ in member_spans(source, {}):
        yield member


def member_spans(source: BlockSource, pax_global: dict[str, str]) -> Iterator[tuple[TarMember, int]]:
    """``members``, each with the bytes of data that follow its header (``pax_global``: the global
    PAX records met so far, filled as they come)."""
    while True:
        try:
            block = source.take(BLOCK)
        except StreamEnded as err:
            if err.partial and err.__cause__ is None and not err.partial.strip(b"\0"):
                return  # cut inside the end-of-archive zeros: every member is here
            if not err.partial and err.__cause__ is None:
                raise StreamEnded("the archive ends without its end-of-archive marker (cut after a member?)") from None
            raise
        if block == ZERO_BLOCK:
            return
        member, data_bytes = _with_extensions(source, block, pax_global)
        data_end = source.offset + _padded(data_bytes)
        yield member, data_bytes
        _skip_to(source, data_end)


# --- headers read by another process -------------------------------------------------------
#
# The decompressor child (analyzer/inflate_child.py) has every byte of the archive before the reader
# does, and a core of its own that inflate leaves mostly idle: it reads the headers there, with
# ``member_spans`` on the same bytes, and sends one record a member. The reader then skips each
# member's headers unread (a 512-byte header, often a PAX or long-name header before it: 5 µs a
# member here, a third of that skipped).

# (name, type, size, linkname, sparse, bytes of headers before the data, bytes of data)
HeaderRecord = tuple[str, int, int, str, bool, int, int]


def header_records(source: BlockSource, send: Callable[[HeaderRecord], None]) -> None:
    """``send`` a record of each member ``member_spans`` reads in ``source``, in order, until the
    end-of-archive block or a member it cannot describe alone: one after a global PAX header (whose
    records the reader would not have). Raises what ``member_spans`` raises; the records sent before
    are of whole, good headers.

    >>> import io, tarfile
    >>> buffer = io.BytesIO()
    >>> with tarfile.open(fileobj=buffer, mode="w") as tar:
    ...     info = tarfile.TarInfo("b/" + "d" * 120 + "/memory.stat"); info.size = 3
    ...     tar.addfile(info, io.BytesIO(b"abc"))
    >>> records = []
    >>> header_records(BlockSource(iter([buffer.getvalue()])), records.append)
    >>> [(name[-11:], size, header_bytes, data_bytes) for name, _, size, _, _, header_bytes, data_bytes in records]
    [('memory.stat', 3, 1536, 3)]
    """
    pax_global: dict[str, str] = {}
    data_end = source.offset
    for member, data_bytes in member_spans(source, pax_global):
        if pax_global:
            return  # the reader reads this member's headers itself, the global ones with them
        start = source.offset
        send((member.name, member.type, member.size, member.linkname, member.sparse, start - data_end, data_bytes))
        data_end = start + _padded(data_bytes)


def handed_members(source: BlockSource, records: Iterable[HeaderRecord]) -> Iterator[TarMember]:
    """``members`` of ``source``, the first ones from ``records`` that ``header_records`` made of the
    same bytes: their headers are skipped, not read. Where the records end (the end-of-archive block,
    a global PAX header, a bad header, a cut stream, a child that stopped), ``members`` reads on
    from that place, so what it finds there, and says, is what it always says."""
    for name, kind, size, linkname, sparse, header_bytes, data_bytes in records:
        source.skip(header_bytes)
        data_end = source.offset + _padded(data_bytes)
        yield TarMember(name, kind, size, linkname, sparse)
        _skip_to(source, data_end)
    yield from members(source)


def _skip_to(source: BlockSource, data_end: int) -> None:
    """Past what the caller left of a member's data and padding, to its next header."""
    if source.offset > data_end:
        raise ValueError("a member's reader went past its data")
    source.skip(data_end - source.offset)


def _with_extensions(source: BlockSource, block: bytes, pax_global: dict[str, str]) -> tuple[TarMember, int]:
    """(member, bytes of data after its header) of ``block``, with the GNU long-name and PAX headers
    that precede it applied as tarfile applies them: each extension header patches what the headers
    after it produced, so the first one wins; global PAX records apply to every later member."""
    patches: list[tuple[int, object]] = []
    header = parse_header(block)
    while header.type in EXTENSION_TYPES:
        kind = header.type
        if kind == LONG_NAME or kind == LONG_LINK:
            patches.append((kind, _text(_meta_data(source, header))))
        elif kind == GLOBAL_PAX:
            pax_global.update(_pax_records(_meta_data(source, header)))
        else:  # x, X: a PAX header of the next member
            patches.append((kind, {**pax_global, **_pax_records(_meta_data(source, header))}))
        block = source.take(BLOCK)
        if block == ZERO_BLOCK:
            raise TarHeaderError("invalid header (an extended header with no member after it)")
        header = parse_header(block)
    if header.type == OLD_SPARSE:
        header.sparse = True
        _skip_sparse_extensions(source, block)
    data_bytes = _data_bytes(header)
    if pax_global and header.type != OLD_SPARSE:
        _apply_pax(header, pax_global)
    for kind, value in reversed(patches):
        if kind == LONG_NAME:
            header.name = value.removesuffix("/") if header.isdir() else value
        elif kind == LONG_LINK:
            header.linkname = value
        else:
            _apply_pax(header, value)
            if "size" in value:
                data_bytes = _data_bytes(header)
    return header, data_bytes
