"""Line numbers of positions in a text, and a JSON reader that says where each value it read stands.

Parsers of whole documents cite the line of each value they read. Searching the text for a value is
wrong as soon as the value is repeated (a container called ``app`` in every pod of a list), and
searching each from the start of a 500-pod list is quadratic; so the JSON reader below records the
position of every key of the objects a parser asked for, and ``LineCounter`` turns positions met in
document order into line numbers with one pass over the text.

>>> index = LineIndex("a\\nbb\\nccc\\n")
>>> index.line_at(0), index.line_at(2), index.line_at(5), index.find_line("ccc")
(1, 2, 3, 3)
"""
from __future__ import annotations

import json
import re
from bisect import bisect_right
from collections.abc import Callable
from json.decoder import JSONDecodeError, scanstring

RE_NEWLINE = re.compile("\n")


class LineIndex:
    """The offsets of a text's newlines, searched by bisection."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.newlines = [m.start() for m in RE_NEWLINE.finditer(text)]

    def line_at(self, offset: int) -> int:
        """The 1-based line of the character at ``offset``."""
        return bisect_right(self.newlines, max(offset, 0) - 1) + 1

    def find_line(self, needle: str, start: int = 0) -> int | None:
        """The line of the first ``needle`` at or after ``start``, or None."""
        at = self.text.find(needle, start) if needle else -1
        return self.line_at(at) if at >= 0 else None


class LineCounter:
    """The 1-based line of positions asked in any order, each counted from the nearest position asked before.

    The positions a parser asks of a document are few (a few per pod) and mostly in document order, so
    counting the newlines from the nearest one known costs about one pass over the text, and only the
    positions asked are kept (a LineIndex of a 4 MB pretty-printed pod list is 140,000 ints: 5 MB).

    >>> lines = LineCounter("a\\nbb\\nccc\\n")
    >>> lines.line_at(5), lines.line_at(2), lines.line_at(0), lines.line_at(None)
    (3, 2, 1, None)
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.offsets, self.lines = [0], [1]  # positions asked so far, sorted, and their lines

    def line_at(self, offset: int | None) -> int | None:
        if offset is None:
            return None
        i = bisect_right(self.offsets, offset) - 1  # the nearest known position at or before offset
        below, line = self.offsets[i], self.lines[i]
        if i + 1 < len(self.offsets) and self.offsets[i + 1] - offset < offset - below:  # the next one is nearer
            line = self.lines[i + 1] - self.text.count("\n", offset, self.offsets[i + 1])
        else:
            line += self.text.count("\n", below, offset)
        if below != offset:
            self.offsets.insert(i + 1, offset)
            self.lines.insert(i + 1, line)
        return line


# --- JSON with positions -------------------------------------------------------------------------


class Located(dict):
    """A JSON object read by ``read_json``; ``at`` maps each key to the position of the key in the text."""

    __slots__ = ("at",)


def position(obj: object, key: str) -> int | None:
    """Where ``key`` of a ``Located`` object stands in the text (None for a key it lacks, or a plain dict).

    >>> doc = read_json('{"a": {"b": 1}}', 0, {"a": {}})
    >>> position(doc, "a"), position(doc["a"], "b"), position(doc["a"], "c"), position({"a": 1}, "a")
    (1, 7, None, None)
    """
    at = getattr(obj, "at", None)
    return at.get(key) if at is not None else None


class Each:
    """A plan for an array whose elements are read one at a time and handed to ``function`` (read along
    ``plan``): the array's value is the list of what the function returned that is not None, so a 500-pod
    list or a 37,000-entry file list never has all its elements' dicts alive at once.

    With ``wanted``, each element is first read as plain values (in C: a third of the cost of reading it
    with positions) and ``wanted(value)`` decides whether it is read along ``plan`` and handed over: the
    kubelet's /pods repeats every pod of kubectl's list, and a pod already known costs only that read.

    >>> doc = read_json('[{"n": 1}, {"n": 2}]', 0, Each({}, lambda o: (o["n"], position(o, "n")), wanted=lambda o: o["n"] > 1))
    >>> doc
    [(2, 12)]
    """

    def __init__(self, plan: object, function: Callable[[object], object], wanted: Callable[[object], bool] | None = None) -> None:
        self.plan, self.function, self.wanted = plan, function, wanted


SKIP = Each(None, lambda value: None)  # an array whose elements are read (so checked) and dropped at once


# What orjson (which read these documents before) accepts, the reader accepts, with the same values:
# integers beyond 64 bits become floats, a number that overflows a double and NaN/Infinity are refused.
_INT_RANGE = (-(2**63), 2**64 - 1)
RE_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")  # a surrogate escape: orjson refuses a lone one, json does not
RE_SURROGATE_CHAR = re.compile("[\ud800-\udfff]")


def _float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"number is infinity when parsed as double: {text[:20]}")
    return value


def _int(text: str) -> int | float:
    value = int(text)  # more than 4,300 digits: ValueError, as orjson refuses it too (infinity)
    return value if _INT_RANGE[0] <= value <= _INT_RANGE[1] else _float(text)


def _constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


_scan = json.JSONDecoder(parse_float=_float, parse_int=_int, parse_constant=_constant).scan_once
_WS = re.compile(r"[ \t\n\r]*").match
_KEY = r'"([^"\\\x00-\x1f]*)"[ \t\n\r]*:[ \t\n\r]*'  # a key without escapes, and its colon
_FIRST_KEY = re.compile(r"[ \t\n\r]*(?:" + _KEY + r"|\})").match  # after "{": the first key, or "}"
_NEXT_KEY = re.compile(r"[ \t\n\r]*(?:,[ \t\n\r]*" + _KEY + r"|\})").match  # after a member's value: the next key, or "}"
_AFTER = re.compile(r"[ \t\n\r]*([,\]])[ \t\n\r]*").match  # after an element


def _decode(text: str, pos: int) -> tuple[object, int]:
    try:
        return _scan(text, pos)
    except StopIteration:
        raise JSONDecodeError("Expecting value", text, pos) from None


def _key(text: str, pos: int, first: bool) -> tuple[int, str, int]:
    """The next key after ``pos`` (after ``{`` or after a value) when it has escapes: (its position, the
    key, the position of its value). Raises ValueError where no key follows."""
    pos = _WS(text, pos + 1 if first else pos).end()
    if not first:
        if not text.startswith(",", pos):
            raise JSONDecodeError("Expecting ',' delimiter", text, pos)
        pos = _WS(text, pos + 1).end()
    if not text.startswith('"', pos):
        raise JSONDecodeError("Expecting property name enclosed in double quotes", text, pos)
    key, end = scanstring(text, pos + 1)
    end = _WS(text, end).end()
    if not text.startswith(":", end):
        raise JSONDecodeError("Expecting ':' delimiter", text, end)
    return pos, key, _WS(text, end + 1).end()


def _object(text: str, pos: int, plan: dict) -> tuple[Located, int]:
    obj = Located()
    at = obj.at = {}
    match = _FIRST_KEY(text, pos + 1)
    while True:  # one member a turn: this loop runs 70 times a pod, so one regex reads the separator and the next key
        if match is None:  # a key with escapes, or not JSON
            key_at, key, start = _key(text, pos, first=not at)
        else:
            key_at, end = match.span(1)
            if key_at < 0:  # the closing brace
                return obj, match.end()
            key, key_at, start = text[key_at:end], key_at - 1, match.end()
        at[key] = key_at
        sub = plan.get(key)
        try:
            obj[key], pos = _scan(text, start) if sub is None else _value(text, start, sub)
        except StopIteration:
            raise JSONDecodeError("Expecting value", text, start) from None
        match = _NEXT_KEY(text, pos)


def _array(text: str, pos: int, plan: list | Each) -> tuple[list, int]:
    sub, function = (plan.plan, plan.function) if isinstance(plan, Each) else (plan[0], None)
    items: list = []
    pos = _WS(text, pos + 1).end()
    if text.startswith("]", pos):
        return items, pos + 1
    if plan is SKIP:
        return items, _skip(text, pos)
    wanted = plan.wanted if isinstance(plan, Each) else None
    while True:
        value, pos, handed = _element(text, pos, sub, wanted)
        if handed and function is None:
            items.append(value)
        elif handed and (value := function(value)) is not None:
            items.append(value)
        match = _AFTER(text, pos)
        if match is None:
            raise JSONDecodeError("Expecting ',' delimiter", text, pos)
        pos = match.end()
        if match.group(1) == "]":
            return items, pos


def _element(text: str, pos: int, sub: object, wanted: Callable[[object], bool] | None) -> tuple[object, int, bool]:
    """(value, end, wanted?) of the array element at ``pos``: read along ``sub``, or first as plain values
    when an ``Each`` says which elements it wants (then along ``sub`` only if wanted)."""
    if wanted is None:
        value, end = _decode(text, pos) if sub is None else _value(text, pos, sub)
        return value, end, True
    value, end = _decode(text, pos)
    if not wanted(value):
        return None, end, False
    return (value if sub is None else _value(text, pos, sub)[0]), end, True


SKIP_CHUNK_CHARS = 1 << 18
_ELEMENT_GAP = re.compile(r"\}[ \t\n\r]*,[ \t\n\r]*\{")  # between two objects of an array (or inside a string)


def _skip(text: str, pos: int) -> int:
    """Read the elements of an array from ``pos`` and drop them: where the array ends.

    orjson reads 256 KB of elements at a time (copied between "[" and "]"): the 37,000 file entries
    of the big benchmark's manifest cost 15 ms and a 4 MB transient, against 38 ms one element at a
    time through json, and 22 ms but 115 MB for the whole document through orjson. A cut that is not
    between two elements (a "}, {" inside a string or a nested object, or past the end of the array)
    leaves a piece orjson refuses: from there the elements are read one at a time.
    """
    import orjson

    while (gap := _ELEMENT_GAP.search(text, pos + SKIP_CHUNK_CHARS)) is not None:
        try:
            orjson.loads("[" + text[pos:gap.start() + 1] + "]")
        except orjson.JSONDecodeError:
            break
        pos = gap.end() - 1
    while True:
        try:
            pos = _scan(text, pos)[1]
        except StopIteration:
            raise JSONDecodeError("Expecting value", text, pos) from None
        match = _AFTER(text, pos)
        if match is None:
            raise JSONDecodeError("Expecting ',' delimiter", text, pos)
        pos = match.end()
        if match.group(1) == "]":
            return pos


def _value(text: str, pos: int, plan: object) -> tuple[object, int]:
    if type(plan) is tuple:
        plan = plan[0] if text.startswith("{", pos) else plan[1]
    if type(plan) is dict and text.startswith("{", pos):
        return _object(text, pos, plan)
    if isinstance(plan, (list, Each)) and text.startswith("[", pos):
        return _array(text, pos, plan)
    return _decode(text, pos)


def read_json(text: str, start: int = 0, plan: object = None) -> object:
    """The JSON value of ``text[start:]``, with the objects ``plan`` names read as ``Located`` dicts.

    ``plan`` mirrors the document: ``{"key": subplan}`` for an object (every object it reaches records
    where its keys are), ``[subplan]`` for an array's elements, ``Each(subplan, function)`` for an array
    handed over element by element, ``(object plan, array plan)`` for whichever the value is; None for a
    value read as is. Raises ValueError on what orjson would refuse; the values are orjson's (which read
    these documents before: an integer beyond 64 bits is a float). Nothing of the text is copied, and
    only the objects of one ``Each`` element are alive at a time.

    >>> doc = read_json('{"items": [{"name": "a"},\\n {"name": "b"}]}', 0, {"items": [{}]})
    >>> [(item["name"], position(item, "name")) for item in doc["items"]]
    [('a', 12), ('b', 28)]
    >>> read_json('[1, 18446744073709551616]')
    [1, 1.8446744073709552e+19]
    >>> read_json('{"a": NaN}')
    Traceback (most recent call last):
    ...
    ValueError: NaN is not JSON
    """
    if RE_SURROGATE_ESCAPE.search(text, start) or (not text.isascii() and RE_SURROGATE_CHAR.search(text, start)):
        _orjson_refuses(text, start)  # a lone surrogate: orjson refuses it, json reads it (rare: pay one orjson pass)
    try:
        value, end = _value(text, _WS(text, start).end(), plan)
    except RecursionError:  # nested deeper than this interpreter's stack (orjson allows 1024 levels): read it without positions
        return follow_plan(_orjson_refuses(text, start), plan)
    end = _WS(text, end).end()
    if end != len(text):
        raise JSONDecodeError("Extra data", text, end)
    return value


def follow_plan(value: object, plan: object) -> object:
    """A value read without positions (plain dicts), with the ``Each`` functions of ``plan`` applied as
    ``read_json`` applies them.

    >>> follow_plan({"n": [1, 2, 3]}, {"n": Each(None, lambda x: x * 10 if x > 1 else None)})
    {'n': [20, 30]}
    """
    if type(plan) is tuple:
        plan = plan[0] if isinstance(value, dict) else plan[1]
    if type(plan) is dict and isinstance(value, dict):
        return {k: follow_plan(v, plan[k]) if k in plan else v for k, v in value.items()}
    if isinstance(plan, Each) and isinstance(value, list):
        value = [v for v in value if plan.wanted is None or plan.wanted(v)]
        return [r for r in (plan.function(follow_plan(v, plan.plan)) for v in value) if r is not None]
    if isinstance(plan, list) and isinstance(value, list):
        return [follow_plan(v, plan[0]) for v in value]
    return value


ORJSON_MESSAGE_MAX_CHARS = 1 << 20


def refusal(text: str, start: int, err: ValueError) -> str:
    """Why ``text[start:]`` is not JSON, in orjson's words (what reports said before this reader) for a
    document up to 1 MB; beyond, the reader's own: orjson would cost a transient of 12 times the text
    (97 MB for a collector manifest cut short) to word it.

    >>> try:
    ...     read_json('{"a": [1, 2')
    ... except ValueError as err:
    ...     refusal('{"a": [1, 2', 0, err)
    'unexpected end of data: line 1 column 12 (char 11)'
    """
    if len(text) - start <= ORJSON_MESSAGE_MAX_CHARS:
        try:
            _orjson_refuses(text, start)
        except ValueError as orjson_err:
            return str(orjson_err)
    return str(err)


def _orjson_refuses(text: str, start: int) -> object:
    import orjson

    return orjson.loads(text[start:] if start else text)  # orjson.JSONDecodeError is a ValueError


# --- YAML with positions -------------------------------------------------------------------------


def read_yaml(text: str, plan: object = None) -> object:
    """``yaml.safe_load(text)``, with the mappings ``plan`` names as ``Located`` dicts and its ``Each``
    functions applied, as ``read_json`` gives them. Raises ValueError on what is not YAML (yaml's own
    error, as the cause), so a caller need not import yaml: a run without YAML input never loads it.

    >>> doc = read_yaml("kind: Pod\\nmetadata:\\n  name: cart\\n", {"metadata": {}})
    >>> doc["metadata"]["name"], position(doc, "metadata"), position(doc["metadata"], "name")
    ('cart', 10, 22)
    """
    import yaml

    try:  # what yaml.safe_load does, keeping the node tree (its marks are the positions)
        loader = yaml.SafeLoader(text)  # it reads the text's first characters already: it may refuse them
        try:
            node = loader.get_single_node()
            value = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as err:
        raise ValueError(f"not YAML: {err}") from err
    return _locate_yaml(value, node, plan, yaml)


def _locate_yaml(value: object, node: object, plan: object, yaml) -> object:
    if type(plan) is tuple:
        plan = plan[0] if isinstance(value, dict) else plan[1]
    if type(plan) is dict and isinstance(value, dict) and isinstance(node, yaml.MappingNode):
        obj = Located(value)
        obj.at = {}
        nodes = {}
        for key_node, value_node in node.value:  # merges (<<) are flattened into node.value by the constructor
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if isinstance(key, str) and key in value:  # a key read as a string (not 1, not true); the last of a repeated key wins
                obj.at[key], nodes[key] = key_node.start_mark.index, value_node
        for key in plan.keys() & obj.keys():
            obj[key] = _locate_yaml(value[key], nodes.get(key), plan[key], yaml)
        return obj
    if isinstance(plan, (list, Each)) and isinstance(value, list) and isinstance(node, yaml.SequenceNode) and len(node.value) == len(value):
        sub = plan.plan if isinstance(plan, Each) else plan[0]
        pairs = zip(value, node.value)
        if isinstance(plan, Each) and plan.wanted is not None:
            pairs = [(v, n) for v, n in pairs if plan.wanted(v)]
        items = [_locate_yaml(v, n, sub, yaml) for v, n in pairs]
        if isinstance(plan, Each):
            items = [r for r in map(plan.function, items) if r is not None]
        return items
    return follow_plan(value, plan)
