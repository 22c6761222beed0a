"""Small random but valid in-memory markets for tests (`from market_fixtures import random_market`).

`write_qlib_dir` writes a qlib provider folder (lower-case stock folders as qlib's `dump_bin`, or
upper-case ones as many published folders); `write_qlib_market` writes a whole `Market` that way.

`random_market` honours the input contract: raw prices with adj_factor jumps (adjusted prices
stay continuous), suspended days carrying the previous close with zero volume and amount,
late listings and a delisting (NaN outside the listed span), ST spells, limit prices from
`repro.contract.limit_prices`, industries (one change, one unknown spell) and index weights
summing to 1 per day. `random_ms_panel` gives a raw `ms` feature panel aligned to it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pathlib import Path

from repro.contract import limit_prices
from repro.features.ms import MS_FEATURES as MS_NAMES
from repro.market import Market
from repro.panel import Panel


def random_market(
    n_days: int = 90,
    n_stocks: int = 12,
    seed: int = 0,
    start: str = "2020-01-02",
    n_industries: int = 4,
    suspend_prob: float = 0.03,
) -> Market:
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range(start, periods=n_days).values.astype("datetime64[D]")
    codes = np.array([f"{600000 + i:06d}.SH" for i in range(n_stocks)])
    shape = (n_days, n_stocks)

    # listing: most stocks long listed, a few list inside the sample, the last one delists
    list_idx = np.where(rng.random(n_stocks) < 0.25, rng.integers(1, max(2, n_days // 3), n_stocks), -400)
    list_idx[0] = -400
    delist_idx = np.full(n_stocks, n_days)
    if n_stocks > 2:
        delist_idx[-1] = n_days - max(3, n_days // 8)
    t = np.arange(n_days)[:, None]
    listed = (t >= list_idx[None, :]) & (t < delist_idx[None, :])
    list_date = np.where(
        list_idx >= 0, dates[np.clip(list_idx, 0, n_days - 1)], dates[0] - np.timedelta64(600, "D")
    )

    first_day = t == np.maximum(list_idx, 0)[None, :]
    is_suspended = listed & (rng.random(shape) < suspend_prob) & ~first_day
    is_st = np.zeros(shape, dtype=bool)
    if n_stocks > 3:
        is_st[n_days // 3 : n_days // 2, 3] = True
    is_st &= listed

    # adjusted close path: returns within the limits, 0 on suspended days
    ret = np.clip(rng.normal(0.0005, 0.02, shape), -0.09, 0.09)
    ret[is_suspended] = 0.0
    adj_close = 10.0 * rng.uniform(0.5, 3.0, n_stocks) * np.exp(np.cumsum(np.log1p(ret), axis=0))
    # adj_factor: backward adjustment, jumps on ex-dates (never on a suspended day)
    jumps = (rng.random(shape) < 0.02) & ~is_suspended
    jumps[0] = False
    adj = np.cumprod(np.where(jumps, rng.uniform(1.05, 2.0, shape), 1.0), axis=0)
    close = adj_close / adj
    prev_close = np.vstack([close[:1], adj_close[:-1] / adj[1:]])  # previous close in today's raw terms
    open_ = prev_close * np.exp(rng.normal(0, 0.01, shape))
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.02, shape))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.02, shape))
    vwap = low + (high - low) * rng.uniform(0.2, 0.8, shape)
    volume = np.exp(rng.normal(13.0, 0.5, shape)) * adj  # shares scale with splits
    for a in (open_, high, low, vwap):
        a[is_suspended] = close[is_suspended]
    volume[is_suspended] = 0.0
    amount = vwap * volume
    base_shares = rng.uniform(1e8, 5e9, n_stocks)
    mcap = adj_close * base_shares
    turnover = volume / (0.6 * base_shares * adj)
    board = np.where(np.arange(n_stocks) % 5 == 4, "chinext", "main")
    ratio = np.where(is_st, 0.05, 0.10)
    ratio = np.where(
        (board[None, :] == "chinext") & (dates[:, None] >= np.datetime64("2020-08-24")), 0.20, ratio
    )
    limit_up, limit_down = limit_prices(np.round(prev_close, 2), ratio)

    fields = {
        "open": open_,
        "high": high,
        "low": low,
        "close": close,
        "vwap": vwap,
        "limit_up": limit_up,
        "limit_down": limit_down,
        "volume": volume,
        "amount": amount,
        "adj_factor": adj,
        "turnover": turnover,
        "mcap": mcap,
    }
    fields = {k: np.where(listed, v, np.nan).astype(np.float64) for k, v in fields.items()}

    industry = np.broadcast_to(rng.integers(0, n_industries, n_stocks), shape).astype(np.int16).copy()
    if n_stocks > 2:
        industry[n_days // 2 :, 1] = (industry[0, 1] + 1) % n_industries
        industry[: n_days // 4, 2] = -1
    weights = {}
    order = rng.permutation(n_stocks)
    for name, members in zip(("csi300", "csi500", "csi1000"), np.array_split(order, 3)):
        w = np.zeros(shape)
        w[:, members] = rng.uniform(0.5, 1.5, len(members))
        w = np.where(listed, w, 0.0)
        total = w.sum(axis=1, keepdims=True)
        weights[name] = np.divide(w, total, out=np.zeros(shape), where=total > 0)

    return Market(
        dates=dates,
        codes=codes,
        fields=fields,
        listed=listed,
        is_st=is_st,
        is_suspended=is_suspended,
        industry=industry,
        industry_names=[f"industry_{k}" for k in range(n_industries)],
        index_weights=weights,
        board=board,
        list_date=list_date.astype("datetime64[D]"),
    )


def random_ms_panel(market: Market, seed: int = 1) -> Panel:
    """Raw `ms` features (SPEC §3 names) with plausible ranges; NaN where the stock did not trade."""
    rng = np.random.default_rng(seed)
    n_days, n_stocks = market.shape
    values = rng.normal(0.0, 0.01, (n_days, n_stocks, len(MS_NAMES)))
    col = {name: k for k, name in enumerate(MS_NAMES)}
    values[..., col["rskew"]] = rng.normal(0.0, 1.0, (n_days, n_stocks))
    values[..., col["rkurt"]] = rng.gamma(2.0, 3.0, (n_days, n_stocks))
    values[..., col["vol_hhi"]] = rng.uniform(0.005, 0.05, (n_days, n_stocks))
    values[..., col["vol_cv"]] = rng.uniform(0.5, 2.5, (n_days, n_stocks))
    traded = market.listed & ~market.is_suspended
    values[~traded] = np.nan
    return Panel(market.dates, market.codes, MS_NAMES, values.astype(np.float32))


def copy_market(market: Market) -> Market:
    """A deep copy whose arrays can be perturbed without touching the original."""
    return Market(
        dates=market.dates.copy(),
        codes=market.codes.copy(),
        fields={k: v.copy() for k, v in market.fields.items()},
        listed=market.listed.copy(),
        is_st=market.is_st.copy(),
        is_suspended=market.is_suspended.copy(),
        industry=market.industry.copy(),
        industry_names=list(market.industry_names),
        index_weights={k: v.copy() for k, v in market.index_weights.items()},
        board=market.board.copy(),
        list_date=market.list_date.copy(),
        proxies=dict(market.proxies),
    )


def write_month_files(root, folder, frame, row_group_size):
    """Write `frame` (contract minute or L2 columns, `date` as datetime) as
    `{folder}/{YYYY}/{YYYYMM}.parquet` files sorted by (date, code, minute), in row groups of
    `row_group_size` rows (not one per day, so the readers' row-group handling is exercised)."""
    frame = frame.sort_values(["date", "code", "minute"])
    for ym, part in frame.groupby(frame["date"].dt.strftime("%Y%m")):
        path = root / folder / ym[:4] / f"{ym}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        part.assign(date=part["date"].dt.date).to_parquet(path, index=False, row_group_size=row_group_size)


def write_qlib_dir(path: Path, calendar, instruments, features, indexes=None, upper=False) -> Path:
    """A qlib provider directory in `dump_bin` layout (`upper`: stock folders in upper case).

    calendar: day strings; instruments: code -> (start, end) or a list of such intervals (one
    all.txt line each); features: code -> (first calendar index, {field: values});
    indexes: name -> [(code, start, end), ...].
    """
    (path / "calendars").mkdir(parents=True)
    (path / "calendars" / "day.txt").write_text("\n".join(calendar) + "\n")
    (path / "instruments").mkdir()
    lines = []
    for code, spans in instruments.items():
        for s, e in [spans] if isinstance(spans, tuple) else spans:
            lines.append(f"{code}\t{s}\t{e}\n")
    (path / "instruments" / "all.txt").write_text("".join(lines))
    for name, rows in (indexes or {}).items():
        (path / "instruments" / f"{name}.txt").write_text(
            "".join(f"{c}\t{s}\t{e}\n" for c, s, e in rows)
        )
    for code, (first, fields) in features.items():
        folder = path / "features" / (code.upper() if upper else code.lower())
        folder.mkdir(parents=True)
        for field, values in fields.items():
            np.r_[first, values].astype("<f4").tofile(folder / f"{field}.day.bin")
    return path


def qlib_code(code: str) -> str:
    """600000.SH -> SH600000 (qlib's spelling)."""
    number, exchange = code.split(".")
    return exchange.upper() + number


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) index of each run of True in a 1-D bool array."""
    edges = np.diff(np.r_[0, mask.astype(np.int8), 0])
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1))


def write_qlib_market(market: Market, path: Path, upper: bool = False) -> Path:
    """`market` as qlib's `dump_bin` would store it: adjusted prices (raw x adj_factor), volume /
    adj_factor, amount, factor, change; every field NaN on suspended days (qlib has no row
    there); one all.txt line per listed span; csi300/500/1000.txt from the spans of positive
    weight. Codes become SH600000-style."""
    f, dates = market.fields, [str(d) for d in market.dates]
    instruments, features = {}, {}
    for j, code in enumerate(market.codes):
        spans = _runs(market.listed[:, j])
        if not spans:
            continue
        qcode = qlib_code(code)
        instruments[qcode] = [(dates[a], dates[b]) for a, b in spans]
        a, b = spans[0][0], spans[-1][1]
        rows = slice(a, b + 1)
        adj = f["adj_factor"][rows, j]
        gone = market.is_suspended[rows, j] | ~market.listed[rows, j]
        close = f["close"][rows, j] * adj
        values = {
            **{p: f[p][rows, j] * adj for p in ("open", "high", "low", "close", "vwap")},
            "volume": f["volume"][rows, j] / adj,
            "amount": f["amount"][rows, j],
            "factor": adj,
            "change": np.r_[np.nan, close[1:] / close[:-1] - 1],
        }
        features[qcode] = (a, {k: np.where(gone, np.nan, v) for k, v in values.items()})
    indexes = {}
    for name, weights in market.index_weights.items():
        indexes[name] = [
            (qlib_code(code), dates[a], dates[b])
            for j, code in enumerate(market.codes)
            for a, b in _runs(weights[:, j] > 0)
        ]
    return write_qlib_dir(path, dates, instruments, features, indexes, upper=upper)
