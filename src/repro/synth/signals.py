"""The planted signals: three latent per-stock processes and the oracle they imply (SPEC §1).

Each dataset d in (day, ms, l2) has a latent L_d[t, i], an AR(1) with unit stationary variance
and its own persistence (day decays fastest, l2 slowest, like the report's table 11); the
innovations are correlated across datasets, so the latents share information but each carries
some the others lack. The latent at t-1 moves the log return of day t by

    drift_d[t] = c_d * (L_d[t-1] + q_d * (L_d[t-1]**2 - 1))

(asymmetric: the quadratic term makes high latents pay more than low ones cost). The oracle
is the exact expected planted part of the target, the log return from the close of t+1 to the
close of t+11, given the latents at t. With E[L[t+j] | L[t]] = rho^j L[t] and
E[L[t+j]**2 - 1 | L[t]] = rho^(2j) (L[t]**2 - 1):

    oracle_d[t] = c_d * (A_d * L_d[t] + q_d * B_d * (L_d[t]**2 - 1)),
    A_d = sum_{j=1..10} rho_d^j,  B_d = sum_{j=1..10} rho_d^(2j).

The observations of the latents (daily-bar shadows and volume, the minute-bar closing pattern,
Level-2 order flow and depth) are noisy and saturating (tanh), see `repro.synth.daily` and
`repro.synth.intraday`; the models must average a window of days to read them.
"""
from __future__ import annotations

import numpy as np

from ..vocabulary import DATASETS

RHO = {"day": 0.75, "ms": 0.90, "l2": 0.97}  # daily persistence of each latent
INNOVATION_CORR = 0.85  # pairwise correlation of the latents' innovations
ASYMMETRY = {"day": 0.25, "ms": 0.25, "l2": 0.25}  # q_d
# Cross-sectional std of each planted oracle component (log-return units over 10 days);
# calibrated so that the combined oracle's 10-day RankIC is about 0.12 (see the synth report).
ORACLE_STD = {"day": 0.0037, "ms": 0.0037, "l2": 0.0037}
HORIZON = 10  # target days: close of t+1 to close of t+11


def horizon_sums(rho: float) -> tuple[float, float]:
    """A = sum rho^j and B = sum rho^(2j) for j = 1..HORIZON."""
    j = np.arange(1, HORIZON + 1)
    return float((rho ** j).sum()), float((rho ** (2 * j)).sum())


def loading(name: str) -> float:
    """c_d: the per-day drift loading that gives oracle component d the std ORACLE_STD[d]."""
    a, _ = horizon_sums(RHO[name])
    q = ASYMMETRY[name]
    return ORACLE_STD[name] / (a * np.sqrt(1 + 2 * q * q))


def simulate_latents(rng: np.random.Generator, n_days: int, n_stocks: int) -> dict[str, np.ndarray]:
    """Latents L_d as float64 [D, N], each stationary AR(1) with unit variance."""
    k = len(DATASETS)
    corr = np.full((k, k), INNOVATION_CORR) + (1 - INNOVATION_CORR) * np.eye(k)
    chol = np.linalg.cholesky(corr)
    rho = np.array([RHO[d] for d in DATASETS])[:, None]
    scale = np.sqrt(1 - rho ** 2)
    out = np.empty((k, n_days, n_stocks))
    out[:, 0] = chol @ rng.standard_normal((k, n_stocks))  # stationary start (approx. correlation)
    for t in range(1, n_days):
        out[:, t] = rho * out[:, t - 1] + scale * (chol @ rng.standard_normal((k, n_stocks)))
    return {d: out[i] for i, d in enumerate(DATASETS)}


def drift(latents: dict[str, np.ndarray]) -> np.ndarray:
    """The planted part of each day's log return, [D, N]; day t uses the latents at t-1."""
    total = np.zeros_like(latents[DATASETS[0]])
    for d in DATASETS:
        lat = latents[d][:-1]
        total[1:] += loading(d) * (lat + ASYMMETRY[d] * (lat * lat - 1))
    return total


def oracle(latents: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """oracle_day, oracle_ms, oracle_l2 and their sum `oracle`, [D, N], from the latents at t."""
    out = {}
    for d in DATASETS:
        a, b = horizon_sums(RHO[d])
        lat = latents[d]
        out[f"oracle_{d}"] = loading(d) * (a * lat + ASYMMETRY[d] * b * (lat * lat - 1))
    out["oracle"] = sum(out[f"oracle_{d}"] for d in DATASETS)
    return out
