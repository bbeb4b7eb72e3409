"""The big JSON documents of a bundle (kubectl get pods -o json, kubelet /pods, /stats/summary, /configz,
the collector's manifest.json): each value is cited at its own line, not at the first place the same
text appears in the document, and the reader (analyzer/textpos.py) gives what orjson gave.

Pod lists, summaries and configs below are HAND-WRITTEN in the shapes the real endpoints print (kubectl
sorts keys and indents by 4; the kubelet's /pods is one line); the manifest is the lab fixture's.
"""
from __future__ import annotations

import json
import tarfile

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer import textpos
from analyzer.parsers import kubelet_config, kubelet_summary, manifest, pod_json
from tests.conftest import FIXTURES

MESSAGE = "The node was low on resource: memory. Threshold quantity: 100Mi, available: 90Mi."


def _pod(name: str, containers: list[str], oom: str | None = None, evicted: bool = False, limits: bool = True) -> dict:
    """One pod as the API returns it (HAND-WRITTEN). Its owner and a label are called like a container
    ("app"), so the first "app" of the text is never the container."""
    spec = [{"image": f"registry.example.com/{c}:1", "name": c,
             "resources": {"limits": {"memory": "256Mi"}, "requests": {"memory": "128Mi"}} if limits else {"requests": {"memory": "64Mi"}}}
            for c in containers]
    statuses = [{"containerID": f"containerd://{name}-{c}", "name": c, "restartCount": 2 if c == oom else 0,
                 "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled", "containerID": f"containerd://{name}-{c}-old"}} if c == oom else {},
                 "state": {"running": {"startedAt": "2026-11-24T11:00:00Z"}}} for c in containers]
    status = {"phase": "Failed" if evicted else "Running", "qosClass": "Burstable", "containerStatuses": statuses}
    if evicted:
        status.update(reason="Evicted", message=MESSAGE)
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"labels": {"app": "app", "name": name}, "name": name, "namespace": "shop", "uid": f"uid-{name}",
                         "ownerReferences": [{"kind": "ReplicaSet", "name": "app"}]},
            "spec": {"containers": spec, "nodeName": "node-1", "priority": 0}, "status": status}


def _kubectl(pods: list[dict]) -> str:
    return json.dumps({"apiVersion": "v1", "items": pods, "kind": "List", "metadata": {"resourceVersion": ""}}, indent=4, sort_keys=True) + "\n"


# --- where a value is, found independently: the layout json.dumps(indent=4, sort_keys=True) prints ---------------


def _item(text: str, name: str) -> list[tuple[int, str]]:
    """(line number, line) of each line of the list item of pod ``name`` (items open with 8 spaces and "{")."""
    lines = text.split("\n")
    starts = [i for i, line in enumerate(lines) if line == "        {"] + [len(lines)]
    for a, b in zip(starts, starts[1:]):
        if any(line.strip() == f'"uid": "uid-{name}"' for line in lines[a:b]):
            return [(i + 1, lines[i]) for i in range(a, b)]
    raise AssertionError(f"no pod {name}")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _entry(item: list[tuple[int, str]], array: str, name: str) -> list[tuple[int, str]]:
    """The lines of the element of ``array`` (containers, containerStatuses) whose own "name" is ``name``."""
    opener = next(i for i, (_, line) in enumerate(item) if line.strip() == f'"{array}": [')
    depth = _indent(item[opener][1]) + 4
    i = opener + 1
    while _indent(item[i][1]) >= depth:
        end = next(j for j in range(i + 1, len(item)) if _indent(item[j][1]) == depth)
        element = item[i:end + 1]
        if any(_indent(line) == depth + 4 and line.strip().rstrip(",") == f'"name": "{name}"' for _, line in element):
            return element
        i = end + 1
    raise AssertionError(f"no {array} element {name}")


def _line(lines: list[tuple[int, str]], starts: str) -> int:
    (number,) = [n for n, line in lines if line.strip().startswith(starts)]
    return number


PODS = [_pod("cart-1", ["app", "sidecar"], oom="app"), _pod("cart-2", ["app", "sidecar"], oom="app"), _pod("search-1", ["app"], limits=False)]


def test_each_container_called_app_is_cited_in_its_own_pod():
    """Before, every "app" container was cited at the first "app" of the list (a label of the first pod)
    and every OOMKilled at the first pod's; now each at its own line."""
    text = _kubectl(PODS)
    pods = {p.name: p for p in pod_json.parse(text, "pods.json").value}
    for name in ("cart-1", "cart-2", "search-1"):
        item = _item(text, name)
        spec, status = _entry(item, "containers", "app"), _entry(item, "containerStatuses", "app")
        pod, app = pods[name], pods[name].containers[0]
        assert pod.evidence["pod"].line == next(n for n, line in item if _indent(line) == 16 and line.strip() == f'"name": "{name}",')
        assert app.evidence["container"].line == _line(spec, '"name": "app"')
        assert app.evidence["restart_count"].line == _line(status, '"restartCount"')
        if name == "search-1":  # no limits: nothing to cite (before: the next pod's "limits")
            assert app.evidence["limits"].line is None and "last_reason" not in app.evidence
        else:
            assert app.evidence["limits"].line == _line(spec, '"limits"')
            assert app.evidence["last_reason"].line == _line(status, '"reason": "OOMKilled"')


def test_evicted_pods_with_the_same_message_cite_their_own_status():
    text = _kubectl([_pod(f"web-{i}", ["web"], evicted=True) for i in range(3)])
    for pod in pod_json.parse(text, "pods.json").value:
        item = _item(text, pod.name)
        assert pod.evidence["message"].line == _line(item, '"message"')
        assert pod.evidence["reason"].line == _line(item, '"reason": "Evicted"')


def test_minified_kubelet_pods_are_one_line():
    text = json.dumps({"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": PODS}, separators=(",", ":"))
    pods = pod_json.parse(text, "kubelet-pods.json").value
    assert [p.ref for p in pods] == ["shop/cart-1", "shop/cart-2", "shop/search-1"]
    assert {e.line for p in pods for c in p.containers for k, e in c.evidence.items() if k != "limits"} == {1}
    assert pods[2].containers[0].evidence["limits"].line is None


def test_a_yaml_pod_list_is_cited_the_same_way():
    import yaml

    text = yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": PODS[:2]}, sort_keys=True)
    lines = text.split("\n")
    pods = pod_json.parse(text, "pods.yaml").value
    second = pods[1].containers[0]
    assert lines[pods[1].evidence["pod"].line - 1] == "    name: cart-2"
    assert lines[second.evidence["container"].line - 1].strip() == "name: app"
    assert lines.index("    name: cart-2") < second.evidence["container"].line - 1  # the second pod's own spec
    assert lines[second.evidence["last_reason"].line - 1].strip() == "reason: OOMKilled"
    assert second.evidence["last_reason"].line > pods[0].containers[0].evidence["last_reason"].line


def test_pod_values_are_unchanged_whatever_the_layout():
    kubectl, minified = _kubectl(PODS), json.dumps(PODS)
    assert [p.model_dump(exclude={"evidence", "containers"}) for p in pod_json.parse(kubectl, "a").value] == \
           [p.model_dump(exclude={"evidence", "containers"}) for p in pod_json.parse(minified, "b").value]
    assert pod_json.parse('{"items": [{"metadata": {"name": "p"}, "spec": {"priority": NaN}}]}', "x").status == "unrecognised"  # not JSON: read as a fragment


# --- /stats/summary -------------------------------------------------------------------------------


def test_summary_is_cited_at_the_node_memory_not_the_pods_container():
    """The "pods" system container is printed before node.memory and has an availableBytes too."""
    summary = {"node": {"nodeName": "n1", "systemContainers": [{"name": "pods", "memory": {"availableBytes": 7, "workingSetBytes": 5}}],
                        "memory": {"availableBytes": 3, "workingSetBytes": 9}},
               "pods": [{"podRef": {"name": n, "namespace": "shop"}, "containers": [{"name": "cart-1", "memory": {"workingSetBytes": 4}}]}
                        for n in ("cart-2", "cart-1")]}
    text = json.dumps(summary, indent=2)
    lines = text.split("\n")
    parsed = kubelet_summary.parse(text, "summary.json").value
    assert parsed.node.available_bytes == 3 and lines[parsed.evidence.line - 1].strip() == '"availableBytes": 3,'
    # cart-1 is also a container name of the pod before it: its podRef name is the line
    cart1 = parsed.pods[1]
    assert cart1.name == "cart-1" and lines[cart1.evidence.line - 2].strip() == '"podRef": {'


# --- /configz ---------------------------------------------------------------------------------


def test_a_soft_threshold_is_cited_in_evictionsoft():
    text = json.dumps({"kubeletconfig": {"evictionHard": {"memory.available": "100Mi"}, "evictionSoft": {"memory.available": "300Mi"},
                                         "evictionSoftGracePeriod": {"memory.available": "30s"}}}, indent=2)
    lines = text.split("\n")
    config = kubelet_config.parse(text, "configz.json").value
    soft, hard = config.eviction_soft["memory.available"], config.eviction_hard["memory.available"]
    assert soft.raw == "300Mi" and lines[soft.evidence.line - 2].strip() == '"evictionSoft": {'
    assert lines[hard.evidence.line - 2].strip() == '"evictionHard": {'


# --- manifest.json --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lab_manifest() -> str:
    with tarfile.open(FIXTURES / "lab" / "lab-oom-128mi.tar.gz") as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith("/manifest.json"))
        return tar.extractfile(member).read().decode()


def test_lab_manifest_steps_that_failed_are_cited_at_their_step(lab_manifest):
    parsed = manifest.parse(lab_manifest, "b/manifest.json")
    lines = lab_manifest.split("\n")
    assert parsed.status == "complete" and parsed.value.host == "vm" and parsed.value.kernel == "6.18.44-fc-v595"
    assert parsed.value.collected_at.isoformat() == "2026-11-24T12:42:54+00:00"
    assert "files" not in parsed.value.fields and parsed.value.fields["collector"] == "podmortem-collect"
    failed = {p.message.split()[2]: p.evidence.line for p in parsed.problems}
    assert set(failed) == {"kubectl-version", "docker-ps", "docker-stats", "docker-stats-json"}
    for step, line in failed.items():
        assert f'"name": "{step}",' in lines[line - 1]


def test_a_manifest_cut_short_is_not_json(lab_manifest):
    parsed = manifest.parse(lab_manifest[: len(lab_manifest) // 2], "b/manifest.json")
    assert parsed.status == "unrecognised" and parsed.value is None
    assert parsed.problems[0].message.startswith("manifest.json is not valid JSON: unexpected end of data")


def test_file_list_read_in_pieces_gives_what_orjson_gives(lab_manifest, monkeypatch):
    """The file list is checked 256 KB at a time; here 300 chars, so that pieces end on a "}, {" inside a path too."""
    monkeypatch.setattr(textpos, "SKIP_CHUNK_CHARS", 300)
    files = [{"path": f"var/log/pods/a}}, {{b/{i}.log", "size": i, "sha256": "0" * 64} for i in range(200)]
    doc = json.loads(lab_manifest) | {"files": files}
    for text in (json.dumps(doc, indent=2), json.dumps(doc)):
        parsed = manifest.parse(text, "m.json")
        assert parsed.status == "complete" and parsed.value.fields == {k: v for k, v in orjson.loads(text).items() if k != "files"}
        broken = text.replace('"size": 150', '"size": NaN').replace('"size":150', '"size":NaN')
        assert manifest.parse(broken, "m.json").status == "unrecognised"


# --- the reader -------------------------------------------------------------------------------------

JSON_BITS = ['{"a": 1}', "[1, 2.5, -0]", "NaN", "1e400", "18446744073709551616", "-9223372036854775809", '"\\ud800"',
             '"\\ud83d\\ude00"', '"\\udc00"', '"x\\u00e9"', "01", "1.", "nul", "true", ",", ":", "]", "}", "[", "{", '"', " ", "\n", "\u00a0"]


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(st.lists(st.one_of(st.sampled_from(JSON_BITS), st.text(max_size=3)), max_size=12), st.integers(0, 400))
def test_reader_accepts_and_gives_what_orjson_does(bits, at):
    base = json.dumps({"items": [{"metadata": {"name": "a"}, "spec": {"containers": [{"name": "c", "resources": {}}]}}], "n": [1, {"k": "v"}]})
    text = base[:at] + "".join(bits) + base[at:]
    plan = ({"items": [pod_json.POD_PLAN], "n": [{}]}, [{}])
    try:
        expected = ("ok", orjson.loads(text))
    except orjson.JSONDecodeError:
        expected = ("refused", None)
    try:
        got = ("ok", textpos.read_json(text, 0, plan))
    except ValueError:
        got = ("refused", None)
    assert got[0] == expected[0]
    assert repr(got[1]) == repr(expected[1])  # the same values of the same types (an int beyond 64 bits is a float)


def test_a_start_time_before_year_one_in_utc_is_no_time():
    """HAND-WRITTEN: 00:30 on 1 January of year 1 at UTC+1 is in year 0 in UTC (before: OverflowError, an internal error)."""
    (pod,) = pod_json.parse('{"metadata": {"name": "p"}, "status": {"startTime": "0001-01-01T00:30:00+01:00"}}', "p.json").value
    assert pod.name == "p" and pod.start_time is None


def test_text_yaml_cannot_read_is_a_value_error_and_the_parsers_fall_back():
    """read_yaml says ValueError for everything yaml refuses, its reader's first check included (a control
    character), so the parsers need not import yaml; kubelet_config and pod_json then read nothing, no crash."""
    for text in ("kind: Pod\x07\n", "a: [1, 2\n"):
        with pytest.raises(ValueError):
            textpos.read_yaml(text)
    assert kubelet_config.parse("kind: KubeletConfiguration\x07\n", "c.yaml").value is None
    assert pod_json.parse("kind: Pod\x07\nstatus:\n  qosClass: Burstable\n", "p.yaml").status in ("partial", "unrecognised")


def test_pods_already_known_are_passed_over_and_the_file_still_reads_as_complete():
    """The kubelet's /pods lists kubectl's pods again: those are read without positions or a PodInfo
    (the pipeline keeps the first record of a pod anyway), a new pod is read in full, and a list of only
    known pods is a complete read, not an unrecognised file."""
    doc = json.dumps({"kind": "PodList", "items": [
        {"metadata": {"name": "a", "namespace": "ns", "uid": "u-a"}, "status": {"qosClass": "Burstable"}},
        {"metadata": {"name": "b", "namespace": "ns", "uid": "u-b"}, "status": {"qosClass": "BestEffort"}}]}, indent=1)
    every = pod_json.parse(doc, "pods.json")
    new_only = pod_json.parse(doc, "pods.json", known_uids={"u-a"})
    assert [p.name for p in every.value] == ["a", "b"] and [p.name for p in new_only.value] == ["b"]
    assert new_only.value[0].evidence["pod"] == every.value[1].evidence["pod"]
    known = pod_json.parse(doc, "pods.json", known_uids={"u-a", "u-b"})
    assert known.value == [] and known.status == "complete" and not known.problems
