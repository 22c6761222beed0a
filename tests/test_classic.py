"""The 15 classic factors of table 17 against independent expressions (pandas rolling, lstsq)."""

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from market_fixtures import random_market, random_ms_panel
from repro.features.classic import CLASSIC_FACTORS, _factor_returns, classic_factors

W, MP, LOOKBACK = 12, 9, 20
REFERENCE = Path(__file__).resolve().parents[1] / "config" / "reference" / "table17.csv"


@pytest.fixture(scope="module")
def case():
    m = random_market(n_days=80, n_stocks=16, seed=7, suspend_prob=0.05)
    ms = random_ms_panel(m, seed=8)
    panel = classic_factors(m, ms, window=W, min_periods=MP, value_lookback=LOOKBACK)
    return m, ms, panel


def _adj(m, name):
    return np.where(m.listed, m.adjusted(name), np.nan)


def _full(m):
    return m.listed & (m.days_listed() >= W)


def _returns(m):
    c = _adj(m, "close")
    r = pd.DataFrame(c).pct_change(fill_method=None).to_numpy()
    return np.where(m.listed & ~m.is_suspended, r, np.nan)


def _roll(m, daily, stat):
    out = getattr(pd.DataFrame(daily).rolling(W, min_periods=MP), stat)().to_numpy()
    return np.where(_full(m), out, np.nan)


def _check(panel, name, expected, rtol=1e-5):
    got = panel.feature(name)
    expected = np.where(np.isfinite(expected), expected, np.nan)
    np.testing.assert_array_equal(np.isfinite(got), np.isfinite(expected), err_msg=name)
    assert np.isfinite(got).sum() > 100, name
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=1e-7, equal_nan=True, err_msg=name)


def test_names_follow_table17():
    if REFERENCE.exists():
        with REFERENCE.open() as fh:
            assert CLASSIC_FACTORS == [row["factor"] for row in csv.DictReader(fh)]
    assert len(CLASSIC_FACTORS) == 15


def test_price_volume_factors(case):
    m, _, panel = case
    c = _adj(m, "close")
    ret = np.full(c.shape, np.nan)
    ret[W:] = c[W:] / c[:-W] - 1
    _check(panel, "ret", np.where(_full(m), ret, np.nan))
    _check(panel, "vol", _roll(m, _returns(m), "std"))
    _check(panel, "lnto", np.log(_roll(m, np.where(m.listed, m.fields["turnover"], np.nan), "mean")))
    amount = m.fields["amount"]
    illiq = np.where(amount > 0, np.abs(_returns(m)) / np.where(amount > 0, amount, 1), np.nan)
    _check(panel, "lnamihud", np.log(_roll(m, illiq, "mean")))


def test_intraday_factors(case):
    m, ms, panel = case
    f = {name: ms.feature(name).astype(np.float64) for name in ms.features}
    _check(panel, "skew", _roll(m, f["rskew"], "mean"))
    _check(panel, "kurt", _roll(m, f["rkurt"], "mean"))
    _check(panel, "apb", _roll(m, f["apb"], "mean"))
    _check(panel, "sdvhhi", _roll(m, f["vol_hhi"], "std"))
    minute_std = f["vol_cv"] * _adj(m, "volume") / 240
    _check(panel, "sdvvol", _roll(m, minute_std, "std"))
    # sums rescaled to a full window: W × mean of the observed days
    _check(panel, "jump", W * _roll(m, f["jump"], "mean"))
    c, o = _adj(m, "close"), _adj(m, "open")
    overnight = np.vstack([np.full((1, c.shape[1]), np.nan), np.log(o[1:] / c[:-1])])
    _check(panel, "mom", W * _roll(m, f["mild"] + overnight, "mean"))


def test_jump_is_plain_sum_without_gaps():
    m = random_market(n_days=40, n_stocks=6, seed=9, suspend_prob=0.0)
    ms = random_ms_panel(m)
    panel = classic_factors(m, ms, window=W, min_periods=W, value_lookback=LOOKBACK)
    jump = ms.feature("jump").astype(np.float64)
    t, i = 30, 0
    assert panel.feature("jump")[t, i] == pytest.approx(jump[t - W + 1 : t + 1, i].sum(), rel=1e-5)


def test_five_day_factors(case):
    m, _, panel = case
    o, h, lo, c, vw, v = (_adj(m, n) for n in ("open", "high", "low", "close", "vwap", "volume"))
    n_days, n = c.shape
    arpp = np.full(c.shape, np.nan)
    apb_daily = np.full(c.shape, np.nan)
    for t in range(4, n_days):
        for i in range(n):
            s = slice(t - 4, t + 1)
            typical = ((o[s, i] + h[s, i] + lo[s, i] + c[s, i]) / 4).mean()
            arpp[t, i] = (typical - lo[s, i].min()) / (h[s, i].max() - lo[s, i].min())
            if (v[s, i] > 0).all():
                apb_daily[t, i] = np.log(vw[s, i].mean() / (np.sum(vw[s, i] * v[s, i]) / v[s, i].sum()))
    _check(panel, "arpp", arpp)
    _check(panel, "apb_5d", _roll(m, apb_daily, "mean"))


def test_factor_returns_hand_example():
    # one day after a base day, 10 stocks with previous caps 1..10
    n = 10
    r = np.vstack([np.full(n, np.nan), np.linspace(-0.05, 0.04, n)])
    cap = np.vstack([np.arange(1.0, n + 1), np.arange(1.0, n + 1)])
    m = random_market(n_days=2, n_stocks=n, seed=0)
    m.fields["mcap"] = cap
    close = np.vstack([np.ones(n), 1 + r[1]])
    f = _factor_returns(m, r, close, lookback=0)
    assert f[1, 0] == pytest.approx(np.sum(cap[0] * r[1]) / cap[0].sum())
    # 30% quantile of 1..10 is 3.7 (small: 1,2,3), 70% is 7.3 (big: 8,9,10)
    assert f[1, 1] == pytest.approx(r[1, :3].mean() - r[1, 7:].mean())
    assert np.isnan(f[0]).all()


def test_ivol_ivr_against_lstsq(case):
    m, _, panel = case
    r = _returns(m)
    f = _factor_returns(m, r, _adj(m, "close"), LOOKBACK)
    full = _full(m)
    checked = 0
    for t in range(W, len(m.dates)):
        for i in range(len(m.codes)):
            rows = np.arange(t - W + 1, t + 1)
            ok = np.isfinite(r[rows, i]) & np.isfinite(f[rows]).all(axis=1)
            if not full[t, i] or ok.sum() < MP:
                assert np.isnan(panel.feature("ivol")[t, i])
                continue
            x = np.column_stack([np.ones(ok.sum()), f[rows][ok]])
            y = r[rows, i][ok]
            beta, *_ = np.linalg.lstsq(x, y, rcond=None)
            e = y - x @ beta
            assert panel.feature("ivol")[t, i] == pytest.approx(e.std(ddof=1), rel=1e-4)
            assert panel.feature("ivr")[t, i] == pytest.approx(e @ e / np.sum((y - y.mean()) ** 2), rel=1e-4)
            checked += 1
    assert checked > 100


def test_misaligned_ms_panel_is_rejected(case):
    m, ms, _ = case
    bad = random_ms_panel(random_market(n_days=10, n_stocks=3))
    with pytest.raises(ValueError, match="not aligned"):
        classic_factors(m, bad)


def test_without_ms_panel_only_intraday_factors_are_missing(case):
    m, _, panel = case
    bare = classic_factors(m, None, window=W, min_periods=MP, value_lookback=LOOKBACK)
    intraday = ["skew", "kurt", "jump", "mom", "apb", "sdvhhi", "sdvvol"]
    for k, name in enumerate(CLASSIC_FACTORS):
        if name in intraday:
            assert np.isnan(bare.values[..., k]).all(), name
        else:
            np.testing.assert_array_equal(bare.values[..., k], panel.values[..., k], err_msg=name)
