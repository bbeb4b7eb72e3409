"""The Kubernetes view: pod JSON joined to kernel incidents, evictions read from pod status.

The lab has no cluster, so the pod JSON joined to the real lab bundle is HAND-WRITTEN here
(marked as such), using the pod UID and container id the lab recorded in fixtures/lab/README.md.
Eviction cases come from real pastes in ../shared/corpus/k8s (facts from its INDEX.md).
"""
from __future__ import annotations

import json

import pytest

from analyzer.eviction_message import parse_eviction_message
from analyzer.parsers import pod_json
from analyzer.pipeline import analyze
from tests.conftest import FIXTURES, extract_bundle
from tests.test_cli import lab_facts

Ki, Mi, Gi = 1024, 1024**2, 1024**3


def hand_written_pod(uid: str, cid: str) -> dict:
    """HAND-WRITTEN pod JSON (no cluster in the lab): a Burstable pod whose container was OOM-killed
    and restarted 3 times; its previous container is the lab's killed cgroup."""
    return {
        "kind": "List",
        "items": [{
            "kind": "Pod",
            "metadata": {"name": "cart-7d9f", "namespace": "shop", "uid": uid,
                         "ownerReferences": [{"kind": "ReplicaSet", "name": "cart-6c8b9"}]},
            "spec": {"nodeName": "vm", "priority": 0, "containers": [{
                "name": "worker", "image": "shop/cart:1.4",
                "resources": {"requests": {"memory": "64Mi"}, "limits": {"memory": "128Mi"}}}]},
            "status": {"phase": "Running", "qosClass": "Burstable", "containerStatuses": [{
                "name": "worker", "restartCount": 3, "containerID": "containerd://" + "f" * 64,
                "state": {"running": {"startedAt": "2026-11-24T12:43:00Z"}},
                "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137, "containerID": "containerd://" + cid,
                                             "startedAt": "2026-11-24T12:42:40Z", "finishedAt": "2026-11-24T12:42:53Z"}}}]},
        }],
    }


@pytest.fixture
def lab_bundle_with_pods(tmp_path):
    facts = lab_facts()
    root = tmp_path / "bundle"
    top = extract_bundle(FIXTURES / "lab" / "lab-oom-128mi.tar.gz", root)
    (top / "commands" / "kubectl-get-pods.json").write_text(json.dumps(hand_written_pod(facts["pod uid"], facts["container id"]), indent=2))
    return root, facts


def test_incident_names_pod_container_and_what_kubernetes_shows(lab_bundle_with_pods):
    root, facts = lab_bundle_with_pods
    report = analyze(root)
    (incident,) = [i for i in report.incidents if i.kind == "oom_kill" and i.pod and i.pod.uid == facts["pod uid"]]
    assert (incident.pod.namespace, incident.pod.name, incident.pod.qos) == ("shop", "cart-7d9f", "Burstable")
    assert incident.container.name == "worker" and incident.container.id == facts["container id"]
    assert (incident.kubernetes.reason, incident.kubernetes.exit_code, incident.kubernetes.restart_count) == ("OOMKilled", 137, 3)
    assert "container worker of pod shop/cart-7d9f (Burstable)" in incident.summary
    assert "128 MiB limit" in incident.summary
    assert any(e.file.endswith("kubectl-get-pods.json") for e in incident.evidence), "the pod status is cited too"
    other = [i for i in report.incidents if i.kind == "oom_kill" and i is not incident]
    assert all(i.pod is None or i.pod.name is None for i in other), "pods not in the JSON keep only their UID"


def test_missing_pod_json_is_reported_with_how_to_collect():
    report = analyze(FIXTURES / "lab" / "lab-oom-128mi.tar.gz")
    assert any("kubectl get pods" in m.how for m in report.missing)


def test_eviction_message_both_wordings():
    old = parse_eviction_message("The node was low on resource: memory. Container node was using 35505620Ki, which exceeds its request of 12Gi. ")
    assert old.resource == "memory" and old.containers[0].usage_bytes == 35505620 * Ki and old.containers[0].request_bytes == 12 * Gi
    new = parse_eviction_message("The node was low on resource: ephemeral-storage. Threshold quantity: 1Gi, available: 898240Ki. "
                                 "Container discovery was using 4Ki, request is 0, has larger consumption of ephemeral-storage. ")
    assert (new.resource, new.threshold_bytes, new.available_bytes) == ("ephemeral-storage", Gi, 898240 * Ki)
    assert new.containers[0].usage_bytes == 4 * Ki and new.containers[0].request_bytes == 0
    admission = parse_eviction_message("Pod The node had condition: [MemoryPressure].")
    assert admission.admission_conditions == ["MemoryPressure"]


def test_corpus_evicted_pod_yaml_becomes_an_eviction_incident(corpus_dir):
    """cosmos-operator#185: Evicted, Burstable, container node using 35505620Ki vs request 12Gi (INDEX)."""
    report = analyze(corpus_dir / "k8s" / "podjson-cosmosoperator185-evicted-status.yaml")
    (incident,) = [i for i in report.incidents if i.kind == "eviction"]
    assert incident.signal == "memory.available" and incident.pod.qos == "Burstable"
    (ranked,) = incident.ranking
    assert ranked.usage_bytes == 35505620 * Ki and ranked.request_bytes == 12 * Gi and ranked.exceeds_request is True
    assert any(f.code == "evicted_above_request" for f in incident.findings)
    assert incident.evidence and incident.evidence[0].line is not None


def test_corpus_pod_fragments_keep_what_they_hold(corpus_dir):
    """k8s#53669: a node-level OOM shown as Reason Error, exit 137, docker container id (INDEX)."""
    parsed = pod_json.parse((corpus_dir / "k8s" / "podjson-k8s53669-systemoom-error.json").read_text(), "frag.json")
    (pod,) = parsed.value
    (container,) = pod.containers
    assert (container.last_reason, container.last_exit_code, container.runtime) == ("Error", 137, "docker")
    assert container.last_container_id == "5954f621c17f13706c25a215db06fe2bf7b9a9a6c732a909eb0db39d62346724"
    assert parsed.status == "partial"
    old = pod_json.parse((corpus_dir / "k8s" / "podjson-k8s3044-2014-termination-oom-killed.json").read_text(), "old.json")
    assert (old.value[0].containers[0].last_reason, old.value[0].containers[0].last_exit_code) == ("OOM Killed", 137)


@pytest.mark.parametrize("fmt", ["md", "html", "json"])
def test_eviction_renders_in_every_format(corpus_dir, fmt):
    from typer.testing import CliRunner

    from analyzer.cli import app

    result = CliRunner().invoke(app, ["analyze", str(corpus_dir / "k8s" / "podjson-cosmosoperator185-evicted-status.yaml"), "-f", fmt, "-o", "-"])
    assert result.exit_code == 0, result.output
    assert "evicted" in result.stdout and "33.9 GiB" in result.stdout.replace("&nbsp;", " ") or fmt == "json"
    if fmt == "json":
        (incident,) = json.loads(result.stdout)["incidents"]
        assert incident["kind"] == "eviction" and incident["ranking"][0]["usage_bytes"] == 35505620 * Ki


def _describe(corpus_dir, name):
    from analyzer.parsers import describe

    return describe.parse((corpus_dir / "k8s" / name).read_text(), name)


def test_describe_starburst_oomkilled_fragments(corpus_dir):
    """starburst: State Terminated Reason OOMKilled Exit Code 137, Restart Count 5, memory limit 300Mi; then 500Mi Running, 0 restarts."""
    first, second = _describe(corpus_dir, "describe-oomkilled-starburst-guaranteed-300Mi.txt").value[0].containers
    assert (first.terminated_reason, first.terminated_exit_code, first.restart_count, first.limits_memory_bytes) == ("OOMKilled", 137, 5, 300 * Mi)
    assert (second.state, second.restart_count, second.limits_memory_bytes) == ("running", 0, 500 * Mi)


def test_describe_exit_137_error_is_not_oom(corpus_dir):
    """k8s#122256: Last State Terminated, Reason Error, Exit Code 137, Restart Count 1: not an OOM kill."""
    (container,) = _describe(corpus_dir, "describe-oomkilled-k8s122256-exit137-error-not-oom.txt").value[0].containers
    assert (container.last_reason, container.last_exit_code, container.restart_count) == ("Error", 137, 1)


def test_describe_v1_0_tabbed_layout(corpus_dir):
    """k8s#10861 (kubectl 1.0): container simmemleak, memory limit 50Mi, Restart Count 5, no last state shown."""
    (pod,) = _describe(corpus_dir, "describe-oomkilled-k8s10861-v1.0-tabbed-no-reason.txt").value
    (container,) = pod.containers
    assert (container.name, container.limits_memory_bytes, container.restart_count, container.last_reason) == ("simmemleak", 50 * Mi, 5, None)


@pytest.mark.parametrize(
    "name, pod, container, usage",
    [
        ("describe-evicted-treetracker-pgpool.txt", "pgpool/treetracker-pgpool-598947fd8f-vzvkq", "treetracker-pgpool", 1275700 * Ki),
        ("describe-evicted-k9s174-gke-preemptible.txt", "proprietary/proprietary-crawler-preemptive-79f7cbc6cf-rzck9", "proprietary-crawler", 9402820 * Ki),
    ],
)
def test_describe_evicted_pod_is_an_eviction(corpus_dir, name, pod, container, usage):
    report = analyze(corpus_dir / "k8s" / name)
    (incident,) = [i for i in report.incidents if i.kind == "eviction"]
    assert f"{incident.pod.namespace}/{incident.pod.name}" == pod
    assert incident.signal == "memory.available"
    assert incident.ranking[0].usage_bytes == usage
    assert any(container in f.message for f in incident.findings)


def test_describe_joins_through_the_container_id(lab_bundle_with_pods):
    """Describe output has no pod UID: the HAND-WRITTEN describe below joins by Container ID alone."""
    root, facts = lab_bundle_with_pods
    top = next(root.iterdir())
    (top / "commands" / "kubectl-get-pods.json").unlink()
    (top / "commands" / "kubectl-describe-pod-shop-cart-7d9f.txt").write_text(
        "Name:         cart-7d9f\nNamespace:    shop\nPriority:     0\nContainers:\n  worker:\n"
        f"    Container ID:   containerd://{facts['container id']}\n    State:          Terminated\n"
        "      Reason:       OOMKilled\n      Exit Code:    137\n    Restart Count:  0\n    Limits:\n      memory:  128Mi\n"
        "QoS Class:       Burstable\n"
    )
    report = analyze(root)
    (incident,) = [i for i in report.incidents if i.kind == "oom_kill" and i.pod and i.pod.uid == facts["pod uid"]]
    assert (incident.pod.namespace, incident.pod.name, incident.container.name) == ("shop", "cart-7d9f", "worker")
    assert (incident.kubernetes.reason, incident.kubernetes.exit_code) == ("OOMKilled", 137)
