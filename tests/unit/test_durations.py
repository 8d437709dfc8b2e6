"""Durations as authors write them: parsing, formatting and the round trip between them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from relentless.core.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "milliseconds"),
    [
        ("0s", 0),
        ("250ms", 250),
        ("30s", 30_000),
        ("5m", 300_000),
        ("2h", 7_200_000),
        ("1d", 86_400_000),
        ("1h30m", 5_400_000),
        ("1d2h3m4s5ms", 93_784_005),
        ("30000ms", 30_000),
        (" 30s ", 30_000),
    ],
)
def test_parse_duration_reads_whole_numbers_with_units(text: str, milliseconds: int) -> None:
    assert parse_duration(text) == milliseconds


@pytest.mark.parametrize(
    "text",
    ["", "30", "30 seconds", "30 s", "1.5s", "-1s", "30S", "s", "1h 30m", "30sec", "1w", "ms30"],
)
def test_parse_duration_rejects_text_that_is_not_a_duration(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


@pytest.mark.parametrize("value", [30, 1.5, None, True, ["30s"]])
def test_parse_duration_rejects_values_that_are_not_text(value: object) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("milliseconds", "text"),
    [
        (0, "0s"),
        (5, "5ms"),
        (30_000, "30s"),
        (90_000, "1m30s"),
        (3_600_000, "1h"),
        (86_400_000 + 1, "1d1ms"),
        (93_784_005, "1d2h3m4s5ms"),
    ],
)
def test_format_duration_spells_the_largest_units_first(milliseconds: int, text: str) -> None:
    assert format_duration(milliseconds) == text


@given(st.integers(min_value=0, max_value=10 * 366 * 86_400_000))
def test_format_then_parse_gives_back_the_same_milliseconds(milliseconds: int) -> None:
    assert parse_duration(format_duration(milliseconds)) == milliseconds


@given(st.lists(st.tuples(st.integers(0, 10_000), st.sampled_from(["ms", "s", "m", "h", "d"])),
                min_size=1, max_size=5))
def test_any_spelling_formats_to_one_canonical_spelling(parts: list[tuple[int, str]]) -> None:
    text = "".join(f"{amount}{unit}" for amount, unit in parts)
    canonical = format_duration(parse_duration(text))
    assert parse_duration(canonical) == parse_duration(text)
    assert format_duration(parse_duration(canonical)) == canonical
