"""Open a bundle safely: .tar(.gz|.xz|.bz2), .zip, a directory, or one (possibly gzipped) file.

Nothing is ever extracted to disk. Archive members are read in memory, once, in order
(``tarfile`` stream mode), each under a per-member cap and all under a total cap, so a
decompression bomb costs at most the caps. Hostile members (absolute paths, ``..``, symlinks,
hardlinks, devices, fifos) are never followed and never written: they are listed as skipped.
A truncated or corrupt archive keeps what was read before the fault, and a warning names
what was lost. Text is decoded tolerantly (invalid UTF-8 replaced, NULs dropped, CRLF -> LF).
"""
from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from analyzer.artifacts import Artifact, ArtifactKind
from analyzer.classify import classify, node_path_of
from analyzer.errors import InputUnreadable
from analyzer.models.report import BundleFile, BundleWarning

HEAD_CHARS = 64 * 1024
READ_CHUNK = 1024 * 1024
ARCHIVE_SUFFIXES = (".tar", ".tgz", ".tar.gz", ".tar.xz", ".tar.bz2", ".zip", ".gz", ".xz", ".bz2", ".tbz2", ".txz")


@dataclass
class Limits:
    max_member_bytes: int = 256 * 1024**2  # per-member uncompressed cap: cut there, warn
    max_total_bytes: int = 2 * 1024**3  # all members together: stop there, warn
    max_members: int = 200_000  # stop after this many members, warn
    max_line_chars: int = 1_000_000  # longer lines are cut, warn once per file


@dataclass
class Bundle:
    source_name: str
    source_kind: str  # "tar" | "zip" | "directory" | "file"
    artifacts: list[Artifact] = field(default_factory=list)
    files: list[BundleFile] = field(default_factory=list)
    warnings: list[BundleWarning] = field(default_factory=list)
    root_prefix: str | None = None


@dataclass
class _Budget:
    limits: Limits
    total: int = 0
    members: int = 0
    exhausted: str | None = None


# --- decoding -----------------------------------------------------------------------------


def is_binary(data: bytes) -> bool:
    """Mostly control bytes in the first 8 KiB (NULs alone do not count: pasted logs carry them).

    >>> is_binary(b"hello\\n"), is_binary(bytes(range(256)))
    (False, True)
    """
    sample = data[:8192]
    if not sample:
        return False
    control = sum(1 for b in sample if b < 32 and b not in (9, 10, 13, 0) or b == 127)
    return control / len(sample) > 0.10


def decode_text(data: bytes, limits: Limits) -> tuple[str, bool]:
    """(text, lines_were_cut): UTF-8 with replacement, no NULs, LF line ends, long lines cut.

    >>> decode_text(b"a\\r\\nb\\x00c\\xff\\n", Limits())
    ('a\\nbc\\ufffd\\n', False)
    """
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") and data[:400].count(0) * 3 >= len(data[:400]):  # UTF-16 (BOM + NULs): Windows tools
        text = data.decode("utf-16", errors="replace").replace("\x00", "")
    else:
        text = data.replace(b"\x00", b"").decode("utf-8", errors="replace")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    cut = False
    if len(text) > limits.max_line_chars and any(len(line) > limits.max_line_chars for line in text.split("\n")):
        text = "\n".join(line[: limits.max_line_chars] for line in text.split("\n"))
        cut = True
    return text, cut


# --- member names -------------------------------------------------------------------------


def unsafe_name_reason(name: str) -> str | None:
    """Why a member name must not be trusted, or None.

    >>> unsafe_name_reason("/etc/passwd"), unsafe_name_reason("a/../../x"), unsafe_name_reason("b/dmesg.txt")
    ('absolute path', 'path escapes the bundle (..)', None)
    """
    if name.startswith("/") or (len(name) > 1 and name[1] == ":") or name.startswith("\\"):
        return "absolute path"
    if ".." in PurePosixPath(name.replace("\\", "/")).parts:
        return "path escapes the bundle (..)"
    return None


def _clean(name: str) -> str:
    parts = [p for p in PurePosixPath(name.replace("\\", "/")).parts if p not in ("", ".")]
    return "/".join(parts)


# --- the common member intake -------------------------------------------------------------


class _Intake:
    """Turns (name, bytes) into artifacts and file records, enforcing caps and duplicate names."""

    def __init__(self, bundle: Bundle, limits: Limits) -> None:
        self.bundle, self.limits = bundle, limits
        self.budget = _Budget(limits)
        self.seen: set[str] = set()

    def skip(self, name: str, size: int, note: str) -> None:
        self.bundle.files.append(BundleFile(path=name, kind="unknown", size_bytes=max(size, 0), status="skipped", note=note))

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

    def read_capped(self, stream: io.BufferedIOBase, name: str) -> tuple[bytes, bool]:
        """Read at most the member cap (+1 byte to know it was cut) within the total budget."""
        left_total = self.limits.max_total_bytes - self.budget.total
        cap = min(self.limits.max_member_bytes, max(left_total, 0))
        chunks, got = [], 0
        while got <= cap:
            chunk = stream.read(min(READ_CHUNK, cap + 1 - got))
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
        data = b"".join(chunks)
        cut = len(data) > cap
        data = data[:cap]
        self.budget.total += len(data)
        if cut and cap == self.limits.max_member_bytes:
            self.warn(f"member cut at the {cap} byte cap (decompression bomb or huge file); the rest was not read", name)
        elif cut:
            self.budget.exhausted = "total size cap"
            self.warn(f"stopped reading: the bundle exceeds the total cap of {self.limits.max_total_bytes} bytes", name)
        return data, cut

    def add(self, name: str, data: bytes, cut: bool) -> None:
        name = _clean(name)
        if name in self.seen:
            self.skip(name, len(data), "duplicate member name: the first one was kept")
            self.warn("duplicate member name: the first one was kept", name)
            return
        self.seen.add(name)
        if is_binary(data):
            self.skip(name, len(data), "binary content")
            return
        if _looks_compressed(data):
            self.skip(name, len(data), "nested archive or compressed member: not opened (extract it and analyze it separately)")
            return
        text, lines_cut = decode_text(data, self.limits)
        if lines_cut:
            self.warn(f"lines longer than {self.limits.max_line_chars} characters were cut", name)
        node_path, sample = node_path_of(name)
        kind = classify(node_path, PurePosixPath(name).name, text[:HEAD_CHARS])
        self.bundle.artifacts.append(
            Artifact(path=name, kind=kind, size=len(data), text=text, node_path=node_path, truncated=cut, sample=sample)
        )
        status = "ignored" if kind is ArtifactKind.UNKNOWN else "parsed"
        self.bundle.files.append(BundleFile(path=name, kind=kind.value, size_bytes=len(data), status=status,
                                            note="cut at the size cap" if cut else None))


def _looks_compressed(data: bytes) -> bool:
    return data[:2] == b"\x1f\x8b" or data[:4] == b"PK\x03\x04" or data[:6] == b"\xfd7zXZ\x00" or data[:3] == b"BZh" or (
        len(data) > 262 and data[257:262] == b"ustar"
    )


# --- tar ----------------------------------------------------------------------------------

TAR_SKIP_REASONS = {
    tarfile.SYMTYPE: "symbolic link (never followed)",
    tarfile.LNKTYPE: "hard link (never followed)",
    tarfile.CHRTYPE: "character device",
    tarfile.BLKTYPE: "block device",
    tarfile.FIFOTYPE: "fifo",
}


TAR_ERRORS = (tarfile.TarError, EOFError, OSError, zlib.error, lzma.LZMAError, ValueError)
MAX_TRAILER_CHECK = 64 * 1024 * 1024


def _read_tar(stream: io.BufferedIOBase, intake: _Intake) -> None:
    """Members in order from a (decompressed) tar stream; a fault keeps what came before.

    tarfile's stream mode ends quietly at a truncated or invalid header in the middle of an
    archive, so once it stops, the rest of the stream is drained: anything but the zero
    padding of the end-of-archive means members were lost, and a truncated gzip raises.
    """
    last_ok = None
    stopped_early = False
    stream = _TailRecorder(stream)
    try:
        with tarfile.open(fileobj=stream, mode="r|") as tar:
            for member in tar:
                if not intake.count_member():
                    stopped_early = True
                    break
                _take_tar_member(tar, member, intake)
                last_ok = member.name
                if not intake.room():
                    stopped_early = True
                    break
        if not stopped_early:
            _check_trailer(stream, intake, last_ok, tar.offset)
    except TAR_ERRORS as err:
        if last_ok is None and not intake.bundle.files:
            raise InputUnreadable(f"{intake.bundle.source_name} is not a readable archive: {_short(err)}") from None
        intake.warn(f"archive truncated or corrupt {_after(last_ok)} ({_short(err)}): the rest of the archive was not read")


def _after(last_ok: str | None) -> str:
    return f"after member '{_clean(last_ok)}'" if last_ok else "at its start"


class _TailRecorder(io.RawIOBase):
    """A pass-through reader that counts bytes and keeps the last ones read (tarfile reads ahead)."""

    KEEP = 64 * 1024

    def __init__(self, inner: io.BufferedIOBase) -> None:
        self.inner, self.pos, self.tail = inner, 0, bytearray()

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self.inner.read(size)
        self.pos += len(data)
        self.tail += data
        if len(self.tail) > self.KEEP:
            del self.tail[: len(self.tail) - self.KEEP]
        return data

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _check_trailer(stream: _TailRecorder, intake: _Intake, last_ok: str | None, tar_offset: int) -> None:
    """What tarfile left after its last member: zero padding is a proper end, data a corrupt header."""
    unread = stream.pos - tar_offset  # read ahead by tarfile but not part of any member it returned
    if 0 < unread <= len(stream.tail) and stream.tail[-unread:].count(0) != unread:
        intake.warn(
            f"archive corrupt {_after(last_ok)}: an unreadable member header stopped reading; "
            "the rest of the archive was not read"
        )
        return
    seen = 0
    while seen < MAX_TRAILER_CHECK:
        chunk = stream.read(READ_CHUNK)
        if not chunk:
            return
        seen += len(chunk)
        if chunk.count(0) != len(chunk):
            intake.warn(
                f"archive corrupt {_after(last_ok)}: an unreadable member header stopped reading; "
                "the rest of the archive was not read"
            )
            return


def _take_tar_member(tar: tarfile.TarFile, member: tarfile.TarInfo, intake: _Intake) -> None:
    name = member.name
    if member.isdir():
        return
    reason = TAR_SKIP_REASONS.get(member.type) or unsafe_name_reason(name)
    if reason is None and not member.isfile():
        reason = f"unsupported member type {member.type!r}"
    if reason is not None:
        intake.skip(name, member.size, reason)
        intake.warn(f"skipped member: {reason}", name)
        return
    stream = tar.extractfile(member)
    if stream is None:
        intake.skip(name, member.size, "no data")
        return
    data, cut = intake.read_capped(stream, name)
    intake.add(name, data, cut)


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
            data, cut = intake.read_capped(stream, name)
    except (zipfile.BadZipFile, OSError, zlib.error, EOFError, NotImplementedError, RuntimeError) as err:
        intake.skip(name, info.file_size, f"unreadable: {_short(err)}")
        intake.warn(f"member could not be read ({_short(err)})", name)
        return
    intake.add(name, data, cut)


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
            data, cut = intake.read_capped(stream, rel)
    except OSError as err:
        intake.skip(rel, info.st_size, f"unreadable: {err.strerror}")
        intake.warn(f"file could not be read ({err.strerror})", rel)
        return
    intake.add(rel, data, cut)


# --- single files and dispatch --------------------------------------------------------------


def _magic(path: Path) -> bytes:
    with path.open("rb") as handle:
        return handle.read(512)


def _is_tar_header(block: bytes) -> bool:
    return len(block) >= 262 and block[257:262] == b"ustar"


def _compressed_opener(magic: bytes):
    if magic[:2] == b"\x1f\x8b":
        return gzip.open
    if magic[:6] == b"\xfd7zXZ\x00":
        return lzma.open
    if magic[:3] == b"BZh":
        return bz2.open
    return None


def _read_single(path: Path, magic: bytes, intake: _Intake) -> None:
    opener = _compressed_opener(magic)
    try:
        if opener is not None:
            with opener(path, "rb") as stream:
                data, cut = intake.read_capped(stream, path.name)
        else:
            with path.open("rb") as stream:
                data, cut = intake.read_capped(stream, path.name)
    except (OSError, EOFError, zlib.error, lzma.LZMAError) as err:
        raise InputUnreadable(f"{path.name} could not be decompressed: {_short(err)}") from None
    if not data:
        raise InputUnreadable(f"{path.name} is empty")
    if is_binary(data):
        raise InputUnreadable(f"{path.name} is binary data (not a bundle, archive or text log)")
    name = path.name
    for suffix in (".gz", ".xz", ".bz2"):
        if opener is not None and name.endswith(suffix):
            name = name[: -len(suffix)]
    intake.add(name, data, cut)


TAR_NAMES = (".tar", ".tar.gz", ".tgz", ".tar.xz", ".tar.bz2", ".txz", ".tbz2")


def _empty_tar(block: bytes, path: Path) -> bool:
    """An archive of only end-of-archive blocks (an empty tar) has no ustar magic to see."""
    return len(block) == 512 and block == bytes(512) and path.name.endswith(TAR_NAMES)


def _compressed_tar(path: Path, magic: bytes) -> bool:
    opener = _compressed_opener(magic)
    if opener is None:
        return False
    try:
        with opener(path, "rb") as stream:
            block = stream.read(512)
            return _is_tar_header(block) or _empty_tar(block, path)
    except (OSError, EOFError, zlib.error, lzma.LZMAError):
        return path.name.endswith(TAR_NAMES)


def open_bundle(path: Path, limits: Limits | None = None) -> Bundle:
    """Read every member of the bundle at ``path`` (see module docstring). Raises InputUnreadable.

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
        _read_directory(path, _Intake(bundle, limits))
        _finish(bundle)
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
        _read_zip(path, _Intake(bundle, limits))
    elif _is_tar_header(magic) or _empty_tar(magic, path) or _compressed_tar(path, magic):
        bundle = Bundle(source_name=path.name, source_kind="tar")
        opener = _compressed_opener(magic)
        with (opener(path, "rb") if opener else path.open("rb")) as stream:
            _read_tar(stream, _Intake(bundle, limits))
    else:
        bundle = Bundle(source_name=path.name, source_kind="file")
        _read_single(path, magic, _Intake(bundle, limits))
    _finish(bundle)
    return bundle


def _finish(bundle: Bundle) -> None:
    if bundle.source_kind in ("tar", "zip") and not bundle.files:
        bundle.warnings.append(BundleWarning(message="empty archive: it holds no files"))
    if not any(a.kind is not ArtifactKind.UNKNOWN for a in bundle.artifacts):
        bundle.warnings.append(
            BundleWarning(message="nothing podmortem knows was found (no kernel log, cgroup files, kubelet or pod output)")
        )
    prefixes = {a.path[: len(a.path) - len(a.node_path)].rstrip("/") for a in bundle.artifacts if a.node_path}
    if len(prefixes) == 1:
        bundle.root_prefix = prefixes.pop() or None


def iter_text_members(bundle: Bundle) -> Iterator[Artifact]:
    """Artifacts of a known kind, main snapshot first, samples after."""
    yield from (a for a in bundle.artifacts if a.sample is None and a.kind is not ArtifactKind.UNKNOWN)
    yield from (a for a in bundle.artifacts if a.sample is not None and a.kind is not ArtifactKind.UNKNOWN)
