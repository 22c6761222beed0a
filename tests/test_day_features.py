"""The `day` dataset: adjusted bars, window normalisation, frozen window statistics (SPEC §1–§2)."""

import numpy as np
import pytest
import torch

from market_fixtures import copy_market, random_market
from repro.features.day import (
    DAY_FEATURES,
    day_panel,
    fit_day_stats,
    gather_windows,
    normalise_windows,
    preprocess_day_panel,
)
from repro.preprocess import fit_stats


def test_day_panel_adjusts_prices_and_volume():
    m = copy_market(random_market(n_days=6, n_stocks=3, seed=1, suspend_prob=0.0))
    # stock 0: a 1:2 split on day 2 — raw close halves, adj_factor doubles, volume doubles
    m.fields["close"][:3, 0] = [10.0, 5.0, 5.5]
    m.fields["adj_factor"][:3, 0] = [1.0, 2.0, 2.0]
    m.fields["volume"][:3, 0] = [100.0, 200.0, 300.0]
    p = day_panel(m)
    assert p.features == DAY_FEATURES == ["open", "high", "low", "close", "vwap", "volume"]
    np.testing.assert_allclose(p.feature("close")[:3, 0], [10.0, 10.0, 11.0])
    np.testing.assert_allclose(p.feature("volume")[:3, 0], [100.0, 100.0, 150.0])
    adj = m.fields["adj_factor"]
    for name in ("open", "high", "low", "vwap"):
        np.testing.assert_allclose(p.feature(name), m.fields[name] * adj, rtol=1e-6)


def test_day_panel_nan_where_unlisted():
    m = random_market(n_days=40, n_stocks=12, seed=3)
    p = day_panel(m)
    assert (~m.listed).any()
    assert np.isnan(p.values[~m.listed]).all()
    assert np.isfinite(p.values[m.listed]).all()


WINDOW = np.array(
    [
        [10.0, 12.0, 9.0, 11.0, 10.5, 100.0],
        [20.0, 22.0, 18.0, 20.0, 21.0, 50.0],
    ]
)
# prices / last close 20, volume / last volume 50
EXPECTED = np.array(
    [
        [0.5, 0.6, 0.45, 0.55, 0.525, 2.0],
        [1.0, 1.1, 0.9, 1.0, 1.05, 1.0],
    ]
)


def test_normalise_windows_numpy():
    x = np.stack([WINDOW, WINDOW * 3.0])  # [2, T, 6]: scale invariance
    out = normalise_windows(x)
    np.testing.assert_allclose(out, np.stack([EXPECTED, EXPECTED]))
    zero = WINDOW.copy()
    zero[-1, 5] = 0.0
    out = normalise_windows(zero[None])
    assert np.isnan(out[0, :, 5]).all()
    np.testing.assert_allclose(out[0, :, :5], EXPECTED[:, :5])


def test_normalise_windows_torch():
    x = torch.tensor(np.stack([WINDOW, WINDOW * 0.5]), dtype=torch.float32)
    out = normalise_windows(x)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32
    np.testing.assert_allclose(out.numpy(), np.stack([EXPECTED, EXPECTED]), rtol=1e-6)
    x[1, -1, 5] = 0.0
    out = normalise_windows(x)
    assert torch.isnan(out[1, :, 5]).all() and not torch.isnan(out[0]).any()


def test_gather_windows_oldest_first():
    values = np.arange(10 * 2 * 1, dtype=float).reshape(10, 2, 1)
    w = gather_windows(values, np.array([4, 9]), np.array([1, 0]), 3)
    np.testing.assert_array_equal(
        w[..., 0], [[values[2, 1, 0], values[3, 1, 0], values[4, 1, 0]], [14, 16, 18]]
    )
    with pytest.raises(ValueError):
        gather_windows(values, np.array([1]), np.array([0]), 3)


def _all_windows_stats(panel, n_fit, window, mad_k):
    """Independent: loop over every usable window ending before the cutoff."""
    rows = []
    for t in range(window - 1, n_fit):
        for i in range(len(panel.codes)):
            last = panel.values[t, i]
            if np.isfinite(last[3]) and last[3] != 0 and last[5] > 0:
                w = panel.values[t - window + 1 : t + 1, i].astype(np.float64)
                rows.append(np.concatenate([w[:, :5] / w[-1, 3], w[:, 5:] / w[-1, 5]], axis=1))
    return fit_stats(np.concatenate(rows), mad_k=mad_k)


def test_fit_day_stats_matches_independent_loop_and_is_frozen():
    m = random_market(n_days=60, n_stocks=8, seed=5)
    p = day_panel(m)
    cutoff = m.dates[40]
    stats = fit_day_stats(p, cutoff, window=10, mad_k=7.0)
    expected = _all_windows_stats(p, 40, 10, 7.0)
    for key in expected:
        np.testing.assert_allclose(stats[key], expected[key], rtol=1e-5)
    # data on and after the cutoff does not move the statistics
    m2 = copy_market(m)
    for name in ("open", "high", "low", "close", "vwap", "volume"):
        m2.fields[name][40:] *= 1.7
    assert fit_day_stats(day_panel(m2), cutoff, window=10, mad_k=7.0) == stats
    # data before it does
    m2.fields["volume"][30, :] *= 50.0
    assert fit_day_stats(day_panel(m2), cutoff, window=10, mad_k=7.0) != stats


def test_fit_day_stats_subsample_is_deterministic():
    p = day_panel(random_market(n_days=60, n_stocks=8, seed=5))
    a = fit_day_stats(p, p.dates[50], window=10, max_windows=50)
    b = fit_day_stats(p, p.dates[50], window=10, max_windows=50)
    full = fit_day_stats(p, p.dates[50], window=10)
    assert a == b and a != full


def test_preprocess_day_panel_keeps_raw_bars():
    m = random_market(n_days=60, n_stocks=8, seed=5)
    p = day_panel(m)
    out = preprocess_day_panel(p, m.dates[40], window=10, mad_k=5.0)
    np.testing.assert_array_equal(out.values, p.values)
    assert out.attrs["window_norm"] == "last" and out.attrs["window"] == 10 and out.attrs["mad_k"] == 5.0
    assert out.attrs["preprocess"] == fit_day_stats(p, m.dates[40], window=10, mad_k=5.0)
    with pytest.raises(ValueError, match="fewer than one window"):
        preprocess_day_panel(p, m.dates[5], window=10)
