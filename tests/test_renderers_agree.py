"""Markdown, JSON and HTML of the same bundle say the same thing: one model, three renderers.

Walks every incident of the real docker lab bundle (OOM kills joined with docker's record)
and the corpus eviction paste, and checks each number a reader would compare.
"""
from __future__ import annotations

import html as html_lib
import json
import re

import pytest

from analyzer.pipeline import analyze
from analyzer.units import fmt_bytes
from reports.html import render_html
from reports.json_report import render_json
from reports.markdown import render_markdown
from tests.conftest import FIXTURES

RE_TAGS = re.compile(r"<[^>]+>")


def html_text(page: str) -> str:
    return html_lib.unescape(RE_TAGS.sub(" ", page))


def md_text(page: str) -> str:
    return page.replace("\\", "")


@pytest.fixture(scope="module")
def rendered():
    report = analyze(FIXTURES / "docker" / "docker-oom.tar.gz")
    return report, json.loads(render_json(report)), md_text(render_markdown(report)), html_text(render_html(report))


def test_every_incident_agrees(rendered):
    report, data, md, html = rendered
    assert [i["id"] for i in data["incidents"]] == [i.id for i in report.incidents]
    for incident, as_json in zip(report.incidents, data["incidents"]):
        assert as_json["summary"] == incident.summary
        assert incident.summary in md and incident.summary in " ".join(html.split())
        victim = as_json["victim"]
        assert f"(pid {victim['pid']})" in md and f"(pid {victim['pid']})" in html
        limit = as_json["memcg"]["limit_bytes"]
        if limit:
            assert f"{fmt_bytes(limit)} ({limit} B)" in md, "Markdown shows the exact bytes"
            assert fmt_bytes(limit) in html
        for finding in as_json["findings"]:
            assert finding["code"] in md and finding["code"] in html
        for task in as_json["tasks"]:
            if task["points"] is not None:
                assert str(task["points"]) in md and str(task["points"]) in html


def test_container_table_agrees(rendered):
    report, data, md, html = rendered
    for row in data["containers"]:
        assert row["cgroup"] in md and row["cgroup"] in html
        if row["working_set_bytes"] is not None:
            assert f"{fmt_bytes(row['working_set_bytes'])} ({row['working_set_bytes']} B)" in md
            assert fmt_bytes(row["working_set_bytes"]) in html


def test_eviction_agrees(corpus_dir):
    report = analyze(corpus_dir / "k8s" / "podjson-cosmosoperator185-evicted-status.yaml")
    data = json.loads(render_json(report))
    md, html = md_text(render_markdown(report)), html_text(render_html(report))
    (incident,) = data["incidents"]
    usage = incident["ranking"][0]["usage_bytes"]
    assert incident["summary"] in md and incident["summary"] in " ".join(html.split())
    assert fmt_bytes(usage) in md and fmt_bytes(usage) in html
