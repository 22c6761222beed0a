"""Risk snapshots built by hand (`repro.risk.RiskSnapshot`) and helpers for the enhancement tests."""
from __future__ import annotations

import numpy as np

from repro.risk import RiskSnapshot


# The optimiser's input is the risk model's own snapshot type.
FakeSnapshot = RiskSnapshot


def factor_cov(k: int, seed: int = 0, vol: float = 0.006) -> np.ndarray:
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(k, k))
    C = A @ A.T / k + np.eye(k)
    d = np.sqrt(np.diag(C))
    return C / np.outer(d, d) * vol ** 2


def market_snapshot(market, s: int, seed: int = 0) -> FakeSnapshot:
    """Country + industry dummies (market.industry on day s; unknown = no dummy) + two styles
    (size = z-scored log mcap of day s, and a fixed random 'beta'), for the names listed on s."""
    rng = np.random.default_rng(seed)
    beta_all = rng.normal(size=len(market.codes))
    idx = np.flatnonzero(market.listed[s])
    inds = list(market.industry_names)
    X = np.zeros((len(idx), 1 + len(inds) + 2))
    X[:, 0] = 1.0
    ind = market.industry[s, idx]
    X[np.flatnonzero(ind >= 0), 1 + ind[ind >= 0]] = 1.0
    size = np.log(market.fields["mcap"][s, idx])
    X[:, -2] = (size - size.mean()) / size.std()
    X[:, -1] = beta_all[idx]
    names = ["country"] + inds + ["size", "beta"]
    spec = (0.02 * (1.0 + 0.5 * np.abs(beta_all[idx]))) ** 2
    return FakeSnapshot(market.dates[s], market.codes[idx], names, ["size", "beta"], inds, X,
                        factor_cov(len(names), seed), spec)


def random_snapshot(n: int, n_ind: int = 3, n_styles: int = 2, seed: int = 0) -> FakeSnapshot:
    rng = np.random.default_rng(seed)
    inds = [f"ind{k}" for k in range(n_ind)]
    styles = [f"style{k}" for k in range(n_styles)]
    X = np.zeros((n, 1 + n_ind + n_styles))
    X[:, 0] = 1.0
    X[np.arange(n), 1 + np.arange(n) % n_ind] = 1.0
    X[:, 1 + n_ind:] = rng.normal(size=(n, n_styles))
    names = ["country"] + inds + styles
    return FakeSnapshot("2020-01-03", np.array([f"S{i:03d}" for i in range(n)]), names, styles, inds, X,
                        factor_cov(len(names), seed), (0.02 * rng.uniform(0.5, 1.5, n)) ** 2)
