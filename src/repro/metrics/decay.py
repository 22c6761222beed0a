"""Factor decay (report §3.2 tables 11-12; SPEC §6): the RankIC of the factor lagged by N
trading days, factor[t − lag], with the target return of day t, target[t] (the return from the
close of t+1 to the close of t+11), over the stocks in mask[t]."""
from __future__ import annotations

import numpy as np

from .rank_ic import ic_summary, row_spearman


def lagged(x: np.ndarray, days: np.ndarray, lag: int) -> np.ndarray:
    """Rows x[t − lag] for t in `days` ([len(days), N]); NaN where t − lag < 0."""
    src = np.asarray(days) - lag
    out = np.asarray(x[np.clip(src, 0, None)], dtype=np.float64)
    out[src < 0] = np.nan
    return out


def decay(factor, target, mask, lags, days: np.ndarray) -> dict[int, float]:
    """Mean RankIC of factor[t − lag] with target[t] over t in `days`, for each lag."""
    y = np.asarray(target[days], dtype=np.float64)
    m = np.asarray(mask[days], dtype=bool)
    return {int(lag): ic_summary(row_spearman(lagged(factor, days, lag), y, m))["rank_ic_mean"]
            for lag in lags}
