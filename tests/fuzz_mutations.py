"""Shared by tests/test_fuzz_parsers.py and benchmarks/fuzz_run.py: which parsers exist, the seed
inputs they are fuzzed from, and the mutations applied to those seeds.

Parsers are discovered, not listed: every public function named ``parse*`` in
``analyzer/parsers/*.py`` whose only required parameters are ``(text, source)``, so a parser
added by anyone is fuzzed from the day it lands.

Seeds are real files: ../shared/corpus/{kernel-oom,k8s} (when present) and the members of the
lab bundles in fixtures/lab and fixtures/docker. A mutation draws its choices from a
``Chooser``: hypothesis' ``data`` in the test suite (so failures shrink), ``random.Random`` in
the long run (so a seed reproduces a run and every failure is counted, not only the first).
"""
from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import random
import re
import signal
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path, PurePosixPath

import yaml

from analyzer.artifacts import ArtifactKind
from analyzer.bundle import Limits, open_bundle
from analyzer.classify import classify
from analyzer.models.common import Parsed

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"
FIXTURE_BUNDLES = (ROOT / "fixtures" / "lab" / "lab-oom-128mi.tar.gz", ROOT / "fixtures" / "docker" / "docker-oom.tar.gz")
SEED_DIR = ROOT / "tests" / "fuzz_seeds"
VALID_STATUSES = {"complete", "partial", "unrecognised"}
MAX_SEED_CHARS = 400_000  # a few corpus/lab members are big; mutating them whole makes each example slow
MAX_MUTATED_CHARS = 2_000_000  # 5000-digit numbers for each of thousands of numbers add up; the reader cuts lines at 1,000,000


# --- the parsers ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ParserEntry:
    name: str  # "memcg_v1.parse"
    module: str  # "memcg_v1"
    function: Callable[[str, str], Parsed]


def _takes_text_and_source(function: Callable) -> bool:
    try:
        params = list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):
        return False
    required = [p for p in params if p.default is inspect.Parameter.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return [p.name for p in required] == ["text", "source"]


def discover_parsers() -> list[ParserEntry]:
    """Every ``parse*(text, source)`` defined in an analyzer/parsers module (imports that fail are skipped)."""
    import analyzer.parsers as package

    found = []
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        try:
            module = importlib.import_module(f"analyzer.parsers.{info.name}")
        except Exception:  # a parser being written right now by someone else: not ours to fuzz yet
            continue
        for attr, function in sorted(vars(module).items()):
            if attr.startswith("parse") and inspect.isfunction(function) and function.__module__ == module.__name__:
                if _takes_text_and_source(function):
                    found.append(ParserEntry(f"{info.name}.{attr}", info.name, function))
    return found


def source_names(entry: ParserEntry) -> list[str]:
    """File names a per-file dispatcher reads (memcg ``NUMBER_FILES``/``KV_FILES``), as sources to fuzz with."""
    module = importlib.import_module(entry.function.__module__)
    names = set()
    for constant in ("NUMBER_FILES", "KV_FILES"):
        value = getattr(module, constant, None)
        if isinstance(value, (dict, set, frozenset)):
            names.update(n for n in value if isinstance(n, str))
    if hasattr(module, "parse_pressure"):
        names.add("memory.pressure")
    return [f"fuzz/{name}" for name in sorted(names)]


def _name_not_read(entry: ParserEntry, source: str) -> bool:
    """memcg_v1/v2.parse given a file name they do not read (memory.swappiness...) answer
    unrecognised without a problem, on purpose: cgroup_tree would otherwise warn about every
    such file of every cgroup. That answer depends on the name alone, never on the text."""
    names = source_names(entry)
    return entry.name.endswith(".parse") and bool(names) and f"fuzz/{PurePosixPath(source).name}" not in names


def check_result(entry: ParserEntry, result: object, source: str = "") -> None:
    """The parser contract: a Parsed, a valid status, and a reason whenever it is not complete."""
    assert isinstance(result, Parsed), f"{entry.name} returned {type(result).__name__}, not Parsed"
    assert result.status in VALID_STATUSES, f"{entry.name} returned status {result.status!r}"
    if result.status != "complete" and not _name_not_read(entry, source):
        assert result.problems, f"{entry.name} returned {result.status} without saying why (no problems)"
    for problem in result.problems:
        assert problem.message and problem.message.strip(), f"{entry.name} returned a problem with an empty message"


# --- the seeds ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Seed:
    origin: str  # "corpus/k8s/<name>" or "lab-oom-128mi.tar.gz:<member>"
    path: str  # bundle-relative path a bundle would hold it under (keeps its node path)
    kinds: frozenset[str]  # what the classifier says, and for corpus files what INDEX.md says
    text: str


@lru_cache(maxsize=1)
def load_seeds() -> tuple[Seed, ...]:
    seeds = []
    for sub in ("kernel-oom", "k8s"):
        folder = CORPUS / sub
        if not folder.is_dir():
            continue
        for file in sorted(folder.iterdir()):
            if file.name == "INDEX.md" or not file.is_file():
                continue
            text = file.read_bytes().decode("utf-8", errors="replace")[:MAX_SEED_CHARS]
            kinds = {classify(None, file.name, text[:65536]).value, *_corpus_kinds(sub, file.name)}
            seeds.append(Seed(f"corpus/{sub}/{file.name}", file.name, frozenset(kinds), text))
    for bundle_path in FIXTURE_BUNDLES:
        if not bundle_path.exists():
            continue
        bundle = open_bundle(bundle_path, Limits())
        for artifact in bundle.artifacts:
            seeds.append(Seed(f"{bundle_path.name}:{artifact.path}", artifact.path, frozenset({artifact.kind.value}), artifact.text[:MAX_SEED_CHARS]))
    return tuple(seeds)


# corpus/k8s file names start with the kind column of its INDEX.md (the classifier leaves fragments unknown)
CORPUS_NAME_KINDS = (
    ("podjson", "pod_json"), ("describe", "describe_pod"), ("events", "events"), ("configz", "kubelet_configz"),
    ("stats-summary", "kubelet_summary"), ("crictl-inspect", "crictl_inspect"), ("crictl-stats", "crictl_stats"),
    ("kubelet-eviction-log", "kubelet_log"), ("kubelet-oom-log", "runtime_log"), ("cgroupv1", "memcg_v1"), ("cgroupv2", "memcg_v2"),
)


def _corpus_kinds(sub: str, name: str) -> set[str]:
    if sub == "kernel-oom":
        return {"kernel_log"}
    return {kind for prefix, kind in CORPUS_NAME_KINDS if name.startswith(prefix)}


KIND_ALIASES = {"pod_json": {"kubelet_pods"}}


def natural_seeds(module: str, seeds: tuple[Seed, ...]) -> list[Seed]:
    """Seeds whose kind this parser module reads (``docker`` -> docker_*, ``meminfo`` -> proc_meminfo ...)."""
    aliases = KIND_ALIASES.get(module, set())
    return [s for s in seeds if any(module in kind or (kind in module and kind != "unknown") or kind in aliases for kind in s.kinds)]


CGROUP_KINDS = {ArtifactKind.MEMCG_V1.value, ArtifactKind.MEMCG_V2.value, ArtifactKind.CGROUP_PROCS.value}


def cgroup_seeds(seeds: tuple[Seed, ...]) -> list[Seed]:
    """Cgroup files of the lab bundles (they keep their node paths, which cgroup_tree needs)."""
    return [s for s in seeds if s.kinds & CGROUP_KINDS and ":" in s.origin]


# --- choosing -----------------------------------------------------------------------------------


class RandomChooser:
    """Choices from ``random.Random`` (the long run)."""

    def __init__(self, rnd: random.Random) -> None:
        self.rnd = rnd

    def integer(self, low: int, high: int) -> int:
        return self.rnd.randint(low, high)

    def pick(self, items):
        return items[self.rnd.randrange(len(items))]

    def raw_bytes(self, most: int) -> bytes:
        return self.rnd.randbytes(self.rnd.randint(1, most))

    def unicode(self, most: int) -> str:
        return "".join(self.pick(NASTY_CHARS) if self.rnd.random() < 0.5 else chr(self._codepoint()) for _ in range(self.rnd.randint(1, most)))

    def _codepoint(self) -> int:
        while True:
            code = self.rnd.randint(1, 0x10FFFF)
            if not 0xD800 <= code <= 0xDFFF:  # lone surrogates never come out of the bundle reader's decode
                return code


class DataChooser:
    """Choices from hypothesis' ``st.data()`` (the test suite: failures shrink to the smallest mutation)."""

    def __init__(self, data) -> None:
        from hypothesis import strategies as st

        self.data, self.st = data, st

    def integer(self, low: int, high: int) -> int:
        return self.data.draw(self.st.integers(low, high))

    def pick(self, items):
        return items[self.integer(0, len(items) - 1)]

    def raw_bytes(self, most: int) -> bytes:
        return self.data.draw(self.st.binary(min_size=1, max_size=most))

    def unicode(self, most: int) -> str:
        st = self.st
        chars = st.one_of(st.sampled_from(NASTY_CHARS), st.characters(exclude_categories=("Cs",)))
        return self.data.draw(st.text(chars, min_size=1, max_size=most))


# --- mutations -----------------------------------------------------------------------------------

HUGE = str(2**70)
NUMBER_REPLACEMENTS = (
    HUGE, str(2**64), str(2**63), "-1", "-9223372036854775808", "0", "00", "-0", "1.5", "0.0001", "1e400", "-1e400",
    "nan", "NaN", "inf", "-inf", "abc", "", " ", "\u00b2", "\u0661\u0662", "0x10", "1_000", "+5", "9" * 5000, "1,5", "12kB",
)
JSON_RETYPES = (None, True, False, 0, -1, 2**70, -(2**70), 1.5, float("1e300"), float("inf"), float("nan"), "", "abc", "-5", "\u00b2", HUGE, [], {}, [1, "x"], {"a": None})
NASTY_CHARS = (
    "\x00", "\ufeff", "\u202e", "\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c", "\t", "\r", "\u00b2", "\u0661",
    "\U0001d7d9", "\ufb00", "\u0130", "\u00e9", "\U0001f600", "\ufffd", "\u200b", "{", "}", "[", "]", ":", '"', "'", "\\",
)
RE_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def _line_op(text: str, ch, op: str) -> str:
    lines = text.split("\n")
    if len(lines) < 2 and op != "duplicate":
        return text
    i = ch.integer(0, len(lines) - 1)
    if op == "drop":
        del lines[i]
    elif op == "duplicate":
        lines.insert(i, lines[i])
    else:
        j = ch.integer(0, len(lines) - 1)
        lines[i], lines[j] = lines[j], lines[i]
    return "\n".join(lines)


def cut_tail(text: str, ch) -> str:
    return text[: ch.integer(0, len(text))]


def cut_head(text: str, ch) -> str:
    return text[ch.integer(0, len(text)) :]


def drop_line(text: str, ch) -> str:
    return _line_op(text, ch, "drop")


def duplicate_line(text: str, ch) -> str:
    return _line_op(text, ch, "duplicate")


def swap_lines(text: str, ch) -> str:
    return _line_op(text, ch, "swap")


def replace_number(text: str, ch) -> str:
    numbers = list(RE_NUMBER.finditer(text))
    if not numbers:
        return text
    match = ch.pick(numbers)
    return text[: match.start()] + ch.pick(NUMBER_REPLACEMENTS) + text[match.end() :]


def replace_numbers_in_line(text: str, ch) -> str:
    """Every number of one line becomes the same odd value (a whole row of a table goes bad)."""
    lines = text.split("\n")
    i = ch.integer(0, len(lines) - 1)
    value = ch.pick(NUMBER_REPLACEMENTS)
    lines[i] = RE_NUMBER.sub(lambda _: value, lines[i])
    return "\n".join(lines)


def insert_bytes(text: str, ch) -> str:
    at = ch.integer(0, len(text))
    return text[:at] + ch.raw_bytes(64).decode("utf-8", errors="replace") + text[at:]


def insert_unicode(text: str, ch) -> str:
    at = ch.integer(0, len(text))
    return text[:at] + ch.unicode(16) + text[at:]


def insert_long_line(text: str, ch) -> str:
    at = ch.integer(0, len(text))
    filler = ch.pick(("x", "9", " ", "[", "{", "a=", "0 ", "\t"))
    return text[:at] + filler * ch.integer(1_000, 200_000) + text[at:]


def _containers(node, out: list) -> list:
    if isinstance(node, dict):
        out.append(node)
        for value in node.values():
            _containers(value, out)
    elif isinstance(node, list):
        out.append(node)
        for value in node:
            _containers(value, out)
    return out


def _load_structured(text: str):
    """(document, dump function) for JSON or YAML text, or None."""
    stripped = text.lstrip()
    if stripped[:1] in ("{", "["):
        try:
            return json.loads(text), (lambda doc: json.dumps(doc, indent=2))
        except (ValueError, RecursionError):
            return None
    if ":" in text[:2000] and len(text) < 300_000:
        try:
            doc = yaml.safe_load(text)
        except (yaml.YAMLError, RecursionError, ValueError):
            return None
        if isinstance(doc, (dict, list)):
            return doc, (lambda d: yaml.safe_dump(d, sort_keys=False, allow_unicode=True))
    return None


def _structured(text: str, ch, remove: bool) -> str:
    loaded = _load_structured(text)
    if loaded is None:
        return text
    doc, dump = loaded
    containers = [c for c in _containers(doc, []) if c]
    if not containers:
        return text
    target = ch.pick(containers)
    key = ch.pick(sorted(target, key=str)) if isinstance(target, dict) else ch.integer(0, len(target) - 1)
    if remove:
        del target[key]
    else:
        target[key] = ch.pick(JSON_RETYPES)
    try:
        return dump(doc)
    except (ValueError, yaml.YAMLError, RecursionError):
        return text


def remove_field(text: str, ch) -> str:
    return _structured(text, ch, remove=True)


def retype_field(text: str, ch) -> str:
    return _structured(text, ch, remove=False)


MUTATIONS = (
    cut_tail, cut_head, drop_line, duplicate_line, swap_lines, replace_number, replace_numbers_in_line,
    insert_bytes, insert_unicode, insert_long_line, remove_field, retype_field,
)
STRUCTURED = (remove_field, retype_field)


def mutate(text: str, ch, most: int = 4) -> tuple[str, list[str]]:
    """1..most mutations in a row; returns the text and the names of the mutations applied.

    >>> rnd = RandomChooser(random.Random(1))
    >>> out, ops = mutate("a 1\\nb 2\\n", rnd)
    >>> isinstance(out, str) and 1 <= len(ops) <= 4
    True
    """
    applied = []
    for _ in range(ch.integer(1, most)):
        op = ch.pick(MUTATIONS)
        text = op(text, ch)[:MAX_MUTATED_CHARS]
        applied.append(op.__name__)
    return text, applied


# --- the seed corpus of minimized inputs (tests/fuzz_seeds) ----------------------------------------

SEED_HEADER = "# podmortem fuzz seed"


def read_seed_file(path: Path) -> tuple[str, str]:
    """(header, text) of a tests/fuzz_seeds file: the first line is a '# podmortem fuzz seed ...' comment."""
    raw = path.read_bytes().decode("utf-8", errors="replace")
    header, _, text = raw.partition("\n")
    return header, text


class CallTimeout(Exception):
    """A parser call ran past its time limit (a quadratic regex, a loop that never ends)."""


@contextmanager
def time_limit(seconds: float):
    """Interrupt the block after ``seconds`` with CallTimeout (SIGALRM: re's matcher checks signals)."""
    def _alarm(signum, frame):
        raise CallTimeout(f"slower than {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def write_seed_file(path: Path, header: str, text: str) -> None:
    path.write_bytes(f"{SEED_HEADER}: {header}\n".encode() + text.encode("utf-8", errors="replace"))
