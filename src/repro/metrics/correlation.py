"""Correlations between factors (report tables 9, 10, 15, 16; SPEC §6): on each evaluation day
the cross-sectional Spearman and Pearson correlations over the stocks in the mask where both
factors are finite (pairwise), then averaged over days."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .rank_ic import row_pearson, row_spearman


def mean_pair_corr(a, b, mask, days: np.ndarray, method: str = "spearman") -> float:
    """Mean over `days` of the daily cross-sectional correlation of a[t] and b[t]."""
    x = np.asarray(a[days], dtype=np.float64)
    y = np.asarray(b[days], dtype=np.float64)
    m = np.asarray(mask[days], dtype=bool)
    if method == "spearman":
        r = row_spearman(x, y, m)
    elif method == "pearson":
        r = row_pearson(np.where(m, x, np.nan), y)
    else:
        raise ValueError(f"unknown correlation method {method!r} (spearman or pearson)")
    return float(np.nanmean(r)) if np.isfinite(r).any() else np.nan


def mean_cross_corr(factors: dict, mask, days: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(Spearman, Pearson) matrices, indexed by the factor names, of the day-averaged pairwise
    correlations of the [D, N] arrays in `factors`; 1 on the diagonal."""
    names = list(factors)
    sp = pd.DataFrame(np.eye(len(names)), index=names, columns=names)
    pe = sp.copy()
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            sp.loc[a, b] = sp.loc[b, a] = mean_pair_corr(factors[a], factors[b], mask, days, "spearman")
            pe.loc[a, b] = pe.loc[b, a] = mean_pair_corr(factors[a], factors[b], mask, days, "pearson")
    return sp, pe


def corr_matrix_table(spearman: pd.DataFrame, pearson: pd.DataFrame) -> pd.DataFrame:
    """Report layout: Spearman below the diagonal, Pearson above, 1 on it; first column `row`."""
    names = list(spearman.index)
    n = len(names)
    below = np.tril(np.ones((n, n), dtype=bool), -1)
    above = np.triu(np.ones((n, n), dtype=bool), 1)
    values = np.where(below, spearman.loc[names, names].to_numpy(),
                      np.where(above, pearson.loc[names, names].to_numpy(), 1.0))
    table = pd.DataFrame(values, columns=names)
    table.insert(0, "row", names)
    return table
