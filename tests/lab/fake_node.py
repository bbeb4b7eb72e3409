"""A fake node tree for the collector's --root: kubepods cgroups of many pods, /proc files.

Made by hand for tests, clearly not a real node: values are plausible, not measured. Layouts:
cgroup v1 with the cgroupfs driver, cgroup v2 with the systemd driver (containerd scopes).
"""
from __future__ import annotations

import secrets
import uuid
from pathlib import Path

MiB = 1024 * 1024
V1_STAT = "cache {cache}\nrss {rss}\nshmem 0\nmapped_file 0\ninactive_file {inactive}\nactive_file {active}\ntotal_cache {cache}\ntotal_rss {rss}\ntotal_shmem 0\ntotal_inactive_file {inactive}\ntotal_active_file {active}\n"
V2_STAT = "anon {rss}\nfile {cache}\nshmem 0\ninactive_file {inactive}\nactive_file {active}\nkernel 1048576\n"


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _container_files(directory: Path, version: int, usage: int, limit: int) -> None:
    values = dict(rss=usage // 2, cache=usage // 2, inactive=usage // 8, active=usage // 4)
    if version == 1:
        _write(directory / "memory.usage_in_bytes", f"{usage}\n")
        _write(directory / "memory.limit_in_bytes", f"{limit}\n")
        _write(directory / "memory.max_usage_in_bytes", f"{usage + MiB}\n")
        _write(directory / "memory.failcnt", "0\n")
        _write(directory / "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n")
        _write(directory / "memory.stat", V1_STAT.format(**values))
    else:
        _write(directory / "memory.current", f"{usage}\n")
        _write(directory / "memory.max", f"{limit}\n")
        _write(directory / "memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n")
        _write(directory / "memory.stat", V2_STAT.format(**values))
    _write(directory / "cgroup.procs", "")


def build(root: Path, pods: int = 110, containers: int = 2, version: int = 1) -> list[tuple[str, list[str]]]:
    """Write the tree; returns [(pod uid, [container ids])]. v1 uses cgroupfs, v2 systemd."""
    made = []
    base = root / "sys/fs/cgroup/memory" if version == 1 else root / "sys/fs/cgroup"
    if version == 2:
        _write(root / "sys/fs/cgroup/cgroup.controllers", "cpuset cpu io memory pids\n")
    _container_files(base, version, 2048 * MiB, 2**63 - 4096 if version == 1 else 0)
    for i in range(pods):
        uid = str(uuid.UUID(int=i + 1, version=4))
        qos = ("burstable", "besteffort", "guaranteed")[i % 3]
        if version == 1:
            pod_dir = base / "kubepods" / ("" if qos == "guaranteed" else qos) / f"pod{uid}"
        else:
            esc = uid.replace("-", "_")
            tier = "" if qos == "guaranteed" else f"kubepods-{qos}.slice/"
            name = f"kubepods-{'' if qos == 'guaranteed' else qos + '-'}pod{esc}.slice"
            pod_dir = base / "kubepods.slice" / tier / name
        ids = []
        for c in range(containers):
            cid = secrets.token_hex(32)
            leaf = cid if version == 1 else f"cri-containerd-{cid}.scope"
            _container_files(pod_dir / leaf, version, (50 + c) * MiB, 256 * MiB)
            ids.append(cid)
        made.append((uid, ids))
    for name, text in {
        "proc/meminfo": "MemTotal:       16384000 kB\nMemFree:         8192000 kB\nMemAvailable:   12000000 kB\nShmem:             10240 kB\n",
        "proc/stat": "cpu  1 2 3 4\nbtime 1795520807\n",
        "proc/uptime": "1000.50 1800.00\n",
        "proc/version": "Linux version 6.1.0-fake (builder@fake) #1 SMP\n",
        "proc/vmstat": "oom_kill 0\n",
        "proc/loadavg": "0.00 0.00 0.00 1/100 1\n",
        "etc/hostname": "fake-node-1\n",
    }.items():
        _write(root / name, text)
    return made
