"""JSON renderer: the ``podmortem/v1`` contract, serialised with orjson."""
from __future__ import annotations

import orjson

from analyzer.models.report import Report


def render_json(report: Report) -> bytes:
    """The report as indented UTF-8 JSON (sizes as integers in bytes, times ISO 8601 UTC)."""
    data = report.model_dump(mode="json", by_alias=True)
    return orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n"


def report_json_schema() -> dict:
    """The JSON Schema of the report, as `podmortem schema` prints it."""
    schema = Report.model_json_schema(by_alias=True, mode="serialization")
    schema["$id"] = "https://podmortem.invalid/schema/podmortem-v1.json"
    schema["title"] = "podmortem report (podmortem/v1)"
    return schema
