"""Correlations between factors (tables 9, 10, 15, 16) and the report's matrix layout."""
import numpy as np
import pandas as pd
import pytest
from scipy.stats import pearsonr, spearmanr

from repro.metrics.correlation import corr_matrix_table, mean_cross_corr, mean_pair_corr
from repro.metrics.units import mean_abs_unit_corr, unit_ic_stats


def _factors(seed=0, d=12, n=30):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(d, n))
    b = 0.5 * a + rng.normal(size=(d, n))
    c = rng.normal(size=(d, n)) ** 3
    b[rng.random((d, n)) < 0.1] = np.nan
    return {"a": a, "b": b, "c": c}, rng.random((d, n)) < 0.9


def test_mean_pair_corr_matches_scipy_daily_average():
    fs, mask = _factors()
    days = np.array([0, 4, 8])
    sp, pe = [], []
    for t in days:
        ok = mask[t] & np.isfinite(fs["a"][t]) & np.isfinite(fs["b"][t])
        sp.append(spearmanr(fs["a"][t, ok], fs["b"][t, ok]).statistic)
        pe.append(pearsonr(fs["a"][t, ok], fs["b"][t, ok]).statistic)
    assert mean_pair_corr(fs["a"], fs["b"], mask, days, "spearman") == pytest.approx(np.mean(sp))
    assert mean_pair_corr(fs["a"], fs["b"], mask, days, "pearson") == pytest.approx(np.mean(pe))
    with pytest.raises(ValueError, match="kendall"):
        mean_pair_corr(fs["a"], fs["b"], mask, days, "kendall")


def test_matrix_layout_spearman_below_pearson_above():
    fs, mask = _factors(1)
    sp, pe = mean_cross_corr(fs, mask, np.arange(12))
    table = corr_matrix_table(sp, pe)
    assert list(table.columns) == ["row", "a", "b", "c"]
    assert list(table["row"]) == ["a", "b", "c"]
    t = table.set_index("row")
    assert t.loc["a", "a"] == t.loc["c", "c"] == 1.0
    assert t.loc["b", "a"] == pytest.approx(sp.loc["a", "b"])  # lower-left: Spearman
    assert t.loc["a", "b"] == pytest.approx(pe.loc["a", "b"])  # upper-right: Pearson
    assert t.loc["c", "a"] != pytest.approx(t.loc["a", "c"])  # c is skewed: the two differ


def test_mean_abs_unit_corr_by_hand():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(3, 25, 3))
    x[1, :, 2] = -x[1, :, 0]  # a perfectly anti-correlated pair on day 1
    mask = np.ones((3, 25), bool)
    days = np.array([0, 1])
    expected = []
    for t in days:
        c = np.corrcoef(x[t].T)
        expected.append(np.abs(c[~np.eye(3, dtype=bool)]).mean())
    assert mean_abs_unit_corr(x, mask, days) == pytest.approx(np.mean(expected))


def test_unit_ic_stats_rows():
    rng = np.random.default_rng(3)
    y = rng.normal(size=(20, 30))
    units = {"u0": y + rng.normal(size=y.shape), "u1": -y}
    stats = unit_ic_stats(units, y, np.ones_like(y, bool), np.arange(0, 20, 2))
    assert list(stats["unit"]) == ["u0", "u1"]
    assert stats["rank_ic_mean"].iloc[1] == pytest.approx(-1.0)
    assert isinstance(stats, pd.DataFrame) and stats["rank_ic_mean"].iloc[0] > 0.3
