"""`podmortem analyze` on every file of ../shared/corpus/kernel-oom, each a pasted log on its own.

Expected victims and scopes are taken from corpus/kernel-oom/INDEX.md (victim pid/comm column,
scope column and the cgroup path notes): INDEX "global" -> scope global; a memcg OOM whose
limit-of / oom_memcg path is a container -> container, a pod cgroup -> pod, a non-Kubernetes
cgroup (/docker/<id>, /lxc/..., /mem2, /a) -> other; fragments that do not name the cgroup ->
unknown.
"""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from analyzer.cli import app
from analyzer.pipeline import analyze
from tests.conftest import CORPUS, corpus_files

# file -> ({victim pid: comm}, scope of those victims' incidents)
EXPECTED = {
    "3.10-global-oomanalyser-rhel7.log": ({6576: "mysqld"}, "global"),
    "5.13-global-oomanalyser-ubuntu2110-sysrq.log": ({651: "unattended-upgr"}, "global"),
    "6.1-global-oomanalyser-arch.log": ({473206: "doxygen"}, "global"),
    "3.13-global-cadvisor-oomparser-test-badsysprogram.log": ({1532: "badsysprogram"}, "global"),
    "unk-global-blog-k3s-armvm-syslog.log": ({19227: "entry"}, "global"),
    "6.1-global-notes-debian-k3s-oomgroup-truncated.log": ({10843: "prometheus-conf", 115727: "memory_leak"}, "global"),
    "5.15-memcg-v2-oomanalyser-proxmox-lxc.log": ({3902942: "php-fpm"}, "other"),
    "3.13-memcg-v1-cadvisor-oomparser-test-mem2.log": ({13536: "memorymonster"}, "other"),
    "4.8-memcg-v1-cadvisor-oomparser-test-docker-interleaved.log": ({1381: "gunpowder-memho", 1667: "gunpowder-memho"}, "other"),
    "6.18-memcg-v2-research-arm64-instrumented-wrapped.log": ({1122: "stress"}, "other"),
    "6.5-memcg-v2-linux-mm-email-qp-mangled.log": ({116849: "alloc_anon"}, "other"),
    "4.18-memcg-v2-notes-openshift-crio-mimir-nvrm.log": ({184260: "mimir"}, "pod"),
    "4.15-memcg-v1-blog-ieevee-shm-calloc.log": ({28285: "calloc"}, "pod"),
    "4.15-memcg-v1-blog-k3s-stress-dmesgT.log": ({32308: "stress"}, "pod"),
    "4.19-memcg-v1-notes-loongarch-prometheus-dmesgT-zh.log": ({4112165: "prometheus"}, "pod"),
    "4.19-memcg-v1-notes-loongarch-java-syslog.log": ({585588: "java"}, "pod"),
    "unk-memcg-v1-doc-ebpf-agent-kmsg-raw-guaranteed.log": ({2292670: "main"}, "pod"),
    "unk-memcg-v1-blog-zh-dmesgT-cgroupfs-java-2lines.log": ({50624: "java"}, "pod"),
    "6.12-memcg-v2-issue-talos-11148-fragment.log": ({}, "pod"),
    "unk-memcg-v1-notes-aliyun-docker-scope-constraint-none.log": ({26865: "php-fpm7"}, "container"),
    "unk-memcg-v1-blog-openresty-docker-scope-elided.log": ({16492: "openresty"}, "container"),
    "4.18-memcg-v1-notes-el8-docker-scope-shmem-memsw.log": ({321688: "java"}, "container"),
    "4.18-memcg-v1-notes-el8-docker-scope-anon-memsw.log": ({281482: "java"}, "container"),
    "3.10-memcg-v1-issue-k8s-56891-fragment.log": ({28438: "java"}, "unknown"),
    "unk-memcg-v1-lkml-crio-no-killable-flowed.log": ({}, "unknown"),
    "5.4-unknown-issue-reportportal-203-fragment.log": ({63214: "uwsgi"}, "unknown"),
}


def test_every_corpus_file_has_an_expectation(corpus_dir):
    names = {p.name for p in corpus_files("kernel-oom")}
    assert names == set(EXPECTED), "a corpus file was added or removed: extend EXPECTED from its INDEX row"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_victim_and_scope_match_the_index(corpus_dir, name):
    victims, scope = EXPECTED[name]
    report = analyze(CORPUS / "kernel-oom" / name)
    found = {i.victim.pid: i.victim.comm for i in report.incidents if i.victim.pid is not None}
    assert found == victims
    assert report.incidents, "every corpus file holds at least part of an OOM report"
    relevant = [i for i in report.incidents if i.victim.pid in victims] or report.incidents
    assert {i.scope for i in relevant} == {scope}
    for incident in report.incidents:
        assert incident.evidence, "every incident cites the lines it came from"
        assert all(e.file == name for e in incident.evidence)


def test_pod_level_limit_names_pod_and_limit(corpus_dir):
    """4.15 ieevee: the pod cgroup's 256 MiB limit bound; the victim sat in the app container."""
    report = analyze(CORPUS / "kernel-oom" / "4.15-memcg-v1-blog-ieevee-shm-calloc.log")
    (incident,) = report.incidents
    assert incident.pod.uid == "465a9fc1-0de9-44cd-b22c-7e6b23fd75f8"
    assert incident.pod.qos == "Burstable"
    assert incident.memcg.limit_bytes == 262144 * 1024
    assert incident.memcg.oom_memcg == "/kubepods/burstable/pod465a9fc1-0de9-44cd-b22c-7e6b23fd75f8"
    assert incident.container.id == "beead52e53d4918e7b2820c2712151f2833e4055bc72abc9ea287a02459fc55a"
    assert "256 MiB" in incident.summary


def test_memsw_and_shmem_findings_on_the_el8_shmem_case(corpus_dir):
    report = analyze(CORPUS / "kernel-oom" / "4.18-memcg-v1-notes-el8-docker-scope-shmem-memsw.log")
    (incident,) = report.incidents
    codes = {f.code for f in incident.findings}
    assert {"memsw_limit_hit", "shmem_charged"} <= codes


def test_sacrificed_child_on_rhel7_k8s_fragment(corpus_dir):
    report = analyze(CORPUS / "kernel-oom" / "3.10-memcg-v1-issue-k8s-56891-fragment.log")
    killed = [i for i in report.incidents if i.victim.pid == 28438]
    assert any(f.code == "child_sacrificed" for f in killed[0].findings)


def test_no_killable_process_is_said(corpus_dir):
    report = analyze(CORPUS / "kernel-oom" / "unk-memcg-v1-lkml-crio-no-killable-flowed.log")
    assert any(f.code == "no_killable_process" for i in report.incidents for f in i.findings)


def test_cli_json_on_a_corpus_file(corpus_dir):
    result = CliRunner().invoke(app, ["analyze", str(CORPUS / "kernel-oom" / "6.1-global-oomanalyser-arch.log"), "--format", "json", "-o", "-"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["schema"] == "podmortem/v1"
    (incident,) = data["incidents"]
    assert incident["kind"] == "oom_kill" and incident["scope"] == "global"
    assert incident["victim"]["pid"] == 473206 and incident["victim"]["comm"] == "doxygen"
    assert isinstance(incident["victim"]["anon_rss_bytes"], int)
