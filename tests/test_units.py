import math

import pytest
from hypothesis import given, strategies as st

from tco.units import FLOPS_PER_PF_DAY, format_count, format_usd, parse_quantity, pf_days


@pytest.mark.parametrize(
    "text, value",
    [("70B", 70e9), ("1.4T", 1.4e12), ("2.5M", 2.5e6), ("10k", 1e4), ("10K", 1e4), ("1e12", 1e12),
     ("1_000", 1000.0), ("3,000", 3000.0), (" 7 B ", 7e9), ("0.5G", 5e8), ("2P", 2e15), (42, 42.0), (1.5, 1.5),
     ("-3", -3.0), (".5k", 500.0), ("2.5e-7", 2.5e-7)],
)
def test_parse_quantity_accepts_human_numbers(text, value):
    assert parse_quantity(text) == pytest.approx(value, rel=1e-15)


@pytest.mark.parametrize("text", ["7Q", "70m", "B", "", "1.2.3T", "ten", "inf", "nan"])
def test_parse_quantity_rejects_garbage_with_a_hint(text):
    with pytest.raises(ValueError) as info:
        parse_quantity(text)
    assert repr(text) in str(info.value) or "finite" in str(info.value)


def test_parse_quantity_rejects_bools_and_none():
    for value in (True, None, [1]):
        with pytest.raises(ValueError):
            parse_quantity(value)


@given(st.floats(min_value=1.0, max_value=1e17, allow_nan=False))
def test_format_count_round_trips_to_three_significant_figures(x):
    assert parse_quantity(format_count(x)) == pytest.approx(x, rel=5e-3)


def test_format_examples():
    assert format_count(2.418e10) == "24.2B"
    assert format_count(3.3e12) == "3.30T"
    assert format_usd(1234567.89) == "$1,234,568"
    assert format_usd(12.5) == "$12.50"
    assert pf_days(FLOPS_PER_PF_DAY) == 1.0
    assert FLOPS_PER_PF_DAY == 8.64e19
    assert math.isnan(float(format_count(float("nan"))))


@pytest.mark.parametrize("text, value", [("1,000,000", 1e6), ("1,000.5", 1000.5), ("12,345B", 1.2345e13),
                                         ("1_000_000", 1e6), ("1.", 1.0), ("1,000e3", 1e6)])
def test_parse_quantity_accepts_thousands_separators_in_groups_of_three(text, value):
    assert parse_quantity(text) == pytest.approx(value, rel=1e-15)


@pytest.mark.parametrize("text", ["1,5B", "1,5", ",5", "12,34,567", "1,0000", "1,000_000", "1,00,000"])
def test_parse_quantity_refuses_ambiguous_commas(text):
    """A decimal comma is never read as a thousands separator ("1,5B" is not 15B)."""
    with pytest.raises(ValueError, match="ambiguous") as info:
        parse_quantity(text)
    assert repr(text) in str(info.value)


@pytest.mark.parametrize("text", ["70Bx", "1__000", "1_", "_1", "1 000", "70 B s", "1.5_0"])
def test_parse_quantity_refuses_stray_separators_and_trailing_junk(text):
    with pytest.raises(ValueError) as info:
        parse_quantity(text)
    assert repr(text) in str(info.value)
