"""JSON renderer: the ``podmortem/v1`` contract, serialised by the report's own pydantic serializer.

The report is serialised straight to JSON bytes (no intermediate dict: for a 500-pod node that
dict was a 50 MB transient), indented by two spaces, keys in field order, text as UTF-8.
"""
from __future__ import annotations

from functools import lru_cache
from itertools import islice
from typing import BinaryIO

import orjson
from pydantic import BaseModel, TypeAdapter

from analyzer.models.report import Report


def render_json(report: Report) -> bytes:
    """The report as indented UTF-8 JSON (sizes as integers in bytes, times ISO 8601 UTC).

    >>> from datetime import datetime, timezone
    >>> from analyzer.models.report import BundleInfo, Generator
    >>> report = Report(generator=Generator(version="0"), generated_at=datetime(2026, 1, 2, tzinfo=timezone.utc),
    ...                 bundle=BundleInfo(source="dmesg.txt", source_kind="file", host="nöde"))
    >>> print(*render_json(report).decode().splitlines()[:7], sep="\\n")
    {
      "schema": "podmortem/v1",
      "generator": {
        "name": "podmortem",
        "version": "0"
      },
      "generated_at": "2026-01-02T00:00:00Z",
    >>> '"host": "nöde",' in render_json(report).decode("utf-8")
    True
    """
    return report.__pydantic_serializer__.to_json(report, indent=2, by_alias=True) + b"\n"


CHUNK_ITEMS = 100  # entries of a list or dict serialised at a time, at most
CHUNK_BYTES = 128 * 1024  # ... and about this much JSON (the size of the first entry tells)


def write_json(report: Report, out: BinaryIO, chunk_items: int = CHUNK_ITEMS) -> None:
    """Write ``render_json(report)`` to ``out`` in pieces: the same bytes, never the whole document in memory.

    Each field is serialised by the report's own serializer (``include``), so its indentation and
    text are the report's own; only the enclosing braces are cut. A list or dict of more than
    ``chunk_items`` entries (files_read: one entry per member; incidents with their Tasks tables;
    containers; evidence_lines) is written ``chunk_items`` entries at a time by a serializer of the
    field's own type, re-indented to its depth, and an object holding one (the bundle) field by
    field. A 500-pod node's report is 21 MB: its render peaked at twice that (the serializer's
    buffer and its copy), it now stays under a few MB.

    >>> import io
    >>> from datetime import datetime, timezone
    >>> from analyzer.models.report import BundleFile, BundleInfo, Generator
    >>> files = [BundleFile(path=f"b/f{i}", kind="unknown", size_bytes=i, status="ignored") for i in range(5)]
    >>> report = Report(generator=Generator(version="0"), generated_at=datetime(2026, 1, 2, tzinfo=timezone.utc),
    ...                 bundle=BundleInfo(source="b.tar", source_kind="tar", files_read=files, host="n"),
    ...                 evidence_lines={f"b/f{i}:1": "x" for i in range(5)})
    >>> out = io.BytesIO()
    >>> write_json(report, out, chunk_items=2)
    >>> out.getvalue() == render_json(report)
    True
    """
    _write_object(report, out, 0, chunk_items)
    out.write(b"\n")


def _write_object(model: BaseModel, out: BinaryIO, depth: int, chunk_items: int) -> None:
    """``{...}`` of a model at ``depth``, one field at a time (its big collections in chunks)."""
    fields = type(model).model_fields
    out.write(b"{")
    for index, name in enumerate(fields):
        out.write(b",\n" if index else b"\n")
        value = getattr(model, name)
        if isinstance(value, (list, dict)) and len(value) > chunk_items:
            _write_collection(model, name, value, out, depth + 1, chunk_items)
        elif isinstance(value, BaseModel) and _holds_big_collection(value, chunk_items):
            out.write(_key(model, name, depth + 1))
            _write_object(value, out, depth + 1, chunk_items)
        else:
            out.write(_field(model, name, depth))
    out.write(b"\n" + b"  " * depth + b"}")


def _holds_big_collection(model: BaseModel, chunk_items: int) -> bool:
    return any(isinstance(v, (list, dict)) and len(v) > chunk_items for v in model.__dict__.values())


def _key(model: BaseModel, name: str, depth: int) -> bytes:
    """``"name": `` as the serializer writes the field's key (its alias, if it has one), at ``depth``."""
    field = type(model).model_fields[name]
    return b"  " * depth + orjson.dumps(field.serialization_alias or field.alias or name) + b": "


def _write_collection(model: BaseModel, name: str, value: list | dict, out: BinaryIO, depth: int, chunk_items: int) -> None:
    """``"name": [...]`` (or ``{...}``) at ``depth``, ``chunk_items`` entries serialised at a time by a
    serializer of the field's own type (the model's, told to include some entries, walks them all each time)."""
    serialize = _adapter(type(model), name).dump_json
    is_list = isinstance(value, list)
    entries = iter(value if is_list else value.items())
    first = list(islice(entries, 1))
    one = len(serialize(first if is_list else dict(first)))
    step = max(1, min(chunk_items, CHUNK_BYTES // one))  # an OOM incident with its Tasks table is 10 KB: fewer a chunk
    out.write(_key(model, name, depth) + (b"[" if is_list else b"{"))
    part, separator = first + list(islice(entries, step - 1)), b"\n"
    while part:
        piece = serialize(part if is_list else dict(part), indent=2, by_alias=True)  # b'[\n  ...\n]'
        out.write(separator)
        out.write(_indented(memoryview(piece)[2:-2], depth))
        part, separator = list(islice(entries, step)), b",\n"
    out.write(b"\n" + b"  " * depth + (b"]" if is_list else b"}"))


@lru_cache(maxsize=None)
def _adapter(model: type[BaseModel], name: str) -> TypeAdapter:
    """A serializer of one field's type (list[OomKillIncident | ...], dict[str, str]...)."""
    return TypeAdapter(model.model_fields[name].annotation)


def _field(model: BaseModel, name: str, depth: int = 0) -> bytes | memoryview:
    """``"name": value`` of one field of ``model``, indented as a field of an object ``depth`` levels deep."""
    piece = model.__pydantic_serializer__.to_json(model, indent=2, by_alias=True, include={name})  # b'{\n  "name": value\n}'
    return _indented(memoryview(piece)[2:-2], depth)  # a view: the piece is not copied at depth 0


def _indented(piece: bytes | memoryview, depth: int) -> bytes | memoryview:
    """A serialised piece moved ``depth`` levels deeper (a newline is only ever layout: JSON escapes those in strings)."""
    if not depth:
        return piece
    pad = b"  " * depth
    return pad + bytes(piece).replace(b"\n", b"\n" + pad)


def report_json_schema() -> dict:
    """The JSON Schema of the report, as `podmortem schema` prints it."""
    schema = Report.model_json_schema(by_alias=True, mode="serialization")
    schema["$id"] = "https://podmortem.invalid/schema/podmortem-v1.json"
    schema["title"] = "podmortem report (podmortem/v1)"
    return schema
