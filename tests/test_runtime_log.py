"""Runtime log parser on every kubelet-oom-log-* file of ../shared/corpus/k8s (facts from its INDEX.md);
HAND-WRITTEN lines (marked) cover forms the corpus lacks."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from analyzer.classify import classify
from analyzer.parsers import kernel_log, runtime_log
from tests.conftest import corpus_files

SANDBOX = "4bcba7fc4369fee4d7d2e6263b58fce52cfc928c6a31cfac4d43c838708991ce"
EXPECTED_KIND = {
    "kubelet-oom-log-containerd8893-kernel-memcg-cgroupv2.log": "kernel_log",
    "kubelet-oom-log-containerd8893-taskoom-sandboxid.log": "runtime_log",
    "kubelet-oom-log-forlinux670-docker-events.log": "runtime_log",
}


@pytest.mark.parametrize("path", corpus_files("k8s", "kubelet-oom-log-*"), ids=lambda p: p.name)
def test_every_runtime_corpus_file_is_classified(path):
    assert classify(None, path.name, path.read_text()[:65536]).value == EXPECTED_KIND[path.name]


def test_containerd_taskoom_on_sandbox_id(corpus_dir):
    """containerd#8893: TaskOOM whose id is the sandbox id, then StopPodSandbox for the same id 1.7 s later; "$ " prefixes."""
    name = "kubelet-oom-log-containerd8893-taskoom-sandboxid.log"
    oom, stop = runtime_log.parse((corpus_dir / "k8s" / name).read_text(), name).value
    assert (oom.runtime, oom.kind, oom.container_id) == ("containerd", "oom", SANDBOX)
    assert (stop.kind, stop.sandbox_id) == ("stop_sandbox", SANDBOX)
    assert oom.time == datetime(2023, 9, 1, 19, 12, 33, 12922, tzinfo=timezone.utc), "logrus time wins over the yearless journal stamp"
    assert 1.6 < (stop.time - oom.time).total_seconds() < 1.8
    assert (oom.evidence.line, stop.evidence.line) == (1, 3)


def test_docker_events_with_wrapped_labels(corpus_dir):
    """docker/for-linux#670: "container oom" for k8s container notebook, pod jupyter-****** ns jhub-prod, uid efa75591-...;
    one label value wrapped across lines; second line cut."""
    name = "kubelet-oom-log-forlinux670-docker-events.log"
    first, second = runtime_log.parse((corpus_dir / "k8s" / name).read_text(), name).value
    assert (first.runtime, first.kind) == ("docker", "oom")
    assert (first.container_name, first.pod_name, first.pod_namespace) == ("notebook", "jupyter-******", "jhub-prod")
    assert first.pod_uid == "efa75591-6e89-11e9-bf85-001a4a16016d"
    assert first.sandbox_id == "67102bbdc496acefcbb81ee736cb25d4ee7c2753a8660ab54b776e0be321b4f6", "the wrapped value is glued back"
    assert first.evidence.line == 1 and second.evidence.line == 3
    assert second.container_id == first.container_id and second.pod_name is None


def test_kernel_line_stays_a_kernel_line(corpus_dir):
    """containerd#8893 (COS): the kernel's oom-kill line for dd pid 38287, oom_memcg the pod slice: a kernel log."""
    name = "kubelet-oom-log-containerd8893-kernel-memcg-cgroupv2.log"
    text = (corpus_dir / "k8s" / name).read_text()
    assert runtime_log.parse(text, name).value == []
    (oom,) = kernel_log.parse(text, name).value.ooms
    assert (oom.summary_pid, oom.summary_task) == (38287, "dd")
    assert oom.oom_memcg.endswith("kubepods-burstable-pod17efb6ec_09ab_4eec_8ad6_f953eb1a7466.slice")


def test_containerd_lines_hand_written():
    """HAND-WRITTEN containerd 1.7 journal lines in its own formats: RunPodSandbox, CreateContainer, TaskOOM, TaskExit."""
    sb, cid = "aa" * 32, "bb" * 32
    text = "\n".join([
        f'Nov 24 12:42:40 vm containerd[612]: time="2026-11-24T12:42:40.100000000Z" level=info msg="RunPodSandbox for '
        f'&PodSandboxMetadata{{Name:cart-7d9f,Uid:c93c4f93,Namespace:shop,Attempt:0,}} returns sandbox id \\"{sb}\\""',
        f'Nov 24 12:42:41 vm containerd[612]: time="2026-11-24T12:42:41.000000000Z" level=info msg="CreateContainer within sandbox '
        f'\\"{sb}\\" for &ContainerMetadata{{Name:worker,Attempt:3,}} returns container id \\"{cid}\\""',
        f'Nov 24 12:42:53 vm containerd[612]: time="2026-11-24T12:42:53.100000000Z" level=info msg="TaskOOM event &TaskOOM{{ContainerID:{cid},XXX_unrecognized:[],}}"',
        f'Nov 24 12:42:53 vm containerd[612]: time="2026-11-24T12:42:53.200000000Z" level=info msg="TaskExit event container_id:\\"{cid}\\" '
        f'id:\\"{cid}\\" pid:15510 exit_status:137 exited_at:{{seconds:1795524173}}"',
    ])
    run, create, oom, exit_ = runtime_log.parse(text, "containerd.log").value
    assert (run.kind, run.pod_name, run.pod_namespace, run.pod_uid, run.sandbox_id) == ("sandbox_created", "cart-7d9f", "shop", "c93c4f93", sb)
    assert (create.container_name, create.sandbox_id, create.container_id) == ("worker", sb, cid)
    assert (oom.kind, oom.container_id) == ("oom", cid), "the older gogo-proto form"
    assert (exit_.kind, exit_.exit_code, exit_.pid) == ("exit", 137, 15510)


def test_conmon_and_docker_die_hand_written():
    """HAND-WRITTEN conmon syslog line (containers/conmon src/utils.h ninfo: "conmon <cid:.20> <ninfo>: OOM received")
    and a `docker events` die line."""
    text = ("Nov 24 12:42:53 vm conmon[7001]: conmon 538fbb2396de1e0c1b2a <ninfo>: OOM received\n"
            "$ 2026-11-24T12:42:53.300000000Z container die " + "cc" * 32 + " (exitCode=137, image=busybox, name=k8s_worker_cart_shop_u1_3)\n")
    conmon, die = runtime_log.parse(text, "mixed.log").value
    assert (conmon.runtime, conmon.kind, conmon.container_id) == ("cri-o", "oom", "538fbb2396de1e0c1b2a")
    assert conmon.time is None and conmon.time_text == "Nov 24 12:42:53", "a journal stamp has no year"
    assert (die.runtime, die.kind, die.exit_code) == ("docker", "die", 137)


def test_prefiltered_line_numbers_are_kept():
    """HAND-WRITTEN: a big log's prefiltered lines keep the member's line numbers (analyzer.prefilter)."""
    line = 'containerd[1]: msg="TaskOOM event container_id:\\"' + "dd" * 32 + '\\""'
    (event,) = runtime_log.parse(line, "big.log", line_numbers=[90210]).value
    assert event.evidence.line == 90210


def test_nothing_runtime_is_unrecognised():
    parsed = runtime_log.parse("hello\nworld\n", "x.log")
    assert parsed.status == "unrecognised" and parsed.value == []
