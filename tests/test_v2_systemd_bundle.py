"""A cgroup v2, systemd-driver, CRI-O node: the whole Kubernetes view on one bundle.

The lab kernel mounts cgroup v1 only, so this bundle is ASSEMBLED from real v2 pieces of the shared
corpus, in the layout the collector writes on a v2 systemd node (sys/fs/cgroup/kubepods.slice/...):

- commands/dmesg.txt: the REAL OpenShift/CRI-O cgroup v2 kernel log (corpus 4.18-memcg-v2-notes-openshift-
  crio-mimir-nvrm.log): mimir pid 184260 killed at its POD slice's limit, task in crio-8371...scope;
- the container scope's memory.stat: the REAL v2 memory.stat of corpus cgroupv2-runc-fs2-test-memory-stat.txt
  (another host: its numbers are used as this container's, which the kernel log does not contradict);
- HAND-WRITTEN: memory.current (the sum of that stat's charged keys), memory.max of the pod slice and the
  scope, a crio-conmon-<id>.scope sibling (CRI-O's monitor), and the pod JSON naming the pod that the
  cgroup path's UID and the CRI-O container id point to.
"""
from __future__ import annotations

import json

import pytest

from analyzer.pipeline import analyze

UID = "58dc1221-d430-496e-951d-e8cb23caaead"
CID = "8371caad8cc369f16c55ce039fbbe0e4fd1be88e72f119bce94ccd5d07d152fe"
POD_SLICE = f"kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{UID.replace('-', '_')}.slice"
CHARGED = ("anon", "file", "kernel_stack", "pagetables", "percpu", "sock", "slab")
Gi = 1024**3


def _pod_json() -> dict:
    """HAND-WRITTEN pod (no cluster here): the CRI-O container id and pod UID of the real kernel log."""
    return {"kind": "List", "items": [{
        "kind": "Pod",
        "metadata": {"name": "mimir-ingester-0", "namespace": "observability", "uid": UID,
                     "ownerReferences": [{"kind": "StatefulSet", "name": "mimir-ingester"}]},
        "spec": {"nodeName": "gpu-node-1", "containers": [{
            "name": "ingester", "image": "grafana/mimir:2.10.0",
            "resources": {"requests": {"memory": "2Gi"}, "limits": {"memory": "8Gi"}}}]},
        "status": {"phase": "Running", "qosClass": "Burstable", "containerStatuses": [{
            "name": "ingester", "restartCount": 2, "containerID": "cri-o://" + "e" * 64,
            "state": {"running": {"startedAt": "2023-11-02T10:11:00Z"}},
            "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137, "containerID": "cri-o://" + CID,
                                         "finishedAt": "2023-11-02T10:10:55Z"}}}]},
    }]}


@pytest.fixture
def v2_bundle(tmp_path, corpus_dir):
    root = tmp_path / "podmortem-gpu-node-1-20231102T101200Z"
    (root / "commands").mkdir(parents=True)
    (root / "commands" / "dmesg.txt").write_text(
        (corpus_dir / "kernel-oom" / "4.18-memcg-v2-notes-openshift-crio-mimir-nvrm.log").read_text())
    (root / "commands" / "kubectl-get-pods.json").write_text(json.dumps(_pod_json()))
    stat_text = (corpus_dir / "k8s" / "cgroupv2-runc-fs2-test-memory-stat.txt").read_text()
    stat = {k: int(v) for k, v in (line.split() for line in stat_text.splitlines() if line.strip())}
    current = sum(stat[k] for k in CHARGED)
    pod = root / "sys" / "fs" / "cgroup" / POD_SLICE
    scope, conmon = pod / f"crio-{CID}.scope", pod / f"crio-conmon-{CID}.scope"
    for folder, files in (
        (pod, {"memory.current": current + 1_048_576, "memory.max": 8 * Gi}),
        (scope, {"memory.current": current, "memory.max": "max", "memory.stat": stat_text.rstrip("\n")}),
        (conmon, {"memory.current": 1_048_576, "memory.max": "max"}),
    ):
        folder.mkdir(parents=True, exist_ok=True)
        for name, value in files.items():
            (folder / name).write_text(f"{value}\n")
    return root, stat, current


def test_v2_systemd_crio_incident_is_named_and_joined(v2_bundle):
    root, _, _ = v2_bundle
    report = analyze(root)
    incidents = [i for i in report.incidents if i.kind == "oom_kill" and i.victim.pid == 184260]
    assert incidents, [i.summary for i in report.incidents]
    incident = incidents[0]
    assert incident.scope == "pod", "oom_memcg is the pod slice: the pod-level limit was hit"
    assert (incident.pod.uid, incident.pod.qos) == (UID, "Burstable")
    assert (incident.container.id, incident.container.runtime) == (CID, "cri-o")
    assert (incident.pod.namespace, incident.pod.name, incident.container.name) == ("observability", "mimir-ingester-0", "ingester")
    assert (incident.kubernetes.reason, incident.kubernetes.exit_code, incident.kubernetes.restart_count) == ("OOMKilled", 137, 2)
    assert "pod observability/mimir-ingester-0" in incident.summary


def test_v2_container_numbers_and_why_they_differ(v2_bundle):
    root, stat, current = v2_bundle
    report = analyze(root)
    rows = [c for c in report.containers if c.pod_uid == UID]
    assert [c.container_id for c in rows] == [CID], "the crio-conmon monitor cgroup is not a container"
    (row,) = rows
    assert row.usage_bytes == current
    assert row.working_set_bytes == current - stat["inactive_file"]
    assert (row.rss_bytes, row.cache_bytes, row.shmem_bytes) == (stat["anon"], stat["file"], stat["shmem"])
    assert (row.active_file_bytes, row.inactive_file_bytes) == (stat["active_file"], stat["inactive_file"])
    assert row.docker_stats_bytes.since_20_10 == current - stat["inactive_file"]
    assert row.docker_stats_bytes.before_20_10 is None, "docker CLI <= 19.03 never ran on cgroup v2"
    codes = {f.code for f in row.findings}
    assert "page_cache_in_working_set" in codes, "1.1 GiB of active page cache is half the working set"
    assert row.evidence and all(e.file.startswith("sys/fs/cgroup/kubepods.slice/") for e in row.evidence)
