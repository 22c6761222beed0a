"""Factor covariance (SPEC §7; docs/method.md "Risk model (SPEC §7)").

Three steps: an exponentially weighted Newey-West covariance updated recursively day by day
(`newey_west_path`), the eigenfactor risk adjustment of Menchero, Orr and Wang (2011,
"Eigen-adjusted covariance matrices", `eigen_adjust`, seeded Monte Carlo) and the
volatility-regime adjustment (`regime_multiplier`, the exponentially weighted mean of squared
cross-sectional bias statistics).
"""
from __future__ import annotations

import numpy as np

from .exposures import decay


def newey_west(gammas: list[np.ndarray]) -> np.ndarray:
    """Γ_0 + Σ_{l=1..L} (1 − l/(L+1)) (Γ_l + Γ_lᵀ) for gammas = [Γ_0, …, Γ_L]."""
    lags = len(gammas) - 1
    out = gammas[0].copy()
    for lag in range(1, lags + 1):
        out += (1.0 - lag / (lags + 1.0)) * (gammas[lag] + gammas[lag].T)
    return 0.5 * (out + out.T)


def newey_west_path(f: np.ndarray, vol_halflife: float, corr_halflife: float, lags: int
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Factor covariance as of every day, [D, K, K], and the count of factor-return days used [D].

    Γ_l(t) = Σ_s λ^(t−s) f_s f_{s−l}ᵀ / Σ_s λ^(t−s) over the days s ≤ t with factor returns
    (zero mean, the usual assumption for daily factor returns; a lagged pair is skipped when
    f_{s−l} is missing). Correlations come from the corr_halflife estimate, volatilities from
    the vol_halflife one. Rows t without any factor return are NaN."""
    n_days, k = f.shape
    valid = np.isfinite(f).all(axis=1)
    halflives = [vol_halflife] if vol_halflife == corr_halflife else [vol_halflife, corr_halflife]
    acc = [[np.zeros((k, k)) for _ in range(lags + 1)] for _ in halflives]
    wsum = [0.0 for _ in halflives]
    lams = [decay(h) for h in halflives]
    out = np.full((n_days, k, k), np.nan)
    count = np.zeros(n_days, dtype=np.int64)
    n = 0
    for t in range(n_days):
        if valid[t]:
            n += 1
            for h, lam in enumerate(lams):
                wsum[h] = lam * wsum[h] + 1.0
                for lag in range(lags + 1):
                    acc[h][lag] *= lam
                    if t - lag >= 0 and valid[t - lag]:
                        acc[h][lag] += np.outer(f[t], f[t - lag])
        count[t] = n
        if n == 0:
            continue
        covs = [newey_west([a / wsum[h] for a in acc[h]]) for h in range(len(lams))]
        if len(covs) == 1:
            out[t] = covs[0]
        else:
            vol = np.sqrt(np.maximum(np.diag(covs[0]), 0.0))
            sd = np.sqrt(np.maximum(np.diag(covs[1]), 0.0))
            with np.errstate(invalid="ignore", divide="ignore"):
                corr = covs[1] / np.outer(sd, sd)
            corr = np.where(np.isfinite(corr), corr, 0.0)
            np.fill_diagonal(corr, 1.0)
            out[t] = corr * np.outer(vol, vol)
    return out, count


def simulated_grams(n_sims: int, sim_days: int, halflife: float, k: int, rng: np.random.Generator,
                    chunk: int = 100) -> np.ndarray:
    """[n_sims, k, k]: G_m = Σ_t w_t ε_t ε_tᵀ for sim_days standard normal draws ε_t, weights
    w_t ∝ λ^(sim_days−1−t) summing to 1 (the half-life of the covariance estimate). The
    simulated covariance of eigenfactors with variances d is then diag(√d) G_m diag(√d): one set
    of draws serves every day (common random numbers, seeded once)."""
    w = decay(halflife) ** np.arange(sim_days - 1, -1, -1.0)
    sw = np.sqrt(w / w.sum())
    out = np.empty((n_sims, k, k))
    for start in range(0, n_sims, chunk):
        m = min(chunk, n_sims - start)
        e = rng.standard_normal((m, sim_days, k)) * sw[None, :, None]
        out[start:start + m] = e.transpose(0, 2, 1) @ e
    return out


def eigen_adjust(cov: np.ndarray, grams: np.ndarray, scale: float) -> np.ndarray:
    """Eigenfactor risk adjustment (Menchero, Orr, Wang 2011).

    F0 = U0 D0 U0ᵀ. Simulation m draws eigenfactor returns with variances D0 and estimates their
    covariance F_m = √D0 G_m √D0 (`simulated_grams`; working in the eigenbasis of F0 changes
    neither eigenvalues nor true variances), diagonalises it, F_m = U_m D_m U_mᵀ, and takes the
    true variances of its eigenfactors, diag(U_mᵀ D0 U_m). The simulated bias
    v_k = sqrt(mean_m true_k / D_m,k) is scaled, γ_k = scale (v_k − 1) + 1, and F̃ = U0 γ² D0 U0ᵀ."""
    cov = 0.5 * (cov + cov.T)
    d0, u0 = np.linalg.eigh(cov)
    floor = 1e-12 * max(d0.max(), 1e-300)
    d0 = np.maximum(d0, floor)
    s = np.sqrt(d0)
    dm, um = np.linalg.eigh(grams * s[None, :, None] * s[None, None, :])
    true = np.einsum("mki,k,mki->mi", um, d0, um)
    v = np.sqrt(np.mean(true / np.maximum(dm, floor), axis=0))
    gamma = scale * (v - 1.0) + 1.0
    out = (u0 * (gamma ** 2 * d0)) @ u0.T
    return 0.5 * (out + out.T)


def regime_multiplier(bias_sq: np.ndarray, halflife: float) -> np.ndarray:
    """λ²[t] = Σ_{s≤t} w_s B²_s / Σ w_s over the days with a finite squared bias statistic B²_s
    (weights λ^(t−s)); 1 before the first such day."""
    lam = decay(halflife)
    num = den = 0.0
    out = np.ones(len(bias_sq))
    for t, b in enumerate(bias_sq):
        num, den = lam * num, lam * den
        if np.isfinite(b):
            num, den = num + b, den + 1.0
        if den > 0:
            out[t] = num / den
    return out


def factor_bias_sq(f: np.ndarray, covs: np.ndarray, identified: np.ndarray, min_history: int) -> np.ndarray:
    """B²_t = mean_k (f_{t,k} / σ_{t−1,k})² over the factors identified on t and on at least
    min_history days up to t−1 (`identified` bool [D, K], see `regression.factor_returns`), σ
    from the day-(t−1) covariance; NaN when no factor qualifies."""
    out = np.full(len(f), np.nan)
    count = np.cumsum(identified, axis=0)
    for t in range(1, len(f)):
        if np.isfinite(f[t]).all():
            sd = np.sqrt(np.maximum(np.diag(covs[t - 1]), 0.0))
            ok = (count[t - 1] >= min_history) & identified[t] & (sd > 0)
            if ok.any():
                out[t] = np.mean((f[t, ok] / sd[ok]) ** 2)
    return out
