"""Specific (idiosyncratic) variance (SPEC §7; docs/method.md "Risk model (SPEC §7)").

σ̂ = exponentially weighted volatility of a stock's specific returns; Bayesian shrinkage toward
the cap-weighted mean volatility of its size decile (Menchero et al., Barra USE4):
σ_SH = v σ̄ + (1 − v) σ̂, v = q |σ̂ − σ̄| / (Δ + q |σ̂ − σ̄|), Δ the equal-weighted dispersion of σ̂
in the decile. A stock with fewer than `min_obs` specific returns gets σ̄ (structural fallback).
Then the volatility-regime multiplier from the cap-weighted bias statistic of the specific
returns standardised by the previous day's forecast.
"""
from __future__ import annotations

import numpy as np
from scipy.signal import lfilter

from .exposures import decay


def ewma_volatility(u: np.ndarray, halflife: float) -> tuple[np.ndarray, np.ndarray]:
    """σ̂[t] = sqrt(Σ_{s≤t} λ^(t−s) u_s² / Σ λ^(t−s)) over a stock's days with a specific return
    (zero mean), and the number of such days, both [D, N]; σ̂ is NaN before the first."""
    ok = np.isfinite(u)
    lam = decay(halflife)
    num = lfilter([1.0], [1.0, -lam], np.where(ok, u * u, 0.0), axis=0)
    den = lfilter([1.0], [1.0, -lam], ok.astype(np.float64), axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        sigma = np.sqrt(num / den)
    return np.where(den > 0, sigma, np.nan), np.cumsum(ok, axis=0)


def size_deciles(size: np.ndarray, n_groups: int) -> np.ndarray:
    """Group 0..n_groups−1 of each finite entry by rank of size (−1 where NaN), one day [N]."""
    out = np.full(len(size), -1)
    ok = np.flatnonzero(np.isfinite(size))
    rank = np.empty(len(ok), dtype=np.int64)
    rank[np.argsort(size[ok], kind="stable")] = np.arange(len(ok))
    out[ok] = rank * n_groups // max(len(ok), 1)
    return out


def shrink(sigma: np.ndarray, n_obs: np.ndarray, cap: np.ndarray, min_obs: int, q: float,
           n_groups: int) -> np.ndarray:
    """One day's shrunk specific volatility [N] for the stocks with a finite positive cap (NaN
    elsewhere). Decile targets and dispersions use the stocks with ≥ min_obs observations; a
    decile without any falls back to the all-stock cap-weighted mean."""
    covered = np.isfinite(cap) & (cap > 0)
    group = size_deciles(np.where(covered, np.log(np.where(covered, cap, 1.0)), np.nan), n_groups)
    est = covered & (n_obs >= min_obs) & np.isfinite(sigma) & (sigma > 0)
    out = np.full(len(sigma), np.nan)
    if not est.any():
        return out
    overall = np.average(sigma[est], weights=cap[est])
    g = np.where(covered, group, n_groups)  # uncovered stocks: an extra, unused group
    sig = np.where(est, sigma, 0.0)
    w_cap = np.where(est, cap, 0.0)
    cnt = np.bincount(g, weights=est.astype(np.float64), minlength=n_groups + 1)
    wsum = np.bincount(g, weights=w_cap, minlength=n_groups + 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        target = np.where(wsum > 0, np.bincount(g, weights=w_cap * sig, minlength=n_groups + 1) / wsum, overall)
        dev2 = np.where(est, (sig - target[g]) ** 2, 0.0)
        spread = np.where(cnt > 0, np.sqrt(np.bincount(g, weights=dev2, minlength=n_groups + 1) / cnt), 0.0)
        dev = q * np.abs(sig - target[g])
        v = np.where(dev > 0, dev / (spread[g] + dev), 0.0)
    out = np.where(est, v * target[g] + (1 - v) * sig, target[g])
    return np.where(covered, out, np.nan)


def specific_bias_sq(u: np.ndarray, sigma_prev: np.ndarray, cap_prev: np.ndarray) -> float:
    """Cap-weighted mean of (u_t / σ_{t−1})² over stocks with both (NaN if none)."""
    ok = np.isfinite(u) & np.isfinite(sigma_prev) & (sigma_prev > 0) & np.isfinite(cap_prev) & (cap_prev > 0)
    if not ok.any():
        return np.nan
    return float(np.average((u[ok] / sigma_prev[ok]) ** 2, weights=cap_prev[ok]))
