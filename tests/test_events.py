"""Kubernetes events parser: every events-* file of ../shared/corpus/k8s (facts from its INDEX.md),
plus HAND-WRITTEN inputs (marked) for layouts the corpus lacks."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from analyzer.classify import classify
from analyzer.eviction_message import parse_eviction_message
from analyzer.parsers import events
from tests.conftest import corpus_files

Ki, Mi = 1024, 1024**2
EXPECTED_KIND = {
    "events-k8s100487-cgroupoom-pod.txt": "events",
    "events-k8s63415-evicted-message-e2e.txt": "events",
    "events-k8s78174-node-systemoom.txt": "describe_node",
    "events-kubeeventer131-aliyun-oomkilling.txt": "events",
    "events-kubefate-egg.txt": "events",
    "events-kubernikus321-npd-podoomkilling.txt": "describe_node",
    "events-npd766-oomkilling-event-json.json": "events",
}


def _read(corpus_dir, name: str):
    return events.parse((corpus_dir / "k8s" / name).read_text(), name)


@pytest.mark.parametrize("path", corpus_files("k8s", "events-*"), ids=lambda p: p.name)
def test_every_events_corpus_file_is_classified_and_read(path):
    text = path.read_text()
    assert classify(None, path.name, text[:65536]).value == EXPECTED_KIND[path.name], "not taken for a kernel log"
    parsed = events.parse(text, path.name)
    assert parsed.value, parsed.problems
    assert all(e.evidence.file == path.name and e.evidence.line >= 1 for e in parsed.value)


def test_npd_watch_json_cut_mid_object(corpus_dir):
    """npd#766: watch-style ADDED, Node event OOMKilling from kernel-monitor, Killed process 3504804 (kubectl); cut at lastTimestamp."""
    parsed = _read(corpus_dir, "events-npd766-oomkilling-event-json.json")
    assert parsed.status == "partial", "the cut object is salvaged, and said so"
    (event,) = parsed.value
    assert (event.reason, event.meaning, event.object_kind, event.source) == ("OOMKilling", "oom_kill", "Node", "kernel-monitor")
    assert (event.victim_pid, event.victim_comm) == (3504804, "kubectl")
    assert event.time == datetime(2023, 6, 13, 14, 35, 38, tzinfo=timezone.utc), "firstTimestamp survives the cut"
    assert event.layout == "watch"


def test_kube_eventer_two_line_kernel_text(corpus_dir):
    """kube-eventer#131: Node OOMKilling, "(combined from similar events)", Kill process 302951 (AsyncLogger-1) score 2366 /
    Killed process 300907 (java)."""
    (event,) = _read(corpus_dir, "events-kubeeventer131-aliyun-oomkilling.txt").value
    assert (event.reason, event.object_kind, event.type) == ("OOMKilling", "Node", "Warning")
    assert (event.victim_pid, event.victim_comm) == (300907, "java"), "the Killed line names the victim"
    assert (event.selected_pid, event.selected_comm) == (302951, "AsyncLogger-1")
    assert not event.message.startswith("(combined")
    assert event.object_name == "cn-shanghai.10.68.68.84", "the event name's .<hex> suffix is not the node"
    assert event.time == datetime(2020, 7, 1, 2, 4, 39, tzinfo=timezone.utc), "+0800 CST stamp in UTC"


def test_kubefate_table_without_header(corpus_dir):
    """KubeFATE#64: Evicted egg 5053216Ki vs request 0; Killing; ExceededGracePeriod; replacement rejected on [MemoryPressure]."""
    parsed = _read(corpus_dir, "events-kubefate-egg.txt").value
    assert [e.reason for e in parsed] == ["Evicted", "Killing", "ExceededGracePeriod", "Scheduled", "Evicted"]
    evicted = parsed[0]
    assert (evicted.object_kind, evicted.object_name, evicted.time_text) == ("Pod", "egg-<id here>", "4m11s")
    message = parse_eviction_message(evicted.message)
    assert message.containers[0].name == "egg" and message.containers[0].usage_bytes == 5053216 * Ki
    assert message.containers[0].request_bytes == 0
    assert parsed[2].meaning == "exceeded_grace_period"
    assert "The node had condition: [MemoryPressure]" in parsed[4].message


def test_describe_node_systemoom_old_message(corpus_dir):
    """k8s#78174: describe node node1 Events with three SystemOOM "System OOM encountered" (no victim), From "kubelet, node1"."""
    parsed = _read(corpus_dir, "events-k8s78174-node-systemoom.txt").value
    ooms = [e for e in parsed if e.reason == "SystemOOM"]
    assert len(ooms) == 3
    assert all(e.meaning == "system_oom" and e.victim_pid is None for e in ooms)
    assert {(e.object_kind, e.object_name, e.source, e.source_host) for e in ooms} == {("Node", "node1", "kubelet", "node1")}
    assert ooms[0].evidence.line == 15
    assert parsed[-1].reason == "NodeHasNoDisk", "the row cut by the excerpt is kept"


def test_describe_node_npd_custom_reason(corpus_dir):
    """kubernikus#321: PodOOMKilling from kernel-monitor: Kill process 25169 (hyperkube) score 2109 or sacrifice child."""
    (event,) = _read(corpus_dir, "events-kubernikus321-npd-podoomkilling.txt").value
    assert (event.reason, event.meaning, event.source) == ("PodOOMKilling", "oom_kill", "kernel-monitor")
    assert (event.victim_pid, event.victim_comm) == (25169, "hyperkube")


def test_describe_pod_cgroupoom_from_command_line(corpus_dir):
    """k8s#100487: pod memory-demo-2 CgroupOOM "victim process: stress, pid: 470521" (unshipped reason)."""
    parsed = _read(corpus_dir, "events-k8s100487-cgroupoom-pod.txt").value
    oom = next(e for e in parsed if e.reason == "CgroupOOM")
    assert (oom.victim_pid, oom.victim_comm) == (470521, "stress")
    assert (oom.object_kind, oom.object_namespace, oom.object_name) == ("Pod", "default", "memory-demo-2")


def test_event_recorder_log_form(corpus_dir):
    """k8s#63415: reason: 'Evicted' ... high-priority-memory-hog was using 166088Ki, which exceeds its request of 10Mi."""
    (event,) = _read(corpus_dir, "events-k8s63415-evicted-message-e2e.txt").value
    assert (event.reason, event.layout) == ("Evicted", "recorder")
    container = parse_eviction_message(event.message).containers[0]
    assert (container.name, container.usage_bytes, container.request_bytes) == ("high-priority-memory-hog", 166088 * Ki, 10 * Mi)


def test_old_table_layout_hand_written():
    """HAND-WRITTEN in kubectl 1.10's column layout (LAST SEEN FIRST SEEN COUNT NAME KIND SUBOBJECT TYPE REASON SOURCE MESSAGE)."""
    text = (
        "LAST SEEN   FIRST SEEN   COUNT     NAME                              KIND      SUBOBJECT   TYPE      REASON     SOURCE            MESSAGE\n"
        "1m          1m           1         cart-7d9f.15a6b2c3d4e5f607        Pod                   Warning   Evicted    kubelet, node-1   The node was low on resource: memory.\n"
        "1m          5m           3         node-1.15a6b2c3d4e5f608           Node                  Warning   SystemOOM  kubelet, node-1   System OOM encountered, victim process: java, pid: 4242\n"
    )
    first, second = events.parse(text, "old.txt").value
    assert (first.reason, first.object_kind, first.object_name, first.source_host) == ("Evicted", "Pod", "cart-7d9f", "node-1")
    assert (second.reason, second.count, second.victim_pid, second.victim_comm) == ("SystemOOM", 3, 4242, "java")
    assert second.evidence.line == 3


def test_list_json_and_events_k8s_io_hand_written():
    """HAND-WRITTEN `kubectl get events -o json` List: a core/v1 Event and an events.k8s.io/v1-style item (regarding/note)."""
    doc = {"kind": "List", "items": [
        {"kind": "Event", "metadata": {"namespace": "shop", "name": "cart.1"}, "type": "Warning", "reason": "Evicted",
         "involvedObject": {"kind": "Pod", "namespace": "shop", "name": "cart-7d9f"}, "count": 1,
         "message": "The node was low on resource: memory. Threshold quantity: 100Mi, available: 51200Ki. ",
         "source": {"component": "kubelet", "host": "node-1"}, "lastTimestamp": "2026-11-24T12:50:00Z"},
        {"kind": "Event", "type": "Warning", "reason": "EvictionThresholdMet", "regarding": {"kind": "Node", "name": "node-1"},
         "note": "Attempting to reclaim memory", "reportingController": "kubelet", "eventTime": "2026-11-24T12:49:58.123456Z"},
    ]}
    text = json.dumps(doc, indent=2)
    first, second = events.parse(text, "events.json").value
    assert (first.object_namespace, first.object_name, first.source_host) == ("shop", "cart-7d9f", "node-1")
    assert text.split("\n")[first.evidence.line - 1].strip().startswith('"reason": "Evicted"')
    assert (second.meaning, second.object_kind, second.message) == ("eviction_threshold_met", "Node", "Attempting to reclaim memory")
    assert second.time == datetime(2026, 11, 24, 12, 49, 58, 123456, tzinfo=timezone.utc)


def test_structured_recorder_line_hand_written():
    """HAND-WRITTEN klog structured event-recorder line (client-go record: "Event occurred" object=... reason=...)."""
    line = ('"Event occurred" object="shop/cart-7d9f" fieldPath="" kind="Pod" apiVersion="v1" type="Warning" '
            'reason="Evicted" message="The node was low on resource: memory. "')
    (event,) = events.parse(line, "recorder.log").value
    assert (event.object_namespace, event.object_name, event.reason) == ("shop", "cart-7d9f", "Evicted")


def test_garbage_is_unrecognised_not_a_crash():
    parsed = events.parse("no events here\n{\"truncated\": ", "junk.txt")
    assert parsed.status == "unrecognised" and parsed.value == [] and parsed.problems
    quiet = events.parse("Name:  node-1\nRoles:  <none>\nEvents:                   <none>\n", "describe-node.txt")
    assert quiet.status == "complete" and quiet.value == [], "a describe with no events is not an error"
