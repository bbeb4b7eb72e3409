"""Kubernetes resource quantities (k8s.io/apimachinery resource.Quantity) as integers.

Binary suffixes Ki Mi Gi Ti Pi Ei, decimal k M G T P E, milli ``m``, exponents ``1e3``.
"""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

# the fraction needs its dot (\d+\.?\d* would split a digit run every way before failing: quadratic)
RE_QUANTITY = re.compile(r"^\s*(?P<num>[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E|m)?\s*$")
FACTORS = {
    None: Decimal(1), "Ki": Decimal(2**10), "Mi": Decimal(2**20), "Gi": Decimal(2**30), "Ti": Decimal(2**40),
    "Pi": Decimal(2**50), "Ei": Decimal(2**60), "k": Decimal(10**3), "M": Decimal(10**6), "G": Decimal(10**9),
    "T": Decimal(10**12), "P": Decimal(10**15), "E": Decimal(10**18), "m": Decimal("0.001"),
}


def parse_quantity(text: object) -> int | None:
    """Bytes (or units) of a quantity string; None when it is not one.

    >>> parse_quantity("100Mi"), parse_quantity("1843200Ki"), parse_quantity("12Gi"), parse_quantity("1e3")
    (104857600, 1887436800, 12884901888, 1000)
    >>> parse_quantity("0"), parse_quantity("abc"), parse_quantity(None)
    (0, None, None)
    """
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return int(text) if text == text and abs(text) != float("inf") else None  # YAML .inf/.nan are floats int() refuses
    if not isinstance(text, str):
        return None
    if len(text) > 64:  # no quantity is longer; a longer string is a corrupt or hostile field
        return None
    match = RE_QUANTITY.match(text)
    if match is None:
        return None
    try:
        value = Decimal(match.group("num")) * FACTORS[match.group("suffix")]
    except (InvalidOperation, KeyError):
        return None
    if abs(value) > Decimal(2**70):
        return None
    return int(value)
