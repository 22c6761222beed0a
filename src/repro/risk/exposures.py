"""Style exposures of the price-volume risk model, every day at once (SPEC §7; docs/method.md
"Risk model (SPEC §7)").

Each descriptor for day t uses data up to the close of t only: windowed exponentially weighted
sums run backwards from t (`ewma_window_sum`), market caps are those of t. Per day, a style is
winsorised (median ± k·1.4826·MAD), then standardised to cap-weighted mean 0 and equal-weighted
std 1 over the covered stocks (listed, with a market cap). A covered stock whose descriptor is
missing (too short a history) gets 0, the cap-weighted mean, and the count is logged.
"""
from __future__ import annotations

import logging
import warnings

import numpy as np
from scipy.signal import lfilter

from ..market import Market
from .config import RiskConfig
from .regression import weighted_least_squares

log = logging.getLogger(__name__)

STYLE_NAMES = ["size", "nlsize", "beta", "momentum", "resvol", "liquidity", "reversal"]


def decay(halflife: float | None) -> float:
    """Daily weight ratio λ = 0.5^(1/halflife); halflife None means equal weights (λ = 1)."""
    return 1.0 if halflife is None else 0.5 ** (1.0 / halflife)


def ewma_window_sum(x: np.ndarray, halflife: float | None, window: int) -> np.ndarray:
    """S[t] = Σ_{s=t-window+1..t} λ^(t-s) x[s] along axis 0 (x has no NaN).

    The infinite sum E[t] = λ E[t-1] + x[t] is one IIR filter; the window is E[t] − λ^window
    E[t-window], exact in float64 for the half-lives used (λ^window ≥ 2^-8)."""
    lam = decay(halflife)
    full = lfilter([1.0], [1.0, -lam], x, axis=0) if lam < 1 else np.cumsum(x, axis=0)
    out = full.copy()
    if window < len(x):
        out[window:] -= lam ** window * full[:-window]
    return out


def daily_returns(market: Market) -> np.ndarray:
    """Close-to-close return of adjusted prices, float64 [D, N]; NaN on the first day, where the
    stock is not listed on t or t-1, and on suspended days (no trade: the price is carried)."""
    adj = market.adjusted("close")
    r = np.full(adj.shape, np.nan)
    r[1:] = adj[1:] / adj[:-1] - 1.0
    r[market.is_suspended] = np.nan
    return r


def covered_mask(market: Market) -> np.ndarray:
    """Stock-days the risk model covers: listed with a positive market cap, bool [D, N]."""
    mcap = market.fields["mcap"]
    with np.errstate(invalid="ignore"):
        return market.listed & np.isfinite(mcap) & (mcap > 0)


def cap_weighted_market(r: np.ndarray, mcap: np.ndarray) -> np.ndarray:
    """Market return of day t weighted by the previous close's market cap, [D]; 0 if none."""
    w = np.zeros_like(mcap)
    w[1:] = np.where(np.isfinite(mcap[:-1]), mcap[:-1], 0.0)
    w = np.where(np.isfinite(r), w, 0.0)
    tot = w.sum(axis=1)
    return np.divide((w * np.nan_to_num(r)).sum(axis=1), tot, out=np.zeros(len(r)), where=tot > 0)


def winsorise(x: np.ndarray, k: float) -> np.ndarray:
    """Clip each row to median ± k · 1.4826 · MAD of its finite values (NaN kept)."""
    with np.errstate(all="ignore"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows
            med = np.nanmedian(x, axis=1, keepdims=True)
            mad = np.nanmedian(np.abs(x - med), axis=1, keepdims=True)
        half = k * 1.4826 * mad
        return np.where(np.isnan(x), np.nan, np.clip(x, med - half, med + half))


def standardise(x: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """Per row: (x − cap-weighted mean) / equal-weighted std over the finite entries (NaN kept).
    Rows with fewer than two finite values, or no spread, become NaN."""
    ok = np.isfinite(x) & np.isfinite(cap)
    w = np.where(ok, cap, 0.0)
    xv = np.where(ok, x, 0.0)
    n = ok.sum(axis=1, keepdims=True)
    with np.errstate(all="ignore"):
        mu_cap = (w * xv).sum(axis=1, keepdims=True) / w.sum(axis=1, keepdims=True)
        mu_eq = xv.sum(axis=1, keepdims=True) / n
        sd = np.sqrt((np.where(ok, (xv - mu_eq) ** 2, 0.0)).sum(axis=1, keepdims=True) / n)
        z = (x - mu_cap) / sd
    bad = (n < 2) | ~(sd > 1e-12 * (1 + np.abs(mu_eq)))
    return np.where(ok & ~bad, z, np.nan)


def orthogonalise(y: np.ndarray, xs: list[np.ndarray], cap: np.ndarray) -> np.ndarray:
    """Per row, the residual of the cap-weighted regression of y on [1, xs] (stocks where all
    are finite; NaN elsewhere)."""
    out = np.full_like(y, np.nan)
    for t in range(len(y)):
        cols = [np.ones(y.shape[1])] + [x[t] for x in xs]
        a = np.column_stack(cols)
        ok = np.isfinite(y[t]) & np.isfinite(a).all(axis=1) & np.isfinite(cap[t]) & (cap[t] > 0)
        if ok.sum() <= a.shape[1]:
            continue
        coef = weighted_least_squares(a[ok], y[t, ok], cap[t, ok])
        out[t, ok] = y[t, ok] - a[ok] @ coef
    return out


def _clean(x: np.ndarray, cap: np.ndarray, k: float) -> np.ndarray:
    return standardise(winsorise(x, k), cap)


def _combine(parts: list[np.ndarray], weights, cap: np.ndarray, k: float) -> np.ndarray:
    """Σ w_c z_c / Σ_available w_c of the standardised components (NaN where none is available)."""
    num = np.zeros_like(parts[0])
    den = np.zeros_like(parts[0])
    for part, w in zip(parts, weights):
        z = _clean(part, cap, k)
        ok = np.isfinite(z)
        num += np.where(ok, w * z, 0.0)
        den += np.where(ok, w, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / den, np.nan)


def raw_descriptors(market: Market, cfg: RiskConfig) -> dict[str, np.ndarray]:
    """Un-standardised descriptors, float64 [D, N] each, NaN where history is too short."""
    covered = covered_mask(market)
    cap = np.where(covered, market.fields["mcap"], np.nan)
    r = daily_returns(market)
    obs = np.isfinite(r) & covered
    rv = np.where(obs, r, 0.0)
    lr = np.where(obs, np.log1p(np.where(obs, r, 0.0)), 0.0)
    m = cap_weighted_market(r, market.fields["mcap"])[:, None]
    o = obs.astype(np.float64)
    out = {"size": np.log(cap)}

    # beta and HSIGMA: EW regression of r on the market over beta_window days
    def ew(x):
        return ewma_window_sum(x, cfg.beta_halflife, cfg.beta_window)

    s0, sm, sr = ew(o), ew(o * m), ew(rv)
    smm, smr, srr = ew(o * m * m), ew(rv * m), ew(rv * rv)
    n_beta = ewma_window_sum(o, None, cfg.beta_window)
    with np.errstate(all="ignore"):
        var_m = smm - sm * sm / s0
        beta = (smr - sm * sr / s0) / var_m
        alpha = (sr - beta * sm) / s0
        resid = np.maximum(srr - alpha * sr - beta * smr, 0.0) / s0
        resid = np.where(np.isfinite(resid), resid, np.nan)
    enough = (n_beta >= cfg.beta_min_obs) & covered & (var_m > 0)
    out["beta"] = np.where(enough, beta, np.nan)
    hsigma = np.where(enough & (n_beta >= cfg.resvol_min_obs), np.sqrt(np.abs(resid)), np.nan)

    # momentum: EW log returns over [t-lag-window+1, t-lag], rescaled to the full window's weight
    lag = cfg.momentum_lag
    lr_l, o_l = np.zeros_like(lr), np.zeros_like(o)
    lr_l[lag:], o_l[lag:] = lr[: len(lr) - lag], o[: len(o) - lag]
    num = ewma_window_sum(lr_l, cfg.momentum_halflife, cfg.momentum_window)
    wsum = ewma_window_sum(o_l, cfg.momentum_halflife, cfg.momentum_window)
    full = (1 - decay(cfg.momentum_halflife) ** cfg.momentum_window) / (1 - decay(cfg.momentum_halflife))
    n_mom = ewma_window_sum(o_l, None, cfg.momentum_window)
    with np.errstate(all="ignore"):
        out["momentum"] = np.where((n_mom >= cfg.momentum_min_obs) & covered, num / wsum * full, np.nan)

    # residual volatility: DASTD, CMRA, HSIGMA combined below
    w_d = ewma_window_sum(o, cfg.dastd_halflife, cfg.resvol_window)
    mu = ewma_window_sum(rv, cfg.dastd_halflife, cfg.resvol_window)
    m2 = ewma_window_sum(rv * rv, cfg.dastd_halflife, cfg.resvol_window)
    n_d = ewma_window_sum(o, None, cfg.resvol_window)
    with np.errstate(all="ignore"):
        dastd = np.sqrt(np.maximum(m2 / w_d - (mu / w_d) ** 2, 0.0))
    out["dastd"] = np.where((n_d >= cfg.resvol_min_obs) & covered, dastd, np.nan)
    cum = np.cumsum(lr, axis=0)
    months = cfg.cmra_months
    z_max = np.full(cum.shape, -np.inf)
    z_min = np.full(cum.shape, np.inf)
    for T in range(1, months + 1):  # running max / min: no [months, D, N] stack in memory
        z = cum.copy()
        z[21 * T:] -= cum[: len(cum) - 21 * T]
        np.maximum(z_max, z, out=z_max)
        np.minimum(z_min, z, out=z_min)
    listed_days = ewma_window_sum(covered.astype(np.float64), None, 21 * months)
    out["cmra"] = np.where((listed_days >= 21 * months) & covered, z_max - z_min, np.nan)
    out["hsigma"] = hsigma

    # liquidity: log share turnover per month over 1, 3, 12 months (scaled to listed days)
    tau = market.fields["turnover"]
    tau_ok = covered & np.isfinite(tau)
    tv = np.where(tau_ok, tau, 0.0)
    for name, win in zip(("stom", "stoq", "stoa"), cfg.liquidity_windows):
        total = ewma_window_sum(tv, None, win)
        n = ewma_window_sum(tau_ok.astype(np.float64), None, win)
        with np.errstate(all="ignore"):
            monthly = total / n * 21.0
            out[name] = np.where((n >= min(21, win)) & (monthly > 0) & covered, np.log(monthly), np.nan)

    # short-term reversal: EW log returns of the last reversal_window days
    out["reversal"] = np.where(covered, ewma_window_sum(lr, cfg.reversal_halflife, cfg.reversal_window), np.nan)
    return out


def style_exposures(market: Market, cfg: RiskConfig) -> np.ndarray:
    """Standardised style exposures, float64 [D, N, len(STYLE_NAMES)]; NaN only where the stock
    is not covered (missing descriptors of covered stocks are set to 0 and logged)."""
    covered = covered_mask(market)
    cap = np.where(covered, market.fields["mcap"], np.nan)
    raw = raw_descriptors(market, cfg)
    k = cfg.winsor_mad
    size = _clean(raw["size"], cap, k)
    nlsize = _clean(orthogonalise(size ** 3, [size], cap), cap, k)
    beta = _clean(raw["beta"], cap, k)
    resvol = _combine([raw["dastd"], raw["cmra"], raw["hsigma"]], cfg.resvol_weights, cap, k)
    resvol = _clean(orthogonalise(resvol, [np.nan_to_num(beta), size], cap), cap, k)
    liq = _combine([raw["stom"], raw["stoq"], raw["stoa"]], cfg.liquidity_weights, cap, k)
    liq = _clean(orthogonalise(liq, [size], cap), cap, k)
    styles = {"size": size, "nlsize": nlsize, "beta": beta, "momentum": _clean(raw["momentum"], cap, k),
              "resvol": resvol, "liquidity": liq, "reversal": _clean(raw["reversal"], cap, k)}
    out = np.full(covered.shape + (len(STYLE_NAMES),), np.nan)
    n_cov = int(covered.sum())
    for j, name in enumerate(STYLE_NAMES):
        x = styles[name]
        missing = covered & ~np.isfinite(x)
        if missing.any():
            log.info("risk exposures: style %s missing for %d of %d covered stock-days (%.1f%%), set to 0 "
                     "(the cap-weighted mean)", name, int(missing.sum()), n_cov, 100 * missing.sum() / max(n_cov, 1))
        out[..., j] = np.where(covered, np.where(missing, 0.0, x), np.nan)
    return out
