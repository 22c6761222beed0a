"""Tables 18-29 and figures 18-23: performance of the enhanced portfolios (report §4.2-4.4).

Yearly tables (18, 20, ..., 28): index, constraint, series, model, y{year}...: the compounded
return of each calendar year of the backtest (the last year partial; the report's years 2017-2023
are always columns, NaN outside the backtest), for the absolute NAV
(`absolute`) and the hedged NAV (`hedged`, compounding r_p − r_b daily).
Summary tables (19, 21, ..., 29): ann_return (compounded over 252 days), sharpe (mean / std of
daily returns × √252), max_drawdown (negative fraction), weekly_win_rate (share of Monday-based
calendar weeks whose compounded return is > 0) of both NAVs.
Row order as config/reference: absolute uni, absolute multi, hedged uni, hedged multi.

Figures [D]: the report's figures 18-23 are the hedged NAV curves (图18 沪深300 成分股不限制,
19 沪深300 ≥80%, 20/21 中证500, 22/23 中证1000, as its figure list reads); we draw two panels:
the absolute NAVs (both models and the benchmark) above, the hedged NAVs below.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from ..metrics.layered import annualised_return, max_drawdown, sharpe_ratio
from ..targets import ENHANCEMENT_FIGURES, ENHANCEMENT_TABLES
from ..vocabulary import MODELS

log = logging.getLogger(__name__)

SERIES = {"absolute": "portfolio_return", "hedged": "hedged_return"}
# The report's years (tables 18, 20, …: y2017 … y2023): always columns, NaN outside the backtest,
# so that every run's yearly tables line up with the published ones (`repro diff`).
REPORT_YEARS = tuple(range(2017, 2024))
# table number -> (index, constraint, kind); figure number -> (index, constraint): the registry's
TABLES, FIGURES = ENHANCEMENT_TABLES, ENHANCEMENT_FIGURES
CONSTRAINT_LABEL = {"free": "no constituent limit", "member80": "constituents >= 80%"}


def yearly_returns(dates, daily) -> dict[int, float]:
    """{calendar year: compounded return of the daily returns in that year}."""
    years = pd.DatetimeIndex(np.asarray(dates, dtype="datetime64[D]")).year
    daily = np.asarray(daily, dtype=np.float64)
    return {int(y): float(np.prod(1.0 + daily[years == y]) - 1.0) for y in np.unique(years)}


def weekly_win_rate(dates, daily) -> float:
    """Share of Monday-based calendar weeks whose compounded return is positive."""
    days = np.asarray(dates, dtype="datetime64[D]").astype(np.int64)
    week = (days + 3) // 7  # 1970-01-01 was a Thursday
    growth = pd.Series(1.0 + np.asarray(daily, dtype=np.float64)).groupby(week).prod()
    return float((growth > 1.0).mean()) if len(growth) else np.nan


def summary_stats(dates, daily) -> dict:
    return {"ann_return": annualised_return(daily), "sharpe": sharpe_ratio(daily),
            "max_drawdown": max_drawdown(daily), "weekly_win_rate": weekly_win_rate(dates, daily)}


def _check(results: dict, index: str, constraint: str):
    missing = [m for m in MODELS if m not in results]
    if missing:
        log.warning("enhancement %s/%s: no backtest for model(s) %s; their rows are NaN", index, constraint, missing)
    for m, res in results.items():
        if (res.index, res.constraint) != (index, constraint):
            raise ValueError(f"model {m}: backtest of {res.index}/{res.constraint}, table needs {index}/{constraint}")


def yearly_table(results: dict, index: str, constraint: str) -> pd.DataFrame:
    """Yearly table (18, 20, ...): {model: EnhanceResult} of one index × constraint."""
    _check(results, index, constraint)
    cells = {(s, m): yearly_returns(res.nav["date"], res.nav[col]) for m, res in results.items()
             for s, col in SERIES.items()}
    years = sorted(set(REPORT_YEARS) | {y for c in cells.values() for y in c})
    rows = [{"index": index, "constraint": constraint, "series": s, "model": m,
             **{f"y{y}": cells.get((s, m), {}).get(y, np.nan) for y in years}} for s in SERIES for m in MODELS]
    return pd.DataFrame(rows).round({f"y{y}": 4 for y in years})


def summary_table(results: dict, index: str, constraint: str) -> pd.DataFrame:
    """Summary table (19, 21, ...): {model: EnhanceResult} of one index × constraint."""
    _check(results, index, constraint)
    keys = ("ann_return", "sharpe", "max_drawdown", "weekly_win_rate")
    rows = []
    for s, col in SERIES.items():
        for m in MODELS:
            res = results.get(m)
            stats = summary_stats(res.nav["date"], res.nav[col]) if res is not None else dict.fromkeys(keys, np.nan)
            rows.append({"index": index, "constraint": constraint, "series": s, "model": m, **stats})
    return pd.DataFrame(rows).round({"ann_return": 4, "sharpe": 2, "max_drawdown": 4, "weekly_win_rate": 4})


def enhancement_table(n: int, results: dict) -> pd.DataFrame:
    """Report table n (18-29) from {model: EnhanceResult} of that table's index × constraint."""
    if n not in TABLES:
        raise ValueError(f"enhancement tables are 18-29, not {n}")
    index, constraint, kind = TABLES[n]
    return (yearly_table if kind == "yearly" else summary_table)(results, index, constraint)


def plot_nav(n: int, results: dict, path) -> Path:
    """Figure n (18-23): absolute NAVs (models and benchmark) and hedged NAVs of one
    index × constraint, one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if n not in FIGURES:
        raise ValueError(f"enhancement figures are 18-23, not {n}")
    index, constraint = FIGURES[n]
    _check(results, index, constraint)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 6.5), sharex=True)
    bench_drawn = False
    for m in MODELS:
        res = results.get(m)
        if res is None:
            continue
        d = pd.to_datetime(res.nav["date"])
        top.plot(d, res.nav["portfolio"], label=f"{m} RNN enhanced")
        if not bench_drawn:
            top.plot(d, res.nav["benchmark"], color="grey", lw=1, label=index)
            bench_drawn = True
        bottom.plot(d, res.nav["hedged"], label=f"{m} RNN hedged")
    for ax, title in ((top, "absolute NAV"), (bottom, "hedged NAV (daily r_p - r_b compounded)")):
        ax.set_title(title, fontsize=10)
        ax.axhline(1.0, color="k", lw=0.5)
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.suptitle(f"Figure {n}: {index} enhanced portfolio ({CONSTRAINT_LABEL[constraint]})")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
