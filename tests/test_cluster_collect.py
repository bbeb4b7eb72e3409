"""``podmortem collect --cluster`` and collectors/cluster/podmortem-collect-cluster, against a FAKE kubectl.

What was possible here: no real API server. The registries this machine reaches (PyPI, npm,
Debian) have no kube-apiserver, k3s or kind binary (Debian has etcd-server and kubectl only),
and docker images can only be built FROM scratch. So these tests put tests/fake_kubectl first
on PATH: it replays RECORDED, HAND-WRITTEN API responses (tests/fake_kubectl/recorded) and
simulates ``kubectl debug node/N`` by running the real collector wrapper locally against a fake
node tree (tests/lab/fake_node.py). One node hangs forever, one is refused; the fake logs start
and end times so the concurrency bound is measured, not assumed.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from analyzer.pipeline import analyze
from tests.conftest import ROOT
from tests.fake_kubectl.kubectl import install
from tests.lab.fake_node import build

NODES = ["worker-a1", "worker-a2", "worker-a3", "worker-b1", "worker-b2"]
HANG, FAIL = "worker-b1", "worker-b2"
NODE_TIMEOUT = 10  # seconds: a healthy fake node takes 1-2 s, more on a loaded 2-core machine
SECRET = "s3cr3t-recorded-fixture"  # a pod env value in recorded/pods.json
SHELL_SCRIPT = ROOT / "collectors" / "cluster" / "podmortem-collect-cluster"
NODE_COLLECTOR = ROOT / "collectors" / "node" / "podmortem-collect"


@pytest.fixture
def fake_cluster(tmp_path):
    """A PATH with the fake kubectl, a fake node tree per node, and the fake's call log."""
    install(tmp_path / "bin")
    roots = tmp_path / "roots"
    for node in NODES:
        build(roots / node, pods=3, containers=1, version=2)
        (roots / node / "etc" / "hostname").write_text(node + "\n")
    log = tmp_path / "kubectl-calls.jsonl"
    env = {**os.environ, "PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}", "FAKE_KUBECTL_ROOTS": str(roots),
           "FAKE_KUBECTL_LOG": str(log), "FAKE_KUBECTL_HANG": HANG, "FAKE_KUBECTL_FAIL": FAIL,
           "FAKE_KUBECTL_DEBUG_DELAY_S": "0.5"}
    return env, log, tmp_path


def podmortem(env: dict, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "analyzer.cli", "collect", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def calls(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def manifest_of(out: Path) -> dict:
    return json.loads((out / "cluster" / "cluster-manifest.json").read_text())


def max_overlap(intervals: list[tuple[float, float]]) -> int:
    edges = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])
    running = peak = 0
    for _, step in edges:
        running += step
        peak = max(peak, running)
    return peak


def debug_intervals(entries: list[dict], manifest: dict) -> list[tuple[float, float]]:
    """(start, end) of every simulated debug pod; a killed one ends when its budget did."""
    seconds = {n["node"]: n["seconds"] for n in manifest["nodes"]}
    spans = {}
    for e in entries:
        if e.get("call") == "debug" and "start" in e:
            spans[e["node"]] = (e["start"], e.get("end") or e["start"] + seconds[e["node"]])
    return list(spans.values())


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "Z" not in Path(f"/proc/{pid}/stat").read_text().split(")")[-1][:3]


def check_collection(out: Path, log: Path, concurrency: int) -> dict:
    """What a user checks after a cluster collection with one hung and one refused node."""
    manifest = manifest_of(out)
    by_node = {n["node"]: n for n in manifest["nodes"]}
    assert sorted(by_node) == NODES
    for node in ("worker-a1", "worker-a2", "worker-a3"):
        assert by_node[node]["status"] == "ok", by_node[node]
        bundle = out / "nodes" / f"{node}.tar.gz"
        assert by_node[node]["file"] == f"nodes/{node}.tar.gz" and bundle.is_file()
        with tarfile.open(bundle) as tar:
            inner = json.loads(tar.extractfile(next(m for m in tar.getmembers() if m.name.endswith("/manifest.json"))).read())
        assert inner["hostname"] == node and inner["node"] == node
        assert inner["root"].endswith(f"/roots/{node}"), "the collector read this node's tree (the pod's /host)"
    hung = by_node[HANG]
    assert hung["status"] == "timeout" and "no answer within" in hung["error"]
    assert NODE_TIMEOUT <= hung["seconds"] < NODE_TIMEOUT + 3, "killed at its budget, not waited for"
    assert not (out / "nodes" / f"{HANG}.tar.gz").exists()
    assert by_node[FAIL]["status"] == "failed" and "Forbidden" in by_node[FAIL]["error"]
    entries = calls(log)
    sleeper = next(e["sleeper_pid"] for e in entries if e.get("event") == "hanging")
    assert not pid_alive(sleeper), "the hung node's whole process group was killed"
    spans = debug_intervals(entries, manifest)
    assert len(spans) == len(NODES)
    assert max_overlap(spans) <= concurrency, "never more debug pods at once than --concurrency"
    if concurrency > 1:
        assert max_overlap(spans) == concurrency, "nodes were collected in parallel"
    printed_pods = {e["pod"] for e in entries if e.get("call") == "debug" and "pod" in e}
    deleted = {e["args"][2] for e in entries if e.get("call") == "delete"}
    assert printed_pods <= deleted, "every debug pod is deleted, the hung one too"
    assert not list((out / "nodes").glob(".*")), "no partial file left"
    return manifest


def test_cluster_collect_budgets_failures_concurrency(fake_cluster):
    env, log, tmp = fake_cluster
    out = tmp / "collection"
    run = podmortem(env, "--cluster", "--output", str(out), "--concurrency", "2", "--node-timeout", str(NODE_TIMEOUT),
                    "--view-timeout", "4", "--since", "1h")
    assert run.returncode == 0, run.stderr
    assert "3 of 5 nodes collected" in run.stdout
    manifest = check_collection(out, log, 2)
    assert manifest["collector_args"] == ["--since", "1h", "--max-seconds", str(NODE_TIMEOUT // 2)], "a run budget inside the node's"
    view = {(v["name"], v["node"]): v for v in manifest["cluster_view"]}
    assert view[("kubectl-get-pods", None)]["status"] == "ok"
    assert view[("kubelet-configz", HANG)]["status"] == "timeout"
    assert view[("kubelet-stats-summary", FAIL)]["status"] == "failed"
    pods = (out / "cluster" / "commands" / "kubectl-get-pods.json").read_text()
    assert "DB_PASSWORD" in pods and SECRET not in pods, "pod env values are redacted"
    # the cluster view is itself analyzable: the node's kubelet config and summary are read by their names
    report = analyze(out / "cluster" / "nodes" / "worker-a1")
    kinds = {f.path: (f.kind, f.status) for f in report.bundle.files_read}
    assert kinds["commands/kubelet-configz.json"] == ("kubelet_configz", "parsed")
    assert kinds["commands/kubelet-stats-summary.json"] == ("kubelet_summary", "parsed")
    node_report = analyze(out / "nodes" / "worker-a1.tar.gz")
    assert node_report.bundle.host == "worker-a1"


def test_selector_and_explicit_nodes(fake_cluster):
    env, log, tmp = fake_cluster
    run = podmortem(env, "--cluster", "-o", str(tmp / "a"), "--selector", "pool=a", "--node-timeout", "20")
    assert run.returncode == 0, run.stderr
    assert [n["node"] for n in manifest_of(tmp / "a")["nodes"]] == ["worker-a1", "worker-a2", "worker-a3"]
    run = podmortem(env, "--cluster", "-o", str(tmp / "b"), "--nodes", "worker-a2,no-such-node", "--node-timeout", "20")
    assert run.returncode == 0, run.stderr
    by_node = {n["node"]: n for n in manifest_of(tmp / "b")["nodes"]}
    assert by_node["worker-a2"]["status"] == "ok"
    assert by_node["no-such-node"]["status"] == "failed" and "not found" in by_node["no-such-node"]["error"]


@pytest.mark.parametrize("path", ["python", "sh"])
def test_untrusted_node_names(fake_cluster, path):
    """Names from the API are untrusted: never in an API path unless valid; distinct safe file names."""
    env, log, tmp = fake_cluster
    long_a, long_b = "n" * 64 + ".zone-a", "n" * 64 + ".zone-b"  # valid, equal in their first 64 characters
    hostile = "../../namespaces/kube-system/secrets"  # HAND-WRITTEN: no API server returns this; the code must not trust that
    nodes = json.loads((ROOT / "tests" / "fake_kubectl" / "recorded" / "nodes.json").read_text())
    nodes["items"] = nodes["items"][:1]
    for name in (long_a, long_b, hostile):
        nodes["items"].append({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": {}}})
    listing = tmp / "nodes-hostile.json"
    listing.write_text(json.dumps(nodes))
    for name in (long_a, long_b):
        shutil.copytree(tmp / "roots" / "worker-a1", tmp / "roots" / name)
    out = tmp / "c"
    env = {**env, "FAKE_KUBECTL_NODES": str(listing)}
    if path == "python":
        run = podmortem(env, "--cluster", "-o", str(out), "--node-timeout", "20")
    else:
        run = subprocess.run(["sh", str(SHELL_SCRIPT), "-o", str(out), "--node-timeout", "20"], env=env, capture_output=True,
                             text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    by_node = {n["node"]: n for n in manifest_of(out)["nodes"]}
    assert by_node[hostile]["status"] == "invalid_name" and by_node[hostile]["file"] is None
    assert by_node[long_a]["status"] == by_node[long_b]["status"] == "ok"
    assert by_node[long_a]["file"] != by_node[long_b]["file"]
    for entry in calls(log):
        assert all("secrets" not in arg for arg in entry.get("args", entry.get("argv", []))), entry
    assert all(p.resolve().is_relative_to(out.resolve()) for p in out.rglob("*"))


def test_bad_usage_exits_2(fake_cluster, tmp_path):
    env, _, tmp = fake_cluster
    run = podmortem(env, "--cluster", "-o", str(tmp / "x"), "--sincee", "1h")
    assert run.returncode == 2 and "unknown option '--sincee'" in run.stderr and "Traceback" not in run.stderr
    assert podmortem(env, "--cluster").returncode == 2
    no_kubectl = {**env, "PATH": "/nonexistent"}
    run = subprocess.run([sys.executable, "-m", "analyzer.cli", "collect", "--cluster", "-o", str(tmp / "y")], env=no_kubectl,
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "kubectl not found" in run.stderr
    run = podmortem(env, "--cluster", "-o", str(tmp / "z"), "--nodes", "worker-a1", "--node-timeout", "20")
    assert run.returncode == 0
    again = podmortem(env, "--cluster", "-o", str(tmp / "z"), "--nodes", "worker-a1")
    assert again.returncode == 2 and "already holds a cluster collection" in again.stderr


SHELLS = [s for s in (["dash"], ["busybox", "ash"]) if shutil.which(s[0])]


@pytest.mark.parametrize("shell", SHELLS, ids=[s[0] for s in SHELLS])
def test_shell_path_same_layout_and_budgets(fake_cluster, shell):
    """collectors/cluster/podmortem-collect-cluster: kubectl and a POSIX shell only, same result."""
    env, log, tmp = fake_cluster
    out = tmp / "sh-collection"
    run = subprocess.run([*shell, str(SHELL_SCRIPT), "--output", str(out), "--concurrency", "2", "--node-timeout",
                          str(NODE_TIMEOUT), "--view-timeout", "4", "--collector", str(NODE_COLLECTOR), "--", "--since", "1h"],
                         env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    manifest = check_collection(out, log, 2)
    assert manifest["collector_args"] == ["--since", "1h", "--max-seconds", str(NODE_TIMEOUT // 2)]
    pods = (out / "cluster" / "commands" / "kubectl-get-pods.json").read_text()
    assert "DB_PASSWORD" in pods and SECRET not in pods
    assert (out / "cluster" / "nodes" / "worker-a1" / "commands" / "kubelet-configz.json").is_file()


REAL_KUBECTL = shutil.which("kubectl")


@pytest.mark.skipif(REAL_KUBECTL is None, reason="no real kubectl on this machine")
def test_real_kubectl_accepts_every_command_line(tmp_path):
    """The REAL kubectl parses each command we build (flags, --raw paths, debug's -- command) and
    only then fails to reach the API server: a kubeconfig pointing at a closed local port."""
    from analyzer.cluster import ClusterCollection, ClusterOptions

    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: closed\n"
        "clusters: [{name: closed, cluster: {server: 'https://127.0.0.1:9', insecure-skip-tls-verify: true}}]\n"
        "users: [{name: u, user: {token: not-a-real-token}}]\n"
        "contexts: [{name: closed, context: {cluster: closed, user: u, namespace: default}}]\n")
    options = ClusterOptions(output=tmp_path / "out", kubectl=REAL_KUBECTL, kubeconfig=str(kubeconfig), context="closed",
                             namespace="default", selector="pool=a", collector_args=["--since", "2h"])
    run = ClusterCollection(options)
    run.prepare()
    commands = [run.view_argv(w) for w in ("nodes", "nodes-selected", "pods", "events")]
    commands += [run.view_argv("configz", "worker-a1"), run.view_argv("stats/summary", "worker-a1"),
                 run.debug_argv("worker-a1"), run.delete_argv("node-debugger-worker-a1-abcde")]
    for argv in commands:
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
        assert done.returncode != 0
        assert "connection refused" in done.stderr or "127.0.0.1:9" in done.stderr, (argv[:6], done.stderr[-400:])
        assert "unknown flag" not in done.stderr and "unknown shorthand" not in done.stderr
