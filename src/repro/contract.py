"""The input data contract: file names, columns, dtypes and units (docs/data.md explains them).

One set of readers serves the synthetic market and real data: `repro synth` writes exactly
these files, and `repro check-data` validates any folder against them.

Folder layout under `data.path` (source `parquet`; the synthetic market uses the same)::

    calendar.parquet                 trading days
    stocks.parquet                   one row per stock: listing, delisting, board
    industry.parquet                 point-in-time industry classification
    daily/{YYYY}.parquet             daily bars, one file per calendar year
    minute/{YYYY}/{YYYYMM}.parquet   1-minute bars, one file per month (read piece by piece)
    l2/{YYYY}/{YYYYMM}.parquet       Level-2 aggregates per stock-minute, one file per month
    index_weights.parquet            csi300 / csi500 / csi1000 constituent weights
    oracle.parquet                   synthetic market only: the planted factors

Prices in `daily`, `minute` and `l2` are raw (unadjusted) CNY; the adjusted price is
`price * adj_factor` (backward adjustment, Wind convention). Limit prices are raw.
"""
from __future__ import annotations

import numpy as np

from .vocabulary import INDICES

# Each table: column -> (dtype family, unit / meaning). dtype families: "date", "str",
# "int", "float", "bool". Readers cast within a family (float32/float64 both pass "float").
CALENDAR = {"date": ("date", "trading day, ascending")}

STOCKS = {
    "code": ("str", "stock code, e.g. 600000.SH"),
    "list_date": ("date", "first trading day"),
    "delist_date": ("date", "last trading day; null while listed"),
    "board": ("str", "main | chinext | star (sets the price-limit rule)"),
}

INDUSTRY = {
    "code": ("str", "stock code"),
    "start_date": ("date", "first day the classification holds"),
    "end_date": ("date", "last day it holds; null = still holds"),
    "industry": ("str", "level-1 industry name (about 30)"),
}

DAILY = {
    "date": ("date", "trading day"),
    "code": ("str", "stock code"),
    "open": ("float", "raw CNY"),
    "high": ("float", "raw CNY"),
    "low": ("float", "raw CNY"),
    "close": ("float", "raw CNY"),
    "vwap": ("float", "raw CNY, amount / volume"),
    "volume": ("float", "shares"),
    "amount": ("float", "CNY"),
    "adj_factor": ("float", "adjusted price = raw price * adj_factor"),
    "turnover": ("float", "volume / float shares (fraction)"),
    "mcap": ("float", "total market cap, CNY"),
    "is_st": ("bool", "ST or *ST on that day"),
    "is_suspended": ("bool", "no trading that day (prices = previous close, volume 0)"),
    "limit_up": ("float", "raw CNY, limit-up price of the day"),
    "limit_down": ("float", "raw CNY, limit-down price of the day"),
}

MINUTE = {
    "date": ("date", "trading day"),
    "code": ("str", "stock code"),
    "minute": ("int", "0..239; 0 = bar ending 09:31, 119 = 11:30, 120 = 13:01, 239 = 15:00"),
    "open": ("float", "raw CNY"),
    "high": ("float", "raw CNY"),
    "low": ("float", "raw CNY"),
    "close": ("float", "raw CNY"),
    "volume": ("float", "shares"),
    "amount": ("float", "CNY"),
}

L2_SIZES = ("small", "medium", "large", "xlarge")
L2 = {
    "date": ("date", "trading day"),
    "code": ("str", "stock code"),
    "minute": ("int", "0..239, as in minute bars"),
    **{f"buy_amount_{s}": ("float", f"active-buy amount of {s} orders, CNY") for s in L2_SIZES},
    **{f"sell_amount_{s}": ("float", f"active-sell amount of {s} orders, CNY") for s in L2_SIZES},
    "buy_count_xlarge": ("float", "number of active-buy xlarge trades"),
    "sell_count_xlarge": ("float", "number of active-sell xlarge trades"),
    "trade_count": ("float", "number of trades"),
    "bid1": ("float", "best bid at the minute's end, raw CNY"),
    "ask1": ("float", "best ask at the minute's end, raw CNY"),
    "bid_depth": ("float", "bid volume of the top 10 levels, shares"),
    "ask_depth": ("float", "ask volume of the top 10 levels, shares"),
    "cancel_buy_amount": ("float", "cancelled buy orders, CNY"),
    "cancel_sell_amount": ("float", "cancelled sell orders, CNY"),
}

INDEX_NAMES = INDICES  # the vocabulary's names, as the index_weights table spells them
INDEX_WEIGHTS = {
    "date": ("date", "effective date; holds until the next date present for that index"),
    "index": ("str", "csi300 | csi500 | csi1000"),
    "code": ("str", "constituent code"),
    "weight": ("float", "weight in the index, summing to 1 per (date, index)"),
}

ORACLE = {
    "date": ("date", "trading day"),
    "code": ("str", "stock code"),
    "oracle_day": ("float", "planted daily-bar signal"),
    "oracle_ms": ("float", "planted minute-bar signal"),
    "oracle_l2": ("float", "planted Level-2 signal"),
    "oracle": ("float", "the combined planted signal that drives future returns"),
}

MINUTES_PER_DAY = 240
BOARDS = ("main", "chinext", "star")

# table name -> (relative path or glob, schema)
TABLES = {
    "calendar": ("calendar.parquet", CALENDAR),
    "stocks": ("stocks.parquet", STOCKS),
    "industry": ("industry.parquet", INDUSTRY),
    "daily": ("daily/*.parquet", DAILY),
    "minute": ("minute/*/*.parquet", MINUTE),
    "l2": ("l2/*/*.parquet", L2),
    "index_weights": ("index_weights.parquet", INDEX_WEIGHTS),
}


def limit_ratio(board: str, date, is_st: bool) -> float:
    """Daily price-limit ratio under the A-share rules (SPEC §1).

    ±20% on STAR from its first day (2019-07-22) and on ChiNext from 2020-08-24, ST names
    included; otherwise ±5% for ST stocks and ±10% for the rest.
    """
    d = np.datetime64(date, "D")
    if board == "star" and d >= np.datetime64("2019-07-22"):
        return 0.20
    if board == "chinext" and d >= np.datetime64("2020-08-24"):
        return 0.20
    return 0.05 if is_st else 0.10


def limit_prices(prev_close, ratio):
    """Limit-up and limit-down prices: previous close × (1 ± ratio), rounded half-up to the fen.

    Works elementwise on numpy arrays.
    """
    prev_close = np.asarray(prev_close, dtype=np.float64)
    up = np.floor(prev_close * (1 + ratio) * 100 + 0.5 + 1e-7) / 100
    down = np.floor(prev_close * (1 - ratio) * 100 + 0.5 + 1e-7) / 100
    return up, down
