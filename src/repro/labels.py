"""Targets, neutralised labels and the sample flag (SPEC §2).

Target [R]: the return from the close of T+1 to the close of T+11 on adjusted prices — a signal
formed after the close of day T is traded at the next close. We take the simple report
definition: close-to-close on adjusted closes as recorded, whatever the stock's state on T+1.
A stock suspended on T+1 carries its previous close (input contract), so its target starts
from that price; whether the trade was possible is the backtest's business (evaluation honours
suspension and limit prices), not the label's. The target is NaN when the stock is unlisted
at either end or the horizon runs past the last date.

Label [R, D: industry + size]: each day, over the sample stocks with a target and a market cap,
the target's residual from OLS on industry dummies and log market cap, then z-scored across
those stocks. A stock with unknown industry (code −1) is put in an "unknown" group of its own,
so data without an industry classification still yields size-neutral labels.
"""

from __future__ import annotations

import logging

import numpy as np

from .market import Market
from .panel import Panel

log = logging.getLogger(__name__)

LABEL_FEATURES = ["target", "label", "sample"]


def target_returns(market: Market, start: int = 1, end: int = 11) -> np.ndarray:
    """target[t, i] = adjclose[t+end, i] / adjclose[t+start, i] − 1, float64 [D, N] (SPEC §2)."""
    if not 0 <= start < end:
        raise ValueError(f"label horizon needs 0 <= start < end, got start={start}, end={end}")
    close = np.where(market.listed, market.adjusted("close"), np.nan)
    n_days = close.shape[0]
    target = np.full(close.shape, np.nan)
    if n_days > end:
        with np.errstate(divide="ignore", invalid="ignore"):
            target[: n_days - end] = close[end:] / close[start : n_days - end + start] - 1.0
    target[~np.isfinite(target)] = np.nan
    return target


def neutralize(y, industry, log_cap, mask=None) -> np.ndarray:
    """Residual of y from OLS on industry dummies + log_cap, per cross-section (SPEC §2).

    y, industry (int codes, −1 = unknown, treated as its own group), log_cap: arrays [N] (one
    day) or [D, N] (one regression per row). Rows enter where y and log_cap are finite (and
    `mask` is true); the residual is NaN elsewhere. By Frisch–Waugh–Lovell, OLS with a full set
    of industry dummies equals demeaning y and log_cap within each industry and regressing
    demeaned y on demeaned log_cap, which vectorises over all days with `np.bincount`; the
    residual is orthogonal to every dummy and to log_cap over the rows used.
    """
    y = np.asarray(y, dtype=np.float64)
    one_day = y.ndim == 1
    y2 = np.atleast_2d(y)
    ind = np.atleast_2d(np.asarray(industry)).astype(np.int64)
    x = np.atleast_2d(np.asarray(log_cap, dtype=np.float64))
    if not (y2.shape == ind.shape == x.shape):
        raise ValueError(f"neutralize: shapes differ: y {y2.shape}, industry {ind.shape}, log_cap {x.shape}")
    ok = np.isfinite(y2) & np.isfinite(x)
    if mask is not None:
        ok &= np.atleast_2d(np.asarray(mask, dtype=bool))
    day, stock = np.nonzero(ok)
    resid = np.full(y2.shape, np.nan)
    if day.size:
        codes = ind[day, stock]
        codes = codes - codes.min()  # unknown (−1) becomes a group like any other
        group = day * (codes.max() + 1) + codes
        yv, xv = y2[day, stock], x[day, stock]
        count = np.bincount(group)
        safe = np.maximum(count, 1)
        yd = yv - (np.bincount(group, yv) / safe)[group]
        xd = xv - (np.bincount(group, xv) / safe)[group]
        n_rows = y2.shape[0]
        sxy = np.bincount(day, yd * xd, minlength=n_rows)
        sxx = np.bincount(day, xd * xd, minlength=n_rows)
        scale = np.bincount(day, xv * xv, minlength=n_rows)
        # log_cap constant within every industry: it lies in the dummies' span, slope is moot.
        identified = sxx > 1e-10 * scale
        beta = np.where(identified, sxy / np.where(identified, sxx, 1.0), 0.0)
        resid[day, stock] = yd - beta[day] * xd
    return resid[0] if one_day else resid


def make_labels(
    market: Market, label_start: int = 1, label_end: int = 11, min_listed_days: int = 60
) -> Panel:
    """The labels panel, features ["target", "label", "sample"] (SPEC §2).

    target: `target_returns` for every listed stock; sample: 1.0 where
    `market.sample_mask(min_listed_days)` else 0.0; label: the target neutralised on industry +
    log market cap over the sample stocks of day t with a target and mcap > 0, then z-scored
    (population std) across them; NaN elsewhere (and on a day with < 2 such stocks).
    """
    target = target_returns(market, label_start, label_end)
    sample = market.sample_mask(min_listed_days)
    mcap = market.fields["mcap"]
    with np.errstate(divide="ignore", invalid="ignore"):
        log_cap = np.where(mcap > 0, np.log(mcap), np.nan)
    rows = sample & np.isfinite(target) & np.isfinite(log_cap)
    resid = neutralize(target, market.industry, log_cap, mask=rows)
    count = rows.sum(axis=1, keepdims=True)
    mean = np.nansum(resid, axis=1, keepdims=True) / np.maximum(count, 1)
    var = np.nansum((resid - mean) ** 2, axis=1, keepdims=True) / np.maximum(count, 1)
    std = np.sqrt(var)
    good_day = (count >= 2) & (std > 0)
    label = np.where(rows & good_day, (resid - mean) / np.where(good_day, std, 1.0), np.nan)
    n_sample = int(sample.sum())
    n_unlabelled = int((sample & ~np.isfinite(label)).sum())
    log.info(
        "labels: %d sample stock-days, %d (%.2f%%) without a label (target horizon past the data, "
        "unlisted at T+%d, or no market cap)",
        n_sample,
        n_unlabelled,
        100.0 * n_unlabelled / max(n_sample, 1),
        label_end,
    )
    values = np.stack([target, label, sample.astype(np.float64)], axis=-1).astype(np.float32)
    attrs = {
        "label_start": int(label_start),
        "label_end": int(label_end),
        "min_listed_days": int(min_listed_days),
        "neutralize": "industry dummies + log mcap",
    }
    return Panel(market.dates, market.codes, LABEL_FEATURES, values, attrs)
