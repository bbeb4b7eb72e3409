"""Report size and render time for a 200-pod, 20-incident report (HTML, Markdown, JSON).

SYNTHETIC, said plainly: the real lab bundle (fixtures/docker) is analyzed once, then its
incidents are copied to 20 and its container rows to 400 (200 pods x 2) with new ids, so the
renderers see a report of that size. Run: `.venv/bin/python benchmarks/render_bench.py`.
Targets (issue 6): HTML under 2 MB and under 1 s.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analyzer.pipeline import analyze  # noqa: E402
from reports.html import render_html  # noqa: E402
from reports.json_report import render_json  # noqa: E402
from reports.markdown import render_markdown  # noqa: E402


def grown_report():
    report = analyze(ROOT / "fixtures" / "docker" / "docker-oom.tar.gz")
    incidents = [i for i in report.incidents if i.kind == "oom_kill"]
    report.incidents = [incidents[n % len(incidents)].model_copy(update={"id": f"oom-{n + 1}"}) for n in range(20)]
    rows = report.containers or []
    report.containers = [rows[n % len(rows)].model_copy(update={"cgroup": f"/kubepods/burstable/pod{n:08d}/{n:064x}"}) for n in range(400)]
    return report


def main() -> None:
    report = grown_report()
    print(f"report: {len(report.incidents)} incidents, {len(report.containers)} container rows, {len(report.evidence_lines)} quoted lines")
    for name, render in (("html", render_html), ("md", render_markdown), ("json", render_json)):
        render(report)  # warm the template cache, as a second report in one process would
        began = time.perf_counter()
        out = render(report)
        elapsed = time.perf_counter() - began
        size = len(out.encode() if isinstance(out, str) else out)
        print(f"{name:5} {size / 1024**2:7.2f} MB  {elapsed * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
