"""The HTML report in a real headless Chromium (Debian's chromium, driven by playwright).

Skips with a reason where /usr/bin/chromium or the playwright package is missing. Screenshots
go to test-artifacts/ (gitignored) for a person to look at.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from analyzer.pipeline import analyze
from reports.html import render_html
from tests.conftest import FIXTURES, ROOT, extract_bundle
from tests.test_cli import lab_facts

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
playwright = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="no chromium executable (Debian package chromium)")
ARTIFACTS = ROOT / "test-artifacts"
XSS = {
    "pod": "<script>alert('pod')</script>",
    "container": '"><img src=x onerror=alert("container")>',
    "comm": "<svg/onload=alert(1)>",
}


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        instance = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        yield instance
        instance.close()


def open_report(browser, html: str, tmp_path: Path, name: str):
    path = tmp_path / f"{name}.html"
    path.write_text(html)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    requests, dialogs = [], []
    page.on("request", lambda r: requests.append(r.url))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    return page, [u for u in requests if u != path.as_uri()], dialogs


def test_lab_report_verdict_and_no_network(browser, tmp_path):
    facts = lab_facts()
    report = analyze(FIXTURES / "lab" / "lab-oom-128mi.tar.gz")
    page, requests, dialogs = open_report(browser, render_html(report), tmp_path, "lab-report")
    verdict = page.inner_text("section.verdict")
    (ours,) = [i for i in report.incidents if i.pod and i.pod.uid == facts["pod uid"]]
    assert f"pid {facts['victim pid']}" in verdict and "128 MiB limit" in verdict and facts["pod uid"] in verdict
    assert requests == [], f"the report made network requests: {requests}"
    assert dialogs == []
    card = page.inner_text(f"#{ours.id}")
    assert "killed" in card and facts["container id"] in card


def test_evidence_links_land_on_the_cited_line(browser, tmp_path):
    report = analyze(FIXTURES / "lab" / "lab-oom-128mi.tar.gz")
    page, _, _ = open_report(browser, render_html(report), tmp_path, "lab-evidence")
    incident = report.incidents[0]
    finding = incident.findings[0]
    cited = finding.evidence[0]
    link = page.locator(f"#{incident.id} li a.mono").first
    link.click()
    target = page.locator(":target")
    assert target.count() == 1
    assert target.inner_text().startswith(cited.cite())
    assert report.evidence_lines[cited.cite()] in target.inner_text()
    assert target.is_visible()
    box = target.bounding_box()
    assert box is not None and 0 <= box["y"] < 900, "scrolled into view"


def _hostile_bundle(tmp_path: Path) -> Path:
    facts = lab_facts()
    root = tmp_path / "hostile"
    top = extract_bundle(FIXTURES / "lab" / "lab-oom-128mi.tar.gz", root)
    dmesg = top / "commands" / "dmesg.txt"
    dmesg.write_bytes(dmesg.read_bytes().replace(b"(python3)", f"({XSS['comm']})".encode()).replace(b"task=python3", f"task={XSS['comm']}".encode()))
    pod = {"kind": "Pod", "metadata": {"name": XSS["pod"], "namespace": "ns\x1b[31m", "uid": facts["pod uid"]},  # HAND-WRITTEN hostile pod
           "spec": {"containers": [{"name": XSS["container"]}]},
           "status": {"qosClass": "Burstable", "containerStatuses": [{"name": XSS["container"], "containerID": "containerd://" + facts["container id"],
                                                                     "state": {"terminated": {"reason": "OOMKilled", "exitCode": 137}}}]}}
    (top / "commands" / "kubectl-get-pods.json").write_text(json.dumps(pod))
    return root


def test_xss_in_bundle_strings_shows_as_text(browser, tmp_path):
    report = analyze(_hostile_bundle(tmp_path))
    html = render_html(report)
    assert "<script>alert" not in html and "<svg/onload" not in html
    page, requests, dialogs = open_report(browser, html, tmp_path, "xss")
    assert dialogs == [], f"a planted payload executed: {dialogs}"
    assert requests == [], "the img payload must not load anything"
    text = page.inner_text("body")
    assert XSS["pod"] in text and XSS["comm"] in text and XSS["container"] in text
    assert "\\x1b[31m" in text, "ANSI escapes are shown, not interpreted"
    assert page.locator("script").count() == 0 and page.locator("img").count() == 0


def test_csp_forbids_everything_external(tmp_path):
    html = render_html(analyze(FIXTURES / "lab" / "lab-oom-128mi.tar.gz"))
    assert "default-src &#39;none&#39;" in html or "default-src 'none'" in html
    for attribute in ('src="http', "src='http", 'href="http', "href='http", "url(http", "@import"):
        assert attribute not in html
