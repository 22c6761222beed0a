"""Daily bars of the synthetic market before the intraday pass (SPEC §1).

Log returns = beta * market + industry + size exposure * size factor + fat-tailed idiosyncratic
noise (daily vol about 2-3%) + the planted drift (`repro.synth.signals`). Raw prices follow the
A-share rules: ex-dividend / bonus-share days reset the reference price (the adjusted price
stays continuous through `adj_factor`), limits come from `contract.limit_prices` on the
reference price, closes and opens are clipped to them, suspended days repeat the previous
close. The day latent shows only here: long lower shadows and higher turnover when it is high.

The intraday pass (`repro.synth.intraday`) later fills vwap, volume and amount from the minute
bars, so the daily and minute files agree exactly.
"""
from __future__ import annotations

import numpy as np

from ..contract import limit_prices
from .universe import STAR_OPEN

CHINEXT_20 = np.datetime64("2020-08-24")
MARKET_VOL, INDUSTRY_VOL, SIZE_VOL = 0.012, 0.007, 0.004
IDIO_VOL = 0.019  # median idiosyncratic daily vol
T_DOF = 4  # Student-t tails of the idiosyncratic noise
SUSPEND_START, SUSPEND_MEAN_DAYS = 0.01, 3.0  # about 2-3% of stock-days suspended
ST_SHARE, ST_DAYS = 0.05, (60, 300)
DIVIDEND_SHARE, BONUS_SHARE = 0.6, 0.12  # per stock and year
# std of the daily observation noise around tanh(latent); at 1.0 the demo GRU recovered only
# ~30% of the day oracle's RankIC (ms, l2: ~70-80%), so the day reading is made as clear as theirs.
DAY_SIGNAL_NOISE = 0.5
SHADOW_GAIN, TURNOVER_GAIN = 0.6, 0.15


def limit_ratios(board: np.ndarray, date, is_st: np.ndarray) -> np.ndarray:
    """`contract.limit_ratio` for one date and every stock (vectorised)."""
    d = np.datetime64(date, "D")
    wide = ((board == "star") & (d >= STAR_OPEN)) | ((board == "chinext") & (d >= CHINEXT_20))
    return np.where(wide, 0.20, np.where(is_st, 0.05, 0.10))


def simulate_daily(rng: np.random.Generator, dates: np.ndarray, uni, latents: dict, drift: np.ndarray) -> dict:
    """All daily fields as float64 / bool [D, N], plus float_shares [D, N] and sigma [N].

    vwap, amount and turnover stay NaN and volume holds the target volume in shares until the
    intraday pass (`generate_market` with `repro.synth.intraday`) replaces them with the sums
    over the minute bars."""
    n_days, n = uni.listed.shape
    listed = uni.listed
    board = uni.board

    # Per-stock characteristics.
    price0 = np.clip(np.exp(rng.normal(np.log(12.0), 0.7, n)), 2.0, 300.0)
    cap0 = np.clip(np.exp(rng.normal(np.log(1.2e10), 1.0, n)), 1.5e9, 2e12)
    total_shares = cap0 / price0
    float_shares = total_shares * rng.uniform(0.3, 1.0, n)
    beta = rng.normal(1.0, 0.25, n)
    sigma = np.exp(rng.normal(np.log(IDIO_VOL), 0.25, n)) * np.where(board == "main", 1.0, 1.2)
    size_z = -(np.log(cap0) - np.log(cap0).mean()) / np.log(cap0).std()  # small caps load positively
    turnover_base = rng.normal(np.log(0.012), 0.5, n)

    # Log returns.
    market = rng.normal(0.0002, MARKET_VOL, n_days)
    ind = rng.normal(0.0, INDUSTRY_VOL, (n_days, len(uni.industry_names)))
    size = rng.normal(0.0, SIZE_VOL, n_days)
    idio = rng.standard_t(T_DOF, (n_days, n)) / np.sqrt(T_DOF / (T_DOF - 2))
    ret = (beta[None, :] * market[:, None] + np.take_along_axis(ind, uni.industry.astype(np.intp), axis=1)
           + size_z[None, :] * size[:, None] + sigma[None, :] * idio + drift)
    overnight = 0.25 * ret + rng.normal(0.0, 0.004, (n_days, n))

    # Day-latent observations: shadow asymmetry and abnormal turnover.
    obs = np.tanh(1.2 * latents["day"])
    shadow_tilt = SHADOW_GAIN * (obs + DAY_SIGNAL_NOISE * rng.standard_normal((n_days, n)))
    upper_len = np.exp(rng.normal(-0.5, 0.5, (n_days, n)) - 0.5 * shadow_tilt) * sigma * 0.8
    lower_len = np.exp(rng.normal(-0.5, 0.5, (n_days, n)) + 0.5 * shadow_tilt) * sigma * 0.8
    turnover_noise = _ar1(rng, n_days, n, 0.7, 0.35)
    turnover_obs = TURNOVER_GAIN * (obs + DAY_SIGNAL_NOISE * rng.standard_normal((n_days, n)))

    is_st = _st_mask(rng, dates, uni)
    first_day = np.r_[[True], np.zeros(n_days - 1, bool)][:, None] | (dates[:, None] == uni.list_date[None, :])
    is_suspended = _suspension_mask(rng, n_days, n) & listed & ~first_day
    div_yield, bonus = _corporate_actions(rng, dates, n)
    event = (div_yield > 0) & listed & ~is_suspended & ~first_day

    f = {k: np.full((n_days, n), np.nan) for k in
         ("open", "high", "low", "close", "vwap", "volume", "amount", "adj_factor", "turnover",
          "mcap", "limit_up", "limit_down", "float_shares")}
    f["is_st"], f["is_suspended"] = is_st, is_suspended
    prev = price0.copy()
    adj = np.where(uni.list_date < dates[0], np.exp(rng.uniform(0.0, 1.0, n)), 1.0)
    for t in range(n_days):
        on = listed[t]
        ref = np.where(event[t], np.maximum(np.round(prev * (1 - div_yield[t]) / (1 + bonus[t]), 2), 0.01), prev)
        adj = np.where(event[t], adj * prev / ref, adj)
        grow = np.where(event[t], 1 + bonus[t], 1.0)
        float_shares, total_shares = float_shares * grow, total_shares * grow
        up, down = limit_prices(ref, limit_ratios(board, dates[t], is_st[t]))
        close = np.clip(np.round(ref * np.exp(ret[t]), 2), down, up)
        open_ = np.clip(np.round(ref * np.exp(overnight[t]), 2), down, up)
        top, bottom = np.maximum(open_, close), np.minimum(open_, close)
        high = np.clip(np.round(top + ref * upper_len[t], 2), top, up)
        low = np.clip(np.round(bottom - ref * lower_len[t], 2), down, bottom)
        log_to = turnover_base + turnover_noise[t] + 8.0 * np.abs(ret[t]) + turnover_obs[t]
        volume = np.maximum(np.round(np.exp(log_to) * float_shares / 100), 1) * 100
        susp = is_suspended[t]
        for name, value in (("open", open_), ("high", high), ("low", low), ("close", close)):
            f[name][t] = np.where(on, np.where(susp, ref, value), np.nan)
        f["volume"][t] = np.where(on, np.where(susp, 0.0, volume), np.nan)
        f["vwap"][t] = np.where(on & susp, ref, np.nan)  # trading days: filled from the minute bars
        f["amount"][t] = np.where(on & susp, 0.0, np.nan)
        f["limit_up"][t] = np.where(on, up, np.nan)
        f["limit_down"][t] = np.where(on, down, np.nan)
        f["adj_factor"][t] = np.where(on, adj, np.nan)
        f["mcap"][t] = np.where(on, total_shares * f["close"][t], np.nan)
        f["float_shares"][t] = np.where(on, float_shares, np.nan)
        prev = np.where(on, f["close"][t], prev)
    f["sigma"] = sigma
    return f


def _ar1(rng, n_days, n, rho, std):
    x = np.empty((n_days, n))
    x[0] = rng.normal(0, std, n)
    innov = rng.normal(0, std * np.sqrt(1 - rho * rho), (n_days, n))
    for t in range(1, n_days):
        x[t] = rho * x[t - 1] + innov[t]
    return x


def _runs(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """bool [D, N]: True from each start (bool [D, N]) for `lengths` [D, N] days."""
    n_days = starts.shape[0]
    end = np.where(starts, np.arange(n_days)[:, None] + lengths, -1)
    return np.arange(n_days)[:, None] < np.maximum.accumulate(end, axis=0)


def _suspension_mask(rng, n_days, n):
    starts = rng.random((n_days, n)) < SUSPEND_START
    lengths = rng.geometric(1 / SUSPEND_MEAN_DAYS, (n_days, n))
    return _runs(starts, lengths)


def _st_mask(rng, dates, uni):
    """ST periods for a few stocks, and the last 120 trading days of every delisted stock."""
    n_days, n = uni.listed.shape
    starts = np.zeros((n_days, n), bool)
    who = rng.random(n) < ST_SHARE
    starts[rng.integers(0, n_days, n)[who], np.flatnonzero(who)] = True
    lengths = np.broadcast_to(rng.integers(*ST_DAYS, n), (n_days, n))
    st = _runs(starts, lengths)
    delisting = ~np.isnat(uni.delist_date)
    last = np.searchsorted(dates, uni.delist_date[delisting])
    pre = np.arange(n_days)[:, None] >= (last - 120)[None, :]
    st[:, delisting] |= pre
    return st & uni.listed


def _corporate_actions(rng, dates, n):
    """Cash dividend yield and bonus-share ratio per stock-day (one event per stock and year,
    between June and mid-August, for DIVIDEND_SHARE of the stocks)."""
    n_days = len(dates)
    div_yield, bonus = np.zeros((n_days, n)), np.zeros((n_days, n))
    years = dates.astype("datetime64[Y]")
    for year in np.unique(years):
        window = np.flatnonzero((dates >= year + np.timedelta64(151, "D")) & (dates < year + np.timedelta64(226, "D")))
        if len(window) == 0:
            continue
        who = np.flatnonzero(rng.random(n) < DIVIDEND_SHARE)
        day = rng.choice(window, size=len(who))
        div_yield[day, who] = rng.uniform(0.003, 0.03, len(who))
        has_bonus = rng.random(len(who)) < BONUS_SHARE
        bonus[day, who] = np.where(has_bonus, rng.choice([0.2, 0.3, 0.5, 1.0], len(who)), 0.0)
    return div_yield, bonus
