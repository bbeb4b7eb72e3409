"""Map a cgroup path back to Kubernetes: QoS tier, pod UID, container ID, runtime.

Both kubelet cgroup drivers (FACTS.md §6; kubernetes:pkg/kubelet/cm/cgroup_manager_linux.go
``ToCgroupfs``/``ToSystemd``, containerd internal/cri/server/helpers.go ``getCgroupsPath``):

- cgroupfs: ``/kubepods[/burstable|/besteffort]/pod<uid>/<64-hex id>``
- systemd: ``/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid_with_underscores>.slice/
  cri-containerd-<id>.scope`` (``crio-<id>.scope``, ``docker-<id>.scope``)

Guaranteed pods sit directly under ``kubepods``. CRI-O's ``crio-conmon-<id>`` monitor cgroups
are not containers. Paths may also sit below a prefix (``/lxc/39004/ns/kubepods/...``, k3s
nesting), so the kubepods component is searched anywhere in the path.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

RE_POD_UID = re.compile(
    r"pod(?P<uid>[0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})(?:\.slice)?$"
)
RE_CONTAINER = re.compile(
    r"^(?:(?P<prefix>cri-containerd|crio|docker)-)?(?P<id>[0-9a-f]{64})(?:\.scope)?$"
)
RUNTIME_BY_PREFIX = {"cri-containerd": "containerd", "crio": "cri-o", "docker": "docker"}

Level = Literal["node_allocatable", "qos", "pod", "container", "inside_container", "other"]


@dataclass(frozen=True)
class CgroupPlace:
    """Where a cgroup sits in the kubelet's hierarchy."""

    level: Level
    qos: str | None = None  # "Guaranteed" | "Burstable" | "BestEffort"
    pod_uid: str | None = None
    container_id: str | None = None
    runtime: str | None = None  # from the scope prefix, None on cgroupfs (bare id)
    kubepods_path: str | None = None  # the kubepods root of this path ("/kubepods" or "/kubepods.slice")


def _components(path: str) -> list[str]:
    return [c for c in path.strip().split("/") if c]


def _kubepods_index(parts: list[str]) -> int | None:
    for i, part in enumerate(parts):
        if part in ("kubepods", "kubepods.slice"):
            return i
    return None


def _qos_of(part: str) -> str | None:
    name = part.removesuffix(".slice")
    if name in ("burstable", "kubepods-burstable"):
        return "Burstable"
    if name in ("besteffort", "kubepods-besteffort"):
        return "BestEffort"
    return None


def locate(path: str | None) -> CgroupPlace:
    """Place a cgroup path in the kubelet hierarchy.

    >>> locate("/kubepods/burstable/pod6b1f0a3e-1c2d-4e5f-8a9b-0c1d2e3f4a5b/" + "a" * 64)
    CgroupPlace(level='container', qos='Burstable', pod_uid='6b1f0a3e-1c2d-4e5f-8a9b-0c1d2e3f4a5b', container_id='aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', runtime=None, kubepods_path='/kubepods')
    >>> p = locate("/kubepods.slice/kubepods-pod0a1b2c3d_0000_1111_2222_333344445555.slice")
    >>> p.level, p.qos, p.pod_uid
    ('pod', 'Guaranteed', '0a1b2c3d-0000-1111-2222-333344445555')
    >>> locate("/kubepods/besteffort").level, locate("/kubepods").level, locate("/user.slice").level
    ('qos', 'node_allocatable', 'other')
    """
    if not path:
        return CgroupPlace(level="other")
    parts = _components(path)
    start = _kubepods_index(parts)
    if start is None:
        return CgroupPlace(level="other")
    kubepods_path = "/" + "/".join(parts[: start + 1])
    rest = parts[start + 1 :]
    if not rest:
        return CgroupPlace(level="node_allocatable", kubepods_path=kubepods_path)
    qos = _qos_of(rest[0])
    if qos is not None:
        rest = rest[1:]
        if not rest:
            return CgroupPlace(level="qos", qos=qos, kubepods_path=kubepods_path)
    pod_match = RE_POD_UID.search(rest[0])
    if pod_match is None:
        return CgroupPlace(level="other", qos=qos, kubepods_path=kubepods_path)
    pod_uid = pod_match.group("uid").replace("_", "-")
    qos = qos or "Guaranteed"
    rest = rest[1:]
    if not rest:
        return CgroupPlace(level="pod", qos=qos, pod_uid=pod_uid, kubepods_path=kubepods_path)
    container = RE_CONTAINER.match(rest[0])
    if container is None:  # crio-conmon-<id>, or an unknown child of the pod cgroup
        return CgroupPlace(level="other", qos=qos, pod_uid=pod_uid, kubepods_path=kubepods_path)
    level: Level = "container" if len(rest) == 1 else "inside_container"
    return CgroupPlace(
        level=level,
        qos=qos,
        pod_uid=pod_uid,
        container_id=container.group("id"),
        runtime=RUNTIME_BY_PREFIX.get(container.group("prefix") or ""),
        kubepods_path=kubepods_path,
    )


def parent(path: str) -> str | None:
    """The parent cgroup path, None for the root.

    >>> parent("/kubepods/burstable"), parent("/kubepods"), parent("/")
    ('/kubepods', '/', None)
    """
    parts = _components(path)
    if not parts:
        return None
    return "/" + "/".join(parts[:-1])


def ancestors(path: str) -> list[str]:
    """The path itself, then each ancestor up to the root.

    >>> ancestors("/a/b")
    ['/a/b', '/a', '/']
    """
    chain: list[str] = []
    current: str | None = "/" + "/".join(_components(path))
    while current is not None:
        chain.append(current)
        current = parent(current)
    return chain
