"""Create Kubernetes-like memory cgroups this test owns, run workloads in them, clean up.

Lab rules (DEVELOPERS.md): only cgroups the test creates (random pod UIDs and container ids),
removed afterwards also on failure; small limits; never a node-wide OOM; the kernel log is
shared, so an incident is found by its own cgroup path and pid.
"""
from __future__ import annotations

import os
import secrets
import signal
import subprocess
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

MEM = Path("/sys/fs/cgroup/memory")
MiB = 1024 * 1024
EATER = "a = []\nwhile True:\n    a.append(bytearray(1 << 20))\n"


def lab_unavailable_reason() -> str | None:
    if os.geteuid() != 0:
        return "lab tests need root (they create memory cgroups)"
    if not (MEM / "memory.limit_in_bytes").exists():
        return "no cgroup v1 memory controller at /sys/fs/cgroup/memory (cgroup v2 only or a laptop)"
    probe = MEM / f"pmtest-probe-{secrets.token_hex(4)}"
    try:
        probe.mkdir()
        probe.rmdir()
    except OSError as err:
        return f"the cgroup v1 memory controller is not writable: {err.strerror}"
    return None


@dataclass
class LabContainer:
    cid: str
    path: str  # cgroup path as the kernel prints it

    @property
    def dir(self) -> Path:
        return MEM / self.path.lstrip("/")


@dataclass
class LabPod:
    uid: str
    qos: str
    path: str
    containers: list[LabContainer] = field(default_factory=list)

    @property
    def dir(self) -> Path:
        return MEM / self.path.lstrip("/")


class Lab:
    """Tracks every cgroup and process a test made, so cleanup removes exactly those."""

    def __init__(self) -> None:
        self.created: list[Path] = []
        self.procs: list[subprocess.Popen] = []

    def mkdir(self, path: str) -> Path:
        directory = MEM
        for part in path.strip("/").split("/"):
            directory = directory / part
            if not directory.exists():
                directory.mkdir()
                self.created.append(directory)
        return directory

    def pod(self, qos: str = "burstable", pod_limit: int | None = None, container_limits: tuple[int | None, ...] = (128 * MiB,),
            root: str = "/kubepods", driver: str = "cgroupfs", scope_prefix: str = "cri-containerd") -> LabPod:
        """A pod cgroup and its container cgroups, named as the kubelet's cgroup driver names them.

        cgroupfs: /kubepods/burstable/pod<uid>/<id>; systemd: /kubepods.slice/kubepods-burstable.slice/
        kubepods-burstable-pod<uid with _>.slice/<scope_prefix>-<id>.scope (kubernetes pkg/kubelet/cm
        cgroup_manager_linux.go ToSystemd; containerd getCgroupsPath; FACTS.md section 6).
        """
        uid = str(uuid.uuid4())
        if driver == "systemd":
            escaped = uid.replace("-", "_")
            parent = "/kubepods.slice" if qos == "guaranteed" else f"/kubepods.slice/kubepods-{qos}.slice"
            unit = f"kubepods-pod{escaped}.slice" if qos == "guaranteed" else f"kubepods-{qos}-pod{escaped}.slice"
            pod = LabPod(uid=uid, qos=qos, path=f"{parent}/{unit}")
        else:
            qos_part = "" if qos == "guaranteed" else f"/{qos}"
            pod = LabPod(uid=uid, qos=qos, path=f"{root}{qos_part}/pod{uid}")
        pod_dir = self.mkdir(pod.path)
        if pod_limit:
            (pod_dir / "memory.limit_in_bytes").write_text(str(pod_limit))
        for limit in container_limits:
            cid = secrets.token_hex(32)
            leaf = f"{scope_prefix}-{cid}.scope" if driver == "systemd" else cid
            container = LabContainer(cid=cid, path=f"{pod.path}/{leaf}")
            cdir = self.mkdir(container.path)
            if limit:
                (cdir / "memory.limit_in_bytes").write_text(str(limit))
            pod.containers.append(container)
        return pod

    def limit(self, path: str, limit: int) -> None:
        directory = MEM / path.lstrip("/")
        if directory not in self.created:
            raise PermissionError(f"{path} is not a cgroup this test created: its limit is not ours to set")
        (directory / "memory.limit_in_bytes").write_text(str(limit))

    def start(self, container: LabContainer, script: str, oom_score_adj: int | None = None, **popen) -> subprocess.Popen:
        """Run a shell script as the container's main process (joins the cgroup before exec)."""
        adj = f"echo {oom_score_adj} > /proc/self/oom_score_adj; " if oom_score_adj is not None else ""
        wrapper = f"echo $$ > {container.dir}/cgroup.procs; {adj}{script}"
        proc = subprocess.Popen(["sh", "-c", wrapper], stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen)
        self.procs.append(proc)
        return proc

    def cleanup(self) -> list[Path]:
        """Kill what runs in our cgroups and remove them, deepest first; returns any left behind."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=10)
        left = []
        for directory in reversed(self.created):
            for _ in range(100):
                for pid in _pids(directory):
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                try:
                    directory.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.1)
            else:
                left.append(directory)
        return left


def _pids(directory: Path) -> list[int]:
    try:
        return [int(p) for p in (directory / "cgroup.procs").read_text().split()]
    except OSError:
        return []


@contextmanager
def lab():
    session = Lab()
    try:
        yield session
    finally:
        left = session.cleanup()
        if left:
            raise AssertionError(f"lab cgroups could not be removed: {left}")


def eater(megabytes: int | None = None) -> str:
    """A python3 memory eater: forever, or up to N MiB then sleep."""
    if megabytes is None:
        return f"exec python3 -c '{EATER}'"
    return f"exec python3 -c 'import time; a = [bytearray(1 << 20) for _ in range({megabytes})]; time.sleep(120)'"


def wait_for_file_value(path: Path, predicate, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate(path.read_text()):
                return True
        except OSError:
            pass
        time.sleep(0.1)
    return False
