"""Minute bars and Level-2 minute aggregates for one trading day (SPEC §1, §3).

Minute bars are built to agree exactly with the daily bar: the close path runs from the open
to the close, its excursions are rescaled to touch the day's high and low, the first minute
opens at the daily open, and minute volumes (whole lots) sum to the daily volume; the daily
vwap / volume / amount are then the sums over the minutes. Intraday volume is U-shaped.

Planted observations (`repro.synth.signals`):
- ms: the return of the last 30 minutes and their share of volume rise with tanh(L_ms); the
  daily bar cannot show it, since the open, close, high and low are fixed beforehand;
- l2: large / xlarge orders buy on net (small orders sell) and bid depth outweighs ask depth
  when tanh(L_l2) is high; the minute bars cannot show it.
Each observation carries day-level noise, so a window of days reads the latent better.
"""
from __future__ import annotations

import numpy as np

from ..contract import L2_SIZES, MINUTES_PER_DAY

M = MINUTES_PER_DAY
LAST = 30  # minutes of the closing window that carries the ms signal
MS_RET_GAIN, MS_VOL_GAIN, MS_NOISE = 0.35, 0.25, 1.0
L2_FLOW_GAIN, L2_DEPTH_GAIN, L2_NOISE = 0.35, 0.35, 1.0
SIZE_FLOW = {"small": -0.5, "medium": 0.0, "large": 1.0, "xlarge": 1.2}  # who trades with the latent
SIZE_LOGIT = {"small": 0.2, "medium": 0.0, "large": -0.4, "xlarge": -0.8}

_j = np.arange(M)
_PRICE_PROFILE = 1.0 + 1.5 * np.exp(-_j / 15) + 0.6 * np.exp(-(M - 1 - _j) / 15)
_PRICE_PROFILE /= np.sqrt((_PRICE_PROFILE ** 2).sum())  # unit daily variance
_VOLUME_PROFILE = 1.0 + 2.5 * np.exp(-_j / 12) + 1.2 * np.exp(-(M - 1 - _j) / 10)


def simulate_day(rng: np.random.Generator, bar: dict) -> tuple[dict, dict, dict]:
    """Minute and L2 columns for the stocks trading today, rows ordered (stock, minute).

    `bar` holds float64 [n] arrays for the trading stocks: open, high, low, close, limit_up,
    limit_down, volume (shares, whole lots), sigma, mcap, lat_ms, lat_l2. Returns
    (minute columns, l2 columns, daily sums: volume, amount, vwap), all [n * 240] float32
    except the daily sums ([n] float64).
    """
    o, h, lo, c = bar["open"], bar["high"], bar["low"], bar["close"]
    n = len(o)
    sigma = bar["sigma"][:, None]

    # ms observation: planted last-30-minute return and volume tilt.
    ms_obs = np.tanh(1.2 * bar["lat_ms"])
    delta = MS_RET_GAIN * bar["sigma"] * (ms_obs + MS_NOISE * rng.standard_normal(n))
    vol_tilt = MS_VOL_GAIN * (ms_obs + MS_NOISE * rng.standard_normal(n))

    # Close path in log price relative to the open: bridge to (log C/O - delta) at minute 209,
    # then to log C/O at minute 239.
    z = rng.standard_normal((n, M))
    steps = sigma * _PRICE_PROFILE * z
    end = np.log(c / o)
    cut = M - LAST
    s1 = np.cumsum(steps[:, :cut], axis=1)
    x1 = s1 - (_j[:cut] + 1) / cut * (s1[:, -1:] - (end - delta)[:, None])
    s2 = np.cumsum(steps[:, cut:], axis=1)
    x2 = x1[:, -1:] + s2 - (_j[:LAST] + 1) / LAST * (s2[:, -1:] - delta[:, None])
    x = np.concatenate([x1, x2], axis=1)
    x = _fit_range(x, end, np.log(h / o), np.log(lo / o))

    close = np.clip(np.round(o[:, None] * np.exp(x), 2), lo[:, None], h[:, None])
    close[:, -1] = c
    open_ = np.concatenate([o[:, None], close[:, :-1]], axis=1)
    top, bottom = np.maximum(open_, close), np.minimum(open_, close)
    wiggle = sigma * _PRICE_PROFILE * 0.3
    high = np.clip(np.round(top * (1 + wiggle * np.abs(rng.standard_normal((n, M)))), 2), top, h[:, None])
    low = np.clip(np.round(bottom * (1 - wiggle * np.abs(rng.standard_normal((n, M)))), 2), lo[:, None], bottom)
    rows = np.arange(n)
    high[rows, np.argmax(top, axis=1)] = h  # the day's extremes are hit by some minute
    low[rows, np.argmin(bottom, axis=1)] = lo

    # Volume: U-shape x noise x |move|, closing window tilted by the ms observation; whole lots.
    weight = _VOLUME_PROFILE * np.exp(rng.normal(0.0, 0.45, (n, M))) * (1 + 0.5 * np.abs(z))
    weight[:, cut:] *= np.exp(vol_tilt)[:, None]
    share = weight / weight.sum(axis=1, keepdims=True)
    lots_day = np.round(bar["volume"] / 100)
    lots = np.floor(share * lots_day[:, None])
    lots[rows, np.argmax(share, axis=1)] += lots_day - lots.sum(axis=1)
    volume = (lots * 100).astype(np.float32)
    typical = (open_ + high + low + close) / 4
    amount = (volume * typical).astype(np.float32)

    minute = {"open": open_, "high": high, "low": low, "close": close, "volume": volume, "amount": amount}
    minute = {k: v.astype(np.float32).ravel() for k, v in minute.items()}
    day_volume = volume.astype(np.float64).sum(axis=1)
    day_amount = amount.astype(np.float64).sum(axis=1)
    daily = {"volume": day_volume, "amount": day_amount, "vwap": day_amount / day_volume}

    follow = np.tanh(np.log(close / open_) / (sigma * _PRICE_PROFILE))  # active buying follows price
    l2 = _level2(rng, bar, amount, volume, close, follow)
    return minute, l2, daily


def _fit_range(x: np.ndarray, end: np.ndarray, hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
    """Rescale the path's excursions above max(0, end) / below min(0, end) to reach hi / lo."""
    top, bottom = np.maximum(0.0, end)[:, None], np.minimum(0.0, end)[:, None]
    peak, trough = x.max(axis=1, keepdims=True), x.min(axis=1, keepdims=True)
    up_scale = np.divide(hi[:, None] - top, peak - top, out=np.zeros_like(peak), where=peak > top)
    down_scale = np.divide(bottom - lo[:, None], bottom - trough, out=np.zeros_like(trough), where=trough < bottom)
    x = np.where(x > top, top + (x - top) * up_scale, x)
    return np.where(x < bottom, bottom - (bottom - x) * down_scale, x)


def _level2(rng, bar, amount, volume, close, follow) -> dict:
    """From the float32 minute amount and volume [n, 240]: active buy / sell amount by order size, trade counts, best quotes, depth and cancels."""
    n = amount.shape[0]
    f32 = np.float32
    noise = rng.standard_normal((13, n, M), dtype=f32)  # one draw for every per-minute noise
    uniform = rng.random((4, n, M), dtype=f32)
    lat = np.tanh(1.2 * bar["lat_l2"])
    flow = (L2_FLOW_GAIN * (lat + L2_NOISE * rng.standard_normal(n)))[:, None].astype(f32)
    depth_tilt = (L2_DEPTH_GAIN * (lat + L2_NOISE * rng.standard_normal(n)))[:, None].astype(f32)
    cap_z = np.clip(np.log(bar["mcap"]) - np.log(1.2e10), -2, 2)[:, None].astype(f32)
    follow = follow.astype(f32)

    share = np.exp(np.stack([SIZE_LOGIT[s] + (0.3 * cap_z if s in ("large", "xlarge") else f32(0))
                             + f32(0.3) * noise[k] for k, s in enumerate(L2_SIZES)]))
    share /= share.sum(axis=0)
    out = {}
    for k, s in enumerate(L2_SIZES):
        buy_frac = 1 / (1 + np.exp(-(f32(0.4) * follow + f32(SIZE_FLOW[s]) * flow + f32(0.5) * noise[4 + k])))
        part = amount * share[k]
        out[f"buy_amount_{s}"] = part * buy_frac
        out[f"sell_amount_{s}"] = part - out[f"buy_amount_{s}"]

    per_stock = rng.standard_normal((2, n, 1)).astype(f32)
    xl_size = f32(8e5) * np.exp(f32(0.3) * per_stock[0])
    out["buy_count_xlarge"] = np.floor(out["buy_amount_xlarge"] / xl_size + uniform[0])
    out["sell_count_xlarge"] = np.floor(out["sell_amount_xlarge"] / xl_size + uniform[1])
    trade_size = f32(2.5e4) * np.exp(f32(0.15) * cap_z + f32(0.2) * per_stock[1])
    out["trade_count"] = (np.round(amount / trade_size) + out["buy_count_xlarge"] + out["sell_count_xlarge"]
                          + (volume > 0))

    # Best quotes around the minute close: the close sits at the ask after net buying; the
    # spread is 1 tick plus an exponential number of ticks, wider for dearer stocks.
    ticks = 1 + np.floor(-np.log1p(-uniform[2]) * np.clip(close / 30, 0.05, 3.0))
    buy_total = sum(out[f"buy_amount_{s}"] for s in L2_SIZES)
    at_ask = uniform[3] * amount < buy_total
    up, down = bar["limit_up"][:, None], bar["limit_down"][:, None]
    ask = np.round(np.where(at_ask, close, close + 0.01 * ticks), 2)
    bid = np.round(np.where(at_ask, close - 0.01 * ticks, close), 2)
    ask = np.minimum(ask, up)
    bid = np.maximum(np.minimum(bid, np.round(ask - 0.01, 2)), down)
    ask = np.maximum(ask, np.round(bid + 0.01, 2))
    out["bid1"], out["ask1"] = bid, ask

    depth = np.round(bar["volume"][:, None].astype(f32) / M * np.exp(f32(1.6) + f32(0.3) * noise[9]) / 100) * 100 + 100
    imb = np.tanh(depth_tilt + f32(0.4) * noise[10])
    out["bid_depth"] = np.round(depth * (1 + imb) / 200) * 100
    out["ask_depth"] = np.round(depth * (1 - imb) / 200) * 100
    cancel = amount * np.exp(f32(-0.2) + f32(0.5) * noise[8])
    out["cancel_buy_amount"] = cancel * np.exp(f32(-0.2) * flow + f32(0.3) * noise[11])
    out["cancel_sell_amount"] = cancel * np.exp(f32(0.2) * flow + f32(0.3) * noise[12])
    return {k: v.astype(np.float32, copy=False).ravel() for k, v in out.items()}
