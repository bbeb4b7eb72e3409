"""Kubelet config, eviction-manager log lines and the node's memory.available, on real pastes
(../shared/corpus/k8s, facts from its INDEX.md) and on the real lab bundle."""
from __future__ import annotations

import tarfile

import pytest

from analyzer.parsers import kubelet_config, kubelet_log
from analyzer.pipeline import analyze
from tests.conftest import FIXTURES

Ki, Mi = 1024, 1024**2


@pytest.mark.parametrize("name, driver", [("configz-kubeadm-v1.16-cgroupfs.json", "cgroupfs"), ("configz-nodecollector-notes-criddockerd.json", "systemd")])
def test_configz_thresholds_and_driver(corpus_dir, name, driver):
    config = kubelet_config.parse((corpus_dir / "k8s" / name).read_text(), name).value
    assert config.cgroup_driver == driver
    hard = config.eviction_hard["memory.available"]
    assert hard.quantity_bytes == 100 * Mi and not hard.defaulted
    assert config.eviction_hard["nodefs.available"].percent == 10.0
    assert config.enforce_node_allocatable == ["pods"]


def test_observations_give_memory_available_and_capacity(corpus_dir):
    events = kubelet_log.parse((corpus_dir / "k8s" / "kubelet-eviction-log-k8s107024-observations.log").read_text(), "k.log").value
    memory = next(e for e in events if e.signal == "memory.available")
    assert (memory.available_bytes, memory.capacity_bytes) == (60329376 * Ki, 65973468 * Ki)
    alloc = next(e for e in events if e.signal == "allocatableMemory.available")
    assert alloc.available_bytes == 56497580 * Ki
    after = kubelet_log.parse((corpus_dir / "k8s" / "kubelet-eviction-log-k8s107024-after-reclaim.log").read_text(), "a.log").value
    assert next(e for e in after if e.signal == "memory.available").available_bytes == 60687100 * Ki


def test_structured_eviction_log_is_not_called_memory(corpus_dir):
    """k8s#132001: ranked 3 pods, evicted sre/infras-logstash-...; the resource was ephemeral-storage, not memory."""
    report = analyze(corpus_dir / "k8s" / "kubelet-eviction-log-k8s132001-structured.log")
    (incident,) = report.incidents
    assert incident.kind == "eviction"
    assert (incident.pod.namespace, incident.pod.name) == ("sre", "infras-logstash-d484d57fc-rkx95")
    assert [r.pod for r in incident.ranking][:2] == ["sre/infras-logstash-d484d57fc-rkx95", "sre/admin-api-server-847868d7b-7sqdm"]
    assert incident.signal is None and "memory" not in incident.summary, "the log does not say memory: neither does the report"
    assert any(f.code == "eviction_ranking" for f in incident.findings)


def test_lab_node_memory_available_recomputed(tmp_path):
    """MemTotal - (root usage - root total_inactive_file), from the bundle's own files."""
    report = analyze(FIXTURES / "lab" / "lab-oom-128mi.tar.gz")
    with tarfile.open(FIXTURES / "lab" / "lab-oom-128mi.tar.gz") as tar:
        files = {m.name.split("/", 1)[1]: tar.extractfile(m).read().decode() for m in tar.getmembers() if m.isfile()}
    mem_total = int(next(l.split()[1] for l in files["proc/meminfo"].splitlines() if l.startswith("MemTotal:"))) * Ki
    usage = int(files["sys/fs/cgroup/memory/memory.usage_in_bytes"])
    inactive = int(next(l.split()[1] for l in files["sys/fs/cgroup/memory/memory.stat"].splitlines() if l.startswith("total_inactive_file ")))
    node = report.node
    assert node.mem_total_bytes == mem_total
    assert node.kubelet_memory_available_bytes == mem_total - (usage - inactive)
    assert node.eviction_threshold_bytes == 100 * Mi and node.eviction_threshold_defaulted is True
