"""The analysis pipeline: open the bundle, parse every artifact, run the rules, build the Report.

    Report = analyze(Path("bundle.tar.gz"))

Parsers are picked by ``ArtifactKind``; one bad file never stops the run: its problems become
bundle warnings and the file is marked partial or unrecognised in ``bundle.files_read``.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from importlib import import_module
from pathlib import Path

from analyzer import __version__
from analyzer.artifacts import Artifact, ArtifactKind
from analyzer.bundle import Bundle, Limits, open_bundle
from analyzer.facts import NodeFacts
from analyzer.models.common import Parsed, Problem
from analyzer.models.kernel import OomReport
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
from analyzer.rules.eviction import evictions_from_kubelet_log, node_memory, rank_with_summary
from analyzer.rules.k8s_join import eviction_incidents, join_pods
from analyzer.rules.number_gaps import containers_table
from analyzer.rules.oom_victim import explain_oom
from analyzer.rules.runtime_join import join_docker, join_docker_stats

MAX_WARNINGS = 500  # a bundle of 100,000 junk members must not make a 100,000-line report


def analyze(path: Path, limits: Limits | None = None) -> Report:
    """Read the bundle at ``path`` and explain what happened. Raises InputUnreadable."""
    bundle = open_bundle(path, limits)
    facts = NodeFacts()
    warnings = list(bundle.warnings)
    statuses: dict[str, BundleFile] = {f.path: f for f in bundle.files}
    for artifact in bundle.artifacts:
        facts.kinds_seen.add(artifact.kind.value)
        parsed = _parse_artifact(artifact, facts)
        _record(artifact, parsed, statuses, warnings)
    _gather_cgroups(bundle, facts, warnings)
    incidents = _oom_incidents(facts)
    containers = containers_table(facts.cgroups)
    join_docker(incidents, facts.runtime_containers)
    join_pods(incidents, _unique_pods(facts.pods))
    join_docker_stats(containers, facts.docker_stats)
    evictions = eviction_incidents(_unique_pods(facts.pods))
    evictions += evictions_from_kubelet_log(facts.kubelet_events, facts.kubelet_config, evictions, len(evictions) + 1)
    rank_with_summary(evictions, facts.kubelet_summary, _unique_pods(facts.pods))
    incidents = incidents + evictions
    report = Report(
        generator=Generator(version=__version__),
        generated_at=datetime.now(timezone.utc),
        bundle=BundleInfo(
            source=bundle.source_name,
            source_kind=bundle.source_kind,
            files_read=list(statuses.values()),
            warnings=_capped(warnings),
            host=facts.host,
            kernel=facts.kernel_release,
            collected_at=facts.clock.collected_at,
        ),
        incidents=incidents,
        containers=containers,
        timeline=_timeline(incidents, facts),
        missing=_missing(facts),
        node=node_memory(facts.meminfo, facts.cgroups.get("/"), facts.kubelet_config, facts.kubelet_summary),
    )
    report.evidence_lines = quote_evidence(report, bundle.artifacts)
    return report


# --- parsing ------------------------------------------------------------------------------


def _parse_kernel_log(artifact: Artifact, facts: NodeFacts) -> Parsed:
    from analyzer.parsers import kernel_log

    parsed = kernel_log.parse(artifact.text, artifact.path)
    if parsed.value is not None:
        facts.oom_reports.extend(parsed.value.ooms)
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
    import orjson

    try:
        manifest = orjson.loads(artifact.text)
    except orjson.JSONDecodeError as err:
        return Parsed(status="unrecognised", problems=[Problem(message=f"manifest.json is not valid JSON: {err}")])
    if not isinstance(manifest, dict):
        return Parsed(status="unrecognised", problems=[Problem(message="manifest.json is not a JSON object")])
    facts.manifest = manifest
    facts.host = facts.host or _str(manifest.get("hostname"))
    facts.kernel_release = facts.kernel_release or _str(manifest.get("kernel"))
    collected = _str(manifest.get("wall_time") or manifest.get("started_at"))
    if collected:
        try:
            facts.clock.collected_at = datetime.fromisoformat(collected.replace("Z", "+00:00"))
        except ValueError:
            pass
    return Parsed(value=manifest, status="complete")


def _parse_kubelet_config(artifact: Artifact, facts: NodeFacts) -> Parsed:
    from analyzer.parsers import kubelet_config

    parsed = kubelet_config.parse(artifact.text, artifact.path)
    if parsed.value is not None and (facts.kubelet_config is None or artifact.kind is ArtifactKind.KUBELET_CONFIGZ):
        facts.kubelet_config = parsed.value  # the live /configz wins over the file
    return parsed


def _extend(attribute: str, parser: str) -> Callable[[Artifact, NodeFacts], Parsed]:
    """A step that runs ``module.function`` (text, source) and appends what it found to a NodeFacts list."""
    module_name, _, function = parser.rpartition(".")

    def step(artifact: Artifact, facts: NodeFacts) -> Parsed:
        parsed = getattr(import_module(module_name), function)(artifact.text, artifact.path)
        getattr(facts, attribute).extend(parsed.value or [])
        return parsed

    return step


def _parse_kubelet_summary(artifact: Artifact, facts: NodeFacts) -> Parsed:
    from analyzer.parsers import kubelet_summary

    parsed = kubelet_summary.parse(artifact.text, artifact.path)
    if parsed.value is not None and artifact.sample is None:
        facts.kubelet_summary = parsed.value
    return parsed


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


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
    ArtifactKind.POD_JSON: _extend("pods", "analyzer.parsers.pod_json.parse"),
    ArtifactKind.KUBELET_PODS: _extend("pods", "analyzer.parsers.pod_json.parse"),
    ArtifactKind.DESCRIBE_POD: _extend("pods", "analyzer.parsers.describe.parse"),
    ArtifactKind.DOCKER_INSPECT: _extend("runtime_containers", "analyzer.parsers.docker.parse_inspect"),
    ArtifactKind.DOCKER_STATS: _extend("docker_stats", "analyzer.parsers.docker.parse_stats"),
}
# cgroup files are parsed together by analyzer.cgroup_tree (one CgroupMemory per directory)
GROUPED_KINDS = {ArtifactKind.MEMCG_V1, ArtifactKind.MEMCG_V2, ArtifactKind.CGROUP_PROCS}


def _parse_artifact(artifact: Artifact, facts: NodeFacts) -> Parsed | None:
    parser = PARSERS.get(artifact.kind)
    if parser is None:
        return None
    try:
        return parser(artifact, facts)
    except Exception as err:  # a parser bug must not cost the rest of the bundle
        return Parsed(
            status="unrecognised",
            problems=[Problem(message=f"internal error in the {artifact.kind.value} parser: {type(err).__name__}: {err}")],
        )


def _first_evidence(parsed: Parsed, artifact: Artifact):
    from analyzer.models.common import Evidence

    return Evidence(file=artifact.path, line=1)


def _record(artifact: Artifact, parsed: Parsed | None, statuses: dict[str, BundleFile], warnings: list[BundleWarning]) -> None:
    entry = statuses.get(artifact.path)
    if entry is None:
        entry = BundleFile(path=artifact.path, kind=artifact.kind.value, size_bytes=artifact.size, status="parsed")
        statuses[artifact.path] = entry
    entry.kind = artifact.kind.value
    if parsed is None:
        if artifact.kind not in GROUPED_KINDS:
            entry.status = "ignored" if artifact.kind is ArtifactKind.UNKNOWN else "parsed"
            if artifact.kind is not ArtifactKind.UNKNOWN:
                entry.note = entry.note or "kept; no parser for this kind yet"
        return
    entry.status = {"complete": "parsed", "partial": "partial", "unrecognised": "unrecognised"}[parsed.status]
    warnings.extend(_as_warnings(parsed.problems, default_file=artifact.path))


def _as_warnings(problems: list[Problem], default_file: str | None = None) -> list[BundleWarning]:
    return [
        BundleWarning(message=p.message, file=p.evidence.file if p.evidence else default_file, line=p.evidence.line if p.evidence else None)
        for p in problems
    ]


def _gather_cgroups(bundle: Bundle, facts: NodeFacts, warnings: list[BundleWarning]) -> None:
    from analyzer import cgroup_tree

    files = [a for a in bundle.artifacts if a.kind in GROUPED_KINDS]
    if not files:
        return
    try:
        facts.cgroups, problems = cgroup_tree.build_cgroups(a for a in files if a.sample is None)
        facts.cgroup_samples = cgroup_tree.build_cgroup_samples(a for a in files if a.sample is not None)
    except Exception as err:
        warnings.append(BundleWarning(message=f"internal error reading cgroup files: {type(err).__name__}: {err}"))
        return
    warnings.extend(_as_warnings(problems))


def _unique_pods(pods: list) -> list:
    """The same pod from kubectl and from the kubelet's /pods: keep the first of each UID."""
    seen, unique = set(), []
    for pod in pods:
        key = pod.uid or id(pod)
        if key not in seen:
            seen.add(key)
            unique.append(pod)
    return unique


def _capped(warnings: list[BundleWarning]) -> list[BundleWarning]:
    if len(warnings) <= MAX_WARNINGS:
        return warnings
    kept = warnings[:MAX_WARNINGS]
    kept.append(BundleWarning(message=f"{len(warnings) - MAX_WARNINGS} more warnings not shown"))
    return kept


# --- evidence quotes --------------------------------------------------------------------

MAX_QUOTED_LINE = 400


def _cited(report: Report) -> set[tuple[str, int]]:
    """Every (file, line) the report cites: incidents, findings, tasks, containers, timeline."""
    evidence = [ev for event in report.timeline for ev in (event.evidence,)]
    if report.node is not None:
        evidence.extend(report.node.evidence)
        evidence.extend(ev for finding in report.node.findings for ev in finding.evidence)
    for item in [*report.incidents, *report.containers]:
        evidence.extend(item.evidence)
        evidence.extend(ev for finding in item.findings for ev in finding.evidence)
        evidence.extend(task.evidence for task in getattr(item, "tasks", []))
    return {(ev.file, ev.line) for ev in evidence if ev is not None and ev.line is not None}


def quote_evidence(report: Report, artifacts: list[Artifact]) -> dict[str, str]:
    """The text of every cited bundle line, so a report can quote what each number rests on."""
    wanted: dict[str, set[int]] = {}
    for file, line in _cited(report):
        wanted.setdefault(file, set()).add(line)
    quotes: dict[str, str] = {}
    for artifact in artifacts:
        lines = wanted.get(artifact.path)
        if not lines:
            continue
        last = max(lines)
        for number, text in enumerate(artifact.text.split("\n", last)[:last], start=1):
            if number in lines:
                quotes[f"{artifact.path}:{number}"] = text[:MAX_QUOTED_LINE]
    return dict(sorted(quotes.items()))


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
        report = report.model_copy(deep=True)
        for other in copies[key]:
            if other is best[key]:
                continue
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
        events.append(TimelineEvent(time=i.time, uptime_s=getattr(i, "uptime_s", None),
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
