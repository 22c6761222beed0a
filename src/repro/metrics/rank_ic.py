"""RankIC: the daily cross-sectional Spearman correlation of a factor with the target return
(report §3.2, table 8 note; SPEC §6).

RankIC is computed on every `step`-th trading day of the evaluation period (report: every 10th
day, target = return from the close of T+1 to the close of T+11). IC_IR = mean / std of that
series, not annualised; std uses ddof=1 (the sample standard deviation of the IC series).

The same `row_spearman` scores the validation set of every training run (early stopping,
repro.training.validate). Ranks come from pandas (average ranks for ties, as
scipy.stats.rankdata): importing scipy.stats would add about 1.1 s to every training job's start
(`python -X importtime -c "import pandas, torch, scipy.stats"`).
"""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

# A cross-section with fewer valid stocks than this gives NaN rather than a noisy correlation.
MIN_STOCKS = 3


def window_days(dates: np.ndarray, start=None, end=None, step: int = 1, offset: int = 0) -> np.ndarray:
    """Indices of `dates` inside [start, end] (inclusive; None = open), every `step`-th one
    counted from the first day of the window plus `offset`."""
    dates = np.asarray(dates, dtype="datetime64[D]")
    inside = np.ones(len(dates), dtype=bool)
    if start is not None:
        inside &= dates >= np.datetime64(start, "D")
    if end is not None:
        inside &= dates <= np.datetime64(end, "D")
    return np.flatnonzero(inside)[offset::step]


def row_pearson(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of each row of `a` with the same row of `b` over the columns where
    both are finite; NaN for rows with fewer than MIN_STOCKS such columns or zero variance."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    ok = np.isfinite(a) & np.isfinite(b)
    n = ok.sum(axis=1)
    a = np.where(ok, a, 0.0)
    b = np.where(ok, b, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        ma = a.sum(axis=1) / n
        mb = b.sum(axis=1) / n
        da = np.where(ok, a - ma[:, None], 0.0)
        db = np.where(ok, b - mb[:, None], 0.0)
        cov = (da * db).sum(axis=1)
        var = (da * da).sum(axis=1) * (db * db).sum(axis=1)
        r = cov / np.sqrt(var)
    r[(n < MIN_STOCKS) | ~np.isfinite(r)] = np.nan
    return r


def row_ranks(x: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Average ranks (ties averaged) of each row over its `valid` columns; NaN elsewhere."""
    x = np.where(valid, np.asarray(x, dtype=np.float64), np.nan)
    return pd.DataFrame(x).rank(axis=1, method="average", na_option="keep").to_numpy(np.float64)


def row_spearman(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Spearman correlation per row over columns where a, b are finite and `mask` is true:
    both are ranked on that common set, then correlated (Pearson of the ranks)."""
    ok = np.isfinite(a) & np.isfinite(b)
    if mask is not None:
        ok &= mask
    return row_pearson(row_ranks(a, ok), row_ranks(b, ok))


def rank_ic(prediction: np.ndarray, target: np.ndarray) -> float:
    """Spearman correlation of one day's cross-section (`row_spearman` of one row)."""
    return float(row_spearman(np.asarray(prediction)[None], np.asarray(target)[None])[0])


def rank_ic_series(factor, target, mask, step: int = 10, offset: int = 0, dates=None,
                   start=None, end=None) -> tuple[np.ndarray, np.ndarray]:
    """RankIC of factor[t] with target[t] over the stocks in mask[t] with both finite, on every
    `step`-th day (of the window [start, end] of `dates` when given, else of all rows).

    factor, target, mask: [D, N]. Returns (day indices into the D axis, ic values); a day with
    fewer than MIN_STOCKS valid stocks (e.g. the last days, whose target is not known yet)
    has NaN, which `ic_summary` drops.
    """
    if dates is None:
        days = np.arange(np.shape(factor)[0])[offset::step]
    else:
        days = window_days(dates, start, end, step, offset)
    f = np.asarray(factor[days], dtype=np.float64)
    y = np.asarray(target[days], dtype=np.float64)
    m = np.asarray(mask[days], dtype=bool)
    return days, row_spearman(f, y, m)


def ic_summary(ics: np.ndarray) -> dict:
    """rank_ic_mean, ic_ir (mean / std with ddof=1, not annualised), rank_ic_pos_ratio (share of
    days with IC > 0) of an IC series; NaN days are dropped (and counted in the log)."""
    ics = np.asarray(ics, dtype=np.float64)
    ok = np.isfinite(ics)
    if (~ok).any():
        log.info("ic_summary: %d of %d days without a RankIC dropped", int((~ok).sum()), len(ics))
    x = ics[ok]
    if len(x) == 0:
        return {"rank_ic_mean": np.nan, "ic_ir": np.nan, "rank_ic_pos_ratio": np.nan}
    std = x.std(ddof=1) if len(x) > 1 else np.nan
    return {
        "rank_ic_mean": float(x.mean()),
        "ic_ir": float(x.mean() / std) if std > 0 else np.nan,
        "rank_ic_pos_ratio": float((x > 0).mean()),
    }
