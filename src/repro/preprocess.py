"""Per-feature preprocessing: MAD clip, z-score, fill missing with 0 (SPEC §2).

The report clips each feature to median ± 7 × MAD (MAD = median |x − median|), z-scores it
with mean and std, then fills missing values with 0. The four statistics are estimated once on
data before a cutoff (report: 2016-01-01) and then frozen, so no value ever depends on later data.

Statistics are a plain dict of per-feature float lists, ``{"median", "mad", "mean", "std"}``,
so they travel inside a panel's ``attrs["preprocess"]`` (JSON) and apply equally to numpy arrays
and torch tensors (the training code applies them to gathered `day` windows).

Degenerate features are guarded, not rejected: MAD = 0 (more than half the values equal, e.g. a
feature that is mostly 0) means "do not clip" rather than collapsing the feature onto its
median; std = 0 means the feature maps to 0.
"""

from __future__ import annotations

import logging

import numpy as np

from .panel import Panel

log = logging.getLogger(__name__)

STAT_KEYS = ("median", "mad", "mean", "std")
# Dates are applied in blocks so a full-history panel is never held twice in float64.
_APPLY_BLOCK_DAYS = 256


def mad_clip(x, k: float, median=None, mad=None):
    """Clip `x` to median ± k × MAD (numpy).

    `x` is [..., F] with statistics per feature over all leading axes; a 1-D `x` is one series.
    `median` / `mad` default to those of `x` itself (NaN ignored). A MAD of 0 leaves the
    feature unclipped (see module docstring). NaN stays NaN.
    """
    x = np.asarray(x, dtype=np.float64)
    flat = x.reshape(-1, 1) if x.ndim == 1 else x.reshape(-1, x.shape[-1])
    if median is None:
        median = _nan_median(flat)
    if mad is None:
        mad = _nan_median(np.abs(flat - np.asarray(median, dtype=np.float64)))
    lo, hi = _clip_bounds(np.asarray(median, dtype=np.float64), np.asarray(mad, dtype=np.float64), k)
    if x.ndim == 1:
        lo, hi = lo.reshape(()), hi.reshape(())
    return np.clip(x, lo, hi)


def fit_stats(values, mask=None, mad_k: float = 7.0) -> dict:
    """Estimate the preprocessing statistics per feature (SPEC §2).

    values: array [..., F]; mask: optional bool array of the leading shape selecting the rows
    to use. Median and MAD are of the raw values; mean and std (population, ddof = 0) are of the
    values clipped to median ± mad_k × MAD. NaN and ±inf are ignored. Raises ValueError naming
    the feature index when a feature has no finite value among the selected rows.
    """
    values = np.asarray(values)
    if values.ndim < 1:
        raise ValueError("fit_stats needs an array [..., F]")
    n_feat = values.shape[-1]
    rows = values.reshape(-1, n_feat)
    if mask is not None:
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != values.shape[:-1]:
            raise ValueError(f"mask shape {mask.shape} does not match values {values.shape[:-1]}")
        rows = rows[mask.reshape(-1)]
    stats = {key: [] for key in STAT_KEYS}
    # One feature at a time: the full-history matrix is never copied as a whole into float64.
    for f in range(n_feat):
        col = rows[:, f].astype(np.float64)
        col = col[np.isfinite(col)]
        if col.size == 0:
            raise ValueError(f"fit_stats: feature {f} has no finite value among {len(rows)} rows")
        median = float(np.median(col))
        mad = float(np.median(np.abs(col - median)))
        lo, hi = _clip_bounds(np.array(median), np.array(mad), mad_k)
        clipped = np.clip(col, lo, hi)
        stats["median"].append(median)
        stats["mad"].append(mad)
        stats["mean"].append(float(clipped.mean()))
        stats["std"].append(float(clipped.std()))
    return stats


def apply_stats(x, stats: dict, mad_k: float = 7.0):
    """Clip to median ± mad_k × MAD, z-score, then set NaN (and ±inf) to 0 (SPEC §2).

    `x` is a numpy array or a torch tensor [..., F]; the result has the same type (float32 for
    numpy input of an integer dtype, the input's float dtype otherwise, the tensor's device).
    """
    lo, hi, mean, std = stats_constants(stats, mad_k)
    if _is_tensor(x):
        import torch

        constants = (torch.as_tensor(a, dtype=x.dtype, device=x.device) for a in (lo, hi, mean, std))
        return apply_constants(x, *constants)
    x = np.asarray(x)
    dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.float32
    z = (np.clip(x.astype(np.float64), lo, hi) - mean) / std
    return np.where(np.isfinite(z), z, 0.0).astype(dtype)


def stats_constants(stats: dict, mad_k: float) -> tuple[np.ndarray, ...]:
    """(lo, hi, mean, std) float64 [F] of `apply_stats`: clip bounds, and a std of 1 where the
    feature is constant (it maps to 0)."""
    median = np.asarray(stats["median"], dtype=np.float64)
    lo, hi = _clip_bounds(median, np.asarray(stats["mad"], dtype=np.float64), mad_k)
    std = np.asarray(stats["std"], dtype=np.float64)
    return lo, hi, np.asarray(stats["mean"], dtype=np.float64), np.where(std > 0, std, 1.0)


def apply_constants(x, lo, hi, mean, std):
    """`apply_stats` on a tensor with `stats_constants` already as tensors of x's dtype and
    device (a caller applying the same statistics to many batches converts them once)."""
    import torch

    z = (torch.clamp(x, lo, hi) - mean) / std
    return torch.nan_to_num_(z, nan=0.0, posinf=0.0, neginf=0.0)


def preprocess_panel(raw: Panel, cutoff, mad_k: float = 7.0, mask=None) -> Panel:
    """Fit the statistics on dates strictly before `cutoff`, apply them to every date (SPEC §2).

    Used for the `ms` and `l2` feature panels. `mask` (bool [D, N], optional) restricts the rows
    used for fitting (e.g. the sample stock-days); missing values are ignored either way. The
    result carries ``attrs["preprocess"]`` (the frozen stats), ``attrs["window_norm"] = "none"``,
    ``attrs["mad_k"]`` and ``attrs["preprocess_cutoff"]``.
    """
    cutoff = np.datetime64(cutoff, "D")
    n_fit = int(np.searchsorted(raw.dates, cutoff, side="left"))
    if n_fit == 0:
        raise ValueError(
            f"preprocess cutoff {cutoff} is not after the first panel date {raw.dates[0]}: "
            "no data to estimate the preprocessing statistics (features.preprocess_cutoff)"
        )
    fit_mask = None if mask is None else np.asarray(mask, dtype=bool)[:n_fit]
    try:
        stats = fit_stats(raw.values[:n_fit], mask=fit_mask, mad_k=mad_k)
    except ValueError as err:
        raise ValueError(f"{err} (features {raw.features}, dates before {cutoff})") from None
    values = np.empty(raw.values.shape, dtype=np.float32)
    missing = np.zeros(len(raw.features), dtype=np.int64)
    for start in range(0, len(raw.dates), _APPLY_BLOCK_DAYS):
        block = slice(start, start + _APPLY_BLOCK_DAYS)
        chunk = np.asarray(raw.values[block], dtype=np.float32)
        missing += (~np.isfinite(chunk)).sum(axis=(0, 1))
        values[block] = apply_stats(chunk, stats, mad_k)
    if missing.any():
        share = (missing / max(1, len(raw.dates) * len(raw.codes))).round(4).tolist()
        log.info(
            "preprocess: filled missing values with 0; share per feature %s", dict(zip(raw.features, share))
        )
    attrs = dict(raw.attrs)
    attrs.update(preprocess=stats, window_norm="none", mad_k=float(mad_k), preprocess_cutoff=str(cutoff))
    return Panel(raw.dates, raw.codes, raw.features, values, attrs)


def _clip_bounds(median: np.ndarray, mad: np.ndarray, k: float) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper clip bounds; ±inf where MAD is 0 or not finite (no clipping)."""
    clip = np.isfinite(mad) & (mad > 0)
    lo = np.where(clip, median - k * np.where(clip, mad, 0.0), -np.inf)
    hi = np.where(clip, median + k * np.where(clip, mad, 0.0), np.inf)
    return lo, hi


def _nan_median(flat: np.ndarray) -> np.ndarray:
    """Per-column median of a 2-D array ignoring NaN/inf (NaN for an all-missing column)."""
    out = np.full(flat.shape[1], np.nan)
    for f in range(flat.shape[1]):
        col = flat[:, f]
        col = col[np.isfinite(col)]
        if col.size:
            out[f] = np.median(col)
    return out


def _is_tensor(x) -> bool:
    return type(x).__module__.startswith("torch")
