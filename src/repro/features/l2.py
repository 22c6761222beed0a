"""The 20 `l2` daily features from Level-2 data aggregated to minutes (SPEC §1, §3 [D]).

The report (section 3.1) trains a GRU on 20 daily Level-2 features without naming them; SPEC
§3 fixes the list. Inputs are the columns of `repro.contract.L2` as dense float arrays
[S, 240] (one row per stock-day, NaN where a minute has no row), plus the minute closes of the
same stock-days (from the minute file of the same month) for `corr_inflow_ret`.
"""
from __future__ import annotations

import numpy as np

from repro.contract import L2_SIZES
from repro.features.ms import (
    FIRST30,
    LAST30,
    MINUTES,
    last_valid,
    minute_returns,
    ratio,
    row_corr,
    row_mean,
    row_std,
    row_sum,
)

L2_FEATURES = [
    "net_inflow_small",
    "net_inflow_medium",
    "net_inflow_large",
    "net_inflow_xlarge",
    "net_inflow_main",
    "active_buy_ratio",
    "large_share",
    "avg_trade_size",
    "spread_mean",
    "spread_std",
    "depth_imb_mean",
    "depth_imb_close",
    "depth_log",
    "inflow_first30",
    "inflow_last30",
    "corr_inflow_ret",
    "imb_std",
    "cancel_ratio_buy",
    "cancel_ratio_sell",
    "xlarge_count_imb",
]

# The L2 columns the formulas read (all of contract.L2 except the keys date, code, minute).
L2_COLUMNS = (
    [f"buy_amount_{s}" for s in L2_SIZES]
    + [f"sell_amount_{s}" for s in L2_SIZES]
    + ["buy_count_xlarge", "sell_count_xlarge", "trade_count", "bid1", "ask1"]
    + ["bid_depth", "ask_depth", "cancel_buy_amount", "cancel_sell_amount"]
)


def _zero(x):
    return np.where(np.isfinite(x), x, 0.0)


def l2_features(cols: dict[str, np.ndarray], close: np.ndarray) -> np.ndarray:
    """The 20 `l2` features (SPEC §3, order of L2_FEATURES), float64 [S, 20].

    `cols` maps each name of L2_COLUMNS to a float array [S, 240]; `close` is [S, 240] minute
    closes (NaN where absent). Sums over the day treat a missing minute as contributing 0;
    a ratio with a zero denominator is NaN. Conventions (SPEC leaves them open; fixed here):

    - buy_j / sell_j = active-buy / active-sell amount of minute j over all size classes;
      T = Σ_j (buy_j + sell_j), the day's traded amount.
    - net_inflow_{size} = Σ (buy_amount_size − sell_amount_size) / T — over the day's total
      amount, so the four classes add up to the day's net inflow ratio;
      net_inflow_main = the large + xlarge sum.
    - active_buy_ratio = Σ buy / T; large_share = Σ (large + xlarge buy and sell) / T.
    - avg_trade_size = ln(T / Σ trade_count) (log CNY per trade).
    - spread_j = (ask1 − bid1) / ((ask1 + bid1) / 2) over minutes with both quotes > 0 and
      ask1 ≥ bid1 (a limit-locked book with one empty side is left out);
      spread_mean / spread_std = mean / population std of spread_j.
    - depth_imb_j = (bid_depth − ask_depth) / (bid_depth + ask_depth) over minutes with depth;
      depth_imb_mean = its mean, depth_imb_close = its value at the day's last such minute.
    - depth_log = ln(mean_j top-10 depth in CNY / mean_j minute amount (buy_j + sell_j)):
      depth_j is valued at the mid quote, or at the minute close where the quotes are not
      usable; the log of how many minutes of average trading the book holds.
    - inflow_first30 / inflow_last30 = Σ (buy − sell) / Σ (buy + sell) within minutes 0..29 /
      210..239 (normalised within the window, so a thin window still gives a ratio).
    - corr_inflow_ret = Pearson(buy_j − sell_j, r_j), r_j = minute log return of the closes
      (`repro.features.ms.minute_returns`; the day's first bar has no return since L2 rows
      carry no open).
    - imb_std = population std of (buy_j − sell_j) / (buy_j + sell_j) over minutes with trades.
    - cancel_ratio_buy / cancel_ratio_sell = Σ cancelled buy / sell amount / T.
    - xlarge_count_imb = (Σ buy_count_xlarge − Σ sell_count_xlarge) / (their sum).
    """
    missing = [c for c in L2_COLUMNS if c not in cols]
    if missing:
        raise KeyError(f"l2_features: missing L2 columns {missing}")
    x = {c: np.asarray(cols[c], dtype=np.float64) for c in L2_COLUMNS}
    close = np.asarray(close, dtype=np.float64)
    if close.ndim != 2 or close.shape[1] != MINUTES or x["bid1"].shape != close.shape:
        raise ValueError(
            f"l2_features expects [S, {MINUTES}] arrays, got {close.shape} and {x['bid1'].shape}"
        )
    s = close.shape[0]
    present = np.zeros(close.shape, dtype=bool)
    for c in L2_COLUMNS:
        present |= np.isfinite(x[c])
    has_rows = present.any(axis=1)

    buy_by = {sz: _zero(x[f"buy_amount_{sz}"]) for sz in L2_SIZES}
    sell_by = {sz: _zero(x[f"sell_amount_{sz}"]) for sz in L2_SIZES}
    buy = sum(buy_by.values())
    sell = sum(sell_by.values())
    traded = buy + sell
    total = np.where(has_rows, traded.sum(axis=1), np.nan)
    net = np.where(present, buy - sell, np.nan)

    bid, ask = x["bid1"], x["ask1"]
    quoted = np.isfinite(bid) & np.isfinite(ask) & (bid > 0) & (ask >= bid)
    mid = np.where(quoted, 0.5 * (bid + ask), np.nan)
    spread = np.where(quoted, ratio(ask - bid, mid), np.nan)

    bd, ad = x["bid_depth"], x["ask_depth"]
    depth = bd + ad
    has_depth = np.isfinite(depth) & (depth > 0)
    depth_imb = np.where(has_depth, ratio(bd - ad, depth), np.nan)
    price = np.where(quoted, mid, close)
    depth_cny = np.where(has_depth & np.isfinite(price) & (price > 0), depth * price, np.nan)

    r, _ = minute_returns(np.full_like(close, np.nan), close)
    minute_imb = np.where(present & (traded > 0), ratio(buy - sell, traded), np.nan)

    def window_inflow(sl):
        return ratio(row_sum(net[:, sl]), row_sum(np.where(present, traded, np.nan)[:, sl]))

    bcx, scx = row_sum(x["buy_count_xlarge"]), row_sum(x["sell_count_xlarge"])
    out = np.full((s, len(L2_FEATURES)), np.nan)
    f = {name: i for i, name in enumerate(L2_FEATURES)}
    for sz in L2_SIZES:
        out[:, f[f"net_inflow_{sz}"]] = ratio((buy_by[sz] - sell_by[sz]).sum(axis=1), total)
    main = buy_by["large"] + buy_by["xlarge"] - sell_by["large"] - sell_by["xlarge"]
    out[:, f["net_inflow_main"]] = ratio(main.sum(axis=1), total)
    out[:, f["active_buy_ratio"]] = ratio(buy.sum(axis=1), total)
    big = buy_by["large"] + buy_by["xlarge"] + sell_by["large"] + sell_by["xlarge"]
    out[:, f["large_share"]] = ratio(big.sum(axis=1), total)
    per_trade = ratio(total, row_sum(x["trade_count"]))
    with np.errstate(invalid="ignore", divide="ignore"):
        out[:, f["avg_trade_size"]] = np.log(np.where(per_trade > 0, per_trade, np.nan))
        depth_turns = ratio(row_mean(depth_cny), row_mean(np.where(present, traded, np.nan)))
        out[:, f["depth_log"]] = np.log(np.where(depth_turns > 0, depth_turns, np.nan))
    out[:, f["spread_mean"]] = row_mean(spread)
    out[:, f["spread_std"]] = row_std(spread)
    out[:, f["depth_imb_mean"]] = row_mean(depth_imb)
    out[:, f["depth_imb_close"]] = last_valid(depth_imb)
    out[:, f["inflow_first30"]] = window_inflow(FIRST30)
    out[:, f["inflow_last30"]] = window_inflow(LAST30)
    out[:, f["corr_inflow_ret"]] = row_corr(net, r)
    out[:, f["imb_std"]] = row_std(minute_imb)
    out[:, f["cancel_ratio_buy"]] = ratio(row_sum(x["cancel_buy_amount"]), total)
    out[:, f["cancel_ratio_sell"]] = ratio(row_sum(x["cancel_sell_amount"]), total)
    out[:, f["xlarge_count_imb"]] = ratio(bcx - scx, bcx + scx)
    out[~np.isfinite(out)] = np.nan
    return out
