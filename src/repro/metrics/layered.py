"""The 20-group (layered) test of a factor (report §3.2 table 8, §3.3 table 14; SPEC §6).

Mechanics:
- Signal: the factor on the last trading day of each calendar week (Monday-based weeks).
- Groups: stocks in the universe on the signal day with a finite factor are sorted by factor
  (ties by stock order, so results are deterministic) and cut into `n_groups` groups of equal
  size (group n_groups-1 = top = highest factor).
- Execution at the close of the next trading day; equal weights inside a group; positions are
  held (weights drift with prices) until the next execution; no costs.
- Daily returns close-to-close from adjusted closes; a missing close (suspension) carries the
  last price forward, so the move is booked on the day trading resumes.
- The benchmark is the equal-weight universe, built by the same rules from every eligible
  stock; hedged return = group return − benchmark return, day by day.

A-share trading rules at execution [D, SPEC §1]: a held name that must leave the group but
cannot be sold (suspended, or closing at limit-down) keeps its (drifted) weight; a held name
that stays in the group but is suspended keeps its weight; a new name that cannot be bought
(suspended or closing at limit-up) is skipped. The rest of the portfolio's value is split
equally among the group names that are tradable or already held. A held name that stays in the
group is reset to equal weight even at a price limit (a small top-up/trim we accept for
simplicity). Delisted names are liquidated at their last price. When nothing can be bought the
remainder stays in cash (return 0).

Statistics: annualised return compounded over 252 days, Sharpe = mean/std(ddof=1) of daily
returns × √252, max drawdown of the NAV built by compounding the daily hedged returns (a
negative fraction), weekly one-sided turnover = Σ|w_new − w_old| / 2 per rebalance, averaged
over the rebalances after the first (the first builds the portfolio from cash).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)

TRADING_DAYS = 252
# Prices are quoted to 0.01 yuan: a close within half a tick of the limit is at the limit.
_HALF_TICK = 0.005


@dataclass
class TradingArrays:
    """What the backtest needs from a market, as [D, N] arrays."""

    adj_close: np.ndarray  # float, adjusted close, NaN when not traded
    suspended: np.ndarray  # bool
    limit_up_hit: np.ndarray  # bool: closed at limit-up (cannot buy)
    limit_down_hit: np.ndarray  # bool: closed at limit-down (cannot sell)

    @classmethod
    def from_market(cls, market) -> "TradingArrays":
        f = market.fields
        close = f["close"]
        with np.errstate(invalid="ignore"):
            up = np.isfinite(f["limit_up"]) & (close >= f["limit_up"] - _HALF_TICK)
            down = np.isfinite(f["limit_down"]) & (close <= f["limit_down"] + _HALF_TICK)
        # Delisted (not listed) names are treated as liquidated, not as suspended.
        return cls(market.adjusted("close"), market.is_suspended & market.listed, up, down)

    def daily_returns(self) -> np.ndarray:
        """Close-to-close returns [D, N] of the forward-filled adjusted close; 0 where unknown."""
        px = np.asarray(self.adj_close, dtype=np.float64)
        ok = np.isfinite(px)
        idx = np.where(ok, np.arange(len(px))[:, None], 0)
        np.maximum.accumulate(idx, axis=0, out=idx)
        filled = np.take_along_axis(px, idx, axis=0)
        filled[~np.maximum.accumulate(ok, axis=0)] = np.nan  # before the first price
        r = np.zeros_like(filled)
        with np.errstate(invalid="ignore", divide="ignore"):
            r[1:] = filled[1:] / filled[:-1] - 1.0
        r[~np.isfinite(r)] = 0.0
        return r


@dataclass
class LayeredResult:
    dates: np.ndarray  # [T] days with a return (after the first execution)
    group_returns: np.ndarray  # [T, G] daily returns of each group (0 = bottom)
    benchmark_returns: np.ndarray  # [T] equal-weight universe
    turnover: np.ndarray  # [R, G] one-sided turnover of each rebalance (first one excluded)

    @property
    def hedged(self) -> np.ndarray:
        return self.group_returns - self.benchmark_returns[:, None]

    def summary(self) -> dict:
        """Table 8/14 statistics of the top and bottom groups."""
        top, bottom = self.hedged[:, -1], self.hedged[:, 0]
        return {
            "top_ann_excess": annualised_return(top),
            "top_sharpe": sharpe_ratio(top),
            "top_max_drawdown": max_drawdown(top),
            "top_weekly_turnover": float(self.turnover[:, -1].mean()) if len(self.turnover) else np.nan,
            "bottom_ann_excess": annualised_return(bottom),
        }


def annualised_return(daily: np.ndarray, periods: int = TRADING_DAYS) -> float:
    daily = np.asarray(daily, dtype=np.float64)
    if len(daily) == 0:
        return np.nan
    return float(np.prod(1.0 + daily) ** (periods / len(daily)) - 1.0)


def sharpe_ratio(daily: np.ndarray, periods: int = TRADING_DAYS) -> float:
    daily = np.asarray(daily, dtype=np.float64)
    if len(daily) < 2:
        return np.nan
    sd = daily.std(ddof=1)
    return float(daily.mean() / sd * np.sqrt(periods)) if sd > 0 else np.nan


def max_drawdown(daily: np.ndarray) -> float:
    """Largest fall of the compounded NAV (starting at 1) from its running peak, as a
    negative fraction (0 when the NAV never falls)."""
    nav = np.concatenate([[1.0], np.cumprod(1.0 + np.asarray(daily, dtype=np.float64))])
    return float((nav / np.maximum.accumulate(nav) - 1.0).min())


def week_end_days(dates: np.ndarray) -> np.ndarray:
    """Bool [D]: the last trading day of each Monday-based calendar week (the calendar's last
    day counts as one)."""
    days = np.asarray(dates, dtype="datetime64[D]").astype(np.int64)
    week = (days + 3) // 7  # 1970-01-01 was a Thursday: +3 makes weeks start on Monday
    end = np.ones(len(days), dtype=bool)
    end[:-1] = week[:-1] != week[1:]
    return end


def assign_groups(factor_row: np.ndarray, eligible: np.ndarray, n_groups: int) -> np.ndarray:
    """Group index per stock (0 = lowest factor), -1 when not eligible; groups differ in size by
    at most one stock."""
    groups = np.full(len(factor_row), -1, dtype=np.int64)
    idx = np.flatnonzero(eligible & np.isfinite(factor_row))
    if len(idx) < n_groups:
        return groups
    order = idx[np.argsort(factor_row[idx], kind="stable")]
    groups[order] = np.arange(len(order)) * n_groups // len(order)
    return groups


def rebalance(w_old: np.ndarray, target: np.ndarray, can_buy: np.ndarray, can_sell: np.ndarray):
    """New weights [P, N] of P portfolios given drifted weights w_old [P, N], the wanted members
    target [P, N] (bool) and per-stock tradability [N]; see the module docstring for the rules.
    Returns (w_new, one-sided turnover [P])."""
    held = w_old > 0
    frozen = held & ((~target & ~can_sell) | (target & ~can_sell & ~can_buy))
    active = target & ~frozen & (can_buy | held)
    kept = np.where(frozen, w_old, 0.0)
    n_active = active.sum(axis=1, keepdims=True)
    share = np.where(n_active > 0, (1.0 - kept.sum(axis=1, keepdims=True)) / np.maximum(n_active, 1), 0.0)
    w_new = kept + np.where(active, share, 0.0)
    return w_new, np.abs(w_new - w_old).sum(axis=1) / 2.0


def layered_backtest(factor, market, universe_mask, n_groups: int, dates, start=None, end=None,
                     returns: np.ndarray | None = None, trading_rules: bool = True) -> LayeredResult:
    """Weekly layered test of `factor` [D, N] over [start, end] of `dates`.

    market: a `repro.market.Market` or a `TradingArrays`. universe_mask: bool [D, N], the
    stocks eligible on each signal day. `returns` may pass precomputed
    `TradingArrays.daily_returns()` to share them between calls. `trading_rules=False` drops
    the A-share rules at execution (every name can be bought and sold, suspended or at a price
    limit: the frictionless test of most factor libraries), for comparison.
    """
    trading = market if isinstance(market, TradingArrays) else TradingArrays.from_market(market)
    dates = np.asarray(dates, dtype="datetime64[D]")
    r = trading.daily_returns() if returns is None else returns
    inside = np.ones(len(dates), dtype=bool)
    if start is not None:
        inside &= dates >= np.datetime64(start, "D")
    if end is not None:
        inside &= dates <= np.datetime64(end, "D")
    days = np.flatnonzero(inside)
    if len(days) < 2:
        raise ValueError(f"layered test: fewer than 2 trading days in [{start}, {end}]")
    first, last = days[0], days[-1]
    is_signal = week_end_days(dates)
    signals = [s for s in days if is_signal[s] and s + 1 <= last]
    executions = {s + 1: s for s in signals}

    n_stocks = np.shape(factor)[1]
    P = n_groups + 1  # the last portfolio is the equal-weight benchmark
    w = np.zeros((P, n_stocks))
    started = False
    out_days, rets, turns = [], [], []
    skipped = 0
    for t in range(first, last + 1):
        if started:
            port = w @ r[t]
            out_days.append(t)
            rets.append(port)
            grow = w * (1.0 + r[t])
            w = grow / (1.0 + port)[:, None]
        s = executions.get(t)
        if s is None:
            continue
        f = np.asarray(factor[s], dtype=np.float64)
        groups = assign_groups(f, np.asarray(universe_mask[s], dtype=bool), n_groups)
        if (groups < 0).all():
            skipped += 1
            continue
        target = np.zeros((P, n_stocks), dtype=bool)
        target[groups[groups >= 0], np.flatnonzero(groups >= 0)] = True
        target[-1] = groups >= 0
        if trading_rules:
            susp = np.asarray(trading.suspended[t], dtype=bool)
            can_buy = ~susp & ~np.asarray(trading.limit_up_hit[t], dtype=bool)
            can_sell = ~susp & ~np.asarray(trading.limit_down_hit[t], dtype=bool)
        else:
            can_buy = can_sell = np.ones(n_stocks, dtype=bool)
        w, turnover = rebalance(w, target, can_buy, can_sell)
        if started:
            turns.append(turnover)
        started = True
    if skipped:
        log.warning("layered test: %d of %d rebalances skipped (fewer than %d eligible stocks)",
                    skipped, len(signals), n_groups)
    rets = np.array(rets).reshape(-1, P)
    return LayeredResult(
        dates=dates[np.array(out_days, dtype=np.int64)],
        group_returns=rets[:, :n_groups],
        benchmark_returns=rets[:, n_groups],
        turnover=np.array(turns).reshape(-1, P)[:, :n_groups],
    )
