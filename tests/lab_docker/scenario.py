"""The docker lab's incidents: memory eaters OOM-killed at 128 MiB, a page-cache reader, one bundle.

Used by tests/test_lab_docker.py (a fresh incident each run) and by
fixtures/docker/make-docker-bundle.sh (the committed fixture). Everything runs in the
busybox-only image, so the workloads are busybox ash:

- eater: waits for /tmp/go (so the harness can read State.Pid first), then doubles a shell
  string until the kernel's memcg OOM killer kills the shell itself (the container's pid 1):
  docker then records State.OOMKilled=true, ExitCode=137 and removes the container's cgroup.
- page-cache reader: writes a 100 MiB file in its writable layer, reads it twice (the second
  read moves the pages to the active file LRU) and sleeps, so `docker stats` shows it.

Run as a script to make the fixture bundle: ``python -m tests.lab_docker.scenario --output DIR``.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.lab_docker.harness import DockerLab, DockerLabError, DockerPod, docker_lab

ROOT = Path(__file__).resolve().parents[2]
COLLECTOR = ROOT / "collectors" / "node" / "podmortem-collect"
MiB = 1024 * 1024
LIMIT = "128m"
GATED_EATER = 'while [ ! -e /tmp/go ]; do sleep 0.1; done; x=a; while :; do x="$x$x"; done'
PAGE_CACHE_READER = ("dd if=/dev/zero of=/data/blob bs=1M count=100 2>/dev/null && sync && "
                     "cat /data/blob > /dev/null && cat /data/blob > /dev/null && touch /tmp/ready && exec sleep 3600")
RE_DOCKER_SIZE = re.compile(r"^(?P<number>[0-9.]+)(?P<unit>B|KiB|MiB|GiB|TiB)$")
BINARY_UNITS = {"B": 1, "KiB": 1024, "MiB": MiB, "GiB": 1024 * MiB, "TiB": 1024 * 1024 * MiB}


@dataclass
class OomRun:
    """A container the kernel OOM-killed: its pod, id, the pid docker reported while it ran, its final State."""

    pod: DockerPod
    container_id: str
    pid: int
    state: dict

    @property
    def cgroup(self) -> str:
        return self.pod.container_path(self.container_id)


@dataclass
class CacheRun:
    pod: DockerPod
    container_id: str

    @property
    def cgroup(self) -> str:
        return self.pod.container_path(self.container_id)


def run_oom(lab: DockerLab, qos: str = "burstable", timeout: float = 60) -> OomRun:
    """Start a gated eater in a new pod, note its pid, open the gate, wait for the kill."""
    pod = lab.pod(qos)
    cid = lab.run(pod, GATED_EATER, name=f"eater-{qos}-{pod.uid[:8]}", memory=LIMIT)
    pid = lab.inspect(cid)["State"]["Pid"]
    lab.docker("exec", cid, "touch", "/tmp/go")
    lab.wait(cid, timeout=timeout)
    return OomRun(pod=pod, container_id=cid, pid=pid, state=lab.inspect(cid)["State"])


def run_page_cache(lab: DockerLab, timeout: float = 60) -> CacheRun:
    """Start the page-cache reader and wait until it has read its file twice."""
    pod = lab.pod("burstable")
    cid = lab.run(pod, PAGE_CACHE_READER, name=f"reader-{pod.uid[:8]}", memory=LIMIT)
    deadline = time.monotonic() + timeout
    while lab.docker("exec", cid, "test", "-e", "/tmp/ready", check=False).returncode != 0:
        if time.monotonic() > deadline or not lab.inspect(cid)["State"]["Running"]:
            raise DockerLabError(f"the page-cache reader {cid[:12]} never became ready")
        time.sleep(0.3)
    return CacheRun(pod=pod, container_id=cid)


def bundler() -> str:
    """Which bundler collect() uses: the node collector, or assemble_bundle where it is absent or not wanted."""
    if not COLLECTOR.is_file() or os.environ.get("PODMORTEM_LAB_BUNDLER") == "assemble":
        return "assemble_bundle"
    return "podmortem-collect"


def collect(lab: DockerLab, outdir: Path, max_seconds: int = 40) -> Path:
    """Bundle the node: the real collector with DOCKER_HOST at this daemon, or assemble_bundle without it.

    PODMORTEM_LAB_BUNDLER=assemble forces the collector-free bundle (to tell a collector bug apart).
    """
    if bundler() == "assemble_bundle":
        return assemble_bundle(lab, outdir)
    run = subprocess.run(["sh", str(COLLECTOR), "--output", str(outdir), "--max-seconds", str(max_seconds),
                          "--since", "1h", "--quiet"], capture_output=True, text=True, timeout=max_seconds + 30,
                         env=lab.env())
    if run.returncode != 0:
        raise DockerLabError(f"podmortem-collect exited {run.returncode}: {run.stderr.strip()[-500:]}")
    return Path(run.stdout.strip().splitlines()[-1])


V1_FILES = ("memory.stat", "memory.usage_in_bytes", "memory.limit_in_bytes", "memory.max_usage_in_bytes",
            "memory.failcnt", "memory.oom_control", "memory.soft_limit_in_bytes", "memory.memsw.usage_in_bytes",
            "memory.memsw.limit_in_bytes", "memory.memsw.max_usage_in_bytes", "memory.memsw.failcnt",
            "memory.kmem.usage_in_bytes", "cgroup.procs")
MEMORY = Path("/sys/fs/cgroup/memory")


def assemble_bundle(lab: DockerLab, outdir: Path) -> Path:
    """The collector's layout without the collector: docker commands, dmesg, the lab's cgroups, /proc.

    commands/<name>.txt|.json with <name>.status holding the exit status, node files at their
    absolute paths (sys/fs/cgroup/memory/kubepods/.../memory.stat, proc/meminfo), and a small
    manifest.json, so `podmortem analyze` reads it like a collected bundle.
    """
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    top = outdir / f"podmortem-{platform.node()}-{stamp}"
    commands = {"docker-ps.txt": ("ps", "-a", "--no-trunc"), "docker-stats.txt": ("stats", "--no-stream", "--no-trunc"),
                "docker-stats-json.txt": ("stats", "--no-stream", "--no-trunc", "--format", "{{json .}}"),
                "docker-version.txt": ("version",)}
    commands.update({f"docker-inspect-{cid}.json": ("inspect", cid) for cid in lab.containers})
    for name, args in commands.items():
        run = lab.docker(*args, check=False)
        _write(top / "commands" / name, run.stdout)
        _write(top / "commands" / f"{Path(name).stem}.status", f"{run.returncode}\n")
    dmesg = subprocess.run(["dmesg"], capture_output=True, text=True, timeout=30, check=False)
    _write(top / "commands" / "dmesg.txt", dmesg.stdout)
    _write(top / "commands" / "dmesg.status", f"{dmesg.returncode}\n")
    for directory in _lab_memory_cgroups(lab):
        for name in V1_FILES:
            _copy_node_file(directory / name, top)
    for name in ("meminfo", "stat", "uptime", "version", "vmstat"):
        _copy_node_file(Path("/proc") / name, top)
    manifest = {"collector": "tests/lab_docker/scenario.py assemble_bundle", "hostname": platform.node(),
                "kernel": platform.release(), "cgroup_version": "1", "cgroup_driver": "cgroupfs",
                "wall_time": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
    _write(top / "manifest.json", json.dumps(manifest, indent=2) + "\n")
    bundle = outdir / f"{top.name}.tar.gz"
    with tarfile.open(bundle, "w:gz") as tar:
        tar.add(top, arcname=top.name)
    shutil.rmtree(top)
    return bundle


def _lab_memory_cgroups(lab: DockerLab) -> list[Path]:
    """The memory root, the QoS ancestors and every directory under the lab's pod cgroups."""
    found: list[Path] = [MEMORY]
    for pod in lab.pods:
        pod_dir = MEMORY / pod.cgroup_parent.lstrip("/")
        for ancestor in reversed(pod_dir.relative_to(MEMORY).parents):
            if ancestor != Path(".") and MEMORY / ancestor not in found:
                found.append(MEMORY / ancestor)
        if pod_dir.is_dir():
            found += [pod_dir, *sorted(p for p in pod_dir.rglob("*") if p.is_dir())]
    return found


def _copy_node_file(source: Path, top: Path) -> None:
    try:
        text = source.read_text()
    except OSError:
        return
    _write(top / str(source).lstrip("/"), text)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def analyze(bundle: Path) -> dict:
    """`podmortem analyze BUNDLE --format json -o -` with this interpreter; the parsed report."""
    run = subprocess.run([sys.executable, "-m", "analyzer.cli", "analyze", str(bundle), "--format", "json", "-o", "-"],
                         capture_output=True, text=True, timeout=120, cwd=ROOT)
    if run.returncode != 0:
        raise DockerLabError(f"podmortem analyze exited {run.returncode}: {run.stderr.strip()[-500:]}")
    return json.loads(run.stdout)


def bundle_text(bundle: Path, relative: str) -> str | None:
    """A member's text by its path below the bundle's top directory (None when absent)."""
    with tarfile.open(bundle) as tar:
        for member in tar.getmembers():
            if member.isfile() and member.name.split("/", 1)[-1] == relative:
                handle = tar.extractfile(member)
                return handle.read().decode(errors="replace") if handle else None
    return None


def docker_size_bytes(text: str) -> int | None:
    """Bytes of a size as docker prints it (go-units BytesSize: base 1024, 4 significant digits).

    >>> docker_size_bytes("99.11MiB"), docker_size_bytes("128MiB"), docker_size_bytes("12 apples")
    (103924367, 134217728, None)
    """
    match = RE_DOCKER_SIZE.match(text.strip())
    if not match:
        return None
    return round(float(match["number"]) * BINARY_UNITS[match["unit"]])


def docker_stats_row(table: str, container_id: str) -> dict[str, str] | None:
    """The row of `docker stats --no-stream --no-trunc` for one container, keyed by header.

    >>> t = "CONTAINER ID   NAME   CPU %   MEM USAGE / LIMIT   MEM %\\nabc   r1   0.00%   99.11MiB / 128MiB   77.43%\\n"
    >>> docker_stats_row(t, "abc")["MEM USAGE / LIMIT"]
    '99.11MiB / 128MiB'
    """
    lines = table.splitlines()
    if not lines:
        return None
    header = re.split(r"\s{2,}", lines[0].strip())
    for line in lines[1:]:
        cells = re.split(r"\s{2,}", line.strip())
        if cells and cells[0] == container_id and len(cells) == len(header):
            return dict(zip(header, cells))
    return None


# --- the fixture --------------------------------------------------------------------------------

def make_fixture(output: Path) -> dict[str, str]:
    """Two OOM kills (Burstable, Guaranteed) and one page-cache reader, collected into one bundle."""
    with docker_lab() as lab, tempfile.TemporaryDirectory(prefix="pm-docker-out-") as out:
        burstable = run_oom(lab, "burstable")
        guaranteed = run_oom(lab, "guaranteed")
        reader = run_page_cache(lab)
        bundle = collect(lab, Path(out))
        output.mkdir(parents=True, exist_ok=True)
        shutil.copy(bundle, output / "docker-oom.tar.gz")
        version = lab.docker("version", "--format", "{{.Server.Version}} (client {{.Client.Version}})").stdout.strip()
    return {
        "DATE": dt.date.today().isoformat(), "KERNEL": platform.release(), "DOCKER": version,
        "BURSTABLE_UID": burstable.pod.uid, "BURSTABLE_CID": burstable.container_id, "BURSTABLE_PID": str(burstable.pid),
        "GUARANTEED_UID": guaranteed.pod.uid, "GUARANTEED_CID": guaranteed.container_id,
        "GUARANTEED_PID": str(guaranteed.pid), "READER_UID": reader.pod.uid, "READER_CID": reader.container_id,
        "SIZE": str((output / "docker-oom.tar.gz").stat().st_size), "BUNDLER": bundler(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Make fixtures/docker/docker-oom.tar.gz and its README.md")
    parser.add_argument("--output", type=Path, default=ROOT / "fixtures" / "docker")
    args = parser.parse_args(argv)
    try:
        facts = make_fixture(args.output)
    except DockerLabError as err:
        print(f"make-docker-bundle: {err}", file=sys.stderr)
        return 1
    readme = (ROOT / "fixtures" / "docker" / "README.template").read_text()
    for key, value in facts.items():
        readme = readme.replace(f"@{key}@", value)
    (args.output / "README.md").write_text(readme)
    print(args.output / "docker-oom.tar.gz")
    return 0


if __name__ == "__main__":
    sys.exit(main())
