"""The 15 classic comparison factors of report table 17 (SPEC §3, "Classic comparison factors").

The report names the factors; the formulas are ours [D]. Windows are `window` = 60 trading
days except apb_5d's inner 5-day ratio and arpp (5 days). All rolling statistics are
differences of cumulative sums over time, so a value dated t uses data up to t only.

Daily inputs (adjusted prices, `Market.adjusted`):
- r_t = close_t / close_{t−1} − 1 on traded days; NaN on suspended days (the contract carries a
  suspended stock's price flat, so its "return" of 0 is not an observation).
- intraday inputs from the raw `ms` panel (SPEC §3 names): rskew, rkurt, jump, mild, apb,
  vol_hhi, vol_cv; NaN where the stock did not trade.

Min-periods rule: a 60-day factor at (t, i) needs the stock listed on every day of the window
and on the day before it (`days_listed ≥ window`), and at least `min_periods` (default 40, two
thirds of the window) finite daily inputs inside the window; missing daily inputs (suspended
days) are skipped. The two window sums (jump, mom) are rescaled to a full window (window × mean
of the observed days), which equals the plain sum when no day is missing. The 5-day forms
(apb_5d's daily ratio, arpp) need all 5 days.

ivol / ivr: per stock, the OLS over the window's days of r on an intercept and three daily
factor returns built from price-volume data only:
- MKT: market-cap-weighted mean return (weights = previous day's total mcap) of traded stocks;
- SMB: equal-weighted mean return of the 30% smallest minus the 30% largest by previous mcap;
- VAL (value proxy): long-term reversal, the equal-weighted mean return of the 30% with the
  lowest minus the 30% with the highest return over the `value_lookback` (250) days ending on
  t − 1 — past long-run losers trade cheap relative to fundamentals (De Bondt & Thaler; the
  reversal loads on HML in Fama & French 1996), and no book value is in the input contract.
ivol = std (ddof = 1) of the residuals, ivr = 1 − R² = SSE / SST. The regression is solved in
closed form (Frisch–Waugh: centre within the window, invert the 3 × 3 factor covariance by its
adjugate), vectorised over stocks and days; a near-singular window gives NaN.
"""

from __future__ import annotations

import logging

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..contract import MINUTES_PER_DAY
from ..market import Market
from ..panel import Panel

log = logging.getLogger(__name__)

CLASSIC_FACTORS = [
    "ret",
    "vol",
    "lnto",
    "ivol",
    "ivr",
    "lnamihud",
    "apb_5d",
    "skew",
    "kurt",
    "jump",
    "mom",
    "apb",
    "sdvhhi",
    "sdvvol",
    "arpp",
]
MS_INPUTS = ("rskew", "rkurt", "jump", "mild", "apb", "vol_hhi", "vol_cv")
_SORT_SHARE = 0.3  # SMB / value-proxy legs: bottom and top 30%
_MIN_LEG = 2  # stocks needed in each leg for a factor return that day
_STOCK_BLOCK = 512  # stocks per block in the rolling regression (bounds memory)


def classic_factors(
    market: Market,
    ms_raw: Panel | None,
    window: int = 60,
    min_periods: int | None = None,
    short_window: int = 5,
    value_lookback: int = 250,
) -> Panel:
    """Panel [D, N, 15] of the table-17 factors, features `CLASSIC_FACTORS` (see module doc).

    `ms_raw` is the raw (unpreprocessed) `ms` panel aligned to the market; None (no minute data)
    leaves the seven factors built from it (skew, kurt, jump, mom, apb, sdvhhi, sdvvol) NaN.
    """
    if ms_raw is None:
        log.warning("classic factors: no ms panel, so skew, kurt, jump, mom, apb, sdvhhi, sdvvol are NaN")
        shape = (len(market.dates), len(market.codes))
        ms_raw = Panel(
            market.dates, market.codes, list(MS_INPUTS), np.full((*shape, len(MS_INPUTS)), np.nan, np.float32)
        )
    _check_alignment(market, ms_raw)
    min_periods = window * 2 // 3 if min_periods is None else min_periods
    if not 2 <= min_periods <= window:
        raise ValueError(f"min_periods must lie in [2, window={window}], got {min_periods}")
    listed = market.listed
    px = {
        name: np.where(listed, market.adjusted(name), np.nan)
        for name in ("open", "high", "low", "close", "vwap", "volume")
    }
    close = px["close"]
    traded = listed & ~market.is_suspended
    r = np.full(close.shape, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        r[1:] = close[1:] / close[:-1] - 1.0
    r = np.where(traded, r, np.nan)
    full = listed & (market.days_listed() >= window)  # whole window plus the day before it is listed
    # Factors are written into one float32 block as they are computed: at full scale every
    # [D, N] float64 intermediate is ~170 MB, so none is kept longer than needed.
    values = np.full((*close.shape, len(CLASSIC_FACTORS)), np.nan, dtype=np.float32)

    def put(name, factor):
        values[..., CLASSIC_FACTORS.index(name)] = np.where(full & np.isfinite(factor), factor, np.nan)

    def roll(daily, stat):
        return _rolling(daily, window, min_periods, stat)

    def ms(name):
        return np.asarray(ms_raw.feature(name), dtype=np.float64)

    ret = np.full(close.shape, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        ret[window:] = close[window:] / close[:-window] - 1.0
    put("ret", ret)
    put("vol", roll(r, "std"))
    put("lnto", _log_positive(roll(np.where(listed, market.fields["turnover"], np.nan), "mean")))
    ivol, ivr = _idiosyncratic(r, _factor_returns(market, r, close, value_lookback), window, min_periods)
    put("ivol", ivol)
    put("ivr", ivr)
    amount = market.fields["amount"]
    with np.errstate(divide="ignore", invalid="ignore"):
        illiq = np.where(traded & (amount > 0), np.abs(r) / amount, np.nan)
    put("lnamihud", _log_positive(roll(illiq, "mean")))
    put("apb_5d", roll(_apb_5d_daily(px["vwap"], px["volume"], short_window), "mean"))
    put("skew", roll(ms("rskew"), "mean"))
    put("kurt", roll(ms("rkurt"), "mean"))
    put("jump", window * roll(ms("jump"), "mean"))
    overnight = np.full(close.shape, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        overnight[1:] = np.log(px["open"][1:] / close[:-1])
    put("mom", window * roll(ms("mild") + overnight, "mean"))
    put("apb", roll(ms("apb"), "mean"))
    put("sdvhhi", roll(ms("vol_hhi"), "std"))
    put("sdvvol", roll(ms("vol_cv") * px["volume"] / MINUTES_PER_DAY, "std"))
    # arpp is a 5-day form: it needs its 5 days, not the 60-day listing rule
    arpp = _arpp(px["open"], px["high"], px["low"], close, short_window)
    values[..., CLASSIC_FACTORS.index("arpp")] = np.where(np.isfinite(arpp), arpp, np.nan)
    log.info(
        "classic factors: share of listed stock-days with a value %s",
        dict(zip(CLASSIC_FACTORS, np.isfinite(values[listed]).mean(axis=0).round(3).tolist())),
    )
    attrs = {
        "window": int(window),
        "min_periods": int(min_periods),
        "short_window": int(short_window),
        "value_lookback": int(value_lookback),
        "ivol_factors": "MKT (prev-mcap weighted), SMB 30/30 on prev mcap, VAL proxy = long-term reversal 30/30",
    }
    return Panel(market.dates, market.codes, CLASSIC_FACTORS, values, attrs)


def _check_alignment(market: Market, ms_raw: Panel) -> None:
    if not np.array_equal(ms_raw.dates, market.dates) or not np.array_equal(ms_raw.codes, market.codes):
        raise ValueError(
            f"classic factors: the ms panel ({len(ms_raw.dates)} dates × {len(ms_raw.codes)} codes) "
            f"is not aligned to the market ({len(market.dates)} × {len(market.codes)})"
        )
    missing = [name for name in MS_INPUTS if name not in ms_raw.features]
    if missing:
        raise ValueError(f"classic factors: the ms panel lacks features {missing} (has {ms_raw.features})")


def _window_sum(a: np.ndarray, window: int) -> np.ndarray:
    """Sum over the last `window` rows (axis 0); NaN for the first window − 1 rows.

    Differences of cumulative sums: row t only ever involves rows ≤ t.
    """
    cs = np.cumsum(a, axis=0, dtype=np.float64)
    out = cs.copy()
    out[window:] -= cs[:-window]
    out[: window - 1] = np.nan
    return out


def _rolling(x: np.ndarray, window: int, min_periods: int, stat: str) -> np.ndarray:
    """Rolling mean or std (ddof = 1) over `window` rows, skipping NaN, needing min_periods."""
    ok = np.isfinite(x)
    x0 = np.where(ok, x, 0.0)
    n = _window_sum(ok.astype(np.float64), window)
    s1 = _window_sum(x0, window)
    enough = n >= min_periods
    n_safe = np.where(enough, n, 2.0)
    if stat == "mean":
        return np.where(enough, s1 / n_safe, np.nan)
    s2 = _window_sum(x0 * x0, window)
    var = np.maximum(s2 - s1 * s1 / n_safe, 0.0) / (n_safe - 1.0)
    return np.where(enough, np.sqrt(var), np.nan)


def _log_positive(x: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(x > 0, np.log(np.where(x > 0, x, 1.0)), np.nan)


def _factor_returns(market: Market, r: np.ndarray, close: np.ndarray, lookback: int) -> np.ndarray:
    """Daily MKT, SMB and value-proxy returns, float64 [D, 3] (NaN where undefined)."""
    n_days = r.shape[0]
    prev_cap = np.full(r.shape, np.nan)
    prev_cap[1:] = market.fields["mcap"][:-1]
    usable = np.isfinite(r) & np.isfinite(prev_cap) & (prev_cap > 0)
    w = np.where(usable, prev_cap, 0.0)
    w_sum = w.sum(axis=1)
    mkt = np.where(
        w_sum > 0, (w * np.where(usable, r, 0.0)).sum(axis=1) / np.where(w_sum > 0, w_sum, 1.0), np.nan
    )
    smb = _long_short(r, np.where(usable, prev_cap, np.nan))
    past = np.full(r.shape, np.nan)
    if n_days > lookback + 1:
        past[lookback + 1 :] = close[lookback:-1] / close[: n_days - lookback - 1] - 1.0
    val = _long_short(r, np.where(usable, past, np.nan))
    return np.stack([mkt, smb, val], axis=1)


def _long_short(r: np.ndarray, key: np.ndarray) -> np.ndarray:
    """Per day: mean r of the lowest 30% by key minus the highest 30% (NaN key = excluded)."""
    out = np.full(r.shape[0], np.nan)
    has = np.isfinite(key).sum(axis=1) >= 2 * _MIN_LEG
    if not has.any():
        return out
    k = key[has]
    lo_q = np.nanquantile(k, _SORT_SHARE, axis=1, keepdims=True)
    hi_q = np.nanquantile(k, 1.0 - _SORT_SHARE, axis=1, keepdims=True)
    low, high = k <= lo_q, k >= hi_q  # NaN compares false
    rr = np.where(np.isfinite(r[has]), r[has], 0.0)
    n_low, n_high = low.sum(axis=1), high.sum(axis=1)
    spread = (rr * low).sum(axis=1) / np.maximum(n_low, 1) - (rr * high).sum(axis=1) / np.maximum(n_high, 1)
    out[has] = np.where((n_low >= _MIN_LEG) & (n_high >= _MIN_LEG), spread, np.nan)
    return out


def _idiosyncratic(
    r: np.ndarray, f: np.ndarray, window: int, min_periods: int
) -> tuple[np.ndarray, np.ndarray]:
    """Rolling OLS of r on [1, f] per stock: (std of residuals, 1 − R²), each [D, N]."""
    ivol = np.full(r.shape, np.nan)
    ivr = np.full(r.shape, np.nan)
    f_ok = np.isfinite(f).all(axis=1)
    pairs = [(j, k) for j in range(3) for k in range(j, 3)]
    for start in range(0, r.shape[1], _STOCK_BLOCK):
        cols = slice(start, start + _STOCK_BLOCK)
        y = r[:, cols]
        m = (np.isfinite(y) & f_ok[:, None]).astype(np.float64)
        y0 = np.where(m > 0, y, 0.0)
        fm = np.where(f_ok[:, None], f, 0.0)  # [D, 3]
        n = _window_sum(m, window)
        sy = _window_sum(y0, window)
        syy = _window_sum(y0 * y0, window)
        sf = [_window_sum(m * fm[:, [j]], window) for j in range(3)]
        sfy = [_window_sum(y0 * fm[:, [j]], window) for j in range(3)]
        enough = n >= min_periods
        n_safe = np.where(enough, n, 1.0)
        # centred (co)variances within the window
        c = {
            (j, k): _window_sum(m * (fm[:, [j]] * fm[:, [k]]), window) - sf[j] * sf[k] / n_safe
            for j, k in pairs
        }
        for j, k in pairs:
            c[(k, j)] = c[(j, k)]
        cy = [sfy[j] - sf[j] * sy / n_safe for j in range(3)]
        sst = syy - sy * sy / n_safe
        adj = _adjugate3(c)
        det = sum(c[(0, k)] * adj[(k, 0)] for k in range(3))
        scale = c[(0, 0)] * c[(1, 1)] * c[(2, 2)]
        solvable = enough & (np.abs(det) > 1e-10 * np.abs(scale)) & (scale > 0) & (sst > 0)
        det_safe = np.where(solvable, det, 1.0)
        beta = [sum(adj[(j, k)] * cy[k] for k in range(3)) / det_safe for j in range(3)]
        sse = np.maximum(sst - sum(beta[j] * cy[j] for j in range(3)), 0.0)
        ivol[:, cols] = np.where(solvable, np.sqrt(sse / np.maximum(n_safe - 1.0, 1.0)), np.nan)
        ivr[:, cols] = np.where(solvable, sse / np.where(solvable, sst, 1.0), np.nan)
    return ivol, ivr


def _adjugate3(c: dict) -> dict:
    """Adjugate of a symmetric 3 × 3 matrix given as {(j, k): array}: inverse = adj / det."""

    def cof(j, k):
        rows = [i for i in range(3) if i != j]
        cols = [i for i in range(3) if i != k]
        minor = c[(rows[0], cols[0])] * c[(rows[1], cols[1])] - c[(rows[0], cols[1])] * c[(rows[1], cols[0])]
        return minor if (j + k) % 2 == 0 else -minor

    return {(k, j): cof(j, k) for j in range(3) for k in range(3)}


def _apb_5d_daily(vwap: np.ndarray, volume: np.ndarray, short: int) -> np.ndarray:
    """ln(mean of the last `short` vwaps / their volume-weighted mean); all days must trade."""
    traded = np.isfinite(vwap) & np.isfinite(volume) & (volume > 0)
    v = np.where(traded, vwap, 0.0)
    q = np.where(traded, volume, 0.0)
    n = _window_sum(traded.astype(np.float64), short)
    mean_vwap = _window_sum(v, short) / short
    weighted = _window_sum(v * q, short) / np.where(n == short, _window_sum(q, short), 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log(mean_vwap / weighted)
    return np.where(n == short, out, np.nan)


def _arpp(o: np.ndarray, h: np.ndarray, lo: np.ndarray, c: np.ndarray, short: int) -> np.ndarray:
    """(mean_5((O+H+L+C)/4) − min_5 L) / (max_5 H − min_5 L); NaN if a day is missing or H = L."""
    out = np.full(c.shape, np.nan)
    if c.shape[0] < short:
        return out
    typical = sliding_window_view((o + h + lo + c) / 4.0, short, axis=0).mean(axis=-1)
    low = sliding_window_view(lo, short, axis=0).min(axis=-1)  # NaN propagates: full window needed
    high = sliding_window_view(h, short, axis=0).max(axis=-1)
    rng = high - low
    with np.errstate(divide="ignore", invalid="ignore"):
        out[short - 1 :] = np.where(rng > 0, (typical - low) / rng, np.nan)
    return out
