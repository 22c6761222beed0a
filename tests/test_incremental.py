"""Classic baselines and incremental RankIC (repro.incremental): the residualising by hand, an
exact mix of the classic factors adds nothing, an independent factor keeps its RankIC, no
look-ahead in the residual or in the baselines' sign."""
import numpy as np
import pandas as pd
import pytest
from scipy.stats import rankdata, spearmanr

from market_fixtures import random_market
from repro import evaluate as ev
from repro import incremental as inc
from repro.features.classic import CLASSIC_FACTORS
from repro.panel import Panel

CFG = {"start": "2020-03-02", "end": "2020-06-30", "ic_step": 5, "universes": ["all", "csi300", "csi500", "csi1000"]}
HORIZON = 11


def _context(n_stocks=80, seed=3, target=None):
    market = random_market(n_days=130, n_stocks=n_stocks, seed=seed)
    if target is None:
        adj = market.adjusted("close")
        target = np.full(market.shape, np.nan)
        target[:-HORIZON] = adj[HORIZON:] / adj[1 : -HORIZON + 1] - 1.0
    sample = market.sample_mask(0).astype(np.float64)
    labels = Panel(market.dates, market.codes, ["target", "label", "sample"],
                   np.stack([target, target, sample], axis=-1).astype(np.float32), {"label_end": HORIZON})
    return ev.EvalContext.build(market, labels, CFG), labels


def _classic(market, rng, nan_share=0.05):
    values = rng.normal(size=market.shape + (len(CLASSIC_FACTORS),))
    values[rng.random(values.shape) < nan_share] = np.nan
    return Panel(market.dates, market.codes, CLASSIC_FACTORS, values.astype(np.float32))


def _factor_panel(market, x):
    return Panel(market.dates, market.codes, ["factor"], x[:, :, None].astype(np.float32))


# ---- the per-day regression by hand ----------------------------------------------------

def test_residualise_by_hand():
    # y on an intercept and the ranks 1..5: y - mean = [-1.2, -2.2, 0.8, -0.2, 2.8], rank - 3 =
    # [-2, -1, 0, 1, 2], slope = 10 / 10 = 1, residual = [0.8, -1.2, 0.8, -1.2, 0.8];
    # SSE = 4.8, SST = 14.8, R² = 1 - 4.8 / 14.8.
    x = np.array([[2.0, 1.0, 4.0, 3.0, 6.0]])
    c = np.array([[10.0, 20.0, 30.0, 40.0, 50.0]])[:, :, None]
    resid, r2, explained, counts = inc.residualise(x, c, np.ones_like(x, bool))
    np.testing.assert_allclose(resid[0], [0.8, -1.2, 0.8, -1.2, 0.8], atol=1e-12)
    assert r2[0] == pytest.approx(1 - 4.8 / 14.8)
    assert not explained[0] and counts == {"cells": 5, "filled": 0, "left_out": 0, "too_few": 0}


def test_residualise_fills_missing_classic_with_the_median_rank():
    # classic [10, nan, 30, 40, 50]: ranks of the four values 1..4, the missing one gets the
    # median rank 2.5 -> [1, 2.5, 2, 3, 4], centred [-1.5, 0, -0.5, 0.5, 1.5] (sum of squares 5);
    # slope = (1.8 - 0.4 - 0.1 + 4.2) / 5 = 1.1; residual = y_c - 1.1 r_c.
    # A second classic factor without any value that day is left out.
    x = np.array([[2.0, 1.0, 4.0, 3.0, 6.0]])
    c = np.stack([np.array([[10.0, np.nan, 30.0, 40.0, 50.0]]), np.full((1, 5), np.nan)], axis=-1)
    resid, _, _, counts = inc.residualise(x, c, np.ones_like(x, bool))
    np.testing.assert_allclose(resid[0], [0.45, -2.2, 1.35, -0.75, 1.15], atol=1e-12)
    assert counts == {"cells": 5, "filled": 1, "left_out": 1, "too_few": 0}
    # a stock outside the mask is outside the regression and has no residual
    mask = np.array([[True, True, True, True, False]])
    resid, *_ = inc.residualise(x, c, mask)
    assert np.isnan(resid[0, 4]) and np.isfinite(resid[0, :4]).all()


def test_residualise_skips_a_day_with_too_few_stocks_per_regressor():
    # 7 stocks, intercept + 3 classic factors = 4 columns: 8 stocks needed, so no residual;
    # with 8 stocks the day is residualised
    rng = np.random.default_rng(0)
    x, c = rng.normal(size=(1, 8)), rng.normal(size=(1, 8, 3))
    mask = np.ones((1, 8), bool)
    mask[0, 7] = False
    resid, r2, _, counts = inc.residualise(x, c, mask)
    assert np.isnan(resid).all() and np.isnan(r2).all() and counts["too_few"] == 1
    resid, r2, _, counts = inc.residualise(x, c, np.ones((1, 8), bool))
    assert np.isfinite(resid).all() and counts["too_few"] == 0


def test_residualise_uses_only_same_day_data():
    rng = np.random.default_rng(1)
    T, N, K = 12, 40, 15
    x, c = rng.normal(size=(T, N)), rng.normal(size=(T, N, K))
    c[rng.random(c.shape) < 0.1] = np.nan
    mask = rng.random((T, N)) < 0.9
    base, *_ = inc.residualise(x, c, mask)
    for d in (0, 5, 10):
        x2, c2, m2 = x.copy(), c.copy(), mask.copy()
        x2[d + 1:] = rng.normal(size=x2[d + 1:].shape) * 100
        c2[d + 1:] = rng.normal(size=c2[d + 1:].shape)
        m2[d + 1:] = rng.random(m2[d + 1:].shape) < 0.5
        got, *_ = inc.residualise(x2, c2, m2)
        np.testing.assert_array_equal(got[: d + 1], base[: d + 1])
        assert not np.allclose(np.nan_to_num(got[d + 1:]), np.nan_to_num(base[d + 1:]))


# ---- the incremental table -------------------------------------------------------------

def test_exact_mix_of_classic_factors_has_zero_incremental_rank_ic():
    rng = np.random.default_rng(2)
    market = random_market(n_days=130, n_stocks=80, seed=3)
    classic = _classic(market, rng, nan_share=0.0)
    c = classic.values.astype(np.float64)
    sample = market.sample_mask(0)
    # the target loads on classic factors 0 and 3, so the mix has a real raw RankIC
    target = c[:, :, 0] - c[:, :, 3] + rng.normal(0, 0.5, market.shape)
    ctx, _ = _context(target=target)
    # ranks over the `all` ∧ sample stocks (the regression set: the factor is NaN elsewhere)
    ranks = np.stack([rankdata(np.where(sample, c[:, :, k], np.nan), axis=1, nan_policy="omit")
                      for k in range(c.shape[2])], axis=-1)
    mix = 0.7 * ranks[:, :, 0] - 1.3 * ranks[:, :, 3] + 0.2 * ranks[:, :, 9] + 5.0
    factors = {("uni", "day"): _factor_panel(market, np.where(sample, mix, np.nan))}
    table = inc.incremental(ctx, factors, classic).set_index(["universe", "model", "factor"])
    row = table.loc[("all", "uni", "day")]
    assert row["rank_ic_mean"] > 0.3  # the mix predicts the target...
    assert abs(row["incr_rank_ic_mean"]) < 1e-9  # ...but adds nothing to the classic factors
    assert row["incr_rank_ic_pos_ratio"] == 0.0
    assert row["classic_r2"] == pytest.approx(1.0, abs=1e-9)
    # avg of one dataset is its z-score: an affine map of the same mix
    assert abs(table.loc[("all", "uni", "avg"), "incr_rank_ic_mean"]) < 1e-9
    # missing datasets and models: NaN cells, same keys
    assert table.loc[("all", "multi", "day")].isna().all()
    assert len(table) == 4 * 2 * 4


def test_independent_factor_keeps_its_rank_ic():
    # 300 stocks, 15 independent classic regressors + intercept: the residual keeps about
    # sqrt(1 - 16/300) = 0.97 of the factor's correlation with anything independent of them.
    rng = np.random.default_rng(4)
    ctx, _ = _context(n_stocks=300, seed=5)
    market = ctx.market
    classic = _classic(market, rng)
    signal = np.nan_to_num(ctx.target) + rng.normal(0, 0.05, market.shape)
    factors = {("uni", "day"): _factor_panel(market, np.where(market.listed, signal, np.nan))}
    table = inc.incremental(ctx, factors, classic).set_index(["universe", "model", "factor"])
    row = table.loc[("all", "uni", "day")]
    assert row["rank_ic_mean"] > 0.2
    assert 0.9 * row["rank_ic_mean"] < row["incr_rank_ic_mean"] < row["rank_ic_mean"] + 0.01
    assert row["classic_r2"] < 0.15  # 15 / 300 expected by chance
    # the raw columns are table 8's numbers
    t8 = ev.table8(ctx, factors).set_index(["model", "dataset"])
    assert row["rank_ic_mean"] == t8.loc[("uni", "day"), "rank_ic_mean"]
    assert row["ic_ir"] == t8.loc[("uni", "day"), "ic_ir"]


# ---- baselines and their sign ----------------------------------------------------------

def test_sign_days_end_before_the_first_target_known_after_start():
    ctx, _ = _context()
    first = int(np.searchsorted(ctx.dates, np.datetime64(CFG["start"])))
    days = inc.sign_days(ctx, HORIZON)
    assert days[0] == 0 and np.all(np.diff(days) == CFG["ic_step"])
    assert days[-1] + HORIZON < first <= days[-1] + HORIZON + CFG["ic_step"]


def test_sign_has_no_look_ahead():
    rng = np.random.default_rng(6)
    ctx, labels = _context()
    classic = _classic(ctx.market, rng)
    base = inc.long_signs(ctx, classic, HORIZON)
    first = int(np.searchsorted(ctx.dates, np.datetime64(CFG["start"])))
    # a target not known before the test starts (t + horizon >= first) and everything from the
    # first test day on are replaced: the signs do not move
    target = ctx.target.copy()
    target[first - HORIZON:] = rng.normal(size=target[first - HORIZON:].shape)
    values = classic.values.copy()
    values[first:] = rng.normal(size=values[first:].shape)
    ctx2 = ev.EvalContext(ctx.market, target, ctx.sample, **CFG)
    after = inc.long_signs(ctx2, Panel(classic.dates, classic.codes, classic.features, values), HORIZON)
    pd.testing.assert_frame_equal(after, base)
    # while the known past decides them: flip the past target and every sign flips
    target[: first - HORIZON] *= -1
    flipped = inc.long_signs(ev.EvalContext(ctx.market, target, ctx.sample, **CFG), classic, HORIZON)
    assert (flipped["sign"] == -base["sign"]).all()


def test_baselines_are_signed_rank_ics_on_the_table8_days():
    rng = np.random.default_rng(7)
    ctx, labels = _context()
    classic = _classic(ctx.market, rng)
    table = inc.baselines(ctx, classic, inc.label_horizon(labels))
    assert list(table.columns) == ["universe", "factor", "sign", "sign_rank_ic", *inc.STATS]
    assert len(table) == len(CFG["universes"]) * len(CLASSIC_FACTORS)
    assert (table["sign"] == np.sign(table["sign_rank_ic"])).all()
    # one cell by hand: scipy's Spearman per day on all ∧ sample, times the sign
    row = table[(table["universe"] == "all") & (table["factor"] == "lnto")].iloc[0]
    x, mask = classic.feature("lnto"), ctx.mask("all")
    ics = []
    for t in ctx.ic_days():
        ok = mask[t] & np.isfinite(x[t]) & np.isfinite(ctx.target[t])
        if ok.sum() >= 3:
            ics.append(spearmanr(x[t, ok], ctx.target[t, ok])[0])
    assert row["rank_ic_mean"] == pytest.approx(row["sign"] * np.mean(ics), abs=1e-4)


def test_classic_panel_without_factors_and_labels_without_horizon_are_errors():
    ctx, labels = _context()
    bad = Panel(ctx.dates, ctx.market.codes, ["x"], np.zeros(ctx.market.shape + (1,), np.float32))
    with pytest.raises(ValueError, match="none of the classic factors"):
        inc.baselines(ctx, bad, HORIZON)
    with pytest.raises(ValueError, match="label_end"):
        inc.label_horizon(Panel(labels.dates, labels.codes, labels.features, labels.values))


def test_figure(tmp_path):
    rng = np.random.default_rng(8)
    ctx, labels = _context()
    classic = _classic(ctx.market, rng)
    signal = np.nan_to_num(ctx.target) + rng.normal(0, 0.05, ctx.market.shape)
    factors = {(m, d): _factor_panel(ctx.market, signal) for m in ev.MODELS for d in ev.DATASETS}
    base = inc.baselines(ctx, classic, HORIZON)
    incr = inc.incremental(ctx, factors, classic)
    best = inc.best_baseline(base)
    assert best["rank_ic_mean"] == base.loc[base["universe"] == "all", "rank_ic_mean"].max()
    path = inc.plot_incremental(incr, base, tmp_path / "fig_incremental.png")
    assert path.stat().st_size > 1000
