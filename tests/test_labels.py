"""Target horizon, neutralisation and labels (SPEC §2)."""

import numpy as np
import pytest

from market_fixtures import copy_market, random_market
from repro.labels import make_labels, neutralize, target_returns


def test_target_horizon_on_known_path_with_adj_jump():
    m = copy_market(random_market(n_days=30, n_stocks=3, seed=2, suspend_prob=0.0))
    adj_close = 10.0 * 1.01 ** np.arange(30)  # +1% a day on adjusted prices
    adj = np.where(np.arange(30) >= 7, 2.0, 1.0)  # 1:2 split on day 7: raw close halves
    m.fields["close"][:, 0] = adj_close / adj
    m.fields["adj_factor"][:, 0] = adj
    target = target_returns(m, 1, 11)
    # target[t] = adjclose[t+11] / adjclose[t+1] − 1 = 1.01^10 − 1 for every t with t + 11 < 30
    np.testing.assert_allclose(target[:19, 0], 1.01**10 - 1)
    assert np.isnan(target[19:, 0]).all()
    # independent expression on the market's own adjusted closes for the other stocks
    ac = m.fields["close"] * m.fields["adj_factor"]
    np.testing.assert_allclose(target[:19, 1], ac[11:, 1] / ac[1:20, 1] - 1)
    np.testing.assert_allclose(target_returns(m, 2, 5)[:25, 1], ac[5:, 1] / ac[2:27, 1] - 1)


def test_target_nan_when_unlisted_at_an_end():
    m = copy_market(random_market(n_days=30, n_stocks=3, seed=2, suspend_prob=0.0))
    m.listed[15:, 1] = False
    target = target_returns(m, 1, 11)
    assert np.isfinite(target[:4, 1]).all() and np.isnan(target[4:, 1]).all()
    with pytest.raises(ValueError):
        target_returns(m, 5, 5)


def _random_cross_section(rng, n=40, n_ind=4):
    y = rng.normal(size=n)
    industry = rng.integers(-1, n_ind, size=n)
    log_cap = rng.normal(22, 1.5, size=n)
    return y, industry, log_cap


def _dummies(industry):
    return (industry[:, None] == np.unique(industry)[None, :]).astype(float)


def test_neutralize_orthogonal_and_equal_to_lstsq():
    rng = np.random.default_rng(0)
    y, industry, log_cap = _random_cross_section(rng)
    resid = neutralize(y, industry, log_cap)
    d = _dummies(industry)
    np.testing.assert_allclose(d.T @ resid, 0, atol=1e-10)
    np.testing.assert_allclose(log_cap @ resid, 0, atol=1e-8)
    x = np.column_stack([d, log_cap])
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    np.testing.assert_allclose(resid, y - x @ beta, atol=1e-10)


def test_neutralize_skips_missing_rows_and_works_per_day():
    rng = np.random.default_rng(1)
    ys, inds, caps = zip(*[_random_cross_section(rng) for _ in range(3)])
    y, ind, cap = np.array(ys), np.array(inds), np.array(caps)
    y[0, 5] = np.nan
    cap[1, 7] = np.nan
    mask = np.ones_like(y, dtype=bool)
    mask[2, :3] = False
    resid = neutralize(y, ind, cap, mask=mask)
    assert np.isnan(resid[0, 5]) and np.isnan(resid[1, 7]) and np.isnan(resid[2, :3]).all()
    for day in range(3):
        ok = np.isfinite(y[day]) & np.isfinite(cap[day]) & mask[day]
        x = np.column_stack([_dummies(ind[day][ok]), cap[day][ok]])
        beta, *_ = np.linalg.lstsq(x, y[day][ok], rcond=None)
        np.testing.assert_allclose(resid[day][ok], y[day][ok] - x @ beta, atol=1e-10)


def test_neutralize_cap_in_dummy_span():
    # log cap constant inside each industry: the residual is y demeaned within industry
    y = np.array([1.0, 3.0, 10.0, 14.0, 0.0])
    industry = np.array([0, 0, 1, 1, 2])
    log_cap = np.array([20.0, 20.0, 21.0, 21.0, 25.0])
    np.testing.assert_allclose(neutralize(y, industry, log_cap), [-1, 1, -2, 2, 0], atol=1e-12)


def test_make_labels():
    m = random_market(n_days=120, n_stocks=30, seed=4)
    panel = make_labels(m, 1, 11, min_listed_days=60)
    assert panel.features == ["target", "label", "sample"]
    sample = m.sample_mask(60)
    np.testing.assert_array_equal(panel.feature("sample"), sample.astype(np.float32))
    target = target_returns(m, 1, 11)
    np.testing.assert_allclose(panel.feature("target"), target.astype(np.float32), equal_nan=True)
    label = panel.feature("label")
    assert np.isnan(label[~sample]).all()
    labelled = np.isfinite(label).any(axis=1)
    assert labelled.sum() > 30
    for t in np.nonzero(labelled)[0][::10]:
        ok = sample[t] & np.isfinite(target[t])
        np.testing.assert_array_equal(np.isfinite(label[t]), ok)
        x = np.column_stack([_dummies(m.industry[t][ok]), np.log(m.fields["mcap"][t][ok])])
        beta, *_ = np.linalg.lstsq(x, target[t][ok], rcond=None)
        e = target[t][ok] - x @ beta
        np.testing.assert_allclose(label[t][ok], (e - e.mean()) / e.std(), rtol=1e-4, atol=1e-4)
    # days too close to the end have no label
    assert np.isnan(label[-11:]).all()
