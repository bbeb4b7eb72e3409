"""Every pasted fragment of ../shared/corpus/k8s that is no single command's whole output gives the
report an SRE would expect: the facts its INDEX.md row states, read from the paste itself."""
from __future__ import annotations

import pytest

from analyzer.pipeline import analyze

Ki, Mi, Gi = 1024, 1024**2, 1024**3


def _report(corpus_dir, name):
    return analyze(corpus_dir / "k8s" / name)


def test_pod_cgroup_files_shown_with_cat_k8s114142(corpus_dir):
    """pod-level v1 files: usage 501346304, max_usage 524292096, limit 524288000 (500Mi) of pod 22697648-..."""
    report = _report(corpus_dir, "cgroupv1-k8s114142-pod-usage-limit.txt")
    (row,) = report.containers
    assert row.cgroup == "/kubepods/burstable/pod22697648-cc63-47d6-ba97-fe420988dfc1"
    assert (row.pod_uid, row.usage_bytes, row.limit_bytes) == ("22697648-cc63-47d6-ba97-fe420988dfc1", 501346304, 500 * Mi)
    near = next(f for f in row.findings if f.code == "near_limit")
    assert {e.line for e in near.evidence} == {6, 12}, "cited at the paste's own lines (the cat outputs)"


def test_memory_stat_from_inside_a_container_grafana(corpus_dir):
    """full v1 memory.stat: rss 546529280, cache 143360, inactive_file 49152, unlimited"""
    (row,) = _report(corpus_dir, "cgroupv1-grafana-snap5-gke-cos-memory-stat.txt").containers
    assert row.cgroup.startswith("/887c912cb6d9")
    assert (row.rss_bytes, row.cache_bytes, row.inactive_file_bytes, row.limit_bytes) == (546529280, 143360, 49152, None)


def test_near_limit_without_oom_postgres_v2(corpus_dir):
    """memory.events max 13693 but oom 0 / oom_kill 0; memory.current 394907648 vs memory.max 402653184"""
    (row,) = _report(corpus_dir, "cgroupv2-docker-postgres-events-current-max.txt").containers
    assert (row.usage_bytes, row.limit_bytes) == (394907648, 402653184)
    codes = {f.code: f for f in row.findings}
    assert "near_limit" in codes and "13693 times" in codes["limit_reached_without_oom"].message
    assert not [i for i in _report(corpus_dir, "cgroupv2-docker-postgres-events-current-max.txt").incidents], "no OOM happened"


def test_bare_v2_memory_stat_kernel6(corpus_dir):
    """anon 9202163712, file 5392793600, shmem 1537892352, inactive_file 2995503104"""
    (row,) = _report(corpus_dir, "cgroupv2-rust-bench-memory-stat-kernel6.txt").containers
    assert (row.rss_bytes, row.cache_bytes, row.shmem_bytes, row.inactive_file_bytes) == (9202163712, 5392793600, 1537892352, 2995503104)


def test_jsonpath_eviction_line_names_the_pod(corpus_dir):
    """Evicted, ephemeral-storage threshold 30Gi, available 24094024Ki, infras-logstash using 2456Ki, request 0"""
    (incident,) = _report(corpus_dir, "podjson-k8s132001-evicted-jsonpath.txt").incidents
    assert (incident.kind, incident.pod.name, incident.signal) == ("eviction", "infras-logstash-d484d57fc-rkx95", "ephemeral-storage")
    assert (incident.threshold_bytes, incident.observed_bytes) == (30 * Gi, 24094024 * Ki)
    assert "memory" not in incident.summary


def test_yq_message_over_two_lines(corpus_dir):
    """Threshold quantity 100Mi, available 87608Ki, dptp-controller-manager using 48458972Ki, request 15Gi"""
    (incident,) = _report(corpus_dir, "podjson-openshiftrelease76967-evicted-threshold-yq.txt").incidents
    assert (incident.signal, incident.threshold_bytes, incident.observed_bytes) == ("memory.available", 100 * Mi, 87608 * Ki)
    (ranked,) = incident.ranking
    assert (ranked.usage_bytes, ranked.request_bytes, ranked.exceeds_request) == (48458972 * Ki, 15 * Gi, True)


def test_kubelet_1_6_condition_wording(corpus_dir):
    """v1.6.1 "Pod The node was low on resource: [MemoryPressure]." is memory; the v1.6.4 fragment is cut"""
    (incident,) = _report(corpus_dir, "podjson-k8s48632-evicted-message-v1.6.yaml").incidents
    assert incident.signal == "memory.available" and "low on memory" in incident.summary


def test_disruption_target_without_reason(corpus_dir):
    """no status.reason; DisruptionTarget TerminationByKubelet: ephemeral-storage threshold 1Gi, available 898240Ki"""
    (incident,) = _report(corpus_dir, "podjson-k8s105467-disruptiontarget-no-reason.yaml").incidents
    assert (incident.signal, incident.threshold_bytes, incident.observed_bytes) == ("ephemeral-storage", Gi, 898240 * Ki)


def test_go_template_oom_killed_2015(corpus_dir):
    """exitCode 137, reason "OOM Killed" (pre-1.0 spelling), docker:// containerID, pod simmemleak-60xbc"""
    (incident,) = _report(corpus_dir, "podjson-runbooks45-gotemplate-oom-killed-2015.txt").incidents
    assert (incident.source, incident.container.name, incident.pod.name) == ("kubernetes", "simmemleak", "simmemleak-60xbc")
    assert (incident.kubernetes.reason, incident.kubernetes.exit_code) == ("OOM Killed", 137)
    assert (incident.container.runtime, incident.container.id) == ("docker", "0e4095bba1feccdfe7ef9fb6ebffe972b4b14285d5acdec6f0d3ae8a22fad8b2")
    assert any(f.code == "kernel_report_missing" for f in incident.findings)


@pytest.mark.parametrize("name, reason, restarts, limit", [
    ("describe-oomkilled-starburst-guaranteed-300Mi.txt", "OOMKilled", 5, 300 * Mi),
    ("podjson-k8s3044-2014-termination-oom-killed.json", "OOM Killed", None, None),
])
def test_oomkilled_without_kernel_log_is_an_incident_that_says_what_to_collect(corpus_dir, name, reason, restarts, limit):
    incidents = [i for i in _report(corpus_dir, name).incidents if i.kind == "oom_kill"]
    assert incidents and incidents[0].source == "kubernetes"
    incident = incidents[0]
    assert (incident.kubernetes.reason, incident.kubernetes.exit_code, incident.kubernetes.restart_count) == (reason, 137, restarts)
    assert incident.memcg.limit_bytes == limit
    assert "kernel log" in next(f for f in incident.findings if f.code == "kernel_report_missing").message


@pytest.mark.parametrize("name", ["describe-oomkilled-k8s122256-exit137-error-not-oom.txt", "podjson-k8s53669-systemoom-error.json"])
def test_exit_137_with_reason_error_is_not_called_oom(corpus_dir, name):
    report = _report(corpus_dir, name)
    assert not [i for i in report.incidents if i.kind == "oom_kill"]
    finding = next(f for f in report.findings if f.code == "exit_137_not_oomkilled")
    assert "liveness probe" in finding.message and "node-wide OOM" in finding.message


def test_v1_0_describe_without_reason_invents_nothing(corpus_dir):
    """Restart Count 5 but no last state shown (the 2015 issue asked for it): no incident is made up"""
    report = _report(corpus_dir, "describe-oomkilled-k8s10861-v1.0-tabbed-no-reason.txt")
    assert not [i for i in report.incidents if i.kind == "oom_kill"]
