"""crictl parsers on every crictl-* file of ../shared/corpus/k8s (facts from its INDEX.md), and the
runtime-bug findings those files document; HAND-WRITTEN inputs are marked."""
from __future__ import annotations

import json

import pytest

from analyzer.classify import classify
from analyzer.parsers import crictl, docker
from analyzer.pipeline import analyze
from tests.conftest import corpus_files

MiB = 1024**2
EXPECTED_KIND = {
    "crictl-inspect-crio4203-kata-status-reason-error.json": "crictl_inspect",
    "crictl-stats-cri1326-windows-json.json": "crictl_stats",
    "crictl-stats-cridockerd64-docker-stats-minikube.txt": "docker_stats",
    "crictl-stats-cridockerd66-zero-mem.txt": "crictl_stats",
    "crictl-stats-crio3580-pod-level-mem.txt": "crictl_stats",
}


@pytest.mark.parametrize("path", corpus_files("k8s", "crictl-*"), ids=lambda p: p.name)
def test_every_crictl_corpus_file_is_classified(path):
    assert classify(None, path.name, path.read_text()[:65536]).value == EXPECTED_KIND[path.name]


def test_trimmed_inspect_paste_is_salvaged(corpus_dir):
    """cri-o#4203: trimmed `crictl inspect | jq .status` (trailing comma): CONTAINER_EXITED, reason Error (Kata OOM)."""
    name = "crictl-inspect-crio4203-kata-status-reason-error.json"
    parsed = crictl.parse_inspect((corpus_dir / "k8s" / name).read_text(), name)
    assert parsed.status == "partial" and "not valid JSON" in parsed.problems[0].message
    (container,) = parsed.value
    assert (container.state, container.reason, container.salvaged) == ("CONTAINER_EXITED", "Error", True)
    assert container.id is None and container.evidence.line == 3


def test_windows_stats_json_cut_mid_object(corpus_dir):
    """containerd/cri#1326: CRI stats shape, {"value": "..."} numbers, workingSetBytes 25317376 only, cut mid-object."""
    name = "crictl-stats-cri1326-windows-json.json"
    parsed = crictl.parse_stats((corpus_dir / "k8s" / name).read_text(), name)
    assert parsed.status == "partial"
    first, cut = parsed.value
    assert (first.name, first.working_set_bytes, first.usage_bytes, first.rss_bytes) == ("nanoserver-6", 25317376, None, None)
    assert first.id.startswith("0e70a82a114f")
    assert cut.name == "nanoserver-3" and cut.working_set_bytes is None, "the cut item keeps what is there"


def test_cri_dockerd_zero_mem_table(corpus_dir):
    """cri-dockerd#66: `crictl stats` MEM 0B for every container (8 rows)."""
    name = "crictl-stats-cridockerd66-zero-mem.txt"
    rows = crictl.parse_stats((corpus_dir / "k8s" / name).read_text(), name).value
    assert len(rows) == 8 and {r.working_set_bytes for r in rows} == {0}
    assert rows[0].id == "151dfb4aa44a8" and rows[0].evidence.line == 3


def test_cri_dockerd_zero_mem_gives_a_finding(corpus_dir):
    report = analyze(corpus_dir / "k8s" / "crictl-stats-cridockerd66-zero-mem.txt")
    (finding,) = [f for f in report.findings if f.code == "crictl_stats_zero_memory"]
    assert "8 running container(s)" in finding.message and "PrivateWorkingSet" in finding.message
    assert finding.evidence[0].line == 3


def test_crio_pod_level_memory(corpus_dir):
    """cri-o#3580: crictl ps + stats for nginx and kube-proxy of pod f432ef16bf3ca, both ~30.6MB."""
    name = "crictl-stats-crio3580-pod-level-mem.txt"
    text = (corpus_dir / "k8s" / name).read_text()
    rows = crictl.parse_stats(text, name).value
    assert [(r.name, r.pod_id) for r in rows] == [("nginx", "f432ef16bf3ca"), ("kube-proxy", "f432ef16bf3ca")]
    assert [r.working_set_bytes for r in rows] == [30_650_000, 30_580_000], "go-units HumanSize is decimal"
    ps = crictl.parse_ps(text, name).value
    assert [(p.id, p.state, p.name) for p in ps] == [("538fbb2396de1", "Running", "nginx"), ("168141c76d71c", "Running", "kube-proxy")]
    report = analyze(corpus_dir / "k8s" / name)
    (finding,) = [f for f in report.findings if f.code == "crictl_stats_pod_level_memory"]
    assert "nginx" in finding.message and "kube-proxy" in finding.message and "pod cgroup" in finding.message


def test_docker_stats_table_misfiled_as_crictl(corpus_dir):
    """cri-dockerd#64: the "crictl stats" file is a `docker stats` table: coredns 12.04MiB / 170MiB; sandbox 308KiB."""
    name = "crictl-stats-cridockerd64-docker-stats-minikube.txt"
    rows = docker.parse_stats((corpus_dir / "k8s" / name).read_text(), name).value
    by_name = {r.name: r for r in rows}
    coredns = by_name["k8s_coredns_coredns-6d4b75cb6d-dhvgf_kube-system_508a1c0d-547c-45c9-8256-0c6a6bb0008f_0"]
    assert (coredns.usage_bytes, coredns.limit_bytes) == (round(12.04 * MiB), 170 * MiB), "coredns has its own limit"
    sandbox = by_name["k8s_POD_kube-proxy-qwhqs_kube-system_bae1cac7-f02e-4836-ba60-efdf8ce1bc2b_0"]
    assert sandbox.usage_bytes == 308 * 1024
    assert len(rows) == 5, "the row cut by the excerpt is skipped, not misread"
    assert crictl.parse_stats((corpus_dir / "k8s" / name).read_text(), name).value == [], "not a crictl table"


def test_inspect_full_json_hand_written():
    """HAND-WRITTEN `crictl inspect` of a containerd container (shape of crictl 1.2x output), two objects in a row."""
    cid = "ab" * 32
    one = {"status": {"id": cid, "metadata": {"attempt": 3, "name": "worker"}, "state": "CONTAINER_EXITED",
                      "startedAt": "2026-11-24T12:42:40.1Z", "finishedAt": "2026-11-24T12:42:53.5Z", "exitCode": 137,
                      "reason": "OOMKilled", "labels": {"io.kubernetes.pod.name": "cart-7d9f", "io.kubernetes.pod.namespace": "shop",
                                                        "io.kubernetes.pod.uid": "u1"},
                      "resources": {"linux": {"memoryLimitInBytes": "134217728"}}},
           "info": {"sandboxID": "cd" * 32, "pid": 0, "snapshotter": "overlayfs",
                    "runtimeSpec": {"linux": {"cgroupsPath": "kubepods-burstable-podu1.slice:cri-containerd:" + cid}}}}
    text = json.dumps(one, indent=2) + "\n" + json.dumps({"status": {"id": "ef" * 32, "state": "CONTAINER_RUNNING"}})
    first, second = crictl.parse_inspect(text, "inspect.json").value
    assert (first.name, first.attempt, first.reason, first.exit_code, first.runtime) == ("worker", 3, "OOMKilled", 137, "containerd")
    assert (first.pod_namespace, first.pod_name, first.sandbox_id, first.memory_limit_bytes) == ("shop", "cart-7d9f", "cd" * 32, 128 * MiB)
    assert first.finished_at.isoformat() == "2026-11-24T12:42:53.500000+00:00"
    assert second.state == "CONTAINER_RUNNING" and second.evidence.line > first.evidence.line


def test_stats_table_with_name_column_hand_written():
    """HAND-WRITTEN `crictl stats` of cri-tools >= 1.2x (NAME column)."""
    text = ("CONTAINER           NAME                CPU %               MEM                 DISK                INODES\n"
            "3afe1c2d4e5f6       worker              0.10                134.2MB             12.29kB             7\n")
    (row,) = crictl.parse_stats(text, "stats.txt").value
    assert (row.id, row.name, row.working_set_bytes) == ("3afe1c2d4e5f6", "worker", 134_200_000)


def test_junk_is_unrecognised():
    for parse in (crictl.parse_inspect, crictl.parse_stats, crictl.parse_ps):
        parsed = parse("nothing here { \"a\": ", "junk.txt")
        assert parsed.status == "unrecognised" and parsed.value == []
