"""The `day` dataset: six adjusted daily-bar features and their window normalisation (SPEC §1).

The stored `day` panel holds the adjusted bars themselves; the RNN reads windows of T days,
each normalised by its own last day (prices / last close, volume / last volume), so the
preprocessing statistics (SPEC §2) are fitted on window-normalised values and applied by the
training code after it gathers and normalises a window.

How suspended days look: the contract records a suspended day with every price equal to the
previous close and volume 0, so inside a window it is a flat bar with zero volume; a window
that *ends* on a suspended day has volume / 0 → NaN in its volume column (later filled with 0
by `repro.preprocess.apply_stats`). Such windows are outside the sample anyway (SPEC §2 drops
stocks suspended on day T). Days before listing or after delisting are NaN.
"""

from __future__ import annotations

import logging

import numpy as np

from ..market import Market
from ..panel import Panel
from ..preprocess import fit_stats

log = logging.getLogger(__name__)

DAY_FEATURES = ["open", "high", "low", "close", "vwap", "volume"]
_PRICE_COLS = slice(0, 5)
_CLOSE = DAY_FEATURES.index("close")
_VOLUME = DAY_FEATURES.index("volume")


def day_panel(market: Market) -> Panel:
    """Adjusted daily bars [D, N, 6]: price × adj_factor, volume / adj_factor; NaN if unlisted."""
    values = np.stack([market.adjusted(name) for name in DAY_FEATURES], axis=-1)
    values = np.where(market.listed[:, :, None], values, np.nan).astype(np.float32)
    return Panel(market.dates, market.codes, DAY_FEATURES, values, {"adjusted": True})


def normalise_windows(x):
    """Normalise windows [..., T, 6] by their last day (SPEC §1): the five price columns by the
    last row's close, volume by the last row's volume; a last volume (or close) of 0 gives NaN.

    Works on numpy arrays and torch tensors and returns the same type.
    """
    if type(x).__module__.startswith("torch"):
        import torch

        last = x[..., -1:, :]
        close = last[..., _CLOSE : _CLOSE + 1]
        volume = last[..., _VOLUME : _VOLUME + 1]
        nan = torch.full_like(close, float("nan"))
        close = torch.where(close == 0, nan, close)
        volume = torch.where(volume == 0, nan, volume)
        return torch.cat([x[..., _PRICE_COLS] / close, x[..., _VOLUME : _VOLUME + 1] / volume], dim=-1)
    x = np.asarray(x)
    dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.float32
    last = x[..., -1:, :].astype(np.float64)
    close = last[..., _CLOSE : _CLOSE + 1]
    volume = last[..., _VOLUME : _VOLUME + 1]
    close = np.where(close == 0, np.nan, close)
    volume = np.where(volume == 0, np.nan, volume)
    out = np.concatenate([x[..., _PRICE_COLS] / close, x[..., _VOLUME : _VOLUME + 1] / volume], axis=-1)
    return out.astype(dtype)


def gather_windows(values: np.ndarray, day_idx: np.ndarray, stock_idx: np.ndarray, window: int) -> np.ndarray:
    """The windows [n, window, F] ending on (day_idx, stock_idx); each day_idx must be ≥ window − 1."""
    day_idx = np.asarray(day_idx)
    if day_idx.size and day_idx.min() < window - 1:
        raise ValueError(f"a window of {window} days cannot end before day index {window - 1}")
    rows = day_idx[:, None] - np.arange(window - 1, -1, -1)[None, :]  # [n, T], oldest first
    return np.asarray(values[rows, np.asarray(stock_idx)[:, None]])


def fit_day_stats(
    panel: Panel,
    cutoff,
    window: int,
    mad_k: float = 7.0,
    sample=None,
    max_windows: int = 100_000,
    seed: int = 0,
) -> dict:
    """Preprocessing statistics of window-normalised `day` values (SPEC §1–§2).

    Candidate windows are the full windows of `window` days that end on a date strictly before
    `cutoff` (so every value they hold predates the cutoff), on a stock-day with a finite, nonzero
    close and volume (and inside `sample` [D, N] when given). For speed at most `max_windows`
    of them are used, drawn without replacement by a fixed-seed generator: the draw depends
    only on the candidate set and `seed`, so it is deterministic and never looks past the cutoff.
    Every value of every drawn window (all T rows) enters `repro.preprocess.fit_stats`.
    """
    cutoff = np.datetime64(cutoff, "D")
    n_fit = int(np.searchsorted(panel.dates, cutoff, side="left"))
    if n_fit < window:
        raise ValueError(
            f"day preprocessing: only {n_fit} dates before the cutoff {cutoff}, fewer than one "
            f"window of {window} days (features.preprocess_cutoff / features.window)"
        )
    last = np.asarray(panel.values[window - 1 : n_fit])
    ok = np.isfinite(last[..., _CLOSE]) & (last[..., _CLOSE] != 0) & (last[..., _VOLUME] > 0)
    if sample is not None:
        ok &= np.asarray(sample, dtype=bool)[window - 1 : n_fit]
    day_idx, stock_idx = np.nonzero(ok)
    if day_idx.size == 0:
        raise ValueError(f"day preprocessing: no usable window ends before the cutoff {cutoff}")
    day_idx = day_idx + window - 1
    if day_idx.size > max_windows:
        pick = np.sort(np.random.default_rng(seed).choice(day_idx.size, max_windows, replace=False))
        log.info(
            "day preprocessing: fitting on %d of %d windows (seeded subsample)", max_windows, day_idx.size
        )
        day_idx, stock_idx = day_idx[pick], stock_idx[pick]
    windows = normalise_windows(gather_windows(panel.values, day_idx, stock_idx, window))
    return fit_stats(windows.reshape(-1, len(DAY_FEATURES)), mad_k=mad_k)


def preprocess_day_panel(
    panel: Panel,
    cutoff,
    window: int,
    mad_k: float = 7.0,
    sample=None,
    max_windows: int = 100_000,
) -> Panel:
    """The stored `day` panel: the adjusted bars unchanged plus the frozen statistics of their
    window-normalised values (`fit_day_stats`) in ``attrs["preprocess"]``, with
    ``attrs["window_norm"] = "last"``, ``attrs["window"]`` and ``attrs["mad_k"]``."""
    stats = fit_day_stats(panel, cutoff, window, mad_k, sample=sample, max_windows=max_windows)
    attrs = dict(panel.attrs)
    attrs.update(
        preprocess=stats,
        window_norm="last",
        window=int(window),
        mad_k=float(mad_k),
        preprocess_cutoff=str(np.datetime64(cutoff, "D")),
    )
    return Panel(panel.dates, panel.codes, panel.features, panel.values, attrs)
