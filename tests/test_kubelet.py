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


def test_summary_corpus_values(corpus_dir):
    from analyzer.parsers import kubelet_summary

    beats = kubelet_summary.parse((corpus_dir / "k8s" / "stats-summary-beats-gke-2017.json").read_text(), "s.json").value
    assert (beats.node.available_bytes, beats.node.working_set_bytes) == (1768316928, 2111090688)
    assert [(p.name, p.memory.working_set_bytes) for p in beats.pods] == [("nginx-deployment-2303442956-pcqfc", 1454080)]
    gke = kubelet_summary.parse((corpus_dir / "k8s" / "stats-summary-k8s118916-gke-ubuntu-node-memory.json").read_text(), "g.json").value
    assert (gke.node.available_bytes, gke.node.working_set_bytes) == (3182673920, 928534528)



def test_summary_with_a_mangled_system_containers_keeps_the_node_numbers():
    """GENERATED input (tests/fuzz_seeds, a mutation of the corpus's GKE summary): a systemContainers that
    is not a list is no system containers, and the node's memory is still read and cited at its line."""
    from analyzer.parsers import kubelet_summary
    from tests.fuzz_mutations import SEED_DIR

    text = (SEED_DIR / "kubelet-summary-system-containers-not-a-list.txt").read_text().split("\n", 1)[1]
    parsed = kubelet_summary.parse(text, "s.json")
    assert parsed.status == "complete" and parsed.value.system_containers == {}
    assert (parsed.value.node.available_bytes, parsed.value.node.working_set_bytes) == (2685095936, 1157853184)
    assert '"availableBytes": 2685095936' in text.split("\n")[parsed.value.evidence.line - 1]

def test_eviction_ranking_follows_the_kubelet_order(tmp_path):
    """HAND-WRITTEN pods and /stats/summary (no cluster in the lab): the kubelet ranks pods above their
    request first, then lower priority, then the largest usage above request."""
    import json

    Gi = 1024**3

    def pod(name, request, priority, qos, evicted=False):
        status = {"qosClass": qos, "phase": "Failed" if evicted else "Running"}
        if evicted:
            status.update(reason="Evicted", message="The node was low on resource: memory. Threshold quantity: 100Mi, available: 81920Ki. "
                                                    "Container app was using 2Gi, request is 1Gi, has larger consumption of memory. ")
        spec = {"priority": priority, "containers": [{"name": "app", "resources": {"requests": {"memory": request}} if request else {}}]}
        return {"kind": "Pod", "metadata": {"name": name, "namespace": "shop", "uid": f"uid-{name}"}, "spec": spec, "status": status}

    bundle = tmp_path / "b" / "commands"
    bundle.mkdir(parents=True)
    (bundle / "kubectl-get-pods.json").write_text(json.dumps({"kind": "List", "items": [
        pod("big", "1Gi", 0, "Burstable", evicted=True), pod("small-besteffort", None, 0, "BestEffort"), pod("guaranteed", "4Gi", 1000, "Guaranteed")]}))
    (bundle / "kubelet-stats-summary.json").write_text(json.dumps({"node": {"memory": {"availableBytes": 83886080, "workingSetBytes": 15 * Gi}}, "pods": [
        {"podRef": {"name": "guaranteed", "namespace": "shop"}, "memory": {"workingSetBytes": 3 * Gi}},
        {"podRef": {"name": "small-besteffort", "namespace": "shop"}, "memory": {"workingSetBytes": 100 * Mi}},
        {"podRef": {"name": "big", "namespace": "shop"}, "memory": {"workingSetBytes": 2 * Gi}}]}))
    report = analyze(tmp_path / "b")
    (incident,) = [i for i in report.incidents if i.kind == "eviction"]
    assert [r.pod for r in incident.ranking] == ["shop/big", "shop/small-besteffort", "shop/guaranteed"]
    assert [r.exceeds_request for r in incident.ranking] == [True, True, False]
    assert (incident.threshold_bytes, incident.observed_bytes) == (100 * Mi, 81920 * Ki)
    finding = next(f for f in incident.findings if f.code == "eviction_ranking_recomputed")
    assert finding.severity == "info" and "shop/big comes first" in finding.message


def _lab_with(tmp_path, files: dict[str, str]):
    """The real lab bundle, extracted, with extra files under commands/ (each test says how they were made)."""
    from tests.conftest import extract_bundle

    top = extract_bundle(FIXTURES / "lab" / "lab-oom-128mi.tar.gz", tmp_path / "b")
    for name, text in files.items():
        (top / "commands" / name).write_text(text)
    return tmp_path / "b"


def test_recomputed_memory_available_agrees_with_the_kubelets_own_numbers(tmp_path):
    """HAND-WRITTEN /stats/summary and a kubelet observation line at the lab's collection time, holding the value
    the bundle's own counters give (minus 8 MiB: a sample moments apart): the report says they agree."""
    import json

    plain = analyze(FIXTURES / "lab" / "lab-oom-128mi.tar.gz")
    recomputed, total = plain.node.kubelet_memory_available_bytes, plain.node.mem_total_bytes
    at = plain.bundle.collected_at
    stamp = at.strftime("%Y-%m-%dT%H:%M:%S+0000")
    klog = at.strftime("I%m%d %H:%M:%S.000000")
    summary = {"node": {"memory": {"availableBytes": recomputed - 8 * Mi, "workingSetBytes": total - recomputed}}, "pods": []}
    observation = (f"{stamp} vm kubelet[812]: {klog}     812 helpers.go:814] \"eviction manager: observations: signal=memory.available, "
                   f"available: {(recomputed - 8 * Mi) // Ki}Ki, capacity: {total // Ki}Ki, time: {at}\"\n")
    report = analyze(_lab_with(tmp_path, {"kubelet-stats-summary.json": json.dumps(summary),
                                          "journalctl-u-kubelet.txt": observation}))
    node = report.node
    assert node.kubelet_logged_memory_available_bytes == recomputed - 8 * Mi
    assert node.kubelet_logged_at == at.replace(microsecond=0)
    check = next(f for f in node.findings if f.code == "memory_available_cross_check")
    assert check.severity == "info" and check.message.count("they agree") == 2, check.message
    assert any(e.file.endswith("journalctl-u-kubelet.txt") for e in check.evidence)


def test_a_kubelet_log_of_another_node_is_called_out(tmp_path, corpus_dir):
    """The real k8s#107024 observations (a 63 GiB node, Dec 2021) put beside the lab bundle (a different machine):
    the logged capacity is not the bundle's MemTotal, and the time is far from collection."""
    text = (corpus_dir / "k8s" / "kubelet-eviction-log-k8s107024-observations.log").read_text()
    report = analyze(_lab_with(tmp_path, {"journalctl-u-kubelet.txt": text}))
    node = report.node
    assert node.kubelet_logged_memory_available_bytes == 60329376 * Ki
    assert node.kubelet_logged_capacity_bytes == 65973468 * Ki
    check = next(f for f in node.findings if f.code == "memory_available_cross_check")
    assert check.severity == "warning" and "another node's log" in check.message
