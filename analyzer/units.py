"""Human-readable sizes for messages and reports (JSON keeps exact integers in bytes)."""
from __future__ import annotations

UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def fmt_bytes(n: int | None) -> str:
    """Binary units with up to one decimal.

    >>> fmt_bytes(134217728), fmt_bytes(1536), fmt_bytes(0), fmt_bytes(None), fmt_bytes(-2048)
    ('128 MiB', '1.5 KiB', '0 B', 'unknown', '-2 KiB')
    """
    if n is None:
        return "unknown"
    sign = "-" if n < 0 else ""
    value = float(abs(n))
    for unit in UNITS:
        if value < 1024 or unit == UNITS[-1]:
            text = f"{value:.1f}".rstrip("0").rstrip(".") if unit != "B" else str(int(value))
            return f"{sign}{text} {unit}"
        value /= 1024
    raise AssertionError("unreachable")
