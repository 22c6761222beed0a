"""The 22 `ms` daily features from 1-minute bars (SPEC §1, §3 [D]).

The report (section 3.1) feeds a GRU with 22 daily features computed from minute bars without
naming them; SPEC §3 fixes the list. Each feature is one number per stock-day computed from
that day's 240 minute bars. Inputs are dense float arrays [S, 240] (one row per stock-day,
column j = minute j of the contract, NaN where the minute has no bar), so every formula is a
row-wise numpy reduction and missing minutes are simply left out.

Conventions shared by all formulas (fixed here, see `ms_features`):
- minute log return r_j = ln(close_j / previous close), where the previous close is the last
  earlier minute that has a bar, and for the first bar of the day it is that bar's own open;
  so Σ r_j = ln(last close / first open) even with missing minutes;
- windows: first30 = minutes 0..29, last30 = minutes 210..239, mid = minutes 30..209;
- a statistic whose denominator is zero or undefined (no bars, zero volume, high == low,
  constant series) is NaN, never ±inf.

The row-wise helpers (`minute_returns`, `row_sum`, `row_mean`, `row_std`, `row_corr`,
`ratio`) are shared with `repro.features.l2`.
"""
from __future__ import annotations

import numpy as np

MINUTES = 240
FIRST30 = slice(0, 30)
MID = slice(30, 210)
LAST30 = slice(210, 240)

MS_FEATURES = [
    "ret_first30",
    "ret_last30",
    "ret_mid",
    "rvol",
    "rskew",
    "rkurt",
    "up_var_share",
    "vol_first30_share",
    "vol_last30_share",
    "vol_hhi",
    "apb",
    "arpp",
    "corr_price_volume",
    "corr_ret_volume",
    "jump",
    "mild",
    "max_drawdown",
    "vwap_dev",
    "amihud_intraday",
    "vol_cv",
    "efficiency",
    "ret_high_volume",
]

# Jump threshold (SPEC §3): |r − median| ≥ 1.96 × 1.4826 × MAD, MAD scaled to a normal std.
JUMP_Z = 1.96 * 1.4826
# amihud_intraday is |return| per million CNY traded, so typical values are O(1e-3), not 1e-9.
AMIHUD_SCALE = 1e6
# ret_high_volume: the top fifth of a day's minutes by volume.
HIGH_VOLUME_SHARE = 5  # k = ceil(n / 5)


def ratio(num, den):
    """num / den elementwise, NaN where den is zero or either side is not finite."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    ok = np.isfinite(num) & np.isfinite(den) & (den != 0)
    out = np.full(np.broadcast(num, den).shape, np.nan)
    np.divide(num, den, out=out, where=ok)
    return out


def row_sum(x, mask=None):
    """Sum over minutes of the finite entries (and `mask`), NaN for a row with none."""
    ok = np.isfinite(x) if mask is None else np.isfinite(x) & mask
    s = np.where(ok, x, 0.0).sum(axis=1)
    return np.where(ok.any(axis=1), s, np.nan)


def row_mean(x, mask=None):
    """Mean over minutes of the finite entries (and `mask`), NaN for a row with none."""
    ok = np.isfinite(x) if mask is None else np.isfinite(x) & mask
    return ratio(np.where(ok, x, 0.0).sum(axis=1), ok.sum(axis=1))


def row_std(x, mask=None):
    """Population standard deviation (ddof 0) over the finite entries, NaN for no entries."""
    ok = np.isfinite(x) if mask is None else np.isfinite(x) & mask
    n = ok.sum(axis=1)
    mean = ratio(np.where(ok, x, 0.0).sum(axis=1), n)
    dev = np.where(ok, x - mean[:, None], 0.0)
    return np.sqrt(ratio((dev * dev).sum(axis=1), n))


def row_corr(x, y):
    """Pearson correlation of x_j and y_j over the minutes where both are finite.

    NaN with fewer than two such minutes or when either series is constant there. Constant
    means a sum of squared deviations below n·(1e-12·mean)²: the rounding residue of a mean
    of equal values, far below any real price, volume or return variation.
    """
    ok = np.isfinite(x) & np.isfinite(y)
    n = ok.sum(axis=1)
    x0 = np.where(ok, x, 0.0)
    y0 = np.where(ok, y, 0.0)
    mx = ratio(x0.sum(axis=1), n)
    my = ratio(y0.sum(axis=1), n)
    dx = np.where(ok, x0 - mx[:, None], 0.0)
    dy = np.where(ok, y0 - my[:, None], 0.0)
    sxy = (dx * dy).sum(axis=1)
    sxx = (dx * dx).sum(axis=1)
    syy = (dy * dy).sum(axis=1)
    varying = (sxx > n * (1e-12 * mx) ** 2) & (syy > n * (1e-12 * my) ** 2) & (sxx > 0) & (syy > 0)
    corr = ratio(sxy, np.sqrt(np.where(varying, sxx * syy, 0.0)))
    return np.where(varying & (n >= 2), np.clip(corr, -1.0, 1.0), np.nan)


def row_median(x):
    """Median over the finite entries of each row, NaN for a row with none."""
    s = np.sort(np.where(np.isfinite(x), x, np.nan), axis=1)  # NaN sort to the end
    n = np.isfinite(x).sum(axis=1)
    lo = np.take_along_axis(s, np.maximum((n - 1) // 2, 0)[:, None], axis=1)[:, 0]
    hi = np.take_along_axis(s, np.maximum(n // 2, 0)[:, None], axis=1)[:, 0]
    return np.where(n > 0, 0.5 * (lo + hi), np.nan)


def last_valid(x):
    """The last finite entry of each row (e.g. the day's close), NaN for a row with none."""
    ok = np.isfinite(x)
    pos = x.shape[1] - 1 - np.argmax(ok[:, ::-1], axis=1)
    return np.where(ok.any(axis=1), np.take_along_axis(x, pos[:, None], axis=1)[:, 0], np.nan)


def minute_returns(open_, close):
    """Minute log returns and the reference price of each minute, both [S, M].

    prev_j = close of the last earlier minute with a bar, or open_j for the day's first bar;
    r_j = ln(close_j / prev_j), NaN where there is no bar or a non-positive price. Passing an
    all-NaN `open_` drops the first bar's return (what `l2` does: its rows carry no open).
    """
    close = np.asarray(close, dtype=np.float64)
    s, m = close.shape
    ok = np.isfinite(close) & (close > 0)
    last = np.maximum.accumulate(np.where(ok, np.arange(m), -1), axis=1)
    before = np.concatenate([np.full((s, 1), -1), last[:, :-1]], axis=1)
    prev_close = np.take_along_axis(close, np.maximum(before, 0), axis=1)
    prev = np.where(before >= 0, prev_close, open_)
    prev = np.where(ok, prev, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.log(ratio(close, prev))
    r[~np.isfinite(r)] = np.nan
    return r, prev


def ms_features(open_, high, low, close, volume, amount) -> np.ndarray:
    """The 22 `ms` features (SPEC §3, order of MS_FEATURES), float64 [S, 22].

    Inputs: float arrays [S, 240] of one day's minute bars per row (raw prices, shares, CNY),
    NaN where a minute has no bar. Conventions (SPEC leaves them open; fixed here):

    - r_j as in `minute_returns`; n = number of minutes with a return; RV = Σ r_j².
    - ret_first30 / ret_mid / ret_last30: Σ r_j over minutes 0..29 / 30..209 / 210..239 (log
      returns; the three add up to ln(last close / first open)).
    - rvol = √RV (daily, not annualised).
    - rskew = √n Σ r³ / RV^{3/2}, rkurt = n Σ r⁴ / RV² — realised moments about zero
      (Amaya et al. 2015, the usual high-frequency skew / kurtosis factors); rkurt is NOT
      excess kurtosis (≈ 3 for normal returns). NaN when RV = 0.
    - up_var_share = Σ_{r>0} r² / RV.
    - vol_first30_share / vol_last30_share = volume of minutes 0..29 / 210..239 over the
      day's volume V; vol_hhi = Σ (v_j / V)². NaN when V = 0.
    - apb = ln(mean_j vwap_j / (Σ amount / Σ volume)), vwap_j = amount_j / volume_j over the
      minutes with volume > 0 (equal-weight vs volume-weighted mean of minute vwaps).
    - arpp = (TWAP − low) / (high − low): TWAP = mean of minute closes, high / low = the day's
      max minute high / min minute low; NaN when high == low.
    - corr_price_volume = Pearson(close_j, v_j); corr_ret_volume = Pearson(r_j, v_j).
    - jump = Σ r_j over minutes with |r_j − med| ≥ 1.96 · 1.4826 · MAD (med, MAD of the day's
      r_j) and |r_j − med| > 0 (so a day whose MAD is 0 — most minutes unchanged at the tick
      — counts only the moving minutes as jumps); mild = Σ of the other r_j; jump + mild =
      Σ r_j.
    - max_drawdown = max_j (1 − close_j / max(first open, close_0..j)) ≥ 0, a fraction.
    - vwap_dev = last close / (Σ amount / Σ volume) − 1.
    - amihud_intraday = mean_j |r_j| / (amount_j / 1e6) over minutes with amount > 0
      (|log return| per million CNY).
    - vol_cv = std / mean of the minute volumes (population std, bars present only).
    - efficiency = (last close − first open) / Σ |close_j − prev_j| (prices, `minute_returns`).
    - ret_high_volume = Σ r_j over the k = ⌈n/5⌉ minutes with the largest volume among those
      with a return and a volume (ties: earlier minute first); NaN on a day without volume.
    """
    o, h, lo, c, v, a = (np.asarray(x, dtype=np.float64) for x in (open_, high, low, close, volume, amount))
    if c.ndim != 2 or c.shape[1] != MINUTES:
        raise ValueError(f"ms_features expects [S, {MINUTES}] minute arrays, got {c.shape}")
    s = c.shape[0]
    r, prev = minute_returns(o, c)
    has_r = np.isfinite(r)
    n = has_r.sum(axis=1)
    r0 = np.where(has_r, r, 0.0)
    r2 = r0 * r0
    rv = np.where(n > 0, r2.sum(axis=1), np.nan)
    rv_pos = np.where(rv > 0, rv, np.nan)

    v_ok = np.isfinite(v)
    v0 = np.where(v_ok, v, 0.0)
    vol_total = np.where(v_ok.any(axis=1), v0.sum(axis=1), np.nan)
    traded = v_ok & (v > 0) & np.isfinite(a)
    vwap_day = ratio(np.where(traded, a, 0.0).sum(axis=1), np.where(traded, v, 0.0).sum(axis=1))
    vwap_min = np.where(traded, ratio(a, v), np.nan)

    first_open = np.take_along_axis(prev, np.argmax(has_r, axis=1)[:, None], axis=1)[:, 0]
    first_open = np.where(n > 0, first_open, np.nan)
    close_last = last_valid(np.where(has_r, c, np.nan))

    med = row_median(r)
    dev = np.abs(r - med[:, None])
    mad = row_median(dev)
    is_jump = has_r & (dev >= JUMP_Z * mad[:, None]) & (dev > 0)

    peak = np.fmax(np.fmax.accumulate(np.where(has_r, c, np.nan), axis=1), first_open[:, None])
    drawdown = np.where(has_r, 1.0 - c / peak, np.nan)

    # Top k minutes by volume without an argsort: the k-th largest volume is the threshold;
    # minutes above it are in, and ties at it are taken earliest first until k are in.
    ranked = has_r & v_ok
    k = (ranked.sum(axis=1) + HIGH_VOLUME_SHARE - 1) // HIGH_VOLUME_SHARE
    desc = -np.sort(np.where(ranked, -v, np.inf), axis=1)
    kth = np.take_along_axis(desc, np.maximum(k - 1, 0)[:, None], axis=1)
    above = ranked & (v > kth)
    tie = ranked & (v == kth)
    top = above | (tie & (np.cumsum(tie, axis=1) <= (k - above.sum(axis=1))[:, None]))

    out = np.full((s, len(MS_FEATURES)), np.nan)
    f = {name: i for i, name in enumerate(MS_FEATURES)}
    out[:, f["ret_first30"]] = row_sum(r[:, FIRST30])
    out[:, f["ret_last30"]] = row_sum(r[:, LAST30])
    out[:, f["ret_mid"]] = row_sum(r[:, MID])
    out[:, f["rvol"]] = np.sqrt(rv)
    out[:, f["rskew"]] = np.sqrt(n) * (r2 * r0).sum(axis=1) / rv_pos**1.5
    out[:, f["rkurt"]] = n * (r2 * r2).sum(axis=1) / rv_pos**2
    out[:, f["up_var_share"]] = np.where(r0 > 0, r2, 0.0).sum(axis=1) / rv_pos
    out[:, f["vol_first30_share"]] = ratio(v0[:, FIRST30].sum(axis=1), vol_total)
    out[:, f["vol_last30_share"]] = ratio(v0[:, LAST30].sum(axis=1), vol_total)
    out[:, f["vol_hhi"]] = ratio((v0 * v0).sum(axis=1), vol_total * vol_total)
    with np.errstate(invalid="ignore", divide="ignore"):
        out[:, f["apb"]] = np.log(ratio(row_mean(vwap_min), vwap_day))
    day_high = np.fmax.reduce(h, axis=1)
    day_low = np.fmin.reduce(lo, axis=1)
    range_ = np.where(day_high > day_low, day_high - day_low, np.nan)
    out[:, f["arpp"]] = ratio(row_mean(c) - day_low, range_)
    out[:, f["corr_price_volume"]] = row_corr(c, v)
    out[:, f["corr_ret_volume"]] = row_corr(r, v)
    out[:, f["jump"]] = np.where(n > 0, np.where(is_jump, r0, 0.0).sum(axis=1), np.nan)
    out[:, f["mild"]] = np.where(n > 0, np.where(is_jump, 0.0, r0).sum(axis=1), np.nan)
    out[:, f["max_drawdown"]] = np.fmax.reduce(drawdown, axis=1)
    out[:, f["vwap_dev"]] = ratio(close_last, vwap_day) - 1.0
    out[:, f["amihud_intraday"]] = row_mean(ratio(np.abs(r), a / AMIHUD_SCALE), np.isfinite(a) & (a > 0))
    mean_v = row_mean(v)
    out[:, f["vol_cv"]] = ratio(row_std(v), np.where(mean_v > 0, mean_v, np.nan))
    moves = np.where(has_r, np.abs(c - prev), 0.0).sum(axis=1)
    out[:, f["efficiency"]] = ratio(close_last - first_open, np.where(moves > 0, moves, np.nan))
    high_volume = np.where(top, r0, 0.0).sum(axis=1)
    out[:, f["ret_high_volume"]] = np.where((k > 0) & (vol_total > 0), high_volume, np.nan)
    out[~np.isfinite(out)] = np.nan
    return out
