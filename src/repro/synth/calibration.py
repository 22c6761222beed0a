"""Measure what the synthetic market plants: the oracle's RankIC against the 10-day target
(SPEC §2: adjusted close of t+1 to t+11), its decay, and the correlation between components.

Used to calibrate the constants of `repro.synth.signals` and by the tests; reads the written
files through `repro.data.load_market`, so it checks the market as a model will see it.
"""
from __future__ import annotations

import os

import numpy as np
from scipy.stats import rankdata

from ..data import load_market
from . import ORACLE_FEATURES, load_oracle


def _spearman_rows(a: np.ndarray, b: np.ndarray, min_stocks: int = 10) -> np.ndarray:
    """Per-row Spearman correlation of a and b [D, N] over the columns where both are finite."""
    out = np.full(a.shape[0], np.nan)
    for t in range(a.shape[0]):
        ok = np.isfinite(a[t]) & np.isfinite(b[t])
        if ok.sum() >= min_stocks:
            out[t] = np.corrcoef(rankdata(a[t, ok]), rankdata(b[t, ok]))[0, 1]
    return out


def oracle_report(path: str | os.PathLike, start: int = 1, end: int = 11, lags=(0, 5, 10, 20)) -> dict:
    """Mean daily RankIC of each oracle component vs the target at each lag, and the mean daily
    Spearman correlation between the components (keys 'corr_day_ms', ...)."""
    market = load_market({"source": "synthetic", "path": str(path)})
    adj = market.adjusted("close")
    target = np.full_like(adj, np.nan)
    target[:-end] = adj[end:] / adj[start:len(adj) - end + start] - 1
    planted = load_oracle(path, market.dates, market.codes)
    report = {}
    for name in ORACLE_FEATURES:
        x = planted.feature(name).astype(np.float64)
        for lag in lags:
            ic = _spearman_rows(x[:len(x) - lag] if lag else x, target[lag:])
            report[f"ic_{name}_lag{lag}"] = float(np.nanmean(ic))
    parts = ORACLE_FEATURES[:3]
    for a in range(3):
        for b in range(a + 1, 3):
            c = _spearman_rows(planted.feature(parts[a]), planted.feature(parts[b]))
            report[f"corr_{parts[a][7:]}_{parts[b][7:]}"] = float(np.nanmean(c))
    return report
