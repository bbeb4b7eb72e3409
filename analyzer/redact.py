"""``podmortem redact BUNDLE -o OUT``: a copy of a bundle with its secrets replaced.

The bundle is read by the analyzer's own safe reader (``analyzer.bundle``: nothing extracted,
size caps, hostile members skipped) and a NEW archive is written under a temporary name and
renamed: only the cleaned bundle-relative member names are used, never as paths on disk.

What is replaced, and where the rules come from:

- **The rules are the collector's.** ``collectors/node/podmortem-collect`` holds the one list of
  redaction rules, a ``sed -E`` script (``--print-redact-rules``); the collector pipes what it
  collects through it, and this module reads the same block from the packaged copy of the script
  and translates each POSIX ERE to Python's ``re``. ``# kind: NAME`` comment lines name the kind
  each rule counts as. Example of the block::

      # kind: bearer_token
      s/([Bb]earer[[:space:]]+)[A-Za-z0-9._~+\\/=-]{8,}/\\1[REDACTED]/g

- **Structure-aware passes on top** (Python only, they need more than one line): Kubernetes
  Secret ``data``/``stringData`` values (JSON or YAML, also inside a last-applied annotation);
  YAML block scalars (``value: |``) whose key a rule would redact on one line; a
  ``/proc/<pid>/environ`` member (whole); a ``/proc/<pid>/cmdline`` whose NUL separators the
  reader dropped (it can no longer be split into arguments safely: whole).
- **Optionally host names and IP addresses** (``--hostnames``, ``--ips``): each one mapped to
  a stable pseudonym (``host-1``, ``10.255.0.1``) everywhere in the bundle, as ``sos clean``
  does. Host names are the ones the bundle itself names (manifest, /etc/hostname, syslog and
  journal line prefixes, ``nodeName``, describe's ``Node:``, kubeconfig ``server:``). Member
  names: the collector's top folder (``podmortem-<host>-<time>``) and file names under
  ``commands/`` get the same pseudonyms; node paths (``proc/``, ``sys/``...) are kept as they
  are, the analyzer reads them and they never hold a host name.

A report counts what was replaced by kind and by file, never the values: it is written as
``redaction-report.json`` in OUT and summed up on stdout. Binary and skipped members are not
copied (they cannot be checked) and are listed in the report.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import operator
import os
import re
import tarfile
import tempfile
import time
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path, PurePosixPath

from analyzer.artifacts import Artifact, ArtifactKind
from analyzer.bundle import Limits, open_bundle, unsafe_name_reason
from analyzer.errors import PodmortemError

MARKER = "[REDACTED]"
REPORT_NAME = "redaction-report.json"
REPORT_SCHEMA = "podmortem-redaction/v1"
RE_RULES_BLOCK = re.compile(r"^redact_rules\(\) \{\n\s*cat <<'EOF'\n(?P<body>.*?)\nEOF\n", re.S | re.M)
RE_KIND_LINE = re.compile(r"^#\s*kind:\s*(?P<kind>[a-z0-9_]+)(?P<per_block>,\s*counted per block)?\s*$")


class RedactError(PodmortemError):
    """The rules or the output cannot be used (one line for the CLI)."""


# --- the rules: read from the collector script, translated from POSIX ERE to Python re --------


@dataclass(frozen=True)
class Rule:
    """One ``[/START/,/END/]s/RE/REPL/[g]`` line of the collector's rule block."""

    kind: str
    sed: str
    regex: str  # the s/// expression in Python syntax
    template: tuple  # literal strings and group numbers, in order
    everywhere: bool  # the g flag
    start_regex: str | None = None  # an address range: from a line matching START...
    end_regex: str | None = None  # ...to the next line matching END (both included)
    per_block: bool = False  # a range counts once (a PEM block), not once per line
    # literals any match of the rule (of START for a range) must contain: see required_literals
    needs: Needs = ()

    # The patterns are compiled when first used: quoting a report's cited lines runs 3 of the 34
    # rules (the others lack their literals), and compiling all of them with their ranges' START
    # and END cost 7 ms of every analyze. A pattern Python refuses raises RedactError then.
    @cached_property
    def pattern(self) -> re.Pattern:
        return _compile(self.regex, re.M, self.sed)

    @cached_property
    def start(self) -> re.Pattern | None:
        return _compile(self.start_regex, re.M, self.sed) if self.start_regex is not None else None

    @cached_property
    def end(self) -> re.Pattern | None:
        return _compile(self.end_regex, 0, self.sed) if self.end_regex is not None else None


def _compile(regex: str, flags: int, sed: str) -> re.Pattern:
    try:
        return re.compile(regex, flags)
    except re.error as err:
        raise RedactError(f"rule does not translate to Python ({err}): {sed!r}") from None


POSIX_CLASSES = {
    "space": " \\t\\r\\f\\v",  # never \n: a rule never crosses a line, as in sed
    "blank": " \\t",
    "alnum": "a-zA-Z0-9",
    "alpha": "a-zA-Z",
    "digit": "0-9",
    "upper": "A-Z",
    "lower": "a-z",
    "xdigit": "0-9A-Fa-f",
    "punct": re.escape("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"),
}
ERE_ESCAPABLE = set(".[]()*+?{}|^$\\/")


def _bracket(ere: str, i: int) -> tuple[str, int]:
    """Translate the bracket expression starting at ere[i] == '['; returns (python, next index).

    POSIX: a ']' first is literal, '[:class:]' is a class, backslash is literal (sed turns an
    escaped delimiter '\\/' into '/'). A negated class never matches a newline.
    """
    i += 1
    negate = ere[i] == "^"
    if negate:
        i += 1
    items = []
    first = True
    while i < len(ere):
        c = ere[i]
        if c == "]" and not first:
            break
        first = False
        if ere.startswith("[:", i):
            close = ere.index(":]", i + 2)
            items.append(POSIX_CLASSES[ere[i + 2 : close]])
            i = close + 2
            continue
        if c == "\\" and i + 1 < len(ere) and ere[i + 1] in "\\/":
            items.append(re.escape(ere[i + 1]))
            i += 2
            continue
        if c == "-" and items and i + 1 < len(ere) and ere[i + 1] != "]":
            items.append("-")
        else:
            items.append(re.escape(c) if c in "\\]^[-" else c)
        i += 1
    else:
        raise RedactError(f"unterminated bracket expression in {ere!r}")
    body = "".join(items) + ("\\n" if negate else "")
    return ("[^" if negate else "[") + body + "]", i + 1


def ere_to_python(ere: str) -> str:
    """A POSIX extended regular expression (as sed -E reads it) in Python ``re`` syntax.

    >>> ere_to_python(r'("value"[[:space:]]*:)[^"\\\\]+')
    '("value"[ \\\\t\\\\r\\\\f\\\\v]*:)[^"\\\\\\\\\\\\n]+'
    >>> import re; re.sub(ere_to_python(r'-{1,2}pass[= ][^[:space:]]+'), 'X', 'run --pass=a b')
    'run X b'
    """
    out, i = [], 0
    while i < len(ere):
        c = ere[i]
        if c == "[":
            part, i = _bracket(ere, i)
            out.append(part)
            continue
        if c == "\\":
            if i + 1 >= len(ere) or ere[i + 1] not in ERE_ESCAPABLE:
                raise RedactError(f"unsupported escape in rule {ere!r} (only literal escapes are portable)")
            out.append(re.escape(ere[i + 1]))
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


# --- which rules can match a text at all: literals each rule needs ------------------------------

# A literal is (text, folded): ``folded`` literals are looked for in the lower-cased text (from
# ``[Pp]ass``). An Alternative holds when all its literals are in the text, a Condition when one
# of its alternatives holds; a rule's Needs are Conditions that every match of it satisfies.
Literal = tuple[str, bool]
Alternative = tuple[Literal, ...]
Condition = tuple[Alternative, ...]
Needs = tuple[Condition, ...]
RE_INTERVAL = re.compile(r"\{(\d+)(?:,\d*)?\}")


class _Unread(Exception):
    """A construct required_literals does not read: the rule gets no literals and always runs."""


def required_literals(ere: str) -> Needs:
    """Literals every match of a POSIX ERE contains, as conditions that must all hold.

    Quoting a cited line ran the 34 rules over it (34 regex passes, most without a literal to
    skip ahead on) though a kernel or kubelet line can match two or three of them: a rule now runs
    only on a text holding its literals (``Bearer``, ``-----BEGIN``, ``://`` and ``@``...). They
    are read from the rule itself: a run of characters every match spells (``[Pp]`` is ``p`` of
    the lower-cased text), for a group one alternative per branch (the literals that branch
    needs). Anything else (a bracket, ``.``, ``*``, ``{0,n}``) only ends a run, so the literals
    never ask more than the rule does; a construct not read gives none (the rule always runs).

    >>> required_literals(r'([Bb]earer[[:space:]]+)[A-Za-z0-9]{8,}')
    (((('bearer', True),),),)
    >>> required_literals(r'(AKIA|[Aa][Pp][Ii]_?[Kk]ey)=[0-9]{16}')
    (((('AKIA', False),), (('api', True), ('key', True))), ((('=', False),),))
    >>> required_literals(r'x*')
    ()
    """
    try:
        conditions, i = _alternation(ere, 0)
        if i != len(ere):
            raise _Unread
    except (_Unread, RedactError, IndexError, ValueError):
        return ()
    needs = [tuple(sorted(tuple(sorted(alternative)) for alternative in condition)) for condition in dict.fromkeys(conditions)]
    needs.sort(key=lambda c: -_weakest(c))  # the longest (rarest) literals first: a failing test ends the check
    return tuple(needs)


def _weakest(condition) -> int:
    """Length of the shortest literal a condition may rest on (its longest one per alternative)."""
    return min(max(len(text) for text, _ in alternative) for alternative in condition)


def _alternation(ere: str, i: int) -> tuple[list[frozenset], int]:
    """Conditions of ``a|b|...`` from ere[i]: a single branch's own, or one alternative per branch."""
    branches = []
    while True:
        conditions, i = _sequence(ere, i)
        branches.append(conditions)
        if i < len(ere) and ere[i] == "|":
            i += 1
            continue
        break
    if len(branches) == 1:
        return branches[0], i
    alternatives = []
    for conditions in branches:
        # what this branch needs in every match: the conditions that have a single alternative
        needed = frozenset(literal for condition in conditions if len(condition) == 1 for literal in next(iter(condition)))
        if not needed:
            return [], i  # a branch that needs nothing: the group needs nothing
        alternatives.append(needed)
    return [frozenset(alternatives)], i


def _sequence(ere: str, i: int) -> tuple[list[frozenset], int]:
    conditions: list[frozenset] = []
    run: list[Literal] = []  # characters every match spells in a row, each (char, case-folded)

    def end_run() -> None:
        if run:
            text, folded = "".join(c for c, _ in run), any(f for _, f in run)
            conditions.append(frozenset({frozenset({(text.lower() if folded else text, folded)})}))
            run.clear()

    while i < len(ere) and ere[i] not in "|)":
        atom, i = _atom(ere, i)
        least, once = 1, True
        if i < len(ere) and ere[i] in "*+?{":
            least, i = _least(ere, i)
            once = False
        if atom is None or least == 0:
            end_run()
        elif isinstance(atom, list):  # a group
            end_run()
            conditions.extend(atom)
        else:
            run.append(atom)
            if not once:
                end_run()  # how many repeats follow is not known
    end_run()
    return conditions, i


def _atom(ere: str, i: int) -> tuple[Literal | list[frozenset] | None, int]:
    """(char, case-folded), a group's conditions, or None (matches something not read); and the next index."""
    c = ere[i]
    if c == "(":
        inner, i = _alternation(ere, i + 1)
        if i >= len(ere) or ere[i] != ")":
            raise _Unread
        return inner, i + 1
    if c == "[":
        end = _bracket_end(ere, i)
        body = ere[i + 1 : end - 1]
        if len(body) == 2 and body.isascii() and body.isalpha() and body[0] != body[1] and body[0].lower() == body[1].lower():
            return (body[0].lower(), True), end  # [Pp]
        return None, end
    if c == "\\":
        if i + 1 >= len(ere) or ere[i + 1] not in ERE_ESCAPABLE:
            raise _Unread
        return (ere[i + 1], False), i + 2
    if c in ".^$":
        return None, i + 1
    if c in "*+?{":
        raise _Unread  # a quantifier with nothing to repeat
    return (c, False), i + 1


def _bracket_end(ere: str, i: int) -> int:
    """The index after the bracket expression at ere[i] == '[', found as _bracket finds it."""
    i += 1
    if ere[i] == "^":
        i += 1
    first = True
    while i < len(ere):
        if ere[i] == "]" and not first:
            return i + 1
        first = False
        if ere.startswith("[:", i):
            i = ere.index(":]", i + 2) + 2
        elif ere[i] == "\\" and i + 1 < len(ere) and ere[i + 1] in "\\/":
            i += 2
        else:
            i += 1
    raise _Unread


def _least(ere: str, i: int) -> tuple[int, int]:
    """The least number of repeats of the quantifier at ere[i], and the index after it."""
    if ere[i] == "{":
        interval = RE_INTERVAL.match(ere, i)
        if interval is None:
            raise _Unread
        return int(interval.group(1)), interval.end()
    return (1 if ere[i] == "+" else 0), i + 1


def may_match(needs: Needs, text: str, lowered: str | None = None) -> tuple[bool, str | None]:
    """Does ``text`` hold what a rule needs? Also returns text.lower() when it had to make it.

    >>> may_match(required_literals(r'[Bb]earer +x'), 'Authorization: BEARER x')
    (True, 'authorization: bearer x')
    >>> may_match(required_literals(r'://[^@]+@'), 'Killed process 42 (java)')[0]
    False
    """
    for condition in needs:
        for alternative in condition:
            for literal, folded in alternative:
                if folded:
                    if lowered is None:
                        lowered = text.lower()
                    if literal not in lowered:
                        break
                elif literal not in text:
                    break
            else:
                break  # every literal of this alternative is there
        else:
            return False, lowered
    return True, lowered


class Screen:
    """A test for the literals of many rules at once: when the lower-cased text holds none of them,
    none of those rules can match it. Each rule brings one literal per alternative of its rarest
    condition, lower-cased (an exact ``Bearer`` is also in the lower-cased text as ``bearer``), and
    a literal holding another one is left out (``client-secret`` goes where ``secret`` goes). Rules
    whose condition rests on one character (``.``, ``"``: in every log line) are not in it.

    A kernel line then costs one pass of 33 substring tests (3 us) and the two rules outside the
    screen, against a test per rule (17 us) or a regex pass per rule (45 us)."""

    __slots__ = ("order", "literals", "jump")  # a plain class: a dataclass costs 0.3 ms of every start

    def __init__(self, order: tuple, literals: tuple[str, ...], jump: tuple[int, ...]) -> None:
        self.order = order  # the rules it was made for, in order
        self.literals = literals
        self.jump = jump  # jump[i]: index of the first rule from i on that is not in the screen (len(order): none)

    def excludes_all(self, lowered: str) -> bool:
        """True when no rule of the screen can match the text whose lower-case copy is ``lowered``."""
        return not any(map(lowered.__contains__, self.literals))

    def made_for(self, rules: list[Rule]) -> bool:
        return len(rules) == len(self.order) and all(map(operator.is_, rules, self.order))


def screen_for(rules: list[Rule]) -> Screen:
    """The Screen of ``rules`` (load_rules makes the one of the collector's rules)."""
    covered, literals = [], set()
    for rule in rules:
        key = [max(alternative, key=lambda lit: len(lit[0]))[0].lower() for alternative in rule.needs[0]] if rule.needs else []
        covered.append(bool(key) and min(len(text) for text in key) >= 2)
        if covered[-1]:
            literals.update(key)
    kept = sorted(text for text in literals if not any(other != text and other in text for other in literals))
    jump, following = [len(rules)], len(rules)
    for i in reversed(range(len(rules))):
        following = following if covered[i] else i
        jump.append(following)
    return Screen(order=tuple(rules), literals=tuple(kept), jump=tuple(reversed(jump)))


def _split_sed(text: str, i: int) -> tuple[str, int]:
    """The part up to the next unescaped '/' from text[i]; returns (part, index after the '/')."""
    j = i
    while j < len(text):
        if text[j] == "\\":
            j += 2
            continue
        if text[j] == "/":
            return text[i:j], j + 1
        j += 1
    raise RedactError(f"unterminated sed expression: {text!r}")


def _template(replacement: str) -> tuple:
    """sed replacement text as literal strings and group numbers (\\1..\\9, & is group 0)."""
    parts: list = []
    literal = []
    i = 0
    while i < len(replacement):
        c = replacement[i]
        if c == "\\" and i + 1 < len(replacement):
            nxt = replacement[i + 1]
            if nxt.isdigit():
                parts.extend(["".join(literal), int(nxt)])
                literal = []
            else:
                literal.append(nxt)
            i += 2
            continue
        if c == "&":
            parts.extend(["".join(literal), 0])
            literal = []
        else:
            literal.append(c)
        i += 1
    parts.append("".join(literal))
    return tuple(p for p in parts if p != "")


def parse_rule(line: str, kind: str, per_block: bool = False) -> Rule:
    """One sed command line as a Rule.

    >>> r = parse_rule(r's/([Bb]earer[[:space:]]+)[A-Za-z0-9]{8,}/\\1[REDACTED]/g', 'bearer_token')
    >>> r.pattern.sub(lambda m: m.group(1) + MARKER, 'Authorization: Bearer abcdefgh1234')
    'Authorization: Bearer [REDACTED]'
    """
    start = end = None
    i = 0
    if line.startswith("/"):
        start, i = _split_sed(line, 1)
        if not line.startswith(",/", i):
            raise RedactError(f"only /START/,/END/ address ranges are supported: {line!r}")
        end, i = _split_sed(line, i + 2)
    if not line.startswith("s/", i):
        raise RedactError(f"only s/// commands are supported in the rules: {line!r}")
    regex, i = _split_sed(line, i + 2)
    replacement, i = _split_sed(line, i)
    flags = line[i:].strip()
    if flags not in ("", "g"):
        raise RedactError(f"unsupported sed flags {flags!r} in {line!r}")
    return Rule(kind=kind, sed=line, regex=ere_to_python(regex), template=_template(replacement), everywhere=flags == "g",
                start_regex=ere_to_python(start) if start is not None else None,
                end_regex=ere_to_python(end) if end is not None else None,
                per_block=per_block, needs=required_literals(start if start is not None else regex))


def rules_from_script(script_text: str) -> list[Rule]:
    """The rules of the collector script's ``redact_rules`` block, in order, with their kinds."""
    block = RE_RULES_BLOCK.search(script_text)
    if block is None:
        raise RedactError("the collector script has no redact_rules block: cannot load the redaction rules")
    return parse_rules(block.group("body"))


def parse_rules(body: str) -> list[Rule]:
    """Rules from the text --print-redact-rules prints.

    >>> [r.kind for r in parse_rules("# kind: jwt\\ns/eyJ[A-Za-z0-9]+/[REDACTED]/g\\n")]
    ['jwt']
    """
    rules, kind, per_block = [], "secret", False
    for line in body.splitlines():
        if not line.strip():
            continue
        named = RE_KIND_LINE.match(line)
        if named:
            kind, per_block = named.group("kind"), bool(named.group("per_block"))
            continue
        if line.startswith("#"):
            continue
        rules.append(parse_rule(line, kind, per_block))
    if not rules:
        raise RedactError("the collector's redaction rule block is empty")
    return rules


_RULES: list[Rule] | None = None
_SCREEN: Screen | None = None


def load_rules() -> list[Rule]:
    """The rules of the packaged collector script (the repository's in a checkout), parsed once."""
    global _RULES, _SCREEN
    if _RULES is None:
        from analyzer.collect import collector_script_path

        rules = rules_from_script(collector_script_path().read_text(encoding="utf-8"))
        _SCREEN = screen_for(rules)
        _RULES = rules
    return _RULES


# --- applying the rules -------------------------------------------------------------------


def _expand(rule: Rule, match: re.Match) -> str:
    return "".join(p if isinstance(p, str) else (match.group(p) or "") for p in rule.template)


def _unmarked(text: str) -> str:
    return text.replace(MARKER, "").replace('"', "").replace("'", "")


def _substitute(rule: Rule, text: str, counts: Counter) -> str:
    """rule.pattern over text; counts only replacements that removed something (not a re-quoted marker)."""
    changed = 0

    def replace(match: re.Match) -> str:
        nonlocal changed
        new = _expand(rule, match)
        if _unmarked(new) != _unmarked(match.group(0)):
            changed += 1
        return new

    result = rule.pattern.sub(replace, text, count=0 if rule.everywhere else 1)
    if changed:
        counts[rule.kind] += changed
    return result


def _substitute_each_line(rule: Rule, text: str, counts: Counter) -> str:
    """A rule without g: at most once per line, as sed does."""
    if not rule.pattern.search(text):
        return text
    return "\n".join(_substitute(rule, line, counts) for line in text.split("\n"))


def _apply_range(rule: Rule, text: str, counts: Counter) -> str:
    """/START/,/END/s///: from a line matching START to the next line matching END, both included.

    As in sed, END is looked for from the line after START, on the line as earlier rules left it.
    """
    if rule.start_regex is None or not rule.start.search(text):
        return text
    lines = text.split("\n")
    active, in_block = False, Counter()
    for no, line in enumerate(lines):
        if not active:
            if not rule.start.search(line):
                continue
            active, last, in_block = True, False, Counter()
        else:
            last = rule.end.search(line) is not None
        lines[no] = _substitute(rule, line, in_block)
        if last or no == len(lines) - 1:
            active = False
            _count_block(rule, in_block, counts)
    return "\n".join(lines)


def _count_block(rule: Rule, in_block: Counter, counts: Counter) -> None:
    if in_block:
        counts[rule.kind] += 1 if rule.per_block else in_block[rule.kind]


# Texts up to this size are tested for the rules' literals first (quotes, single lines: most skip every
# rule); a bigger one (a whole file for ``podmortem redact``) holds most literals anyway, and testing
# the folded ones would copy it lower-cased after each rule that changed it.
GATED_MAX_CHARS = 1 << 20


def apply_rules(text: str, rules: list[Rule], counts: Counter) -> str:
    """Every rule in order over text, as ``sed -E -f rules`` would (lines never cross).

    >>> c = Counter()
    >>> apply_rules("run --password=hunter2 ok\\n", load_rules(), c), dict(c)
    ('run --password=[REDACTED] ok\\n', {'password_option': 1})
    """
    gated = len(text) <= GATED_MAX_CHARS
    screen, lowered = _SCREEN, text.lower() if gated else None
    jump = screen.jump if gated and screen is not None and screen.excludes_all(lowered) and screen.made_for(rules) else None
    i = 0
    while i < len(rules):
        if jump is not None:  # the screen's rules cannot match: on to the next rule outside it
            i = jump[i]
            if i == len(rules):
                break
        rule = rules[i]
        i += 1
        if gated and rule.needs:
            holds, lowered = may_match(rule.needs, text, lowered)
            if not holds:
                continue  # the rule cannot match this text (required_literals)
        before = text
        text = apply_rule(rule, text, counts)
        if text is not before:  # a replacement: literals are looked for again in the new text
            lowered, jump = None, None
    return text


def apply_rule(rule: Rule, text: str, counts: Counter) -> str:
    """One rule over the text: a range rule from START to END lines, an s///g everywhere, or line by line."""
    if rule.start_regex is not None:
        return _apply_range(rule, text, counts)
    if rule.everywhere:
        return _substitute(rule, text, counts)
    return _substitute_each_line(rule, text, counts)


def kind_of_line(line: str, rules: list[Rule]) -> str | None:
    """The kind of the first rule that would redact this one line, or None."""
    counts: Counter = Counter()
    apply_rules(line, rules, counts)
    return next(iter(counts), None)


# --- structure-aware passes (Python only) ----------------------------------------------------

RE_SECRET_KIND = re.compile(r"""["']?kind\\?["']?\s*:\s*\\?["']?Secret\b""")
RE_YAML_BLOCK_KEY = re.compile(r"^(?P<indent>[ \t]*)(?P<dash>-[ \t]+)?(?P<key>[A-Za-z0-9_.-]+)[ \t]*:[ \t]*[|>][-+0-9]*[ \t]*$")
RE_PROC_FILE = re.compile(r"(?:^|/)proc/\d+/(?P<file>environ|cmdline)$")
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def _secret_objects(value) -> list[dict]:
    """Kubernetes Secret objects anywhere in a decoded JSON/YAML value (Lists, annotations)."""
    found, stack, seen = [], [value], set()
    while stack:
        item = stack.pop()
        if id(item) in seen:  # YAML aliases share objects: walk each once (no alias bomb)
            continue
        seen.add(id(item))
        if isinstance(item, dict):
            if item.get("kind") == "Secret":
                found.append(item)
            annotations = (item.get("metadata") or {}).get("annotations") if isinstance(item.get("metadata"), dict) else None
            if isinstance(annotations, dict) and isinstance(annotations.get(LAST_APPLIED), str):
                try:
                    stack.append(json.loads(annotations[LAST_APPLIED]))
                except ValueError:
                    pass
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _decoded_documents(text: str) -> list:
    try:
        return [json.loads(text)]
    except ValueError:
        pass
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return [d for d in yaml.load_all(text, Loader=loader) if d is not None]
    except (yaml.YAMLError, RecursionError, ValueError):
        return []


def _secret_value_forms(value: str) -> list[str]:
    """How a Secret value can appear in the text: as is, JSON-escaped, JSON-in-JSON-escaped."""
    escaped = json.dumps(value)[1:-1]
    forms = {value, escaped, json.dumps(escaped)[1:-1]}
    if "\n" in value:  # a YAML block scalar: each line on its own
        forms.update(line.strip() for line in value.splitlines() if len(line.strip()) >= 4)
        forms.discard(value)
    return sorted((f for f in forms if f), key=len, reverse=True)


def redact_secret_data(text: str, counts: Counter) -> str:
    """Kubernetes Secret data/stringData values replaced where their key names them.

    >>> c = Counter()
    >>> redact_secret_data('{"kind": "Secret", "data": {"pw": "aHVudGVyMg=="}}', c), dict(c)
    ('{"kind": "Secret", "data": {"pw": "[REDACTED]"}}', {'secret_data': 1})
    """
    if "Secret" not in text or not RE_SECRET_KIND.search(text):
        return text
    entries = set()
    for document in _decoded_documents(text):
        for secret in _secret_objects(document):
            for section in ("data", "stringData"):
                values = secret.get(section)
                if isinstance(values, dict):
                    entries.update((str(k), v) for k, v in values.items() if isinstance(v, str) and v)
    for key, value in sorted(entries):
        key_re = r"""\\?["']?""" + re.escape(key) + r"""\\?["']?[ \t]*:[ \t]*(?:[|>][-+0-9]*\s*)?\\?["']?"""
        replaced = 0
        for form in _secret_value_forms(value):
            if "\n" in value:  # lines of a block scalar: wherever they stand alone on a line
                pattern = re.compile(r"(?m)^(?P<keep>[ \t]*)" + re.escape(form) + r"[ \t]*$")
            else:
                pattern = re.compile(r"(?P<keep>" + key_re + r")" + re.escape(form) + r"""(?=\\?["',}\s]|$)""")
            text, n = pattern.subn(lambda m: m.group("keep") + MARKER, text)
            replaced += n
        if replaced:
            counts["secret_data"] += 1
    return text


def redact_yaml_blocks(text: str, rules: list[Rule], counts: Counter) -> str:
    """A YAML block scalar (``value: |`` + indented lines) whose key a rule redacts on one line.

    Each content line keeps its indentation (the YAML stays valid), one count per block.

    >>> c = Counter()
    >>> redact_yaml_blocks("  env:\\n  - name: K\\n    value: |\\n      line1\\n      line2\\n  x: 1\\n", load_rules(), c)
    '  env:\\n  - name: K\\n    value: |\\n      [REDACTED]\\n      [REDACTED]\\n  x: 1\\n'
    >>> dict(c)
    {'env_value': 1}
    """
    if "|" not in text and ">" not in text:
        return text
    lines = text.split("\n")
    no = 0
    while no < len(lines):
        head = RE_YAML_BLOCK_KEY.match(lines[no])
        no += 1
        if not head:
            continue
        kind = kind_of_line(f"{head.group('indent')}{head.group('dash') or ''}{head.group('key')}: x0x0x0x0", rules)
        if kind is None:
            continue
        key_indent = len(head.group("indent")) + len(head.group("dash") or "")
        changed = False
        while no < len(lines):
            line = lines[no]
            body = line.lstrip(" \t")
            if body and len(line) - len(body) <= key_indent:
                break
            if body and body != MARKER:
                lines[no] = line[: len(line) - len(body)] + MARKER
                changed = True
            no += 1
        if changed:
            counts[kind] += 1
    return "\n".join(lines)


def redact_proc_file(artifact: Artifact, text: str, counts: Counter) -> str | None:
    """A /proc/<pid>/environ (always) or a cmdline that lost its NUL separators: replaced whole."""
    match = RE_PROC_FILE.search(artifact.path)
    if match is None:
        return None
    if match.group("file") == "environ":
        counts["environ_file"] += 1
        return MARKER + "\n"
    if len(text.encode("utf-8")) != artifact.size and "\x00" not in text:  # NULs dropped by the reader
        counts["cmdline_file"] += 1
        return MARKER + "\n"
    return None


def redact_text(text: str, rules: list[Rule], counts: Counter) -> str:
    """The structure-aware passes, then the collector's rules.

    >>> c = Counter()
    >>> redact_text('curl -H "Authorization: Basic dXNlcjpwYXNz" https://x\\n', load_rules(), c), dict(c)
    ('curl -H "Authorization: [REDACTED]" https://x\\n', {'authorization_header': 1})
    """
    text = redact_secret_data(text, counts)
    text = redact_yaml_blocks(text, rules, counts)
    return apply_rules(text, rules, counts)


QUOTE_CONTEXT_LINES = 64


def rules_cannot_change(text: str) -> bool:
    """True when ``redact_text`` would give ``text`` back as it is, by the tests it makes first: no
    Secret object, no YAML block scalar, and the literals that every rule's match needs are absent
    (the screen's, then those of the rules outside it). Each test looks for something that would be
    in a longer text if it were in a part of it, so a text of many quoted lines passes only when none
    of its lines can be changed (lines joined may hold a literal none has alone: then False, the safe
    answer). Quoting 1,300 counter lines of a 110-pod node costs one such test a file, not a redaction
    pass a line.

    >>> rules_cannot_change("rss 8192\\ncache 4096"), rules_cannot_change("--password=hunter2")
    (True, False)
    """
    if "Secret" in text or "|" in text or ">" in text or len(text) > GATED_MAX_CHARS:
        return False
    try:
        rules = load_rules()
    except PodmortemError:
        return False
    screen, lowered = _SCREEN, text.lower()
    if screen is None or not screen.made_for(rules) or not screen.excludes_all(lowered):
        return False
    i = screen.jump[0]
    while i < len(rules):  # the rules the screen does not cover
        if not rules[i].needs or may_match(rules[i].needs, text, lowered)[0]:
            return False
        i = screen.jump[i + 1]
    return True


def redact_quotes(lines: list[str], indexes: list[int], context: int = QUOTE_CONTEXT_LINES) -> dict[int, str]:
    """The lines at ``indexes`` as a report may quote them: redacted, each with up to 64 earlier
    lines as context (an Environment block, a PEM block, an option whose value is on the next
    line). Nearby quotes share one redacted stretch of text.

    >>> redact_quotes(["    Environment:", "      DB_PASSWORD:  hunter2", "      MODE:  fast"], [1, 2])
    {1: '      DB_PASSWORD:  [REDACTED]', 2: '      MODE:  [REDACTED]'}
    """
    try:
        rules = load_rules()
        return _redacted_stretches(lines, indexes, context, rules)
    except PodmortemError:  # no rules to apply (the collector script is missing, a rule Python refuses): quote nothing
        return {i: "[line not quoted: the redaction rules could not be loaded]" for i in indexes}


def _redacted_stretches(lines: list[str], indexes: list[int], context: int, rules: list[Rule]) -> dict[int, str]:
    quoted: dict[int, str] = {}
    wanted = set(indexes)
    stretch_start = stretch_end = None
    for index in sorted(wanted) + [None]:
        if index is not None and stretch_end is not None and index - context <= stretch_end + 1:
            stretch_end = index
            continue
        if stretch_end is not None:
            text = redact_text("\n".join(lines[stretch_start : stretch_end + 1]), rules, Counter())
            for offset, line in enumerate(text.split("\n")):
                if stretch_start + offset in wanted:
                    quoted[stretch_start + offset] = line
        if index is not None:
            stretch_start, stretch_end = max(0, index - context), index
    return quoted


# --- host names and IP addresses: stable pseudonyms ------------------------------------------

RE_SYSLOG_HOST = re.compile(
    r"(?m)^(?:[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?)"
    r" (?P<host>[A-Za-z0-9][A-Za-z0-9.-]*) [A-Za-z0-9_./@-]+(?:\[\d+\])?:"
)
RE_HOST_FIELD = re.compile(
    r"""(?m)(?:"(?:nodeName|hostname|node|kubernetes\.io/hostname|hostnameOverride)"\s*:\s*"|"""
    r"""^\s*(?:nodeName|kubernetes\.io/hostname|hostnameOverride|Hostname|InternalDNS|ExternalDNS)\s*:\s*["']?|"""
    r"""^Node:\s+)(?P<host>[A-Za-z0-9][A-Za-z0-9.-]*)"""
)
RE_DESCRIBE_NODE_NAME = re.compile(r"(?m)^Name:\s+(?P<host>[A-Za-z0-9][A-Za-z0-9.-]*)\s*$")
RE_SERVER_URL = re.compile(r"""(?m)^\s*"?server"?\s*:\s*"?https?://(?P<host>[A-Za-z0-9][A-Za-z0-9.-]*)""")
RE_COLLECTOR_TOP = re.compile(r"^podmortem-(?P<host>.+)-(?P<stamp>\d{8}T\d{6}Z(?:-\d+)?)$")
RE_IPV4 = re.compile(r"(?<![0-9A-Za-z.])(?:\d{1,3}\.){3}\d{1,3}(?![0-9A-Za-z]|\.\d)")
RE_IPV6 = re.compile(
    r"(?<![0-9A-Za-z:.])(?:(?:[0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}"
    r"|(?:[0-9a-fA-F]{1,4}:){1,7}:(?:[0-9a-fA-F]{1,4}(?::[0-9a-fA-F]{1,4}){0,6})?"
    r"|::(?:[0-9a-fA-F]{1,4}:){0,6}[0-9a-fA-F]{1,4})(?![0-9A-Za-z:])"
)
NOT_HOSTS = {"localhost", "localhost.localdomain", "kernel", "none", "unknown", "node", "ip6-localhost"}


def _plausible_host(name: str) -> bool:
    name = name.strip(".").lower()
    return len(name) >= 2 and name not in NOT_HOSTS and not re.fullmatch(r"[\d.]+", name) and not name.startswith("<")


@dataclass
class Pseudonyms:
    """Consistent host-N / domain-N / 10.255.x.y pseudonyms for one bundle (never written out)."""

    hostnames: bool = False
    ips: bool = False
    hosts: dict[str, str] = field(default_factory=dict)
    domains: dict[str, str] = field(default_factory=dict)
    addresses: dict[str, str] = field(default_factory=dict)
    _host_re: re.Pattern | None = None

    def learn(self, artifacts: list[Artifact]) -> None:
        """Host names the bundle itself names; compiles the matcher."""
        if not self.hostnames:
            return
        found: list[str] = []
        for artifact in artifacts:
            text = artifact.text
            found += [m.group("host") for m in RE_SYSLOG_HOST.finditer(text)]
            found += [m.group("host") for m in RE_HOST_FIELD.finditer(text)]
            found += [m.group("host") for m in RE_SERVER_URL.finditer(text)]
            if artifact.kind is ArtifactKind.DESCRIBE_NODE:
                found += [m.group("host") for m in RE_DESCRIBE_NODE_NAME.finditer(text)]
            if PurePosixPath(artifact.path).name == "hostname" and (artifact.node_path or "").startswith("etc/"):
                found += text.split()[:1]
            top = RE_COLLECTOR_TOP.match(artifact.path.split("/", 1)[0])
            if top:
                found.append(top.group("host"))
        for name in found:
            if _plausible_host(name):
                self._add_host(name.strip(".").lower())
        self._compile()

    def _add_host(self, name: str) -> None:
        short, _, domain = name.partition(".")
        if short not in self.hosts:
            self.hosts[short] = f"host-{len(self.hosts) + 1}"
        if domain.count(".") >= 1 and domain not in self.domains:
            self.domains[domain] = f"domain-{len(self.domains) + 1}.example"

    def _compile(self) -> None:
        alternatives = []
        if self.domains:
            names = "|".join(re.escape(d) for d in sorted(self.domains, key=len, reverse=True))
            alternatives.append(r"(?<![A-Za-z0-9_.-])(?P<fqdn>(?:[A-Za-z0-9-]+\.)+?)(?P<domain>" + names + r")")
        for short in sorted(self.hosts, key=len, reverse=True):
            # '-', '/' before and '.x' after a name are boundaries for long names only (etcd-<node>
            # static pods, /api/v1/nodes/<node>, describe-<node>.txt), not for short ones: total-vm,
            # proc/sys/vm, vm.overcommit_memory
            if len(short) < 5:
                alternatives.append(r"(?:(?<=//)|(?<![A-Za-z0-9_./-]))" + re.escape(short) + r"(?!\.[A-Za-z0-9])")
            else:
                alternatives.append(r"(?<![A-Za-z0-9_.])" + re.escape(short))
        if alternatives:  # never a JSON/YAML key ("node": ...), a port after a colon is fine
            self._host_re = re.compile(r"(?i)(?:" + "|".join(alternatives) + r")(?![A-Za-z0-9_-])(?!\"?:(?!\d))")

    def _host_for(self, match: re.Match) -> str:
        if match.groupdict().get("domain"):
            short = match.group("fqdn").rstrip(".").lower()
            if short not in self.hosts:
                self.hosts[short] = f"host-{len(self.hosts) + 1}"
            return f"{self.hosts[short]}.{self.domains[match.group('domain').lower()]}"
        return self.hosts.get(match.group(0).lower(), match.group(0))

    def _ip_for(self, ip: str) -> str:
        if ":" in ip:
            if ip in ("::", "::1"):
                return ip
            key = ip.lower()
            if key not in self.addresses:
                self.addresses[key] = f"fd00::ff:{len(self.addresses) + 1:x}"
            return self.addresses[key]
        octets = [int(o) for o in ip.split(".")]
        if max(octets) > 255 or octets[0] in (0, 127, 255):  # not an address, loopback, netmask
            return ip
        if ip not in self.addresses:
            n = len(self.addresses)
            self.addresses[ip] = f"10.255.{n // 254}.{n % 254 + 1}"
        return self.addresses[ip]

    def apply(self, text: str, counts: Counter) -> str:
        """Host names and IPs (as enabled) replaced by their pseudonyms; counted by kind."""
        if self.hostnames and self._host_re is not None:
            text, n = self._host_re.subn(self._host_for, text)
            if n:
                counts["hostname"] += n
        if self.ips:
            for regex in (RE_IPV4, RE_IPV6):
                text = regex.sub(lambda m: self._counted(m.group(0), counts), text)
        return text

    def _counted(self, ip: str, counts: Counter) -> str:
        new = self._ip_for(ip)
        if new != ip:
            counts["ip_address"] += 1
        return new

    def member_name(self, artifact_path: str, node_path: str | None) -> str:
        """The member name with the collector's top folder and commands/ file names pseudonymised."""
        if not self.hostnames:
            return artifact_path
        parts = artifact_path.split("/")
        node_parts = len(node_path.split("/")) if node_path else 0
        prefix, rest = parts[: len(parts) - node_parts], parts[len(parts) - node_parts :]
        new_prefix = []
        for part in prefix:
            top = RE_COLLECTOR_TOP.match(part)
            if top and _plausible_host(top.group("host")):
                host = self.hosts.get(top.group("host").lower(), top.group("host"))
                part = f"podmortem-{host}-{top.group('stamp')}"
            else:
                part = self.apply(part, Counter()) if part else part
            new_prefix.append(part)
        if rest[:1] == ["commands"] and len(rest) == 2:
            stem, dot, ext = rest[1].rpartition(".")
            rest[1] = (self.apply(stem, Counter()) + dot + ext) if dot else self.apply(rest[1], Counter())
        return "/".join(new_prefix + rest)


# --- the whole bundle ---------------------------------------------------------------------


@dataclass
class RedactionResult:
    output: Path
    members: int = 0
    totals: Counter = field(default_factory=Counter)
    by_file: dict[str, dict[str, int]] = field(default_factory=dict)
    dropped: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    hostnames: int = 0
    ip_addresses: int = 0
    distinct_hosts: int = 0
    distinct_ips: int = 0

    def summary(self) -> str:
        """A few lines for the terminal: counts only, never a value."""
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(self.totals.items())) or "nothing to replace"
        lines = [
            f"podmortem: redacted bundle written to {self.output}",
            f"  {sum(self.totals.values())} replacement(s) in {len(self.by_file)} of {self.members} file(s): {kinds}",
        ]
        if self.hostnames or self.ip_addresses:
            lines.append(f"  pseudonyms: {self.hostnames} host name(s), {self.ip_addresses} IP address(es)")
        if self.dropped:
            lines.append(f"  {len(self.dropped)} member(s) not copied (binary, skipped or unreadable): see {REPORT_NAME}")
        lines += [f"  warning: {w}" for w in self.warnings[:5]]
        return "\n".join(lines)


def _reading_limits() -> Limits:
    """The analyzer's caps, but every log read whole: a redacted bundle keeps every line."""
    limits = Limits()
    if hasattr(limits, "stream_threshold_bytes"):
        limits.stream_threshold_bytes = limits.max_member_bytes
    return limits


def _top_folder(names: list[str]) -> str | None:
    tops = {n.split("/", 1)[0] for n in names if "/" in n}
    return tops.pop() if len(tops) == 1 and all("/" in n for n in names) else None


def _check_output(output: Path, source: Path, force: bool) -> None:
    if output.is_dir():
        raise RedactError(f"{output} is a directory: give the path of the archive to write")
    if not output.parent.is_dir():
        raise RedactError(f"output directory {output.parent} does not exist")
    if output.exists() or output.is_symlink():
        if not force:
            raise RedactError(f"{output} already exists (use --force to replace it)")
        if source.exists() and output.resolve() == source.resolve():
            raise RedactError("the output would replace the bundle being redacted: choose another path")


def redact_bundle(source: Path, output: Path, *, hostnames: bool = False, ips: bool = False, force: bool = False,
                  rules: list[Rule] | None = None) -> RedactionResult:
    """Read ``source`` safely, write the redacted copy to ``output``; raises PodmortemError subclasses."""
    source, output = Path(source), Path(output)
    _check_output(output, source, force)
    rules = rules if rules is not None else load_rules()
    bundle = open_bundle(source, _reading_limits())
    result = RedactionResult(output=output)
    pseudonyms = Pseudonyms(hostnames=hostnames, ips=ips)
    pseudonyms.learn(bundle.artifacts)
    members: dict[str, bytes] = {}
    for artifact in bundle.artifacts:
        if getattr(artifact, "line_numbers", None) is not None:  # a log the reader kept only parts of
            result.dropped.append({"path": artifact.path, "reason": "read only in part (filtered log): not copied"})
            continue
        if PurePosixPath(artifact.path).name == REPORT_NAME:
            result.warnings.append(f"{artifact.path}: an earlier redaction report, replaced by this one")
            continue
        counts: Counter = Counter()
        text = redact_proc_file(artifact, artifact.text, counts)
        if text is None:
            text = redact_text(artifact.text, rules, counts)
        text = pseudonyms.apply(text, counts)
        name = pseudonyms.member_name(artifact.path, artifact.node_path)
        if unsafe_name_reason(name) or name in members:
            result.dropped.append({"path": artifact.path, "reason": "member name unusable after pseudonyms"})
            continue
        members[name] = text.encode("utf-8")
        if artifact.truncated:
            result.warnings.append(f"{name}: cut at the reader's size cap; the copy holds what was read")
        secrets = Counter({k: n for k, n in counts.items() if k not in ("hostname", "ip_address")})
        result.hostnames += counts["hostname"]
        result.ip_addresses += counts["ip_address"]
        if secrets:
            result.by_file[name] = dict(sorted(secrets.items()))
            result.totals.update(secrets)
    for entry in bundle.files:
        if entry.status == "skipped":
            result.dropped.append({"path": _printable(entry.path), "reason": entry.note or "skipped by the reader"})
    result.warnings += [f"{w.file + ': ' if w.file else ''}{w.message}" for w in bundle.warnings if "skipped member" not in w.message]
    result.members = len(members)
    result.distinct_hosts, result.distinct_ips = len(pseudonyms.hosts), len(pseudonyms.addresses)
    _refresh_manifest(members)
    report_name = f"{top}/{REPORT_NAME}" if (top := _top_folder(list(members))) else REPORT_NAME
    members[report_name] = _report_json(result, source, hostnames, ips, rules)
    _write_archive(output, members)
    return result


def _printable(name: str) -> str:
    return name.encode("unicode_escape", "replace").decode("ascii", "replace")[:300]


def _refresh_manifest(members: dict[str, bytes]) -> None:
    """The collector's manifest.json: marked redacted, sizes and digests of the new contents."""
    for name in [n for n in members if PurePosixPath(n).name == "manifest.json"]:
        try:
            manifest = json.loads(members[name])
        except ValueError:
            continue
        if not isinstance(manifest, dict) or manifest.get("collector") != "podmortem-collect":
            continue
        base = name[: -len("manifest.json")]
        for entry in manifest.get("files") or []:
            data = members.get(base + str(entry.get("path", ""))) if isinstance(entry, dict) else None
            if data is not None:
                entry["size"] = len(data)
                entry["sha256"] = hashlib.sha256(data).hexdigest() if entry.get("sha256") else entry.get("sha256", "")
        manifest["redacted"] = True
        manifest["redacted_by"] = "podmortem redact"
        members[name] = (json.dumps(manifest, indent=2) + "\n").encode()


def _report_json(result: RedactionResult, source: Path, hostnames: bool, ips: bool, rules: list[Rule]) -> bytes:
    from analyzer import __version__

    rules_text = "\n".join(r.sed for r in rules)
    report = {
        "schema": REPORT_SCHEMA,
        "generator": f"podmortem {__version__}",
        "source": _printable(source.name),
        "rules": {"from": "collectors/node/podmortem-collect (redact_rules)", "count": len(rules),
                  "sha256": hashlib.sha256(rules_text.encode()).hexdigest()},
        "options": {"hostnames": hostnames, "ips": ips},
        "totals": dict(sorted(result.totals.items())),
        "files": [{"path": p, "counts": c} for p, c in sorted(result.by_file.items())],
        "pseudonyms": {"hostname_replacements": result.hostnames, "distinct_host_names": result.distinct_hosts,
                       "ip_address_replacements": result.ip_addresses, "distinct_ip_addresses": result.distinct_ips},
        "dropped": result.dropped,
        "warnings": result.warnings,
    }
    return (json.dumps(report, indent=2) + "\n").encode()


# --- writing the archive ------------------------------------------------------------------


def _archive_format(output: Path) -> str:
    name = output.name.lower()
    if name.endswith(".zip"):
        return "zip"
    if name.endswith(".tar"):
        return "tar"
    return "tar.gz"


def _write_archive(output: Path, members: dict[str, bytes]) -> None:
    """All members into a temporary file beside ``output``, renamed when complete."""
    fd, tmp = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".partial", dir=output.parent)
    try:
        with os.fdopen(fd, "wb") as raw:
            fmt = _archive_format(output)
            if fmt == "zip":
                with zipfile.ZipFile(raw, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                    for name, data in members.items():
                        archive.writestr(name, data)
            else:
                stream = gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) if fmt == "tar.gz" else raw
                with tarfile.open(fileobj=stream, mode="w", format=tarfile.PAX_FORMAT) as archive:
                    now = int(time.time())
                    for name, data in members.items():
                        info = tarfile.TarInfo(name)
                        info.size, info.mode, info.mtime = len(data), 0o644, now
                        archive.addfile(info, io.BytesIO(data))
                if stream is not raw:
                    stream.close()
        os.replace(tmp, output)
    except OSError as err:
        Path(tmp).unlink(missing_ok=True)
        raise RedactError(f"cannot write {output}: {err.strerror or err}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


