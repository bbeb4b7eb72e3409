"""Open a bundle safely: .tar(.gz|.xz|.bz2), .zip, a directory, or one (possibly gzipped) file.

Nothing is ever extracted to disk. Archive members are read in memory, once, in order (a tar
through analyzer/tarstream.py, from blocks decompressed ahead of the reader by a child process,
analyzer/decompress.py), each under a per-member cap and all under a total cap, so a
decompression bomb costs at most the caps. Hostile members (absolute paths, ``..``, symlinks,
hardlinks, devices, fifos) are never followed and never written: they are listed as skipped.
A truncated or corrupt archive keeps what was read before the fault, and a warning names
what was lost. Text is decoded tolerantly (invalid UTF-8 replaced, NULs dropped, CRLF -> LF).
"""
from __future__ import annotations

import io
import lzma
import os
import re
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from analyzer.artifacts import KIND_VALUES, Artifact, ArtifactKind
from analyzer.classify import basename, classify, folder_class, kind_in_folder, node_path_of
from analyzer.decompress import open_blocks, opener_for, plain_blocks
from analyzer.errors import InputUnreadable
from analyzer.models.common import built
from analyzer.models.report import BundleFile, BundleWarning
from analyzer.prefilter import ANY_LOG, KERNEL_LOG, KUBELET_LOG, RUNTIME_LOG, FilterSpec, LineFilter
from analyzer.tarstream import BlockSource, StreamEnded, TarHeaderError, TarMember, handed_members, is_tar_header, members

HEAD_CHARS = 64 * 1024
READ_CHUNK = 1024 * 1024
STREAM_READ = 256 * 1024  # a zip member's or a file's pieces for the line filter: a decompressing read that breaks drops its data
# logs read through a line filter when big: the kinds whose parsers read single lines or OOM report windows
STREAM_SPECS = {ArtifactKind.KERNEL_LOG: KERNEL_LOG, ArtifactKind.KUBELET_LOG: KUBELET_LOG, ArtifactKind.RUNTIME_LOG: RUNTIME_LOG}
ARCHIVE_SUFFIXES = (".tar", ".tgz", ".tar.gz", ".tar.xz", ".tar.bz2", ".zip", ".gz", ".xz", ".bz2", ".tbz2", ".txz")


@dataclass
class Limits:
    max_member_bytes: int = 64 * 1024**2  # per-member cap of a file read whole (logs are streamed past it): cut there, warn
    max_total_bytes: int = 2 * 1024**3  # all members together: stop there, warn
    max_members: int = 200_000  # stop after this many members, warn
    max_line_chars: int = 1_000_000  # longer lines are cut, warn once per file
    stream_threshold_bytes: int = 4 * 1024**2  # a log bigger than this is filtered as it is read, never held whole
    max_streamed_bytes: int = 16 * 1024**3  # all filtered logs together: read no further (time bound, not memory)


@dataclass
class Bundle:
    source_name: str
    source_kind: str  # "tar" | "zip" | "directory" | "file"
    artifacts: list[Artifact] = field(default_factory=list)
    files: list[BundleFile] = field(default_factory=list)
    warnings: list[BundleWarning] = field(default_factory=list)
    root_prefix: str | None = None
    bytes_read: int = 0  # decompressed bytes of the members read (whole or through the line filter)


@dataclass
class _Budget:
    limits: Limits
    total: int = 0
    members: int = 0
    streamed: int = 0
    exhausted: str | None = None


# --- member bodies ------------------------------------------------------------------------


class _Body(Protocol):
    """A member's bytes as the intake reads them: ``read(n)`` gives up to n bytes (fewer only at the
    end), ``pieces()`` the rest as ``(buffer, start, stop)`` views for the line filter."""

    def read(self, size: int) -> bytes: ...

    def pieces(self) -> Iterator[tuple[bytes, int, int]]: ...


class _StreamBody:
    """A member read from a file object (a directory's file, a zip member, a single pasted file)."""

    def __init__(self, stream: io.IOBase) -> None:
        self.stream = stream

    def read(self, size: int) -> bytes:
        return self.stream.read(size)

    def pieces(self) -> Iterator[tuple[bytes, int, int]]:
        while True:
            chunk = self.stream.read(STREAM_READ)
            if not chunk:
                return
            yield chunk, 0, len(chunk)


class _TarBody:
    """A tar member's data, straight from the decompressed blocks (tarstream.BlockSource)."""

    def __init__(self, source: BlockSource, size: int) -> None:
        self.source, self.left = source, size

    def read(self, size: int) -> bytes:
        size = min(size, self.left)
        if size <= 0:
            return b""
        self.left -= size
        return self.source.take(size)

    def pieces(self) -> Iterator[tuple[bytes, int, int]]:
        left, self.left = self.left, 0
        return self.source.pieces(left)


# --- decoding -----------------------------------------------------------------------------


RE_JSON_START = re.compile(r"\s*[\[{]")  # matched, not lstrip()ped: a 4 MB document is not copied to read its first character
CONTROL_BYTES = bytes(b for b in range(32) if b not in (0, 9, 10, 13)) + b"\x7f"


def is_binary(data: bytes) -> bool:
    """Mostly control bytes in the first 8 KiB (NULs alone do not count: pasted logs carry them).

    >>> is_binary(b"hello\\n"), is_binary(bytes(range(256)))
    (False, True)
    """
    sample = data[:8192]
    if not sample:
        return False
    control = len(sample) - len(sample.translate(None, CONTROL_BYTES))
    return control / len(sample) > 0.10


def _ascii_as_is(data: bytes) -> bool:
    """Bytes that decode to the same text with nothing to repair: ASCII, no NUL, no CR.

    >>> _ascii_as_is(b"rss 8192\\n"), _ascii_as_is(b"a\\r\\n"), _ascii_as_is(b"caf\\xc3\\xa9")
    (True, False, False)
    """
    return data.isascii() and b"\x00" not in data and b"\r" not in data


def decode_text(data: bytes, limits: Limits) -> tuple[str, bool]:
    """(text, lines_were_cut): UTF-8 with replacement, no NULs, LF line ends, long lines cut (not in JSON).

    >>> decode_text(b"a\\r\\nb\\x00c\\xff\\n", Limits())
    ('a\\nbc\\ufffd\\n', False)
    """
    if _ascii_as_is(data):  # most members: nothing to fix
        text = data.decode("ascii")
        if len(text) <= limits.max_line_chars or RE_JSON_START.match(text):
            return text, False
    elif data[:2] in (b"\xff\xfe", b"\xfe\xff") and data[:400].count(0) * 3 >= len(data[:400]):  # UTF-16 (BOM + NULs): Windows tools
        text = data.decode("utf-16", errors="replace").replace("\x00", "")
    else:
        text = data.replace(b"\x00", b"").decode("utf-8", errors="replace")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    cut = False
    if RE_JSON_START.match(text):  # a JSON document (kubelet /pods, /stats/summary) is one long line by design
        return text, cut
    if len(text) > limits.max_line_chars and any(len(line) > limits.max_line_chars for line in text.split("\n")):
        text = "\n".join(line[: limits.max_line_chars] for line in text.split("\n"))
        cut = True
    return text, cut


def _what_decoding_changed(data: bytes, text: str) -> str | None:
    """What decoding did to the bytes that a reader of the quoted lines should know (None: nothing).

    >>> _what_decoding_changed(b"a\\x00b\\xff\\n", "ab\\ufffd\\n")
    '1 NUL byte(s) removed, 1 invalid UTF-8 sequence(s) shown as \\ufffd'
    """
    if len(text) == len(data) and data.isascii() and b"\x00" not in data:  # nothing was changed
        return None
    changes = []
    nuls = data.count(0)
    if nuls and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        changes.append(f"{nuls} NUL byte(s) removed")
    replaced = text.count("\ufffd") - data.count("\ufffd".encode())
    if replaced > 0:
        changes.append(f"{replaced} invalid UTF-8 sequence(s) shown as \ufffd")
    return ", ".join(changes) or None


BUNDLE_FILE_FIELDS = set(BundleFile.model_fields)  # shared by every record: all fields are always given


def file_record(path: str, kind: str, size_bytes: int, status: str, note: str | None) -> BundleFile:
    """A files_read entry without validation (the reader's own values, of the right types): a third of the
    memory of a validated model, which counts at 100,000 members, and a quarter of the time
    (models.common.built: what ``BundleFile.model_construct`` makes, without its Python work).

    >>> file_record("b/dmesg.txt", "kernel_log", 12, "parsed", None).model_dump()["status"]
    'parsed'
    """
    return built(BundleFile, BUNDLE_FILE_FIELDS, {"path": path, "kind": kind, "size_bytes": size_bytes, "status": status, "note": note})


# --- member names -------------------------------------------------------------------------


def unsafe_name_reason(name: str) -> str | None:
    """Why a member name must not be trusted, or None.

    >>> unsafe_name_reason("/etc/passwd"), unsafe_name_reason("a/../../x"), unsafe_name_reason("b/dmesg.txt")
    ('absolute path', 'path escapes the bundle (..)', None)
    """
    if name.startswith("/") or (len(name) > 1 and name[1] == ":") or name.startswith("\\"):
        return "absolute path"
    if ".." in name and ".." in name.replace("\\", "/").split("/"):  # the split only where ".." appears at all
        return "path escapes the bundle (..)"
    return None


def _clean(name: str) -> str:
    """The member name with backslashes as slashes, without empty or "." parts.

    >>> _clean("./b//proc/./meminfo"), _clean("b\\\\commands\\\\dmesg.txt/"), _clean("b/proc/meminfo")
    ('b/proc/meminfo', 'b/commands/dmesg.txt', 'b/proc/meminfo')
    """
    if "//" not in name and "\\" not in name and "./" not in name and not name.startswith("/") and not name.endswith(("/", "/.")) and name != ".":
        return name  # the common case, a clean name: four substring tests instead of a split and a join
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]  # str ops: pathlib costs 10x here
    return "/".join(parts)


# --- folders of plain members (_Intake.add_plain) ------------------------------------------

PLAIN_TEXT_BYTES = bytes([9, 10, *range(32, 127)])  # what deleting leaves nothing of: ASCII text, no NUL, CR or control byte
NOT_PLAIN_FILE_NAMES = ("", ".", "..")


def _is_plain_file_name(name: str, start: int) -> bool:
    """The file name at ``name[start:]`` (after the last slash) adds nothing a folder's checks did not
    see: of a last part, ``_clean`` and ``unsafe_name_reason`` look for a backslash, "." and ".." only.

    >>> _is_plain_file_name("b/memory.stat", 2), _is_plain_file_name("b/..", 2), _is_plain_file_name("b/a\\\\b", 2)
    (True, False, False)
    """
    return "\\" not in name[start:] and name[start:] not in NOT_PLAIN_FILE_NAMES


@dataclass(slots=True)
class _Folder:
    """What every plain-named member of one archive folder shares (``_Intake.add_plain``), worked out
    from its first: the node folder it stands for, its --samples number and the class of folder whose
    file names alone give their kinds (classify.folder_class).

    A member ``folder + name`` with a plain name (``_is_plain_file_name``) is clean and safe exactly
    when ``folder + "x"`` is, and its node path is the node folder + name: ``_clean``,
    ``unsafe_name_reason`` and ``node_path_of`` read nothing of a plain name but its end.

    >>> f = _Folder.of("node-1/sys/fs/cgroup/memory/kubepods/")
    >>> f.node_folder, f.sample, f.kind_class
    ('sys/fs/cgroup/memory/kubepods/', None, 'sys/fs/cgroup/memory/')
    >>> [_Folder.of(name).node_folder for name in ("node-1/notes/", "../x/", "a//sys/fs/cgroup/")]
    [None, None, None]
    """

    name: str
    node_folder: str | None  # None: its members take the general way (``_Intake.add``)
    sample: int | None = None
    kind_class: str | None = None

    @classmethod
    def of(cls, folder: str) -> _Folder:
        """The folder's shared facts; no node folder where its members must take the general way: an
        unclean or unsafe folder name, a folder that is no node folder."""
        probe = folder + "x"
        if _clean(probe) != probe or unsafe_name_reason(probe) is not None:
            return cls(folder, None)
        node_path, sample = node_path_of(probe)
        if node_path is None:
            return cls(folder, None)
        node_folder = node_path[:-1]
        return cls(folder, node_folder, sample, folder_class(node_folder))


# --- the common member intake -------------------------------------------------------------


class _Intake:
    """Turns (name, stream) into artifacts and file records, enforcing caps and duplicate names.

    Each artifact goes to ``sink`` as soon as it is read (the pipeline parses it at once and keeps
    only what the report needs); the default sink collects them in ``bundle.artifacts``. A log of a
    streamed kind bigger than ``Limits.stream_threshold_bytes`` is never held whole: it runs through
    a ``LineFilter`` and its artifact carries only the lines that can matter, with their numbers.
    """

    def __init__(self, bundle: Bundle, limits: Limits, sink: Callable[[Artifact, BundleFile], None] | None = None) -> None:
        self.bundle, self.limits = bundle, limits
        self.sink = sink or (lambda artifact, entry: bundle.artifacts.append(artifact))
        self.budget = _Budget(limits)
        self.seen: set[str] = set()
        self.root_prefixes: set[str] = set()
        self.known_kinds = 0
        self.pending: Callable[[str], None] | None = None  # emits the member being read if the stream breaks
        self.folder: _Folder | None = None  # what the plain members of the last archive folder share (add_plain)

    def salvage(self, reason: str) -> bool:
        """The stream broke inside a member: keep what was read of it (a cut log still tells a lot)."""
        pending, self.pending = self.pending, None
        if pending is None:
            return False
        pending(reason)
        return True

    def skip(self, name: str, size: int, note: str) -> None:
        self.bundle.files.append(file_record(path=name, kind="unknown", size_bytes=max(size, 0), status="skipped", note=note))

    def warn(self, message: str, file: str | None = None) -> None:
        self.bundle.warnings.append(BundleWarning(message=message, file=file))

    def room(self) -> bool:
        return self.budget.exhausted is None

    def count_member(self) -> bool:
        self.budget.members += 1
        if self.budget.members > self.limits.max_members:
            self.budget.exhausted = f"more than {self.limits.max_members} members"
            self.warn(f"stopped reading: the bundle has {self.budget.exhausted} (cap)")
            return False
        return True

    def read_capped(self, body: _Body, name: str, head: bytes = b"") -> tuple[bytes | bytearray, bool]:
        """Read at most the member cap (+1 byte to know it was cut) within the total budget.

        A member that comes in one read (every cgroup file, most members) is that read's bytes; a
        bigger one grows one buffer: a capped member costs its cap once, not three times.
        """
        left_total = self.limits.max_total_bytes - self.budget.total
        cap = min(self.limits.max_member_bytes, max(left_total, 0))
        data, buffer = head, None
        try:
            if not data:
                data = body.read(min(READ_CHUNK, cap + 1))
            more = body.read(min(READ_CHUNK, cap + 1 - len(data))) if data and len(data) <= cap else b""
            if more:
                buffer = bytearray(data)
                buffer += more
                while len(buffer) <= cap:
                    chunk = body.read(min(READ_CHUNK, cap + 1 - len(buffer)))
                    if not chunk:
                        break
                    buffer += chunk
                data = buffer
        except READ_ERRORS as err:
            got = bytes(buffer if buffer is not None else data) + getattr(err, "partial", b"")
            self.pending = lambda reason: self._add_cut(name, got[:cap], reason)
            raise
        cut = len(data) > cap
        if cut and buffer is not None:
            del buffer[cap:]  # in place: a member cut at its 64 MB cap is not copied once more
        elif cut:
            data = data[:cap]
        self.budget.total += len(data)
        if cut and cap == self.limits.max_member_bytes:
            self.warn(f"member cut at the {cap} byte cap (decompression bomb or huge file); the rest was not read", name)
        elif cut:
            self.budget.exhausted = "total size cap"
            self.warn(f"stopped reading: the bundle exceeds the total cap of {self.limits.max_total_bytes} bytes", name)
        return data, cut

    def whole_fits(self, size: int) -> bool:
        """A member of this size is read whole, within the member cap and what is left of the total."""
        limits = self.limits
        return size <= limits.stream_threshold_bytes and size <= limits.max_member_bytes and self.budget.total + size <= limits.max_total_bytes

    def add_read(self, name: str, source: BlockSource, size: int) -> None:
        """Read a member that ``whole_fits`` in one take from the blocks, and add it (the bytes that came
        before a cut are kept for ``salvage``). The bytes are handed over, not kept here: ``add`` lets
        them go once decoded (a 4 MB pod list is not held as bytes and as text while it is parsed)."""
        self.add(name, self._taken(name, source, size), False)

    def add_plain(self, name: str, source: BlockSource, size: int) -> bool:
        """``add_read`` of the common member, if this is one (else False, nothing read): a regular member
        that ``whole_fits``, with a plain file name in a folder of node files (a cgroup directory, a
        /proc/<pid> folder), seen for the first time. What ``add`` works out from the name (clean,
        safe, node path, the kind when the path decides it) is worked out once a folder (``_Folder``);
        short plain-ASCII text is decoded as it is. Anything else goes on to ``add``, the same bytes."""
        slash = name.rfind("/") + 1
        if not slash or name in self.seen or not _is_plain_file_name(name, slash):
            return False
        folder = self.folder
        if folder is None or folder.name != name[:slash]:  # members come folder by folder: the last one is kept
            folder = self.folder = _Folder.of(name[:slash])
        if folder.node_folder is None:
            return False
        data = self._taken(name, source, size)
        if size > self.limits.max_line_chars or data.translate(None, PLAIN_TEXT_BYTES) or _looks_compressed(data):
            self.add(name, data, False)  # not plain ASCII text, or long: what add does of any member
            return True
        self.seen.add(name)
        text = data.decode("ascii")
        del data
        base = name[slash:]
        node_path = folder.node_folder + base
        kind = kind_in_folder(folder.kind_class, base) if folder.kind_class is not None else None
        if kind is None:
            kind = classify(node_path, base, text[:HEAD_CHARS])
        self._emit(Artifact(path=name, kind=kind, size=size, text=text, node_path=node_path, sample=folder.sample), None)
        return True

    def _taken(self, name: str, source: BlockSource, size: int) -> bytes:
        try:
            data = source.take(size)
        except StreamEnded as err:
            partial = err.partial
            self.pending = lambda reason: self._add_cut(name, partial, reason)
            raise
        self.budget.total += size
        return data

    def take(self, name: str, body: _Body, size_hint: int | None = None) -> None:
        """Read one member from ``body``: a big log through the line filter, anything else whole (capped)."""
        if size_hint is not None and size_hint <= self.limits.stream_threshold_bytes:
            self.add_read_pair(name, self.read_capped(body, name))
            return
        head = self._read_head(body, name, HEAD_CHARS)
        spec = self._stream_spec(name, head)
        if spec is None and size_hint is not None and self._not_text(head):
            self._skip_unread(name, size_hint, head)
            return
        if spec is None:
            self.add_read_pair(name, self.read_capped(body, name, head))
            return
        if size_hint is None:  # a compressed single file: its size shows only by reading
            head += self._read_head(body, name, self.limits.stream_threshold_bytes - len(head) + 1, head)
            if len(head) <= self.limits.stream_threshold_bytes:
                self.add_read_pair(name, self.read_capped(body, name, head))
                return
        self._add_streamed(name, spec, body, head)

    @staticmethod
    def _not_text(head: bytes) -> bool:
        """A head of binary bytes, a compressed stream, or nothing but NULs and blanks (a bomb of zeros)."""
        return is_binary(head) or _looks_compressed(head) or not head.replace(b"\x00", b"").strip()

    def _skip_unread(self, name: str, size: int, head: bytes) -> None:
        """A big member that is no text: listed, never read past its head (a decompression bomb costs nothing)."""
        name = _clean(name)
        if not self._first_time(name, size):
            return
        what = ("nested archive or compressed member: not opened (extract it and analyze it separately)" if _looks_compressed(head)
                else "binary content" if is_binary(head) else "NUL bytes or blanks only (a decompression bomb?)")
        self.skip(name, size, f"{what}; {size} bytes, not read past the first {len(head)}")
        self.warn(f"skipped member of {size} bytes: {what}", name)

    def _read_head(self, body: _Body, name: str, size: int, before: bytes = b"") -> bytes:
        try:
            return body.read(size)
        except READ_ERRORS as err:
            got = before + getattr(err, "partial", b"")
            if got:
                self.pending = lambda reason: self._add_cut(name, got, reason)
            raise

    def _stream_spec(self, name: str, head: bytes) -> FilterSpec | None:
        """The line filter for a member whose head says it is a log of a streamed kind, else None."""
        if not head or is_binary(head) or _looks_compressed(head) or head[:2] in (b"\xff\xfe", b"\xfe\xff"):
            return None
        node_path, _ = node_path_of(_clean(name))
        text = head.replace(b"\x00", b"").decode("utf-8", errors="replace")
        if not text.strip():
            return None  # NULs or blanks (a bomb of zeros): read under the member cap like any odd file
        kind = classify(node_path, basename(name), text)
        if kind is ArtifactKind.UNKNOWN:  # a big text that says nothing in its head: its kept lines will
            return ANY_LOG
        return STREAM_SPECS.get(kind)

    def _add_streamed(self, name: str, spec: FilterSpec, body: _Body, first: bytes) -> None:
        name = _clean(name)
        if not self._first_time(name, len(first)):
            return
        line_filter = LineFilter(spec, max_line_bytes=self.limits.max_line_chars)
        line_filter.feed(first)
        size, cut = len(first), False
        try:
            for block, start, stop in body.pieces():  # the decompressed blocks themselves: scanned in place
                size += stop - start
                self.budget.streamed += stop - start
                if self.budget.streamed > self.limits.max_streamed_bytes:
                    cut = True
                    self.warn(f"log cut after {size} bytes: the bundle's logs exceed the {self.limits.max_streamed_bytes} byte cap", name)
                    break
                if spec is ANY_LOG and size > self.limits.max_member_bytes:  # not known to be a log: the member cap
                    cut = True
                    self.warn(f"member cut at the {self.limits.max_member_bytes} byte cap (decompression bomb or huge file); the rest was not read", name)
                    break
                line_filter.feed(block, start, stop)
        except READ_ERRORS:
            self.pending = lambda reason: self._emit_filtered(name, spec, line_filter, first, size, f"cut: {reason}")
            raise
        self._emit_filtered(name, spec, line_filter, first, size, "cut at the log size cap" if cut else None)

    def _emit_filtered(self, name: str, spec: FilterSpec, line_filter: LineFilter, first: bytes, size: int, note: str | None) -> None:
        text, numbers = line_filter.finish()
        if line_filter.lines_cut:
            self.warn(f"lines longer than {self.limits.max_line_chars} characters were cut", name)
        if line_filter.full:
            self.warn(f"more than {line_filter.max_kept_bytes} bytes of matching lines: the rest of the log was scanned, not kept", name)
        node_path, sample = node_path_of(name)
        kind = classify(node_path, basename(name), text[:HEAD_CHARS])
        if kind not in STREAM_SPECS and spec is not ANY_LOG:  # the head said which log; keep it
            kind = next(k for k, s in STREAM_SPECS.items() if s is spec)
        artifact = Artifact(path=name, kind=kind, size=size, text=text, node_path=node_path, truncated=note is not None,
                            sample=sample, line_numbers=numbers)
        artifact.notes.append(f"streamed: {line_filter.lines_kept} of {line_filter.lines_seen} lines kept")
        self._emit(artifact, note)
        if note and note.startswith("cut: "):
            self.warn(f"member {note}; the lines read before the fault are analyzed", name)

    def _add_cut(self, name: str, data: bytes, reason: str) -> None:
        self.seen.discard(_clean(name))
        self.add(name, data, True, note=f"cut: {reason}")
        self.warn(f"member cut: {reason}; what was read of it is analyzed", _clean(name))

    def _first_time(self, name: str, size: int) -> bool:
        if name in self.seen:
            self.skip(name, size, "duplicate member name: the first one was kept")
            self.warn("duplicate member name: the first one was kept", name)
            return False
        self.seen.add(name)
        return True

    def add_read_pair(self, name: str, read: tuple[bytes | bytearray, bool]) -> None:
        """``add`` of what ``read_capped`` returned, the pair handed over (its bytes go once decoded)."""
        data, cut = read
        del read
        self.add(name, data, cut)

    def add(self, name: str, data: bytes, cut: bool, note: str | None = None) -> None:
        """A member read whole: checked, decoded, classified and handed to the sink. A caller that does not
        keep ``data`` (``add_read``, ``add_read_pair``) lets the bytes go as soon as they are decoded: an
        8 MB manifest or a 4 MB pod list is not held as bytes and as text while it is parsed."""
        name = _clean(name)
        size = len(data)
        if not self._first_time(name, size):
            return
        if _looks_compressed(data):  # before the binary test: compressed bytes often look binary too
            self.skip(name, size, "nested archive or compressed member: not opened (extract it and analyze it separately)")
            return
        if is_binary(data):
            self.skip(name, size, "binary content")
            return
        if size <= self.limits.max_line_chars and _ascii_as_is(data):
            text = data.decode("ascii")  # most members: nothing to repair, no line too long, nothing to say
        else:
            text = self._decoded(name, data)
        del data
        node_path, sample = node_path_of(name)
        kind = classify(node_path, basename(name), text[:HEAD_CHARS])
        artifact = Artifact(path=name, kind=kind, size=size, text=text, node_path=node_path, truncated=cut, sample=sample)
        self._emit(artifact, note or ("cut at the size cap" if cut else None))

    def _decoded(self, name: str, data: bytes) -> str:
        """decode_text, with a warning for what it had to change."""
        text, lines_cut = decode_text(data, self.limits)
        if lines_cut:
            self.warn(f"lines longer than {self.limits.max_line_chars} characters were cut", name)
        altered = _what_decoding_changed(data, text)
        if altered:
            self.warn(f"read with {altered}", name)
        return text

    def _emit(self, artifact: Artifact, note: str | None) -> None:
        status = "ignored" if artifact.kind is ArtifactKind.UNKNOWN else "parsed"
        entry = file_record(artifact.path, KIND_VALUES[artifact.kind], artifact.size, status, note)
        self.bundle.files.append(entry)
        if artifact.node_path:
            self.root_prefixes.add(artifact.path[: len(artifact.path) - len(artifact.node_path)].rstrip("/"))
        self.sink(artifact, entry)
        if entry.status != "ignored":  # the sink may read more than the kind promised (a paste)
            self.known_kinds += 1


COMPRESSED_FIRST_BYTES = b"\x1fP\xfdB"  # gzip, zip, xz, bzip2: a text starts with none of these but "P" and "B"


def _looks_compressed(data: bytes) -> bool:
    if len(data) > 262 and data[257:262] == b"ustar":
        return True
    return data[:1] in COMPRESSED_FIRST_BYTES and bool(data) and (
        data[:2] == b"\x1f\x8b" or data[:4] == b"PK\x03\x04" or data[:6] == b"\xfd7zXZ\x00" or data[:3] == b"BZh")


# --- tar ----------------------------------------------------------------------------------

TAR_SKIP_REASONS = {
    ord(tarfile.SYMTYPE): "symbolic link (never followed)",
    ord(tarfile.LNKTYPE): "hard link (never followed)",
    ord(tarfile.CHRTYPE): "character device",
    ord(tarfile.BLKTYPE): "block device",
    ord(tarfile.FIFOTYPE): "fifo",
}


READ_ERRORS = (EOFError, OSError, zlib.error, lzma.LZMAError, tarfile.TarError)  # StreamEnded is an EOFError
MAX_TRAILER_CHECK = 64 * 1024 * 1024


def _read_tar(blocks: Iterator[bytes], intake: _Intake) -> None:
    """Members in order from the (decompressed) blocks of a tar archive; a fault keeps what came before.

    analyzer/tarstream.py reads the headers as tarfile does, and hands each member's bytes over
    from the blocks themselves: nothing is extracted, nothing read twice. A header that is not one
    (bad checksum) stops the reading with a warning, so does a stream that ends inside a member or
    a header (a truncated download, a cut gzip). After the end-of-archive block, anything but zero
    padding means members were lost.
    """
    source = BlockSource(blocks)
    records = getattr(blocks, "header_records", None)  # the decompressor child read the headers already
    last_ok = None
    try:
        for member in (handed_members(source, records()) if records is not None else members(source)):
            if not intake.count_member():
                return
            _take_tar_member(source, member, intake)
            last_ok = member.name
            if not intake.room():
                return
        if not source.rest_is_zeros(MAX_TRAILER_CHECK):
            intake.warn(f"archive corrupt {_after(last_ok)}: data after the end-of-archive marker was not read")
    except TarHeaderError as err:
        if last_ok is None and not intake.bundle.files:
            raise InputUnreadable(f"{intake.bundle.source_name} is not a readable archive: {_short(err)}") from None
        intake.warn(f"archive corrupt {_after(last_ok)}: an unreadable member header ({_short(err)}) stopped reading; "
                    "the rest of the archive was not read")
    except READ_ERRORS as err:
        intake.salvage(f"the archive ends inside it ({_short(err)})")
        if last_ok is None and not intake.bundle.files:
            raise InputUnreadable(f"{intake.bundle.source_name} is not a readable archive: {_short(err)}") from None
        intake.warn(f"archive truncated or corrupt {_after(last_ok)} ({_short(err)}): the rest of the archive was not read")


def _after(last_ok: str | None) -> str:
    return f"after member '{_clean(last_ok)}'" if last_ok else "at its start"


def _take_tar_member(source: BlockSource, member: TarMember, intake: _Intake) -> None:
    name = member.name
    if member.isdir():
        return
    if member.isreg() and intake.whole_fits(member.size) and intake.add_plain(name, source, member.size):
        return  # most members: a small file of a cgroup or /proc folder
    reason = TAR_SKIP_REASONS.get(member.type) or unsafe_name_reason(name)
    if reason is None and member.sparse:
        reason = "sparse file (not read)"
    if reason is None and not member.isreg():
        reason = f"unsupported member type {bytes([member.type])!r}"
    if reason is not None:
        intake.skip(name, member.size, reason)
        intake.warn(f"skipped member: {reason}", name)
        return
    if intake.whole_fits(member.size):  # most members: read in one take from the block, no body, no buffer
        intake.add_read(name, source, member.size)
        return
    intake.take(name, _TarBody(source, member.size), member.size)


def _short(err: BaseException) -> str:
    text = str(err) or type(err).__name__
    return text if len(text) < 160 else text[:157] + "..."


# --- zip ----------------------------------------------------------------------------------


def _read_zip(path: Path, intake: _Intake) -> None:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as err:
        raise InputUnreadable(f"{intake.bundle.source_name} is not a readable zip archive: {_short(err)}") from None
    with archive:
        for info in archive.infolist():
            if not intake.count_member() or not intake.room():
                break
            _take_zip_member(archive, info, intake)


def _take_zip_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, intake: _Intake) -> None:
    name = info.filename
    if info.is_dir():
        return
    mode = info.external_attr >> 16
    reason = unsafe_name_reason(name)
    if stat.S_ISLNK(mode):
        reason = "symbolic link (never followed)"
    elif mode and not stat.S_ISREG(mode) and stat.S_IFMT(mode):
        reason = "special file"
    elif info.flag_bits & 0x1:
        reason = "encrypted member"
    if reason is not None:
        intake.skip(name, info.file_size, reason)
        intake.warn(f"skipped member: {reason}", name)
        return
    try:
        with archive.open(info) as stream:
            intake.take(name, _StreamBody(stream), info.file_size)
    except (zipfile.BadZipFile, OSError, zlib.error, EOFError, NotImplementedError, RuntimeError) as err:
        if intake.salvage(f"unreadable after this point ({_short(err)})"):
            return
        intake.skip(name, info.file_size, f"unreadable: {_short(err)}")
        intake.warn(f"member could not be read ({_short(err)})", name)
        return


# --- directory ----------------------------------------------------------------------------


def _read_directory(root: Path, intake: _Intake) -> None:
    for top, dirs, files in os.walk(root, followlinks=False, onerror=lambda e: intake.warn(f"cannot list a folder: {e.strerror}", e.filename)):
        dirs.sort()
        for filename in sorted(files):
            full = Path(top) / filename
            rel = full.relative_to(root).as_posix()
            if not intake.count_member() or not intake.room():
                return
            _take_directory_file(full, rel, intake)


def _take_directory_file(full: Path, rel: str, intake: _Intake) -> None:
    try:
        info = full.lstat()
    except OSError as err:
        intake.skip(rel, 0, f"unreadable: {err.strerror}")
        return
    if stat.S_ISLNK(info.st_mode):
        intake.skip(rel, info.st_size, "symbolic link (never followed)")
        return
    if not stat.S_ISREG(info.st_mode):
        intake.skip(rel, 0, "special file (device, fifo or socket)")
        return
    try:
        fd = os.open(full, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as stream:
            intake.take(rel, _StreamBody(stream), info.st_size)
    except OSError as err:
        if intake.salvage(f"unreadable after this point ({err.strerror})"):
            return
        intake.skip(rel, info.st_size, f"unreadable: {err.strerror}")
        intake.warn(f"file could not be read ({err.strerror})", rel)


# --- single files and dispatch --------------------------------------------------------------


def _magic(path: Path) -> bytes:
    with path.open("rb") as handle:
        return handle.read(512)


@contextmanager
def _blocks_of(path: Path, magic: bytes) -> Iterator[Iterator[bytes]]:
    """The file's bytes in blocks: decompressed ahead of the reader when compressed, read as they are otherwise."""
    if opener_for(magic) is not None:
        with open_blocks(path, magic) as blocks:
            yield blocks
    else:
        with path.open("rb") as stream:
            yield plain_blocks(stream)


def _read_single(path: Path, magic: bytes, intake: _Intake) -> None:
    opener = opener_for(magic)
    name = path.name
    for suffix in (".gz", ".xz", ".bz2"):
        if opener is not None and name.endswith(suffix):
            name = name[: -len(suffix)]
    try:
        with _blocks_of(path, magic) as blocks:
            source = BlockSource(blocks)
            head = source.read(HEAD_CHARS)
            if not head:
                raise InputUnreadable(f"{path.name} is empty")
            if is_binary(head):
                raise InputUnreadable(f"{path.name} is binary data (not a bundle, archive or text log)")
            source.unread(head)
            intake.take(name, source, None if opener is not None else path.stat().st_size)
    except READ_ERRORS as err:
        if not intake.salvage(f"the file ends early ({_short(err)})"):
            raise InputUnreadable(f"{path.name} could not be decompressed: {_short(err)}") from None


TAR_NAMES = (".tar", ".tar.gz", ".tgz", ".tar.xz", ".tar.bz2", ".txz", ".tbz2")


def _empty_tar(block: bytes, path: Path) -> bool:
    """An archive of only end-of-archive blocks (an empty tar) has no ustar magic to see."""
    return len(block) == 512 and block == bytes(512) and path.name.endswith(TAR_NAMES)


def _compressed_tar(path: Path, magic: bytes) -> bool:
    opener = opener_for(magic)
    if opener is None:
        return False
    try:
        with opener(path, "rb") as stream:
            block = stream.read(512)
            return is_tar_header(block) or _empty_tar(block, path)
    except (OSError, EOFError, zlib.error, lzma.LZMAError):
        return path.name.endswith(TAR_NAMES)


def open_bundle(path: Path, limits: Limits | None = None, sink: Callable[[Artifact, BundleFile], None] | None = None) -> Bundle:
    """Read every member of the bundle at ``path`` (see module docstring). Raises InputUnreadable.

    With a ``sink``, each artifact is handed to it as soon as it is read (members in archive
    order) and ``bundle.artifacts`` stays empty: a caller that keeps little keeps memory small.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp()); _ = (d / "dmesg.txt").write_text("[1.0] Killed process 1 (x)\\n")
    >>> b = open_bundle(d)
    >>> b.source_kind, [(a.path, a.kind.value) for a in b.artifacts]
    ('directory', [('dmesg.txt', 'kernel_log')])
    """
    limits = limits or Limits()
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        raise InputUnreadable(f"{path} does not exist")
    if path.is_dir():
        bundle = Bundle(source_name=path.resolve().name or str(path), source_kind="directory")
        intake = _Intake(bundle, limits, sink)
        _read_directory(path, intake)
        _finish(bundle, intake)
        return bundle
    if not path.is_file():
        raise InputUnreadable(f"{path.name} is not a regular file or directory")
    try:
        magic = _magic(path)
    except OSError as err:
        raise InputUnreadable(f"cannot read {path}: {err.strerror}") from None
    if not magic:
        raise InputUnreadable(f"{path.name} is empty")
    if magic[:4] == b"PK\x03\x04" or magic[:4] == b"PK\x05\x06":
        bundle = Bundle(source_name=path.name, source_kind="zip")
        intake = _Intake(bundle, limits, sink)
        _read_zip(path, intake)
    elif is_tar_header(magic) or _empty_tar(magic, path) or _compressed_tar(path, magic):
        bundle = Bundle(source_name=path.name, source_kind="tar")
        intake = _Intake(bundle, limits, sink)
        with _blocks_of(path, magic) as blocks:
            _read_tar(blocks, intake)
    else:
        bundle = Bundle(source_name=path.name, source_kind="file")
        intake = _Intake(bundle, limits, sink)
        _read_single(path, magic, intake)
    _finish(bundle, intake)
    return bundle


def _finish(bundle: Bundle, intake: _Intake) -> None:
    bundle.bytes_read = intake.budget.total + intake.budget.streamed
    if bundle.source_kind in ("tar", "zip") and not bundle.files:
        bundle.warnings.append(BundleWarning(message="empty archive: it holds no files"))
    if not intake.known_kinds:
        bundle.warnings.append(
            BundleWarning(message="nothing podmortem knows was found (no kernel log, cgroup files, kubelet or pod output)")
        )
    if len(intake.root_prefixes) == 1:
        bundle.root_prefix = next(iter(intake.root_prefixes)) or None


def iter_text_members(bundle: Bundle) -> Iterator[Artifact]:
    """Artifacts of a known kind, main snapshot first, samples after."""
    yield from (a for a in bundle.artifacts if a.sample is None and a.kind is not ArtifactKind.UNKNOWN)
    yield from (a for a in bundle.artifacts if a.sample is not None and a.kind is not ArtifactKind.UNKNOWN)
