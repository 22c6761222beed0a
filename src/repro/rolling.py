"""Rolling train / validation / test day splits, one model per test year (SPEC §5, report fig 5).

- `day`, `ms`: train = calendar years Y−1−train_years … Y−2, validation = Y−1, test = Y.
- `l2`: in-sample = l2_start … Y−1, split chronologically (1 − l2_valid_fraction) : fraction.
- Purge [D]: the last `purge_days` trading days before each boundary (train→valid, valid→test)
  are dropped, since a label looks label_end trading days ahead and would overlap the next set.
- A day needs a full window of T rows of history (index ≥ T − 1); for `l2` the window must also
  lie after l2_start, where the Level-2 data begins.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Split:
    """Day indices (into the calendar passed to `split_days`) of each set, ascending."""

    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray


def _year_of(dates: np.ndarray) -> np.ndarray:
    return dates.astype("datetime64[Y]").astype(int) + 1970


def _purge_end(days: np.ndarray, purge_days: int) -> np.ndarray:
    return days[: max(len(days) - purge_days, 0)]


def split_days(dates, dataset: str, year: int, train_cfg: dict, window: int) -> Split:
    """Train / valid / test day indices for test year `year` (see the module docstring)."""
    dates = np.asarray(dates, dtype="datetime64[D]")
    years = _year_of(dates)
    index = np.arange(len(dates))
    first_full = window - 1
    purge = int(train_cfg["purge_days"])
    test = index[(years == year) & (index >= first_full)]

    if dataset in ("day", "ms"):
        start_year = year - 1 - int(train_cfg["train_years"])
        ok = index >= first_full
        train = index[(years >= start_year) & (years <= year - 2) & ok]
        valid = index[(years == year - 1) & ok]
    elif dataset == "l2":
        l2_start = np.datetime64(train_cfg["l2_start"], "D")
        first_l2 = int(np.searchsorted(dates, l2_start))
        in_sample = index[(index >= max(first_full, first_l2 + window - 1)) & (years <= year - 1)]
        n_valid = int(round(len(in_sample) * float(train_cfg["l2_valid_fraction"])))
        train, valid = in_sample[: len(in_sample) - n_valid], in_sample[len(in_sample) - n_valid:]
    else:
        raise ValueError(f"unknown dataset {dataset!r} (expected day, ms or l2)")

    split = Split(train=_purge_end(train, purge), valid=_purge_end(valid, purge), test=test)
    for name in ("train", "valid", "test"):
        if len(getattr(split, name)) == 0:
            span = f"{dates[0]}..{dates[-1]}" if len(dates) else "no dates"
            raise ValueError(
                f"dataset {dataset}, test year {year}: the {name} split is empty "
                f"(calendar available: {span}, window {window}, purge {purge} days, "
                f"train_years {train_cfg.get('train_years')})"
            )
    return split
