"""Fleet analysis: many bundles at once, from the real fixture bundles.

The fleet is made of MODIFIED COPIES of the real bundles in fixtures/lab and fixtures/docker
(facts in their README.md): each copy gets its own hostname in manifest.json, and some get
HAND-WRITTEN pod JSON (the lab has no cluster) and a HAND-WRITTEN kubelet /configz, so that:
the same Deployment's container is OOM-killed on two "nodes" (two real OOM kills of the lab's
kernel log, each claimed by a pod of Deployment shop/cart), one node has a different eviction
threshold, and one bundle is a corrupt tarball.
"""
from __future__ import annotations

import json
import re
import shutil
import tarfile
import zipfile
from pathlib import Path

import pytest

from analyzer.fleet import analyze_node, bundles_in, node_names, run_fleet
from analyzer.models.fleet import FleetReport
from tests.conftest import FIXTURES, extract_bundle
from tests.test_cli import lab_facts, run_cli
from tests.test_k8s_view import hand_written_pod

LAB = FIXTURES / "lab" / "lab-oom-128mi.tar.gz"
DOCKER = FIXTURES / "docker" / "docker-oom.tar.gz"
# the lab kernel log's second real OOM kill (commands/dmesg.txt line 503: pid 6146, oom_memcg ...)
OTHER_LAB_POD_UID = "606475fc-c5a1-4a0e-9ab5-a1bab6289236"
OTHER_LAB_CONTAINER = "e6c7023689f3c3695ebb1efefa46cab28384b2be46c9fb14e717c1bc29aa361d"


def set_hostname(top: Path, host: str) -> None:
    """MODIFIED COPY: the collector's manifest.json says another host (the bundle is otherwise real)."""
    manifest = json.loads((top / "manifest.json").read_text())
    manifest["hostname"] = manifest["node"] = host
    (top / "manifest.json").write_text(json.dumps(manifest, indent=2))


def hand_written_configz(memory_available: str) -> dict:
    """HAND-WRITTEN kubelet /configz (the lab has no kubelet), shaped like `kubectl get --raw .../proxy/configz`."""
    return {"kubeletconfig": {
        "evictionHard": {"memory.available": memory_available, "nodefs.available": "10%", "imagefs.available": "15%"},
        "cgroupDriver": "cgroupfs", "enforceNodeAllocatable": ["pods"], "systemReserved": {"memory": "256Mi"},
    }}


def second_cart_pod() -> dict:
    """HAND-WRITTEN pod JSON: another replica of Deployment shop/cart whose container is the lab log's pid 6146 kill."""
    pod = hand_written_pod(OTHER_LAB_POD_UID, OTHER_LAB_CONTAINER)
    item = pod["items"][0]
    item["metadata"]["name"] = "cart-6c8b9-q2x7w"
    return pod


def make_node(source: Path, work: Path, host: str, pods: dict | None = None, configz: dict | None = None) -> Path:
    """An extracted, modified copy of a fixture bundle; returns its top folder."""
    top = extract_bundle(source, work / host)
    set_hostname(top, host)
    if pods is not None:
        (top / "commands" / "kubectl-get-pods.json").write_text(json.dumps(pods, indent=2))
    if configz is not None:
        (top / "commands" / "kubelet-configz.json").write_text(json.dumps(configz, indent=2))
    return top


def tar_gz(top: Path, target: Path) -> Path:
    with tarfile.open(target, "w:gz") as tar:
        tar.add(top, arcname=top.name)
    return target


def zip_dir(top: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(top.rglob("*")):
            if path.is_file():
                archive.write(path, f"{top.name}/{path.relative_to(top).as_posix()}")
    return target


@pytest.fixture(scope="module")
def fleet_dir(tmp_path_factory) -> Path:
    """node-a (tar.gz) and node-b (a bundle folder): cart OOM-killed on both; node-c (zip) from the docker
    bundle; node-d (tar.gz) with a 500Mi eviction threshold where the others have 100Mi; a corrupt tarball;
    a loose README."""
    work, fleet = tmp_path_factory.mktemp("work"), tmp_path_factory.mktemp("fleet")
    facts = lab_facts()
    normal = hand_written_configz("100Mi")
    a = make_node(LAB, work, "node-a", pods=hand_written_pod(facts["pod uid"], facts["container id"]), configz=normal)
    tar_gz(a, fleet / "node-a.tar.gz")
    b = make_node(LAB, work, "node-b", pods=second_cart_pod(), configz=normal)
    shutil.copytree(b.parent, fleet / "node-b")
    c = make_node(DOCKER, work, "node-c", configz=normal)
    zip_dir(c, fleet / "node-c.zip")
    d = make_node(LAB, work, "node-d", configz=hand_written_configz("500Mi"))
    tar_gz(d, fleet / "node-d.tar.gz")
    (fleet / "corrupt.tar.gz").write_bytes(b"\x1f\x8b\x08\x00" + b"this is not a deflate stream" * 10)
    (fleet / "README.txt").write_text("bundles from the night of the incident\n")
    return fleet


@pytest.fixture(scope="module")
def fleet_html(fleet_dir, tmp_path_factory) -> tuple[Path, FleetReport]:
    out = tmp_path_factory.mktemp("out")
    fleet = run_fleet(fleet_dir, out, "html", jobs=2)
    from reports.fleet import render_fleet

    (out / "fleet.html").write_bytes(render_fleet(fleet, "html"))
    return out, fleet


def node(fleet: FleetReport, name: str):
    (found,) = [n for n in fleet.nodes if n.name == name]
    return found


def test_every_bundle_is_a_node_named_from_its_file(fleet_html):
    out, fleet = fleet_html
    assert [n.name for n in fleet.nodes] == ["corrupt", "node-a", "node-b", "node-c", "node-d"]
    assert [node(fleet, n).host for n in ("node-a", "node-b", "node-c", "node-d")] == ["node-a", "node-b", "node-c", "node-d"]
    assert node(fleet, "node-c").bundle == "node-c.zip" and node(fleet, "node-b").bundle == "node-b"
    assert [s.name for s in fleet.skipped] == ["README.txt"]
    for name in ("node-a", "node-b", "node-c", "node-d"):
        assert (out / "nodes" / f"{name}.html").is_file()


def test_corrupt_bundle_is_listed_with_its_error_and_does_not_stop_the_fleet(fleet_html):
    _, fleet = fleet_html
    corrupt = node(fleet, "corrupt")
    assert corrupt.status == "failed" and "corrupt.tar.gz" in corrupt.error and "\n" not in corrupt.error
    (finding,) = [f for f in fleet.findings if f.code == "bundle_failed"]
    assert finding.subject == "corrupt.tar.gz" and finding.nodes == ["corrupt"]
    assert all(node(fleet, n).status == "analyzed" for n in ("node-a", "node-b", "node-c", "node-d"))


def test_docker_node_keeps_its_real_victims(fleet_html):
    """fixtures/docker/README.md: Burstable victim pid 30044, Guaranteed victim pid 30178."""
    _, fleet = fleet_html
    pids = {i.victim_pid for i in node(fleet, "node-c").incidents}
    assert {30044, 30178} <= pids


def test_same_workload_oom_killed_on_two_nodes_is_a_finding(fleet_html):
    _, fleet = fleet_html
    (finding,) = [f for f in fleet.findings if f.code == "repeated_oom_kill"]
    assert finding.subject == "container worker of Deployment shop/cart"
    assert finding.nodes == ["node-a", "node-b"]
    assert {(r.node, r.id) for r in finding.incidents} == {
        (i.node, i.id) for n in ("node-a", "node-b") for i in node(fleet, n).incidents if i.pod and "cart" in i.pod
    }
    pids = {i.victim_pid for n in ("node-a", "node-b") for i in node(fleet, n).incidents if i.workload}
    assert pids == {int(lab_facts()["victim pid"]), 6146}
    assert "128 MiB" in finding.message


def test_workload_is_derived_from_the_replicaset_and_says_so(fleet_html):
    _, fleet = fleet_html
    (cart,) = [w for w in fleet.workloads if w.workload.name == "cart"]
    assert (cart.workload.kind, cart.workload.namespace, cart.oom_kills, cart.nodes) == ("Deployment", "shop", 2, ["node-a", "node-b"])
    assert "ReplicaSet cart-6c8b9" in cart.workload.derived_from and "pod-template-hash" in cart.workload.derived_from
    assert cart.images == ["shop/cart:1.4"] and cart.containers == ["worker"]
    (image,) = fleet.images
    assert (image.image, image.oom_kills, image.nodes) == ("shop/cart:1.4", 2, ["node-a", "node-b"])


def test_node_with_a_different_eviction_threshold_is_named(fleet_html):
    _, fleet = fleet_html
    differs = [f for f in fleet.findings if f.code == "node_setting_differs"]
    (threshold,) = [f for f in differs if f.subject == "evictionHard memory.available"]
    assert threshold.nodes == ["node-d"] and "500Mi" in threshold.message and "100Mi" in threshold.message
    assert threshold.evidence and threshold.evidence[0].file.endswith("commands/kubelet-configz.json") and threshold.evidence[0].line
    assert all(f.nodes == ["node-d"] for f in differs), "only node-d differs"
    (allocatable,) = [f for f in differs if f.subject == "allocatable memory (computed)"]
    a, d = node(fleet, "node-a").config, node(fleet, "node-d").config
    assert a.allocatable_bytes - d.allocatable_bytes == 400 * 1024**2, "500Mi - 100Mi more held back on node-d"
    assert a.allocatable_bytes == a.mem_total_bytes - 256 * 1024**2 - 100 * 1024**2


def test_html_names_the_findings_and_every_link_resolves(fleet_html):
    out, _ = fleet_html
    html = (out / "fleet.html").read_text()
    assert "container worker of Deployment shop/cart" in html and "node-d" in html and "corrupt.tar.gz" in html
    assert "Content-Security-Policy" in html and "<script" not in html
    links = re.findall(r'href="([^"]+)"', html)
    assert any(link.startswith("nodes/node-a.html#oom-") for link in links)
    for link in links:
        assert not link.startswith(("/", "http", "file:")), link
        target, _, anchor = link.partition("#")
        assert (out / target).is_file(), link
        if anchor:
            assert f'id="{anchor}"' in (out / target).read_text(), link


def test_cli_markdown_and_json_fleet(fleet_dir, tmp_path):
    for fmt in ("md", "json"):
        out = tmp_path / fmt
        result = run_cli("analyze", str(fleet_dir), "-f", fmt, "-o", str(out), "--jobs", "2")
        assert result.returncode == 0, result.stderr
        assert f"fleet report: {out / ('fleet.' + fmt)}" in result.stdout and "1 failed" in result.stdout
        assert sorted(p.name for p in (out / "nodes").iterdir()) == [f"node-{x}.{fmt}" for x in "abcd"]
    data = json.loads((tmp_path / "json" / "fleet.json").read_text())
    assert data["schema"] == "podmortem-fleet/v1"
    assert {f["code"] for f in data["findings"]} == {"repeated_oom_kill", "node_setting_differs", "bundle_failed"}
    markdown = (tmp_path / "md" / "fleet.md").read_text()
    assert "[node-a](nodes/node-a.md)" in markdown and "container worker of Deployment shop/cart" in markdown
    for link in re.findall(r"\]\((nodes/[^)#]+)", markdown):
        assert (tmp_path / "md" / link).is_file()


def test_fleet_to_stdout_is_refused(fleet_dir):
    result = run_cli("analyze", str(fleet_dir), "-o", "-")
    assert result.returncode == 2 and "give -o DIR" in result.stderr and "Traceback" not in result.stderr


# --- one bundle or many: the detection rule --------------------------------------------------


def test_an_extracted_collector_bundle_is_still_one_bundle(tmp_path):
    top = extract_bundle(LAB, tmp_path / "x")
    assert bundles_in(top) is None, "manifest.json, sys/, proc/ at its top"
    assert bundles_in(tmp_path / "x") is None, "the single folder an extracted tarball has"
    result = run_cli("analyze", str(top), "-f", "json", "-o", "-")
    assert result.returncode == 0, result.stderr
    pids = [i["victim"]["pid"] for i in json.loads(result.stdout)["incidents"]]
    assert int(lab_facts()["victim pid"]) in pids


def test_a_folder_of_pasted_files_is_one_bundle(tmp_path):
    (tmp_path / "dmesg.txt").write_text("[ 5.1] Memory cgroup out of memory: Killed process 42 (java)\n")
    (tmp_path / "kern.log.2.gz").write_bytes(b"\x1f\x8b")  # a rotated log, not a bundle archive
    (tmp_path / "notes").mkdir()
    assert bundles_in(tmp_path) is None


def test_two_bundle_folders_or_one_archive_make_a_fleet(tmp_path):
    for host in ("n1", "n2"):
        extract_bundle(LAB, tmp_path / "two" / host)
    assert [p.name for p in bundles_in(tmp_path / "two").bundles] == ["n1", "n2"]
    one = tmp_path / "one"
    one.mkdir()
    shutil.copy(LAB, one)
    (one / "link.tar.gz").symlink_to(one / LAB.name)
    fleet = bundles_in(one)
    assert [p.name for p in fleet.bundles] == [LAB.name] and [s.name for s in fleet.skipped] == ["link.tar.gz"]


def test_output_names_never_come_from_paths(tmp_path):
    assert node_names([Path("<script>.tar.gz"), Path("..tgz"), Path("a b.zip"), Path("A_b.tar")]) == ["script", "bundle", "a_b", "A_b-2"]


def test_a_worker_that_dies_fails_only_its_bundle(tmp_path, monkeypatch):
    """A bundle whose worker process is killed (as the kernel's OOM killer would) is one failed node."""
    import analyzer.fleet as fleet_module

    def dying_analyze_node(job):
        if job.name == "doomed":
            import os

            os._exit(137)
        return real(job)

    real = fleet_module.analyze_node
    dying_analyze_node.__module__, dying_analyze_node.__qualname__ = "analyzer.fleet", "analyze_node"
    monkeypatch.setattr(fleet_module, "analyze_node", dying_analyze_node)  # forked workers inherit it
    bundles = tmp_path / "in"
    bundles.mkdir()
    shutil.copy(LAB, bundles / "doomed.tar.gz")
    shutil.copy(LAB, bundles / "fine.tar.gz")
    fleet = run_fleet(bundles, tmp_path / "out", "json", jobs=2)
    assert node(fleet, "fine").status == "analyzed"
    assert node(fleet, "doomed").status == "failed" and "worker process" in node(fleet, "doomed").error


def test_worker_reports_an_unreadable_bundle_as_one_line(tmp_path):
    from analyzer.fleet import NodeJob

    (tmp_path / "empty.zip").write_bytes(b"")
    result = analyze_node(NodeJob(bundle=str(tmp_path / "empty.zip"), name="empty", out_dir=str(tmp_path), fmt="md"))
    assert result.status == "failed" and "empty" in result.error and not (tmp_path / "nodes" / "empty.md").exists()


def test_hostile_names_are_text_in_the_fleet_report(tmp_path):
    """MODIFIED COPY with a HAND-WRITTEN hostile hostname and pod name; a hostile bundle file name."""
    facts = lab_facts()
    pods = hand_written_pod(facts["pod uid"], facts["container id"])
    pods["items"][0]["metadata"]["name"] = "<img src=x onerror=alert(1)>"
    top = make_node(LAB, tmp_path / "work", "<script>alert(1)</script>", pods=pods)
    fleet_dir = tmp_path / "fleet"
    fleet_dir.mkdir()
    tar_gz(top, fleet_dir / "<b>evil<i>.tar.gz")
    shutil.copy(LAB, fleet_dir / "plain.tar.gz")
    out = tmp_path / "out"
    result = run_cli("analyze", str(fleet_dir), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (out / "nodes").iterdir()) == ["b_evil_i.html", "plain.html"]
    html = (out / "fleet.html").read_text()
    assert "<script" not in html and "<img" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    markdown_out = tmp_path / "md"
    assert run_cli("analyze", str(fleet_dir), "-o", str(markdown_out), "-f", "md").returncode == 0
    assert "\\<script\\>" in (markdown_out / "fleet.md").read_text()
