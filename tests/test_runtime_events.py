"""The runtime's and Kubernetes' records joined to the kernel's incident, end to end on the real lab bundle.

The lab (fixtures/lab, facts in its README) has a real kernel OOM kill but no cluster and no CRI
runtime, so the containerd journal, `crictl inspect`/`crictl stats` output and events JSON put next
to it here are HAND-WRITTEN, in each tool's own format, naming the lab's real pod UID, container id
and victim (read from the lab's README and its dmesg). Corpus files are used as they are.
"""
from __future__ import annotations

import json
import re

import pytest

from analyzer.models.common import Evidence
from analyzer.models.report import ContainerUsage
from analyzer.parsers.crictl import CriStats
from analyzer.pipeline import analyze
from analyzer.rules.runtime_events import join_crictl_stats
from reports.markdown import render_markdown
from tests.conftest import FIXTURES, extract_bundle
from tests.test_cli import lab_facts

SANDBOX = "5a" * 32  # HAND-WRITTEN sandbox id (the lab made no sandbox)


def lab_victim(top) -> tuple[int, str]:
    """The kill line of the lab incident, from the bundle's own dmesg."""
    facts = lab_facts()
    text = (top / "commands" / "dmesg.txt").read_text()
    match = re.search(rf"Killed process {facts['victim pid']} \((?P<comm>[^)]+)\)", text)
    return int(facts["victim pid"]), match["comm"]


def containerd_journal(uid: str, cid: str, oom_id: str) -> str:
    """HAND-WRITTEN containerd 1.7 journal (formats of internal/cri/server: RunPodSandbox, CreateContainer, TaskOOM, TaskExit)."""
    return "\n".join([
        f'Nov 24 12:42:40 vm containerd[612]: time="2026-11-24T12:42:40.100000000Z" level=info msg="RunPodSandbox for '
        f'&PodSandboxMetadata{{Name:cart-7d9f,Uid:{uid},Namespace:shop,Attempt:0,}} returns sandbox id \\"{SANDBOX}\\""',
        f'Nov 24 12:42:41 vm containerd[612]: time="2026-11-24T12:42:41.000000000Z" level=info msg="CreateContainer within sandbox '
        f'\\"{SANDBOX}\\" for &ContainerMetadata{{Name:worker,Attempt:3,}} returns container id \\"{cid}\\""',
        f'Nov 24 12:42:53 vm containerd[612]: time="2026-11-24T12:42:53.400000000Z" level=info msg="TaskOOM event container_id:\\"{oom_id}\\""',
        f'Nov 24 12:42:53 vm containerd[612]: time="2026-11-24T12:42:53.500000000Z" level=info msg="TaskExit event container_id:\\"{cid}\\" '
        f'id:\\"{cid}\\" pid:15510 exit_status:137 exited_at:{{seconds:1795524173 nanos:500000000}}"',
        "",
    ])


def crictl_inspect(uid: str, cid: str) -> str:
    """HAND-WRITTEN `crictl inspect` (crictl 1.2x shape) of the lab container as containerd would report it."""
    return json.dumps({
        "status": {"id": cid, "metadata": {"attempt": 3, "name": "worker"}, "state": "CONTAINER_EXITED",
                   "startedAt": "2026-11-24T12:42:41.200000000Z", "finishedAt": "2026-11-24T12:42:53.500000000Z",
                   "exitCode": 137, "reason": "OOMKilled", "message": "",
                   "labels": {"io.kubernetes.container.name": "worker", "io.kubernetes.pod.name": "cart-7d9f",
                              "io.kubernetes.pod.namespace": "shop", "io.kubernetes.pod.uid": uid}},
        "info": {"sandboxID": SANDBOX, "pid": 0, "snapshotter": "overlayfs", "runtimeType": "io.containerd.runc.v2"},
    }, indent=2)


def events_json(pid: int, comm: str) -> str:
    """HAND-WRITTEN `kubectl get events -o json`: node-problem-detector's OOMKilling quoting the kernel's kill line."""
    return json.dumps({"kind": "List", "items": [
        {"kind": "Event", "metadata": {"name": "vm.1871a2b3c4d5e6f7", "namespace": "default"},
         "involvedObject": {"kind": "Node", "name": "vm", "uid": "vm"}, "reason": "OOMKilling", "type": "Warning",
         "message": f"Memory cgroup out of memory: Killed process {pid} ({comm}) total-vm:140952kB, anon-rss:130560kB",
         "source": {"component": "kernel-monitor", "host": "vm"}, "count": 1,
         "firstTimestamp": "2026-11-24T12:42:54Z", "lastTimestamp": "2026-11-24T12:42:54Z"},
        {"kind": "Event", "metadata": {"name": "cart-7d9f.1871a2b3c4d5e6f8", "namespace": "shop"},
         "involvedObject": {"kind": "Pod", "namespace": "shop", "name": "cart-7d9f"}, "reason": "BackOff", "type": "Warning",
         "message": "Back-off restarting failed container worker in pod cart-7d9f_shop", "source": {"component": "kubelet", "host": "vm"},
         "lastTimestamp": "2026-11-24T12:43:10Z"},
    ]}, indent=2)


@pytest.fixture
def lab(tmp_path):
    facts = lab_facts()
    root = tmp_path / "bundle"
    top = extract_bundle(FIXTURES / "lab" / "lab-oom-128mi.tar.gz", root)
    return root, top, facts["pod uid"], facts["container id"]


def test_kill_is_shown_once_with_runtime_and_kubernetes_evidence(lab):
    root, top, uid, cid = lab
    pid, comm = lab_victim(top)
    commands = top / "commands"
    (commands / "journalctl-u-containerd-handwritten.txt").write_text(containerd_journal(uid, cid, oom_id=cid))
    (commands / "crictl-inspect-handwritten.json").write_text(crictl_inspect(uid, cid))
    (commands / "kubectl-get-events-handwritten.json").write_text(events_json(pid, comm))
    (commands / "crictl-stats-handwritten.txt").write_text(
        "CONTAINER           NAME                CPU %               MEM                 DISK                INODES\n"
        f"{cid[:13]}       worker              0.00                131.1MB             4.096kB             5\n")
    report = analyze(root)

    same_kill = [i for i in report.incidents if i.kind == "oom_kill" and i.victim.pid == pid]
    assert len(same_kill) == 1, "one incident for the kernel's, the runtime's and Kubernetes' record of the kill"
    (incident,) = same_kill
    assert incident.container.id == cid and incident.pod.uid == uid
    status = incident.runtime_status
    assert (status.runtime, status.oom_killed, status.exit_code, status.status) == ("containerd", True, 137, "CONTAINER_EXITED")
    assert (incident.pod.namespace, incident.pod.name, incident.container.name) == ("shop", "cart-7d9f", "worker")
    cited = {e.file.rsplit("/", 1)[-1] for e in incident.evidence}
    assert {"dmesg.txt", "journalctl-u-containerd-handwritten.txt", "crictl-inspect-handwritten.json",
            "kubectl-get-events-handwritten.json"} <= cited
    codes = {f.code for f in incident.findings}
    assert {"runtime_oom_event", "runtime_confirms_oom_kill", "kubernetes_oom_event"} <= codes
    assert "containerd recorded OOMKilled, exit code 137" in incident.summary
    assert not [f for f in report.findings if f.code in ("oom_event_without_kernel_report", "oom_event_on_sandbox")]

    mine = [e for e in report.timeline if e.incident_id == incident.id]
    assert {e.source for e in mine} >= {"kernel", "runtime", "kubernetes"}
    runtime_files = {e.evidence.file.rsplit("/", 1)[-1] for e in mine if e.source == "runtime" and e.evidence}
    assert "journalctl-u-containerd-handwritten.txt" in runtime_files
    assert any(e.source == "kubernetes" and "OOMKilling" in e.text for e in mine)
    assert any(e.source == "kubernetes" and "BackOff" in e.text for e in report.timeline)

    (row,) = [c for c in report.containers if c.container_id == cid]
    assert row.crictl_stats_observed_bytes == 131_100_000
    assert any(e.file.endswith("crictl-stats-handwritten.txt") for e in row.evidence)
    assert any(k.endswith("journalctl-u-containerd-handwritten.txt:3") for k in report.evidence_lines), "the TaskOOM line is quoted"


def test_taskoom_on_the_sandbox_says_kubernetes_will_not_show_oomkilled(lab):
    root, top, uid, cid = lab
    (top / "commands" / "journalctl-u-containerd-handwritten.txt").write_text(containerd_journal(uid, cid, oom_id=SANDBOX))
    report = analyze(root)
    (incident,) = [i for i in report.incidents if i.kind == "oom_kill" and i.container and i.container.id == cid]
    (finding,) = [f for f in incident.findings if f.code == "oom_event_on_sandbox"]
    assert "will not show OOMKilled" in finding.message and SANDBOX[:12] in finding.message
    assert finding.evidence[0].line == 3 and finding.evidence[1].line == 1, "the TaskOOM line and where the id is named a sandbox"
    assert not any(f.code == "runtime_oom_event" for f in incident.findings)


def test_evicted_pod_and_its_event_are_one_incident(tmp_path):
    """HAND-WRITTEN pod status (Evicted) and the kubelet's Evicted event for the same pod: one eviction incident, both cited."""
    message = ("The node was low on resource: memory. Threshold quantity: 100Mi, available: 51200Ki. "
               "Container worker was using 1843200Ki, which exceeds its request of 512Mi. ")
    pod = {"kind": "Pod", "metadata": {"name": "cart-7d9f", "namespace": "shop", "uid": "u-1"},
           "spec": {"containers": [{"name": "worker", "resources": {"requests": {"memory": "512Mi"}}}]},
           "status": {"phase": "Failed", "reason": "Evicted", "message": message, "qosClass": "Burstable"}}
    event = {"kind": "EventList", "items": [{"reason": "Evicted", "type": "Warning", "message": message,
                                             "involvedObject": {"kind": "Pod", "namespace": "shop", "name": "cart-7d9f"},
                                             "source": {"component": "kubelet", "host": "vm"}, "lastTimestamp": "2026-11-24T13:00:05Z"}]}
    (tmp_path / "pod.json").write_text(json.dumps(pod, indent=2))
    (tmp_path / "events.json").write_text(json.dumps(event, indent=2))
    report = analyze(tmp_path)
    evictions = [i for i in report.incidents if i.kind == "eviction"]
    assert len(evictions) == 1
    (incident,) = evictions
    assert {e.file for e in incident.evidence} >= {"pod.json", "events.json"}
    assert incident.time is not None and incident.time.isoformat() == "2026-11-24T13:00:05+00:00", "the event dates the eviction"
    assert any(f.code == "kubernetes_eviction_event" for f in incident.findings)


def test_events_only_bundle_says_what_is_missing(corpus_dir, tmp_path):
    """npd#766 alone (no kernel log): the report names the victim from the event and asks for the kernel log."""
    report = analyze(corpus_dir / "k8s" / "events-npd766-oomkilling-event-json.json")
    assert not [i for i in report.incidents if i.kind == "oom_kill"]
    (finding,) = [f for f in report.findings if f.code == "oom_event_without_kernel_report"]
    assert "kubectl (pid 3504804)" in finding.message and "no kernel log" in finding.message
    assert any(m.what == "kernel log" and "dmesg" in m.how for m in report.missing)
    assert "oom_event_without_kernel_report" in render_markdown(report)
    # HAND-WRITTEN directory bundle holding only an events table
    (tmp_path / "events.txt").write_text("LAST SEEN   TYPE      REASON       OBJECT    MESSAGE\n"
                                         "3m          Warning   SystemOOM    node/vm   System OOM encountered, victim process: java, pid: 4242\n")
    report = analyze(tmp_path)
    assert any("java (pid 4242)" in f.message for f in report.findings)
    assert any(m.what == "kernel log" for m in report.missing)


def test_sandbox_oom_without_kernel_log_is_still_reported(corpus_dir):
    """containerd#8893 journal alone: TaskOOM on the sandbox id that StopPodSandbox names."""
    report = analyze(corpus_dir / "k8s" / "kubelet-oom-log-containerd8893-taskoom-sandboxid.log")
    (finding,) = [f for f in report.findings if f.code == "oom_event_on_sandbox"]
    assert "4bcba7fc4369" in finding.message and [e.line for e in finding.evidence] == [1, 3]
    assert [e.source for e in report.timeline] == ["runtime", "runtime"]


def test_crictl_stats_beside_container_rows():
    """HAND-WRITTEN rows: crictl stats joins by id prefix; a CRI-O-style pod-level number lands on both rows."""
    rows = [ContainerUsage(cgroup=f"/kubepods/burstable/podu1/{c * 64}", pod_uid="u1", container_id=c * 64) for c in "ab"]
    stats = [CriStats(id=c * 13, working_set_bytes=n, evidence=Evidence(file="s.txt", line=i + 2))
             for i, (c, n) in enumerate([("a", 30_650_000), ("b", 30_580_000)])]
    loose = join_crictl_stats(rows, stats, [])
    assert loose == [], "the finding goes on the rows it is about"
    assert [r.crictl_stats_observed_bytes for r in rows] == [30_650_000, 30_580_000]
    assert all(any(f.code == "crictl_stats_pod_level_memory" for f in r.findings) for r in rows)


def test_systemoom_event_joins_a_global_kernel_oom(corpus_dir, tmp_path):
    """A real global OOM (corpus kernel-oom 3.10-global-oomanalyser-rhel7.log, victim read from its kill line) and a
    HAND-WRITTEN kubelet SystemOOM event (newer message with victim and pid) naming that victim: one incident."""
    log = (corpus_dir / "kernel-oom" / "3.10-global-oomanalyser-rhel7.log").read_text()
    victim = re.search(r"Killed process (?P<pid>\d+) \((?P<comm>[^)]+)\)", log)
    (tmp_path / "dmesg.txt").write_text(log)
    (tmp_path / "events.txt").write_text(
        "LAST SEEN   TYPE      REASON      OBJECT      MESSAGE\n"
        f"2m          Warning   SystemOOM   node/db-1   System OOM encountered, victim process: {victim['comm']}, pid: {victim['pid']}\n")
    report = analyze(tmp_path)
    (incident,) = [i for i in report.incidents if i.kind == "oom_kill" and i.victim.pid == int(victim["pid"])]
    assert incident.scope == "global"
    (finding,) = [f for f in incident.findings if f.code == "kubernetes_oom_event"]
    assert "SystemOOM" in finding.message and "outside any container" not in finding.message, "consistent with a global OOM"
    assert any(e.file == "events.txt" for e in incident.evidence)
    assert not [f for f in report.findings if f.code == "oom_event_without_kernel_report"]
