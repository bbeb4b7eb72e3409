"""The kernel, kubelet and runtime log parsers skip work on lines that cannot matter; what they read
from the lines that do is unchanged.

Shortcuts checked here against the plain way of reading (each written out in the test):

- kernel_log: a line prefix is tried only on lines holding the literal its pattern needs; a
  handler's regex only on lines holding its literal; the wall time of a prefix is read only for the
  lines of an OOM report; the stats block's last line is written to the report once per block;
  RE_CPU reads the taint flags in linear time (it was quadratic on a run of spaces), same matches;
  a log whose every line has a prefix is fed to the state machine as it is split (nothing kept).
- kubelet_log: pod="..." and the reclaimed resource are looked for only where they can be.
- runtime_log: a line holding no runtime word is skipped before its prefix is read.

Lines: the kernel-oom corpus (3.10 to 6.18, every prefix style; skipped where ../shared is absent),
the lab bundles' members, tests/fuzz_seeds, mutated copies of them, and hand-made prefix variants.
"""
from __future__ import annotations

import random
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.parsers import kernel_log, kubelet_log, runtime_log
from analyzer.parsers.kernel_log import (
    RE_ISO_HOST,
    RE_KMSG,
    RE_SYSLOG,
    RE_TALOS,
    RE_TASK_ROW,
    RE_UPTIME,
    RE_WALL_BRACKET,
    _iso,
    _syslog_time,
    parse_wall_bracket,
    strip_prefix,
)
from tests.conftest import corpus_files
from tests.fuzz_mutations import SEED_DIR, RandomChooser, load_seeds, mutate

HAND_MADE = [
    "[ 5.100000] a;b Killed process 42 (x)",  # a dmesg line holding ';' (the kmsg literal)
    "6,30574067,3816544225424,-;Task in /a killed as a result of limit of /a",
    "<6>[ 1234.5] eth0: link up",
    "10.200.70.91: kern:    info: [2025-06-04T04:51:57.572293906Z]: [  12.5] python3 invoked oom-killer: gfp_mask=0x0",
    "2026-11-24T11:53:05+0000 host kernel: [ 99.1] Memory cgroup out of memory: Killed process 7 (a)",
    "2026-11-24 11:53:05,123 host kernel:x",
    "Dec  4 15:24:33 optiplex-2 kernel: [6686782.276093] calloc invoked oom-killer: x",
    "Dec  4 15:24:33 optiplex-2 kernel: no uptime here",
    "Tue Nov 24 11:53:05 2026] a dmesg -T line whose '[' was lost",
    "[Tue Nov 24 11:53:05 2026] ; kernel: both literals",
    "[  2109]     0  2109    35238    34278    32640     1638         0   323584        0             0 python3",
    "[四 4月 17 22:43:41 2025] 内存",
    "0001-01-01T00:30:00+01:00 host kernel: a stamp before datetime.min in UTC",
    "",
]


def unguarded_prefix(raw: str):
    """strip_prefix as it read a line before its literal guards: every pattern tried, in order."""
    for style, regex in (("kmsg", RE_KMSG), ("talos", RE_TALOS), ("journal_iso", RE_ISO_HOST), ("syslog", RE_SYSLOG)):
        match = regex.match(raw)
        if match is None:
            continue
        if style == "kmsg":
            return (style, match["msg"], None, int(match["usec"]) / 1e6, None)
        if style == "syslog":
            when, year = _syslog_time(match["mon"], match["day"], match["hms"]), False
        else:
            when, year = _iso(match["iso"]), True
        msg, uptime = match["msg"], None
        inner = RE_UPTIME.match(msg)
        if inner:
            msg, uptime = inner["msg"], float(inner["up"])
        return (style, msg, when, uptime, match["host"]) + (() if year else ("no year",))
    match = RE_UPTIME.match(raw)
    if match:
        return ("dmesg", match["msg"], None, float(match["up"]), None)
    match = RE_WALL_BRACKET.match(raw)
    if match and not RE_TASK_ROW.match(raw):
        return ("dmesg_T", match["msg"], parse_wall_bracket(match["wall"]), None, None)
    return None


def as_tuple(prefix):
    if prefix is None:
        return None
    return (prefix.style, prefix.msg, prefix.time, prefix.uptime_s, prefix.host) + (() if prefix.time_has_year else ("no year",))


def kernel_texts() -> list[str]:
    texts = [path.read_bytes().decode("utf-8", "replace") for path in corpus_files("kernel-oom")]
    texts += [seed.text for seed in load_seeds() if "kernel_log" in seed.kinds or "dmesg" in seed.path or "journal" in seed.path]
    texts += [path.read_text(errors="replace") for path in sorted(SEED_DIR.glob("kernel*.txt"))]
    chooser = RandomChooser(random.Random(5))
    for _ in range(80):
        texts.append(mutate(chooser.pick(texts[:]), chooser)[0])
    return texts


TEXTS = kernel_texts()
LINES = sorted({line for text in TEXTS for line in text.split("\n")} | set(HAND_MADE))


def test_prefix_guards_read_every_line_as_before():
    assert len(LINES) > 1000
    assert [line for line in LINES if as_tuple(strip_prefix(line)) != unguarded_prefix(line)] == []


def test_a_collected_log_read_line_by_line_counts_as_the_joined_reading():
    """parse reads a log whose every line has a prefix as it splits it (nothing to join); the lines,
    style and clock pairs it reports are those of logical_lines, which joins wrapped lines first."""
    for text in TEXTS + ["\n".join(LINES)]:
        log = kernel_log.parse(text, "x.log").value
        lines, style, pairs = kernel_log.logical_lines(text)
        assert (log.lines_read, log.prefix_style, log.clock_pairs) == (len(lines), style, pairs)


def test_handler_literals_are_in_their_patterns_and_in_every_line_they_match():
    for literal, regex, _ in kernel_log.HANDLERS:
        assert literal in regex.pattern.replace("\\", ""), (literal, regex.pattern)
    lines, _, _ = kernel_log.logical_lines("\n".join(TEXTS))
    missed = [(literal, line.msg[:80]) for line in lines for literal, regex, _ in kernel_log.HANDLERS
              if regex.match(line.msg) and literal not in line.msg]
    assert len(lines) > 1000 and missed == []


# RE_CPU as it was: the same matches, in quadratic time on a long run of spaces after "Tainted:"
# (tests/fuzz_seeds/kernel-cpu-tainted-space-run-quadratic.txt keeps the line that took minutes)
RE_CPU_QUADRATIC = re.compile(
    r"^CPU: \d+ (?:UID: \d+ )?PID: (?P<pid>\d+) Comm: (?P<comm>.{1,16}?) (?:Not tainted|Tainted: [A-Z ]*?)\s*"
    r"(?P<version>\d+\.\d+[\w.+~-]*)"
)


@settings(max_examples=3000, deadline=None, derandomize=True, database=None)
@given(comm=st.text("aT N1 x", max_size=20), taint=st.sampled_from(["Not tainted", "Tainted: ", "Tainted:", "Not tainted "]),
       flags=st.text("POEG \t\u00a0\u20031.-x\n", max_size=14), version=st.sampled_from(["6.18.44 #1", "4.18.0-372.el8", "1.2", "x", "", " 3.10.0"]))
def test_cpu_line_reads_as_before(comm, taint, flags, version):
    line = f"CPU: 5 UID: 0 PID: 7 Comm: {comm} {taint}{flags}{version}"
    old, new = RE_CPU_QUADRATIC.match(line), kernel_log.RE_CPU.match(line)
    assert (old and (old["pid"], old["comm"], old["version"], old.end())) == (new and (new["pid"], new["comm"], new["version"], new.end()))


def test_oom_time_of_a_dmesg_t_report_is_read():
    log = ("[Tue Nov 24 11:53:05 2026] eth0: link up\n"
           "[Tue Nov 24 11:53:07 2026] Memory cgroup out of memory: Killed process 42 (eater) total-vm:1024kB, anon-rss:512kB, file-rss:0kB, shmem-rss:0kB\n")
    oom = kernel_log.parse(log, "dmesg-T.txt").value.ooms[0]
    assert oom.time.isoformat() == "2026-11-24T11:53:07+00:00" and oom.evidence["killed"].line == 2


def test_a_stamp_before_year_one_in_utc_gives_no_time_not_a_crash():
    """0001-01-01T00:30+01:00 is before datetime.min in UTC: the line is read, its time is unknown."""
    log = "0001-01-01T00:30:00+01:00 host kernel: Memory cgroup out of memory: Killed process 42 (eater) total-vm:1024kB, anon-rss:512kB, file-rss:0kB\n"
    parsed = kernel_log.parse(log, "journal.txt")
    oom = parsed.value.ooms[0]
    assert oom.killed.pid == 42 and oom.time is None and oom.host == "host"


def test_stats_block_at_the_end_sets_the_last_line_and_the_version():
    log = "\n".join([
        "[ 1.0] eater invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0",
        "[ 1.0] memory: usage 131072kB, limit 131072kB, failcnt 72",
        "[ 1.0] Memory cgroup stats for /kubepods/pod1:",
        "[ 1.0] cache 16384",
        "[ 1.0] total_cache 16384",
        "[ 1.0] total_rss 131072",
        "[ 1.1] Memory cgroup out of memory: Killed process 42 (eater) total-vm:1024kB, anon-rss:512kB, file-rss:0kB",
        "[ 1.2] Memory cgroup stats for /kubepods/pod2:",
        "[ 1.2] anon 4096",
        "[ 1.2] file 8192",
    ])
    oom, = kernel_log.parse(log, "dmesg.txt").value.ooms
    assert oom.last_line == 10 and oom.cgroup_version == 1
    assert [b.values for b in oom.memcg_stats] == [{"cache": 16384, "total_cache": 16384, "total_rss": 131072}, {"anon": 4096, "file": 8192}]


def test_a_journal_line_that_also_carries_uptime_gives_a_clock_pair():
    log = "2026-11-24T11:53:05.500000+00:00 host kernel: [ 99.5] eth0: link up\n"
    pairs = kernel_log.parse(log, "journal.txt").value.clock_pairs
    assert [(up, when.isoformat()) for up, when in pairs] == [(99.5, "2026-11-24T11:53:05.500000+00:00")]


# --- kubelet_log --------------------------------------------------------------------------------

K = "2026-11-18T12:39:45.328324+00:00 node kubelet[2186]: I1118 12:39:45.328324    2186 eviction_manager.go:{}] "


def test_kubelet_pod_and_resource_are_read_where_they_are():
    log = "\n".join([
        K.format(366) + '"Eviction manager: attempting to reclaim" resourceName="memory"',
        K.format(405) + '"Eviction manager: pods ranked for eviction" pods=["shop/a","web/admin-api-1"]',
        K.format(627) + '"Eviction manager: pod is evicted successfully" pod="shop/a"',
        K.format(366) + '"Eviction manager: must evict pod(s) to reclaim" resourceName="memory"',
    ])
    events = kubelet_log.parse(log, "kubelet.log").value
    assert [(e.kind, e.resource, e.pod, e.pods) for e in events] == [
        ("attempting_reclaim", "memory", None, []),
        ("pods_ranked", None, None, ["shop/a", "web/admin-api-1"]),
        ("evicted", None, "shop/a", []),
        ("must_evict", "memory", None, []),
    ]


@pytest.mark.parametrize("path", corpus_files("k8s", "kubelet-*"), ids=lambda p: p.name)
def test_kubelet_corpus_events_keep_their_pods_and_lines(corpus_dir, path):
    text = path.read_text(errors="replace")
    for event in kubelet_log.parse(text, path.name).value:
        line = text.split("\n")[event.evidence.line - 1]
        assert event.pod is None or f'pod="{event.pod}"' in line
        assert all(pod in line for pod in event.pods)


# --- runtime_log --------------------------------------------------------------------------------


def test_runtime_lines_without_a_runtime_word_give_nothing_and_the_rest_keep_their_lines():
    oom = 'Sep 01 19:12:33 n containerd[1472]: time="2023-09-01T19:12:33.01Z" level=info msg="TaskOOM event container_id:\\"' + "4b" * 32 + '\\""'
    log = "\n".join(["Sep 01 19:12:30 n containerd[1472]: starting", "", "   ", oom, "Sep 01 19:12:34 n systemd[1]: tick"])
    parsed = runtime_log.parse(log, "containerd.log")
    assert [(e.kind, e.evidence.line) for e in parsed.value] == [("oom", 4)] and parsed.problems == []
    assert runtime_log.parse("a\n\nb\n", "x.log").status == "unrecognised"
