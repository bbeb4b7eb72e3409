"""Real incidents on this machine's kernel, collected by the real collector, explained by podmortem.

Each test creates Kubernetes-like cgroups it owns (tests/lab), runs a workload until the kernel
acts, collects with collectors/node/podmortem-collect under busybox ash and dash, analyzes the
bundle with `podmortem analyze --format json`, and asserts what an SRE would check. Skips with
the reason where the cgroup v1 memory controller is not writable or the shells are missing.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.lab.cgroups import MiB, eater, lab, lab_unavailable_reason, wait_for_file_value

COLLECTOR = ROOT / "collectors" / "node" / "podmortem-collect"
REASON = lab_unavailable_reason()
pytestmark = [pytest.mark.lab, pytest.mark.skipif(REASON is not None, reason=REASON or "")]
SHELLS = [s for s in (["busybox", "ash"], ["dash"]) if shutil.which(s[0])]


def collect_and_analyze(shell: list[str], out: Path) -> dict:
    run = subprocess.run([*shell, str(COLLECTOR), "--output", str(out), "--max-seconds", "40", "--since", "1h", "--quiet"],
                         capture_output=True, text=True, timeout=90)
    assert run.returncode == 0, run.stderr
    bundle = Path(run.stdout.strip().splitlines()[-1])
    assert bundle.is_file() and bundle.name.startswith("podmortem-")
    analysis = subprocess.run([sys.executable, "-m", "analyzer.cli", "analyze", str(bundle), "--format", "json", "-o", "-"],
                              capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert analysis.returncode == 0, analysis.stderr
    return json.loads(analysis.stdout)


def incidents_of(report: dict, pod_uid: str) -> list[dict]:
    return [i for i in report["incidents"] if i["kind"] == "oom_kill" and (i.get("pod") or {}).get("uid") == pod_uid]


@pytest.fixture
def outdir():
    with tempfile.TemporaryDirectory(prefix="pm-lab-") as d:
        yield Path(d)


@pytest.mark.parametrize("shell", SHELLS, ids=[s[0] for s in SHELLS])
def test_container_limit_128mi_eater_killed(shell, outdir):
    """(a) the container's 128 MiB limit: the eater dies with 137; pod, container, pid and limit are named."""
    with lab() as session:
        pod = session.pod(container_limits=(128 * MiB,))
        (container,) = pod.containers
        proc = session.start(container, eater())
        assert proc.wait(timeout=60) == -9, "SIGKILL from the kernel: a runtime reports it as exit 137"
        report = collect_and_analyze(shell, outdir)
    (incident,) = incidents_of(report, pod.uid)
    assert incident["scope"] == "container"
    assert incident["container"]["id"] == container.cid
    assert incident["memcg"]["limit_bytes"] == 128 * MiB
    assert incident["memcg"]["oom_memcg"] == container.path
    assert incident["victim"]["comm"] == "python3"
    assert incident["victim"]["pid"] == proc.pid, "sh execs python3: the container's process is the victim"
    assert incident["pod"]["qos"] == "Burstable"
    assert incident["time"] is not None
    assert any(f["code"] == "victim_highest_points" for f in incident["findings"])


@pytest.mark.parametrize("shell", SHELLS, ids=[s[0] for s in SHELLS])
def test_page_cache_counts_in_working_set(shell, outdir):
    """(b) a container that reads a 100 MB file twice: active page cache sits inside usage and working set."""
    data = Path("/var/tmp") / f"pm-lab-pagecache-{time.time_ns()}"
    with lab() as session:
        pod = session.pod(container_limits=(512 * MiB,))
        (container,) = pod.containers
        script = (f"dd if=/dev/zero of={data} bs=1M count=100 2>/dev/null && sync && "
                  f"cat {data} > /dev/null && cat {data} > /dev/null && cat {data} > /dev/null && exec sleep 120")
        proc = session.start(container, script)
        try:
            stat = container.dir / "memory.stat"
            assert wait_for_file_value(stat, lambda t: _stat(t, "total_active_file") > 50 * MiB, 60), "page cache never became active"
            report = collect_and_analyze(shell, outdir)
        finally:
            proc.kill()
            data.unlink(missing_ok=True)
    rows = [c for c in report["containers"] if c["container_id"] == container.cid]
    assert len(rows) == 1
    (row,) = rows
    assert row["active_file_bytes"] > 50 * MiB
    assert row["working_set_bytes"] >= row["active_file_bytes"], "working set keeps active page cache"
    assert row["rss_bytes"] < 20 * MiB, "the process itself is small"
    assert row["docker_stats_bytes"]["since_20_10"] == row["working_set_bytes"]
    assert any(f["code"] == "page_cache_in_working_set" for f in row["findings"])


def _stat(text: str, key: str) -> int:
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name == key:
            return int(value)
    return 0


@pytest.mark.parametrize("shell", SHELLS, ids=[s[0] for s in SHELLS])
def test_child_killed_main_process_survives(shell, outdir):
    """(c) only a child is OOM-killed; the container's main process lives on (no restart in Kubernetes)."""
    with lab() as session:
        pod = session.pod(container_limits=(96 * MiB,))
        (container,) = pod.containers
        main = session.start(container, f"python3 -c '{_eater_text()}' ; echo child-exit=$? ; exec sleep 120")
        try:
            assert wait_for_file_value(container.dir / "memory.oom_control", lambda t: "oom_kill 1" in t, 60)
            assert main.poll() is None, "the main process survived the OOM kill"
            report = collect_and_analyze(shell, outdir)
        finally:
            main.kill()
    (incident,) = incidents_of(report, pod.uid)
    assert incident["victim"]["comm"] == "python3" and incident["victim"]["pid"] != main.pid
    codes = {f["code"] for f in incident["findings"]}
    assert "victim_not_main_process" in codes
    main_row = [t for t in incident["tasks"] if t["pid"] == main.pid]
    assert main_row and not main_row[0]["is_victim"]


def _eater_text() -> str:
    return "a = []\nwhile True:\n    a.append(bytearray(1 << 20))\n"


@pytest.mark.parametrize("shell", SHELLS, ids=[s[0] for s in SHELLS])
def test_tmpfs_charged_to_container_kills_small_process(shell, outdir):
    """(d) 100 MB written to a tmpfs is charged to the container; a small process is then killed."""
    mount = Path(tempfile.mkdtemp(prefix="pm-lab-tmpfs-"))
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=200m", "tmpfs", str(mount)], check=True)
    try:
        with lab() as session:
            pod = session.pod(container_limits=(128 * MiB,))
            (container,) = pod.containers
            proc = session.start(container, f"dd if=/dev/zero of={mount}/blob bs=1M count=100 2>/dev/null; {eater()}")
            proc.wait(timeout=60)
            report = collect_and_analyze(shell, outdir)
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)
        mount.rmdir()
    (incident,) = incidents_of(report, pod.uid)
    stat = incident["memcg"]["stat"]
    assert stat.get("total_shmem", stat.get("shmem", 0)) >= 90 * MiB
    assert incident["victim"]["anon_rss_bytes"] < 40 * MiB, "the victim itself was small"
    assert any(f["code"] == "shmem_charged" for f in incident["findings"])


@pytest.mark.parametrize("shell", SHELLS, ids=[s[0] for s in SHELLS])
def test_pod_level_limit_binds_first(shell, outdir):
    """(e) a pod-level limit (100 MiB) below the container limits (128 MiB each) is what binds."""
    with lab() as session:
        pod = session.pod(pod_limit=100 * MiB, container_limits=(128 * MiB, 128 * MiB))
        first, second = pod.containers
        holder = session.start(second, eater(30))
        assert wait_for_file_value(second.dir / "memory.usage_in_bytes", lambda t: int(t) > 25 * MiB, 30)
        proc = session.start(first, eater())
        proc.wait(timeout=60)
        try:
            report = collect_and_analyze(shell, outdir)
        finally:
            holder.kill()
    (incident,) = [i for i in incidents_of(report, pod.uid) if i["victim"]["pid"] == proc.pid]
    assert incident["scope"] == "pod"
    assert incident["memcg"]["oom_memcg"] == pod.path
    assert incident["memcg"]["limit_bytes"] == 100 * MiB
    assert incident["container"]["id"] == first.cid, "the victim's own container is named"


@pytest.mark.parametrize("shell", SHELLS, ids=[s[0] for s in SHELLS])
def test_kubepods_limit_kills_besteffort_before_burstable(shell, outdir):
    """(f) the node-allocatable (kubepods) limit binds with a BestEffort and a Burstable container.

    The Burstable container grows, but the kernel kills the BestEffort one: oom_score_adj 1000
    adds a whole limit's worth of points. Uses a kubepods root this test creates; skips if this
    machine already has one (its limit is not ours to lower).
    """
    root = "/kubepods"
    if (Path("/sys/fs/cgroup/memory") / root.lstrip("/")).exists():
        pytest.skip("/kubepods already exists on this machine: its limit is not this test's to set")
    with lab() as session:
        besteffort = session.pod(qos="besteffort", container_limits=(None,), root=root)
        burstable = session.pod(qos="burstable", container_limits=(None,), root=root)
        session.limit(root, 160 * MiB)
        idle = session.start(besteffort.containers[0], eater(40), oom_score_adj=1000)
        assert wait_for_file_value(besteffort.containers[0].dir / "memory.usage_in_bytes", lambda t: int(t) > 35 * MiB, 30)
        grower = session.start(burstable.containers[0], eater(), oom_score_adj=500)
        assert idle.wait(timeout=60) == -9
        grower.kill()
        report = collect_and_analyze(shell, outdir)
    (incident,) = [i for i in incidents_of(report, besteffort.uid) if i["victim"]["pid"] == idle.pid]
    assert incident["scope"] == "node_allocatable"
    assert incident["memcg"]["oom_memcg"] == root
    assert incident["pod"]["qos"] == "BestEffort"
    points = {t["pid"]: t["points"] for t in incident["tasks"]}
    assert points[idle.pid] > points[grower.pid], "oom_score_adj 1000 outweighs the grower's larger rss"
    assert any(f["code"] == "victim_highest_points" for f in incident["findings"])


@pytest.mark.parametrize("prefix, runtime", [("cri-containerd", "containerd"), ("crio", "cri-o")])
def test_systemd_driver_paths_are_read_back(prefix, runtime, outdir):
    """(g) the systemd cgroup driver's names on the real kernel: pod slice with an escaped UID, a containerd
    or CRI-O scope per container; the report gives back the UID with dashes, the container id and runtime."""
    with lab() as session:
        pod = session.pod(container_limits=(96 * MiB,), driver="systemd", scope_prefix=prefix)
        (container,) = pod.containers
        proc = session.start(container, eater())
        assert proc.wait(timeout=60) == -9
        report = collect_and_analyze(SHELLS[-1], outdir)
    (incident,) = incidents_of(report, pod.uid)
    assert incident["memcg"]["oom_memcg"] == container.path and container.path.endswith(f"{prefix}-{container.cid}.scope")
    assert "_" in incident["memcg"]["oom_memcg"] and "-" in incident["pod"]["uid"], "the kernel prints the escaped UID"
    assert (incident["container"]["id"], incident["container"]["runtime"]) == (container.cid, runtime)
    assert (incident["scope"], incident["memcg"]["limit_bytes"], incident["victim"]["pid"]) == ("container", 96 * MiB, proc.pid)
    (row,) = [c for c in report["containers"] if c["container_id"] == container.cid]
    assert row["pod_uid"] == pod.uid and row["limit_bytes"] == 96 * MiB
