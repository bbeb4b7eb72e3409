"""A redaction rule runs only on a text holding the literals it needs (analyzer/redact.py
``required_literals``, ``Screen``): proof that skipping the others never changes a byte.

What a user checks: quoting and ``podmortem redact`` replace exactly what running every rule of
the collector's list replaces, with the same counts. The texts are the 58 planted secrets of
tests/test_redact.py (20 kinds, in their hand-written artifacts), the lab bundles' members and the
shared corpus (skipped where absent), whole and line by line. Each rule's literals are also checked
on strings hypothesis builds to match the rule (``from_regex``): a literal a match can lack fails.
"""
from __future__ import annotations

import random
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analyzer.redact import (
    RedactError,
    apply_rule,
    apply_rules,
    load_rules,
    may_match,
    parse_rule,
    redact_quotes,
    required_literals,
    screen_for,
)
from tests.fuzz_mutations import RandomChooser, load_seeds, mutate
from tests.test_redact import DMESG_LINE, HAND_WRITTEN, PLANTS

RULES = load_rules()


def every_rule_run(text: str) -> tuple[str, Counter]:
    """The rules in order, each one run whatever the text holds (apply_rules before the literals)."""
    counts: Counter = Counter()
    for rule in RULES:
        text = apply_rule(rule, text, counts)
    return text, counts


def texts() -> list[tuple[str, str]]:
    found = [(name, text) for name, text in HAND_WRITTEN.items() if "\0" not in text]
    found.append(("dmesg-line", DMESG_LINE))
    found += [(seed.origin, seed.text) for seed in load_seeds()]
    chooser = RandomChooser(random.Random(8))
    seeds = load_seeds()
    for n in range(60):  # mutated copies: cut lines, odd bytes, numbers replaced
        seed = chooser.pick(list(seeds))
        found.append((f"mutated-{n}:{seed.origin}", mutate(seed.text, chooser)[0]))
    return found


TEXTS = texts()
LINES = sorted({line for _, text in TEXTS for line in text.split("\n")})


WHOLE_FILE_KINDS = {"environ_file", "cmdline_file"}  # replaced whole by redact_proc_file, never by a rule


def test_the_texts_hold_every_planted_secret_a_rule_redacts():
    everything = "\n".join(text for _, text in TEXTS)
    assert [p.secret for p in PLANTS if p.secret not in everything and p.kind not in WHOLE_FILE_KINDS] == []
    assert len({p.kind for p in PLANTS} - WHOLE_FILE_KINDS) >= 18


@pytest.mark.parametrize("name,text", TEXTS, ids=[name[:60] for name, _ in TEXTS])
def test_skipping_rules_changes_no_byte_and_no_count(name, text):
    counts: Counter = Counter()
    assert (apply_rules(text, RULES, counts), counts) == every_rule_run(text)


def test_a_big_text_runs_every_rule(monkeypatch):
    """Past GATED_MAX_CHARS (a whole file for podmortem redact) no literal is tested: same result."""
    import analyzer.redact as redact

    monkeypatch.setattr(redact, "GATED_MAX_CHARS", 10)
    for _, text in TEXTS[:20]:
        counts: Counter = Counter()
        assert (apply_rules(text, RULES, counts), counts) == every_rule_run(text)


def test_line_by_line_too():
    """Lines one at a time, as the report's quotes are redacted (most of them skip every rule)."""
    differing = []
    for line in LINES:
        counts: Counter = Counter()
        if (apply_rules(line, RULES, counts), counts) != every_rule_run(line):
            differing.append(line[:120])
    assert differing == []


def test_each_planted_secret_line_is_redacted_alone():
    """Each planted secret's own line, quoted alone, loses its secret (as running every rule does)."""
    lines = [line for _, text in TEXTS[: len(HAND_WRITTEN) + 1] for line in text.split("\n")]
    for plant in PLANTS:
        for line in (line for line in lines if plant.secret in line):
            quoted = redact_quotes([line], [0], 0)[0]
            assert quoted == every_rule_run(line)[0]


def test_a_match_always_holds_the_literals_of_its_rule():
    """On every line of the texts: where a rule (or a range's START) matches, its literals are there,
    and the screen does not rule it out."""
    screen = screen_for(RULES)
    missed = []
    for line in LINES:
        lowered = line.lower()
        screened_out = screen.excludes_all(lowered)
        for index, rule in enumerate(RULES):
            regex = rule.start if rule.start_regex is not None else rule.pattern
            if regex.search(line) is None:
                continue
            if not may_match(rule.needs, line)[0] or (screened_out and screen.jump[index] != index):
                missed.append((rule.kind, line[:100]))
    assert missed == []


@pytest.mark.parametrize("index", range(len(RULES)), ids=[f"{i}-{r.kind}" for i, r in enumerate(RULES)])
@settings(max_examples=150, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_generated_matches_hold_the_literals(index, data):
    rule = RULES[index]
    regex = rule.start if rule.start_regex is not None else rule.pattern
    text = data.draw(st.from_regex(regex))
    assert regex.search(text)
    assert may_match(rule.needs, text)[0], f"{rule.sed} matches {text!r} without its literals {rule.needs}"
    screen = screen_for(RULES)
    assert not (screen.excludes_all(text.lower()) and screen.jump[index] != index), f"the screen rules out a match of {rule.sed}"


def test_most_rules_have_literals_and_a_few_lines_reach_a_regex():
    """The point of it: a kernel line reaches two rules (kubeadm_token for its '.', env_value for '"'),
    not 34; every rule has literals."""
    assert all(rule.needs for rule in RULES)
    line = "2026-11-18T10:46:25.816094+00:00 k8s-worker-bench-1 kernel: memory: usage 524288kB, limit 524288kB, failcnt 65"
    screen = screen_for(RULES)
    assert screen.excludes_all(line.lower())
    assert [RULES[i].kind for i in sorted(set(screen.jump)) if i < len(RULES)] == ["env_value", "kubeadm_token"]


def test_literals_read_from_a_rule():
    assert required_literals(r"(-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----)x") == (
        ((("PRIVATE KEY-----", False),),), ((("-----BEGIN ", False),),), ((("x", False),),))
    # a group needs one of its branches; a branch that needs nothing makes the group need nothing
    assert required_literals(r"(gh[pousr]_|github_pat_)") == (((("_", False), ("gh", False)), (("github_pat_", False),)),)
    assert required_literals(r"(^|[^a-z])(ab|)") == ()
    # optional parts and repeats end a run: {0,40} adds nothing, {2,} keeps one
    assert required_literals(r"x{0,40}ab-{2,}c") == (((("ab-", False),),), ((("c", False),),))


def test_every_collector_rule_compiles():
    """Patterns are compiled when first used: each rule of the collector compiles (here, all of them)."""
    for rule in RULES:
        assert rule.pattern is not None
        if rule.start_regex is not None:
            assert rule.start is not None and rule.end is not None


def test_a_rule_python_refuses_says_which_when_first_used():
    rule = parse_rule("s/a{3,2}/x/g", "test")
    with pytest.raises(RedactError, match="does not translate"):
        rule.pattern  # noqa: B018
