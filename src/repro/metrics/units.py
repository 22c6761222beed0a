"""Factor-unit statistics of the multi model (report §3.1, figures 12-17, tables 6-7; SPEC §6):
per unit the RankIC mean and RankIC_IR; the mean absolute pairwise Pearson correlation among
the units of one seed, per day, averaged over days."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .rank_ic import ic_summary, row_spearman


def unit_ic_stats(units: dict, target, mask, days: np.ndarray) -> pd.DataFrame:
    """One row per unit (name → [D, N] array): unit, rank_ic_mean, rank_ic_ir."""
    y = np.asarray(target[days], dtype=np.float64)
    m = np.asarray(mask[days], dtype=bool)
    rows = []
    for name, x in units.items():
        s = ic_summary(row_spearman(np.asarray(x[days], dtype=np.float64), y, m))
        rows.append({"unit": name, "rank_ic_mean": s["rank_ic_mean"], "rank_ic_ir": s["ic_ir"]})
    return pd.DataFrame(rows, columns=["unit", "rank_ic_mean", "rank_ic_ir"])


def mean_abs_unit_corr(units: np.ndarray, mask, days: np.ndarray) -> float:
    """units: [D, N, K]. On each day in `days`, the K×K Pearson matrix over the stocks in the mask
    with all K units finite; the mean of |off-diagonal| entries, averaged over days."""
    k = units.shape[2]
    off = ~np.eye(k, dtype=bool)
    per_day = []
    for t in days:  # one K×K matrix per day; days are few (every 10th)
        x = np.asarray(units[t], dtype=np.float64)
        ok = np.asarray(mask[t], dtype=bool) & np.isfinite(x).all(axis=1)
        if ok.sum() < 3:
            continue
        x = x[ok] - x[ok].mean(axis=0)
        sd = np.sqrt((x * x).sum(axis=0))
        with np.errstate(invalid="ignore", divide="ignore"):
            c = (x.T @ x) / np.outer(sd, sd)
        vals = np.abs(c[off])
        if np.isfinite(vals).any():
            per_day.append(np.nanmean(vals))
    return float(np.mean(per_day)) if per_day else np.nan
