"""RankIC (SPEC §6) against scipy.stats.spearmanr day by day, and the IC summary by hand."""
import numpy as np
import pytest
from scipy.stats import spearmanr

from repro.metrics.rank_ic import ic_summary, rank_ic_series, row_pearson, window_days


def _data(seed=0, d=25, n=40):
    rng = np.random.default_rng(seed)
    f = rng.normal(size=(d, n))
    y = 0.3 * f + rng.normal(size=(d, n))
    f = np.round(f, 1)  # ties, averaged by both implementations
    f[rng.random((d, n)) < 0.1] = np.nan
    y[rng.random((d, n)) < 0.1] = np.nan
    mask = rng.random((d, n)) < 0.8
    return f, y, mask


def test_rank_ic_matches_scipy_with_nans_masks_and_ties():
    f, y, mask = _data()
    days, ics = rank_ic_series(f, y, mask, step=3, offset=1)
    assert list(days) == list(range(1, 25, 3))
    for t, ic in zip(days, ics):
        ok = mask[t] & np.isfinite(f[t]) & np.isfinite(y[t])
        assert ic == pytest.approx(spearmanr(f[t, ok], y[t, ok]).statistic, abs=1e-12)


def test_rank_ic_window_of_dates():
    f, y, mask = _data(1, d=30)
    dates = np.datetime64("2021-01-01") + np.arange(30)
    days, ics = rank_ic_series(f, y, mask, step=10, dates=dates, start="2021-01-05", end="2021-01-28")
    assert list(days) == [4, 14, 24]
    assert len(ics) == 3


def test_too_few_stocks_gives_nan_and_summary_drops_it():
    f = np.array([[1.0, 2.0, np.nan, 4.0], [1.0, 2.0, 3.0, 4.0]])
    y = np.array([[1.0, np.nan, 2.0, 3.0], [4.0, 3.0, 2.0, 1.0]])
    _, ics = rank_ic_series(f, y, np.ones_like(f, bool), step=1)
    assert np.isnan(ics[0])  # only stocks 0 and 3 are valid
    assert ics[1] == pytest.approx(-1.0)


def test_row_pearson_constant_row_is_nan():
    a = np.array([[1.0, 1.0, 1.0, 1.0]])
    assert np.isnan(row_pearson(a, np.array([[1.0, 2.0, 3.0, 5.0]]))[0])


def test_ic_summary_by_hand():
    s = ic_summary(np.array([0.1, 0.2, -0.1, np.nan]))
    mean = 0.2 / 3
    std = np.sqrt(((0.1 - mean) ** 2 + (0.2 - mean) ** 2 + (-0.1 - mean) ** 2) / 2)  # ddof = 1
    assert s["rank_ic_mean"] == pytest.approx(mean)
    assert s["ic_ir"] == pytest.approx(mean / std)
    assert s["rank_ic_pos_ratio"] == pytest.approx(2 / 3)


def test_window_days_inclusive_bounds():
    dates = np.datetime64("2023-01-02") + np.arange(10)
    assert list(window_days(dates, "2023-01-03", "2023-01-08", step=2)) == [1, 3, 5]
    assert list(window_days(dates, step=4, offset=1)) == [1, 5, 9]


def test_rank_ic_invariant_to_stock_order_and_monotone_transform():
    f, y, mask = _data(4)
    perm = np.random.default_rng(0).permutation(f.shape[1])
    _, base = rank_ic_series(f, y, mask, step=2)
    _, permuted = rank_ic_series(f[:, perm], y[:, perm], mask[:, perm], step=2)
    _, transformed = rank_ic_series(np.exp(3 * f), y, mask, step=2)
    np.testing.assert_allclose(permuted, base)
    np.testing.assert_allclose(transformed, base)
