"""A-share price-limit rules (SPEC §1), checked by hand."""
import numpy as np
import pytest

from repro.contract import limit_prices, limit_ratio


@pytest.mark.parametrize(
    "board, date, is_st, ratio",
    [
        ("main", "2021-03-01", False, 0.10),
        ("main", "2021-03-01", True, 0.05),
        ("chinext", "2020-08-21", False, 0.10),  # the Friday before the ChiNext reform
        ("chinext", "2020-08-24", False, 0.20),
        ("chinext", "2020-08-24", True, 0.20),  # ST names on ChiNext move ±20% too
        ("chinext", "2020-08-21", True, 0.05),
        ("star", "2019-07-22", False, 0.20),  # STAR's first day
        ("star", "2021-03-01", True, 0.20),
    ],
)
def test_limit_ratio(board, date, is_st, ratio):
    assert limit_ratio(board, date, is_st) == ratio


def test_limit_prices_round_half_up_to_the_fen():
    # 11.05 × 1.1 = 12.155 → 12.16 (half up); × 0.9 = 9.945 → 9.95; 3.33 × 1.05 = 3.4965 → 3.50
    up, down = limit_prices(np.array([11.05, 10.00]), 0.10)
    np.testing.assert_array_equal(up, [12.16, 11.00])
    np.testing.assert_array_equal(down, [9.95, 9.00])
    # 1.15 × 1.1 = 1.265: the exchange rounds half up to 1.27, float rounding gives 1.26
    assert float(limit_prices(1.15, 0.10)[0]) == 1.27
    up, down = limit_prices(3.33, 0.05)
    assert (float(up), float(down)) == (3.50, 3.16)  # 3.33 × 0.95 = 3.1635 → 3.16
