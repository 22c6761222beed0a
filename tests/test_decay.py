"""Decay (tables 11-12): RankIC of factor[t − lag] with target[t]."""
import numpy as np
import pytest
from scipy.stats import spearmanr

from repro.metrics.decay import decay, lagged


def test_known_lag_structure_peaks_at_that_lag():
    rng = np.random.default_rng(0)
    f = rng.normal(size=(60, 50))
    y = np.full_like(f, np.nan)
    y[5:] = f[:-5]  # target_t = f_{t-5} exactly
    mask = np.ones_like(f, bool)
    days = np.arange(20, 60, 3)
    res = decay(f, y, mask, [0, 5, 10], days)
    assert res[5] == pytest.approx(1.0)
    assert abs(res[0]) < 0.2 and abs(res[10]) < 0.2


def test_decay_matches_scipy_on_one_day_and_respects_mask():
    rng = np.random.default_rng(1)
    f = rng.normal(size=(30, 20))
    y = rng.normal(size=(30, 20))
    mask = rng.random((30, 20)) < 0.7
    res = decay(f, y, mask, [3], np.array([25]))
    ok = mask[25]
    assert res[3] == pytest.approx(spearmanr(f[22, ok], y[25, ok]).statistic)


def test_lagged_before_start_is_nan():
    x = np.arange(12.0).reshape(4, 3)
    out = lagged(x, np.array([1, 3]), 2)
    assert np.isnan(out[0]).all()
    np.testing.assert_array_equal(out[1], x[1])
