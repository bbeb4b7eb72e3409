"""Property-based fuzzing (hypothesis) of every parser, of cgroup_tree and of the whole pipeline.

Inputs are MUTATIONS of real files (tests/fuzz_mutations.py): the lab bundles in fixtures/ (always)
and ../shared/corpus (skipped cleanly where absent), cut at random points, lines swapped,
duplicated or dropped, numbers replaced with huge/negative/float/non-numeric values, JSON/YAML
fields removed or retyped, random bytes, NULs and odd unicode inserted. The properties:

- no exception escapes a parser;
- a parser returns a ``Parsed`` with a valid status, and says why (a Problem) when it is not complete;
- ``cgroup_tree`` builds its map from mutated cgroup files without raising;
- ``analyze`` on a bundle directory holding a mutated file neither raises nor records an
  "internal error" (its per-parser catch-all must stay unused), and the report renders.

Runs are short and stable in CI (derandomize=True, a few seconds per parser); the long run is
``benchmarks/fuzz_run.py``. tests/fuzz_seeds/ holds minimized inputs that once crashed a parser
(GENERATED mutations, not real output: see its README); they always run.
"""
from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path, PurePosixPath

import pytest
from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis import strategies as st

from analyzer import cgroup_tree
from analyzer.artifacts import Artifact, ArtifactKind
from analyzer.classify import node_path_of
from analyzer.models.common import Problem
from analyzer.pipeline import analyze
from reports.json_report import render_json
from tests.fuzz_mutations import (
    SEED_DIR,
    DataChooser,
    check_result,
    cgroup_seeds,
    discover_parsers,
    load_seeds,
    mutate,
    natural_seeds,
    read_seed_file,
    source_names,
    time_limit,
)

PARSERS = discover_parsers()
SEEDS = load_seeds()
FIXTURE_SEEDS = tuple(s for s in SEEDS if not s.origin.startswith("corpus/"))
CORPUS_SEEDS = tuple(s for s in SEEDS if s.origin.startswith("corpus/"))
CALL_LIMIT_S = 10.0  # linear code reads these inputs (at most ~0.4 MB) in well under a second; a quadratic regex takes minutes
FUZZ = settings(
    max_examples=80,
    deadline=None,
    derandomize=True,  # the same inputs on every run: CI is stable; benchmarks/fuzz_run.py explores
    database=None,
    # no shrinking: a quadratic-time input costs CALL_LIMIT_S per shrink step (minutes); note() names the
    # seed file and the mutations, and tests/fuzz_seeds keeps hand-minimized inputs
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)


def _fuzz_one(entry, data, pool: tuple) -> None:
    ch = DataChooser(data)
    natural = natural_seeds(entry.module, pool) or list(pool)
    seed = ch.pick(natural) if ch.integer(0, 3) else ch.pick(pool)  # mostly its own kind, sometimes anything
    source = ch.pick([seed.path, *source_names(entry)])
    text, applied = mutate(seed.text, ch)
    note(f"{entry.name} on {seed.origin} as {source!r}, mutations {applied}, {len(text)} chars")
    with time_limit(CALL_LIMIT_S):
        result = entry.function(text, source)
    check_result(entry, result, source)


def test_every_parser_module_is_fuzzed():
    """Discovery works: each analyzer/parsers module with a parse* entry point is in the list."""
    modules = {p.module for p in PARSERS}
    assert {"kernel_log", "memcg_v1", "memcg_v2", "meminfo", "pod_json", "describe", "docker", "proc"} <= modules
    assert {"docker.parse_inspect", "docker.parse_stats", "proc.parse_uptime"} <= {p.name for p in PARSERS}


@pytest.mark.parametrize("entry", PARSERS, ids=[p.name for p in PARSERS])
@FUZZ
@given(data=st.data())
def test_parser_survives_mutated_lab_members(entry, data):
    _fuzz_one(entry, data, FIXTURE_SEEDS)


@pytest.mark.corpus
@pytest.mark.parametrize("entry", PARSERS, ids=[p.name for p in PARSERS])
@FUZZ
@given(data=st.data())
def test_parser_survives_mutated_corpus_files(corpus_dir, entry, data):
    _fuzz_one(entry, data, CORPUS_SEEDS)


# --- cgroup_tree ------------------------------------------------------------------------------


def _cgroup_artifacts(ch, bundle_prefix: str) -> list[Artifact]:
    files = [s for s in cgroup_seeds(SEEDS) if s.origin.startswith(bundle_prefix)]
    mutated = {ch.integer(0, len(files) - 1) for _ in range(ch.integer(1, 3))}
    artifacts = []
    for i, seed in enumerate(files):
        text = mutate(seed.text, ch)[0] if i in mutated else seed.text
        node_path, sample = node_path_of(seed.path)
        kind = ArtifactKind(next(iter(seed.kinds)))
        artifacts.append(Artifact(path=seed.path, kind=kind, size=len(text), text=text, node_path=node_path, sample=sample))
    return artifacts


@FUZZ
@given(data=st.data())
def test_cgroup_tree_survives_mutated_cgroup_files(data):
    ch = DataChooser(data)
    bundle = ch.pick(sorted({s.origin.split(":")[0] for s in cgroup_seeds(SEEDS)}))
    artifacts = _cgroup_artifacts(ch, bundle)
    cgroups, problems = cgroup_tree.build_cgroups(a for a in artifacts if a.sample is None)
    assert all(path.startswith("/") for path in cgroups)
    assert all(isinstance(p, Problem) for p in problems)
    cgroup_tree.build_cgroup_samples(artifacts)


def test_cgroup_procs_with_digits_int_refuses():
    """HAND-WRITTEN (from the fuzz's inserted '²'): cgroup.procs tokens that pass isdigit() but not int()."""
    procs = Artifact(path="b/sys/fs/cgroup/memory/kubepods/cgroup.procs", kind=ArtifactKind.CGROUP_PROCS, size=0,
                     text="12\n\u00b2\n" + "9" * 5000 + "\n\u0661\u0662\n", node_path="sys/fs/cgroup/memory/kubepods/cgroup.procs")
    cgroups, _ = cgroup_tree.build_cgroups([procs])
    assert cgroups["/kubepods"].procs == [12, 12]  # "١٢" is Arabic-Indic twelve, a pid the kernel would not print but int() reads


# --- the whole pipeline ----------------------------------------------------------------------


def _write_bundle(root: Path, seeds, replace: str, text: str) -> None:
    for seed in seeds:
        target = root / seed.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((text if seed.path == replace else seed.text).encode("utf-8", errors="replace"))


def analyze_with_mutation(ch, pool: tuple) -> tuple[str, object]:
    """A bundle directory: one lab bundle's members, one of them (or one added corpus file) mutated."""
    bundles = sorted({s.origin.split(":")[0] for s in FIXTURE_SEEDS})
    base = ch.pick(bundles)
    members = [s for s in FIXTURE_SEEDS if s.origin.startswith(base + ":")]
    seed = ch.pick(pool)
    text, applied = mutate(seed.text, ch)
    with tempfile.TemporaryDirectory(prefix="pm-fuzz-") as tmp:
        root = Path(tmp) / "bundle"
        if seed in members:
            _write_bundle(root, members, seed.path, text)
        else:
            _write_bundle(root, members, "", "")
            top = PurePosixPath(members[0].path).parts[0]
            (root / top / "commands" / PurePosixPath(seed.path).name).write_bytes(text.encode("utf-8", errors="replace"))
        report = analyze(root)
    return f"{seed.origin} in {base}, mutations {applied}", report


def check_report(report) -> None:
    """No parser fell into the pipeline's catch-all, and the report renders as `--format json` writes it."""
    internal = [w.message for w in report.bundle.warnings if "internal error" in w.message]
    assert not internal, internal
    assert json.loads(render_json(report))["incidents"] is not None


@settings(FUZZ, max_examples=30)
@given(data=st.data())
def test_pipeline_survives_a_mutated_member(data):
    where, report = analyze_with_mutation(DataChooser(data), FIXTURE_SEEDS)
    note(where)
    check_report(report)


@pytest.mark.corpus
@settings(FUZZ, max_examples=20)
@given(data=st.data())
def test_pipeline_survives_a_mutated_corpus_file(corpus_dir, data):
    where, report = analyze_with_mutation(DataChooser(data), CORPUS_SEEDS)
    note(where)
    check_report(report)


HUGE = 2**70
HUGE_OOM = f"[ 5.000001] Memory cgroup out of memory: Killed process 4242 (eater) total-vm:{HUGE}kB, anon-rss:{HUGE}kB, file-rss:0kB, shmem-rss:0kB\n"
V2_SCOPE = "sys/fs/cgroup/kubepods.slice/kubepods-pod1.slice/cri-containerd-abc.scope"
HUGE_PLACES = {  # HAND-WRITTEN: where the pipeline fuzz put 2**70 (orjson then refused the report: exit 1)
    "meminfo": {"proc/meminfo": f"MemTotal: {HUGE} kB\nMemAvailable: 1024 kB\n"},
    "kernel-total-vm": {"commands/dmesg.txt": HUGE_OOM},
    "pod-json": {"commands/dmesg.txt": HUGE_OOM, "commands/kubectl-get-pods.json": json.dumps(
        {"kind": "Pod", "metadata": {"name": "p", "namespace": "n", "uid": "u"}, "spec": {"priority": HUGE},
         "status": {"containerStatuses": [{"name": "a", "restartCount": HUGE, "lastState": {"terminated": {"exitCode": HUGE}}}]}})},
    "docker-inspect": {"commands/docker-inspect.json": json.dumps(
        [{"Id": "a" * 64, "Name": "/k8s_w_p_n_u_0", "State": {"OOMKilled": True, "ExitCode": HUGE, "Pid": HUGE}, "HostConfig": {"Memory": HUGE}}])},
    "stats-summary": {"commands/kubelet-stats-summary.json": json.dumps(
        {"node": {"nodeName": "n", "memory": {"availableBytes": HUGE}}, "pods": [{"podRef": {"name": "p"}, "memory": {"workingSetBytes": HUGE}}]})},
    "cgroup-v2": {f"{V2_SCOPE}/memory.current": str(10**24), f"{V2_SCOPE}/memory.max": str(10**24),
                  f"{V2_SCOPE}/memory.stat": f"anon {10**24}\nfile {10**24}\n", f"{V2_SCOPE}/memory.events": f"oom_kill {10**24}\n"},
}


@pytest.mark.parametrize("place", sorted(HUGE_PLACES))
def test_a_huge_number_anywhere_still_renders_as_json(tmp_path, place):
    for name, text in HUGE_PLACES[place].items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    report = json.loads(render_json(analyze(tmp_path)))
    assert report["bundle"]["source_kind"] == "directory"
    assert str(HUGE) not in json.dumps(report["incidents"] + report["containers"])


EVICTED = "The node was low on resource: memory. Container node was using 35505620Ki, which exceeds its request of 12Gi. "
ODD_QOS = {  # HAND-WRITTEN from the pipeline fuzz: a garbled qosClass reached PodRef (a Literal) and analyze raised
    "yaml-fragment": ("commands/podjson.yaml", f"  message: '{EVICTED}'\n  phase: Failed\n  qosClass: \u00ff\u00fe Burstable\n  reason: Evicted\n"),
    "pod-json": ("commands/kubectl-get-pods.json", json.dumps({"kind": "Pod", "metadata": {"name": "p", "namespace": "n"},
                                                                "status": {"phase": "Failed", "reason": "Evicted", "message": EVICTED, "qosClass": "burstable"}})),
    "describe": ("commands/kubectl-describe-pod.txt", f"Name: p\nNamespace: n\nStatus: Failed\nReason: Evicted\nMessage: {EVICTED}\nQoS Class: Bestefort\n"),
}


@pytest.mark.parametrize("form", sorted(ODD_QOS))
def test_an_unknown_qos_class_does_not_stop_the_analysis(tmp_path, form):
    name, text = ODD_QOS[form]
    (tmp_path / name).parent.mkdir(parents=True)
    (tmp_path / name).write_text(text)
    report = analyze(tmp_path)
    (eviction,) = [i for i in report.incidents if i.kind == "eviction"]
    assert eviction.pod.qos is None and eviction.ranking[0].usage_bytes == 35505620 * 1024


# --- the seed corpus: minimized inputs that once broke something ----------------------------

SEED_FILES = sorted(p for p in SEED_DIR.glob("*.txt")) if SEED_DIR.is_dir() else []


@pytest.mark.parametrize("path", SEED_FILES, ids=[p.stem for p in SEED_FILES])
def test_fuzz_seed_is_read_by_every_parser(path):
    header, text = read_seed_file(path)
    assert header.startswith("# podmortem fuzz seed"), f"{path.name}: first line must say how it was made"
    for entry in PARSERS:
        for source in {f"seed/{path.stem}", *source_names(entry)[:3], *_named_sources(header)}:
            with time_limit(CALL_LIMIT_S):
                result = entry.function(text, source)
            check_result(entry, result, source)


def _named_sources(header: str) -> list[str]:
    """A seed header may name the source path its crash needed: '... source=<path>;'."""
    match = re.search(r"\bsource=([^;\s]+)", header)
    return [match.group(1)] if match else []
