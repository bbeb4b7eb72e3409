"""Quoted lines (analyzer/quotes.py) are what splitting the whole text and redacting it gave.

The reference below is the quoting of the previous release, written the obvious way: every line
of the text up to the last cited one split out, one redact_quotes call over all of them. The
quoting under test takes only the lines it needs, from texts that may be kept compressed, and
redacts each stretch alone; the quotes must be the same, on texts with secrets that span lines
(an Environment block, a PEM key) and with every context width.
"""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.quotes import MAX_QUOTED_LINE, PACK_CHARS, Packed, Quotable, lines_at, quote_lines
from analyzer.redact import QUOTE_CONTEXT_LINES, redact_quotes

LINES = [
    "    Environment:", "      DB_PASSWORD:  hunter2", "      MODE:  fast", "-----BEGIN RSA PRIVATE KEY-----",
    "MIIEowIBAAKCAQEAv1Xq3Jr", "-----END RSA PRIVATE KEY-----", "rss 8192", "cache 4096", "", "plain text",
    '    "name": "api",', "Authorization: Bearer abc.def.ghi", "  token: eyJhbGciOiJIUzI1NiJ9.e30.x",
]


def reference(text: str, cited: set[int], stand_alone: bool) -> dict[str, str]:
    last = max(cited)
    lines = text.split("\n", last)[:last]
    indexes = [n - 1 for n in cited if 0 < n <= len(lines)]
    context = 0 if stand_alone else QUOTE_CONTEXT_LINES
    return {f"f:{i + 1}": line[:MAX_QUOTED_LINE] for i, line in redact_quotes(lines, indexes, context).items()}


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.lists(st.sampled_from(LINES), min_size=1, max_size=300), st.sets(st.integers(1, 320), min_size=1, max_size=12),
       st.booleans(), st.booleans())
def test_quotes_equal_the_whole_text_reading(lines, cited, stand_alone, packed):
    text = "\n".join(lines) + "\n"
    if packed:  # the same text, big enough to be kept compressed
        text = text + "x\n" * (PACK_CHARS // 2)
    quotable = {"f": Quotable.of(text, None, stand_alone)}
    assert isinstance(getattr(quotable["f"], "text", None), Packed) == packed
    assert quote_lines({"f": cited}, quotable) == dict(sorted(reference(text, cited, stand_alone).items()))


def test_a_secret_block_above_a_cited_line_is_redacted_with_its_context():
    text = "\n".join(["kind: Pod", "-----BEGIN RSA PRIVATE KEY-----", "MIIEowIBAAKCAQEAv1Xq3JrAbCdEfGh",
                      "-----END RSA PRIVATE KEY-----", *["filler"] * 200, "    Environment:", "      DB_PASSWORD:  hunter2"])
    quoted = quote_lines({"pod.yaml": {3, 206}}, {"pod.yaml": Quotable.of(text, None, False)})
    assert quoted == {"pod.yaml:206": "      DB_PASSWORD:  [REDACTED]", "pod.yaml:3": "[REDACTED]"}


def test_lines_of_a_filtered_log_are_found_by_their_numbers():
    quotable = Quotable.of("kept 10\nkept 120\nkept 130", [10, 120, 130], True)
    assert quote_lines({"journal": {120, 121}}, {"journal": quotable}) == {"journal:120": "kept 120"}


def test_lines_at_finds_lines_far_apart_in_a_big_text():
    text = "".join(f"{n}\n" for n in range(1, 300_001))
    ranges = [(1, 1), (65_000, 65_002), (299_999, 300_001)]
    assert lines_at(text, ranges) == {1: "1", 65_000: "65000", 65_001: "65001", 65_002: "65002",
                                      299_999: "299999", 300_000: "300000", 300_001: ""}
    assert lines_at("a\nb", [(2, 2), (5, 6)]) == {2: "b"}


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(st.sampled_from(["a", "", "bb", "c c"]), max_size=40), st.lists(st.tuples(st.integers(1, 45), st.integers(0, 3)), max_size=6),
       st.integers(1, 30))
def test_small_and_big_texts_give_the_same_lines(lines, starts, pad_lines):
    """lines_at splits a small text and walks a big one: the two ways agree, at the text's end too."""
    import analyzer.quotes as quotes

    text = "\n".join(lines) + ("\n" if pad_lines % 2 else "")
    ranges, last = [], 0
    for first, width in sorted(starts):
        if first > last:
            ranges.append((first, first + width))
            last = first + width
    small = lines_at(text, ranges)
    saved, quotes.SCAN_CHARS = quotes.SCAN_CHARS, 1  # every text is "big": the walk, a character a chunk
    try:
        walked = lines_at(text, ranges)
    finally:
        quotes.SCAN_CHARS = saved
    assert small == walked


def test_a_packed_filtered_log_finds_its_kept_lines_by_number():
    numbers = list(range(10, 10 + 3 * 120_000, 3))  # the kept lines of a big log, every third one
    text = "\n".join(f"kept {n}" for n in numbers)
    quotable = Quotable.of(text, numbers, True)
    assert isinstance(quotable.text, Packed) and len(quotable.text.pieces) > 2
    assert quotable.lines_around([(10, 11), (numbers[-1], numbers[-1] + 5), (200_002, 200_002)]) == {
        10: "kept 10", numbers[-1]: f"kept {numbers[-1]}", 200_002: "kept 200002"}


def test_a_text_said_unchangeable_is_never_changed_by_redaction():
    """rules_cannot_change lets quoting skip redaction: every line (and every whole text) of the planted
    secrets' files that redaction changes must be one it says may change; the counters of a cgroup
    file are said unchangeable."""
    from collections import Counter

    from analyzer.redact import load_rules, redact_text, rules_cannot_change
    from tests.test_redact import DMESG_LINE, HAND_WRITTEN

    rules = load_rules()
    texts = [*HAND_WRITTEN.values(), DMESG_LINE]
    pieces = texts + [line for text in texts for line in text.split("\n")]
    changed = [p for p in pieces if redact_text(p, rules, Counter()) != p]
    assert len(changed) > 50, "the planted lines are there to be redacted"
    assert not [p for p in changed if rules_cannot_change(p)]
    assert rules_cannot_change("cache 4096\nrss 8192\ntotal_active_file 0")
