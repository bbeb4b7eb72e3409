"""Explain one kernel OOM kill: scope, victim, why the kernel chose it, what else stands out.

Reads ``OomReport`` (kernel-log parser) and the bundle's cgroup files (``NodeFacts``); never
opens files. Victim selection follows mm/oom_kill.c ``oom_badness`` (FACTS.md §5)::

    points = rss + swapents + pgtables_bytes / PAGE_SIZE            (pages)
    points += oom_score_adj * totalpages / 1000
    totalpages = memcg limit in pages (memcg OOM) | RAM + swap pages (global OOM)

Tasks at ``oom_score_adj -1000`` are never chosen. Old kernels (<= 5.0) could then
"sacrifice" a child of the chosen task (``Kill process N ... or sacrifice child``).
"""
from __future__ import annotations

from datetime import timedelta

from analyzer.facts import NodeFacts
from analyzer.k8s_paths import CgroupPlace, locate
from analyzer.models.common import Evidence, Finding
from analyzer.models.kernel import PAGE_SIZE, OomReport, OomTask
from analyzer.models.report import (
    ContainerRef,
    Memcg,
    OomKillIncident,
    PodRef,
    Scope,
    TaskRow,
    Trigger,
    Victim,
)
from analyzer.units import fmt_bytes

OOM_SCORE_ADJ_MIN = -1000
UNLIMITED_FROM = 2**62
SHMEM_SHARE_WORTH_SAYING = 0.10  # shmem at >= 10% of usage is worth a finding
LEVEL_TO_SCOPE: dict[str, Scope] = {
    "container": "container",
    "inside_container": "container",
    "pod": "pod",
    "qos": "qos",
    "node_allocatable": "node_allocatable",
    "other": "other",
}
SANDBOX_NAMES = {"pause", "/pause"}


def explain_oom(report: OomReport, facts: NodeFacts, incident_id: str) -> OomKillIncident:
    """Build the incident for one OOM report, with its findings."""
    victim = _victim(report)
    memcg = _memcg(report, facts)
    scope = _scope(report)
    place = locate(report.task_memcg or oom_memcg_of(report))
    totalpages = _totalpages(report, memcg)
    tasks = _task_rows(report, victim.pid, totalpages)
    victim.points = next((t.points for t in tasks if t.is_victim), None)
    incident = OomKillIncident(
        id=incident_id,
        summary="",
        status=report.status,
        scope=scope,
        constraint=report.constraint,
        time=report.time,
        time_source="log_prefix" if report.time else None,
        uptime_s=report.uptime_s,
        host=report.host or facts.host,
        kernel_version=report.kernel_version,
        victim=victim,
        trigger=_trigger(report),
        memcg=memcg,
        pod=_pod_ref(place),
        container=_container_ref(place),
        tasks=tasks,
        group_kill=report.group_kill_path is not None,
        evidence=_all_evidence(report),
    )
    _fill_time_from_clock(incident, report, facts)
    incident.findings = explain_findings(report, incident, facts)
    incident.summary = summarize(incident)
    return incident


# --- victim, trigger, memcg -------------------------------------------------------------


def _victim(report: OomReport) -> Victim:
    killed = report.killed
    if killed is not None:
        return Victim(
            pid=killed.pid,
            comm=killed.comm,
            anon_rss_bytes=killed.anon_rss_bytes,
            file_rss_bytes=killed.file_rss_bytes,
            shmem_rss_bytes=killed.shmem_rss_bytes,
            total_vm_bytes=killed.total_vm_bytes,
            oom_score_adj=killed.oom_score_adj,
            uid=killed.uid,
            pgtables_bytes=killed.pgtables_bytes,
            identified_by="killed_line",
        )
    if report.summary_pid is not None:
        return Victim(pid=report.summary_pid, comm=report.summary_task, uid=report.summary_uid, identified_by="summary")
    if report.reaped is not None:
        return Victim(pid=report.reaped.pid, comm=report.reaped.comm, identified_by="reaper")
    if report.selected is not None:
        return Victim(pid=report.selected.pid, comm=report.selected.comm, identified_by="score_line")
    return Victim()


def _trigger(report: OomReport) -> Trigger | None:
    if report.trigger is None:
        return None
    t = report.trigger
    return Trigger(pid=t.pid, comm=t.comm, gfp_mask=t.gfp_mask, order=t.order, oom_score_adj=t.oom_score_adj)


def _memcg(report: OomReport, facts: NodeFacts) -> Memcg:
    memcg = Memcg(
        oom_memcg=oom_memcg_of(report),
        task_memcg=report.task_memcg,
        usage_bytes=report.memory_usage_bytes,
        limit_bytes=report.memory_limit_bytes,
        failcnt=report.memory_failcnt,
        swap_usage_bytes=report.swap_usage_bytes,
        swap_limit_bytes=report.swap_limit_bytes,
        memsw_usage_bytes=report.memsw_usage_bytes,
        memsw_limit_bytes=report.memsw_limit_bytes,
        kmem_usage_bytes=report.kmem_usage_bytes,
        limit_source="kernel_report" if report.memory_limit_bytes is not None else None,
    )
    block = _stats_of_oom_memcg(report)
    if block is not None:
        memcg.stat, memcg.stat_source = dict(block), "kernel_report"
    bundle_cg = facts.cgroups.get(memcg.oom_memcg) if memcg.oom_memcg else None
    if bundle_cg is not None:
        if memcg.limit_bytes is None and bundle_cg.limit_bytes is not None:
            memcg.limit_bytes, memcg.limit_source = bundle_cg.limit_bytes, "bundle_cgroup_files"
        if not memcg.stat and bundle_cg.stat:
            memcg.stat, memcg.stat_source = dict(bundle_cg.stat), "bundle_cgroup_files"
        if memcg.failcnt is None:
            memcg.failcnt = bundle_cg.failcnt
    # printed as 9007199254740988kB (PAGE_COUNTER_MAX pages): no limit at that level
    if memcg.limit_bytes is not None and memcg.limit_bytes >= UNLIMITED_FROM:
        memcg.limit_bytes = None
    if memcg.memsw_limit_bytes is not None and memcg.memsw_limit_bytes >= UNLIMITED_FROM:
        memcg.memsw_limit_bytes = None
    if memcg.swap_limit_bytes is not None and memcg.swap_limit_bytes >= UNLIMITED_FROM:
        memcg.swap_limit_bytes = None
    return memcg


def _stats_of_oom_memcg(report: OomReport) -> dict[str, int] | None:
    """The stats block of the OOM memcg (v1 prints one per cgroup of the subtree)."""
    if not report.memcg_stats:
        return None
    oom_memcg = (oom_memcg_of(report) or "").rstrip("/")
    own = next((b for b in report.memcg_stats if oom_memcg and b.path.rstrip("/") == oom_memcg), None)
    if own is None:
        return report.memcg_stats[0].values
    if any(k.startswith("total_") for k in own.values) or report.cgroup_version == 2:
        return own.values  # already hierarchical
    # old v1 one-line style: one block per cgroup of the subtree, local values; sum them
    subtree = [b for b in report.memcg_stats if b.path.rstrip("/") == oom_memcg or b.path.startswith(oom_memcg + "/")]
    summed: dict[str, int] = {}
    for block in subtree:
        for key, value in block.values.items():
            summed[key] = summed.get(key, 0) + value
    return summed


def oom_memcg_of(report: OomReport) -> str | None:
    """The cgroup whose limit was hit: printed (oom-kill: / Task in ... limit of), or inferred.

    mem_cgroup_print_oom_meminfo() prints ``memory: usage ...`` and then the stats of the OOM
    memcg itself first (for_each_mem_cgroup_tree starts at it), so when the report holds the
    usage line and a stats block after it, that first block's path is the OOM memcg.
    """
    if report.oom_memcg:
        return report.oom_memcg
    usage_ev = report.evidence.get("memory_usage")
    if usage_ev is None or not report.memcg_stats:
        return None
    first = report.memcg_stats[0]
    if first.evidence is not None and first.evidence.line is not None and usage_ev.line is not None:
        if first.evidence.file == usage_ev.file and first.evidence.line > usage_ev.line:
            return first.path
    return None


def _scope(report: OomReport) -> Scope:
    oom_memcg = oom_memcg_of(report)
    if oom_memcg:
        return LEVEL_TO_SCOPE[locate(oom_memcg).level]
    memcg_message = report.killed is not None and (report.killed.message or "").startswith("Memory cgroup")
    if report.global_oom or report.constraint == "CONSTRAINT_NONE":
        return "global"
    if report.constraint in ("CONSTRAINT_CPUSET", "CONSTRAINT_MEMORY_POLICY"):
        return "other"
    if report.killed is not None and (report.killed.message or "").startswith("Out of memory"):
        return "global"
    if memcg_message or report.memory_usage_bytes is not None:
        return "unknown"  # a memcg OOM whose cgroup path the fragment does not show
    return "unknown"


def _pod_ref(place: CgroupPlace) -> PodRef | None:
    if place.pod_uid is None and place.qos is None:
        return None
    return PodRef(uid=place.pod_uid, qos=place.qos)  # namespace/name come from the Kubernetes view


def _container_ref(place: CgroupPlace) -> ContainerRef | None:
    if place.container_id is None:
        return None
    return ContainerRef(id=place.container_id, runtime=place.runtime)


# --- the kernel's badness points ----------------------------------------------------------


def _totalpages(report: OomReport, memcg: Memcg) -> int | None:
    """mem_cgroup_get_max() for a memcg OOM (limit in pages), RAM+swap pages for a global one."""
    if report.oom_memcg or report.memory_usage_bytes is not None:
        return memcg.limit_bytes // PAGE_SIZE if memcg.limit_bytes else None
    ram = report.meminfo.get("ram_bytes") or report.meminfo.get("MemTotal")
    if ram:
        return (ram + report.meminfo.get("swap_total_bytes", 0)) // PAGE_SIZE
    return None


def badness_points(task: OomTask, totalpages: int | None) -> int | None:
    """oom_badness() of one Tasks-table row, in pages; None when it cannot be recomputed.

    >>> t = OomTask(pid=1, name="x", rss_bytes=4096 * 100, swapents=5, pgtables_bytes=4096 * 2, oom_score_adj=0)
    >>> badness_points(t, 1000)
    107
    >>> badness_points(t.model_copy(update={"oom_score_adj": 500}), 32768)
    16107
    """
    if task.rss_bytes is None:
        return None
    if task.oom_score_adj == OOM_SCORE_ADJ_MIN:
        return None
    points = task.rss_bytes // PAGE_SIZE + (task.swapents or 0) + (task.pgtables_bytes or 0) // PAGE_SIZE
    adj = task.oom_score_adj or 0
    if adj:
        if totalpages is None:
            return None
        points += adj * (totalpages // 1000)
    return points


def _task_rows(report: OomReport, victim_pid: int | None, totalpages: int | None) -> list[TaskRow]:
    rows = []
    for task in report.tasks:
        rows.append(
            TaskRow(
                pid=task.pid,
                uid=task.uid,
                tgid=task.tgid,
                name=task.name,
                total_vm_bytes=task.total_vm_bytes,
                rss_bytes=task.rss_bytes,
                rss_anon_bytes=task.rss_anon_bytes,
                rss_file_bytes=task.rss_file_bytes,
                rss_shmem_bytes=task.rss_shmem_bytes,
                pgtables_bytes=task.pgtables_bytes,
                swap_bytes=task.swapents * PAGE_SIZE if task.swapents is not None else None,
                oom_score_adj=task.oom_score_adj,
                points=badness_points(task, totalpages),
                is_victim=victim_pid is not None and task.pid == victim_pid,
                evidence=task.evidence,
            )
        )
    return rows


# --- findings -----------------------------------------------------------------------------


def _ev(report: OomReport, *keys: str) -> list[Evidence]:
    return [report.evidence[k] for k in keys if k in report.evidence]


def explain_findings(report: OomReport, incident: OomKillIncident, facts: NodeFacts) -> list[Finding]:
    findings: list[Finding] = []
    for check in (
        _finding_why_this_victim,
        _finding_sacrificed_child,
        _finding_not_main_process,
        _finding_trigger_not_victim,
        _finding_memsw_limit,
        _finding_shmem,
        _finding_group_kill,
        _finding_no_killable,
        _finding_victim_only_from_reaper,
        _finding_constraint_none_memcg,
        _finding_global,
        _finding_partial,
    ):
        finding = check(report, incident)
        if finding is not None:
            findings.append(finding)
    return findings


def _finding_why_this_victim(report: OomReport, incident: OomKillIncident) -> Finding | None:
    rows = [t for t in incident.tasks if t.points is not None]
    victim_row = next((t for t in incident.tasks if t.is_victim), None)
    if victim_row is None or victim_row.points is None or not rows:
        return None
    ranked = sorted(rows, key=lambda t: t.points or 0, reverse=True)
    unkillable = [t for t in incident.tasks if t.oom_score_adj == OOM_SCORE_ADJ_MIN]
    parts = [
        f"{victim_row.name} (pid {victim_row.pid}) had {victim_row.points} badness points "
        f"(rss {fmt_bytes(victim_row.rss_bytes)}, swap {fmt_bytes(victim_row.swap_bytes or 0)}, "
        f"page tables {fmt_bytes(victim_row.pgtables_bytes or 0)}, oom_score_adj {victim_row.oom_score_adj})"
    ]
    if ranked[0].pid == victim_row.pid:
        runner_up = ranked[1] if len(ranked) > 1 else None
        parts.append(
            f"the highest of {len(rows)} killable task(s) in the Tasks table"
            + (f"; next was {runner_up.name} (pid {runner_up.pid}) with {runner_up.points}" if runner_up else "")
        )
        code, severity = "victim_highest_points", "info"
    else:
        parts.append(
            f"but {ranked[0].name} (pid {ranked[0].pid}) had more ({ranked[0].points}): the table is a snapshot "
            "and memory moved between the dump and the choice, or the kernel skipped that task (exiting, already reaped)"
        )
        code, severity = "victim_not_highest_points", "warning"
    if unkillable:
        parts.append(f"{len(unkillable)} task(s) at oom_score_adj -1000 could not be chosen")
    evidence = list(dict.fromkeys(t.evidence for t in (victim_row, ranked[0]) if t.evidence is not None))
    return Finding(code=code, severity=severity, message="; ".join(parts) + ".", evidence=evidence)


def _finding_sacrificed_child(report: OomReport, incident: OomKillIncident) -> Finding | None:
    sel, killed = report.selected, report.killed
    if sel is None or killed is None or sel.pid == killed.pid:
        return None
    return Finding(
        code="child_sacrificed",
        severity="info",
        message=(
            f"The kernel chose {sel.comm} (pid {sel.pid}, score {sel.score}) but killed its child "
            f"{killed.comm} (pid {killed.pid}) instead (the 'sacrifice child' heuristic of kernels before 5.1)."
        ),
        evidence=_ev(report, "score", "killed"),
    )


def _main_process(incident: OomKillIncident) -> TaskRow | None:
    """The lowest pid of the victim's cgroup in the Tasks table, sandbox (pause) processes left out."""
    candidates = [
        t
        for t in incident.tasks
        if t.name not in SANDBOX_NAMES and (t.tgid is None or t.tgid == t.pid) and t.oom_score_adj != OOM_SCORE_ADJ_MIN
    ]
    if incident.scope != "container":
        return None  # the table then mixes several containers' processes: no reliable main process
    return min(candidates, key=lambda t: t.pid) if candidates else None


def _finding_not_main_process(report: OomReport, incident: OomKillIncident) -> Finding | None:
    victim_pid = incident.victim.pid
    main = _main_process(incident)
    if victim_pid is None or main is None or main.pid == victim_pid or incident.group_kill:
        return None
    return Finding(
        code="victim_not_main_process",
        severity="warning",
        message=(
            f"The victim {incident.victim.comm} (pid {victim_pid}) is not the container's main process "
            f"{main.name} (pid {main.pid}, the lowest pid in the memcg's Tasks table). If the main process lives on, "
            "the container keeps running with no restart and Kubernetes shows nothing; when it exits later for "
            "another reason the runtime may report OOMKilled then."
        ),
        evidence=[e for e in (main.evidence,) if e] + _ev(report, "killed", "summary"),
    )


def _finding_trigger_not_victim(report: OomReport, incident: OomKillIncident) -> Finding | None:
    trig, victim = report.trigger, incident.victim
    if trig is None or victim.comm is None:
        return None
    same = (trig.pid is not None and trig.pid == victim.pid) or (trig.pid is None and trig.comm == victim.comm)
    if same:
        return None
    who = f"{trig.comm} (pid {trig.pid})" if trig.pid is not None else trig.comm
    return Finding(
        code="trigger_not_victim",
        severity="info",
        message=(
            f"{who} asked for memory and invoked the OOM killer, but {victim.comm} (pid {victim.pid}) was killed: "
            "the kernel kills the task with the most points, not the one whose allocation failed."
        ),
        evidence=_ev(report, "header", "killed"),
    )


def _finding_memsw_limit(report: OomReport, incident: OomKillIncident) -> Finding | None:
    usage, limit = report.memory_usage_bytes, report.memory_limit_bytes
    sw_usage, sw_limit = report.memsw_usage_bytes, report.memsw_limit_bytes
    if None in (usage, limit, sw_usage, sw_limit) or sw_limit >= UNLIMITED_FROM:
        return None
    if sw_usage < sw_limit or usage >= limit:
        return None
    return Finding(
        code="memsw_limit_hit",
        severity="warning",
        message=(
            f"The memory+swap limit ({fmt_bytes(sw_limit)}) was reached while memory usage "
            f"({fmt_bytes(usage)}) was still below the memory limit ({fmt_bytes(limit)}): swap is part of the budget."
        ),
        evidence=_ev(report, "memory_usage"),
    )


def shmem_bytes(stat: dict[str, int]) -> int | None:
    """shmem of a memory.stat (v1 ``total_shmem`` when present, else ``shmem``)."""
    return stat.get("total_shmem", stat.get("shmem"))


def _finding_shmem(report: OomReport, incident: OomKillIncident) -> Finding | None:
    shmem = shmem_bytes(incident.memcg.stat)
    usage = incident.memcg.usage_bytes
    if not shmem or not usage or shmem < usage * SHMEM_SHARE_WORTH_SAYING:
        return None
    victim_rss = (incident.victim.anon_rss_bytes or 0) + (incident.victim.file_rss_bytes or 0)
    return Finding(
        code="shmem_charged",
        severity="warning",
        message=(
            f"{fmt_bytes(shmem)} of the cgroup's {fmt_bytes(usage)} was shmem/tmpfs (emptyDir medium Memory, "
            f"/dev/shm, shared memory), charged to the cgroup although no process's RSS shows it "
            f"(the victim's rss was {fmt_bytes(victim_rss)}); reclaim cannot drop it without swap, only deleting the files frees it."
        ),
        evidence=_ev(report, *(k for k in report.evidence if k.startswith("stats:"))) or _ev(report, "memory_usage"),
    )


def _finding_group_kill(report: OomReport, incident: OomKillIncident) -> Finding | None:
    if report.group_kill_path is None:
        return None
    return Finding(
        code="oom_group_kill",
        severity="info",
        message=(
            f"memory.oom.group is set on {report.group_kill_path}: every task in it was killed together "
            "(the kubelet sets this on cgroup v2 unless singleProcessOOMKill is true), so the whole container died."
        ),
        evidence=_ev(report, "group_kill"),
    )


def _finding_no_killable(report: OomReport, incident: OomKillIncident) -> Finding | None:
    if not report.no_killable:
        return None
    return Finding(
        code="no_killable_process",
        severity="critical",
        message=(
            "The kernel found no process it could kill (all at oom_score_adj -1000 or already exiting): "
            "the cgroup stays at its limit and the OOM killer runs again and again."
        ),
        evidence=_ev(report, "no_killable"),
    )


def _finding_victim_only_from_reaper(report: OomReport, incident: OomKillIncident) -> Finding | None:
    if incident.victim.identified_by != "reaper":
        return None
    return Finding(
        code="victim_from_reaper_only",
        severity="info",
        message=(
            "The kill lines are missing (rate-limited: 'callbacks suppressed', or cut from the paste); "
            f"the victim {incident.victim.comm} (pid {incident.victim.pid}) is known only from the oom_reaper line."
        ),
        evidence=_ev(report, "reaper"),
    )


def _finding_constraint_none_memcg(report: OomReport, incident: OomKillIncident) -> Finding | None:
    if report.constraint != "CONSTRAINT_NONE" or not report.oom_memcg:
        return None
    return Finding(
        code="constraint_none_with_memcg",
        severity="info",
        message=(
            "The summary says CONSTRAINT_NONE but names an oom_memcg: early 4.19 kernels printed the constraint "
            "before setting it. This was a cgroup OOM, not a node-wide one."
        ),
        evidence=_ev(report, "summary"),
    )


def _finding_global(report: OomReport, incident: OomKillIncident) -> Finding | None:
    if incident.scope != "global":
        return None
    where = f" in pod {incident.pod.uid}" if incident.pod and incident.pod.uid else ""
    return Finding(
        code="global_oom",
        severity="critical",
        message=(
            f"The whole node ran out of memory (no cgroup limit was hit); the kernel picked {incident.victim.comm}"
            f"{where} node-wide by badness, in which oom_score_adj (BestEffort 1000, Guaranteed -997) weighs heavily."
        ),
        evidence=_ev(report, "summary", "killed", "header"),
    )


def _finding_partial(report: OomReport, incident: OomKillIncident) -> Finding | None:
    if report.status == "complete":
        return None
    missing = [
        name
        for name, present in (
            ("the 'invoked oom-killer' header", report.trigger is not None),
            ("the memcg usage/limit line", report.memory_usage_bytes is not None or incident.scope == "global"),
            ("the Tasks table", bool(report.tasks)),
            ("the kill line", report.killed is not None),
        )
        if not present
    ]
    return Finding(
        code="partial_report",
        severity="warning" if report.status == "partial" else "critical",
        message="This OOM report is incomplete in the log" + (": missing " + ", ".join(missing) if missing else "") + ".",
        evidence=[Evidence(file=report.source, line=report.first_line)] if report.source else [],
    )


# --- time and sentence --------------------------------------------------------------------


def _fill_time_from_clock(incident: OomKillIncident, report: OomReport, facts: NodeFacts) -> None:
    """Make the kill's wall time as exact as the bundle allows.

    syslog stamps have no year: the collection time gives it (the year before when the stamp
    would fall after the collection); without one the stamp is kept as text only. dmesg
    [uptime] stamps become wall time with the bundle's btime (exact to the second, unless the
    clock was stepped since boot).
    """
    if incident.time is not None and not report.time_has_year:
        when, anchor = incident.time, facts.clock.collected_at or facts.clock.btime
        incident.time_text = when.strftime("%b %d %H:%M:%S") + " (year not in the log)"
        if anchor is None:
            incident.time, incident.time_source = None, None
        else:
            dated = when.replace(year=anchor.year) if not (when.month == 2 and when.day == 29) else None
            if dated is not None and facts.clock.collected_at and dated > facts.clock.collected_at + timedelta(days=1):
                dated = dated.replace(year=anchor.year - 1)
            incident.time, incident.time_source = dated, "log_prefix+collection_year" if dated else None
    if incident.time is not None or incident.uptime_s is None or facts.clock.btime is None:
        return
    incident.time = facts.clock.btime + timedelta(seconds=incident.uptime_s)
    incident.time_source = "btime+uptime"


def _all_evidence(report: OomReport) -> list[Evidence]:
    seen: list[Evidence] = []
    for ev in report.evidence.values():
        if ev not in seen:
            seen.append(ev)
    return sorted(seen, key=lambda e: (e.file, e.line or 0))


def _where(incident: OomKillIncident) -> str:
    scope = incident.scope
    cid = incident.container.id[:12] if incident.container and incident.container.id else None
    pod = incident.pod
    pod_text = None
    if pod is not None:
        if pod.namespace and pod.name:
            pod_text = f"pod {pod.namespace}/{pod.name}"
        elif pod.uid:
            pod_text = f"pod {pod.uid}"
        if pod_text and pod.qos:
            pod_text += f" ({pod.qos})"
    cname = incident.container.name if incident.container and incident.container.name else cid
    if scope == "container":
        return f"container {cname}" + (f" of {pod_text}" if pod_text else "")
    if scope == "pod":
        return f"the pod-level cgroup of {pod_text}" if pod_text else "a pod-level cgroup"
    if scope == "qos":
        return f"the {pod.qos if pod else ''} QoS cgroup {incident.memcg.oom_memcg}"
    if scope == "node_allocatable":
        return f"the node-allocatable cgroup {incident.memcg.oom_memcg} (all pods together)"
    if scope == "global":
        return "the whole node (global OOM)"
    if scope == "other":
        return f"cgroup {incident.memcg.oom_memcg}" if incident.memcg.oom_memcg else "a constrained allocation"
    return "an unknown cgroup (the log fragment does not name it)"


def summarize(incident: OomKillIncident) -> str:
    """One sentence: who died, by whom, at which limit, why."""
    if incident.source == "kubernetes":
        from analyzer.rules.k8s_only import kubernetes_summary

        return kubernetes_summary(incident)
    v = incident.victim
    who = f"{v.comm or 'an unknown process'}" + (f" (pid {v.pid})" if v.pid is not None else "")
    limit = incident.memcg.limit_bytes
    at = f" at the {fmt_bytes(limit)} limit of " if limit and incident.scope != "global" else " in "
    sentence = f"The kernel OOM-killed {who}{at}{_where(incident)}"
    if incident.memcg.usage_bytes is not None and limit:
        sentence += f"; usage was {fmt_bytes(incident.memcg.usage_bytes)}"
    why = next((f for f in incident.findings if f.code in ("victim_highest_points", "child_sacrificed")), None)
    if why is not None and why.code == "victim_highest_points":
        sentence += "; it had the most badness points"
    elif why is not None:
        sentence += "; the kernel sacrificed a child of the chosen task"
    runtime = incident.runtime_status
    if runtime is not None and runtime.oom_killed:
        sentence += f"; {runtime.runtime} recorded OOMKilled" + (f", exit code {runtime.exit_code}" if runtime.exit_code is not None else "")
    if incident.victim.pid is None:
        sentence = f"An OOM kill in {_where(incident)}: the victim is not in this log" + (
            " (no killable process)" if any(f.code == "no_killable_process" for f in incident.findings) else ""
        )
    return sentence + "."
