"""The node collector on fake node trees and under injected faults, as an SRE would run it.

Every run goes through the real script (collectors/node/podmortem-collect) under busybox ash,
dash or bash. Fake trees are built by tests/lab/fake_node.py (made up, clearly not measured).
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.lab import fake_node

COLLECTOR = ROOT / "collectors" / "node" / "podmortem-collect"
SHELLS = [s for s in (["busybox", "ash"], ["dash"], ["bash"]) if shutil.which(s[0])]
BUSYBOX = shutil.which("busybox")
SECRET = "s3cr3t-PLANTED-value-42"


def collect(shell, *args, env=None, timeout=60) -> subprocess.CompletedProcess:
    return subprocess.run([*shell, str(COLLECTOR), *args], capture_output=True, text=True, timeout=timeout, env=env)


def bundle_members(path: Path) -> dict[str, bytes]:
    with tarfile.open(path) as tar:
        return {m.name.split("/", 1)[1]: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


def manifest_of(members: dict[str, bytes]) -> dict:
    return json.loads(members["manifest.json"])


def fake_bin(tmp: Path, scripts: dict[str, str]) -> Path:
    """A directory of fake commands (kubectl, crictl...) to put first on PATH."""
    bindir = tmp / "fakebin"
    bindir.mkdir(exist_ok=True)
    for name, body in scripts.items():
        target = bindir / name
        target.write_text("#!/bin/sh\n" + body)
        target.chmod(0o755)
    return bindir


def env_with(bindir: Path) -> dict:
    return {**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}"}


def test_help_documents_every_option():
    out = collect(["sh"], "--help").stdout
    for option in ("--output", "--root", "--since", "--max-seconds", "--step-seconds", "--max-log-bytes", "--samples",
                   "--interval", "--node", "--kubelet-config", "--no-redact", "--min-free-mb"):
        assert option in out


@pytest.mark.parametrize("shell", SHELLS, ids=[s[0] for s in SHELLS])
@pytest.mark.parametrize("version", [1, 2], ids=["v1-cgroupfs", "v2-systemd"])
def test_fake_node_110_pods(tmp_path, shell, version):
    tree = tmp_path / "node"
    pods = fake_node.build(tree, pods=110, containers=2, version=version)
    out = tmp_path / "out"
    out.mkdir()
    # generous budgets: this test is about completeness (a loaded CI machine once took > 20 s, the default step budget)
    run = collect(shell, "--root", str(tree), "--output", str(out), "--max-seconds", "90", "--step-seconds", "80", "--quiet", timeout=120)
    assert run.returncode == 0, run.stderr
    bundle = Path(run.stdout.strip())
    assert bundle.parent == out and bundle.name.startswith("podmortem-fake-node-1-")
    members = bundle_members(bundle)
    stats = [n for n in members if n.endswith("/memory.stat") and ("cri-containerd-" in n or n.split("/")[-2].__len__() == 64)]
    manifest = manifest_of(members)
    assert len(stats) == 220, f"cgroup copies missing; collector steps: {manifest['steps'][:3]}"
    assert manifest["hostname"] == "fake-node-1"
    assert manifest["cgroup_version"] == str(version)
    assert manifest["cgroup_driver"] == ("cgroupfs" if version == 1 else "systemd")
    listed = {f["path"]: f for f in manifest["files"]}
    assert set(listed) == set(members) - {"manifest.json"}
    if shutil.which("sha256sum"):
        assert all(len(f["sha256"]) == 64 for f in listed.values())
    # the analyzer sees every container with its numbers
    analysis = subprocess.run([sys.executable, "-m", "analyzer.cli", "analyze", str(bundle), "-f", "json", "-o", "-"],
                              capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert analysis.returncode == 0, analysis.stderr
    containers = json.loads(analysis.stdout)["containers"]
    assert len(containers) == 220
    uid, ids = pods[0]
    row = next(c for c in containers if c["container_id"] == ids[0])
    assert row["pod_uid"] == uid and row["usage_bytes"] == 50 * 1024 * 1024 and row["limit_bytes"] == 256 * 1024 * 1024
    assert row["working_set_bytes"] == row["usage_bytes"] - row["usage_bytes"] // 8


def test_hanging_kubectl_and_crictl_cost_one_step_each(tmp_path):
    bindir = fake_bin(tmp_path, {"kubectl": "exec sleep 1000\n", "crictl": "exec sleep 1000\n"})
    out = tmp_path / "out"
    out.mkdir()
    began = time.monotonic()
    run = collect(["sh"], "--output", str(out), "--step-seconds", "2", "--max-seconds", "25", "--quiet",
                  env=env_with(bindir), timeout=60)
    elapsed = time.monotonic() - began
    assert run.returncode == 0, run.stderr
    assert elapsed < 25, f"the run took {elapsed:.1f}s, past its budget"
    steps = {s["name"]: s for s in manifest_of(bundle_members(Path(run.stdout.strip())))["steps"]}
    assert steps["kubectl-version"]["timed_out"] is True
    assert steps["crictl-ps"]["timed_out"] is True
    assert steps["kubectl-version"]["exit_status"] == "124"


def test_total_budget_skips_the_rest(tmp_path):
    bindir = fake_bin(tmp_path, {"kubectl": "exec sleep 1000\n", "crictl": "exec sleep 1000\n", "docker": "exec sleep 1000\n"})
    out = tmp_path / "out"
    out.mkdir()
    began = time.monotonic()
    run = collect(["sh"], "--output", str(out), "--step-seconds", "3", "--max-seconds", "5", "--quiet", env=env_with(bindir))
    assert run.returncode == 0, run.stderr
    assert time.monotonic() - began < 15
    steps = manifest_of(bundle_members(Path(run.stdout.strip())))["steps"]
    assert any(s["exit_status"] == "skipped" and "budget" in s["error"] for s in steps)


@pytest.mark.skipif(BUSYBOX is None, reason="needs busybox to build a PATH without timeout, sha256sum, journalctl, crictl, kubectl")
def test_only_busybox_tools(tmp_path):
    bindir = tmp_path / "bb"
    bindir.mkdir()
    for applet in ("sh", "tar", "gzip", "cat", "find", "date", "sed", "awk", "mkdir", "rm", "mv", "df", "tr", "cut", "head",
                   "tail", "wc", "sort", "xargs", "grep", "sleep", "kill", "dirname", "uname", "hostname"):
        (bindir / applet).symlink_to(BUSYBOX)
    tree = tmp_path / "node"
    fake_node.build(tree, pods=3, containers=1, version=1)
    out = tmp_path / "out"
    out.mkdir()
    # dash, not busybox ash: busybox's shell runs its own applets (sha256sum, timeout) even off PATH
    run = collect([shutil.which("dash") or "/bin/sh"], "--root", str(tree), "--output", str(out), "--quiet", env={"PATH": str(bindir)})
    assert run.returncode == 0, run.stderr
    manifest = manifest_of(bundle_members(Path(run.stdout.strip())))
    names = {s["name"] for s in manifest["steps"]}
    assert "cgroups" in names and not {"kubectl-version", "crictl-ps", "journalctl-k"} & names
    assert all(f["sha256"] == "" for f in manifest["files"]), "no sha256sum: digests are left empty, not invented"


def test_a_file_that_blocks_costs_one_step(tmp_path):
    """A cgroup file whose read never returns (a fifo stands in for a D-state read)."""
    tree = tmp_path / "node"
    fake_node.build(tree, pods=2, containers=1, version=1)
    blocking = next(tree.glob("sys/fs/cgroup/memory/kubepods/burstable/pod*/*/memory.stat"))
    blocking.unlink()
    os.mkfifo(blocking)
    out = tmp_path / "out"
    out.mkdir()
    began = time.monotonic()
    run = collect(["sh"], "--root", str(tree), "--output", str(out), "--step-seconds", "3", "--max-seconds", "30", "--quiet")
    assert run.returncode == 0, run.stderr
    assert time.monotonic() - began < 30
    steps = {s["name"]: s for s in manifest_of(bundle_members(Path(run.stdout.strip())))["steps"]}
    assert steps["cgroups"]["timed_out"] is True


def _mount_tmpfs(target: Path, size: str) -> bool:
    target.mkdir()
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(target)], capture_output=True).returncode == 0


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tiny tmpfs needs root")
def test_full_output_filesystem_leaves_nothing(tmp_path):
    tree = tmp_path / "node"
    fake_node.build(tree, pods=40, containers=2, version=1)
    small = tmp_path / "small"
    if not _mount_tmpfs(small, "48k"):
        pytest.skip("cannot mount tmpfs here")
    try:
        refused = collect(["sh"], "--root", str(tree), "--output", str(small))
        assert refused.returncode == 1 and "free" in refused.stderr
        full = collect(["sh"], "--root", str(tree), "--output", str(small), "--min-free-mb", "0")
        assert full.returncode == 1
        assert full.stderr.strip().splitlines()[-1].startswith("podmortem-collect: error:")
        assert list(small.iterdir()) == [], "no half-written bundle, no scratch left behind"
    finally:
        subprocess.run(["umount", "-l", str(small)], check=False)


def test_sigterm_in_the_middle_leaves_nothing(tmp_path):
    bindir = fake_bin(tmp_path, {"kubectl": "exec sleep 1000\n"})
    out = tmp_path / "out"
    out.mkdir()
    proc = subprocess.Popen(["sh", str(COLLECTOR), "--output", str(out), "--step-seconds", "20"], env=env_with(bindir),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(2)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 143
    assert list(out.iterdir()) == [], "an interrupted run leaves no file at all"


FAKE_KUBECTL = f"""
case "$*" in
  version*) echo "Client Version: v1.31.0"; exit 0 ;;
  *proxy/configz*) echo '{{"kubeletconfig":{{"evictionHard":{{"memory.available":"100Mi"}}}}}}' ;;
  *proxy/stats/summary*) echo '{{"node":{{"nodeName":"fake-node-1","memory":{{"availableBytes":1,"workingSetBytes":2}}}},"pods":[]}}' ;;
  *proxy/pods*) echo '{{"kind":"PodList","items":[]}}' ;;
  *jsonpath*) echo "shop cart-7d9f OOMKilled 3 OOMKilled" ;;
  "get pods"*) printf '%s\\n' '{{"kind":"List","items":[{{"kind":"Pod","metadata":{{"name":"cart-7d9f","namespace":"shop"}},' \\
      '"spec":{{"containers":[{{"name":"worker","env":[{{"name":"DB_PASSWORD","value":"{SECRET}"}}],' \\
      '"args":["--token={SECRET}","--password={SECRET}"]}}]}}}}]}}' ;;
  "describe pod"*) printf 'Name:         cart-7d9f\\nNamespace:    shop\\nContainers:\\n  worker:\\n    Environment:\\n      DB_PASSWORD:  {SECRET}\\n      MODE:         prod\\n    Mounts:       <none>\\n' ;;
  "describe node"*) echo "Name: fake-node-1" ;;
  "get events"*) echo '{{"kind":"List","items":[]}}' ;;
  *) exit 1 ;;
esac
"""


@pytest.mark.parametrize("redact", [True, False], ids=["redacted", "no-redact"])
def test_cluster_view_and_redaction(tmp_path, redact):
    bindir = fake_bin(tmp_path, {"kubectl": FAKE_KUBECTL})
    out = tmp_path / "out"
    out.mkdir()
    args = ["--output", str(out), "--node", "fake-node-1", "--quiet"] + ([] if redact else ["--no-redact"])
    run = collect(["sh"], *args, env=env_with(bindir))
    assert run.returncode == 0, run.stderr
    members = bundle_members(Path(run.stdout.strip()))
    assert "commands/kubectl-get-pods.json" in members
    assert "commands/kubectl-describe-pod-shop-cart-7d9f.txt" in members, "an OOMKilled pod is described"
    assert json.loads(members["commands/kubelet-configz.json"])["kubeletconfig"]["evictionHard"]["memory.available"] == "100Mi"
    everything = b"".join(members.values())
    if redact:
        assert SECRET.encode() not in everything
        assert b"[REDACTED]" in members["commands/kubectl-get-pods.json"]
        assert b"MODE:  [REDACTED]" in members["commands/kubectl-describe-pod-shop-cart-7d9f.txt"]
        json.loads(members["commands/kubectl-get-pods.json"])  # still valid JSON after redaction
    else:
        assert everything.count(SECRET.encode()) >= 4


def test_samples_snapshot_cgroup_counters(tmp_path):
    tree = tmp_path / "node"
    fake_node.build(tree, pods=2, containers=1, version=2)
    out = tmp_path / "out"
    out.mkdir()
    run = collect(["sh"], "--root", str(tree), "--output", str(out), "--samples", "3", "--interval", "1", "--quiet")
    assert run.returncode == 0, run.stderr
    members = bundle_members(Path(run.stdout.strip()))
    for n in ("0001", "0002", "0003"):
        assert any(m.startswith(f"samples/{n}/sys/fs/cgroup/kubepods.slice/") and m.endswith("memory.current") for m in members)


def test_manifests_are_valid_kubernetes_objects():
    import yaml

    docs = []
    for path in sorted((ROOT / "collectors" / "kubernetes").glob("*.yaml")):
        docs.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    kinds = {d["kind"] for d in docs}
    assert {"DaemonSet", "Job"} <= kinds
    for doc in docs:
        assert doc["apiVersion"] and doc["metadata"]["name"]
        if doc["kind"] in ("DaemonSet", "Job"):
            pod = doc["spec"]["template"]["spec"]
            (container,) = [c for c in pod["containers"] if c["name"] == "podmortem-collect"]
            assert container["securityContext"]["privileged"] is True
            host = [v for v in pod["volumes"] if v.get("hostPath", {}).get("path") == "/"]
            assert host, "the host filesystem is mounted for --root /host"
            assert "--root" in " ".join(container.get("args", []) + container.get("command", []))
            assert pod.get("hostPID") is True
