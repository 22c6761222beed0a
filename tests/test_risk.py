"""The price-volume risk model (SPEC §7, repro.risk): hand-checked formulas, constraints,
recovery of a planted factor structure, no look-ahead, persistence and bias statistics."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from market_fixtures import copy_market, random_market

from repro.risk import RiskConfig, RiskModel, bias_statistics, plot_bias
from repro.risk.covariance import eigen_adjust, newey_west_path, regime_multiplier, simulated_grams
from repro.risk.exposures import covered_mask, daily_returns, ewma_window_sum, standardise, winsorise
from repro.risk.regression import constrained_wls, design_matrix, factor_returns
from repro.risk.specific import shrink

# Short windows so that a 160-day market has every style from day ~40.
SMALL = dict(beta_window=40, beta_min_obs=20, momentum_window=40, momentum_lag=5, momentum_min_obs=20,
             resvol_window=40, resvol_min_obs=20, cmra_months=1, liquidity_windows=(5, 21, 40),
             min_history=20, eigen_sims=50, eigen_sim_days=60, vol_halflife=30, corr_halflife=30,
             regime_halflife=20, specific_halflife=30, specific_min_obs=20)


@pytest.fixture(scope="module")
def market():
    return random_market(n_days=160, n_stocks=40, seed=3)


@pytest.fixture(scope="module")
def model(market):
    return RiskModel.estimate(market, RiskConfig(**SMALL))


def test_ewma_window_sum_by_hand():
    x = np.array([[1.0], [2.0], [3.0], [4.0]])
    # halflife 1: weights 1, 1/2, 1/4 ...; window 2 keeps the last two days
    np.testing.assert_allclose(ewma_window_sum(x, 1.0, 2)[:, 0], [1.0, 2.5, 4.0, 5.5])
    np.testing.assert_allclose(ewma_window_sum(x, None, 3)[:, 0], [1.0, 3.0, 6.0, 9.0])


def test_winsorise_and_standardise_by_hand():
    x = np.array([[1.0, 2.0, 3.0, 4.0, 100.0]])
    # median 3, MAD 1: bounds 3 ± 2 · 1.4826
    np.testing.assert_allclose(winsorise(x, 2.0), [[1.0, 2.0, 3.0, 4.0, 5.9652]])
    z = standardise(np.array([[1.0, 2.0, 3.0, np.nan]]), np.array([[1.0, 1.0, 2.0, 5.0]]))
    # cap-weighted mean (1 + 2 + 6) / 4 = 2.25, equal-weighted std sqrt(2/3)
    np.testing.assert_allclose(z[0, :3], [-1.5309311, -0.3061862, 0.9185587], rtol=1e-6)
    assert np.isnan(z[0, 3])


def test_exposures_standardised(model, market):
    cap = market.fields["mcap"]
    for t in (60, 120, 159):
        ok = model.covered[t]
        x = model.style_exposures[t, ok].astype(np.float64)
        np.testing.assert_allclose(np.average(x, axis=0, weights=cap[t, ok]), 0.0, atol=1e-6)
        # size is never missing, so its equal-weighted std is exactly 1
        assert np.std(x[:, 0]) == pytest.approx(1.0, abs=1e-6)
        assert np.isfinite(x).all()
    late = model.style_exposures[120, model.covered[120]]
    full = np.abs(late).sum(axis=0) > 0
    assert full.all(), "every style is identified by day 120"


def test_industry_constraint_holds(model, market):
    r = daily_returns(market)
    covered = covered_mask(market)
    cap = market.fields["mcap"]
    k0 = 1 + len(model.style_names)
    checked = 0
    for t in range(1, len(market.dates)):
        f = model.factor_returns[t]
        if not np.isfinite(f).all():
            continue
        ok = covered[t - 1] & np.isfinite(r[t])
        ind = market.industry[t - 1, ok]
        c = np.array([cap[t - 1, ok][ind == k].sum() for k in range(len(market.industry_names))])
        assert abs(c @ f[k0:]) / c.sum() < 1e-10
        checked += 1
    assert checked > 100


def test_planted_factor_returns_recovered():
    rng = np.random.default_rng(5)
    n_days, n, n_styles, n_ind = 30, 400, 2, 3
    styles = rng.normal(size=(n_days, n, n_styles))
    industry = np.tile(rng.integers(0, n_ind, n), (n_days, 1)).astype(np.int16)
    mcap = np.exp(rng.normal(22, 1, (n_days, n)))
    covered = np.ones((n_days, n), bool)
    f_true = rng.normal(0, 0.01, (n_days, 1 + n_styles + n_ind))
    returns = np.full((n_days, n), np.nan)
    noise = 0.0
    for t in range(n_days - 1):
        x = design_matrix(styles[t], industry[t], n_ind)
        c = mcap[t] @ x[:, 1 + n_styles:]
        f_true[t + 1, -1] = -(c[:-1] @ f_true[t + 1, 1 + n_styles:-1]) / c[-1]  # planted f obeys the constraint
        returns[t + 1] = x @ f_true[t + 1] + noise
    f, u, identified = factor_returns(styles, industry, n_ind, returns, mcap, covered)
    np.testing.assert_allclose(f[1:], f_true[1:], atol=1e-12)
    np.testing.assert_allclose(u[1:], 0.0, atol=1e-12)
    assert identified[1:].all() and np.isnan(f[0]).all()
    # with specific noise the estimate is unbiased: mean error small against its spread
    returns_noisy = returns + rng.normal(0, 0.02, returns.shape)
    f2, u2, _ = factor_returns(styles, industry, n_ind, returns_noisy, mcap, covered)
    err = f2[1:] - f_true[1:]
    assert np.abs(err).max() < 0.02
    assert np.abs(err.mean(axis=0)).max() < 4 * err.std(axis=0).max() / np.sqrt(n_days - 1)
    assert np.isfinite(u2[1:]).all()


def test_constrained_wls_matches_lagrangian():
    """The reparametrised solve equals the KKT solution of the constrained WLS."""
    rng = np.random.default_rng(1)
    n = 50
    ind = rng.integers(0, 3, n)
    x = design_matrix(rng.normal(size=(n, 2)), ind, 3)
    y, w, cap = rng.normal(size=n), rng.uniform(1, 3, n), rng.uniform(1, 10, n)
    f, _ = constrained_wls(y, x, w, cap, slice(3, 6))
    k = x.shape[1]
    c = np.zeros(k)
    c[3:] = cap @ x[:, 3:]
    kkt = np.block([[x.T @ (w[:, None] * x), c[:, None]], [c[None, :], np.zeros((1, 1))]])
    sol = np.linalg.solve(kkt, np.r_[x.T @ (w * y), 0.0])
    np.testing.assert_allclose(f, sol[:k], atol=1e-12)


def test_newey_west_by_hand():
    f = np.array([[1.0], [2.0], [3.0]])
    covs, count = newey_west_path(f, 1.0, 1.0, lags=1)
    # day 2, weights 1/4, 1/2, 1: Γ0 = (0.25 + 2 + 9) / 1.75, Γ1 = (0.5·2 + 1·6) / 1.75 = 4,
    # NW = Γ0 + (1 − 1/2) · 2 Γ1
    assert covs[2, 0, 0] == pytest.approx(11.25 / 1.75 + 4.0)
    assert covs[0, 0, 0] == pytest.approx(1.0)  # day 0: Γ0 = 1, no lag pair yet
    assert list(count) == [1, 2, 3]
    # two factors, equal weights (huge half-life), 2 lags, against a direct computation
    g = np.random.default_rng(0).normal(size=(6, 2))
    covs, _ = newey_west_path(g, 1e12, 1e12, lags=2)
    gam = [sum(np.outer(g[s], g[s - lag]) for s in range(lag, 6)) / 6 for lag in range(3)]
    want = gam[0] + (2 / 3) * (gam[1] + gam[1].T) + (1 / 3) * (gam[2] + gam[2].T)
    np.testing.assert_allclose(covs[5], want, rtol=1e-9)


def test_newey_west_separate_vol_and_corr_halflives():
    g = np.random.default_rng(2).normal(size=(50, 3))
    mixed, _ = newey_west_path(g, 10.0, 40.0, lags=0)
    vol, _ = newey_west_path(g, 10.0, 10.0, lags=0)
    corr, _ = newey_west_path(g, 40.0, 40.0, lags=0)
    np.testing.assert_allclose(np.diag(mixed[-1]), np.diag(vol[-1]))
    sd = np.sqrt(np.diag(corr[-1]))
    sdm = np.sqrt(np.diag(mixed[-1]))
    np.testing.assert_allclose(mixed[-1] / np.outer(sdm, sdm), corr[-1] / np.outer(sd, sd), atol=1e-12)


def test_eigen_adjust_seeded_and_psd():
    a = np.random.default_rng(4).normal(size=(8, 8))
    cov = a @ a.T / 8 * 1e-4
    def adjust(seed):
        return eigen_adjust(cov, simulated_grams(200, 100, 50.0, 8, np.random.default_rng(seed)), 1.2)

    one, two, other = adjust(0), adjust(0), adjust(1)
    np.testing.assert_array_equal(one, two)
    assert not np.allclose(one, other)
    np.testing.assert_allclose(one, one.T)
    d0, u0 = np.linalg.eigh(cov)
    gamma2 = np.diag(u0.T @ one @ u0) / d0  # eigenvectors kept, variances scaled
    np.testing.assert_allclose(u0.T @ one @ u0, np.diag(gamma2 * d0), atol=1e-12 * d0.max())
    # sample covariances understate the smallest eigenvariances: they are scaled up most
    assert gamma2[0] > 1.0 and gamma2[0] > gamma2[-1]
    # scale a = 0 leaves the covariance unchanged
    grams = simulated_grams(50, 100, 50.0, 8, np.random.default_rng(0))
    np.testing.assert_allclose(eigen_adjust(cov, grams, 0.0), cov, rtol=1e-10, atol=1e-18)


def test_simulated_grams_by_hand():
    """G = Σ w_t ε_t ε_tᵀ with normalised exponential weights; its mean is the identity."""
    g = simulated_grams(3, 2, 1.0, 2, np.random.default_rng(0))
    e = np.random.default_rng(0).standard_normal((3, 2, 2))
    w = np.array([0.5, 1.0]) / 1.5
    np.testing.assert_allclose(g[1], w[0] * np.outer(e[1, 0], e[1, 0]) + w[1] * np.outer(e[1, 1], e[1, 1]))
    big = simulated_grams(4000, 30, 10.0, 3, np.random.default_rng(1)).mean(axis=0)
    np.testing.assert_allclose(big, np.eye(3), atol=0.05)


def test_regime_multiplier_by_hand():
    lam = 0.5  # half-life 1
    out = regime_multiplier(np.array([np.nan, 4.0, 1.0]), 1.0)
    assert out[0] == 1.0 and out[1] == pytest.approx(4.0)
    assert out[2] == pytest.approx((lam * 4.0 + 1.0) / (lam + 1.0))


def test_specific_shrinkage_by_hand():
    sigma = np.array([0.01, 0.02, 0.03, 0.04, 0.05, np.nan])
    n_obs = np.array([50, 50, 50, 50, 5, 0])
    cap = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 1.0])
    out = shrink(sigma, n_obs, cap, min_obs=20, q=0.1, n_groups=1)
    # target 0.025 (the four stocks with history), spread sqrt(1.25e-4) = 0.0111803
    v0 = 0.1 * 0.015 / (np.sqrt(1.25e-4) + 0.1 * 0.015)
    assert v0 == pytest.approx(0.118293, rel=1e-5)
    assert out[0] == pytest.approx(v0 * 0.025 + (1 - v0) * 0.01)
    assert out[0] == pytest.approx(0.0117744, rel=1e-5)
    assert out[1] == pytest.approx(0.0202140, rel=1e-5)  # v = 0.0005 / 0.0116803 = 0.042807
    # short history and no history: the structural fallback, the decile target
    assert out[4] == pytest.approx(0.025) and out[5] == pytest.approx(0.025)


def test_snapshot_has_no_lookahead(market):
    cfg = RiskConfig(**SMALL)
    t = 100
    base = RiskModel.estimate(market, cfg).snapshot(market.dates[t])
    changed = copy_market(market)
    rng = np.random.default_rng(9)
    for name in ("open", "high", "low", "close", "vwap", "volume", "turnover", "mcap", "adj_factor"):
        changed.fields[name][t + 1:] *= rng.uniform(0.5, 1.5, changed.fields[name][t + 1:].shape)
    changed.is_suspended[t + 1:] = rng.random(changed.is_suspended[t + 1:].shape) < 0.3
    changed.industry[t + 1:] = (changed.industry[t + 1:] + 1) % len(market.industry_names)
    after = RiskModel.estimate(changed, cfg).snapshot(market.dates[t])
    np.testing.assert_array_equal(base.codes, after.codes)
    np.testing.assert_array_equal(base.exposures, after.exposures)
    np.testing.assert_array_equal(base.factor_cov, after.factor_cov)
    np.testing.assert_array_equal(base.specific_var, after.specific_var)
    # and the estimate on data ending at t gives the same snapshot
    cut = RiskModel.estimate(market, cfg, end_date=market.dates[t]).snapshot(market.dates[t])
    np.testing.assert_array_equal(base.factor_cov, cut.factor_cov)
    # the perturbation does reach later snapshots
    assert not np.allclose(RiskModel.estimate(changed, cfg).snapshot(market.dates[t + 5]).factor_cov,
                           RiskModel.estimate(market, cfg).snapshot(market.dates[t + 5]).factor_cov)


def test_start_date_keeps_calendar_alignment(market):
    cfg = RiskConfig(**SMALL)
    late = RiskModel.estimate(market, cfg, start_date=market.dates[30])
    assert late.dates[0] == market.dates[30] and len(late.dates) == len(market.dates) - 30
    df = bias_statistics(late, market, start=market.dates[100], n_random=3, n_names=10)
    assert (df["n_obs"] == len(market.dates) - 1 - 100).all()


def test_snapshot_contract_and_stock_cov(model, market):
    snap = model.snapshot(market.dates[120])
    k = len(snap.factor_names)
    assert snap.factor_names[0] == "country"
    assert snap.factor_names[1:1 + len(snap.style_names)] == snap.style_names
    assert snap.factor_names[-len(snap.industry_names):] == snap.industry_names
    assert snap.exposures.shape == (len(snap.codes), k) and np.isfinite(snap.exposures).all()
    np.testing.assert_array_equal(snap.factor_cov, snap.factor_cov.T)
    assert np.linalg.eigvalsh(snap.factor_cov).min() > -1e-15 and (snap.specific_var > 0).all()
    x, f, d = snap.exposures, snap.factor_cov, snap.specific_var
    dense = snap.stock_cov()
    i, j = 3, 7
    assert dense[i, j] == pytest.approx(sum(x[i, a] * f[a, b] * x[j, b] for a in range(k) for b in range(k)))
    assert dense[i, i] == pytest.approx(x[i] @ f @ x[i] + d[i])
    el = snap.cov_factor()
    np.testing.assert_allclose(el @ el.T, f, atol=1e-14)
    # a singular (PSD) covariance still factors
    singular = type(snap)(**{**snap.__dict__, "factor_cov": np.outer(np.ones(k), np.ones(k)) * 1e-4})
    el = singular.cov_factor()
    np.testing.assert_allclose(el @ el.T, singular.factor_cov, atol=1e-14)


def test_snapshot_needs_history(model, market):
    with pytest.raises(ValueError, match="min_history"):
        model.snapshot(market.dates[5])


def test_save_load_roundtrip(model, market, tmp_path):
    path = tmp_path / "risk.npz"
    model.save(path)
    back = RiskModel.load(path)
    a, b = model.snapshot(market.dates[130]), back.snapshot(market.dates[130])
    np.testing.assert_array_equal(a.factor_cov, b.factor_cov)
    np.testing.assert_array_equal(a.specific_var, b.specific_var)
    assert back.cfg == model.cfg and back.factor_names == model.factor_names


def test_config_rejects_unknown_keys():
    assert RiskConfig.from_dict({"eigen_scale": 1.5}).eigen_scale == 1.5
    assert RiskConfig.from_dict(RiskConfig().to_dict()) == RiskConfig()
    with pytest.raises(ValueError, match="eigen_scal"):
        RiskConfig.from_dict({"eigen_scal": 1.5})


def test_bad_industry_code_names_stock(market):
    bad = copy_market(market)
    bad.industry[50, 2] = 99
    with pytest.raises(ValueError, match=str(market.codes[2])):
        RiskModel.estimate(bad, RiskConfig(**SMALL))


def test_bias_statistics_of_a_correct_model(tmp_path):
    """On a market whose returns follow a country + industry + size factor model with constant
    volatilities, the bias statistics land in [0.8, 1.2]."""
    from repro.synth.bars import daily_market

    market = daily_market({"seed": 11, "n_stocks": 200, "start": "2021-01-04", "end": "2022-06-30",
                           "n_industries": 5})
    cfg = RiskConfig(**{**SMALL, "beta_window": 120, "momentum_window": 120, "resvol_window": 120,
                        "eigen_sims": 100, "min_history": 60, "cmra_months": 3})
    model = RiskModel.estimate(market, cfg)
    weights = pd.DataFrame({"date": market.dates[200], "code": market.codes[:30], "weight": 1 / 30})
    df = bias_statistics(model, market, start=market.dates[150], n_random=20, n_names=60, seed=1,
                         portfolios={"equal30": weights})
    assert list(df.columns) == ["kind", "name", "bias", "n_obs", "lower", "upper"]
    rand = df[df["kind"] == "random"]
    assert len(rand) == 20 and (rand["n_obs"] > 100).all()
    assert 0.8 <= rand["bias"].median() <= 1.2
    assert ((rand["bias"] > 0.8) & (rand["bias"] < 1.2)).mean() >= 0.9
    port = df[df["kind"] == "portfolio"].iloc[0]
    assert port["name"] == "equal30" and port["n_obs"] == len(market.dates) - 1 - 200
    n = rand["n_obs"].iloc[0]
    assert rand["upper"].iloc[0] == pytest.approx(1 + np.sqrt(2 / n))
    fac = df[df["kind"] == "factor"].set_index("name")
    assert 0.8 <= fac.loc["country", "bias"] <= 1.2
    # five-name portfolios: mostly specific risk, so this checks the specific variances
    few = bias_statistics(model, market, start=market.dates[150], n_random=20, n_names=5, seed=2)
    few = few[few["kind"] == "random"]["bias"]
    assert 0.85 <= few.median() <= 1.15, few.describe()
    plot_bias(df, tmp_path / "bias.png")
    assert (tmp_path / "bias.png").stat().st_size > 10_000


def test_bias_detects_a_wrong_model(market):
    """Halving every forecast variance doubles... the bias moves by √2: the statistic can fail."""
    model = RiskModel.estimate(market, RiskConfig(**SMALL))
    good = bias_statistics(model, market, start=market.dates[60], n_random=5, n_names=20)
    model.factor_regime = model.factor_regime * 0.25
    model.specific_regime = model.specific_regime * 0.25
    bad = bias_statistics(model, market, start=market.dates[60], n_random=5, n_names=20)
    np.testing.assert_allclose(bad["bias"], 2 * good["bias"], rtol=1e-9)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), a=st.floats(0.1, 100.0), b=st.floats(-50.0, 50.0))
def test_standardise_affine_and_permutation_invariant(seed, a, b):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(3, 30))
    x[0, :3] = np.nan
    cap = rng.uniform(1, 100, (3, 30))
    z = standardise(x, cap)
    np.testing.assert_allclose(standardise(a * x + b, cap), z, atol=1e-9)
    perm = rng.permutation(30)
    np.testing.assert_allclose(standardise(x[:, perm], cap[:, perm]), z[:, perm], atol=1e-12)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_factor_returns_permutation_invariant(seed):
    rng = np.random.default_rng(seed)
    n_days, n = 4, 60
    styles = rng.normal(size=(n_days, n, 2))
    industry = rng.integers(-1, 4, (n_days, n)).astype(np.int16)
    mcap = rng.uniform(1, 50, (n_days, n))
    returns = rng.normal(0, 0.02, (n_days, n))
    covered = rng.random((n_days, n)) < 0.9
    f, u, _ = factor_returns(styles, industry, 4, returns, mcap, covered)
    perm = rng.permutation(n)
    f2, u2, _ = factor_returns(styles[:, perm], industry[:, perm], 4, returns[:, perm], mcap[:, perm], covered[:, perm])
    np.testing.assert_allclose(f2, f, atol=1e-12)
    np.testing.assert_allclose(u2, u[:, perm], atol=1e-12)


def test_missing_market_cap_is_logged_and_left_out(market, caplog):
    bad = copy_market(market)
    bad.fields["mcap"][100:, 5] = np.nan
    with caplog.at_level("WARNING", logger="repro.risk.model"):
        model = RiskModel.estimate(bad, RiskConfig(**SMALL))
    assert "lack a positive market cap" in caplog.text and str(market.codes[5]) in caplog.text
    assert market.codes[5] not in model.snapshot(market.dates[120]).codes
    assert market.codes[5] in model.snapshot(market.dates[90]).codes


def test_market_without_industries(market):
    """A qlib-style market (no industry data): country and styles only."""
    bare = copy_market(market)
    bare.industry[:] = -1
    bare.industry_names = []
    model = RiskModel.estimate(bare, RiskConfig(**SMALL))
    snap = model.snapshot(market.dates[120])
    assert snap.factor_names == ["country", *model.style_names] and snap.industry_names == []
    assert snap.exposures.shape[1] == 8 and np.isfinite(snap.factor_cov).all()
    table = model.factor_return_table()
    assert list(table.columns) == snap.factor_names and table.index[0] == pd.Timestamp(market.dates[1])
