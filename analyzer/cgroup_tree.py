"""Gather the cgroup files of a bundle into one ``CgroupMemory`` per cgroup directory.

v1 files live at ``sys/fs/cgroup/memory/<cgroup path>/memory.*``; v2 at
``sys/fs/cgroup/<cgroup path>/memory.*`` (also ``sys/fs/cgroup/unified/`` on hybrid mounts).
The cgroup path is what the kernel prints in OOM reports (``/kubepods/burstable/pod<uid>/<id>``;
the root is ``/``).
"""
from __future__ import annotations

from collections.abc import Iterable

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


def _apply(cg: CgroupMemory, parsed_file, name: str) -> None:
    value = parsed_file
    cg.evidence.update(value.evidence)
    if value.field is not None:
        if value.field == "limit_bytes":
            cg.limit_unlimited = value.unlimited
        if value.field == "oom_group":
            cg.oom_group = bool(value.number)
        elif value.field in CgroupMemory.model_fields:
            setattr(cg, value.field, value.number)
        return
    if name == "memory.stat":
        cg.stat = value.values
    elif name == "memory.oom_control":
        cg.oom_kill_disable = bool(value.values.get("oom_kill_disable")) if "oom_kill_disable" in value.values else None
        cg.under_oom = bool(value.values.get("under_oom")) if "under_oom" in value.values else None
        cg.oom_kill = value.values.get("oom_kill")
    elif name == "memory.events":
        cg.events = value.values
        cg.oom_kill = value.values.get("oom_kill", cg.oom_kill)
    elif name == "memory.events.local":
        cg.events_local = value.values
    elif name == "memory.pressure":
        cg.pressure = {kind: {k.split("_", 1)[1]: v for k, v in value.values.items() if k.startswith(kind + "_")} for kind in ("some", "full")}


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

    def add(self, artifact: Artifact) -> None:
        if artifact.node_path is None:
            return
        place = cgroup_of(artifact.node_path)
        if place is None:
            return
        path, version = place
        if artifact.kind is ArtifactKind.MEMCG_V1:
            version = 1
        cg = self.cgroups.get(path)
        if cg is None:
            cg = self.cgroups[path] = CgroupMemory(path=path, version=version)
        name = basename(artifact.node_path)
        if artifact.kind is ArtifactKind.CGROUP_PROCS:
            cg.procs = _procs(artifact.text)
            return
        parser = memcg_v1 if cg.version == 1 else memcg_v2
        if artifact.line_numbers is None:
            parsed = parser.parse(artifact.text, artifact.path)
        else:  # a file shown in a paste: parsed under its node name, cited at the paste's lines
            parsed = _cited_in_paste(parser.parse(artifact.text, artifact.node_path), artifact.path, artifact.line_numbers)
        self.problems.extend(parsed.problems)
        if parsed.value is not None:
            _apply(cg, parsed.value, name)

    def finish(self) -> tuple[dict[str, CgroupMemory], list[Problem]]:
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
