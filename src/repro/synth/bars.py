"""The synthetic market's daily bars in memory, without the files or the intraday pass.

`daily_market(syn_cfg)` draws the same universe, latents and daily bars as
`repro.synth.generate_market` (same seed streams) and returns a `repro.market.Market` directly,
for benchmarks and tests of daily-bar consumers (the risk model). Without the minute bars, vwap
is the bar's typical price (O+H+L+C)/4 and amount = vwap × volume; volume and turnover are the
daily pass's targets, so they differ slightly from the written files. Index weights are held
from each rebalance day, as `repro.data` reads them.
"""
from __future__ import annotations

import numpy as np

from ..market import Market
from ..vocabulary import INDICES
from .calendar import trading_days
from .daily import simulate_daily
from .signals import drift, simulate_latents
from .universe import index_weights, make_universe


def daily_market(syn_cfg: dict) -> Market:
    """Market of the synthetic config (keys seed, n_stocks, start, end, n_industries)."""
    seed, n_stocks = int(syn_cfg["seed"]), int(syn_cfg["n_stocks"])
    dates = trading_days(syn_cfg["start"], syn_cfg["end"])
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3)]
    uni = make_universe(streams[0], dates, n_stocks, int(syn_cfg["n_industries"]))
    latents = simulate_latents(streams[1], len(dates), n_stocks)
    bars = simulate_daily(streams[2], dates, uni, latents, drift(latents))
    typical = (bars["open"] + bars["high"] + bars["low"] + bars["close"]) / 4
    bars["vwap"] = np.where(np.isnan(bars["vwap"]), typical, bars["vwap"])
    bars["amount"] = np.where(np.isnan(bars["amount"]), bars["vwap"] * bars["volume"], bars["amount"])
    bars["turnover"] = bars["volume"] / bars["float_shares"]
    cols = index_weights(dates, uni.listed, bars["is_st"], bars["mcap"], uni.list_date, uni.codes)
    pos = {c: i for i, c in enumerate(uni.codes)}
    weights = {}
    for name in INDICES:
        rows = [k for k, ix in enumerate(cols["index"]) if ix == name]
        dense = np.zeros((len(dates), n_stocks))
        eff = sorted({cols["date"][k] for k in rows})
        for d in eff:
            t = int(np.searchsorted(dates, d))
            dense[t:] = 0.0
            for k in rows:
                if cols["date"][k] == d:
                    dense[t:, pos[cols["code"][k]]] = cols["weight"][k]
        weights[name] = dense
    fields = {k: bars[k] for k in ("open", "high", "low", "close", "vwap", "limit_up", "limit_down", "volume",
                                   "amount", "adj_factor", "turnover", "mcap")}
    return Market(dates=dates, codes=uni.codes, fields=fields, listed=uni.listed, is_st=bars["is_st"],
                  is_suspended=bars["is_suspended"], industry=uni.industry, industry_names=uni.industry_names,
                  index_weights=weights, board=uni.board, list_date=uni.list_date,
                  proxies={"vwap": "typical price (O+H+L+C)/4, no intraday pass"})
