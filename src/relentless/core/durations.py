"""Durations as people write them (``30s``, ``5m``, ``1h30m``), held as milliseconds."""

from __future__ import annotations

import re

_UNIT_MS = {"ms": 1, "s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
_PART = re.compile(r"(\d+)(ms|s|m|h|d)")
_WHOLE = re.compile(r"(?:\d+(?:ms|s|m|h|d))+")

MAX_DURATION_MS = 10 * 366 * 86_400_000
"""Longer than any SLA: a longer duration is a typo."""

DURATION_HINT = "write a whole number with a unit: ms, s, m, h or d, e.g. 30s, 5m, 1h30m"


def parse_duration(text: str) -> int:
    """Milliseconds in ``text``; raises ValueError saying why it is not a duration."""
    if not isinstance(text, str) or not _WHOLE.fullmatch(text.strip()):
        raise ValueError(f"{text!r} is not a duration")
    return sum(int(amount) * _UNIT_MS[unit] for amount, unit in _PART.findall(text))


def format_duration(milliseconds: int) -> str:
    """The shortest readable spelling of a duration, the inverse of :func:`parse_duration`."""
    if milliseconds == 0:
        return "0s"
    parts = []
    remaining = milliseconds
    for unit in ("d", "h", "m", "s", "ms"):
        amount, remaining = divmod(remaining, _UNIT_MS[unit])
        if amount:
            parts.append(f"{amount}{unit}")
    return "".join(parts)
