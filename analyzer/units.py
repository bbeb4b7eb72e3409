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


RE_INT = __import__("re").compile(r"\s*(-?[0-9]{1,25})\s*", __import__("re").ASCII)


def parse_int(text: object) -> int | None:
    """An integer written in ASCII digits (at most 25: no counter is longer), else None.

    str.isdigit() accepts "²" and 5000-digit runs, which int() refuses: parsers use this instead.

    >>> parse_int("137"), parse_int(" -1 "), parse_int("²"), parse_int("9" * 5000), parse_int(None), parse_int("0x10")
    (137, -1, None, None, None, None)
    """
    if not isinstance(text, str):
        return None
    match = RE_INT.fullmatch(text)
    return int(match.group(1)) if match else None
