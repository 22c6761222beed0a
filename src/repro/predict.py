"""Inference (SPEC §5): predictions of all days of a split in a few batched forwards, each day's
batch norms with that day's own statistics (segmented), and the per-seed prediction parquet."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch

from .atomic import atomic_file
from .day_batches import DayBatch
from .model import FactorGRU
from .windows import WindowSource

# Floats one forward may hold: its windows twice (gathered, then time-major) and one step's gate
# tensors, ≈ 2 T F + 12 H floats a sequence. 2**25 floats (128 MiB) take a whole demo split
# (≈ 240 days × 225 stocks, T = 10, H = 32) in one forward and ≈ 6 full-market days (T = 40,
# H = 64) at a time, below one training day's activations (docs/benchmarks.md), so predicting
# does not raise a job's peak memory.
MAX_FLOATS = 1 << 25


def max_rows(model: FactorGRU, source: WindowSource) -> int:
    """Sequences per forward within MAX_FLOATS for this model and window source."""
    per_row = 2 * source.window * source.values.shape[-1] + 12 * model.gru.hidden_size
    return max(1, MAX_FLOATS // per_row)


def chunks(sizes: Sequence[int], max_rows: int) -> list[slice]:
    """Consecutive runs of days whose sizes sum to ≤ max_rows (a larger day alone)."""
    out, start, rows = [], 0, 0
    for i, n in enumerate(sizes):
        if rows and rows + n > max_rows:
            out.append(slice(start, i))
            start, rows = i, 0
        rows += n
    if len(sizes):
        out.append(slice(start, len(sizes)))
    return out


@torch.no_grad()
def predict(model: FactorGRU, source: WindowSource, batches: Sequence[DayBatch],
            rows: int | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """(prediction [n], units [n, K]) per day batch; batch norms use that day's statistics.

    Days are stacked into forwards of ≤ `rows` sequences (default `max_rows`) with segmented
    batch norms (`FactorGRU.forward(x, counts)`): equal to a forward per day to float rounding.
    """
    model.eval()
    batches = list(batches)
    out = []
    for part in chunks([len(b.stocks) for b in batches], rows or max_rows(model, source)):
        days = batches[part]
        x = torch.cat([source.gather(b.day, b.stocks) for b in days])
        counts = torch.tensor([len(b.stocks) for b in days], device=x.device)
        prediction, units = model(x, counts)
        sizes = counts.tolist()
        out += zip((p.numpy() for p in prediction.cpu().split(sizes)), (u.numpy() for u in units.cpu().split(sizes)))
    return out


def write_predictions(path, dates: np.ndarray, codes: np.ndarray, batches: Sequence[DayBatch], outputs,
                      multi: bool) -> None:
    """Per-seed prediction parquet: date (date32), code (str), prediction (float32)[, unit_kk …]."""
    day_idx = np.concatenate([np.full(len(b.stocks), b.day) for b in batches]) if batches else np.zeros(0, int)
    stock_idx = np.concatenate([b.stocks.cpu().numpy() for b in batches]) if batches else np.zeros(0, int)
    columns = {
        "date": pa.array(dates[day_idx].astype("datetime64[D]"), type=pa.date32()),
        "code": pa.array(codes[stock_idx].astype(str), type=pa.string()),
        "prediction": pa.array(np.concatenate([p for p, _ in outputs]) if outputs else np.zeros(0, np.float32),
                               type=pa.float32()),
    }
    if multi and outputs:
        units = np.concatenate([u for _, u in outputs])
        for k in range(units.shape[1]):
            columns[f"unit_{k:02d}"] = pa.array(units[:, k], type=pa.float32())
    with atomic_file(path) as tmp:
        pq.write_table(pa.table(columns), tmp)
