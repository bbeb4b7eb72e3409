"""What the kernel-log parser extracts from one OOM report (facts, not conclusions).

All sizes are normalised to bytes at parse time (kB x 1024, pages x 4096 for the
Tasks table, which the kernel prints in pages). ``evidence`` maps a field name
(``"header"``, ``"memory_usage"``, ``"summary"``, ``"killed"``, ``"score"``,
``"reaper"``, ``"group_kill"``, ``"task:<pid>"``, ``"stats:<path>"``, ...) to the
bundle line it was read from.
"""
# no `from __future__ import annotations`: pydantic would evaluate each field's annotation string
# when building the models, 1 ms of every start (measured with -X importtime)
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from analyzer.models.common import Evidence, Problem, new_dict, new_list

PAGE_SIZE = 4096


class OomTrigger(BaseModel):
    """``<comm> invoked oom-killer: gfp_mask=..., order=N, oom_score_adj=N`` (mm/oom_kill.c:dump_header)."""

    comm: str
    pid: int | None = None  # from the "CPU: N PID: P Comm: C" line when present
    gfp_mask: str | None = None
    order: int | None = None
    oom_score_adj: int | None = None


class OomTask(BaseModel):
    """One row of the ``Tasks state`` table (mm/oom_kill.c:dump_task). Sizes in bytes."""

    pid: int
    uid: int | None = None
    tgid: int | None = None
    total_vm_bytes: int | None = None
    rss_bytes: int | None = None
    rss_anon_bytes: int | None = None
    rss_file_bytes: int | None = None
    rss_shmem_bytes: int | None = None
    pgtables_bytes: int | None = None  # pgtables_bytes column, or nr_ptes(+nr_pmds) x PAGE_SIZE on old kernels
    swapents: int | None = None  # pages
    oom_score_adj: int | None = None
    name: str
    evidence: Evidence | None = None


class MemcgStatsBlock(BaseModel):
    """``Memory cgroup stats for <path>:`` with its values in bytes (v1 KB style or v2 one-per-line)."""

    path: str
    values: dict[str, int] = Field(default_factory=new_dict)
    evidence: Evidence | None = None


class KilledProcess(BaseModel):
    """``<msg>: Killed process N (comm) total-vm:..kB, anon-rss:..kB, ...`` (mm/oom_kill.c:__oom_kill_process)."""

    pid: int
    comm: str
    message: str | None = None  # "Memory cgroup out of memory", "Out of memory", ... (None on the old 2nd line)
    total_vm_bytes: int | None = None
    anon_rss_bytes: int | None = None
    file_rss_bytes: int | None = None
    shmem_rss_bytes: int | None = None
    uid: int | None = None
    pgtables_bytes: int | None = None
    oom_score_adj: int | None = None


class SelectedProcess(BaseModel):
    """Old kernels (<= 5.0): ``<msg>: Kill process N (comm) score S or sacrifice child``."""

    pid: int
    comm: str
    score: int | None = None
    message: str | None = None


class ReapedProcess(BaseModel):
    """``oom_reaper: reaped process N (comm), now anon-rss:..kB, file-rss:..kB, shmem-rss:..kB``."""

    pid: int
    comm: str
    anon_rss_bytes: int | None = None
    file_rss_bytes: int | None = None
    shmem_rss_bytes: int | None = None


class OomReport(BaseModel):
    """One OOM-killer run as printed in a kernel log, possibly cut or interleaved.

    ``status``: ``complete`` when a header and a kill (or reaper) line were both found,
    ``partial`` when pieces are missing (a fragment), ``unrecognised`` when the block is
    an OOM report podmortem could not read (kept, never dropped).
    """

    status: Literal["complete", "partial", "unrecognised"] = "complete"
    first_line: int | None = None
    last_line: int | None = None
    source: str = ""

    # time, from the line prefix: wall clock when printed (dmesg -T, syslog, journal), uptime when [seconds]
    time: datetime | None = None
    time_has_year: bool = True  # syslog "Dec  4 15:24:33" has no year: False
    uptime_s: float | None = None
    host: str | None = None

    kernel_version: str | None = None  # "CPU: 0 PID: 2109 Comm: python3 Not tainted 6.18.44 #1"
    trigger: OomTrigger | None = None

    # context
    constraint: str | None = None  # CONSTRAINT_MEMCG, CONSTRAINT_NONE, ... (oom-kill: summary, 4.19+)
    global_oom: bool | None = None  # summary says global_oom / message is "Out of memory"
    oom_memcg: str | None = None  # cgroup whose limit was hit
    task_memcg: str | None = None  # victim's cgroup
    cpuset: str | None = None
    summary_task: str | None = None
    summary_pid: int | None = None
    summary_uid: int | None = None

    # memcg counters printed by mem_cgroup_print_oom_meminfo (bytes)
    memory_usage_bytes: int | None = None
    memory_limit_bytes: int | None = None
    memory_failcnt: int | None = None
    memsw_usage_bytes: int | None = None  # v1 "memory+swap:"
    memsw_limit_bytes: int | None = None
    memsw_failcnt: int | None = None
    swap_usage_bytes: int | None = None  # v2 "swap:"
    swap_limit_bytes: int | None = None
    swap_failcnt: int | None = None
    kmem_usage_bytes: int | None = None
    memcg_stats: list[MemcgStatsBlock] = Field(default_factory=new_list)
    cgroup_version: Literal[1, 2] | None = None  # inferred from the stats style / "memory+swap" vs "swap"

    # global OOM Mem-Info excerpts (pages converted to bytes) when present
    meminfo: dict[str, int] = Field(default_factory=new_dict)

    tasks_columns: list[str] = Field(default_factory=new_list)
    tasks: list[OomTask] = Field(default_factory=new_list)

    selected: SelectedProcess | None = None  # old "Kill process ... score ... or sacrifice child"
    killed: KilledProcess | None = None
    reaped: ReapedProcess | None = None
    group_kill_path: str | None = None  # "Tasks in <path> are going to be killed due to memory.oom.group set"
    extra_killed: list[KilledProcess] = Field(default_factory=new_list)  # further kills of the same run (oom.group members)
    no_killable: bool = False  # "Out of memory and no killable processes..."
    suppressed_callbacks: int | None = None  # "oom_kill_process: N callbacks suppressed"

    evidence: dict[str, Evidence] = Field(default_factory=new_dict)
    problems: list[Problem] = Field(default_factory=new_list)


class KernelLog(BaseModel):
    """Everything of interest in one kernel log file."""

    ooms: list[OomReport] = Field(default_factory=new_list)
    prefix_style: str | None = None  # "dmesg", "dmesg_T", "syslog", "journal", "kmsg", "talos", "bare", ...
    lines_read: int = 0
    kernel_version: str | None = None  # "Linux version ..." banner when present
    # hints to convert uptime to wall time: (uptime_s, wall time) pairs from lines that carry both
    clock_pairs: list[tuple[float, datetime]] = Field(default_factory=new_list)
