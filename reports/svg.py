"""Layout of the inline SVG timeline: events placed on one time axis (rendering only)."""
from __future__ import annotations

from dataclasses import dataclass

from analyzer.models.report import TimelineEvent

WIDTH, LEFT, RIGHT = 1000, 90, 40
ROWS = {"kernel": 0, "runtime": 1, "kubelet": 2, "kubernetes": 3}
COLORS = {"kernel": "#cf222e", "runtime": "#8250df", "kubelet": "#bf8700", "kubernetes": "#0969da"}


@dataclass
class Mark:
    x: float
    y: float
    color: str
    label: str
    target: str | None


@dataclass
class Axis:
    marks: list[Mark]
    start: str
    end: str
    height: int


def timeline_axis(events: list[TimelineEvent]) -> Axis | None:
    """Marks for events with a wall time; None when fewer than one event has one.

    >>> from datetime import datetime, timezone
    >>> t = lambda m: datetime(2026, 11, 24, 12, m, tzinfo=timezone.utc)
    >>> axis = timeline_axis([TimelineEvent(time=t(0), source="kernel", text="a"), TimelineEvent(time=t(10), source="kubelet", text="b")])
    >>> [round(m.x) for m in axis.marks], axis.start, axis.end
    ([90, 960], '2026-11-24 12:00:00', '2026-11-24 12:10:00')
    """
    timed = [e for e in events if e.time is not None]
    if not timed:
        return None
    first = min(e.time for e in timed)
    last = max(e.time for e in timed)
    span = max((last - first).total_seconds(), 1.0)
    usable = WIDTH - LEFT - RIGHT
    marks = [
        Mark(
            x=LEFT + usable * (e.time - first).total_seconds() / span,
            y=20 + 22 * ROWS.get(e.source, 3),
            color=COLORS.get(e.source, "#57606a"),
            label=f"{e.time:%Y-%m-%d %H:%M:%S} {e.source}: {e.text}",
            target=e.incident_id,
        )
        for e in timed
    ]
    return Axis(marks=marks, start=f"{first:%Y-%m-%d %H:%M:%S}", end=f"{last:%Y-%m-%d %H:%M:%S}", height=20 + 22 * len(ROWS) + 10)


# --- trends: usage, anon and page cache over the --samples, with the limit line ---------------

TREND_W, TREND_H, TREND_LEFT, TREND_RIGHT, TREND_TOP, TREND_BOTTOM = 520, 170, 70, 10, 10, 22
TREND_SERIES = (("usage", "usage_bytes", "#0969da"), ("anon", "anon_bytes", "#cf222e"), ("page cache", "cache_bytes", "#bf8700"))
LIMIT_OFF_CHART = 4  # a limit over 4x the largest value is named, not drawn (the lines would be flat)


@dataclass
class TrendLine:
    label: str
    color: str
    points: str  # "x,y x,y ..." for <polyline>


@dataclass
class TrendChart:
    width: int
    height: int
    lines: list[TrendLine]
    y_max: int  # bytes at the top of the plot
    limit_y: float | None  # y of the limit line, None when off the chart or unknown
    x_end_s: float  # seconds at the right edge


def trend_chart(trend) -> TrendChart | None:
    """Polylines of a ContainerTrend's samples, scaled to the plot; None with fewer than two samples.

    >>> from analyzer.models.report import ContainerTrend, TrendSample
    >>> t = ContainerTrend(cgroup="/k", limit_bytes=200, samples=[TrendSample(t_s=0, usage_bytes=50, anon_bytes=40, cache_bytes=10),
    ...                                                         TrendSample(t_s=2, usage_bytes=100, anon_bytes=80, cache_bytes=20)])
    >>> c = trend_chart(t)
    >>> c.y_max, c.lines[0].points, round(c.limit_y, 1)
    (200, '70.0,113.5 510.0,79.0', 10.0)
    """
    samples = trend.samples
    if len(samples) < 2:
        return None
    values = [getattr(s, field) for s in samples for _, field, _ in TREND_SERIES if getattr(s, field) is not None]
    top = max(values, default=0)
    limit = trend.limit_bytes
    limit_drawn = limit is not None and 0 < limit <= LIMIT_OFF_CHART * max(top, 1)
    y_max = max(top, limit if limit_drawn else 0, 1)
    span = max(samples[-1].t_s, 1e-9)
    plot_w, plot_h = TREND_W - TREND_LEFT - TREND_RIGHT, TREND_H - TREND_TOP - TREND_BOTTOM

    def y_of(value: float) -> float:
        return TREND_TOP + plot_h * (1 - value / y_max)

    lines = []
    for label, field, color in TREND_SERIES:
        points = [(TREND_LEFT + plot_w * s.t_s / span, y_of(getattr(s, field))) for s in samples if getattr(s, field) is not None]
        if len(points) >= 2:
            lines.append(TrendLine(label=label, color=color, points=" ".join(f"{x:.1f},{y:.1f}" for x, y in points)))
    return TrendChart(width=TREND_W, height=TREND_H, lines=lines, y_max=y_max,
                      limit_y=y_of(limit) if limit_drawn else None, x_end_s=samples[-1].t_s)
