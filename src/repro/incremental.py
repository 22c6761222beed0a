"""What the GRU factors add beyond the classic factors [beyond the report] (docs/method.md,
"Beyond the report: classic baselines and incremental RankIC").

The report compares its factors with the classic price-volume factors of table 17 only through
correlations (tables 15-16). Here we measure, on the days, universes and target of tables 8 and
13 (`EvalContext`: every `ic_step`-th day of [evaluate.start, evaluate.end], universe ∧ sample,
raw T+1 -> T+11 return):

- `baselines`: each classic factor as a stand-alone signal (RankIC mean, IC_IR, positive share),
  signed so that it is a long signal. The sign is the sign of the factor's RankIC mean on `all`
  over the days BEFORE evaluate.start whose target is already known at the close of the day
  before evaluate.start (t + label_end < first test day), every `ic_step`-th day from the first
  date. So the sign uses neither the test period's outcome nor any return realised after the
  test starts; it is the same for every universe. Without such a history (data starting at
  evaluate.start) the sign is +1 and `sign_rank_ic` is NaN (logged).
- `incremental`: each dataset factor (uni and multi) and the `avg` composite is residualised day
  by day, cross-sectionally, on all classic factors: OLS of the factor (as it is; the RankIC of
  the residual is invariant to an affine rescaling of the factor) on an intercept and the
  classic factors' cross-sectional ranks, over the day's universe ∧ sample stocks that have the
  factor. Only day-t values enter the day-t regression. A classic value missing for a stock is
  given the median rank of that factor's day (so the stock stays in and the filled column carries
  no information about it); a classic factor missing for every stock of the day is left out that
  day. Both are counted in the log. A day with fewer than STOCKS_PER_COLUMN (2) stocks per
  design column (intercept + classic factors: 32 with all 15) is not residualised (NaN that
  day, counted in the log), since chance alone would explain most of the factor. The residual's
  RankIC statistics stand next to the raw factor's (the raw ones equal tables 8 / 13, over all
  their days). A day on which the classic factors explain the factor exactly (residual sum of
  squares ≤ EXPLAINED_TOL² × total) has residual 0 and an incremental RankIC of 0, not that of
  the rounding noise.

Every universe of `evaluate.universes` is done (the regression runs within the universe; on a
small universe, e.g. the tiny configuration's 25-stock indices, every day may be skipped).
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from .evaluate import EvalContext, _with_avg, align
from .features.classic import CLASSIC_FACTORS
from .metrics.rank_ic import MIN_STOCKS, ic_summary, row_spearman, window_days
from .panel import Panel
from .vocabulary import COMPOSITE, DATASETS, MODELS

log = logging.getLogger(__name__)

# Relative residual norm (sqrt(SSE / SST)) below which the classic factors explain a factor
# exactly: factor panels are float32 (relative precision 6e-8), so an exact mix comes back
# with a residual of about 1e-7 of the factor; 1e-6 is rounding, not information.
EXPLAINED_TOL = 1e-6
# A day's regression needs this many stocks per design column (intercept + classic factors):
# with fewer, chance alone explains most of the factor (expected R² = columns / stocks).
STOCKS_PER_COLUMN = 2
STATS = ["rank_ic_mean", "ic_ir", "rank_ic_pos_ratio"]
INCR_STATS = [f"incr_{s}" for s in STATS]
_DIGITS = {"rank_ic_mean": 4, "ic_ir": 2, "rank_ic_pos_ratio": 4, "sign_rank_ic": 4, "incr_rank_ic_mean": 4,
           "incr_ic_ir": 2, "incr_rank_ic_pos_ratio": 4, "classic_r2": 4}


def label_horizon(labels: Panel) -> int:
    """label_end of the labels panel (its target is known at the close of T + label_end)."""
    if "label_end" not in labels.attrs:
        raise ValueError(f"labels panel attrs lack 'label_end' (have {sorted(labels.attrs)}); rebuild the labels")
    return int(labels.attrs["label_end"])


def classic_names(classic: Panel) -> list[str]:
    """The table-17 factors of the classic panel, in `CLASSIC_FACTORS` order."""
    names = [n for n in CLASSIC_FACTORS if n in classic.features]
    if not names:
        raise ValueError(f"classic panel has none of the classic factors {CLASSIC_FACTORS} "
                         f"(features {classic.features[:8]}...)")
    return names


def sign_days(ctx: EvalContext, horizon: int) -> np.ndarray:
    """Every `ic_step`-th day from the first date whose target is known at the close of the
    day before evaluate.start: t + horizon < index of the first test day."""
    first_test = int(np.searchsorted(ctx.dates, np.datetime64(ctx.start, "D")))
    last = first_test - horizon - 1
    if last < 0:
        return np.array([], dtype=int)
    return window_days(ctx.dates, None, ctx.dates[last], ctx.ic_step)


def long_signs(ctx: EvalContext, classic: Panel, horizon: int) -> pd.DataFrame:
    """Per classic factor: sign (+1 / −1) of its RankIC mean on `all` over `sign_days`, that
    RankIC mean (sign_rank_ic) and the number of days it averages (sign_days)."""
    names = classic_names(classic)
    days = sign_days(ctx, horizon)
    if len(days) == 0:
        log.warning("no day before evaluate.start %s has a known target: every classic sign is +1", ctx.start)
    x = align(classic, names, ctx.dates, ctx.market.codes, days)
    mask = ctx.mask("all")[days]
    rows = []
    for k, name in enumerate(names):
        ics = row_spearman(x[:, :, k], ctx.target[days], mask)
        ok = np.isfinite(ics)
        mean = float(ics[ok].mean()) if ok.any() else np.nan
        if not ok.any() and len(days):
            log.warning("classic %s: no RankIC before evaluate.start (no values): sign +1", name)
        rows.append({"factor": name, "sign": -1 if mean < 0 else 1, "sign_rank_ic": mean, "sign_days": int(ok.sum())})
    table = pd.DataFrame(rows)
    log.info("classic signs from %d days before %s:\n%s", len(days), ctx.start, table.to_string(index=False))
    return table


def _stats(x: np.ndarray, ctx: EvalContext, days: np.ndarray, mask: np.ndarray | None) -> dict:
    """RankIC statistics of day-indexed x [len(days), N] against the target on `days`."""
    if mask is None:
        return dict.fromkeys(STATS, np.nan)
    return ic_summary(row_spearman(x, ctx.target[days], mask[days]))


def baselines(ctx: EvalContext, classic: Panel, horizon: int) -> pd.DataFrame:
    """results/baselines.csv: per universe and classic factor, the RankIC statistics of
    sign × factor on the table-8/13 days (columns universe, factor, sign, sign_rank_ic,
    rank_ic_mean, ic_ir, rank_ic_pos_ratio)."""
    signs = long_signs(ctx, classic, horizon).set_index("factor")
    names = list(signs.index)
    days = ctx.ic_days()
    x = align(classic, names, ctx.dates, ctx.market.codes, days)
    rows = []
    for u in ctx.universes:
        mask = ctx.mask(u)
        for k, name in enumerate(names):
            sign = int(signs.loc[name, "sign"])
            rows.append({"universe": u, "factor": name, "sign": sign, "sign_rank_ic": signs.loc[name, "sign_rank_ic"],
                         **_stats(sign * x[:, :, k], ctx, days, mask)})
    return pd.DataFrame(rows).round(_DIGITS)


def _classic_ranks(c: np.ndarray) -> tuple[np.ndarray, int, int]:
    """Columns of c [n, K] as ranks (ties averaged), a missing value given its column's median
    rank, a column without any value left out. Returns (ranks [n, K'], cells filled, columns
    left out)."""
    ok = np.isfinite(c)
    n_valid = ok.sum(axis=0)
    keep = n_valid > 0
    ranks = rankdata(np.where(ok, c, np.nan)[:, keep], axis=0, nan_policy="omit")
    median = (n_valid[keep] + 1) / 2.0
    ranks = np.where(ok[:, keep], ranks, median[None, :])
    return ranks, int((~ok[:, keep]).sum()), int((~keep).sum())


def residualise(x: np.ndarray, classic: np.ndarray, mask: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """Per day (row) d: OLS of x[d] on an intercept and the ranks of classic[d] (see the module
    doc), over the stocks with mask[d] and a finite x[d]; only row d enters it.

    x, mask: [T, N]; classic: [T, N, K]. Returns (residual [T, N], NaN outside the regression
    sets and on days with fewer than MIN_STOCKS stocks or fewer than STOCKS_PER_COLUMN per
    design column; R² [T]; explained [T], the days the classic factors explain exactly, whose
    residual is set to 0; counts {"cells", "filled", "left_out", "too_few"}: classic cells used,
    cells rank-filled, classic factor-days left out, days skipped for too few stocks)."""
    resid = np.full(x.shape, np.nan)
    r2 = np.full(x.shape[0], np.nan)
    explained = np.zeros(x.shape[0], dtype=bool)
    counts = {"cells": 0, "filled": 0, "left_out": 0, "too_few": 0}
    for d in range(x.shape[0]):
        rows = mask[d] & np.isfinite(x[d])
        if rows.sum() < MIN_STOCKS:
            continue
        y = np.asarray(x[d, rows], dtype=np.float64)
        ranks, filled, left_out = _classic_ranks(np.asarray(classic[d][rows], dtype=np.float64))
        design = np.column_stack([np.ones(len(y)), ranks])
        if len(y) < STOCKS_PER_COLUMN * design.shape[1]:
            counts["too_few"] += 1
            continue
        beta, *_ = np.linalg.lstsq(design, y, rcond=None)
        e = y - design @ beta
        sst = float(((y - y.mean()) ** 2).sum())
        sse = float((e**2).sum())
        if sst > 0:
            r2[d] = 1.0 - sse / sst
            if sse <= EXPLAINED_TOL**2 * sst:
                e[:] = 0.0
                explained[d] = True
        resid[d, rows] = e
        counts["cells"] += ranks.size
        counts["filled"] += filled
        counts["left_out"] += left_out
    return resid, r2, explained, counts


def _incremental_row(ctx: EvalContext, x: np.ndarray | None, classic_days: np.ndarray, days: np.ndarray,
                     mask: np.ndarray | None, label: str) -> dict:
    if x is None or mask is None:
        return dict.fromkeys([*STATS, *INCR_STATS, "classic_r2"], np.nan)
    xd, md = x[days], mask[days]
    raw_ics = row_spearman(xd, ctx.target[days], md)
    resid, r2, explained, counts = residualise(xd, classic_days, md)
    ics = row_spearman(resid, ctx.target[days], md)
    # a residual of exactly 0 ranks nothing: no incremental information, RankIC 0 (not NaN)
    ics[explained & np.isfinite(raw_ics)] = 0.0
    log.info("%s: %d days, classic cells rank-filled with the median %d of %d (%.2f%%), classic factor-days "
             "left out (no value) %d, days skipped for too few stocks (< %d per regressor) %d, days fully "
             "explained %d, mean R² %.4f", label, len(days), counts["filled"], counts["cells"],
             100.0 * counts["filled"] / max(counts["cells"], 1), counts["left_out"], STOCKS_PER_COLUMN,
             counts["too_few"], int(explained.sum()), np.nanmean(r2) if np.isfinite(r2).any() else np.nan)
    incr = ic_summary(ics)
    return {**ic_summary(raw_ics), **{f"incr_{k}": v for k, v in incr.items()},
            "classic_r2": float(np.nanmean(r2)) if np.isfinite(r2).any() else np.nan}


def incremental(ctx: EvalContext, factors: dict, classic: Panel) -> pd.DataFrame:
    """results/incremental.csv: per universe, model and factor (day, ms, l2, avg) the raw RankIC
    statistics, those of the residual on the classic factors (incr_*) and the mean daily R² of
    that regression (classic_r2). `factors` is keyed (model, dataset) as in repro.evaluate."""
    days = ctx.ic_days()
    classic_days = align(classic, classic_names(classic), ctx.dates, ctx.market.codes, days)
    rows = []
    for u in ctx.universes:
        mask = ctx.mask(u)
        for m in MODELS:
            arrays = _with_avg(ctx, factors, m)
            for name in [*DATASETS, COMPOSITE]:
                row = _incremental_row(ctx, arrays.get(name), classic_days, days, mask, f"{u} {m} {name}")
                rows.append({"universe": u, "model": m, "factor": name, **row})
    return pd.DataFrame(rows).round(_DIGITS)


def best_baseline(base: pd.DataFrame, universe: str = "all") -> pd.Series | None:
    """The classic factor with the highest signed RankIC mean on `universe` (None if none has one)."""
    rows = base[(base["universe"] == universe) & base["rank_ic_mean"].notna()]
    return None if rows.empty else rows.loc[rows["rank_ic_mean"].idxmax()]


def plot_incremental(incr: pd.DataFrame, base: pd.DataFrame, path, universe: str = "all") -> Path:
    """fig_incremental.png: raw and incremental RankIC mean per model and factor on `universe`,
    with the best classic factor's (signed) RankIC mean as a reference line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = incr[incr["universe"] == universe]
    labels = [f"{m}\n{f}" for m, f in zip(rows["model"], rows["factor"])]
    pos = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(8, 4.5))
    ax.bar(pos - 0.2, rows["rank_ic_mean"], 0.4, label="raw", color="#4472c4")
    ax.bar(pos + 0.2, rows["incr_rank_ic_mean"], 0.4, label="incremental (residual on classic factors)",
           color="#ed7d31")
    best = best_baseline(base, universe)
    if best is not None:
        sign = "−" if best["sign"] < 0 else "+"
        ax.axhline(best["rank_ic_mean"], color="k", ls="--", lw=1,
                   label=f"best classic factor: {sign}{best['factor']} ({best['rank_ic_mean']:.3f})")
    else:
        log.warning("figure incremental: no classic baseline on %s", universe)
    ax.axhline(0.0, color="grey", lw=0.5)
    ax.set_xticks(pos, labels)
    ax.set_ylabel("RankIC mean")
    ax.set_title(f"What the GRU factors add: raw and incremental RankIC ({universe})")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


__all__ = ["EXPLAINED_TOL", "baselines", "best_baseline", "classic_names", "incremental", "label_horizon",
           "long_signs", "plot_incremental", "residualise", "sign_days"]
