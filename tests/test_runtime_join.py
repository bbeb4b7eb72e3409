"""Kernel OOM kills joined with docker's own record, on the real docker lab bundle (fixtures/docker).

Expected values are read from fixtures/docker/README.md, written when the bundle was made.
"""
from __future__ import annotations

import re

import pytest

from analyzer.pipeline import analyze
from tests.conftest import FIXTURES

BUNDLE = FIXTURES / "docker" / "docker-oom.tar.gz"


def readme_facts() -> dict[str, list[str]]:
    text = (FIXTURES / "docker" / "README.md").read_text()
    return {
        "pids": re.findall(r"victim pid[^0-9]*(\d+)", text, flags=re.I),
        "ids": re.findall(r"\b([0-9a-f]{64})\b", text),
    }


@pytest.fixture(scope="module")
def report():
    return analyze(BUNDLE)


def test_both_docker_oom_kills_are_joined_with_docker_inspect(report):
    joined = [i for i in report.incidents if i.runtime_status is not None]
    assert len(joined) == 2
    for incident in joined:
        assert incident.runtime_status.runtime == "docker"
        assert incident.runtime_status.oom_killed is True and incident.runtime_status.exit_code == 137
        assert incident.container.runtime == "docker" and incident.container.name.startswith("eater-")
        assert incident.memcg.limit_bytes == 128 * 1024 * 1024 and incident.scope == "container"
        assert "docker recorded OOMKilled, exit code 137" in incident.summary
        assert any(f.code == "runtime_confirms_oom_kill" for f in incident.findings)
        assert any("docker-inspect-" in e.file for e in incident.evidence), "both sources are cited"
    assert {i.pod.qos for i in joined} == {"Burstable", "Guaranteed"}


def test_victims_and_ids_match_what_the_lab_recorded(report):
    facts = readme_facts()
    joined = {i.container.id: i.victim.pid for i in report.incidents if i.runtime_status is not None}
    assert set(joined) <= set(facts["ids"])
    assert {str(pid) for pid in joined.values()} <= set(facts["pids"])


def test_docker_stats_shown_beside_the_cgroup_arithmetic(report):
    rows = [c for c in report.containers if c.docker_stats_observed_bytes is not None]
    assert len(rows) == 1
    (row,) = rows
    # docker CLI >= 20.10 shows usage - total_inactive_file: same counters, read a moment apart
    assert abs(row.docker_stats_observed_bytes - row.docker_stats_bytes.since_20_10) < 4 * 1024 * 1024
    assert row.docker_stats_bytes.before_20_10 < row.docker_stats_bytes.since_20_10 / 10, "<= 19.03 subtracted the page cache"
    assert any(f.code == "page_cache_in_working_set" for f in row.findings)


def test_timeline_puts_the_runtime_beside_the_kernel(report):
    for incident in (i for i in report.incidents if i.runtime_status is not None):
        kernel = [e for e in report.timeline if e.incident_id == incident.id and e.source == "kernel"]
        runtime = [e for e in report.timeline if e.incident_id == incident.id and e.source == "runtime"]
        assert len(kernel) == 1 and len(runtime) == 1
        assert abs((runtime[0].time - kernel[0].time).total_seconds()) < 5, "docker saw the exit within seconds of the kill"


def test_docker_inspect_of_several_containers_cites_each_ones_own_state():
    """REAL docker inspect output of the docker lab (fixtures/docker), three objects joined into one array as
    `docker inspect a b c` prints them: each container cites its own OOMKilled line, not the first one's."""
    import json
    import tarfile

    from analyzer.parsers.docker import parse_inspect
    from tests.conftest import FIXTURES

    with tarfile.open(FIXTURES / "docker" / "docker-oom.tar.gz") as tar:
        objects = [json.loads(tar.extractfile(m).read())[0] for m in tar.getmembers() if "docker-inspect-" in m.name and m.name.endswith(".json")]
    text = json.dumps(objects, indent=4)
    parsed = parse_inspect(text, "inspect.json").value
    lines = text.split("\n")
    assert len(parsed) == 3
    for container in parsed:
        cited = lines[container.evidence.line - 1]
        assert '"OOMKilled"' in cited
        assert f'"OOMKilled": {str(container.oom_killed).lower()}' in cited
        assert text.find(container.id) < sum(len(line) + 1 for line in lines[: container.evidence.line - 1]), "after its own Id"
