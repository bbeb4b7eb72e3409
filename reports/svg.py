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
