"""A paste of several commands in one file: the evicted pod's Message, `kubectl top nodes`, `free -h`,
`kubectl describe node` (kubernetes/kubernetes#112927 in ../shared/corpus/k8s, facts from its INDEX.md):
the report names the evicted pod and shows why the kubelet saw a full node while `free` showed 96G available."""
from __future__ import annotations

from analyzer.parsers import free, kubectl_top
from analyzer.pipeline import analyze

Ki, Mi, Gi = 1024, 1024**2, 1024**3
PASTE = "describe-evicted-k8s112927-bestEffort-free-mem.txt"


def test_evicted_pod_from_a_message_only_fragment(corpus_dir):
    report = analyze(corpus_dir / "k8s" / PASTE)
    (incident,) = report.incidents
    assert incident.kind == "eviction"
    assert (incident.pod.namespace, incident.pod.name) == ("istio-system", "istio-citadel-894d98c88-zkt23"), "from the pasted describe command"
    (ranked,) = incident.ranking
    assert (ranked.usage_bytes, ranked.request_bytes, ranked.exceeds_request) == (43536 * Ki, 0, True)
    assert "citadel" in incident.summary and any(f.code == "evicted_above_request" for f in incident.findings)


def test_node_numbers_from_top_free_and_describe_node(corpus_dir):
    node = analyze(corpus_dir / "k8s" / PASTE).node
    assert node.mem_total_bytes == 131671024 * Ki, "describe node's exact capacity beats free's rounded 125G"
    assert node.allocatable_bytes == 131437552 * Ki
    assert (node.root_working_set_bytes, node.working_set_source) == (127894 * Mi, "kubectl_top")
    assert node.free_available_bytes == 96 * Gi and node.buff_cache_bytes == 45 * Gi and node.values_approximate
    assert node.kubelet_memory_available_bytes == 131671024 * Ki - 127894 * Mi
    finding = next(f for f in node.findings if f.code == "kubelet_sees_less_than_free")
    assert "96 GiB available" in finding.message
    assert {e.line for e in finding.evidence} >= {10, 14, 26}, "the top, free and capacity lines are cited"


def test_free_units_and_old_layout():
    """HAND-WRITTEN free outputs in the layouts procps prints (-b, -m with the command pasted, procps < 3.3.10)."""
    b = free.parse("              total        used        free      shared  buff/cache   available\n"
                   "Mem:    25282310144   929820672 23118237696     8458240  1234251776 24100040704\n", "f").value
    assert (b.total_bytes, b.available_bytes, b.approximate) == (25282310144 * 1024, 24100040704 * 1024, False), "bare numbers: KiB unless the flag says"
    m = free.parse("$ free -m\n       total  used  free  shared  buff/cache  available\nMem:   24110   886  22047  8  1177  22983\n", "f").value
    assert m.total_bytes == 24110 * Mi
    old = free.parse("             total       used       free     shared    buffers     cached\n"
                     "Mem:       8061276    7864912     196364          0     264164    5385504\n"
                     "-/+ buffers/cache:    2215244    5846032\n", "f").value
    assert old.buff_cache_bytes == (264164 + 5385504) * Ki and old.available_bytes is None


def test_kubectl_top_pods_with_namespaces():
    rows = kubectl_top.parse("NAMESPACE     NAME                      CPU(cores)   MEMORY(bytes)\n"
                             "kube-system   coredns-5d78c9869d-8x2lq   3m           12Mi\n", "t").value
    assert [(r.kind, r.namespace, r.name, r.working_set_bytes) for r in rows] == [("pod", "kube-system", "coredns-5d78c9869d-8x2lq", 12 * Mi)]
