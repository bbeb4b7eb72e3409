"""`podmortem diff A B`: what changed between two bundles of the same node.

Two kinds of pairs:
- REAL: fixtures/lab/lab-oom-128mi.tar.gz and fixtures/docker/docker-oom.tar.gz were collected on the
  same lab VM (host "vm") 15 minutes apart (their README.md); the docker scenario's kills came between.
- MODIFIED COPY: the lab bundle with HAND-WRITTEN pod JSON (tests/test_k8s_view.py), and a second copy
  of it edited by hand: the container's cgroup limit and pod limit raised 128Mi -> 256Mi, its usage
  changed, its restart count 3 -> 4, and one more OOM kill appended to dmesg.txt (a copy of the
  lab's own pid 15510 block with the pid changed to 15777 and the stamps moved 33 s later).
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from analyzer.diff import diff_bundles
from reports.diff import render_diff
from tests.conftest import FIXTURES, extract_bundle
from tests.test_cli import lab_facts, run_cli
from tests.test_fleet import set_hostname
from tests.test_k8s_view import hand_written_pod

LAB = FIXTURES / "lab" / "lab-oom-128mi.tar.gz"
DOCKER = FIXTURES / "docker" / "docker-oom.tar.gz"
Mi = 1024**2
EXTRA_PID = 15777


def docker_facts() -> dict:
    facts = {}
    for line in (FIXTURES / "docker" / "README.md").read_text().splitlines():
        if line.startswith("- ") and ":" in line:
            key, _, value = line[2:].partition(":")
            facts[key.strip().lower()] = value.strip()
    return facts


def container_dir(top: Path, facts: dict) -> Path:
    (found,) = top.glob(f"sys/fs/cgroup/memory/kubepods/*/pod{facts['pod uid']}/{facts['container id']}")
    return found


def extra_oom_block(dmesg: str, victim_pid: str) -> str:
    """HAND-MODIFIED: the lab's real OOM block of ``victim_pid``, copied with another pid, 33 s later."""
    lines = dmesg.splitlines()
    end = next(i for i, line in enumerate(lines) if f"Killed process {victim_pid} " in line)
    start = max(i for i in range(end) if "invoked oom-killer" in lines[i])
    block = "\n".join(lines[start:end + 1])
    return block.replace(victim_pid, str(EXTRA_PID)).replace("[ 3366.", "[ 3399.") + "\n"


@pytest.fixture(scope="module")
def pair(tmp_path_factory) -> tuple[Path, Path]:
    facts = lab_facts()
    before = extract_bundle(LAB, tmp_path_factory.mktemp("before"))
    (before / "commands" / "kubectl-get-pods.json").write_text(json.dumps(hand_written_pod(facts["pod uid"], facts["container id"])))
    after_root = tmp_path_factory.mktemp("after")
    after = after_root / before.name
    shutil.copytree(before, after)
    pods = hand_written_pod(facts["pod uid"], facts["container id"])
    container = pods["items"][0]["spec"]["containers"][0]
    container["resources"]["limits"]["memory"] = "256Mi"
    pods["items"][0]["status"]["containerStatuses"][0]["restartCount"] = 4
    (after / "commands" / "kubectl-get-pods.json").write_text(json.dumps(pods))
    cgroup = container_dir(after, facts)
    (cgroup / "memory.limit_in_bytes").write_text(f"{256 * Mi}\n")
    (cgroup / "memory.usage_in_bytes").write_text(f"{50 * Mi}\n")
    dmesg = after / "commands" / "dmesg.txt"
    dmesg.write_text(dmesg.read_text() + extra_oom_block(dmesg.read_text(), facts["victim pid"]))
    return before.parent, after_root


@pytest.fixture(scope="module")
def modified_diff(pair):
    return diff_bundles(*pair)


def test_raised_limit_is_reported_with_both_values(modified_diff):
    (row,) = [c for c in modified_diff.containers if c.key == "shop/cart-7d9f worker"]
    assert row.status == "changed"
    assert (row.limit_bytes.before, row.limit_bytes.after, row.limit_bytes.delta) == (128 * Mi, 256 * Mi, 128 * Mi)
    assert (row.spec_limit_bytes.before, row.spec_limit_bytes.after) == (128 * Mi, 256 * Mi)
    assert row.usage_bytes.after == 50 * Mi and row.usage_bytes.delta == 50 * Mi - row.usage_bytes.before
    assert row.cgroup_before == row.cgroup_after and lab_facts()["container id"] in row.cgroup_after
    assert any(e.file.endswith("/memory.limit_in_bytes") for e in row.evidence_after)


def test_restart_count_up_is_reported_with_both_values(modified_diff):
    (restart,) = modified_diff.restarts
    assert (restart.pod, restart.container) == ("shop/cart-7d9f", "worker")
    assert (restart.restarts.before, restart.restarts.after, restart.restarts.delta) == (3, 4, 1)
    assert restart.evidence_after.file.endswith("commands/kubectl-get-pods.json") and restart.evidence_after.line


def test_the_extra_kill_is_the_only_new_incident(modified_diff):
    (new,) = modified_diff.new_incidents
    assert f"pid {EXTRA_PID} (python3)" in new.identity and lab_facts()["container id"] in new.identity
    assert not modified_diff.gone_incidents
    assert not modified_diff.warnings, "same host"


def test_node_numbers_are_listed_unchanged(modified_diff):
    total = {n.name: n.value for n in modified_diff.node}["mem_total_bytes"]
    assert total.before == total.after and total.delta == 0


@pytest.mark.parametrize("fmt", ["md", "html", "json"])
def test_every_format_shows_both_values(modified_diff, fmt):
    text = render_diff(modified_diff, fmt).decode()
    if fmt == "json":
        data = json.loads(text)
        assert data["schema"] == "podmortem-diff/v1"
        assert data["restarts"][0]["restarts"] == {"before": 3, "after": 4, "delta": 1}
        return
    assert "shop/cart-7d9f" in text and f"pid {EXTRA_PID}" in text
    assert "128 MiB" in text and "256 MiB" in text and "+128 MiB" in text
    assert ("3 → 4" in text) if fmt == "md" else ("3 &rarr; 4" in text)
    if fmt == "md":
        assert f"{128 * Mi} → {256 * Mi} B" in text, "exact bytes beside the human sizes"
    else:
        assert "Content-Security-Policy" in text and "<script" not in text


def test_real_pair_from_the_same_vm():
    """The lab and docker bundles are the same VM ("vm") 15 minutes apart: the docker kills are new."""
    diff = diff_bundles(LAB, DOCKER)
    docker = docker_facts()
    new_pids = {i.identity.split()[3] for i in diff.new_incidents if i.kind == "oom_kill"}
    assert {docker["burstable victim pid"], docker["guaranteed victim pid"]} <= new_pids
    assert lab_facts()["victim pid"] not in new_pids, "the lab's kill is in both kernel logs"
    assert not diff.gone_incidents and not diff.warnings
    (removed,) = [c for c in diff.containers if c.status == "removed"]
    assert lab_facts()["container id"] in removed.key and removed.limit_bytes.before == int(lab_facts()["container limit bytes"])
    added = {c.key for c in diff.containers if c.status == "added"}
    assert any(docker["page-cache reader container id"] in key for key in added)


def test_cli_diff_warns_when_hosts_differ(tmp_path):
    top = extract_bundle(LAB, tmp_path / "other")
    set_hostname(top, "node-7")  # MODIFIED COPY: another host name
    result = run_cli("diff", str(LAB), str(tmp_path / "other"), "-f", "json")
    assert result.returncode == 0, result.stderr
    assert "different hosts (vm and node-7)" in result.stderr
    data = json.loads(result.stdout)
    assert (data["before"]["host"], data["after"]["host"]) == ("vm", "node-7")
    assert data["new_incidents"] == [] and data["containers"][0]["status"] == "unchanged"


def test_cli_diff_writes_a_file_and_refuses_unreadable_input(tmp_path):
    out = tmp_path / "d.html"
    result = run_cli("diff", str(LAB), str(DOCKER), "-f", "html", "-o", str(out))
    assert result.returncode == 0 and out.is_file() and "podmortem diff" in out.read_text()
    (tmp_path / "junk.tar.gz").write_bytes(b"\x1f\x8b\x08\x00junk")
    bad = run_cli("diff", str(LAB), str(tmp_path / "junk.tar.gz"))
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "junk.tar.gz" in bad.stderr
