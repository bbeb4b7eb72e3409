"""Join the CRI runtimes' and Kubernetes' records of a memory incident to the kernel's.

One kill leaves traces in several places: the kernel's OOM report, the runtime's OOM event
(containerd ``TaskOOM``, conmon ``OOM received``, ``docker events`` ``container oom``), its status
(``crictl inspect``: reason ``OOMKilled``, exit code 137) and Kubernetes events (node-problem-
detector ``OOMKilling`` quoting the kernel's kill line, the kubelet's ``SystemOOM``, ``Evicted``).
The same event is shown once: the kernel's incident, with every other record as evidence.

Joins: runtime events and ``crictl inspect`` by container id (the cgroup's id, full or a prefix of
at least 12 hex); Kubernetes OOM events by the victim pid the kernel text names; ``Evicted`` events
by pod namespace/name. containerd can publish TaskOOM for the pod *sandbox* instead of the container
(containerd#8893): its CRI plugin then marks nothing OOMKilled, and Kubernetes shows no OOMKilled
for the kill. ``crictl stats`` rows go beside the container table's cgroup arithmetic (MEM is the
CRI working set, FACTS.md §3), with the runtime bugs the corpus documents: cri-dockerd's MEM 0B
(it read Docker's PrivateWorkingSet, set only on Windows: Mirantis/cri-dockerd#64, #66) and CRI-O
reporting the pod cgroup's memory for every container of the pod (cri-o#3580).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from analyzer.facts import NodeFacts
from analyzer.models.common import Evidence, Finding
from analyzer.models.k8s import PodInfo
from analyzer.models.report import ContainerRef, ContainerUsage, EvictionIncident, OomKillIncident, PodRef, RuntimeStatus, TimelineEvent
from analyzer.rules.k8s_join import eviction_incidents
from analyzer.rules.oom_victim import summarize
from analyzer.units import fmt_bytes

if TYPE_CHECKING:  # types only: a bundle without crictl, events or runtime logs never imports their parsers
    from analyzer.parsers.crictl import CriContainer, CriPs, CriStats
    from analyzer.parsers.events import KubeEvent
    from analyzer.parsers.runtime_log import RuntimeEvent

MIN_ID = 12  # crictl and docker print ids cut to 12-13 hex; conmon logs 20
SAME_MEMORY = 0.01  # two containers of a pod within 1% of each other: CRI-O's pod-level number
WHAT_OOM_MEANS = {
    "containerd": "its CRI plugin sets the container's reason to OOMKilled, which Kubernetes shows once the container exits",
    "cri-o": "CRI-O reports reason OOMKilled for the container when it exits (conmon's oom file)",
    "docker": "docker sets State.OOMKilled, which dockershim/cri-dockerd report to Kubernetes as OOMKilled",
}


def same_id(a: str | None, b: str | None) -> bool:
    """Container ids equal, or one a prefix (>= 12 hex) of the other.

    >>> same_id("4bcba7fc4369f", "4bcba7fc4369fee4d7d2"), same_id("4bcba7fc", "4bcba7fc4369"), same_id(None, "x")
    (True, False, False)
    """
    if not a or not b or min(len(a), len(b)) < MIN_ID:
        return False
    return a.startswith(b) or b.startswith(a)


def _short(cid: str | None) -> str:
    return cid[:12] if cid else "?"


def _add_evidence(item, evidence: list[Evidence]) -> None:
    item.evidence.extend(e for e in evidence if e is not None and e not in item.evidence)


def _incident_of(incidents: list[OomKillIncident], cid: str | None) -> OomKillIncident | None:
    return next((i for i in incidents if i.container is not None and same_id(i.container.id, cid)), None)


# --- sandboxes ---------------------------------------------------------------------------------


def sandbox_ids(facts: NodeFacts) -> dict[str, tuple[str | None, Evidence | None]]:
    """Pod sandbox ids the bundle names -> (pod uid, where it was named)."""
    sandboxes: dict[str, tuple[str | None, Evidence | None]] = {}

    def add(sid: str | None, uid: str | None, ev: Evidence | None) -> None:
        if sid:
            known_uid, known_ev = sandboxes.get(sid, (None, None))
            sandboxes[sid] = (known_uid or uid, known_ev or ev)

    for e in facts.runtime_events:
        if e.kind in ("stop_sandbox", "sandbox_created", "container_created") or e.runtime == "docker":
            # docker events carry the container's pod labels, so their sandbox is that pod's
            add(e.sandbox_id, e.pod_uid if e.kind == "sandbox_created" or e.runtime == "docker" else None, e.evidence)
    for c in facts.crictl_containers:
        add(c.sandbox_id, c.pod_uid, c.evidence)
    for row in facts.crictl_ps:
        add(row.pod_id, None, row.evidence)
    for d in facts.runtime_containers:  # docker inspect: the k8s_POD_* container is the sandbox
        if d.container_name == "POD":
            add(d.id, d.pod_uid, d.evidence)
    return sandboxes


def _sandbox_of(cid: str | None, sandboxes: dict) -> tuple[str, str | None, Evidence | None] | None:
    for sid, (uid, ev) in sandboxes.items():
        if same_id(sid, cid):
            return sid, uid, ev
    return None


# --- (a) runtime OOM events --------------------------------------------------------------------


def join_runtime_oom_events(incidents: list[OomKillIncident], events: list[RuntimeEvent], sandboxes: dict) -> list[Finding]:
    """Runtime OOM events joined to the kernel incident of the same container; sandbox OOM events flagged."""
    loose: list[Finding] = []
    alone: dict[str, list[RuntimeEvent]] = {}
    for event in (e for e in events if e.kind == "oom" and e.container_id):
        incident = _incident_of(incidents, event.container_id)
        if incident is not None:
            exits = [e for e in events if e.kind in ("exit", "die") and same_id(e.container_id, event.container_id) and e.exit_code == 137]
            _add_evidence(incident, [event.evidence] + [e.evidence for e in exits])
            if not any(f.code == "runtime_oom_event" for f in incident.findings):
                incident.findings.append(_runtime_oom_finding(event, exits))
            continue
        sandbox = _sandbox_of(event.container_id, sandboxes)
        if sandbox is None:
            alone.setdefault(event.container_id[:MIN_ID], []).append(event)
            continue
        finding = _sandbox_finding(event, sandbox)
        same_pod = [i for i in incidents if sandbox[1] and i.pod is not None and i.pod.uid == sandbox[1]]
        for i in same_pod:
            _add_evidence(i, finding.evidence)
            i.findings.append(finding)
        if not same_pod:
            loose.append(finding)
    loose += [_runtime_oom_alone(group, bool(incidents)) for group in alone.values()]
    return loose


def _runtime_oom_alone(group: list[RuntimeEvent], has_kernel_incidents: bool) -> Finding:
    first = group[0]
    labels = next((e for e in group if e.pod_name or e.container_name), first)
    who = f"container {labels.container_name or _short(first.container_id)}" + (
        f" of pod {labels.pod_namespace or '?'}/{labels.pod_name}" if labels.pod_name else "")
    where = ("no kernel OOM report in the bundle names this container" if has_kernel_incidents
             else "the bundle has no kernel OOM report")
    return Finding(code="oom_event_without_kernel_report", severity="warning", evidence=[e.evidence for e in group[:5]], message=(
        f"{first.runtime} logged {len(group)} OOM event(s) for {who}{_when(first)}, but {where}: the victim, the cgroup and "
        "the limit hit are only in the node's kernel log (dmesg / journalctl -k) of that time."))


def _when(event) -> str:
    if event.time is not None:
        return f" at {event.time:%Y-%m-%d %H:%M:%S} UTC"
    text = getattr(event, "time_text", None)
    if not text:
        return ""
    from analyzer.parsers.events import KubeEvent

    if isinstance(event, KubeEvent):  # an age: relative to when kubectl listed the events
        return f" ({text} old when listed)"
    return f" at {text} (year not logged)"


def _runtime_oom_finding(event: RuntimeEvent, exits: list[RuntimeEvent]) -> Finding:
    what = {"containerd": "TaskOOM", "cri-o": "conmon's 'OOM received'", "docker": "'container oom'"}.get(event.runtime, "an OOM event")
    exit_text = f", then the task's exit with code 137 ({exits[0].evidence.cite()})" if exits else ""
    return Finding(
        code="runtime_oom_event",
        severity="info",
        message=(
            f"{event.runtime} logged {what} for this container{_when(event)}{exit_text}: the runtime saw the same kill, "
            f"and {WHAT_OOM_MEANS.get(event.runtime, 'it reports the container as OOMKilled')}."
        ),
        evidence=[event.evidence] + [e.evidence for e in exits],
    )


def _sandbox_finding(event: RuntimeEvent, sandbox: tuple[str, str | None, Evidence | None]) -> Finding:
    sid, uid, named = sandbox
    how = f" (named as a sandbox at {named.cite()})" if named is not None and named != event.evidence else ""
    return Finding(
        code="oom_event_on_sandbox",
        severity="warning",
        message=(
            f"{event.runtime} logged its OOM event{_when(event)} for {_short(event.container_id)}, the pod sandbox{how}"
            + (f" of pod {uid}" if uid else "")
            + ", not for the container the kernel killed. The CRI plugin sets reason OOMKilled only on the container "
            "the event names, so Kubernetes will not show OOMKilled for this kill: expect Reason Error with exit code 137, "
            "or a restart with no reason (containerd#8893). The kernel log is the record of what happened."
        ),
        evidence=[event.evidence] + ([named] if named is not None and named != event.evidence else []),
    )


# --- (b) crictl inspect -> runtime_status ----------------------------------------------------------


def join_crictl_inspect(incidents: list[OomKillIncident], containers: list[CriContainer]) -> None:
    """The CRI runtime's status of the killed container, as runtime_join does for docker inspect."""
    for incident in incidents:
        cri = next((c for c in containers if incident.container is not None and same_id(c.id, incident.container.id)), None)
        if cri is None or incident.runtime_status is not None:
            continue
        runtime = cri.runtime or (incident.container.runtime if incident.container else None) or "cri"
        incident.runtime_status = RuntimeStatus(
            runtime=runtime,
            container_name=cri.name,
            oom_killed=(cri.reason == "OOMKilled") if cri.reason else None,
            exit_code=cri.exit_code,
            status=cri.state,
            finished_at=cri.finished_at,
            evidence=[cri.evidence],
        )
        incident.container = ContainerRef(id=incident.container.id, name=incident.container.name or cri.name, runtime=runtime)
        if incident.pod is not None and not incident.pod.name and cri.pod_name:
            incident.pod = PodRef(uid=incident.pod.uid, namespace=cri.pod_namespace, name=cri.pod_name, qos=incident.pod.qos)
        _add_evidence(incident, [cri.evidence])
        finding = _crictl_finding(incident, cri, runtime)
        if finding is not None:
            incident.findings.append(finding)


def _crictl_finding(incident: OomKillIncident, cri: CriContainer, runtime: str) -> Finding | None:
    evidence = [cri.evidence]
    name = cri.name or _short(cri.id)
    main_killed = not any(f.code == "victim_not_main_process" for f in incident.findings)
    if cri.reason == "OOMKilled" and cri.state == "CONTAINER_RUNNING":
        return Finding(code="runtime_oom_flag_while_running", severity="warning", evidence=evidence, message=(
            f"{runtime} (crictl inspect) shows container {name} running with reason OOMKilled: a process inside was killed "
            "while the main process lived on; Kubernetes shows nothing until the container exits."))
    if cri.reason == "OOMKilled" and cri.exit_code == 137:
        return Finding(code="runtime_confirms_oom_kill", severity="info", evidence=evidence, message=(
            f"{runtime} recorded the same event for container {name} (crictl inspect): reason OOMKilled, exit code 137"
            + (f", finished {cri.finished_at:%Y-%m-%d %H:%M:%S} UTC" if cri.finished_at else "")
            + ". Kubernetes shows Reason OOMKilled, Exit Code 137 and restarts the container."))
    if main_killed and cri.exit_code == 137 and cri.reason and cri.reason != "OOMKilled":
        return Finding(code="exit_137_without_runtime_oom_flag", severity="warning", evidence=evidence, message=(
            f"{runtime} recorded exit code 137 for {name} with reason {cri.reason} (crictl inspect), not OOMKilled: the runtime "
            "missed the OOM event, so Kubernetes shows Reason Error for this kernel OOM kill."))
    return None


# --- (c) Kubernetes events --------------------------------------------------------------------------


def join_kubernetes_events(incidents: list, events: list[KubeEvent], has_kernel_log: bool) -> list[Finding]:
    """OOM events joined by victim pid, Evicted events by pod; an Evicted event alone becomes an eviction incident."""
    loose: list[Finding] = []
    ooms = [i for i in incidents if i.kind == "oom_kill"]
    alone: dict[tuple, list[KubeEvent]] = {}
    for event in (e for e in events if e.meaning in ("oom_kill", "system_oom")):
        incident = _incident_by_victim(ooms, event)
        if incident is not None:
            _add_evidence(incident, [event.evidence])
            incident.findings.append(_kubernetes_oom_finding(incident, event))
        else:  # the same event listed several times (describe shows each occurrence) is one finding
            alone.setdefault((event.reason, event.object_ref, event.victim_pid, event.message), []).append(event)
    loose += [_oom_event_alone(group, has_kernel_log) for group in alone.values()]
    for event in (e for e in events if e.meaning == "evicted"):
        if "low on resource" in event.message:
            _join_eviction_event(incidents, event)
        elif "had condition" in event.message:
            loose.append(Finding(code="rejected_at_admission", severity="info", evidence=[event.evidence], message=(
                f"Pod {event.object_ref or '?'} was rejected by the kubelet at admission ({event.message.strip()}): its status "
                "says Evicted, but it never ran on this node; the node was already under memory pressure.")))
    for event in (e for e in events if e.meaning in ("killing", "exceeded_grace_period")):
        incident = _eviction_of(incidents, event)
        if incident is not None:
            _add_evidence(incident, [event.evidence])
    return loose


def _incident_by_victim(incidents: list[OomKillIncident], event: KubeEvent) -> OomKillIncident | None:
    if event.victim_pid is None:
        return None
    candidates = [i for i in incidents if i.victim.pid == event.victim_pid
                  and (not i.victim.comm or not event.victim_comm or i.victim.comm == event.victim_comm)]
    if len(candidates) > 1 and event.time is not None:  # a reused pid: the kill nearest the event
        timed = [i for i in candidates if i.time is not None]
        if timed:
            return min(timed, key=lambda i: abs((i.time - event.time).total_seconds()))
    return candidates[0] if candidates else None


def _kubernetes_oom_finding(incident: OomKillIncident, event: KubeEvent) -> Finding:
    who = f"{event.victim_comm} (pid {event.victim_pid})"
    text = (f"Kubernetes recorded the same kill: event {event.reason} on {event.object_kind or 'object'} {event.object_ref or '?'}"
            + (f" from {event.source}" if event.source else "") + f"{_when(event)} names {who}.")
    if event.meaning == "system_oom" and incident.scope != "global":
        text += (" The kubelet posts SystemOOM only for an OOM outside any container's limit (cAdvisor saw the OOM in '/'); "
                 f"the kernel report puts this one at scope {incident.scope}.")
    return Finding(code="kubernetes_oom_event", severity="info", message=text, evidence=[event.evidence])


def _oom_event_alone(group: list[KubeEvent], has_kernel_log: bool) -> Finding:
    event = group[0]
    who = f"{event.victim_comm} (pid {event.victim_pid})" if event.victim_pid is not None else "a process it does not name"
    where = "the kernel log in the bundle has no report of this kill (rotated out, or another node's)" if has_kernel_log \
        else "the bundle has no kernel log"
    times = f" ({len(group)} times)" if len(group) > 1 else ""
    return Finding(code="oom_event_without_kernel_report", severity="warning", evidence=[e.evidence for e in group[:5]], message=(
        f"Event {event.reason} on {event.object_kind or 'object'} {event.object_ref or '?'}{_when(event)}{times} reports an OOM kill "
        f"of {who}, but {where}: the cgroup, the limit and why this victim are only in the node's kernel log (dmesg / journalctl -k)."))


def _eviction_of(incidents: list, event: KubeEvent) -> EvictionIncident | None:
    for incident in incidents:
        if incident.kind != "eviction" or incident.pod is None or incident.pod.name != event.object_name:
            continue
        if event.object_namespace and incident.pod.namespace and event.object_namespace != incident.pod.namespace:
            continue
        return incident
    return None


def _join_eviction_event(incidents: list, event: KubeEvent) -> None:
    incident = _eviction_of(incidents, event)
    if incident is None:
        pod = PodInfo(namespace=event.object_namespace, name=event.object_name, reason="Evicted", message=event.message,
                      evidence={"event": event.evidence})
        first = 1 + sum(1 for i in incidents if i.kind == "eviction")
        new = eviction_incidents([pod], first_id=first)
        if not new:
            return
        incident = new[0]
        incidents.append(incident)
    else:
        _add_evidence(incident, [event.evidence])
    if incident.time is None and event.time is not None:
        incident.time = event.time
    incident.findings.append(Finding(code="kubernetes_eviction_event", severity="info", evidence=[event.evidence], message=(
        f"Kubernetes event Evicted on pod {event.object_ref or '?'}{_when(event)}" + (f" from {event.source}" if event.source else "")
        + f": {event.message.strip()}")))


# --- crictl stats beside the container table -------------------------------------------------------


def join_crictl_stats(rows: list[ContainerUsage], stats: list[CriStats], ps: list[CriPs]) -> list[Finding]:
    """Put what `crictl stats` showed beside the cgroup arithmetic; flag the runtime bugs its numbers show."""
    for row in rows:
        match = next((s for s in stats if same_id(row.container_id, s.id)), None)
        if match is not None:
            row.crictl_stats_observed_bytes = match.working_set_bytes
            _add_evidence(row, [match.evidence])
    loose: list[Finding] = []
    zero = [s for s in stats if s.working_set_bytes == 0]
    if zero:
        loose += _place(rows, zero, _zero_finding(zero))
    for pod, members in _by_pod(stats, ps, rows).items():
        sizes = [s.working_set_bytes for s in members]
        if len(members) >= 2 and all(sizes) and (max(sizes) - min(sizes)) <= SAME_MEMORY * max(sizes):
            loose += _place(rows, members, _pod_level_finding(pod, members))
    return loose


def _place(rows: list[ContainerUsage], stats: list[CriStats], finding: Finding) -> list[Finding]:
    """On the container rows the stats joined to; the bundle-level list when none did."""
    joined = [r for r in rows if any(same_id(r.container_id, s.id) for s in stats)]
    for row in joined:
        row.findings.append(finding)
    return [] if joined else [finding]


def _by_pod(stats: list[CriStats], ps: list[CriPs], rows: list[ContainerUsage]) -> dict[str, list[CriStats]]:
    pods: dict[str, list[CriStats]] = {}
    for s in stats:
        pod = s.pod_id or s.pod_uid
        if pod is None:
            pod = next((p.pod_id for p in ps if same_id(p.id, s.id)), None)
        if pod is None:
            pod = next((r.pod_uid for r in rows if same_id(r.container_id, s.id)), None)
        if pod is not None and s.working_set_bytes is not None:
            pods.setdefault(pod, []).append(s)
    return pods


def _zero_finding(zero: list[CriStats]) -> Finding:
    ids = ", ".join(_short(s.id) for s in zero[:8]) + (" ..." if len(zero) > 8 else "")
    return Finding(code="crictl_stats_zero_memory", severity="warning", evidence=[s.evidence for s in zero[:8]], message=(
        f"crictl stats shows 0 B of memory for {len(zero)} running container(s) ({ids}). A running container always uses "
        "memory: this is the runtime's reporting, not the container. cri-dockerd before its fix read Docker's "
        "PrivateWorkingSet, which Docker sets only on Windows (Mirantis/cri-dockerd#64, #66), so the kubelet's CRI stats, "
        "kubectl top and eviction ranking saw 0 too. Use the cgroup files (or docker stats) for these containers."))


def _pod_level_finding(pod: str, members: list[CriStats]) -> Finding:
    names = ", ".join(f"{s.name or _short(s.id)} {fmt_bytes(s.working_set_bytes)}" for s in members)
    return Finding(code="crictl_stats_pod_level_memory", severity="warning", evidence=[s.evidence for s in members], message=(
        f"crictl stats shows nearly the same memory for every container of pod {_short(pod)} ({names}): the runtime reports "
        "the pod cgroup's memory for each container, as CRI-O 1.17 did (cri-o#3580). Per-container numbers from the "
        "runtime (and kubectl top per container) are then wrong; the container cgroups' own files give the real split."))


# --- everything, for the pipeline -------------------------------------------------------------------


def join_runtime_and_events(incidents: list, rows: list[ContainerUsage], facts: NodeFacts) -> list[Finding]:
    """All the joins above, in order; appends eviction incidents made from Evicted events to ``incidents``.

    Returns the findings that belong to no single incident or container row (Report.findings).
    """
    ooms = [i for i in incidents if i.kind == "oom_kill"]
    loose = join_runtime_oom_events(ooms, facts.runtime_events, sandbox_ids(facts))
    join_crictl_inspect(ooms, facts.crictl_containers)
    loose += join_kubernetes_events(incidents, facts.events, bool(facts.kernel_log_files))
    loose += join_crictl_stats(rows, facts.crictl_stats, facts.crictl_ps)
    for incident in ooms:
        incident.summary = summarize(incident)
    return loose


def runtime_timeline(incidents: list, facts: NodeFacts) -> list[TimelineEvent]:
    """The runtime's and Kubernetes' events on the timeline, tied to the incident they joined."""

    def incident_of(ev: Evidence) -> str | None:
        return next((i.id for i in incidents if ev in i.evidence), None)

    events = []
    for e in facts.runtime_events:
        if e.kind == "oom" or (e.kind in ("exit", "die") and e.exit_code == 137) or e.kind == "stop_sandbox":
            text = {"oom": "OOM event", "exit": "task exit", "die": "container died", "stop_sandbox": "pod sandbox stopped"}[e.kind]
            events.append(TimelineEvent(time=e.time, source="runtime", incident_id=incident_of(e.evidence), evidence=e.evidence,
                                        text=f"{e.runtime}: {text} for {_short(e.container_id)}"
                                        + (f", exit code {e.exit_code}" if e.exit_code is not None else "")
                                        + (f" (time {e.time_text}, year unknown)" if e.time is None and e.time_text else "")))
    joined = {ev for i in incidents if getattr(i, "runtime_status", None) for ev in i.runtime_status.evidence}
    for c in facts.crictl_containers:
        if c.finished_at is not None and c.evidence not in joined and (c.reason == "OOMKilled" or c.exit_code == 137):
            events.append(TimelineEvent(time=c.finished_at, source="runtime", incident_id=incident_of(c.evidence), evidence=c.evidence,
                                        text=f"{c.runtime or 'CRI runtime'}: container {c.name or _short(c.id)} exited, code {c.exit_code}, reason {c.reason}"))
    represented = {i.evidence[0] for i in incidents if i.evidence}  # an incident made from the event stands for it
    for e in facts.events:
        if e.meaning is None or e.evidence in represented:
            continue
        events.append(TimelineEvent(time=e.time, source="kubernetes", incident_id=incident_of(e.evidence), evidence=e.evidence,
                                    text=(f"{e.type or 'Event'} {e.reason} on {e.object_kind or 'object'} {e.object_ref or '?'}"
                                          + (f" ({e.time_text} old when listed)" if e.time is None and e.time_text else "")
                                          + f": {e.message.strip()[:240]}")))
    return events
