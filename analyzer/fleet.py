"""Many bundles at once: analyse each node in its own process, then compare the nodes.

    fleet = run_fleet(Path("bundles/"), Path("out/"), "html", jobs=4)

``bundles_in`` decides whether a directory holds many bundles or is one bundle itself (an
extracted collector bundle, or a folder of pasted files). Each bundle is analysed by
``analyzer.pipeline.analyze`` in a worker process (one per core by default); the worker writes
that node's full report to ``OUT/nodes/<name>.<fmt>`` and returns only a compact ``FleetNode``,
so the parent holds summaries, never reports or bundle text. A bundle that cannot be read is a
failed node with its one-line error; it never stops the fleet.

The fleet view then groups incidents by workload (the pod's owner; a Deployment is derived from
its ReplicaSet's name), by image, finds the same container OOM-killed on several nodes, and the
nodes whose kubelet settings differ from the majority.
"""
from __future__ import annotations

import os
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from analyzer import __version__
from analyzer.errors import InputUnreadable, PodmortemError
from analyzer.models.common import Evidence
from analyzer.models.fleet import (
    FleetFinding,
    FleetIncident,
    FleetNode,
    FleetReport,
    ImageSummary,
    IncidentRef,
    NodeConfig,
    NodeEvidence,
    NodeSetting,
    SkippedEntry,
    Workload,
    WorkloadSummary,
)
from analyzer.models.k8s import PodInfo
from analyzer.models.report import Generator, Report
from analyzer.units import fmt_bytes

FORMATS = ("html", "md", "json")
# what the collector writes at a bundle's top (analyzer.classify.NODE_ANCHORS, first components)
BUNDLE_TOP_NAMES = {"manifest.json", "sys", "proc", "commands", "var", "etc", "samples"}
ARCHIVE_NAMES = (".tar", ".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.bz2", ".tbz2", ".zip")
# k8s.io/apimachinery/pkg/util/rand SafeEncodeString's alphabet: the pod-template-hash a Deployment
# appends to its ReplicaSet's name (pkg/controller/deployment/sync.go: d.Name + "-" + podTemplateHash;
# hash from controller.ComputeHash); digits only before Kubernetes 1.8
RE_TEMPLATE_HASH = re.compile(r"^(?P<deployment>.+)-(?P<hash>[bcdfghjklmnpqrstvwxz2456789]{1,10}|[0-9]{1,10})$")


# --- which directories hold many bundles --------------------------------------------------


def is_bundle_root(directory: Path) -> bool:
    """A directory laid out as a collector bundle (manifest.json, sys/, proc/, commands/ ... at its top).

    >>> import tempfile; d = Path(tempfile.mkdtemp()); (d / "proc").mkdir()
    >>> is_bundle_root(d), is_bundle_root(d / "proc")
    (True, False)
    """
    try:
        return any(entry.name in BUNDLE_TOP_NAMES for entry in os.scandir(directory))
    except OSError:
        return False


def _is_archive(name: str) -> bool:
    return name.lower().endswith(ARCHIVE_NAMES)


def _wrapped_bundle(directory: Path) -> bool:
    """One bundle, maybe inside the single top folder an extracted tarball has."""
    if is_bundle_root(directory):
        return True
    try:
        entries = [e for e in os.scandir(directory) if not e.name.startswith(".")]
    except OSError:
        return False
    return len(entries) == 1 and entries[0].is_dir(follow_symlinks=False) and is_bundle_root(Path(entries[0].path))


@dataclass
class FleetInput:
    bundles: list[Path] = field(default_factory=list)
    skipped: list[SkippedEntry] = field(default_factory=list)


def bundles_in(directory: Path) -> FleetInput | None:
    """The bundles a directory holds, or None when the directory is itself one bundle.

    One bundle (analysed as today): a collector layout at its top (manifest.json, sys/, proc/,
    commands/ ...), or a single folder that is one (an extracted tarball), or loose files only
    (a folder of pasted logs). Many bundles: at least one archive (.tar*, .tgz, .zip) or at least
    two bundle folders at its top; then every archive and every folder is a bundle, and loose
    files are listed as skipped.

    >>> import tempfile; d = Path(tempfile.mkdtemp())
    >>> _ = (d / "dmesg.txt").write_text("x"); bundles_in(d) is None
    True
    >>> _ = (d / "node-a.tar.gz").write_bytes(b""); [p.name for p in bundles_in(d).bundles]
    ['node-a.tar.gz']
    """
    if is_bundle_root(directory):
        return None
    try:
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except OSError as err:
        raise InputUnreadable(f"cannot list {directory.name}: {err.strerror or err}") from None
    visible = [e for e in entries if not e.name.startswith(".")]
    archives = [e for e in visible if e.is_file(follow_symlinks=False) and _is_archive(e.name)]
    folders = [e for e in visible if e.is_dir(follow_symlinks=False)]
    bundle_folders = [e for e in folders if _wrapped_bundle(Path(e.path))]
    if not archives and len(bundle_folders) < 2:
        return None
    fleet = FleetInput()
    for entry in visible:
        if entry.is_symlink():
            fleet.skipped.append(SkippedEntry(name=entry.name, reason="symbolic link (never followed)"))
        elif entry in archives or entry in folders:
            fleet.bundles.append(Path(entry.path))
        else:
            fleet.skipped.append(SkippedEntry(name=entry.name, reason="not an archive (.tar, .tar.gz, .tgz, .zip) or a bundle folder"))
    return fleet


def node_names(bundles: Iterable[Path]) -> list[str]:
    """A unique, file-name-safe name per bundle, from its own name (never from inside the bundle).

    >>> node_names([Path("a/node-1.tar.gz"), Path("b/node 1.zip"), Path("c/../../x")])
    ['node-1', 'node_1', 'x']
    >>> node_names([Path("n.tgz"), Path("n.zip")])
    ['n', 'n-2']
    """
    from analyzer.cli import safe_name_part

    names, taken = [], set()
    for path in bundles:
        stem = path.name
        for suffix in sorted(ARCHIVE_NAMES, key=len, reverse=True):
            if stem.lower().endswith(suffix):
                stem = stem[: -len(suffix)]
                break
        base = safe_name_part(stem, "bundle")
        name, n = base, 1
        while name.lower() in taken:
            n += 1
            name = f"{base}-{n}"
        taken.add(name.lower())
        names.append(name)
    return names


# --- what the fleet needs beyond the node report ------------------------------------------


@dataclass
class NodeExtras:
    """Pod owners, images and the kubelet configuration: not in the node report, needed across nodes."""

    pods: list[PodInfo] = field(default_factory=list)
    kubelet_config: object = None  # analyzer.parsers.kubelet_config.KubeletConfig


def workload_of(pod: PodInfo) -> Workload:
    """The pod's controller: a ReplicaSet named <deployment>-<pod-template-hash> is read as its Deployment.

    >>> workload_of(PodInfo(namespace="shop", name="cart-6c8b9-x2v4q", owner_kind="ReplicaSet", owner_name="cart-6c8b9")).label
    'Deployment shop/cart'
    >>> workload_of(PodInfo(namespace="db", name="pg-0", owner_kind="StatefulSet", owner_name="pg")).label
    'StatefulSet db/pg'
    >>> workload_of(PodInfo(namespace="x", name="lonely")).label
    'Pod x/lonely'
    """
    if pod.owner_kind == "ReplicaSet" and pod.owner_name:
        match = RE_TEMPLATE_HASH.match(pod.owner_name)
        if match:
            return Workload(kind="Deployment", namespace=pod.namespace, name=match.group("deployment"),
                            derived_from=f"ReplicaSet {pod.owner_name}: its pod-template-hash suffix stripped")
    if pod.owner_kind and pod.owner_name:
        return Workload(kind=pod.owner_kind, namespace=pod.namespace, name=pod.owner_name)
    return Workload(kind="Pod", namespace=pod.namespace, name=pod.name or pod.uid or "?", derived_from="no ownerReferences")


# --- one node -----------------------------------------------------------------------------


def _pod_for(incident, pods: list[PodInfo]) -> PodInfo | None:
    ref = incident.pod
    if ref is None:
        return None
    for pod in pods:
        if ref.uid and pod.uid == ref.uid or (not ref.uid and ref.name and (pod.namespace, pod.name) == (ref.namespace, ref.name)):
            return pod
    return None


def _container_of(incident, pod: PodInfo | None):
    if pod is None:
        return None
    ref = getattr(incident, "container", None)
    for container in pod.containers:
        if ref is not None and (ref.name and container.name == ref.name or ref.id and ref.id in (container.container_id, container.last_container_id)):
            return container
    regular = [c for c in pod.containers if not c.is_init]
    return regular[0] if len(regular) == 1 else None


def fleet_incident(node: str, incident, pods: list[PodInfo]) -> FleetIncident:
    """The fleet's compact view of one incident of a node report, with the pod's workload and image."""
    pod = _pod_for(incident, pods)
    container = _container_of(incident, pod)
    item = FleetIncident(node=node, id=incident.id, kind=incident.kind, summary=incident.summary, time=incident.time,
                         pod_uid=incident.pod.uid if incident.pod else None,
                         workload=workload_of(pod) if pod is not None else None,
                         container=container.name if container else None, image=container.image if container else None)
    if incident.pod is not None and incident.pod.name:
        item.pod = f"{incident.pod.namespace or '?'}/{incident.pod.name}"
    if incident.kind == "oom_kill":
        item.scope, item.victim_pid, item.victim_comm = incident.scope, incident.victim.pid, incident.victim.comm
        item.cgroup, item.limit_bytes = incident.memcg.oom_memcg, incident.memcg.limit_bytes
        item.container = item.container or (incident.container.name if incident.container else None)
    return item


def _threshold_bytes(threshold, capacity: int | None) -> int | None:
    if threshold is None:
        return None
    if threshold.quantity_bytes is not None:
        return threshold.quantity_bytes
    if threshold.percent is not None and capacity is not None:
        return int(capacity * threshold.percent / 100)
    return None


def node_config(report: Report, config) -> NodeConfig:
    """The settings that decide when a node kills or evicts, as comparable strings.

    Allocatable memory is computed as the kubelet does: capacity (MemTotal, cAdvisor's
    MemoryCapacity) minus systemReserved, kubeReserved and the evictionHard memory.available
    reservation (pkg/kubelet/cm/node_container_manager_linux.go GetNodeAllocatableReservation,
    hardEvictionReservation), never below zero.
    """
    total = report.node.mem_total_bytes if report.node else None
    result = NodeConfig(mem_total_bytes=total)
    if config is None:
        return result
    hard = config.eviction_hard.get("memory.available")
    where = config.evidence.get("evictionHard") or next(iter(config.evidence.values()), None)
    result.source = where.file if where else "kubelet configuration"
    reserved = (config.system_reserved_memory_bytes or 0) + (config.kube_reserved_memory_bytes or 0)
    eviction = _threshold_bytes(hard, total)
    if total is not None and (eviction is not None or hard is None):
        result.allocatable_bytes = max(total - reserved - (eviction or 0), 0)
    settings = result.settings
    if result.allocatable_bytes is not None:
        settings.append(NodeSetting(name="allocatable memory (computed)", value=fmt_bytes(result.allocatable_bytes)))
    for prefix, thresholds in (("evictionHard", config.eviction_hard), ("evictionSoft", config.eviction_soft)):
        for signal, threshold in sorted(thresholds.items()):
            shown = threshold.raw + (" (kubelet default)" if threshold.defaulted else "")
            settings.append(NodeSetting(name=f"{prefix} {signal}", value=shown, evidence=threshold.evidence or where))
    for name, value, key in (
        ("systemReserved memory", config.system_reserved_memory_bytes, "systemReserved"),
        ("kubeReserved memory", config.kube_reserved_memory_bytes, "kubeReserved"),
    ):
        settings.append(NodeSetting(name=name, value=fmt_bytes(value) if value is not None else "not set", evidence=config.evidence.get(key)))
    for name, value in (
        ("evictionSoftGracePeriod", ", ".join(f"{k}={v}" for k, v in sorted(config.eviction_soft_grace.items()))),
        ("evictionMinimumReclaim", ", ".join(f"{k}={v}" for k, v in sorted(config.eviction_minimum_reclaim.items()))),
        ("enforceNodeAllocatable", ", ".join(config.enforce_node_allocatable)),
        ("cgroupDriver", config.cgroup_driver),
        ("singleProcessOOMKill", config.single_process_oom_kill),
    ):
        settings.append(NodeSetting(name=name, value="not set" if value in (None, "") else str(value).lower() if isinstance(value, bool) else str(value)))
    return result


def incident_link(report_path: str | None, incident_id: str) -> str | None:
    """A relative link to an incident: its anchor in an HTML report, the report file otherwise."""
    if report_path and report_path.endswith(".html"):
        return f"{report_path}#{incident_id}"
    return report_path


def summarise_node(name: str, bundle: str, report: Report, extras: NodeExtras, report_path: str | None) -> FleetNode:
    incidents = [fleet_incident(name, incident, extras.pods) for incident in report.incidents]
    for incident in incidents:
        incident.report = incident_link(report_path, incident.id)
    return FleetNode(
        name=name, bundle=bundle, status="analyzed", report=report_path,
        host=report.bundle.host, kernel=report.bundle.kernel, collected_at=report.bundle.collected_at,
        warnings=len(report.bundle.warnings),
        oom_kills=sum(1 for i in incidents if i.kind == "oom_kill"),
        evictions=sum(1 for i in incidents if i.kind == "eviction"),
        incidents=incidents,
        config=node_config(report, extras.kubelet_config),
    )


@dataclass(frozen=True)
class NodeJob:
    bundle: str  # path of the bundle
    name: str  # FleetNode.name
    out_dir: str  # the fleet's output directory
    fmt: str


def render_node_report(report: Report, fmt: str) -> bytes:
    if fmt == "json":
        from reports.json_report import render_json

        return render_json(report)
    if fmt == "md":
        from reports.markdown import render_markdown

        return render_markdown(report).encode()
    from reports.html import render_html

    return render_html(report).encode()


def one_line(err: BaseException) -> str:
    """An error as one short line (no traceback, no newlines from a hostile bundle)."""
    text = " ".join(str(err).split()) or type(err).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def analyze_node(job: NodeJob) -> FleetNode:
    """The worker: analyse one bundle, write its report, return its summary. Never raises."""
    from analyzer.cli import write_atomically
    from analyzer.pipeline import analyze_with_facts

    bundle = Path(job.bundle)
    try:
        report, facts = analyze_with_facts(bundle)
        extras = NodeExtras(pods=list(facts.pods), kubelet_config=facts.kubelet_config)
        relative = f"nodes/{job.name}.{job.fmt}"
        write_atomically(Path(job.out_dir) / relative, render_node_report(report, job.fmt))
        return summarise_node(job.name, bundle.name, report, extras, relative)
    except PodmortemError as err:
        return _failed(job, one_line(err))
    except OSError as err:
        return _failed(job, f"cannot read or write: {one_line(err)}")
    except Exception as err:  # a bug in one node must not stop the fleet
        return _failed(job, f"internal error ({type(err).__name__}: {one_line(err)})")


def _failed(job: NodeJob, error: str) -> FleetNode:
    return FleetNode(name=job.name, bundle=Path(job.bundle).name, status="failed", error=error)


# --- many nodes ---------------------------------------------------------------------------


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def analyze_all(jobs_list: list[NodeJob], jobs: int, on_done: Callable[[FleetNode], None] | None = None) -> list[FleetNode]:
    """Run ``analyze_node`` over the jobs in ``jobs`` worker processes; results in the jobs' order.

    A worker that dies (killed by the kernel's OOM killer, say) breaks the pool: the bundles not
    finished are retried one per fresh single-worker pool, so only the bundle that kills its
    worker is lost, reported as failed.
    """
    results: dict[str, FleetNode] = {}
    pending = _run_pool(jobs_list, max(1, jobs), results, on_done)
    for job in pending:
        again = _run_pool([job], 1, results, on_done)
        for lost in again:
            results[lost.name] = _failed(lost, "the worker process analysing this bundle died (killed, or out of memory)")
    return [results[job.name] for job in jobs_list]


def _run_pool(jobs_list: list[NodeJob], workers: int, results: dict, on_done) -> list[NodeJob]:
    """Results into ``results``; returns the jobs left unfinished by a broken pool."""
    # imported here: `podmortem analyze DIR` of one bundle imports this module but starts no pool
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    try:
        with ProcessPoolExecutor(max_workers=min(workers, len(jobs_list)) or 1) as pool:
            futures = {pool.submit(analyze_node, job): job for job in jobs_list}
            for future in as_completed(futures):
                try:
                    node = future.result()
                except BrokenProcessPool:
                    continue
                results[node.name] = node
                if on_done is not None:
                    on_done(node)
    except BrokenProcessPool:
        pass
    return [job for job in jobs_list if job.name not in results]


def run_fleet(directory: Path, out_dir: Path, fmt: str, jobs: int | None = None,
              fleet_input: FleetInput | None = None, on_done: Callable[[FleetNode], None] | None = None) -> FleetReport:
    """Analyse every bundle of ``directory`` into ``out_dir`` and build the fleet report (not written)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    fleet_input = fleet_input or bundles_in(directory)
    if fleet_input is None:
        raise InputUnreadable(f"{directory.name} is one bundle, not a directory of bundles")
    out_dir = Path(out_dir)
    (out_dir / "nodes").mkdir(parents=True, exist_ok=True)
    bundles = [b for b in fleet_input.bundles if b.resolve() != out_dir.resolve()]
    names = node_names(bundles)
    jobs_list = [NodeJob(bundle=str(b), name=n, out_dir=str(out_dir), fmt=fmt) for b, n in zip(bundles, names)]
    nodes = analyze_all(jobs_list, jobs or default_jobs(), on_done)
    return build_fleet_report(directory.resolve().name or str(directory), fmt, nodes, fleet_input.skipped)


def analyze_fleet_command(directory: Path, fmt: str, output: str | None, jobs: int | None,
                          echo: Callable[[str], None]) -> bool:
    """``podmortem analyze DIR`` for a directory of bundles; False when DIR is one bundle (analysed as before).

    Writes OUT/nodes/<name>.<fmt> and OUT/fleet.<fmt>; OUT is ``-o`` or a new directory in the
    current one. Raises PodmortemError (one line) for a bad output path.
    """
    from analyzer.cli import safe_name_part, write_atomically
    from reports.fleet import render_fleet

    fleet_input = bundles_in(directory)
    if fleet_input is None:
        return False
    if output == "-":
        raise PodmortemError("a directory of bundles makes a directory of reports: give -o DIR, not -o -")
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out_dir = Path(output) if output else Path.cwd() / f"podmortem-fleet-{safe_name_part(directory.resolve().name, 'bundles')}-{stamp}"
    if out_dir.exists() and not out_dir.is_dir():
        raise PodmortemError(f"{out_dir} exists and is not a directory (a fleet writes a directory of reports)")
    if not out_dir.parent.is_dir():
        raise PodmortemError(f"output directory {out_dir.parent} does not exist")
    jobs = jobs or default_jobs()
    try:
        fleet = run_fleet(directory, out_dir, fmt, jobs, fleet_input)
        target = out_dir / f"fleet.{fmt}"
        write_atomically(target, render_fleet(fleet, fmt))
    except OSError as err:
        raise PodmortemError(f"cannot write the fleet report to {out_dir}: {err.strerror or err}") from None
    echo(fleet_summary(fleet, str(target), jobs))
    return True


def fleet_summary(fleet: FleetReport, target: str, jobs: int) -> str:
    analysed = [n for n in fleet.nodes if n.status == "analyzed"]
    lines = [
        f"fleet report: {target}",
        f"{len(fleet.nodes)} bundles with {jobs} processes: {len(analysed)} analysed, {len(fleet.nodes) - len(analysed)} failed; "
        f"{sum(n.oom_kills for n in analysed)} OOM kills, {sum(n.evictions for n in analysed)} evictions",
    ]
    from reports.text import visible

    lines += [f"  {f.severity}: {visible(' '.join(f.message.split())[:200])}" for f in fleet.findings[:20]]
    if len(fleet.findings) > 20:
        lines.append(f"  ... {len(fleet.findings) - 20} more findings in the report")
    return "\n".join(lines)


# --- the fleet view -----------------------------------------------------------------------


def build_fleet_report(source: str, fmt: str, nodes: list[FleetNode], skipped: list[SkippedEntry]) -> FleetReport:
    nodes = sorted(nodes, key=lambda n: n.name)
    majority, setting_findings = compare_settings(nodes)
    return FleetReport(
        generator=Generator(version=__version__),
        generated_at=datetime.now(timezone.utc),
        source=source,
        format=fmt,
        nodes=nodes,
        skipped=skipped,
        workloads=workload_summaries(nodes),
        images=image_summaries(nodes),
        majority=majority,
        findings=repeated_oom_kills(nodes) + setting_findings + failed_bundles(nodes),
    )


def incident_ref(incident: FleetIncident, node: FleetNode) -> IncidentRef:
    return IncidentRef(node=node.name, id=incident.id, report=incident.report)


def _incidents(nodes: list[FleetNode]) -> Iterable[tuple[FleetNode, FleetIncident]]:
    for node in nodes:
        for incident in node.incidents:
            yield node, incident


def workload_summaries(nodes: list[FleetNode]) -> list[WorkloadSummary]:
    """Incidents per owning workload, most incidents first."""
    groups: dict[str, WorkloadSummary] = {}
    for node, incident in _incidents(nodes):
        if incident.workload is None:
            continue
        item = groups.setdefault(incident.workload.label, WorkloadSummary(workload=incident.workload))
        _count(item, incident)
        _add_unique(item.nodes, node.name)
        _add_unique(item.containers, incident.container)
        _add_unique(item.images, incident.image)
        item.incidents.append(incident_ref(incident, node))
    return sorted(groups.values(), key=lambda w: (-(w.oom_kills + w.evictions), w.workload.label))


def image_summaries(nodes: list[FleetNode]) -> list[ImageSummary]:
    groups: dict[str, ImageSummary] = {}
    for node, incident in _incidents(nodes):
        if not incident.image:
            continue
        item = groups.setdefault(incident.image, ImageSummary(image=incident.image))
        _count(item, incident)
        _add_unique(item.nodes, node.name)
        _add_unique(item.workloads, incident.workload.label if incident.workload else None)
    return sorted(groups.values(), key=lambda i: (-(i.oom_kills + i.evictions), i.image))


def _count(item, incident: FleetIncident) -> None:
    if incident.kind == "oom_kill":
        item.oom_kills += 1
    else:
        item.evictions += 1


def _add_unique(values: list[str], value: str | None) -> None:
    if value and value not in values:
        values.append(value)


def container_identity(incident: FleetIncident) -> str | None:
    """The same container across nodes: its workload and container name, else its image.

    >>> container_identity(FleetIncident(node="a", id="oom-1", kind="oom_kill", summary="", container="worker",
    ...     workload=Workload(kind="Deployment", namespace="shop", name="cart")))
    'container worker of Deployment shop/cart'
    >>> container_identity(FleetIncident(node="a", id="oom-1", kind="oom_kill", summary="", image="shop/cart:1.4"))
    'image shop/cart:1.4'
    """
    if incident.workload is not None and incident.container:
        return f"container {incident.container} of {incident.workload.label}"
    if incident.image:
        return f"image {incident.image}"
    return None


def repeated_oom_kills(nodes: list[FleetNode]) -> list[FleetFinding]:
    """The same container OOM-killed on two or more nodes: its limit, not one node, is the likely cause."""
    groups: dict[str, list[tuple[FleetNode, FleetIncident]]] = defaultdict(list)
    for node, incident in _incidents(nodes):
        identity = container_identity(incident) if incident.kind == "oom_kill" else None
        if identity:
            groups[identity].append((node, incident))
    findings = []
    for identity, hits in sorted(groups.items()):
        on_nodes = sorted({node.name for node, _ in hits})
        if len(on_nodes) < 2:
            continue
        limits = sorted({i.limit_bytes for _, i in hits if i.limit_bytes is not None})
        at = f" at {', '.join(fmt_bytes(x) for x in limits)}" if limits else ""
        findings.append(FleetFinding(
            code="repeated_oom_kill", severity="critical", subject=identity, nodes=on_nodes,
            message=f"{identity} was OOM-killed {len(hits)} times on {len(on_nodes)} nodes ({', '.join(on_nodes)}){at}: "
                    "the same container hits its limit wherever it runs, so its limit or its memory use is the cause, not one node",
            incidents=[incident_ref(i, n) for n, i in hits],
        ))
    return findings


def compare_settings(nodes: list[FleetNode]) -> tuple[list[NodeSetting], list[FleetFinding]]:
    """Each kubelet setting's majority value over the nodes whose bundle has a kubelet config,
    and a finding per node that differs (or per setting with no majority)."""
    configured = [n for n in nodes if n.config is not None and n.config.source is not None]
    if len(configured) < 2:
        return [], []
    values: dict[str, dict[str, NodeSetting]] = defaultdict(dict)
    for node in configured:
        for setting in node.config.settings:
            values[setting.name][node.name] = setting
    majority, findings = [], []
    for name in sorted(values):
        by_node = {n.name: values[name].get(n.name) for n in configured}
        shown = {node: s.value if s else "not set" for node, s in by_node.items()}
        counts = Counter(shown.values())
        value, count = counts.most_common(1)[0]
        if count * 2 > len(configured):
            majority.append(NodeSetting(name=name, value=value))
            for node, other in sorted(shown.items()):
                if other != value:
                    findings.append(_differs(name, node, other, f"the majority ({count} of {len(configured)} nodes) has {value}", by_node[node]))
        elif len(counts) > 1:
            split = "; ".join(f"{v} on {', '.join(sorted(n for n, x in shown.items() if x == v))}" for v, _ in counts.most_common())
            findings.append(FleetFinding(code="node_setting_differs", severity="warning", subject=name, nodes=sorted(shown),
                                         message=f"{name} has no majority value across the nodes: {split}",
                                         evidence=[_node_evidence(n, s.evidence) for n, s in sorted(by_node.items()) if s and s.evidence]))
    return majority, findings


def _differs(name: str, node: str, value: str, majority: str, setting: NodeSetting | None) -> FleetFinding:
    evidence = [_node_evidence(node, setting.evidence)] if setting is not None and setting.evidence is not None else []
    return FleetFinding(code="node_setting_differs", severity="warning", subject=name, nodes=[node], evidence=evidence,
                        message=f"node {node}: {name} is {value}; {majority}")


def _node_evidence(node: str, evidence: Evidence) -> NodeEvidence:
    return NodeEvidence(node=node, file=evidence.file, line=evidence.line)


def failed_bundles(nodes: list[FleetNode]) -> list[FleetFinding]:
    return [
        FleetFinding(code="bundle_failed", severity="warning", subject=node.bundle, nodes=[node.name],
                     message=f"bundle {node.bundle} could not be analysed: {node.error}")
        for node in nodes if node.status == "failed"
    ]
