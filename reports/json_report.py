"""JSON renderer: the ``podmortem/v1`` contract, serialised by the report's own pydantic serializer.

The report is serialised straight to JSON bytes (no intermediate dict: for a 500-pod node that
dict was a 50 MB transient), indented by two spaces, keys in field order, text as UTF-8.
"""
from __future__ import annotations

from typing import BinaryIO

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


CHUNK_ITEMS = 2000  # files_read entries serialised at a time: about 500 KB of JSON


def write_json(report: Report, out: BinaryIO, chunk_items: int = CHUNK_ITEMS) -> None:
    """Write ``render_json(report)`` to ``out`` in pieces: the same bytes, never the whole document in memory.

    Each top-level field is serialised by the report's own serializer (``include``), so its
    indentation and text are the report's own; only the enclosing braces are cut. The bundle's
    ``files_read`` (one entry per member: half of a 500-pod node's 21 MB report) is written
    ``chunk_items`` entries at a time, re-indented to its depth. The render's peak memory is then
    a few MB, where the whole document cost twice its size (the serializer's buffer and its copy).

    >>> import io
    >>> from datetime import datetime, timezone
    >>> from analyzer.models.report import BundleFile, BundleInfo, Generator
    >>> files = [BundleFile(path=f"b/f{i}", kind="unknown", size_bytes=i, status="ignored") for i in range(5)]
    >>> report = Report(generator=Generator(version="0"), generated_at=datetime(2026, 1, 2, tzinfo=timezone.utc),
    ...                 bundle=BundleInfo(source="b.tar", source_kind="tar", files_read=files, host="n"))
    >>> out = io.BytesIO()
    >>> write_json(report, out, chunk_items=2)
    >>> out.getvalue() == render_json(report)
    True
    """
    out.write(b"{")
    for index, name in enumerate(type(report).model_fields):
        out.write(b",\n" if index else b"\n")
        if name == "bundle" and report.bundle.files_read:
            _write_bundle(report.bundle, out, chunk_items)
        else:
            out.write(_field(report, name))
    out.write(b"\n}\n")


def _field(model, name: str, depth: int = 0) -> bytes | memoryview:
    """``"name": value`` of one field of ``model``, indented as a field of an object ``depth`` levels deep."""
    piece = model.__pydantic_serializer__.to_json(model, indent=2, by_alias=True, include={name})  # b'{\n  "name": value\n}'
    return _indented(memoryview(piece)[2:-2], depth)  # a view: the piece is not copied at depth 0


def _indented(piece: bytes | memoryview, depth: int) -> bytes | memoryview:
    """A serialised piece moved ``depth`` levels deeper (a newline is only ever layout: JSON escapes those in strings)."""
    if not depth:
        return piece
    pad = b"  " * depth
    return pad + bytes(piece).replace(b"\n", b"\n" + pad)


def _write_bundle(bundle, out: BinaryIO, chunk_items: int) -> None:
    out.write(b'  "bundle": {')
    for index, name in enumerate(type(bundle).model_fields):
        out.write(b",\n" if index else b"\n")
        if name == "files_read":
            _write_files(bundle.files_read, out, chunk_items)
        else:
            out.write(_field(bundle, name, depth=1))
    out.write(b"\n  }")


def _write_files(files: list, out: BinaryIO, chunk_items: int) -> None:
    """``"files_read": [...]`` at its depth in the report, ``chunk_items`` entries serialised at a time."""
    from pydantic import TypeAdapter

    from analyzer.models.report import BundleFile

    serialize = TypeAdapter(list[BundleFile]).dump_json
    out.write(b'    "files_read": [')
    for start in range(0, len(files), chunk_items):
        piece = serialize(files[start : start + chunk_items], indent=2, by_alias=True)  # b'[\n  {...},\n  {...}\n]'
        out.write(b",\n" if start else b"\n")
        out.write(_indented(memoryview(piece)[2:-2], 2))
    out.write(b"\n    ]")


def report_json_schema() -> dict:
    """The JSON Schema of the report, as `podmortem schema` prints it."""
    schema = Report.model_json_schema(by_alias=True, mode="serialization")
    schema["$id"] = "https://podmortem.invalid/schema/podmortem-v1.json"
    schema["title"] = "podmortem report (podmortem/v1)"
    return schema
