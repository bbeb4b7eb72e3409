"""Facts read from a node's cgroup and /proc files (what the node-file parsers produce).

The cgroup parsers read one file at a time; ``CgroupMemory`` gathers the files of one
cgroup directory. ``path`` is the cgroup path as the kernel prints it in OOM reports:
relative to the memory hierarchy mount (v1: ``/sys/fs/cgroup/memory``; v2:
``/sys/fs/cgroup``), starting with ``/`` (the root cgroup is ``/``).
"""
# no `from __future__ import annotations`: pydantic would compile each field's annotation string first

from collections.abc import Mapping
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from analyzer.models.common import Evidence, new_dict, new_list


class CgroupMemory(BaseModel):
    """The memory counters of one cgroup, v1 or v2, in bytes. None: the bundle lacks the file."""

    path: str
    version: Literal[1, 2]
    usage_bytes: int | None = None  # v1 memory.usage_in_bytes / v2 memory.current
    limit_bytes: int | None = None  # v1 memory.limit_in_bytes / v2 memory.max; None when unlimited or absent
    limit_unlimited: bool = False  # the file says unlimited ("max", 9223372036854771712)
    max_usage_bytes: int | None = None  # v1 max_usage_in_bytes / v2 memory.peak
    failcnt: int | None = None  # v1 only
    high_bytes: int | None = None  # v2 memory.high
    low_bytes: int | None = None
    min_bytes: int | None = None
    swap_usage_bytes: int | None = None  # v2 memory.swap.current; v1 memsw.usage - usage
    swap_limit_bytes: int | None = None
    memsw_usage_bytes: int | None = None
    memsw_limit_bytes: int | None = None
    oom_kill_disable: bool | None = None  # v1 oom_control
    under_oom: bool | None = None
    oom_kill: int | None = None  # v1 oom_control oom_kill / v2 memory.events oom_kill
    oom_group: bool | None = None  # v2 memory.oom.group
    stat: dict[str, int] = Field(default_factory=new_dict)  # memory.stat; v1 keeps local and total_* keys as written
    events: dict[str, int] = Field(default_factory=new_dict)  # v2 memory.events
    events_local: dict[str, int] = Field(default_factory=new_dict)
    pressure: dict[str, dict[str, float]] = Field(default_factory=new_dict)  # memory.pressure {"some": {"avg10": .., "total": ..}}
    procs: list[int] = Field(default_factory=new_list)
    # file name ("memory.stat", "memory.max", ...) -> evidence; stat keys as "stat:<key>". A dict, or for cgroups read
    # from a bundle an analyzer.cgroup_tree.CgroupEvidence, which makes each Evidence when asked: read it as a Mapping
    # (model_dump needs dict(cg.evidence); no field_serializer: importing it costs every run 1.4 ms, and nothing dumps this)
    evidence: Mapping[str, Evidence] = Field(default_factory=new_dict)

    def stat_value(self, key: str) -> int | None:
        """The hierarchical value of a memory.stat key: v1 ``total_<key>`` if present, else ``<key>``.

        >>> CgroupMemory(path="/", version=1, stat={"total_rss": 5, "rss": 1}).stat_value("rss")
        5
        >>> CgroupMemory(path="/", version=2, stat={"anon": 7}).stat_value("anon")
        7
        """
        if self.version == 1 and f"total_{key}" in self.stat:
            return self.stat[f"total_{key}"]
        return self.stat.get(key)


class MemInfo(BaseModel):
    """/proc/meminfo in bytes, keys as printed (``MemTotal``, ``MemAvailable``, ``Shmem``, ...)."""

    values: dict[str, int] = Field(default_factory=new_dict)
    evidence: dict[str, Evidence] = Field(default_factory=new_dict)


class NodeClock(BaseModel):
    """What the bundle says about the node's clock: boot time and uptime at collection."""

    btime: datetime | None = None  # /proc/stat btime (UTC)
    uptime_s: float | None = None  # /proc/uptime first field at collection
    collected_at: datetime | None = None
    evidence: dict[str, Evidence] = Field(default_factory=new_dict)
