"""Day batches: one trading day's cross-section is one batch (SPEC §5), and the data a training
job reads (the feature panel, the train / valid / test day batches, a fingerprint)."""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .fingerprint import data_fingerprint, panel_digest
from .labels import LABEL_FEATURES
from .model import batch_standardise
from .panel import Panel
from .rolling import split_days

log = logging.getLogger(__name__)


@dataclass
class DayBatch:
    """One trading day's cross-section: which stocks, and their label (train) or target (valid)."""

    day: int
    stocks: torch.Tensor  # int64 [n], on the device
    label: torch.Tensor | None  # float32 [n] on the device, batch-standardised (train days only)
    target: np.ndarray | None  # float32 [n], the realised target for RankIC (valid days only)


class DayBatches(Sequence):
    """The days of one split; `batches[i]` builds day i's DayBatch on demand.

    One float32 matrix `values` [days, N] holds, per stock-day, the label ("train"), the target
    ("valid") or 1 ("test"), and NaN for stocks outside the day's batch: 4 bytes per stock-day,
    ⅙ of a 6-feature panel's bytes, instead of every day's index and label tensors held at once.
    """

    def __init__(self, days: np.ndarray, values: np.ndarray, use: str, device):
        self.days, self.values, self.use, self.device = days, values, use, torch.device(device)

    def __len__(self) -> int:
        return len(self.days)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __getitem__(self, i: int) -> DayBatch:
        row = self.values[i]
        stocks = np.flatnonzero(np.isfinite(row))
        label = target = None
        if self.use == "train":
            # Re-standardised over exactly the batch's stocks (population std): only then is MSE
            # against the batch-normed prediction 2 (1 − Pearson corr) (SPEC §4).
            label = batch_standardise(torch.from_numpy(row[stocks])[:, None])[:, 0]
            label = label.to(self.device, non_blocking=True)
        elif self.use == "valid":
            target = row[stocks]
        # non_blocking: a copy from pageable host memory is staged at once, with no device sync.
        return DayBatch(int(self.days[i]), torch.from_numpy(stocks).to(self.device, non_blocking=True), label, target)


def day_batches(labels: Panel, days: np.ndarray, device, use: str) -> DayBatches:
    """The day batches of one split, `use` "train", "valid" or "test" (see DayBatches).

    A day's stocks: sample == 1, and for train/valid a finite label and target. Days with fewer
    than 2 such stocks are skipped (a cross-section of one stock has no z-score).
    """
    if use not in ("train", "valid", "test"):
        raise ValueError(f"use must be 'train', 'valid' or 'test', not {use!r}")
    days = np.asarray(days, dtype=np.int64)
    ok = labels.feature("sample")[days] == 1
    if use == "test":
        values = np.ones(ok.shape, np.float32)
    else:
        label, target = labels.feature("label")[days], labels.feature("target")[days]
        ok &= np.isfinite(label) & np.isfinite(target)
        values = (label if use == "train" else target).astype(np.float32, copy=False)  # a copy
        del label, target
    values[~ok] = np.nan
    keep = ok.sum(axis=1) >= 2
    log.info("%s: %d of %d days used (%d skipped with < 2 stocks); %d stock-days of %d in the %s",
             use, int(keep.sum()), len(days), int((~keep).sum()), int(ok[keep].sum()), ok.size,
             "sample" if use == "test" else "sample with a label")
    if not keep.all():
        days, values = days[keep], values[keep]
    return DayBatches(days, values, use, device)


@dataclass
class TrainingData:
    """What one training job reads: the feature panel, its day batches, a fingerprint."""

    features: Panel
    train: DayBatches
    valid: DayBatches
    test: DayBatches
    fingerprint: str


def load_training_data(features: Panel | str | Path, labels: Panel | str | Path, dataset: str, year: int,
                       train_cfg: dict, window: int, device) -> TrainingData:
    """Split and day batches of (dataset, test year); panels may be given as folders to load.

    The labels are read first (memory-mapped), reduced to the day batches' one float32 matrix per
    split, and released before the feature panel is read: the process never holds both panels.
    """
    if not isinstance(labels, Panel):
        labels = Panel.load(labels, mmap=True)
    missing = [f for f in LABEL_FEATURES if f not in labels.features]
    if missing:
        raise ValueError(f"labels panel lacks features {missing} (has {labels.features})")
    split = split_days(labels.dates, dataset, year, train_cfg, window)
    train, valid, test = (day_batches(labels, getattr(split, use), device, use) for use in ("train", "valid", "test"))
    labels_digest, dates, codes = panel_digest(labels), labels.dates, labels.codes
    del labels  # closes a memory map opened here
    if not isinstance(features, Panel):
        features = Panel.load(features)
    if not np.array_equal(features.dates, dates):
        raise ValueError(f"feature and label panels have different dates "
                         f"({len(features.dates)} vs {len(dates)} days)")
    if not np.array_equal(features.codes, codes):
        diff = np.setxor1d(features.codes, codes)[:5]
        raise ValueError(f"feature and label panels have different codes, e.g. {list(diff)}")
    return TrainingData(features, train, valid, test, data_fingerprint(panel_digest(features), labels_digest))
