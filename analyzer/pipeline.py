"""The analysis pipeline: open the bundle, parse every artifact, run the rules, build the Report.

    Report = analyze(Path("bundle.tar.gz"))

Parsers are picked by ``ArtifactKind``; one bad file never stops the run: its problems become
bundle warnings and the file is marked partial or unrecognised in ``bundle.files_read``.
"""
from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from importlib import import_module
from pathlib import Path

from pydantic import BaseModel

from analyzer import __version__
from analyzer.artifacts import KIND_VALUES, Artifact, ArtifactKind
from analyzer.bundle import RE_JSON_START, Limits, open_bundle
from analyzer.cgroup_tree import CgroupSnapshots
from analyzer.facts import NodeFacts
from analyzer.heap import give_back_free_memory
from analyzer.models.common import Evidence, Parsed, Problem
from analyzer.models.kernel import OomReport
from analyzer.quotes import Quotable, quote_lines
from analyzer.models.report import (
    BundleFile,
    BundleInfo,
    BundleWarning,
    Generator,
    MissingArtifact,
    OomKillIncident,
    Report,
    TimelineEvent,
)
from analyzer.rules.clock import explain_clock
from analyzer.rules.eviction import PastedNode, evictions_from_kubelet_log, node_memory, rank_with_summary
from analyzer.rules.k8s_join import eviction_incidents, join_pods
from analyzer.rules.k8s_only import kubernetes_only_terminations
from analyzer.rules.number_gaps import containers_table
from analyzer.rules.oom_victim import explain_oom
from analyzer.rules.trends import explain_trends, sample_stamps
from analyzer.rules.runtime_events import join_runtime_and_events, runtime_timeline
from analyzer.rules.runtime_join import join_docker, join_docker_stats

MAX_WARNINGS = 500  # a bundle of 100,000 junk members must not make a 100,000-line report


def analyze(path: Path, limits: Limits | None = None) -> Report:
    """Read the bundle at ``path`` and explain what happened. Raises InputUnreadable."""
    with cycle_collector_paused():
        return _analyze_with_facts(path, limits, keep_facts=False)[0]


def analyze_with_facts(path: Path, limits: Limits | None = None) -> tuple[Report, NodeFacts]:
    """The report and the facts it was made from (pods, kubelet config...: what fleet and diff compare).

    Members are parsed as the reader yields them (archive order, read once), cgroup files into
    the cgroup tree too; what is kept is the parsed facts and the text of known artifacts for
    quoting cited lines (a big log's text is only its prefiltered lines).
    """
    with cycle_collector_paused():
        return _analyze_with_facts(path, limits)


@contextmanager
def cycle_collector_paused() -> Iterator[None]:
    """Python's cycle collector off for the block, then as it was.

    A run builds a million long-lived objects and no reference cycles worth collecting: the
    collector's passes over them (six full ones on a 500-pod node) cost 0.4 s of 7.5 s of CPU
    there, and the run's peak RSS is the same without them.

    >>> with cycle_collector_paused():
    ...     gc.isenabled()
    False
    >>> gc.isenabled()
    True
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _analyze_with_facts(path: Path, limits: Limits | None, keep_facts: bool = True) -> tuple[Report, NodeFacts]:
    facts = NodeFacts()
    parse_warnings: list[BundleWarning] = []
    quotable: dict[str, Quotable | str] = {}
    stamps: list[Artifact] = []  # --samples times (proc/uptime, taken_at) for rules/trends.py
    cgroups = CgroupSnapshots()

    def take(artifact: Artifact, entry: BundleFile) -> None:  # once per member (37,000 on a 500-pod node)
        kind = artifact.kind
        if kind in GROUPED_KINDS and artifact.node_path is not None and artifact.sample is None:  # most members: a cgroup file
            quotable[artifact.path] = Quotable.of(artifact.text, artifact.line_numbers, True)  # LINE_KINDS: lines stand alone
            facts.kinds_seen.add(KIND_VALUES[kind])
            _add_cgroup_file(cgroups, artifact, parse_warnings)
            return
        pasted = kind in PASTE_KINDS and _embedded_outputs(artifact, facts, entry)
        if artifact.node_path is None and (kind in PASTE_KINDS or kind in GROUPED_KINDS):
            pasted = _transcript(artifact, facts, cgroups, entry) or pasted
        if artifact.sample is not None and (kind is ArtifactKind.PROC_UPTIME or artifact.path.endswith("/taken_at")):
            stamps.append(artifact)
        if kind in CITABLE_KINDS or pasted:
            stand_alone = kind in LINE_KINDS or RE_JSON_START.match(artifact.text) is not None  # JSON: a string never spans lines
            quotable[artifact.path] = Quotable.of(artifact.text, artifact.line_numbers, stand_alone)
        if kind is ArtifactKind.UNKNOWN:
            return
        facts.kinds_seen.add(KIND_VALUES[kind])
        if kind in GROUPED_KINDS:
            _add_cgroup_file(cgroups, artifact, parse_warnings)
        else:
            _record(artifact, _parse_artifact(artifact, facts), entry, parse_warnings)

    bundle = open_bundle(path, limits, sink=take)
    give_back_free_memory(bundle.bytes_read)  # the reader's buffers and each document's transients
    warnings = bundle.warnings + parse_warnings
    facts.cgroups, facts.cgroup_samples, problems = cgroups.finish()
    del cgroups  # the builder: what it built is in facts now
    warnings.extend(_as_warnings(problems))
    pods = list(facts.pods)  # one record a pod already (facts.PodList)
    incidents = _oom_incidents(facts)
    containers = containers_table(facts.cgroups)
    join_docker(incidents, facts.runtime_containers)
    join_pods(incidents, pods)
    k8s_only, k8s_findings = kubernetes_only_terminations(pods, incidents)
    join_docker_stats(containers, facts.docker_stats)
    evictions = eviction_incidents(pods)
    evictions += evictions_from_kubelet_log(facts.kubelet_events, facts.kubelet_config, evictions, len(evictions) + 1)
    rank_with_summary(evictions, facts.kubelet_summary, pods)
    incidents = incidents + k8s_only + evictions
    bundle_findings = k8s_findings + join_runtime_and_events(incidents, containers, facts)
    report = Report(
        generator=Generator(version=__version__),
        generated_at=datetime.now(timezone.utc),
        bundle=BundleInfo(
            source=bundle.source_name,
            source_kind=bundle.source_kind,
            files_read=bundle.files,
            warnings=_capped(warnings),
            host=facts.host,
            kernel=facts.kernel_release,
            collected_at=facts.clock.collected_at,
        ),
        incidents=incidents,
        containers=containers,
        timeline=_timeline(incidents, facts),
        missing=_missing(facts),
        node=node_memory(facts.meminfo, facts.cgroups.get("/"), facts.kubelet_config, facts.kubelet_summary,
                         facts.kubelet_events, facts.clock.collected_at, pasted=PastedNode(facts.free, facts.top_rows, facts.node_capacity)),
        findings=bundle_findings,
        clock=explain_clock(facts.clock.btime, facts.clock.evidence.get("btime"), facts.clock_pairs,
                            sum(1 for i in incidents if i.kind == "oom_kill" and i.time is None and not i.time_text and i.uptime_s is not None)),
        trends=explain_trends(facts.cgroup_samples, sample_stamps(stamps), facts.cgroups, facts.clock.btime),
    )
    if not keep_facts:  # what the report holds of the facts stays; the rest (2,000 cgroups, 500 pods) goes before quoting
        facts, pods = NodeFacts(), None
    report.evidence_lines = quote_evidence(report, quotable)
    report.bundle.warnings.extend(drop_impossible_numbers(report))
    quotable.clear()
    give_back_free_memory(bundle.bytes_read)  # before the render: the texts kept for quoting, the rules' transients
    return report, facts


JSON_INT_RANGE = (-(2**63), 2**63 - 1)  # what a JSON consumer (and orjson) takes; no memory counter is beyond it


def drop_impossible_numbers(model: BaseModel, where: str = "report") -> list[BundleWarning]:
    """Set integers beyond the 64-bit range (a corrupt counter, a fuzzed file) to null, saying where.

    >>> from analyzer.models.report import NodeMemory
    >>> node = NodeMemory(mem_total_bytes=2**80, shmem_bytes=5)
    >>> [w.message[:40] for w in drop_impossible_numbers(node, "node")], node.mem_total_bytes, node.shmem_bytes
    (['node.mem_total_bytes: 120892581961462917'], None, 5)
    """
    warnings: list[BundleWarning] = []
    _drop_in(model, where, warnings)
    return warnings


def _drop_in(obj: BaseModel, path: tuple | str, warnings: list[BundleWarning]) -> None:
    """drop_impossible_numbers on one model and the models it holds, in field order. A report of a
    500-pod node holds ~60,000 models: ``path`` is a chain (parent path, field, index) turned into
    text only to warn, and the chain links die at once (a stack of 37,000 pending paths made the
    collector run over the whole heap: 150 ms on the big bundle, 37 ms now)."""
    low, high = JSON_INT_RANGE
    for name, value in obj.__dict__.items():
        kind = type(value)
        if kind is int:
            if not low <= value <= high:
                setattr(obj, name, None)
                warnings.append(BundleWarning(message=f"{_dotted(path)}.{name}: {value} is beyond any real counter "
                                                      "(a corrupt or edited file?); shown as unknown"))
        elif kind is list and value and type(value[0]) is BundleFile:  # files_read: one per member, a number each
            for i, item in enumerate(value):
                if not low <= item.size_bytes <= high:
                    _drop_in(item, (path, name, i), warnings)
        elif kind is list:
            for i, item in enumerate(value):
                if isinstance(item, BaseModel) and type(item) is not Evidence:
                    _drop_in(item, (path, name, i), warnings)
        elif kind is dict:
            for key in [k for k, v in value.items() if type(v) is int and not low <= v <= high]:
                warnings.append(BundleWarning(message=f"{_dotted(path)}.{name}[{key}]: {value.pop(key)} is beyond any real counter; left out"))
        elif kind is not str and value is not None and kind is not Evidence and isinstance(value, BaseModel):
            _drop_in(value, (path, name, None), warnings)
    # Evidence is skipped: its line is counted by the reader, never read from a file (and it is frozen)


def _dotted(path: tuple | str) -> str:
    """``(("report", "incidents", 2), "victim", None)`` -> ``report.incidents[2].victim``"""
    parts = []
    while isinstance(path, tuple):
        path, name, index = path
        parts.append(name if index is None else f"{name}[{index}]")
    parts.append(path)
    return ".".join(reversed(parts))


# --- parsing ------------------------------------------------------------------------------


def _parse_kernel_log(artifact: Artifact, facts: NodeFacts) -> Parsed:
    from analyzer.parsers import kernel_log

    parsed = kernel_log.parse(artifact.text, artifact.path, artifact.line_numbers)
    if parsed.value is not None:
        facts.oom_reports.extend(parsed.value.ooms)
        facts.clock_pairs.extend(parsed.value.clock_pairs)
        facts.kernel_log_files.append(artifact.path)
        if parsed.value.kernel_version and facts.kernel_release is None:
            facts.kernel_release = parsed.value.kernel_version
    return parsed


def _parse_meminfo(artifact: Artifact, facts: NodeFacts) -> Parsed:
    from analyzer.parsers import meminfo

    parsed = meminfo.parse(artifact.text, artifact.path)
    if parsed.value is not None and artifact.sample is None:
        facts.meminfo = parsed.value
    return parsed


def _parse_proc_stat(artifact: Artifact, facts: NodeFacts) -> Parsed:
    from analyzer.parsers import proc

    parsed = proc.parse_stat_btime(artifact.text, artifact.path)
    if parsed.value is not None and artifact.sample is None:
        facts.clock.btime = parsed.value
        facts.clock.evidence["btime"] = _first_evidence(parsed, artifact)
    return parsed


def _parse_proc_uptime(artifact: Artifact, facts: NodeFacts) -> Parsed:
    from analyzer.parsers import proc

    parsed = proc.parse_uptime(artifact.text, artifact.path)
    if parsed.value is not None and artifact.sample is None:
        facts.clock.uptime_s = parsed.value
    return parsed


def _parse_proc_version(artifact: Artifact, facts: NodeFacts) -> Parsed:
    from analyzer.parsers import proc

    parsed = proc.parse_version(artifact.text, artifact.path)
    if parsed.value is not None:
        facts.kernel_release = getattr(parsed.value, "release", None) or facts.kernel_release
    return parsed


def _parse_manifest(artifact: Artifact, facts: NodeFacts) -> Parsed:
    """analyzer/parsers/manifest.py reads it (its file list is dropped as read); the steps that went wrong are its problems."""
    from analyzer.parsers import manifest

    parsed = manifest.parse(artifact.text, artifact.path)
    if parsed.value is not None:
        facts.manifest = parsed.value.fields
        facts.host = facts.host or parsed.value.host
        facts.kernel_release = facts.kernel_release or parsed.value.kernel
        if parsed.value.collected_at is not None:
            facts.clock.collected_at = parsed.value.collected_at
    return parsed


def _parse_kubelet_config(artifact: Artifact, facts: NodeFacts) -> Parsed:
    from analyzer.parsers import kubelet_config

    parsed = kubelet_config.parse(artifact.text, artifact.path)
    if parsed.value is not None and (facts.kubelet_config is None or artifact.kind is ArtifactKind.KUBELET_CONFIGZ):
        facts.kubelet_config = parsed.value  # the live /configz wins over the file
    return parsed


def _run_parser(parser: str, artifact: Artifact) -> Parsed:
    """``module.function`` (text, source) on the artifact; a big log's prefiltered lines come with their numbers."""
    module_name, _, function = parser.rpartition(".")
    parse = getattr(import_module(module_name), function)
    if artifact.line_numbers is not None:
        return parse(artifact.text, artifact.path, line_numbers=artifact.line_numbers)
    return parse(artifact.text, artifact.path)


def _extend(attribute: str, parser: str) -> Callable[[Artifact, NodeFacts], Parsed]:
    """A step that runs the parser and appends what it found to a NodeFacts list."""

    def step(artifact: Artifact, facts: NodeFacts) -> Parsed:
        parsed = _run_parser(parser, artifact)
        getattr(facts, attribute).extend(parsed.value or [])
        return parsed

    return step


def _set(attribute: str, parser: str) -> Callable[[Artifact, NodeFacts], Parsed]:
    """A step that runs the parser and keeps the first value it found in a NodeFacts field."""

    def step(artifact: Artifact, facts: NodeFacts) -> Parsed:
        parsed = _run_parser(parser, artifact)
        if parsed.value is not None and getattr(facts, attribute) is None:
            setattr(facts, attribute, parsed.value)
        return parsed

    return step


def _transcript(artifact: Artifact, facts: NodeFacts, cgroups: CgroupSnapshots, entry: BundleFile) -> bool:
    """A pasted shell transcript (analyzer/parsers/paste.py): evicted pods and OOM terminations it prints go
    to the pods, the cgroup files it shows to the cgroup tree, each cited at its line of the paste."""
    from analyzer.parsers import paste

    if artifact.kind in GROUPED_KINDS or any(marker in artifact.text for marker in paste.MARKERS):
        parsed = _parse_with(lambda a, f: paste.parse(a.text, a.path), artifact, facts)
    else:
        return False
    found = parsed.value if parsed.ok else paste.Paste()
    facts.pods.extend(found.pods)
    files = found.cgroup_files or ([paste.whole_file(artifact.text, artifact.kind is ArtifactKind.MEMCG_V1)]
                                   if artifact.kind in GROUPED_KINDS else [])
    for pasted in files:
        cgroups.add(Artifact(path=artifact.path, kind=_memcg_kind(pasted.node_path), size=len(pasted.text), text=pasted.text,
                             node_path=pasted.node_path, line_numbers=pasted.line_numbers))
    if found.pods or files:
        entry.note = "; ".join(filter(None, [entry.note, f"read as a paste: {len(found.pods)} pod status(es), {len(files)} cgroup file(s)"]))
        entry.status = "parsed"
        return True
    return False


def _memcg_kind(node_path: str) -> ArtifactKind:
    from analyzer.classify import classify

    return classify(node_path, node_path.rpartition("/")[2], "")


# Pastes hold several commands' output in one file (describe pod, then `kubectl top nodes`, then `free -h`):
# these kinds, and files of no known kind, are also searched for the outputs below.
PASTE_KINDS = {ArtifactKind.DESCRIBE_POD, ArtifactKind.DESCRIBE_NODE, ArtifactKind.EVENTS, ArtifactKind.KUBELET_LOG, ArtifactKind.UNKNOWN}
EMBEDDED = (
    ("buff/cache", ArtifactKind.FREE, "free output"),
    ("MEMORY(bytes)", ArtifactKind.KUBECTL_TOP, "kubectl top table"),
    ("Allocatable:", ArtifactKind.DESCRIBE_NODE, "node capacity"),
    ("type: DisruptionTarget", ArtifactKind.POD_JSON, "pod status"),
)


def _embedded_outputs(artifact: Artifact, facts: NodeFacts, entry: BundleFile) -> bool:
    """Run the parsers of other commands' output found inside a paste; say in the file's note what was read."""
    found = []
    for marker, kind, label in EMBEDDED:
        if kind is artifact.kind or marker not in artifact.text:
            continue
        step = NODE_CAPACITY if kind is ArtifactKind.DESCRIBE_NODE else PARSERS[kind]  # a paste's node section: not its events
        parsed = _parse_with(step, artifact, facts)
        if parsed is not None and parsed.ok:
            found.append(label)
    if found:
        entry.note = "; ".join(filter(None, [entry.note, "also read: " + ", ".join(found)]))
        if artifact.kind is ArtifactKind.UNKNOWN:
            entry.status = "parsed"
    return bool(found)


def _also(step: Callable[[Artifact, NodeFacts], Parsed], extra: Callable[[Artifact, NodeFacts], Parsed]) -> Callable[[Artifact, NodeFacts], Parsed]:
    """``step``, then ``extra`` on the same artifact for what it also holds (describe's Events: section);
    the file's status and problems are ``step``'s."""

    def both(artifact: Artifact, facts: NodeFacts) -> Parsed:
        parsed = step(artifact, facts)
        extra(artifact, facts)
        return parsed

    return both


def _parse_kubelet_summary(artifact: Artifact, facts: NodeFacts) -> Parsed:
    from analyzer.parsers import kubelet_summary

    parsed = kubelet_summary.parse(artifact.text, artifact.path)
    if parsed.value is not None and artifact.sample is None:
        facts.kubelet_summary = parsed.value
    return parsed


def _parse_pods(artifact: Artifact, facts: NodeFacts) -> Parsed:
    """A pod list; pods already read (kubectl's list and the kubelet's /pods hold the same ones) are
    passed over in the reading, as facts.pods would drop them."""
    from analyzer.parsers import pod_json

    parsed = pod_json.parse(artifact.text, artifact.path, known_uids=facts.pods.keys)
    facts.pods.extend(parsed.value or [])
    return parsed


NODE_CAPACITY = _set("node_capacity", "analyzer.parsers.describe_node.parse")
PARSERS: dict[ArtifactKind, Callable[[Artifact, NodeFacts], Parsed]] = {
    ArtifactKind.KERNEL_LOG: _parse_kernel_log,
    ArtifactKind.PROC_MEMINFO: _parse_meminfo,
    ArtifactKind.PROC_STAT: _parse_proc_stat,
    ArtifactKind.PROC_UPTIME: _parse_proc_uptime,
    ArtifactKind.PROC_VERSION: _parse_proc_version,
    ArtifactKind.MANIFEST: _parse_manifest,
    ArtifactKind.KUBELET_CONFIGZ: _parse_kubelet_config,
    ArtifactKind.KUBELET_CONFIG: _parse_kubelet_config,
    ArtifactKind.KUBELET_SUMMARY: _parse_kubelet_summary,
    ArtifactKind.KUBELET_LOG: _extend("kubelet_events", "analyzer.parsers.kubelet_log.parse"),
    ArtifactKind.POD_JSON: _parse_pods,
    ArtifactKind.KUBELET_PODS: _parse_pods,
    ArtifactKind.DESCRIBE_POD: _also(_extend("pods", "analyzer.parsers.describe.parse"), _extend("events", "analyzer.parsers.events.parse")),
    ArtifactKind.DOCKER_INSPECT: _extend("runtime_containers", "analyzer.parsers.docker.parse_inspect"),
    ArtifactKind.DOCKER_STATS: _extend("docker_stats", "analyzer.parsers.docker.parse_stats"),
    ArtifactKind.EVENTS: _extend("events", "analyzer.parsers.events.parse"),
    ArtifactKind.DESCRIBE_NODE: _also(_extend("events", "analyzer.parsers.events.parse"), NODE_CAPACITY),
    ArtifactKind.FREE: _set("free", "analyzer.parsers.free.parse"),
    ArtifactKind.KUBECTL_TOP: _extend("top_rows", "analyzer.parsers.kubectl_top.parse"),
    ArtifactKind.RUNTIME_LOG: _extend("runtime_events", "analyzer.parsers.runtime_log.parse"),
    ArtifactKind.CRICTL_INSPECT: _extend("crictl_containers", "analyzer.parsers.crictl.parse_inspect"),
    ArtifactKind.CRICTL_STATS: _extend("crictl_stats", "analyzer.parsers.crictl.parse_stats"),
    ArtifactKind.CRICTL_PS: _extend("crictl_ps", "analyzer.parsers.crictl.parse_ps"),
}
# cgroup files are parsed together by analyzer.cgroup_tree (one CgroupMemory per directory)
GROUPED_KINDS = {ArtifactKind.MEMCG_V1, ArtifactKind.MEMCG_V2, ArtifactKind.CGROUP_PROCS}
# Kinds whose lines a report may cite: those a parser reads, but the manifest (its lines are cited by
# warnings only, which are not quoted). The text of the others is not kept for quoting: on a 500-pod
# node 11,000 /proc/<pid> files and an 8 MB manifest.json, half of the text held to the end.
CITABLE_KINDS = (PARSERS.keys() | GROUPED_KINDS) - {ArtifactKind.MANIFEST}


def _parse_artifact(artifact: Artifact, facts: NodeFacts) -> Parsed | None:
    parser = PARSERS.get(artifact.kind)
    if parser is None:
        return None
    return _parse_with(parser, artifact, facts)


def _parse_with(parser: Callable[[Artifact, NodeFacts], Parsed], artifact: Artifact, facts: NodeFacts) -> Parsed:
    try:
        return parser(artifact, facts)
    except Exception as err:  # a parser bug must not cost the rest of the bundle
        return Parsed(
            status="unrecognised",
            problems=[Problem(message=f"internal error in the {artifact.kind.value} parser: {type(err).__name__}: {err}")],
        )


def _first_evidence(parsed: Parsed, artifact: Artifact):
    return Evidence(file=artifact.path, line=1)


NO_DATA_CHARS = 80  # an unrecognised file shorter than this holds no data: it is not worth a warning


def _record(artifact: Artifact, parsed: Parsed | None, entry: BundleFile, warnings: list[BundleWarning]) -> None:
    if artifact.notes:
        entry.note = "; ".join(filter(None, [entry.note, *artifact.notes]))
    if parsed is None:
        if artifact.kind not in GROUPED_KINDS:
            entry.status = "ignored" if artifact.kind is ArtifactKind.UNKNOWN else "parsed"
            if artifact.kind is not ArtifactKind.UNKNOWN:
                entry.note = entry.note or "kept; no parser for this kind yet"
        return
    if parsed.status == "unrecognised" and not parsed.value and len(artifact.text.strip()) < NO_DATA_CHARS:
        # an empty output, or a one-line "No journal files were found.": nothing to read, nothing to warn about
        entry.status, entry.note = "ignored", f"no data ({artifact.text.strip()[:60]!r})" if artifact.text.strip() else "empty"
        return
    status = {"complete": "parsed", "partial": "partial", "unrecognised": "unrecognised"}[parsed.status]
    if status != entry.status:  # most files: "parsed" already (the reader's record), and a model's setattr costs 0.7 µs
        entry.status = status
    warnings.extend(_as_warnings(parsed.problems, default_file=artifact.path))


def _as_warnings(problems: list[Problem], default_file: str | None = None) -> list[BundleWarning]:
    return [
        BundleWarning(message=p.message, file=p.evidence.file if p.evidence else default_file, line=p.evidence.line if p.evidence else None)
        for p in problems
    ]


def _add_cgroup_file(cgroups: CgroupSnapshots, artifact: Artifact, warnings: list[BundleWarning]) -> None:
    try:
        cgroups.add(artifact)
    except Exception as err:  # a bug in a cgroup parser must not cost the rest of the bundle
        warnings.append(BundleWarning(message=f"internal error reading a cgroup file: {type(err).__name__}: {err}", file=artifact.path))


def _capped(warnings: list[BundleWarning]) -> list[BundleWarning]:
    if len(warnings) <= MAX_WARNINGS:
        return warnings
    kept = warnings[:MAX_WARNINGS]
    kept.append(BundleWarning(message=f"{len(warnings) - MAX_WARNINGS} more warnings not shown"))
    return kept


# --- evidence quotes (analyzer/quotes.py) ------------------------------------------------


def _cited(report: Report) -> dict[str, set[int]]:
    """The lines of each file the report cites: incidents, findings, tasks, containers, timeline."""
    evidence = [event.evidence for event in report.timeline]
    evidence.extend(ev for finding in report.findings for ev in finding.evidence)
    if report.node is not None:
        evidence.extend(report.node.evidence)
        evidence.extend(ev for finding in report.node.findings for ev in finding.evidence)
    for item in [*report.incidents, *report.containers, *report.trends]:
        evidence.extend(item.evidence)
        evidence.extend(ev for finding in item.findings for ev in finding.evidence)
    evidence.extend(task.evidence for incident in report.incidents if incident.kind == "oom_kill" for task in incident.tasks)
    cited: dict[str, set[int]] = {}
    for ev in evidence:
        if ev is not None and ev.line is not None:
            cited.setdefault(ev.file, set()).add(ev.line)
    return cited


# kinds whose lines never continue a multi-line secret (an Environment block, a PEM body): their cited
# lines are redacted line by line, without the 64 lines of context structured text needs
LINE_KINDS = {ArtifactKind.KERNEL_LOG, ArtifactKind.KUBELET_LOG, ArtifactKind.RUNTIME_LOG, ArtifactKind.MEMCG_V1,
              ArtifactKind.MEMCG_V2, ArtifactKind.CGROUP_PROCS, ArtifactKind.PROC_MEMINFO, ArtifactKind.PROC_STAT,
              ArtifactKind.PROC_UPTIME, ArtifactKind.PROC_VERSION, ArtifactKind.PROC_VMSTAT}


def quote_evidence(report: Report, quotable: dict[str, Quotable | str]) -> dict[str, str]:
    """The text of every cited bundle line, so a report can quote what each number rests on."""
    return quote_lines(_cited(report), quotable)


# --- incidents ----------------------------------------------------------------------------


def _identity(report: OomReport) -> tuple:
    """The same OOM seen in dmesg, dmesg -T and journalctl -k has the same victim and cgroup."""
    victim = report.killed or report.reaped or report.selected
    pid = victim.pid if victim else report.summary_pid
    comm = victim.comm if victim else report.summary_task
    total_vm = report.killed.total_vm_bytes if report.killed else None
    if pid is None:
        trig = report.trigger
        return ("nopid", report.oom_memcg, trig.comm if trig else None, report.memory_usage_bytes, report.uptime_s)
    return (pid, comm, total_vm)


def _richness(report: OomReport) -> tuple:
    return (
        report.status == "complete",
        report.uptime_s is not None,
        len(report.tasks),
        len(report.evidence),
    )


def dedupe_reports(reports: list[OomReport]) -> list[OomReport]:
    """Keep one report per OOM run (the richest), evidence of the copies merged into it."""
    best: dict[tuple, OomReport] = {}
    copies: dict[tuple, list[OomReport]] = {}
    for report in reports:
        key = _identity(report)
        copies.setdefault(key, []).append(report)
        if key not in best or _richness(report) > _richness(best[key]):
            best[key] = report
    merged = []
    for key, report in best.items():
        others = [other for other in copies[key] if other is not report]
        if others:  # merged into a copy (its time and evidence change): the parsed reports stay as read
            report = report.model_copy(update={"evidence": dict(report.evidence)})
        for other in others:
            if report.time is None and other.time is not None:
                report.time = other.time
            for name, ev in other.evidence.items():
                report.evidence.setdefault(f"{name}@{other.source}", ev)
        merged.append(report)
    return merged


def _sort_key(incident: OomKillIncident) -> tuple:
    severity = {"global": 0, "node_allocatable": 1, "qos": 2, "pod": 3, "container": 4}.get(incident.scope, 5)
    when = incident.time.timestamp() if incident.time else (incident.uptime_s or 0.0)
    return (severity, -when)


def _oom_incidents(facts: NodeFacts) -> list[OomKillIncident]:
    reports = dedupe_reports(facts.oom_reports)
    reports.sort(key=lambda r: (r.uptime_s is None, r.uptime_s or 0.0, r.source, r.first_line or 0))
    incidents = [explain_oom(r, facts, f"oom-{i + 1}") for i, r in enumerate(reports)]
    return sorted(incidents, key=_sort_key)


def _timeline(incidents: list, facts: NodeFacts) -> list[TimelineEvent]:
    """Kernel kills, the runtime's and Kubernetes' record of them, and the kubelet's eviction steps."""
    events = []
    for i in incidents:
        events.append(TimelineEvent(time=i.time, uptime_s=getattr(i, "uptime_s", None), time_source=getattr(i, "time_source", None),
                                    source="kernel" if i.kind == "oom_kill" else "kubernetes",
                                    text=i.summary, incident_id=i.id, evidence=i.evidence[0] if i.evidence else None))
        runtime = getattr(i, "runtime_status", None)
        if runtime is not None and runtime.finished_at is not None:
            events.append(TimelineEvent(time=runtime.finished_at, source="runtime", incident_id=i.id,
                                        text=f"{runtime.runtime}: container {runtime.container_name} exited, code {runtime.exit_code}, OOMKilled {runtime.oom_killed}",
                                        evidence=runtime.evidence[0] if runtime.evidence else None))
        status = getattr(i, "kubernetes", None)
        if status is not None and status.finished_at is not None:
            events.append(TimelineEvent(time=status.finished_at, source="kubernetes", incident_id=i.id,
                                        text=f"Kubernetes: container terminated, reason {status.reason}, exit code {status.exit_code}, restarts {status.restart_count}"))
    for e in facts.kubelet_events:
        if e.kind in ("attempting_reclaim", "must_evict", "pods_ranked", "evicted", "eviction_failed", "critical_pod"):
            events.append(TimelineEvent(time=e.time, source="kubelet", text=e.message[:300], evidence=e.evidence))
    events.extend(runtime_timeline(incidents, facts))
    return sorted(events, key=lambda e: (e.time is None, e.time.timestamp() if e.time else 0, e.uptime_s or 0))



def _missing(facts: NodeFacts) -> list[MissingArtifact]:
    missing = []
    if ArtifactKind.KERNEL_LOG.value not in facts.kinds_seen:
        missing.append(
            MissingArtifact(
                what="kernel log",
                why="OOM kills are reported only by the kernel: without its log no victim, limit or cgroup can be named",
                how="`dmesg > dmesg.txt` (and `journalctl -k --since -24h > journal-k.txt`) on the node, or run collectors/node/podmortem-collect",
            )
        )
    if not facts.cgroups:
        missing.append(
            MissingArtifact(
                what="cgroup memory files",
                why="usage, limits, page cache and shmem of each pod and container come from /sys/fs/cgroup",
                how="run collectors/node/podmortem-collect on the node (it copies every kubepods cgroup's memory.* files)",
            )
        )
    if not facts.pods and facts.oom_reports:
        missing.append(
            MissingArtifact(
                what="pod status (kubectl get pods -o json)",
                why="pod and container names, QoS, restart counts and what Kubernetes recorded (OOMKilled, exit 137, Evicted) come from it",
                how="`kubectl get pods -A --field-selector spec.nodeName=NODE -o json > pods.json`, or the collector where kubectl works",
            )
        )
    if facts.clock.btime is None and any(r.time is None and r.uptime_s is not None for r in facts.oom_reports):
        missing.append(
            MissingArtifact(
                what="/proc/stat (btime)",
                why="kernel stamps are seconds since boot; the boot time turns them into wall-clock times",
                how="`cat /proc/stat > proc-stat.txt`, or `dmesg -T`, or the collector",
            )
        )
    return missing
