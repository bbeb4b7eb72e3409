"""The report: the public JSON contract ``podmortem/v1`` shared by all renderers.

Field names here are a contract (docs/report-schema.md): later versions add fields,
never rename or repurpose them. Sizes are integers in bytes; times are ISO 8601 UTC.
"""
# No ``from __future__ import annotations`` here: pydantic evaluates every field annotation when the
# class is made, and string annotations are compiled first (3 ms of start-up, with analyzer/models/common.py).

from datetime import datetime
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field

from analyzer.models.common import Evidence, Finding

SCHEMA_ID = "podmortem/v1"

Scope = Literal["container", "pod", "qos", "node_allocatable", "global", "other", "unknown"]
QosClass = Literal["Guaranteed", "Burstable", "BestEffort"]


class BundleFile(BaseModel):
    """One member of the bundle and what podmortem did with it."""

    path: str
    kind: str
    size_bytes: int
    status: Literal["parsed", "partial", "unrecognised", "skipped", "ignored"]
    note: str | None = None


class BundleWarning(BaseModel):
    """Something the reader or a parser could not do, with where it happened."""

    message: str
    file: str | None = None
    line: int | None = None


class BundleInfo(BaseModel):
    source: str  # the name the user gave (file or directory name, no absolute path)
    source_kind: Literal["tar", "zip", "directory", "file"]
    files_read: list[BundleFile] = []
    warnings: list[BundleWarning] = []
    host: str | None = None
    kernel: str | None = None
    collected_at: datetime | None = None


class PodRef(BaseModel):
    uid: str | None = None
    namespace: str | None = None
    name: str | None = None
    qos: QosClass | None = None


class ContainerRef(BaseModel):
    id: str | None = None
    name: str | None = None
    runtime: str | None = None  # "containerd", "cri-o", "docker" (from the cgroup name or containerID)


class Victim(BaseModel):
    pid: int | None = None
    comm: str | None = None
    anon_rss_bytes: int | None = None
    file_rss_bytes: int | None = None
    shmem_rss_bytes: int | None = None
    total_vm_bytes: int | None = None
    oom_score_adj: int | None = None
    uid: int | None = None
    pgtables_bytes: int | None = None
    points: int | None = None  # oom_badness() recomputed from the Tasks table, in pages
    identified_by: str | None = None  # "killed_line", "summary", "reaper", "score_line"


class Trigger(BaseModel):
    pid: int | None = None
    comm: str | None = None
    gfp_mask: str | None = None
    order: int | None = None
    oom_score_adj: int | None = None


class Memcg(BaseModel):
    oom_memcg: str | None = None
    task_memcg: str | None = None
    usage_bytes: int | None = None
    limit_bytes: int | None = None
    failcnt: int | None = None
    swap_usage_bytes: int | None = None
    swap_limit_bytes: int | None = None
    memsw_usage_bytes: int | None = None
    memsw_limit_bytes: int | None = None
    kmem_usage_bytes: int | None = None
    stat: dict[str, int] = {}  # memory.stat of the OOM memcg at kill time, in bytes
    stat_source: str | None = None  # "kernel_report" or "bundle_cgroup_files"
    limit_source: str | None = None


class TaskRow(BaseModel):
    """A row of the kernel's Tasks table with the points oom_badness() gave it."""

    pid: int
    uid: int | None = None
    tgid: int | None = None
    name: str
    total_vm_bytes: int | None = None
    rss_bytes: int | None = None
    rss_anon_bytes: int | None = None
    rss_file_bytes: int | None = None
    rss_shmem_bytes: int | None = None
    pgtables_bytes: int | None = None
    swap_bytes: int | None = None
    oom_score_adj: int | None = None
    points: int | None = None
    is_victim: bool = False
    evidence: Evidence | None = None


class KubernetesStatus(BaseModel):
    """What Kubernetes recorded for the same container (lastState.terminated), when known."""

    reason: str | None = None
    exit_code: int | None = None
    restart_count: int | None = None
    finished_at: datetime | None = None


class RuntimeStatus(BaseModel):
    """What the container runtime recorded for the same container (docker inspect, crictl inspect)."""

    runtime: str  # "docker", "containerd", "cri-o"
    container_name: str | None = None
    oom_killed: bool | None = None
    exit_code: int | None = None
    status: str | None = None
    finished_at: datetime | None = None
    evidence: list[Evidence] = []


class OomKillIncident(BaseModel):
    kind: Literal["oom_kill"] = "oom_kill"
    id: str
    source: Literal["kernel", "kubernetes"] = "kernel"  # kubernetes: only the pod status records it (no kernel report in the bundle)
    summary: str  # one sentence: who died, by whom, at which limit, why
    status: Literal["complete", "partial", "unrecognised"] = "complete"
    scope: Scope
    constraint: str | None = None
    time: datetime | None = None
    time_source: str | None = None  # "log_prefix", "log_prefix+collection_year", "btime+uptime", None
    time_text: str | None = None  # the stamp as logged when it cannot become a full time (syslog has no year)
    uptime_s: float | None = None
    host: str | None = None
    kernel_version: str | None = None
    victim: Victim
    trigger: Trigger | None = None
    memcg: Memcg
    pod: PodRef | None = None
    container: ContainerRef | None = None
    kubernetes: KubernetesStatus | None = None
    runtime_status: RuntimeStatus | None = None
    tasks: list[TaskRow] = []
    group_kill: bool = False
    findings: list[Finding] = []
    evidence: list[Evidence] = []


class RankedPod(BaseModel):
    pod: str  # namespace/name
    usage_bytes: int | None = None
    request_bytes: int | None = None
    priority: int | None = None
    exceeds_request: bool | None = None


class EvictionIncident(BaseModel):
    kind: Literal["eviction"] = "eviction"
    id: str
    summary: str
    time: datetime | None = None
    pod: PodRef | None = None
    signal: str | None = None
    threshold_bytes: int | None = None
    observed_bytes: int | None = None
    ranking: list[RankedPod] = []
    findings: list[Finding] = []
    evidence: list[Evidence] = []


Incident = Annotated[Union[OomKillIncident, EvictionIncident], Field(discriminator="kind")]


class DockerStatsBytes(BaseModel):
    before_20_10: int | None = None  # usage - cache (docker CLI <= 19.03)
    since_20_10: int | None = None  # usage - total_inactive_file / inactive_file


class ContainerUsage(BaseModel):
    cgroup: str
    pod_uid: str | None = None
    container_id: str | None = None
    usage_bytes: int | None = None
    limit_bytes: int | None = None
    working_set_bytes: int | None = None
    rss_bytes: int | None = None
    cache_bytes: int | None = None
    active_file_bytes: int | None = None
    inactive_file_bytes: int | None = None
    shmem_bytes: int | None = None
    docker_stats_bytes: DockerStatsBytes | None = None
    docker_stats_observed_bytes: int | None = None  # what `docker stats` in the bundle showed
    crictl_stats_observed_bytes: int | None = None  # what `crictl stats` in the bundle showed (CRI workingSetBytes)
    findings: list[Finding] = []
    evidence: list[Evidence] = []


class ClockCheck(BaseModel):
    """How the kernel's times were obtained and how exact they are (analyzer/rules/clock.py)."""

    btime: datetime | None = None  # /proc/stat btime: the wall time of boot
    conversion: str | None = None  # "btime+uptime", or None when uptimes could not be converted
    pairs_compared: int = 0  # kernel lines carrying both a syslog/journal wall stamp and the kernel uptime
    median_offset_s: float | None = None  # their wall stamp minus btime + uptime
    max_offset_s: float | None = None
    statement: str = ""
    evidence: list[Evidence] = []


class TimelineEvent(BaseModel):
    time: datetime | None = None
    time_source: str | None = None  # how ``time`` was obtained: see the incident's time_source
    uptime_s: float | None = None
    source: str  # "kernel", "kubelet", "runtime", "kubernetes"
    text: str
    incident_id: str | None = None
    evidence: Evidence | None = None


class NodeMemory(BaseModel):
    """The node's memory as `free` shows it and as the kubelet computes memory.available (FACTS.md §4, §7)."""

    mem_total_bytes: int | None = None
    free_available_bytes: int | None = None  # /proc/meminfo MemAvailable: `free`'s "available"
    buff_cache_bytes: int | None = None  # Buffers + Cached + SReclaimable: `free`'s "buff/cache"
    shmem_bytes: int | None = None  # in "buff/cache" for `free`, but not reclaimable without swap
    root_usage_bytes: int | None = None
    root_working_set_bytes: int | None = None  # root usage - root inactive_file
    kubelet_memory_available_bytes: int | None = None  # MemTotal - root working set, as the kubelet computes it
    summary_memory_available_bytes: int | None = None  # what the kubelet's /stats/summary said (node.memory.availableBytes)
    eviction_threshold_bytes: int | None = None  # evictionHard memory.available (configured or default)
    eviction_threshold_defaulted: bool | None = None
    working_set_source: str | None = None  # "root_cgroup" (the bundle's cgroup files) or "kubectl_top" (a pasted table)
    allocatable_bytes: int | None = None  # the node's allocatable memory (kubectl describe node), when pasted
    values_approximate: bool = False  # read from `free -h`: rounded to two or three digits
    kubelet_logged_memory_available_bytes: int | None = None  # the kubelet's last logged observation of memory.available
    kubelet_logged_capacity_bytes: int | None = None  # the capacity that observation was against
    kubelet_logged_at: datetime | None = None  # when the kubelet logged it
    kubelet_logged_at_text: str | None = None  # the klog stamp, when it has no year
    findings: list[Finding] = []
    evidence: list[Evidence] = []


class MissingArtifact(BaseModel):
    """Something the bundle lacks that would sharpen the report, and how to collect it."""

    what: str
    why: str
    how: str


class TrendSample(BaseModel):
    """One --samples snapshot of a container: its time and its counters (memory.stat, usage)."""

    at: datetime | None = None  # wall time of the sample, when the bundle tells
    t_s: float  # seconds since the container's first sample
    usage_bytes: int | None = None
    anon_bytes: int | None = None  # v1 total_rss / v2 anon
    cache_bytes: int | None = None  # v1 total_cache / v2 file (page cache, shmem included)


class ContainerTrend(BaseModel):
    """Growth of one container over the collector's --samples (analyzer/rules/trends.py)."""

    cgroup: str
    pod_uid: str | None = None
    container_id: str | None = None
    samples: list[TrendSample] = []
    time_source: str | None = None  # "uptime" (the sample's /proc/uptime) or "taken_at" (whole seconds)
    anon_bytes_per_s: float | None = None  # least-squares slope over the samples
    cache_bytes_per_s: float | None = None
    usage_bytes_per_s: float | None = None
    anon_fit_r2: float | None = None  # how straight the anon line is (1.0: a perfect line)
    cache_fit_r2: float | None = None
    limit_bytes: int | None = None
    seconds_to_limit: float | None = None  # anon at its slope reaches the limit, from the last sample
    projected_limit_at: datetime | None = None
    findings: list[Finding] = []
    evidence: list[Evidence] = []


class Generator(BaseModel):
    name: str = "podmortem"
    version: str


class Report(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    schema_id: str = Field(default=SCHEMA_ID, alias="schema")
    generator: Generator
    generated_at: datetime
    bundle: BundleInfo
    incidents: list[Incident] = []
    containers: list[ContainerUsage] = []
    timeline: list[TimelineEvent] = []
    missing: list[MissingArtifact] = []
    node: NodeMemory | None = None
    clock: ClockCheck | None = None  # how exact the kernel times on the timeline are
    findings: list[Finding] = []  # about the bundle as a whole, not one incident or container (runtime bugs, unmatched events)
    trends: list[ContainerTrend] = []  # growth per container over the collector's --samples
    evidence_lines: dict[str, str] = {}  # "file:line" -> the cited bundle line as read, secrets masked by the redaction rules (capped)
