"""Gather the cgroup files of a bundle into one ``CgroupMemory`` per cgroup directory.

v1 files live at ``sys/fs/cgroup/memory/<cgroup path>/memory.*``; v2 at
``sys/fs/cgroup/<cgroup path>/memory.*`` (also ``sys/fs/cgroup/unified/`` on hybrid mounts).
The cgroup path is what the kernel prints in OOM reports (``/kubepods/burstable/pod<uid>/<id>``;
the root is ``/``).

A 500-pod node has ~26,000 of these files in ~2,000 cgroups, so each file is read straight into
its cgroup with the parsers' plain readers (``memcg_v1.read_number``, ``read_key_values``...)
and no per-file object, and the evidence of each cgroup is kept as (file, line) until a rule
asks for it (``CgroupEvidence``). Files shown in a paste go through the parsers' ``parse``.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import NamedTuple

from analyzer.artifacts import Artifact, ArtifactKind
from analyzer.classify import basename
from analyzer.models.common import Evidence, Parsed, Problem
from analyzer.models.node import CgroupMemory
from analyzer.parsers import memcg_v1, memcg_v2

V1_ROOT = "sys/fs/cgroup/memory"
V2_ROOTS = ("sys/fs/cgroup/unified", "sys/fs/cgroup")


def cgroup_of(node_path: str) -> tuple[str, int] | None:
    """(cgroup path, version) of a cgroup file's node path.

    >>> cgroup_of("sys/fs/cgroup/memory/kubepods/burstable/memory.stat")
    ('/kubepods/burstable', 1)
    >>> cgroup_of("sys/fs/cgroup/memory.stat"), cgroup_of("sys/fs/cgroup/kubepods.slice/memory.current")
    (('/', 2), ('/kubepods.slice', 2))
    """
    directory = node_path.rpartition("/")[0] or "."
    if directory == V1_ROOT or directory.startswith(V1_ROOT + "/"):
        return "/" + directory[len(V1_ROOT):].strip("/"), 1
    for root in V2_ROOTS:
        if directory == root or directory.startswith(root + "/"):
            return "/" + directory[len(root):].strip("/"), 2
    return None


class CgroupEvidence(Mapping[str, Evidence]):
    """``CgroupMemory.evidence`` of a cgroup read from a bundle: a mapping with the keys and values of
    the dict it replaces (file name or ``stat:<key>`` -> Evidence), each Evidence made when asked for.

    Kept per key: the bundle path (line 1: a file's own evidence; the string the bundle's file list
    already holds), a (path, line) pair (a memory.stat line), or an Evidence (a file of a paste). As
    ~20 pydantic Evidence per cgroup this was 10 KB per cgroup, most of the cgroup tree's memory.

    >>> ev = CgroupEvidence()
    >>> ev.spots.update({"memory.stat": "b/memory.stat", "stat:rss": ("b/memory.stat", 2)})
    >>> ev["stat:rss"].cite(), ev.get("memory.stat"), ev.get("memory.max"), list(ev)
    ('b/memory.stat:2', Evidence(file='b/memory.stat', line=1), None, ['memory.stat', 'stat:rss'])
    """

    __slots__ = ("spots",)

    def __init__(self) -> None:
        self.spots: dict[str, str | tuple[str, int | None] | Evidence | None] = {}

    def __getitem__(self, key: str) -> Evidence:
        return _evidence_at(self.spots[key])

    def get(self, key: str, default: Evidence | None = None) -> Evidence | None:  # Mapping.get raises and catches KeyError
        spot = self.spots.get(key, default)
        return spot if spot is default else _evidence_at(spot)

    def __contains__(self, key: object) -> bool:
        return key in self.spots

    def __iter__(self) -> Iterator[str]:
        return iter(self.spots)

    def __len__(self) -> int:
        return len(self.spots)

    def __repr__(self) -> str:
        return f"CgroupEvidence({dict(self)!r})"


def _evidence_at(spot: str | tuple[str, int | None] | Evidence | None) -> Evidence | None:
    if type(spot) is str:
        return Evidence.at(spot, 1)
    if type(spot) is tuple:
        return Evidence.at(spot[0], spot[1])
    return spot  # an Evidence (or None) as a parser made it


class FileReader(NamedTuple):
    """How one cgroup file name is read: its kind, the CgroupMemory field a number sets."""

    name: str  # the file name, one string shared by every cgroup's evidence keys
    kind: str  # NUMBER | KEY_VALUES | PRESSURE
    field: str | None = None
    limit: bool = False  # a number from 2**62 up means "no limit"
    unlimited_words: tuple[str, ...] = ()


NUMBER, KEY_VALUES, PRESSURE = "number", "key_values", "pressure"


def _readers(numbers: dict[str, str], key_values: Iterable[str], unlimited_words: tuple[str, ...]) -> dict[str, FileReader]:
    readers = {name: FileReader(name, NUMBER, field, field.endswith("limit_bytes"), unlimited_words) for name, field in numbers.items()}
    readers.update((name, FileReader(name, KEY_VALUES)) for name in key_values)
    return readers


# by cgroup version: the files memcg_v1.parse / memcg_v2.parse read, with the same reading rules
READERS = {
    1: _readers(memcg_v1.NUMBER_FILES, memcg_v1.KV_FILES, ()),
    2: {**_readers(memcg_v2.NUMBER_FILES, memcg_v2.KV_FILES, memcg_v2.UNLIMITED_WORDS), "memory.pressure": FileReader("memory.pressure", PRESSURE)},
}
CGROUP_FIELDS = frozenset(CgroupMemory.model_fields)
CGROUP_PROCS = ArtifactKind.CGROUP_PROCS
NO_FOLDER = object()


def _set_number(cg: CgroupMemory, field: str | None, number: int | None, unlimited: bool) -> None:
    if field == "limit_bytes":
        cg.limit_unlimited = unlimited
    if field == "oom_group":
        cg.oom_group = bool(number)
    elif field in CGROUP_FIELDS:  # soft_limit_bytes and kmem_usage_bytes are read (and cited) but not kept
        setattr(cg, field, number)


def _set_values(cg: CgroupMemory, name: str, values: dict[str, int]) -> None:
    if name == "memory.stat":
        cg.stat = values
    elif name == "memory.oom_control":
        cg.oom_kill_disable = bool(values.get("oom_kill_disable")) if "oom_kill_disable" in values else None
        cg.under_oom = bool(values.get("under_oom")) if "under_oom" in values else None
        cg.oom_kill = values.get("oom_kill")
    elif name == "memory.events":
        cg.events = values
        cg.oom_kill = values.get("oom_kill", cg.oom_kill)
    elif name == "memory.events.local":
        cg.events_local = values
    elif name == "memory.pressure":
        cg.pressure = {kind: {k.split("_", 1)[1]: v for k, v in values.items() if k.startswith(kind + "_")} for kind in ("some", "full")}


def _apply(cg: CgroupMemory, value: memcg_v1.MemcgFile, name: str) -> None:
    """A parser's MemcgFile into its cgroup (files of a paste)."""
    cg.evidence.spots.update(value.evidence)
    if value.field is not None:
        _set_number(cg, value.field, value.number, value.unlimited)
    else:
        _set_values(cg, name, value.values)


def _procs(text: str) -> list[int]:
    return [int(tok) for tok in text.split() if tok.isdecimal() and len(tok) <= 20][:100_000]  # not isdigit(): int("²") raises


def _cited_in_paste(parsed: Parsed, paste: str, numbers: list[int]) -> Parsed:
    def moved(ev: Evidence | None) -> Evidence | None:
        if ev is None:
            return None
        line = numbers[ev.line - 1] if ev.line and ev.line <= len(numbers) else (numbers[0] if numbers else None)
        return Evidence(file=paste, line=line)

    if parsed.value is not None:
        parsed.value.evidence = {key: moved(ev) for key, ev in parsed.value.evidence.items()}
    parsed.problems = [Problem(message=p.message, evidence=moved(p.evidence)) for p in parsed.problems]
    return parsed


class CgroupBuilder:
    """One CgroupMemory per cgroup directory, built file by file as the reader yields them (only the
    parsed numbers are kept, never the files), with the problems met on the way."""

    def __init__(self) -> None:
        self.cgroups: dict[str, CgroupMemory] = {}
        self.problems: list[Problem] = []
        # node directory -> its cgroup, the readers of its version and its evidence spots (None: not a cgroup
        # directory): each of its ~13 files costs one look-up instead of cgroup_of() and two more (0.6 -> 0.1 µs)
        self._folders: dict[str, tuple[CgroupMemory, dict[str, FileReader], dict] | None] = {}

    def add(self, artifact: Artifact) -> None:
        node_path = artifact.node_path
        if node_path is None:
            return
        directory, _, name = node_path.rpartition("/")
        folder = self._folders.get(directory, NO_FOLDER)
        if folder is NO_FOLDER:
            folder = self._folders[directory] = self._folder(node_path, artifact.kind)
        if folder is None:
            return
        cg, readers, spots = folder
        if artifact.kind is CGROUP_PROCS:
            cg.procs = _procs(artifact.text)
            return
        source = artifact.path
        if artifact.line_numbers is not None or not name or not source.endswith(node_path):
            self._parse(cg, artifact)  # a file shown in a paste (cited at the paste's lines), an odd node path
            return
        reader = readers.get(name)
        if reader is not None:  # else memory.swappiness, memory.numa_stat...: the parsers say unrecognised, without a problem
            self._read(cg, spots, reader, source, artifact.text)

    def _read(self, cg: CgroupMemory, spots: dict, reader: FileReader, source: str, text: str) -> None:
        """One file of a bundle's cgroup directory (``source`` ends with its node path), as memcg_v1/v2.parse read it."""
        name, kind, field, limit, unlimited_words = reader
        if kind == NUMBER:
            number, unlimited, problem = memcg_v1.read_number(text, limit, unlimited_words)
            if problem is not None:
                self.problems.append(Problem(message=f"{name}: {problem}", evidence=Evidence(file=source, line=1)))
                return
            spots[name] = source
            _set_number(cg, field, number, unlimited)
            return
        if kind == KEY_VALUES:
            values, cited, problems = memcg_v1.read_key_values(text, name)
            if problems:
                self.problems.extend(Problem(message=message, evidence=Evidence(file=source) if no is None else Evidence(file=source, line=no))
                                     for message, no in problems)
            for key, no in cited.items():  # empty when no value was read
                spots[key] = (source, no)
        else:
            values = memcg_v2.read_pressure(text)
            if not values:
                self.problems.append(Problem(message=f"{name}: no PSI lines", evidence=Evidence(file=source)))
        if values:
            spots[name] = source
            _set_values(cg, name, values)

    def _folder(self, node_path: str, kind: ArtifactKind) -> tuple[CgroupMemory, dict[str, FileReader], dict] | None:
        """The cgroup of a node directory, made by its first file (a v1-only file name makes it v1)."""
        place = cgroup_of(node_path)
        if place is None:
            return None
        path, version = place
        cg = self.cgroups.get(path)
        if cg is None:
            cg = self.cgroups[path] = CgroupMemory(path=path, version=1 if kind is ArtifactKind.MEMCG_V1 else version)
            cg.evidence = CgroupEvidence()
        return cg, READERS[cg.version], cg.evidence.spots

    def _parse(self, cg: CgroupMemory, artifact: Artifact) -> None:
        """A file through memcg_v1/v2.parse: shown in a paste (parsed under its node name, cited at the paste's
        lines), or a member whose path does not end with its node path."""
        parser = memcg_v1 if cg.version == 1 else memcg_v2
        if artifact.line_numbers is None:
            parsed = parser.parse(artifact.text, artifact.path)
        else:
            parsed = _cited_in_paste(parser.parse(artifact.text, artifact.node_path), artifact.path, artifact.line_numbers)
        self.problems.extend(parsed.problems)
        if parsed.value is not None:
            _apply(cg, parsed.value, basename(artifact.node_path))

    def finish(self) -> tuple[dict[str, CgroupMemory], list[Problem]]:
        self._folders.clear()
        for cg in self.cgroups.values():
            if cg.version == 1 and cg.memsw_usage_bytes is not None and cg.usage_bytes is not None:
                cg.swap_usage_bytes = max(cg.memsw_usage_bytes - cg.usage_bytes, 0)
        return self.cgroups, self.problems


class CgroupSnapshots:
    """The main snapshot's cgroups and each collector --samples snapshot's (samples/0001/...)."""

    def __init__(self) -> None:
        self.main = CgroupBuilder()
        self.samples: dict[int, CgroupBuilder] = {}

    def add(self, artifact: Artifact) -> None:
        builder = self.main if artifact.sample is None else self.samples.setdefault(artifact.sample, CgroupBuilder())
        builder.add(artifact)

    def finish(self) -> tuple[dict[str, CgroupMemory], dict[int, dict[str, CgroupMemory]], list[Problem]]:
        cgroups, problems = self.main.finish()
        return cgroups, {n: b.finish()[0] for n, b in sorted(self.samples.items())}, problems


def build_cgroups(artifacts: Iterable[Artifact]) -> tuple[dict[str, CgroupMemory], list[Problem]]:
    """One CgroupMemory per cgroup directory of these files, with the problems met on the way."""
    builder = CgroupBuilder()
    for artifact in artifacts:
        builder.add(artifact)
    return builder.finish()


def build_cgroup_samples(artifacts: Iterable[Artifact]) -> dict[int, dict[str, CgroupMemory]]:
    """The collector's --samples snapshots (samples/0001/...), one cgroup map per sample."""
    snapshots = CgroupSnapshots()
    for artifact in artifacts:
        if artifact.sample is not None:
            snapshots.add(artifact)
    return snapshots.finish()[1]
