"""The weekly index-enhancement backtest (report §4.1; SPEC §7).

Schedule: the score of the last trading day of each (Monday-based) week s in [start, end] is
optimised after its close and traded on the next trading day t = s + 1 at vwap.

Per trade day t [D where marked]:
- Inputs known at the close of s: the score row s, the risk snapshot of s, the benchmark
  weights of s, the universe of s (listed ≥ `min_listed_days`, not ST, not suspended: the
  `Market.sample_mask`), and the portfolio's drifted weights at the close of s.
- Trading rules of t from `repro.metrics.layered.TradingArrays` (the layered test's): a name
  suspended on t cannot trade, one closing at limit-up on t cannot be bought, one closing at
  limit-down cannot be sold [D: the day's status decides which orders fail, as in the layered
  test; it only ever removes options]. A name not listed on t cannot be bought.
- Execution at vwap [D]: from the close of s to the vwap of t the old weights earn
  g1 = adj_vwap_t / adj_close_{t−1}; the portfolio then moves to the target weights. Names whose
  move is blocked by a trading rule keep their pre-trade (drifted) weight exactly; the other
  names get the rest of the value pro rata to their targets. Costs: buy_cost × Σ bought +
  sell_cost × Σ sold, as fractions of the value at vwap. From vwap to the close the new
  weights earn g2 = adj_close_t / adj_vwap_t. A name without a vwap or close on t (suspended,
  delisted) trades at the previous close (g1 = 1 + r_t, g2 = 1).
- Other days: close-to-close returns of the forward-filled adjusted close
  (`TradingArrays.daily_returns`), weights drift.
- Benchmark: r_b,t = Σ w_b,t−1 · r_t with the index weights of the previous close normalised to
  sum 1 (a market whose index has membership only, e.g. qlib, carries equal weights; logged).
- Hedged: r_h,t = r_p,t − r_b,t, compounded daily into the hedged NAV.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from ..atomic import atomic_file
from ..metrics.layered import TradingArrays, week_end_days
from .config import EnhanceConfig
from . import RESULT_FILES
from .optimizer import WeeklyOptimizer, WeekInputs

log = logging.getLogger(__name__)


@dataclass
class EnhanceResult:
    index: str
    constraint: str
    nav: pd.DataFrame  # date, portfolio_return, benchmark_return, hedged_return, portfolio, benchmark, hedged
    weights: pd.DataFrame  # date (trade day), code, weight: the optimiser's targets, each date sums to 1
    diagnostics: pd.DataFrame  # one row per rebalance (see repro.enhance.optimizer)
    trades: pd.DataFrame  # date, code, w_prev (drifted, signal close), weight (target), executed (at vwap)




def write_result(result: EnhanceResult, folder) -> dict[str, Path]:
    """Write the result's tables (RESULT_FILES) into `folder`, each atomically."""
    folder = Path(folder)
    paths = {}
    for key, name in RESULT_FILES.items():
        df = getattr(result, key)
        with atomic_file(folder / name) as tmp:
            if name.endswith(".csv"):
                df.to_csv(tmp, index=False)
            else:
                df.to_parquet(tmp, index=False)
        paths[key] = folder / name
    return paths


def read_result(folder, index: str, constraint: str) -> EnhanceResult:
    """Read back what `write_result` wrote."""
    folder = Path(folder)
    parts = {k: (pd.read_csv(folder / n, parse_dates=["date", "signal_date"]) if n.endswith(".csv")
                 else pd.read_parquet(folder / n)) for k, n in RESULT_FILES.items()}
    return EnhanceResult(index, constraint, parts["nav"], parts["weights"], parts["diagnostics"], parts["trades"])


def benchmark_weights(market, index: str) -> np.ndarray:
    """Index weights [D, N] normalised to sum 1 on every day with members (0 elsewhere)."""
    if index not in market.index_weights:
        raise ValueError(f"market has no index weights for {index!r}; has {sorted(market.index_weights)}")
    raw = np.asarray(market.index_weights[index], dtype=np.float64)
    if (~np.isfinite(raw) | (raw < 0)).any():
        bad = np.argwhere(~np.isfinite(raw) | (raw < 0))[:3]
        raise ValueError(f"index_weights[{index}]: negative or non-finite weights, e.g. (date, code) "
                         f"{[(str(market.dates[d]), str(market.codes[n])) for d, n in bad]}")
    total = raw.sum(axis=1, keepdims=True)
    off = (total[:, 0] > 0) & (np.abs(total[:, 0] - 1.0) > 1e-6)
    if off.any():
        log.warning("index_weights[%s]: %d days do not sum to 1 (e.g. %s: %.6f); normalised", index,
                    int(off.sum()), market.dates[np.flatnonzero(off)[0]], total[np.flatnonzero(off)[0], 0])
    proxy = market.proxies.get(f"index_weights.{index}")
    if proxy:
        log.warning("benchmark %s is a proxy: %s", index, proxy)
    return np.divide(raw, total, out=np.zeros_like(raw), where=total > 0)


def execution_growth(market, trading: TradingArrays, returns: np.ndarray, t: int):
    """(g1, g2) [N]: growth from the previous close to the vwap of day t, and from that vwap to
    the close; (1 + r_t, 1) where the day has no vwap or close."""
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = market.fields["vwap"][t] / market.fields["close"][t]  # same adj_factor on one day
    ok = np.isfinite(ratio) & (ratio > 0) & ~trading.suspended[t]
    ratio = np.where(ok, ratio, 1.0)
    return (1.0 + returns[t]) * ratio, 1.0 / ratio


def execute(w_prev: np.ndarray, target: np.ndarray, g1: np.ndarray, can_buy, can_sell, cfg: EnhanceConfig):
    """Trade at vwap from the drifted weights to `target`.

    Returns (executed weights at vwap, growth of the old weights to vwap, cost as a fraction
    of the value at vwap). Blocked moves keep the pre-trade weight; the rest is pro rata."""
    grown = w_prev * g1
    value = grown.sum()
    u = grown / value if value > 0 else np.zeros_like(w_prev)
    blocked = ((target > u) & ~can_buy) | ((target < u) & ~can_sell)
    e = np.where(blocked, u, target)
    free_sum = e[~blocked].sum()
    if free_sum > 0:
        e[~blocked] *= (1.0 - e[blocked].sum()) / free_sum
    buys = np.clip(e - u, 0, None).sum()
    sells = np.clip(u - e, 0, None).sum()
    return e, (value if value > 0 else 1.0), cfg.buy_cost * buys + cfg.sell_cost * sells


def enhance_backtest(market, score: np.ndarray, risk_at: Callable, index: str, constraint: str,
                     start, end, config: EnhanceConfig | None = None,
                     universe: np.ndarray | None = None) -> EnhanceResult:
    """Weekly enhanced portfolio on `index` under `constraint` ("free" | "member80").

    score: float [D, N] on the market's axes (the `avg` composite; NaN = no score).
    risk_at: date (numpy datetime64[D]) -> a risk snapshot (`repro.risk.RiskSnapshot` fields).
    universe: bool [D, N] of buyable names on each signal day; default
    `market.sample_mask(config.min_listed_days)`.
    """
    cfg = config or EnhanceConfig()
    dates = np.asarray(market.dates, dtype="datetime64[D]")
    score = np.asarray(score, dtype=np.float64)
    if score.shape != market.shape:
        raise ValueError(f"score has shape {score.shape}, the market {market.shape}")
    industry = np.asarray(market.industry)
    if len(np.unique(industry[industry >= 0])) < 2:
        log.warning("enhance %s/%s: the market has no industries, or one for every stock (qlib data: "
                    "'unknown'); the industry constraint is void", index, constraint)
    trading = TradingArrays.from_market(market)
    r = trading.daily_returns()
    wb_all = benchmark_weights(market, index)
    uni = market.sample_mask(cfg.min_listed_days) if universe is None else np.asarray(universe, dtype=bool)
    days = np.flatnonzero((dates >= np.datetime64(start, "D")) & (dates <= np.datetime64(end, "D")))
    if len(days) < 2:
        raise ValueError(f"enhance backtest: fewer than 2 trading days in [{start}, {end}]")
    last = days[-1]
    signals = [s for s in days[week_end_days(dates)[days]] if s + 1 <= last]
    if not signals:
        raise ValueError(f"enhance backtest: no week end with a next trading day in [{start}, {end}]")
    trade_of = {s + 1: s for s in signals}

    N = len(market.codes)
    opt = None
    w = np.zeros(N)
    started = False
    rows, weight_rows, trade_rows, diags = [], [], [], []
    for t in range(signals[0] + 1, last + 1):
        r_b = float(wb_all[t - 1] @ r[t])
        s = trade_of.get(t)
        if s is None:
            port = float(w @ r[t])
            g = w * (1.0 + r[t])
            w = g / g.sum() if g.sum() > 0 else w
        else:
            snap = risk_at(dates[s])
            if snap is None:
                raise ValueError(f"enhance backtest: no risk snapshot for {dates[s]}")
            if opt is None:
                opt = WeeklyOptimizer(market.codes, index, constraint, cfg, snap.factor_names,
                                      snap.style_names, snap.industry_names)
            wb = wb_all[s]
            if wb.sum() <= 0:
                raise ValueError(f"index_weights[{index}]: no members on {dates[s]}")
            can_buy = ~trading.suspended[t] & ~trading.limit_up_hit[t] & market.listed[t]
            can_sell = ~trading.suspended[t] & ~trading.limit_down_hit[t]
            week = WeekInputs(alpha=score[s], w_prev=w, w_bench=wb, eligible=uni[s], can_buy=can_buy,
                              can_sell=can_sell, first=not started)
            sol = opt.solve(snap, week)
            g1, g2 = execution_growth(market, trading, r, t)
            e, grow_to_vwap, cost = execute(w, sol.weights, g1, can_buy, can_sell, cfg)
            after = (e * g2).sum()
            port = grow_to_vwap * (1.0 - cost) * after - 1.0 if started else (1.0 - cost) * after - 1.0
            held = sol.weights > 0
            weight_rows.append(pd.DataFrame({"date": dates[t], "code": market.codes[held],
                                             "weight": sol.weights[held]}))
            moved = held | (w > 0) | (e > 0)
            trade_rows.append(pd.DataFrame({"date": dates[t], "code": market.codes[moved], "w_prev": w[moved],
                                            "weight": sol.weights[moved], "executed": e[moved]}))
            diags.append({"date": dates[t], "signal_date": dates[s], **sol.diagnostics, "cost": cost,
                          "execution_gap": float(np.abs(e - sol.weights).sum())})
            w = e * g2 / after
            started = True
        rows.append((dates[t], port, r_b))
    nav = pd.DataFrame(rows, columns=["date", "portfolio_return", "benchmark_return"])
    nav["hedged_return"] = nav["portfolio_return"] - nav["benchmark_return"]
    for k in ("portfolio", "benchmark", "hedged"):
        nav[k] = np.cumprod(1.0 + nav[f"{k}_return"].to_numpy())
    diag = pd.DataFrame(diags)
    n_bad = int((diag["status"] != "optimal").sum())
    if n_bad:
        log.warning("enhance %s/%s: %d of %d rebalances were not solved as stated (%s)", index, constraint,
                    n_bad, len(diag), diag["status"].value_counts().to_dict())
    return EnhanceResult(index, constraint, nav, pd.concat(weight_rows, ignore_index=True), diag,
                         pd.concat(trade_rows, ignore_index=True))
