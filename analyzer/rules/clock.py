"""How exact the kernel's times are: uptime stamps turned into wall time, checked where the bundle allows.

dmesg stamps (``[ 2981.826294]``) are seconds since boot on the kernel's local clock. The report
turns them into wall time with /proc/stat ``btime`` (the wall time of boot, whole seconds), as
``dmesg -T`` does. That is exact to about a second while the wall clock was not stepped since boot
(an NTP step or slew moves the wall clock, not the kernel's clock) and the node never suspended
(the kernel's printk clock stops in suspend; util-linux dmesg(1) warns that -T is inaccurate after
it). A syslog or journal line that also carries the kernel's ``[uptime]`` gives an independent
check: the daemon stamped the line when it received it, so its wall time minus btime + uptime is
the conversion's error (plus the daemon's delay, milliseconds).
"""
from __future__ import annotations

from datetime import datetime, timedelta
from statistics import median

from analyzer.models.common import Evidence
from analyzer.models.report import ClockCheck

STEPPED_S = 2.0  # more than this between the two clocks: the conversion is off by about that much


def explain_clock(btime: datetime | None, btime_evidence: Evidence | None, pairs: list[tuple[float, datetime]],
                  uptime_only: int) -> ClockCheck | None:
    """The statement on the timeline about how kernel times were obtained and how exact they are.

    ``pairs``: (uptime, wall time) of kernel lines that carry both; ``uptime_only``: incidents
    whose only stamp was an uptime.

    >>> from datetime import timezone
    >>> boot = datetime(2026, 11, 24, 11, 46, 47, tzinfo=timezone.utc)
    >>> check = explain_clock(boot, None, [(100.0, boot + timedelta(seconds=100.4))], 1)
    >>> check.pairs_compared, check.max_offset_s, check.conversion
    (1, 0.4, 'btime+uptime')
    """
    if btime is None:
        if not uptime_only:
            return None
        return ClockCheck(conversion=None, statement=(
            f"{uptime_only} kernel report(s) carry only seconds since boot and the bundle has no /proc/stat btime: "
            "their wall time is unknown (collect /proc/stat, or dmesg -T)."))
    offsets = [(wall - (btime + timedelta(seconds=up))).total_seconds() for up, wall in set(pairs)]  # the same line in two copies counts once
    check = ClockCheck(btime=btime, conversion="btime+uptime", pairs_compared=len(offsets),
                       evidence=[btime_evidence] if btime_evidence else [])
    if not offsets:
        check.statement = (
            "Kernel times are seconds since boot turned into wall time from the boot time (/proc/stat btime here, "
            "the same way `dmesg -T` does): exact to about a second if the wall clock was not stepped since boot and "
            "the node never suspended. Not checked against an independent clock: no syslog or journal line in the "
            "bundle carries the kernel's uptime.")
        return check
    check.median_offset_s = round(median(offsets), 3)
    check.max_offset_s = round(max(offsets, key=abs), 3)
    if abs(check.max_offset_s) <= STEPPED_S:
        check.statement = (
            f"Kernel uptime stamps were turned into wall time with /proc/stat btime, and checked against {len(offsets)} "
            f"syslog/journal line(s) that carry both clocks: they differ by {check.median_offset_s:+.3f} s (median), "
            f"{check.max_offset_s:+.3f} s at most, so converted times are good to about a second.")
    else:
        check.statement = (
            f"Kernel uptime stamps were turned into wall time with /proc/stat btime, but {len(offsets)} syslog/journal "
            f"line(s) that carry both clocks differ from that by up to {check.max_offset_s:+.1f} s (median "
            f"{check.median_offset_s:+.1f} s): the wall clock was stepped since boot (NTP) or the node suspended. "
            "Times taken from the log's own stamps are right; times converted from uptime are off by about that much.")
    return check
