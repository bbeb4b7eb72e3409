"""Cgroup files read into CgroupMemory (analyzer/cgroup_tree.py, parsers/memcg_v1.py, memcg_v2.py).

The tree reads a bundle's ~26,000 cgroup files with the parsers' plain readers and keeps each
cgroup's evidence as (file, line) until asked: these tests check what a report shows from them
(values, problems, the file and line each number is cited at) is what the parsers' ``parse``
functions say, on HAND-WRITTEN files and on mutations of the lab bundles' real ones.
"""
from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analyzer.artifacts import Artifact, ArtifactKind
from analyzer.cgroup_tree import CgroupEvidence, build_cgroups
from analyzer.models.common import Evidence
from analyzer.parsers import memcg_v1, memcg_v2
from analyzer.rules.number_gaps import containers_table
from tests.fuzz_mutations import DataChooser, cgroup_seeds, load_seeds, mutate

BUNDLE = "node1-20261124T124253Z"
POD = "kubepods/burstable/pod6b1f0a3e-1c2d-4e5f-8a9b-0c1d2e3f4a5b"
CID = "a" * 64
V1_DIR = f"sys/fs/cgroup/memory/{POD}/{CID}"
V2_DIR = "sys/fs/cgroup/kubepods.slice/kubepods-pod0a1b2c3d_0000_1111_2222_333344445555.slice"
# HAND-WRITTEN, in the kernel's format (mm/memcontrol-v1.c memcg1_stat_format: local keys, then total_*)
V1_STAT = "cache 4096\nrss 8192\nshmem 0\ninactive_file 1024\nactive_file 3072\nhierarchical_memory_limit 9223372036854771712\n" \
          "total_cache 40960\ntotal_rss 81920\ntotal_inactive_file 10240\ntotal_active_file 30720\n"
FAST = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def cgroup_file(node_path: str, text: str, kind: ArtifactKind = ArtifactKind.MEMCG_V1, path: str | None = None,
                line_numbers: list[int] | None = None) -> Artifact:
    return Artifact(path=path or f"{BUNDLE}/{node_path}", kind=kind, size=len(text), text=text, node_path=node_path,
                    line_numbers=line_numbers)


def v1_container() -> list[Artifact]:
    return [
        cgroup_file(f"{V1_DIR}/memory.usage_in_bytes", "120000\n"),
        cgroup_file(f"{V1_DIR}/memory.limit_in_bytes", "9223372036854771712\n"),
        cgroup_file(f"{V1_DIR}/memory.memsw.usage_in_bytes", "125000\n"),
        cgroup_file(f"{V1_DIR}/memory.swappiness", "60\n"),  # not read: no value, no problem
        cgroup_file(f"{V1_DIR}/memory.stat", V1_STAT),
        cgroup_file(f"{V1_DIR}/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n"),
        cgroup_file(f"{V1_DIR}/cgroup.procs", "4242\n4243\n", kind=ArtifactKind.CGROUP_PROCS),
    ]


def test_v1_container_values_and_the_lines_they_are_cited_at():
    cgroups, problems = build_cgroups(v1_container())
    cg = cgroups[f"/{POD}/{CID}"]
    assert problems == []
    assert (cg.version, cg.usage_bytes, cg.limit_bytes, cg.limit_unlimited) == (1, 120000, None, True)
    assert (cg.swap_usage_bytes, cg.oom_kill, cg.oom_kill_disable, cg.procs) == (5000, 2, False, [4242, 4243])
    assert cg.stat_value("rss") == 81920 and cg.stat["cache"] == 4096
    stat_file = f"{BUNDLE}/{V1_DIR}/memory.stat"
    assert cg.evidence["stat:total_inactive_file"] == Evidence(file=stat_file, line=9)
    assert cg.evidence["stat:oom_kill"].cite() == f"{BUNDLE}/{V1_DIR}/memory.oom_control:3"
    assert cg.evidence.get("memory.limit_in_bytes") == Evidence(file=f"{BUNDLE}/{V1_DIR}/memory.limit_in_bytes", line=1)
    assert "memory.swappiness" not in cg.evidence and cg.evidence.get("memory.swappiness") is None
    (row,) = containers_table(cgroups)
    assert (row.container_id, row.usage_bytes, row.working_set_bytes) == (CID, 120000, 120000 - 10240)
    assert [(e.file, e.line) for e in row.evidence] == [
        (f"{BUNDLE}/{V1_DIR}/memory.usage_in_bytes", 1), (f"{BUNDLE}/{V1_DIR}/memory.limit_in_bytes", 1),
        (stat_file, 9), (stat_file, 10), (stat_file, 1),
    ]


def test_evidence_reads_like_the_dict_the_parsers_make():
    """Keys in file order, the same Evidence for each: what rules read with [], get(), items()."""
    cgroups, _ = build_cgroups(v1_container())
    evidence = cgroups[f"/{POD}/{CID}"].evidence
    expected: dict[str, Evidence] = {}
    for artifact in v1_container():
        if artifact.kind is not ArtifactKind.CGROUP_PROCS:
            parsed = memcg_v1.parse(artifact.text, artifact.path)
            expected.update(parsed.value.evidence if parsed.value else {})
    assert isinstance(evidence, CgroupEvidence)
    assert list(evidence.items()) == list(expected.items()) and evidence == expected and len(evidence) == len(expected)
    assert evidence["stat:total_rss"].model_dump() == {"file": f"{BUNDLE}/{V1_DIR}/memory.stat", "line": 8}


def test_bad_lines_are_problems_with_their_line_and_the_rest_is_read():
    text = "cache 4096\nrss\t8192\n\nrss_huge 12 kB\ntotal_rss " + "9" * 26 + "\nTotal_cache 5\nshmem -3\n"
    cgroups, problems = build_cgroups([cgroup_file(f"{V1_DIR}/memory.stat", text)])
    assert cgroups[f"/{POD}/{CID}"].stat == {"cache": 4096, "rss": 8192, "shmem": -3}
    assert [(p.message, p.evidence.line) for p in problems] == [
        ("memory.stat: unexpected line 'rss_huge 12 kB'", 4),
        ("memory.stat: unexpected line 'total_rss " + "9" * 26 + "'", 5),
        ("memory.stat: unexpected line 'Total_cache 5'", 6),
    ]
    _, number_problems = build_cgroups([cgroup_file(f"{V1_DIR}/memory.usage_in_bytes", "-5\n"),
                                        cgroup_file(f"{V1_DIR}/memory.failcnt", "12 kB\n")])
    assert [p.message for p in number_problems] == ["memory.usage_in_bytes: negative value -5",
                                                    "memory.failcnt: expected a number, found '12 kB'"]


def test_v2_files_unlimited_words_events_and_pressure():
    files = [
        cgroup_file(f"{V2_DIR}/memory.current", "52428800\n", ArtifactKind.MEMCG_V2),
        cgroup_file(f"{V2_DIR}/memory.max", "max\n", ArtifactKind.MEMCG_V2),
        cgroup_file(f"{V2_DIR}/memory.high", "104857600\n", ArtifactKind.MEMCG_V2),
        cgroup_file(f"{V2_DIR}/memory.oom.group", "1\n", ArtifactKind.MEMCG_V2),
        cgroup_file(f"{V2_DIR}/memory.events", "low 0\nhigh 0\nmax 13693\noom 3\noom_kill 2\n", ArtifactKind.MEMCG_V2),
        cgroup_file(f"{V2_DIR}/memory.pressure", "some avg10=1.50 avg60=0.00 avg300=0.00 total=42\n"
                                                 "full avg10=0.25 avg60=0.00 avg300=0.00 total=7\n", ArtifactKind.MEMCG_V2),
    ]
    cgroups, problems = build_cgroups(files)
    cg = cgroups["/kubepods.slice/kubepods-pod0a1b2c3d_0000_1111_2222_333344445555.slice"]
    assert problems == [] and cg.version == 2
    assert (cg.usage_bytes, cg.limit_bytes, cg.limit_unlimited, cg.high_bytes, cg.oom_group) == (52428800, None, True, 104857600, True)
    assert (cg.events["max"], cg.oom_kill, cg.pressure["some"], cg.pressure["full"]["total"]) == (
        13693, 2, {"avg10": 150, "avg60": 0, "avg300": 0, "total": 42}, 7)
    assert cg.evidence["stat:oom_kill"].line == 5 and cg.evidence["memory.pressure"].line == 1


def test_pressure_with_an_infinite_average_is_read_not_raised():
    """HAND-WRITTEN (the fuzz's 'inf' and '1e400' number replacements): int(float('inf') * 100) raised OverflowError."""
    text = "some avg10=inf avg60=1e400 avg300=0.50 total=42\n"
    assert memcg_v2.read_pressure(text) == {"some_avg300": 50, "some_total": 42}
    cgroups, problems = build_cgroups([cgroup_file(f"{V2_DIR}/memory.pressure", text, ArtifactKind.MEMCG_V2)])
    assert problems == [] and next(iter(cgroups.values())).pressure["some"] == {"avg300": 50, "total": 42}


def test_a_file_shown_in_a_paste_is_cited_at_the_paste_lines():
    paste = "notes/ticket-4711.txt"
    shown = cgroup_file(f"{V1_DIR}/memory.stat", "cache 4096\nrss 8192\nbogus\n", path=paste, line_numbers=[12, 13, 14])
    cgroups, problems = build_cgroups([shown])
    cg = cgroups[f"/{POD}/{CID}"]
    assert cg.evidence["stat:rss"] == Evidence(file=paste, line=13) and cg.evidence["memory.stat"].line == 12
    assert [(p.message, p.evidence.file, p.evidence.line) for p in problems] == [("memory.stat: unexpected line 'bogus'", paste, 14)]


def test_one_cgroup_from_two_bundle_folders_cites_each_file():
    """Two nodes' trees in one archive (same node paths): the last file read wins, each value cited at its own file."""
    first = cgroup_file(f"{V1_DIR}/memory.stat", "rss 1\ntotal_cache 2\n", path=f"n1/{V1_DIR}/memory.stat")
    second = cgroup_file(f"{V1_DIR}/memory.stat", "total_cache 5\ncache 7\n", path=f"n2/{V1_DIR}/memory.stat")
    cg = build_cgroups([first, second])[0][f"/{POD}/{CID}"]
    assert cg.stat == {"total_cache": 5, "cache": 7}
    assert [(k, e.cite()) for k, e in cg.evidence.items()] == [
        ("stat:rss", f"n1/{V1_DIR}/memory.stat:1"), ("stat:total_cache", f"n2/{V1_DIR}/memory.stat:1"),
        ("memory.stat", f"n2/{V1_DIR}/memory.stat:1"), ("stat:cache", f"n2/{V1_DIR}/memory.stat:2"),
    ]


# --- the fast readers against the rule they replace --------------------------------------------

RE_KV = re.compile(r"^(?P<key>[a-z_][a-z0-9_]*)\s+(?P<val>-?\d{1,25})\s*$")  # the regex every line went through


def reference_key_values(text: str, name: str):
    """The per-line regex loop memcg_v1.parse_key_values ran before read_key_values (as it was)."""
    values, cited, problems = {}, {}, []
    for no, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        match = RE_KV.match(line.strip())
        if match is None:
            problems.append((f"{name}: unexpected line {line[:80]!r}", no))
            continue
        values[match["key"]] = int(match["val"])
        if match["key"].removeprefix("total_") in memcg_v1.CITED_KEYS:
            cited[f"stat:{match['key']}"] = no
    return values, cited, problems or ([] if values else [(f"{name}: empty", None)])


TOKENS = ("rss", "total_rss", "cache", "anon", "oom_kill", "Rss", "_x", "9a", "rss2", "", " ", "  ", "\t", "\r", "\x0b", "\x1c",
          "\x85", "\u00a0", "\u2028", "\u3000", "0", "42", "-7", "-", "00", "1" * 25, "1" * 26, "\u0661\u0662", "\u00b2", "1.5",
          "kB", "=", "\ufeff")


@FAST
@given(st.lists(st.lists(st.sampled_from(TOKENS), max_size=5).map("".join), max_size=8).map("\n".join))
def test_read_key_values_accepts_and_refuses_exactly_the_lines_the_regex_did(text):
    assert memcg_v1.read_key_values(text, "memory.stat") == reference_key_values(text, "memory.stat")


@FAST
@given(st.lists(st.sampled_from(TOKENS + ("max", "\n")), max_size=6).map("".join))
def test_read_number_reads_what_the_regex_read(text):
    word = text.strip().split("\n")[0].strip() if text.strip() else ""
    for limit, words in ((False, ()), (True, ("max",))):
        number, unlimited, problem = memcg_v1.read_number(text, limit, words)
        if word in words:
            assert (number, unlimited, problem) == (None, True, None)
        elif not re.fullmatch(r"-?\d{1,25}", word):
            assert problem == f"expected a number, found {word[:40]!r}"
        elif int(word) < 0:
            assert problem == f"negative value {int(word)}"
        else:
            assert problem is None and unlimited == (limit and int(word) >= 2**62)
            assert number == (None if unlimited else int(word))


LAB_CGROUP_FILES = [s for s in cgroup_seeds(load_seeds()) if "/memory." in s.path]


@pytest.mark.skipif(not LAB_CGROUP_FILES, reason="the lab bundles in fixtures/ are missing")
@FAST
@given(data=st.data())
def test_tree_reads_a_mutated_lab_file_as_parse_does(data):
    """A bundle file (read by the tree's readers) and the same text through memcg_v1/v2.parse (the path the
    tree takes for a paste) give the same values, evidence and problems."""
    ch = DataChooser(data)
    seed = ch.pick(LAB_CGROUP_FILES)
    text = mutate(seed.text, ch)[0] if ch.integer(0, 4) else seed.text
    kind = ArtifactKind(next(iter(seed.kinds)))
    node_path = seed.path[seed.path.index("sys/fs/cgroup/"):]
    name = node_path.rpartition("/")[2]
    read = build_cgroups([cgroup_file(node_path, text, kind, path=f"{BUNDLE}/{node_path}")])
    parsed = build_cgroups([cgroup_file(node_path, text, kind, path=f"elsewhere/{name}")])  # not ending in its node path
    (cg_read,), (cg_parsed,) = read[0].values(), parsed[0].values()
    assert cg_read.model_dump(exclude={"evidence"}) == cg_parsed.model_dump(exclude={"evidence"})
    moved = [(key, ev.file.replace(f"elsewhere/{name}", f"{BUNDLE}/{node_path}"), ev.line) for key, ev in cg_parsed.evidence.items()]
    assert [(key, ev.file, ev.line) for key, ev in cg_read.evidence.items()] == moved
    assert [(p.message, p.evidence.line) for p in read[1]] == [(p.message, p.evidence.line) for p in parsed[1]]
