"""Builders of hostile and broken bundles, shared by tests/test_bundle_hostile*.py and
benchmarks/hostile_figures.py (issue 7 part 1).

Every archive is HAND-BUILT here, in the caller's folder, small on disk (bombs are zeros that
compress ~1000:1). A builder plants a real-format kernel OOM line (victim pid 4242) BEFORE the
fault wherever the format allows, so "what was readable before the fault is still analyzed" can be
checked: the report must name pid 4242. Hostile member names carry a random canary
(``canary-<hex>``) that must never appear on disk anywhere.
"""
from __future__ import annotations

import gzip
import io
import os
import secrets
import tarfile
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

OOM_PID = 4242
OOM_LINE = (
    b"[ 5.000001] Memory cgroup out of memory: Killed process 4242 (eater) total-vm:1024kB, "
    b"anon-rss:512kB, file-rss:0kB, shmem-rss:0kB\n"
)
MIB = 1024**2


def add(tar: tarfile.TarFile, name: str, data: bytes = b"", **attrs) -> None:
    """One member; ``attrs`` set TarInfo fields (type, linkname, devmajor...)."""
    info = tarfile.TarInfo(name)
    info.size = len(data)
    for key, value in attrs.items():
        setattr(info, key, value)
    tar.addfile(info, io.BytesIO(data) if data else None)


def make_tar(path: Path, members, mode: str = "w:gz") -> Path:
    """A tar of (name, data[, attrs]) members."""
    with tarfile.open(path, mode) as tar:
        for member in members:
            add(tar, *member[:2], **(member[2] if len(member) > 2 else {}))
    return path


class Zeros(io.RawIOBase):
    """``size`` zero bytes, produced as read (a bomb member never sits in the builder's memory)."""

    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:
        n = min(len(buf), self.left)
        buf[:n] = bytes(n)
        self.left -= n
        return n


def add_zeros(tar: tarfile.TarFile, name: str, size: int) -> None:
    info = tarfile.TarInfo(name)
    info.size = size
    tar.addfile(info, Zeros(size))


# --- the hostile suite ------------------------------------------------------------------------


@dataclass
class Hostile:
    """One hostile input: how to build it and what a correct run shows."""

    name: str
    build: Callable[[Path, str], Path]  # (folder, canary) -> bundle path
    warning: str | None  # a word the report's warnings (or skipped-file notes, or stderr) must hold; None: nothing is lost
    planted: bool = True  # the OOM line (pid 4242) is in it, before any fault
    exit_codes: tuple[int, ...] = (0,)
    slow: bool = False  # seconds, not milliseconds: benchmarks only


def _dmesg() -> tuple[str, bytes]:
    return ("b/commands/dmesg.txt", OOM_LINE)


def build_absolute(folder: Path, canary: str) -> Path:
    return make_tar(folder / "absolute.tar.gz", [_dmesg(), (f"/tmp/{canary}", b"written outside\n")])


def build_dotdot(folder: Path, canary: str) -> Path:
    return make_tar(folder / "dotdot.tar.gz", [_dmesg(), (f"../../{canary}", b"written outside\n"), (f"b/../../../{canary}-2", b"x\n")])


def build_symlink_out(folder: Path, canary: str) -> Path:
    """Links to the analyst's own files, one named like an artifact podmortem reads (proc/meminfo)."""
    return make_tar(folder / "symlink-out.tar.gz", [
        _dmesg(),
        ("b/proc/meminfo", b"", {"type": tarfile.SYMTYPE, "linkname": "/proc/meminfo"}),
        ("b/etc-passwd", b"", {"type": tarfile.SYMTYPE, "linkname": "../../../../../../etc/passwd"}),
        (f"b/{canary}", b"", {"type": tarfile.SYMTYPE, "linkname": f"/tmp/{canary}"}),
    ])


def build_hardlink_out(folder: Path, canary: str) -> Path:
    return make_tar(folder / "hardlink-out.tar.gz", [
        _dmesg(),
        ("b/passwd", b"", {"type": tarfile.LNKTYPE, "linkname": "/etc/passwd"}),
        ("b/up", b"", {"type": tarfile.LNKTYPE, "linkname": f"../../{canary}"}),
        ("b/again", b"", {"type": tarfile.LNKTYPE, "linkname": "b/commands/dmesg.txt"}),
    ])


def build_devices_fifo(folder: Path, canary: str) -> Path:
    return make_tar(folder / "devices-fifo.tar.gz", [
        _dmesg(),
        ("b/dev-zero", b"", {"type": tarfile.CHRTYPE, "devmajor": 1, "devminor": 5}),
        ("b/disk", b"", {"type": tarfile.BLKTYPE, "devmajor": 8, "devminor": 0}),
        (f"b/{canary}-fifo", b"", {"type": tarfile.FIFOTYPE}),
    ])


def build_duplicates(folder: Path, canary: str) -> Path:
    return make_tar(folder / "duplicates.tar.gz", [_dmesg(), ("b/commands/dmesg.txt", b"a second dmesg.txt, later in the archive\n")] * 3)


def build_many_members(folder: Path, canary: str, count: int = 100_000) -> Path:
    """``count`` tiny members (a few bytes each) after the dmesg: the report must stay bounded."""
    path = folder / f"many-{count}.tar.gz"
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:
        add(tar, *_dmesg())
        for i in range(count):
            add(tar, f"b/junk/{i // 1000:03d}/f{i:06d}.txt", b"x\n")
    return path


def build_gzip_bomb(folder: Path, canary: str, size: int = 4 * 1024**3) -> Path:
    """One member of ``size`` zeros (default 4 GiB, past the 256 MiB member cap), then another member."""
    path = folder / "gzip-bomb.tar.gz"
    with gzip.open(path, "wb", compresslevel=6) as gz, tarfile.open(fileobj=gz, mode="w|") as tar:
        add(tar, *_dmesg())
        add_zeros(tar, "b/var/log/bomb.log", size)
        add(tar, "b/proc/meminfo", b"MemTotal:  1024 kB\n")
    return path


def build_zip_bomb(folder: Path, canary: str, size: int = 1024**3) -> Path:
    """A deflated member of ``size`` zeros (default 1 GiB, ~1 MB on disk) between two readable ones."""
    path = folder / "zip-bomb.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(*_dmesg())
        with archive.open("b/var/log/bomb.log", "w", force_zip64=True) as member:
            chunk = bytes(MIB)
            for _ in range(size // MIB):
                member.write(chunk)
        archive.writestr("b/proc/meminfo", "MemTotal:  1024 kB\n")
    return path


def build_nested(folder: Path, canary: str) -> Path:
    """tar.gz in a zip in a tar.gz (each with an OOM of its own that must NOT be opened)."""
    inner = make_tar(folder / "inner.tar.gz", [("x/commands/dmesg.txt", OOM_LINE.replace(b"4242", b"777"))])
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("y/inner.tar.gz", inner.read_bytes())
    inner.unlink()
    return make_tar(folder / "nested.tar.gz", [_dmesg(), ("b/middle.zip", buffer.getvalue()), ("b/raw.gz", gzip.compress(OOM_LINE))])


def build_truncated_gzip(folder: Path, canary: str) -> Path:
    """A tar.gz cut in the middle of its last member's compressed data."""
    noise = os.urandom(256 * 1024)  # incompressible, so the cut lands inside this member
    full = make_tar(folder / "full.tar.gz", [_dmesg(), ("b/proc/meminfo", b"MemTotal:  1024 kB\n"), ("b/var/log/big.log", noise)])
    data = full.read_bytes()
    full.unlink()
    path = folder / "truncated-gzip.tar.gz"
    path.write_bytes(data[: len(data) // 2])
    return path


def build_corrupt_header(folder: Path, canary: str) -> Path:
    """An uncompressed tar whose third member header is overwritten with 0xff (mid-archive)."""
    good = make_tar(folder / "good.tar", [_dmesg(), ("b/proc/meminfo", b"MemTotal: 1 kB\n"), ("b/later.txt", b"x" * 600), ("b/last.txt", b"y\n")], mode="w")
    raw = bytearray(good.read_bytes())
    good.unlink()
    raw[2048 : 2048 + 100] = b"\xff" * 100  # two members of one header + one data block each come before it
    path = folder / "corrupt-header.tar"
    path.write_bytes(bytes(raw))
    return path


def build_binary_text(folder: Path, canary: str) -> Path:
    """Invalid UTF-8, NULs and a BOM around the OOM line of a kernel log."""
    text = b"\xef\xbb\xbf\xff\xfe\xc3\x28 bad utf8\n" + b"\x00" * 64 + OOM_LINE.replace(b"Killed", b"Kil\x00led") + b"\xa0\xa1 tail\x00\n"
    return make_tar(folder / "non-utf8-nul.tar.gz", [("b/commands/dmesg.txt", text)])


def build_long_line(folder: Path, canary: str, chars: int = 10 * MIB) -> Path:
    """A kernel log whose second line is ``chars`` characters long (10 MB by default), no newline in it."""
    text = OOM_LINE + b"[ 6.000000] " + b"A" * chars + b"\n" + b"[ 7.000000] after the long line\n"
    return make_tar(folder / "long-line.tar.gz", [("b/commands/dmesg.txt", text)])


def build_crlf(folder: Path, canary: str) -> Path:
    return make_tar(folder / "crlf.tar.gz", [("b/commands/dmesg.txt", OOM_LINE.replace(b"\n", b"\r\n") * 2),
                                            ("b/proc/meminfo", b"MemTotal:  1024 kB\r\nMemAvailable:  512 kB\r\n")])


def build_empty(folder: Path, canary: str) -> Path:
    path = folder / "empty.tar.gz"
    with tarfile.open(path, "w:gz"):
        pass
    return path


def build_zip_hostile_names(folder: Path, canary: str) -> Path:
    """The same hostile names in a zip: absolute, .., a symlink entry, a duplicate."""
    path = folder / "zip-names.zip"
    with zipfile.ZipFile(path, "w") as archive, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile warns about the duplicate name: it is the point
        archive.writestr(*_dmesg())
        archive.writestr(f"/tmp/{canary}", "x")
        archive.writestr(f"../../{canary}", "x")
        link = zipfile.ZipInfo("b/proc/meminfo")
        link.external_attr = 0o120777 << 16
        archive.writestr(link, "/proc/meminfo")
        archive.writestr(zipfile.ZipInfo("b/commands/dmesg.txt"), "duplicate")
    return path


def build_directory_links(folder: Path, canary: str) -> Path:
    """A bundle folder with a symlink to /etc/passwd, one to the host's /proc/meminfo, and a fifo (a reader would block)."""
    root = folder / "dir-bundle"
    (root / "commands").mkdir(parents=True)
    (root / "proc").mkdir()
    (root / "commands" / "dmesg.txt").write_bytes(OOM_LINE)
    (root / "passwd").symlink_to("/etc/passwd")
    (root / "proc" / "meminfo").symlink_to("/proc/meminfo")
    os.mkfifo(root / f"{canary}-fifo")
    return root


def build_whitespace_runs(folder: Path, canary: str, run: int = 990_000) -> Path:
    """Tables whose cells hold ``run`` spaces or tabs (just under the 1,000,000-character line cap):
    a regex that backtracks over a run (``.*?\\s*$``, ``.+?\\s{2,}``) takes hours on these."""
    describe = b"Name: cart\nNamespace: shop\nContainers:\n  worker:\n    Reason: a" + b" " * run + b"b\n"
    events = (b"LAST SEEN   TYPE      REASON       OBJECT          MESSAGE\n"
              b"2m          Warning   OOMKilling   node/node1      Memory cgroup out of memory: Kill process 1 (a" + b" " * run + b"b)\n")
    crictl = b"CONTAINER           IMAGE               CREATED             STATE               NAME      ATTEMPT   POD ID\n" \
             b"538fbb2396de1       013718a8b3d9       " + b"\t" * run + b"x\n"
    return make_tar(folder / "whitespace-runs.tar.gz", [_dmesg(), ("b/commands/kubectl-describe-pod.txt", describe),
                                                       ("b/commands/kubectl-get-events.txt", events), ("b/commands/crictl-ps.txt", crictl)])


def build_empty_file(folder: Path, canary: str) -> Path:
    path = folder / "empty.tar.gz"
    path.write_bytes(b"")
    return path


def build_random_bytes(folder: Path, canary: str) -> Path:
    path = folder / "random.bin"
    path.write_bytes(os.urandom(64 * 1024))
    return path


HOSTILE = [
    Hostile("absolute member names", build_absolute, "absolute path"),
    Hostile("../ member names", build_dotdot, "escapes"),
    Hostile("symlinks pointing outside", build_symlink_out, "symbolic link"),
    Hostile("hardlinks pointing outside", build_hardlink_out, "hard link"),
    Hostile("device and fifo members", build_devices_fifo, "fifo"),
    Hostile("duplicate names", build_duplicates, "duplicate"),
    Hostile("100,000 tiny members", build_many_members, None, slow=True),
    Hostile("gzip bomb (4 GiB of zeros)", build_gzip_bomb, "decompression bomb", slow=True),
    Hostile("zip bomb (1 GiB of zeros)", build_zip_bomb, "decompression bomb", slow=True),
    Hostile("nested archives", build_nested, "nested archive"),
    Hostile("truncated gzip stream", build_truncated_gzip, "truncated"),
    Hostile("corrupt tar header mid-archive", build_corrupt_header, "corrupt"),
    Hostile("non-UTF-8 and NUL bytes", build_binary_text, None),
    Hostile("10 MB single line", build_long_line, "longer than", slow=True),
    Hostile("CRLF line ends", build_crlf, None),
    Hostile("990,000-char whitespace runs in tables", build_whitespace_runs, None, slow=True),
    Hostile("empty archive", build_empty, "empty archive", planted=False),
    Hostile("zip: absolute, .., symlink, duplicate", build_zip_hostile_names, "absolute path"),
    Hostile("directory: symlinks out and a fifo", build_directory_links, "symbolic link"),
    Hostile("zero-byte file", build_empty_file, "empty", planted=False, exit_codes=(2,)),
    Hostile("random bytes", build_random_bytes, "binary", planted=False, exit_codes=(2,)),
]


def new_canary() -> str:
    return f"canary-{secrets.token_hex(6)}"
