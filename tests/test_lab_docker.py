"""A real container runtime: a private dockerd runs busybox containers at Kubernetes cgroup paths.

Each run of this module starts Debian's docker.io daemon under a temp dir (tests/lab_docker),
lets the kernel OOM-kill two memory eaters at their 128 MiB limit (a Burstable and a Guaranteed
pod) while a third container holds 100 MiB of active page cache, collects the node with the real
collector (DOCKER_HOST pointing at the private daemon) and analyzes the bundle. The assertions
are what an SRE checks: docker's own State.OOMKilled and exit 137, the kernel's oom_memcg being
the container's cgroup, the victim pid being the container's process, and `docker stats` equal
to usage - total_inactive_file. Skips with the reason without root, dockerd or busybox-static.

The committed fixture (fixtures/docker/docker-oom.tar.gz, made by make-docker-bundle.sh) is
analyzed on every machine, root or not, against the facts its README recorded.
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import FIXTURES
from tests.lab_docker.harness import STRAY_DIRS, DockerLabError, cgroup_hierarchies, docker_lab, docker_unavailable_reason
from tests.lab_docker.scenario import (MiB, CacheRun, OomRun, analyze, bundle_text, collect, docker_size_bytes,
                                       docker_stats_row, run_oom, run_page_cache)

REASON = docker_unavailable_reason()
needs_docker = [pytest.mark.docker, pytest.mark.lab, pytest.mark.skipif(REASON is not None, reason=REASON or "")]
LIMIT_BYTES = 128 * MiB
QOS_CLASS = {"burstable": "Burstable", "guaranteed": "Guaranteed"}


@dataclass
class LabIncident:
    ooms: dict[str, OomRun]
    reader: CacheRun
    bundle: Path
    report: dict


@pytest.fixture(scope="module")
def incident():
    """One fresh incident per module run; the daemon, containers, cgroups and temp dirs go away after."""
    with tempfile.TemporaryDirectory(prefix="pm-docker-out-") as out:
        try:
            with docker_lab() as lab:
                ooms = {qos: run_oom(lab, qos) for qos in QOS_CLASS}
                reader = run_page_cache(lab)
                bundle = collect(lab, Path(out))
                yield LabIncident(ooms=ooms, reader=reader, bundle=bundle, report=analyze(bundle))
        except DockerLabError as err:
            pytest.fail(f"docker lab: {err}")


def _member(bundle: Path, relative: str) -> str:
    text = bundle_text(bundle, relative)
    assert text is not None, f"{relative} is not in the bundle"
    return text


def _incident_of(report: dict, pod_uid: str) -> dict:
    found = [i for i in report["incidents"] if i["kind"] == "oom_kill" and (i.get("pod") or {}).get("uid") == pod_uid]
    assert len(found) == 1, f"expected one OOM incident of pod {pod_uid}, got {len(found)}"
    return found[0]


@pytest.mark.parametrize("qos", list(QOS_CLASS))
class TestOomKilledContainer:
    pytestmark = needs_docker

    def test_docker_says_oom_killed_with_137(self, incident, qos):
        run = incident.ooms[qos]
        assert run.state["OOMKilled"] is True
        assert run.state["ExitCode"] == 137, "128 + SIGKILL"
        inspect = json.loads(_member(incident.bundle, f"commands/docker-inspect-{run.container_id}.json"))[0]
        assert inspect["State"]["OOMKilled"] is True and inspect["State"]["ExitCode"] == 137
        assert inspect["HostConfig"]["Memory"] == LIMIT_BYTES
        assert inspect["HostConfig"]["CgroupParent"] == run.pod.cgroup_parent
        assert _member(incident.bundle, f"commands/docker-inspect-{run.container_id}.status").strip() == "0"

    def test_kernel_report_names_container_cgroup_and_pid(self, incident, qos):
        run = incident.ooms[qos]
        dmesg = _member(incident.bundle, "commands/dmesg.txt")
        kill_lines = [line for line in dmesg.splitlines() if f"oom_memcg={run.cgroup}," in line]
        assert len(kill_lines) == 1, "one oom-kill: line with the container's cgroup as oom_memcg"
        assert f"task_memcg={run.cgroup}," in kill_lines[0]
        assert f",task=sh,pid={run.pid}," in kill_lines[0], "the victim is the container's pid 1 (busybox sh)"
        assert f"Memory cgroup out of memory: Killed process {run.pid} (sh)" in dmesg

    def test_analysis_names_victim_pod_container_and_limit(self, incident, qos):
        run = incident.ooms[qos]
        found = _incident_of(incident.report, run.pod.uid)
        assert found["scope"] == "container"
        assert found["victim"]["pid"] == run.pid
        assert found["victim"]["comm"] == "sh"
        assert found["memcg"]["oom_memcg"] == run.cgroup
        assert found["memcg"]["limit_bytes"] == LIMIT_BYTES
        assert found["pod"]["qos"] == QOS_CLASS[qos]
        assert found["container"]["id"] == run.container_id


@pytest.mark.docker
@pytest.mark.lab
@pytest.mark.skipif(REASON is not None, reason=REASON or "")
def test_docker_stats_is_usage_minus_inactive_file(incident):
    """docker CLI >= 20.10 shows usage - total_inactive_file (FACTS.md, docker/cli stats_helpers.go)."""
    cid = incident.reader.container_id
    cgroup = "sys/fs/cgroup/memory" + incident.reader.cgroup
    usage = int(_member(incident.bundle, f"{cgroup}/memory.usage_in_bytes"))
    stat = dict(line.split() for line in _member(incident.bundle, f"{cgroup}/memory.stat").splitlines())
    active, inactive = int(stat["total_active_file"]), int(stat["total_inactive_file"])
    assert active + inactive >= 95 * MiB, "the 100 MiB file is in the container's page cache"

    row = docker_stats_row(_member(incident.bundle, "commands/docker-stats.txt"), cid)
    assert row is not None, "docker stats lists the running reader"
    shown, limit = (docker_size_bytes(part) for part in row["MEM USAGE / LIMIT"].split(" / "))
    assert limit == LIMIT_BYTES
    # docker stats runs seconds after the cgroup files were copied (the collector's steps run in
    # order) and prints 4 significant digits, so the two samples drift (seen: 1 to 2.3 MiB on
    # ~105 MiB). 5% still tells the formulas apart: usage - cache (docker <= 19.03) is ~3 MiB here.
    expected = usage - inactive
    assert abs(shown - expected) <= 0.05 * expected
    assert abs(shown - (usage - int(stat["cache"]))) > 0.5 * expected, "not the pre-20.10 formula"

    json_rows = [json.loads(line) for line in _member(incident.bundle, "commands/docker-stats-json.txt").splitlines() if line.strip()]
    (json_row,) = [r for r in json_rows if r["ID"] == cid]
    json_shown, json_limit = (docker_size_bytes(part) for part in json_row["MemUsage"].split(" / "))
    assert json_limit == LIMIT_BYTES and abs(json_shown - shown) <= 0.05 * shown, "the JSON form (a second docker stats run) shows the same numbers"

    (analyzed,) = [c for c in incident.report["containers"] if c["container_id"] == cid]
    assert analyzed["working_set_bytes"] == usage - inactive
    assert analyzed["docker_stats_bytes"]["since_20_10"] == usage - inactive
    assert analyzed["docker_stats_observed_bytes"] == docker_size_bytes(row["MEM USAGE / LIMIT"].split(" / ")[0])
    assert abs(analyzed["docker_stats_bytes"]["since_20_10"] - shown) <= 0.05 * shown  # two samples, seconds apart
    assert analyzed["active_file_bytes"] > 90 * MiB
    assert any(f["code"] == "page_cache_in_working_set" for f in analyzed["findings"])


@pytest.mark.docker
@pytest.mark.lab
@pytest.mark.skipif(REASON is not None, reason=REASON or "")
def test_harness_cleans_up_after_a_failure():
    """An exception inside the lab still stops dockerd and removes its dirs and the pod cgroups."""
    stray_before = {d for d in STRAY_DIRS if d.exists()}
    system_docker_before = os.path.exists("/var/lib/docker")
    seen = {}
    with pytest.raises(RuntimeError, match="boom"):
        with docker_lab() as lab:
            pod = lab.pod()
            lab.run(pod, "exec sleep 600", name="sleeper")
            seen.update(root=lab.root, pid=lab.daemon.pid, parent=pod.cgroup_parent)
            raise RuntimeError("boom")
    assert not seen["root"].exists()
    assert not Path(f"/proc/{seen['pid']}").exists() or "dockerd" not in Path(f"/proc/{seen['pid']}/cmdline").read_text()
    leftovers = [h for h in cgroup_hierarchies() if (h / seen["parent"].lstrip("/")).exists()]
    assert leftovers == [], f"pod cgroup left in {leftovers}"
    assert {d for d in STRAY_DIRS if d.exists()} == stray_before
    assert os.path.exists("/var/lib/docker") == system_docker_before, "the system's docker state is never touched"


# --- the committed fixture: runs everywhere -----------------------------------------------------

DOCKER_FIXTURE = FIXTURES / "docker" / "docker-oom.tar.gz"


def _fixture_facts() -> dict[str, str]:
    """The '- Key: value' facts fixtures/docker/README.md recorded when the bundle was made."""
    facts = {}
    for line in (FIXTURES / "docker" / "README.md").read_text().splitlines():
        key, sep, value = line.removeprefix("- ").partition(": ")
        if line.startswith("- ") and sep:
            facts[key.strip()] = value.strip().strip("`")
    return facts


@pytest.mark.skipif(not DOCKER_FIXTURE.is_file(), reason="fixtures/docker/docker-oom.tar.gz not made yet")
@pytest.mark.parametrize("qos", list(QOS_CLASS))
def test_fixture_bundle_oom_kill(qos):
    facts = _fixture_facts()
    label = QOS_CLASS[qos]
    uid, cid, pid = facts[f"{label} pod UID"], facts[f"{label} container ID"], int(facts[f"{label} victim pid"])
    inspect = json.loads(_member(DOCKER_FIXTURE, f"commands/docker-inspect-{cid}.json"))[0]
    assert inspect["State"]["OOMKilled"] is True and inspect["State"]["ExitCode"] == 137
    found = _incident_of(analyze(DOCKER_FIXTURE), uid)
    assert found["victim"]["pid"] == pid
    assert found["container"]["id"] == cid
    assert found["memcg"]["limit_bytes"] == LIMIT_BYTES
    assert found["memcg"]["oom_memcg"] == f"{inspect['HostConfig']['CgroupParent']}/{cid}"
    assert found["pod"]["qos"] == label


@pytest.mark.skipif(not DOCKER_FIXTURE.is_file(), reason="fixtures/docker/docker-oom.tar.gz not made yet")
def test_fixture_bundle_page_cache_reader():
    cid = _fixture_facts()["Page-cache reader container ID"]
    row = docker_stats_row(_member(DOCKER_FIXTURE, "commands/docker-stats.txt"), cid)
    assert row is not None
    (analyzed,) = [c for c in analyze(DOCKER_FIXTURE)["containers"] if c["container_id"] == cid]
    shown = docker_size_bytes(row["MEM USAGE / LIMIT"].split(" / ")[0])
    assert abs(analyzed["docker_stats_bytes"]["since_20_10"] - shown) <= MiB
    assert analyzed["active_file_bytes"] > 90 * MiB


def test_static_busybox_check_tells_static_from_dynamic():
    """The skip reason rests on this: Debian's dynamic busybox cannot run in a FROM-scratch image."""
    import sys

    from tests.lab_docker.harness import is_static_elf
    assert is_static_elf(Path(sys.executable).resolve()) is False, "CPython is dynamically linked"
    assert is_static_elf(Path(__file__)) is False, "not an ELF file"
