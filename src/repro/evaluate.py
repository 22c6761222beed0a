"""Evaluation tables 6-17 and figures 12-17 of the report (§3; SPEC §6).

Inputs (see the helpers' interfaces): factor Panels keyed by (model, dataset) with feature
"factor" (and, for multi, the units "seed{s}_unit_{kk}"), the labels Panel (features target,
label, sample), the `Market`, the classic-factor Panel and (synthetic only) the oracle Panel.
Everything is evaluated against `target` (the raw return from the close of T+1 to T+11) over the
universe mask ∧ sample (listed ≥ 60 days, not ST, not suspended), on every `ic_step`-th trading
day of [evaluate.start, evaluate.end].

Choices [D]:
- `avg` = equal-weight composite of the datasets' factors, each z-scored cross-sectionally over
  the `all` ∧ sample stocks first; a stock missing one dataset's factor gets the mean of the
  others. If a dataset is missing altogether (e.g. qlib users have only `day`) its cells are NaN,
  the row keys stay, and `avg` is built from the datasets present (logged).
- Table 6 pools the units of all seeds: rank_ic_mean and rank_ic_ir_mean are means over the
  seeds × units; n_factors_rank_ic_gt_5pct is the count per seed averaged over seeds (64 units
  each), rounded to one decimal.
- Table 7 rows are the seed numbers found in the multi panels (0, 1, 2 by default).
- Tables 15-16 correlate the `multi` factors (the report does not say which model) with the
  classic factors by daily Spearman correlation averaged over days; both are arguments.
- Figures 12-17 (report §3.1): 12/13 = day, 14/15 = ms, 16/17 = l2; even = histogram of the
  units' RankIC mean, odd = histogram of their RankIC_IR.
"""
from __future__ import annotations

import logging
import re
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .market import Market
from .metrics.correlation import corr_matrix_table, mean_cross_corr, mean_pair_corr
from .metrics.decay import decay
from .metrics.layered import TradingArrays, layered_backtest
from .metrics.rank_ic import ic_summary, rank_ic_series, window_days
from .metrics.units import mean_abs_unit_corr, unit_ic_stats
from .panel import Panel
from .targets import TARGETS
from .vocabulary import COMPOSITE, DATASETS, MODELS, UNIVERSES

log = logging.getLogger(__name__)

DAILY_CLASSIC = ["ret", "vol", "lnto", "ivol", "ivr", "lnamihud", "apb_5d"]  # table 15
INTRADAY_CLASSIC = ["skew", "kurt", "jump", "mom", "apb", "sdvhhi", "sdvvol", "arpp"]  # table 16
UNIT_FIGURES = {12: ("day", "rank_ic_mean"), 13: ("day", "rank_ic_ir"), 14: ("ms", "rank_ic_mean"),
                15: ("ms", "rank_ic_ir"), 16: ("l2", "rank_ic_mean"), 17: ("l2", "rank_ic_ir")}
_BLOCK = 32  # date rows read at once from a panel
_UNIT_NAME = re.compile(r"^seed(\d+)_unit_(\d+)$")

# Table 17: what repro.features.classic computes (windows of 60 trading days unless named).
CLASSIC_DEFINITIONS = {
    "ret": "return over the past 60 trading days (adjusted close_t / close_{t-60} - 1)",
    "vol": "standard deviation of daily returns over the past 60 trading days",
    "lnto": "log of the mean daily turnover over the past 60 trading days",
    "ivol": "standard deviation of the residuals of a 60-day regression of daily returns on "
            "market (cap-weighted), size (SMB 30/30) and value-proxy (long-term reversal) factor returns",
    "ivr": "1 - R^2 of the same 60-day three-factor regression (idiosyncrasy ratio)",
    "lnamihud": "log of the mean of |daily return| / amount over the past 60 trading days",
    "apb_5d": "60-day mean of ln(mean of the last 5 daily vwaps / their volume-weighted mean)",
    "skew": "60-day mean of the daily skewness of 1-minute returns",
    "kurt": "60-day mean of the daily kurtosis of 1-minute returns",
    "jump": "sum over the past 60 trading days of the daily sum of extreme 1-minute returns "
            "(|r - median| >= 1.96 x 1.4826 x MAD); 60 x the mean of the observed days when "
            "some days are missing (at least 40 required)",
    "mom": "sum over the past 60 trading days of the daily sum of moderate 1-minute returns "
           "plus the overnight log return; 60 x the mean of the observed days when some are missing",
    "apb": "60-day mean of the daily intraday APB: ln(mean of minute vwaps / volume-weighted vwap)",
    "sdvhhi": "standard deviation over the past 60 trading days of the daily HHI of 1-minute volumes",
    "sdvvol": "standard deviation over the past 60 trading days of the daily standard deviation "
              "of 1-minute volume",
    "arpp": "(5-day mean of (O+H+L+C)/4 - 5-day min low) / (5-day max high - 5-day min low)",
}


@dataclass
class EvalContext:
    """The market, the evaluation target and mask, and the evaluate.* settings."""

    market: Market
    target: np.ndarray  # float64 [D, N], raw T+1 -> T+11 return
    sample: np.ndarray  # bool [D, N]
    start: str = "2017-01-03"
    end: str = "2023-04-28"
    decay_start: str = "2020-01-01"
    ic_step: int = 10
    groups: int = 20
    index_groups: int = 5
    trading_rules: bool = True
    lags: tuple = (0, 5, 10, 15, 20)
    universes: tuple = UNIVERSES
    _cache: dict = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, market: Market, labels: Panel, eval_cfg: dict | None = None) -> "EvalContext":
        """From the validated `evaluate` config section (keys of schema.yaml)."""
        cfg = dict(eval_cfg or {})
        target = align(labels, ["target"], market.dates, market.codes)[:, :, 0]
        sample = align(labels, ["sample"], market.dates, market.codes)[:, :, 0] > 0.5
        keys = ("start", "end", "decay_start", "ic_step", "groups", "index_groups", "trading_rules", "lags",
                "universes")
        kw = {k: cfg[k] for k in keys if k in cfg}
        for k in ("lags", "universes"):
            if k in kw:
                kw[k] = tuple(kw[k])
        return cls(market, target, sample, **kw)

    @property
    def dates(self) -> np.ndarray:
        return self.market.dates

    def mask(self, universe: str = "all") -> np.ndarray | None:
        """Universe ∧ sample; None (logged) when the market has no such universe."""
        if universe != "all" and universe not in self.market.index_weights:
            log.warning("universe %s: no index weights in the market; its cells are NaN", universe)
            return None
        return self.market.universe(universe) & self.sample

    def ic_days(self, start: str | None = None) -> np.ndarray:
        return window_days(self.dates, start or self.start, self.end, self.ic_step)

    def factor(self, panel: Panel, feature: str = "factor") -> np.ndarray:
        key = (id(panel), feature)
        if key not in self._cache:
            self._cache[key] = align(panel, [feature], self.dates, self.market.codes)[:, :, 0]
        return self._cache[key]

    def trading(self) -> tuple[TradingArrays, np.ndarray]:
        if "trading" not in self._cache:
            arrays = TradingArrays.from_market(self.market)
            self._cache["trading"] = (arrays, arrays.daily_returns())
        return self._cache["trading"]


def align(panel: Panel, features: list[str], dates, codes, days: np.ndarray | None = None) -> np.ndarray:
    """float64 [len(days) or D, N, len(features)] of `features` of `panel` on the grid
    `dates[days]` × `codes`; NaN where the panel has no such date or code."""
    dates = np.asarray(dates, dtype="datetime64[D]")
    want = dates if days is None else dates[days]
    missing = [f for f in features if f not in panel.features]
    if missing:
        raise ValueError(f"panel lacks features {missing} (has {panel.features[:8]}...)")
    fi = [panel.features.index(f) for f in features]
    out = np.full((len(want), len(codes), len(features)), np.nan)
    pos = np.searchsorted(panel.dates, want)
    pos_c = np.minimum(pos, len(panel.dates) - 1)
    hit = (pos < len(panel.dates)) & (panel.dates[pos_c] == want) if len(panel.dates) else np.zeros(len(want), bool)
    if not hit.any():
        return out
    src = pos_c[hit]
    # whole date rows are contiguous in a memmap; read them in blocks so that a wide panel
    # (multi: 1 + seeds × units features) never sits in memory at once
    rows = np.concatenate([np.asarray(panel.values[src[i:i + _BLOCK]])[:, :, fi]
                           for i in range(0, len(src), _BLOCK)])
    if np.array_equal(panel.codes, np.asarray(codes, dtype=str)):
        out[hit] = rows
    else:
        ci = pd.Index(panel.codes).get_indexer(np.asarray(codes, dtype=str))
        sub = out[hit]
        sub[:, ci >= 0] = rows[:, ci[ci >= 0]]
        out[hit] = sub
    return out


def load_factor_panels(paths, models=tuple(MODELS), mmap: bool = True) -> dict:
    """{(model, dataset): Panel} from factor panel folders `…/{dataset}/{model}` (the rule's
    declared inputs, so nothing stale or undeclared is read), keeping `models`. A dataset the
    configuration does not train simply has no entry; its table cells are NaN."""
    out = {}
    for path in map(Path, [paths] if isinstance(paths, (str, Path)) else paths):
        dataset, model = path.parts[-2:]
        if dataset not in DATASETS or model not in MODELS:
            raise ValueError(f"{path}: a factor panel folder must end in {{dataset}}/{{model}} with dataset in "
                             f"{list(DATASETS)} and model in {list(MODELS)}")
        if model in models:
            out[(model, dataset)] = Panel.load(path, mmap=mmap)
    log.info("factor panels: %s", sorted(out))
    return out


def write_table(df: pd.DataFrame, path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False)


def _round(df: pd.DataFrame, digits: dict) -> pd.DataFrame:
    return df.round({c: d for c, d in digits.items() if c in df.columns})


def _factor_arrays(ctx: EvalContext, factors: dict, model: str) -> dict:
    """{dataset: [D, N]} of one model's factors present in `factors` (missing ones logged)."""
    out = {}
    for d in DATASETS:
        if (model, d) in factors:
            out[d] = ctx.factor(factors[(model, d)])
        else:
            log.warning("no %s factor for dataset %s: its cells are NaN", model, d)
    return out


def _with_avg(ctx: EvalContext, factors: dict, model: str) -> dict:
    """One model's {dataset: [D, N]} plus "avg" (None when no dataset is present); cached."""
    key = ("avg", model, tuple(sorted((k, id(v)) for k, v in factors.items() if k[0] == model)))
    if key not in ctx._cache:
        arrays = _factor_arrays(ctx, factors, model)
        arrays[COMPOSITE] = composite(ctx, arrays)
        ctx._cache[key] = arrays
    return ctx._cache[key]


def composite_of(ctx: EvalContext, factors: dict, model: str) -> np.ndarray | None:
    """The `avg` composite [D, N] of one model's factors in `factors` (None when there are none):
    the score of the index-enhancement portfolios (report §4)."""
    return _with_avg(ctx, factors, model)[COMPOSITE]


def composite(ctx: EvalContext, arrays: dict) -> np.ndarray | None:
    """`avg`: mean of the cross-sectionally z-scored factors (over `all` ∧ sample) present."""
    if not arrays:
        return None
    if len(arrays) < len(DATASETS):
        log.warning("composite avg built from %s only", sorted(arrays))
    mask = ctx.mask("all")
    zs = []
    for x in arrays.values():
        x = np.where(mask, x, np.nan)
        with np.errstate(invalid="ignore", divide="ignore"), _quiet():
            mu = np.nanmean(x, axis=1, keepdims=True)
            sd = np.nanstd(x, axis=1, keepdims=True)
            zs.append(np.where(sd > 0, (x - mu) / sd, np.nan))
    with _quiet():
        return np.nanmean(np.stack(zs), axis=0)


@contextmanager
def _quiet():
    """Silence numpy's all-NaN slice warnings (an empty cross-section is expected, e.g. before
    a dataset's history starts)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def _ic_stats(ctx: EvalContext, x, mask) -> dict:
    if x is None or mask is None:
        return {"rank_ic_mean": np.nan, "ic_ir": np.nan, "rank_ic_pos_ratio": np.nan}
    _, ics = rank_ic_series(x, ctx.target, mask, ctx.ic_step, dates=ctx.dates, start=ctx.start, end=ctx.end)
    return ic_summary(ics)


def _layered_stats(ctx: EvalContext, x, mask, n_groups: int) -> dict:
    keys = ["top_ann_excess", "top_sharpe", "top_max_drawdown", "top_weekly_turnover", "bottom_ann_excess"]
    if x is None or mask is None:
        return dict.fromkeys(keys, np.nan)
    arrays, returns = ctx.trading()
    res = layered_backtest(x, arrays, mask, n_groups, ctx.dates, ctx.start, ctx.end, returns=returns,
                           trading_rules=ctx.trading_rules)
    return res.summary()


# ---- factor units (multi): table 6, table 7, figures 12-17 -------------------------------

def _unit_names(panel: Panel) -> dict[int, list[str]]:
    seeds: dict[int, list[str]] = {}
    for name in panel.features:
        m = _UNIT_NAME.match(name)
        if m:
            seeds.setdefault(int(m.group(1)), []).append(name)
    return seeds


def unit_statistics(ctx: EvalContext, factors: dict) -> pd.DataFrame:
    """Long table (dataset, seed, unit, rank_ic_mean, rank_ic_ir) of every factor unit of the
    multi panels in `factors` (keyed (model, dataset)); feeds table 6 and figures 12-17."""
    days = ctx.ic_days()
    mask = ctx.mask("all")
    frames = []
    for d in DATASETS:
        panel = factors.get(("multi", d))
        if panel is None:
            log.warning("no multi factor panel for %s: table 6 / figures have no units there", d)
            continue
        for seed, names in sorted(_unit_names(panel).items()):
            x = align(panel, names, ctx.dates, ctx.market.codes, days)  # only the RankIC days
            units = {n: x[:, :, k] for k, n in enumerate(names)}
            stats = unit_ic_stats(units, ctx.target[days], mask[days], np.arange(len(days)))
            stats.insert(0, "seed", seed)
            stats.insert(0, "dataset", d)
            frames.append(stats)
    cols = ["dataset", "seed", "unit", "rank_ic_mean", "rank_ic_ir"]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)


def table6(unit_stats: pd.DataFrame) -> pd.DataFrame:
    """Report table 6: per dataset the mean unit RankIC, the units with RankIC > 5% (per seed,
    averaged over seeds) and the mean unit RankIC_IR."""
    rows = []
    for d in DATASETS:
        s = unit_stats[unit_stats["dataset"] == d]
        if s.empty:
            rows.append({"dataset": d, "rank_ic_mean": np.nan, "n_factors_rank_ic_gt_5pct": np.nan,
                         "rank_ic_ir_mean": np.nan})
            continue
        count = (s["rank_ic_mean"] > 0.05).groupby(s["seed"]).sum().mean()
        rows.append({"dataset": d, "rank_ic_mean": s["rank_ic_mean"].mean(),
                     "n_factors_rank_ic_gt_5pct": count, "rank_ic_ir_mean": s["rank_ic_ir"].mean()})
    return _round(pd.DataFrame(rows), {"rank_ic_mean": 4, "n_factors_rank_ic_gt_5pct": 1, "rank_ic_ir_mean": 2})


def table7(ctx: EvalContext, factors: dict) -> pd.DataFrame:
    """Report table 7: per seed and dataset, the mean absolute pairwise Pearson correlation among
    the multi model's units (per day, averaged over the RankIC days)."""
    days = ctx.ic_days()
    mask = ctx.mask("all")
    cells: dict[int, dict[str, float]] = {}
    for d in DATASETS:
        panel = factors.get(("multi", d))
        if panel is None:
            log.warning("no multi factor panel for %s: table 7 column is NaN", d)
            continue
        for seed, names in _unit_names(panel).items():
            x = align(panel, names, ctx.dates, ctx.market.codes, days)
            cells.setdefault(seed, {})[d] = mean_abs_unit_corr(x, mask[days], np.arange(len(days)))
    seeds = sorted(cells) or [0, 1, 2]
    table = pd.DataFrame([{"seed": s, **{d: cells.get(s, {}).get(d, np.nan) for d in DATASETS}} for s in seeds])
    return _round(table, dict.fromkeys(DATASETS, 2))


def plot_unit_histograms(unit_stats: pd.DataFrame, out_dir) -> list[Path]:
    """Figures 12-17 (`fig12.png` ... `fig17.png` in out_dir): histograms of the units' RankIC
    mean and RankIC_IR per dataset (all seeds pooled)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    label = {"rank_ic_mean": "RankIC mean", "rank_ic_ir": "RankIC_IR"}
    for num, (d, stat) in UNIT_FIGURES.items():
        vals = unit_stats.loc[unit_stats["dataset"] == d, stat].dropna().to_numpy()
        fig, ax = plt.subplots(figsize=(6, 4))
        if len(vals):
            ax.hist(vals, bins=20, color="#4472c4", edgecolor="white")
            ax.axvline(vals.mean(), color="k", ls="--", lw=1, label=f"mean {vals.mean():.3f}")
            ax.legend()
        else:
            log.warning("figure %d: no units of dataset %s", num, d)
            ax.text(0.5, 0.5, f"no factor units for dataset {d}", ha="center", transform=ax.transAxes)
        ax.set_xlabel(label[stat])
        ax.set_ylabel("number of factor units")
        ax.set_title(f"Figure {num}: factor-unit {label[stat]} on dataset {d}")
        fig.tight_layout()
        path = out_dir / f"fig{num}.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        paths.append(path)
    return paths


# ---- per-dataset factors: tables 8-12 ----------------------------------------------------

def table8(ctx: EvalContext, factors: dict) -> pd.DataFrame:
    """Report table 8: per dataset and model, RankIC statistics and the 20-group test on `all`."""
    mask = ctx.mask("all")
    rows = []
    for d in DATASETS:
        for m in MODELS:
            x = ctx.factor(factors[(m, d)]) if (m, d) in factors else None
            if x is None:
                log.warning("table 8: no %s factor for %s", m, d)
            stats = {**_ic_stats(ctx, x, mask), **_layered_stats(ctx, x, mask, ctx.groups)}
            stats.pop("top_weekly_turnover")
            rows.append({"model": m, "dataset": d, **stats})
    return _round(pd.DataFrame(rows), {"rank_ic_mean": 4, "ic_ir": 2, "rank_ic_pos_ratio": 4, "top_ann_excess": 4,
                                       "top_sharpe": 2, "top_max_drawdown": 4, "bottom_ann_excess": 4})


def correlation_table(ctx: EvalContext, factors: dict, model: str) -> pd.DataFrame:
    """Tables 9 (uni) / 10 (multi): day, ms, l2, avg; Spearman below the diagonal, Pearson above."""
    arrays = _with_avg(ctx, factors, model)
    names = [*DATASETS, COMPOSITE]
    nan = np.full(ctx.market.shape, np.nan)
    full = {n: arrays[n] if arrays.get(n) is not None else nan for n in names}
    sp, pe = mean_cross_corr(full, ctx.mask("all"), ctx.ic_days())
    return _round(corr_matrix_table(sp, pe), dict.fromkeys(names, 2))


def table9(ctx: EvalContext, factors: dict) -> pd.DataFrame:
    return correlation_table(ctx, factors, "uni")


def table10(ctx: EvalContext, factors: dict) -> pd.DataFrame:
    return correlation_table(ctx, factors, "multi")


def decay_table(ctx: EvalContext, factors: dict, model: str) -> pd.DataFrame:
    """Tables 11 (uni) / 12 (multi): RankIC of factor[t − lag] with target[t] over
    [decay_start, end]; columns lag, avg, day, ms, l2 (the report's order)."""
    arrays = _with_avg(ctx, factors, model)
    days = ctx.ic_days(ctx.decay_start)
    mask = ctx.mask("all")
    table = pd.DataFrame({"lag": list(ctx.lags)})
    for name in [COMPOSITE, *DATASETS]:
        x = arrays.get(name)
        by_lag = decay(x, ctx.target, mask, ctx.lags, days) if x is not None else {}
        table[name] = [by_lag.get(lag, np.nan) for lag in ctx.lags]
    return _round(table, dict.fromkeys([COMPOSITE, *DATASETS], 4))


def table11(ctx: EvalContext, factors: dict) -> pd.DataFrame:
    return decay_table(ctx, factors, "uni")


def table12(ctx: EvalContext, factors: dict) -> pd.DataFrame:
    return decay_table(ctx, factors, "multi")


# ---- the composite: tables 13-16, headline ----------------------------------------------

def table13(ctx: EvalContext, factors: dict) -> pd.DataFrame:
    """Report table 13: RankIC statistics of `avg` per universe and model."""
    avg = {m: _with_avg(ctx, factors, m)[COMPOSITE] for m in MODELS}
    rows = [{"universe": u, "model": m, **_ic_stats(ctx, avg[m], ctx.mask(u))} for u in ctx.universes for m in MODELS]
    return _round(pd.DataFrame(rows), {"rank_ic_mean": 4, "ic_ir": 2, "rank_ic_pos_ratio": 4})


def table14(ctx: EvalContext, factors: dict) -> pd.DataFrame:
    """Report table 14: layered test of `avg` per universe and model (`groups` groups on all,
    `index_groups` on the index universes)."""
    avg = {m: _with_avg(ctx, factors, m)[COMPOSITE] for m in MODELS}
    rows = []
    for u in ctx.universes:
        n = ctx.groups if u == "all" else ctx.index_groups
        for m in MODELS:
            rows.append({"universe": u, "model": m, **_layered_stats(ctx, avg[m], ctx.mask(u), n)})
    return _round(pd.DataFrame(rows), {"top_ann_excess": 4, "top_sharpe": 2, "top_max_drawdown": 4,
                                       "top_weekly_turnover": 4, "bottom_ann_excess": 4})


def headline(t13: pd.DataFrame) -> pd.DataFrame:
    """headline.csv: the RankIC means of table 13 in the conclusions' order (uni, then multi)."""
    rows = [t13[(t13["universe"] == u) & (t13["model"] == m)].iloc[0] for m in MODELS for u in UNIVERSES
            if ((t13["universe"] == u) & (t13["model"] == m)).any()]
    return pd.DataFrame(rows)[["universe", "model", "rank_ic_mean"]].reset_index(drop=True)


def classic_correlation_table(ctx: EvalContext, factors: dict, classic: Panel, names: list[str],
                              model: str = "multi", method: str = "spearman") -> pd.DataFrame:
    """Tables 15/16: mean daily correlation of each dataset's factor and `avg` with the classic
    factors `names` (rows), over `all` ∧ sample on the RankIC days."""
    arrays = _with_avg(ctx, factors, model)
    mask, days = ctx.mask("all"), ctx.ic_days()
    table = pd.DataFrame({"factor": names})
    for col in [*DATASETS, COMPOSITE]:
        x = arrays.get(col)
        table[col] = [mean_pair_corr(x, ctx.factor(classic, n), mask, days, method) if x is not None else np.nan
                      for n in names]
    return _round(table, dict.fromkeys([*DATASETS, COMPOSITE], 2))


def table15(ctx: EvalContext, factors: dict, classic: Panel, model: str = "multi", method: str = "spearman"):
    return classic_correlation_table(ctx, factors, classic, DAILY_CLASSIC, model, method)


def table16(ctx: EvalContext, factors: dict, classic: Panel, model: str = "multi", method: str = "spearman"):
    return classic_correlation_table(ctx, factors, classic, INTRADAY_CLASSIC, model, method)


def table17() -> pd.DataFrame:
    """Report table 17: our definitions of the classic factors (repro.features.classic)."""
    return pd.DataFrame({"factor": list(CLASSIC_DEFINITIONS), "definition": list(CLASSIC_DEFINITIONS.values())})


# ---- synthetic only --------------------------------------------------------------------

ORACLE_OF = {"day": "oracle_day", "ms": "oracle_ms", "l2": "oracle_l2", "avg": "oracle"}


def oracle_recovery(ctx: EvalContext, factors: dict, oracle: Panel) -> pd.DataFrame:
    """How much of the planted signal each factor recovers (synthetic market): per model and
    factor (day, ms, l2, avg) its RankIC mean on `all`, the RankIC mean of the matching planted
    oracle over the same days, their ratio, and the mean daily Spearman correlation of the two."""
    mask, days = ctx.mask("all"), ctx.ic_days()
    rows = []
    for m in MODELS:
        arrays = _with_avg(ctx, factors, m)
        for name, oname in ORACLE_OF.items():
            x = arrays.get(name)
            o = ctx.factor(oracle, oname)
            ours = _ic_stats(ctx, x, mask)["rank_ic_mean"]
            theirs = _ic_stats(ctx, o, mask)["rank_ic_mean"]
            corr = mean_pair_corr(x, o, mask, days) if x is not None else np.nan
            rows.append({"model": m, "factor": name, "oracle": oname, "rank_ic_mean": ours,
                         "oracle_rank_ic_mean": theirs, "ratio": ours / theirs if theirs else np.nan,
                         "corr_with_oracle": corr})
    return pd.DataFrame(rows)


# ---- one entry point per workflow rule ---------------------------------------------------

def build_table(n: int, ctx: EvalContext, factors: dict, classic: Panel | None = None) -> pd.DataFrame:
    """Report table `n` of rule evaluation_table (repro.targets) from the evaluation context and
    factor panels; the tables whose target lists the "classic" input need the classic panel."""
    target = TARGETS[f"table{n}"]
    if "classic" in target.inputs:
        if classic is None:
            raise ValueError(f"table{n} needs the classic-factor panel")
        return target.build(ctx, factors, classic)
    return target.build(ctx, factors)
