"""A private Docker daemon for lab tests: its own data-root, exec-root, socket and config.

Debian's docker.io (20.10) runs here without network: dockerd starts its own managed containerd
(under ``<exec-root>/containerd``), nothing is pulled, and the only image is built FROM scratch
from Debian's static busybox. Containers run with ``--cgroup-parent=/kubepods/<qos>/pod<uid>``
under the cgroupfs driver, so the kernel names them exactly as it names a kubelet's containers:

    oom-kill:constraint=CONSTRAINT_MEMCG,...,oom_memcg=/kubepods/burstable/pod33af9998-02eb-4430-8cb9-c1b412faa4e7/b599484e0f07...,task=sh,pid=4300,uid=0

What it never touches: /var/lib/docker, /var/run/docker.sock, the system containerd. dockerd
itself creates two empty directories outside its roots (/etc/docker and /run/docker/plugins,
seen with docker.io 20.10.24): they are removed afterwards when they did not exist before.
Lab rules (as tests/lab/cgroups.py): only cgroups this harness made (random pod UIDs), removed
afterwards in every controller, also on failure; small limits; never a node-wide OOM.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import struct
import subprocess
import tempfile
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from tests.lab.cgroups import lab_unavailable_reason

DOCKERD = "/usr/sbin/dockerd"
DEBIAN_CLI = "/usr/bin/docker"  # docker.io's own client, the daemon's version
BUSYBOX = Path("/bin/busybox")  # busybox-static installs a static binary here
IMAGE = "podmortem-lab-busybox:1"
CGROUP_ROOT = Path("/sys/fs/cgroup")
IMAGE_CONTEXT = Path(__file__).resolve().parents[2] / "fixtures" / "docker" / "image"
STARTUP_SECONDS = 30.0
STOP_SECONDS = 20.0
# Directories dockerd 20.10 creates outside --data-root/--exec-root (seen on this lab).
STRAY_DIRS = (Path("/etc/docker"), Path("/run/docker/plugins"), Path("/run/docker"))
PT_INTERP = 3


class DockerLabError(RuntimeError):
    """The private daemon did not start or a docker command failed (message holds its output)."""


def is_static_elf(path: Path) -> bool:
    """True for an ELF executable without a program interpreter (statically linked).

    >>> is_static_elf(Path("/nonexistent"))
    False
    """
    try:
        with path.open("rb") as f:
            head = f.read(64)
            if len(head) < 64 or head[:4] != b"\x7fELF" or head[4] != 2:  # 64-bit ELF only
                return False
            phoff, = struct.unpack_from("<Q", head, 32)
            phentsize, phnum = struct.unpack_from("<HH", head, 54)
            f.seek(phoff)
            table = f.read(phentsize * phnum)
    except OSError:
        return False
    types = [struct.unpack_from("<I", table, i * phentsize)[0] for i in range(phnum)]
    return PT_INTERP not in types


def docker_cli() -> str | None:
    """Debian's docker client (same version as the daemon), else whatever `docker` is on PATH."""
    return DEBIAN_CLI if os.access(DEBIAN_CLI, os.X_OK) else shutil.which("docker")


def docker_unavailable_reason() -> str | None:
    """Why a private dockerd cannot run here (None when it can): root, cgroup v1, packages.

    >>> docker_unavailable_reason() is None or isinstance(docker_unavailable_reason(), str)
    True
    """
    reason = lab_unavailable_reason()
    if reason:
        return reason
    if not os.access(DOCKERD, os.X_OK):
        return f"no dockerd at {DOCKERD} (apt-get install docker.io)"
    if docker_cli() is None:
        return "no docker client (apt-get install docker.io)"
    if not shutil.which("containerd") or not shutil.which("runc"):
        return "dockerd needs containerd and runc (apt-get install docker.io pulls both)"
    if not is_static_elf(BUSYBOX):
        return f"{BUSYBOX} is missing or not static (apt-get install busybox-static)"
    return None


@dataclass
class DockerPod:
    """A Kubernetes-like pod cgroup that docker containers join through --cgroup-parent."""

    uid: str
    qos: str  # burstable | besteffort | guaranteed

    @property
    def cgroup_parent(self) -> str:
        qos_part = "" if self.qos == "guaranteed" else f"/{self.qos}"
        return f"/kubepods{qos_part}/pod{self.uid}"

    def container_path(self, container_id: str) -> str:
        """The container's cgroup path as the kernel prints it (cgroupfs driver)."""
        return f"{self.cgroup_parent}/{container_id}"


@dataclass
class DockerLab:
    """A running private dockerd; every container and pod cgroup it made is tracked for cleanup."""

    root: Path
    cli: str
    daemon: subprocess.Popen
    containers: list[str] = field(default_factory=list)
    pods: list[DockerPod] = field(default_factory=list)
    made_cgroups: list[Path] = field(default_factory=list)

    @property
    def socket(self) -> Path:
        return self.root / "docker.sock"

    @property
    def host(self) -> str:
        return f"unix://{self.socket}"

    @property
    def log(self) -> Path:
        return self.root / "dockerd.log"

    def env(self) -> dict[str, str]:
        """Environment for tools that call `docker` (the collector): this daemon, this client first on PATH."""
        path = f"{Path(self.cli).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}"
        return {**os.environ, "DOCKER_HOST": self.host, "PATH": path}

    def docker(self, *args: str, timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess:
        run = subprocess.run([self.cli, "-H", self.host, *args], capture_output=True, text=True, timeout=timeout)
        if check and run.returncode != 0:
            raise DockerLabError(f"docker {' '.join(args)} exited {run.returncode}: {run.stderr.strip()}")
        return run

    def build_image(self) -> str:
        """Build podmortem-lab-busybox:1 FROM scratch with the static busybox (classic builder: offline)."""
        with tempfile.TemporaryDirectory(prefix="pm-docker-ctx-") as ctx:
            shutil.copy(IMAGE_CONTEXT / "Dockerfile", Path(ctx) / "Dockerfile")
            shutil.copy(BUSYBOX, Path(ctx) / "busybox")
            build = subprocess.run([self.cli, "-H", self.host, "build", "-q", "-t", IMAGE, ctx], capture_output=True,
                                   text=True, timeout=120, env={**os.environ, "DOCKER_BUILDKIT": "0"}, check=False)
        if build.returncode != 0:
            raise DockerLabError(f"docker build of {IMAGE} exited {build.returncode}: {build.stderr.strip()}")
        return self.docker("image", "inspect", "-f", "{{.Id}}", IMAGE).stdout.strip()

    def pod(self, qos: str = "burstable") -> DockerPod:
        pod = DockerPod(uid=str(uuid.uuid4()), qos=qos)
        self._remember_missing_dirs(pod.cgroup_parent)
        self.pods.append(pod)
        return pod

    def run(self, pod: DockerPod, script: str, *, name: str, memory: str = "128m") -> str:
        """Start a detached container in the pod running `sh -c script`; returns its 64-hex id."""
        cid = self.docker("run", "-d", "--name", name, "--network", "none", "--memory", memory, "--memory-swap", memory,
                          "--cgroup-parent", pod.cgroup_parent, IMAGE, "sh", "-c", script).stdout.strip()
        self.containers.append(cid)
        return cid

    def inspect(self, cid: str) -> dict:
        return json.loads(self.docker("inspect", cid).stdout)[0]

    def wait(self, cid: str, timeout: float = 60) -> int:
        return int(self.docker("wait", cid, timeout=timeout).stdout.strip())

    def _remember_missing_dirs(self, cgroup_path: str) -> None:
        """Record every directory of this path, in every cgroup hierarchy, that does not exist yet."""
        for hierarchy in cgroup_hierarchies():
            directory = hierarchy
            for part in cgroup_path.strip("/").split("/"):
                directory = directory / part
                if not directory.exists() and directory not in self.made_cgroups:
                    self.made_cgroups.append(directory)

    def cleanup(self) -> None:
        """Remove containers, stop the daemon, remove cgroups and temp dirs; every step tolerates failure."""
        for cid in reversed(self.containers):
            try:
                self.docker("rm", "-f", "-v", cid, timeout=30, check=False)
            except (subprocess.TimeoutExpired, OSError):
                pass
        stop_daemon(self.daemon, self.root)
        for pod in self.pods:
            remove_pod_cgroups(pod)
        for directory in sorted(self.made_cgroups, key=lambda p: len(p.parts), reverse=True):
            try:
                directory.rmdir()  # only when empty: another test's pods keep /kubepods alive
            except OSError:
                pass


def cgroup_hierarchies() -> list[Path]:
    """Mounted cgroup hierarchies (v1 controllers, name=systemd, and a v2 'unified' mount)."""
    mounts = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split(" - ", 1)
        if len(fields) == 2 and fields[1].split()[0] in ("cgroup", "cgroup2"):
            mounts.append(Path(fields[0].split()[4]))
    return [m for m in mounts if CGROUP_ROOT in m.parents]


def remove_pod_cgroups(pod: DockerPod) -> None:
    """Remove the pod's directory (and any container left in it) in every hierarchy, killing stragglers."""
    for hierarchy in cgroup_hierarchies():
        pod_dir = hierarchy / pod.cgroup_parent.lstrip("/")
        if not pod_dir.is_dir():
            continue
        for directory in sorted((p for p in pod_dir.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
            _rmdir_killing(directory)
        _rmdir_killing(pod_dir)


def _rmdir_killing(directory: Path, attempts: int = 50) -> None:
    for _ in range(attempts):
        try:
            pids = [int(p) for p in (directory / "cgroup.procs").read_text().split()]
        except OSError:
            pids = []
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            directory.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.1)


def stop_daemon(daemon: subprocess.Popen, root: Path) -> None:
    """SIGTERM dockerd (it stops its managed containerd), SIGKILL after STOP_SECONDS, then its containerd."""
    if daemon.poll() is None:
        daemon.terminate()
        try:
            daemon.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait(timeout=10)
    containerd_pid = root / "exec" / "containerd" / "containerd.pid"
    try:
        os.kill(int(containerd_pid.read_text().strip()), signal.SIGKILL)
    except (OSError, ValueError):
        pass


def _unmount_under(root: Path) -> None:
    """Lazily unmount anything the daemon left mounted under its roots (netns files, layer mounts)."""
    mounted = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = Path(line.split()[4].replace("\\040", " "))
        if point == root or root in point.parents:
            mounted.append(point)
    for point in sorted(mounted, key=lambda p: len(p.parts), reverse=True):
        subprocess.run(["umount", "-l", str(point)], capture_output=True, check=False)


def _wait_until_ready(lab: DockerLab) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if lab.daemon.poll() is not None:
            raise DockerLabError(f"dockerd exited with {lab.daemon.returncode}: {_tail(lab.log)}")
        if lab.socket.exists() and lab.docker("info", "--format", "{{.ServerVersion}}", timeout=10, check=False).returncode == 0:
            return
        time.sleep(0.2)
    raise DockerLabError(f"dockerd did not answer `docker info` within {STARTUP_SECONDS:.0f} s: {_tail(lab.log)}")


def _tail(path: Path, lines: int = 5) -> str:
    try:
        return " | ".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def dockerd_command(root: Path) -> list[str]:
    """dockerd confined to `root`: no iptables, no bridge, cgroupfs driver, vfs storage (works on any fs).

    >>> cmd = dockerd_command(Path("/tmp/x"))
    >>> "--data-root" in cmd and "unix:///tmp/x/docker.sock" in cmd and "--iptables=false" in cmd
    True
    """
    return [DOCKERD, "--data-root", str(root / "data"), "--exec-root", str(root / "exec"),
            "--pidfile", str(root / "dockerd.pid"), "-H", f"unix://{root}/docker.sock",
            "--config-file", str(root / "daemon.json"), "--iptables=false", "--ip6tables=false",
            "--bridge=none", "--ip-masq=false", "--storage-driver", "vfs",
            "--exec-opt", "native.cgroupdriver=cgroupfs"]


@contextmanager
def docker_lab(build_image: bool = True) -> Iterator[DockerLab]:
    """Start a private dockerd under a temp dir, yield it, and always tear everything down.

    Raises DockerLabError when the daemon does not come up (the caller skips or fails with it).
    """
    reason = docker_unavailable_reason()
    if reason:
        raise DockerLabError(reason)
    stray_before = {d for d in STRAY_DIRS if d.exists()}
    root = Path(tempfile.mkdtemp(prefix="pm-docker-", dir="/tmp"))  # short: a unix socket path is <108 bytes
    # The trust key would go to /etc/docker/key.json; its only knob in 20.10 is this config key.
    (root / "daemon.json").write_text(json.dumps({"deprecated-key-path": str(root / "key.json")}))
    log = (root / "dockerd.log").open("wb")
    daemon = subprocess.Popen(dockerd_command(root), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    lab = DockerLab(root=root, cli=docker_cli() or "docker", daemon=daemon)
    try:
        _wait_until_ready(lab)
        if build_image:
            lab.build_image()
        yield lab
    finally:
        try:
            lab.cleanup()
        finally:
            log.close()
            _unmount_under(root)
            shutil.rmtree(root, ignore_errors=True)
            for directory in STRAY_DIRS:  # deepest first; only empty ones we caused
                if directory not in stray_before:
                    try:
                        directory.rmdir()
                    except OSError:
                        pass
