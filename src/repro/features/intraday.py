"""Raw daily `ms` / `l2` feature panels from the monthly minute and Level-2 files (SPEC §1, §3).

The month files (`minute/{YYYY}/{YYYYMM}.parquet`, `l2/{YYYY}/{YYYYMM}.parquet`, see
`repro.contract`) are streamed one trading day at a time: the rows of a day are scattered by
their `minute` column into dense [stocks of the day, 240] arrays (a missing minute stays NaN)
and reduced to one feature row per stock-day by `ms_features` / `l2_features`. Only one day
is in memory at a time (files normally hold one row group per day; correctness does not rely
on it, only memory does). A day's features use that day's rows only, so there is no
look-ahead.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from repro.contract import MINUTES_PER_DAY
from repro.features.l2 import L2_COLUMNS, L2_FEATURES, l2_features
from repro.features.ms import MS_FEATURES, ms_features
from repro.panel import Panel

log = logging.getLogger(__name__)

MS_COLUMNS = ["open", "high", "low", "close", "volume", "amount"]
FEATURES = {"ms": MS_FEATURES, "l2": L2_FEATURES}
# Stocks per call of the feature formulas: [256, 240] float64 temporaries stay in cache, which
# measured about twice as fast as one call on the whole day (docs/benchmarks.md, "Features").
BLOCK = 256


@dataclass
class DayRows:
    """One trading day of a month file as dense arrays."""

    day: int  # days since 1970-01-01
    pos: np.ndarray  # int64 [S], ascending positions in `codes` of the stocks with rows
    cols: dict[str, np.ndarray]  # column -> float64 [S, 240], NaN where the minute has no row
    dropped: int  # rows whose code is not in `codes`


def month_file(data_path, dataset: str, month: np.datetime64) -> Path:
    """Path of the month file holding the rows of `month` (contract layout)."""
    folder = {"ms": "minute", "l2": "l2"}[dataset]
    ym = str(np.datetime64(month, "M")).replace("-", "")
    return Path(data_path) / folder / ym[:4] / f"{ym}.parquet"


def iter_days(path, columns: list[str], codes_index: pd.Index):
    """Yield a `DayRows` per trading day of a month file, in date order.

    Row groups are read one at a time; a day that spans row groups is joined before it is
    yielded. Raises if a needed column is missing, if `minute` is outside 0..239 or null, or
    if the file is not sorted by date (a day seen again after a later day).
    """
    path = Path(path)
    pf = pq.ParquetFile(path, read_dictionary=["code"])
    needed = ["date", "code", "minute", *columns]
    missing = [c for c in needed if c not in pf.schema_arrow.names]
    if missing:
        raise KeyError(f"{path}: missing column(s) {missing} (contract: repro.contract)")
    pending: list[pa.Table] = []
    pending_day = None
    done: set[int] = set()
    for i in range(pf.num_row_groups):
        table = pf.read_row_group(i, columns=needed)
        days = _day_numbers(table.column("date"), path)
        starts = np.flatnonzero(np.r_[True, days[1:] != days[:-1]])
        ends = np.r_[starts[1:], len(days)]
        for a, b in zip(starts, ends):
            day = int(days[a])
            if day == pending_day:
                pending.append(table.slice(a, b - a))
                continue
            if pending:
                yield _scatter(pending_day, pa.concat_tables(pending), columns, codes_index, path)
            if day in done:
                raise ValueError(
                    f"{path}: rows are not sorted by date ({np.datetime64(day, 'D')} appears again "
                    f"after a later date, row group {i})"
                )
            done.add(day)
            pending, pending_day = [table.slice(a, b - a)], day
    if pending:
        yield _scatter(pending_day, pa.concat_tables(pending), columns, codes_index, path)


def _day_numbers(col: pa.ChunkedArray, path: Path) -> np.ndarray:
    """Dates as int64 days since the epoch (date32, date64 or timestamp columns)."""
    if col.null_count:
        raise ValueError(f"{path}: column 'date' has {col.null_count} null value(s)")
    if not pa.types.is_date32(col.type):
        col = col.cast(pa.date32())
    return col.cast(pa.int32()).to_numpy().astype(np.int64)


def _code_positions(col: pa.ChunkedArray, codes_index: pd.Index) -> np.ndarray:
    """Position of each row's code in `codes`, -1 for a code not there (or null)."""
    parts = []
    for chunk in col.chunks:
        if not pa.types.is_dictionary(chunk.type):
            chunk = chunk.dictionary_encode()
        lookup = codes_index.get_indexer(chunk.dictionary.to_pylist())
        idx = chunk.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
        parts.append(np.where(idx >= 0, lookup[np.maximum(idx, 0)], -1))
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def _scatter(day: int, table: pa.Table, columns, codes_index: pd.Index, path: Path) -> DayRows:
    pos = _code_positions(table.column("code"), codes_index)
    minute_col = table.column("minute")
    if minute_col.null_count:
        raise ValueError(f"{path}: column 'minute' has null values on {np.datetime64(day, 'D')}")
    minute = minute_col.to_numpy().astype(np.int64)
    bad = (minute < 0) | (minute >= MINUTES_PER_DAY)
    if bad.any():
        rows = table.filter(pa.array(bad)).select(["date", "code", "minute"]).slice(0, 5).to_pylist()
        raise ValueError(f"{path}: column 'minute' outside 0..{MINUTES_PER_DAY - 1}, e.g. {rows}")
    keep = pos >= 0
    all_kept = bool(keep.all())
    present = np.bincount(pos[keep], minlength=len(codes_index)) > 0
    stock_pos = np.flatnonzero(present)
    row = (np.cumsum(present) - 1)[pos if all_kept else pos[keep]]
    flat = row * MINUTES_PER_DAY + (minute if all_kept else minute[keep])
    shape = (len(stock_pos), MINUTES_PER_DAY)
    # A complete day in (stock, minute) order needs no scatter: the column is the array.
    in_place = all_kept and len(flat) == shape[0] * shape[1] and bool((flat == np.arange(len(flat))).all())
    if not in_place:
        twice = np.bincount(flat, minlength=shape[0] * shape[1]) > 1
        if twice.any():
            examples = np.flatnonzero(keep)[twice[flat]][:5]
            rows = table.take(pa.array(examples)).select(["date", "code", "minute"]).to_pylist()
            raise ValueError(f"{path}: duplicate (date, code, minute) rows, e.g. {rows}")
    cols = {}
    for c in columns:
        values = table.column(c).cast(pa.float64()).to_numpy()
        if in_place:
            cols[c] = values.reshape(shape)
            continue
        dense = np.full(shape[0] * shape[1], np.nan)
        dense[flat] = values if all_kept else values[keep]
        cols[c] = dense.reshape(shape)
    return DayRows(day, stock_pos, cols, int((~keep).sum()))


def _align_rows(src: DayRows, pos: np.ndarray, column: str) -> np.ndarray:
    """`src.cols[column]` rearranged to the stocks `pos` (NaN rows where src has none)."""
    out = np.full((len(pos), MINUTES_PER_DAY), np.nan)
    at = np.searchsorted(src.pos, pos)
    hit = at < len(src.pos)
    hit[hit] = src.pos[at[hit]] == pos[hit]
    out[hit] = src.cols[column][at[hit]]
    return out


def _blockwise(features, cols: dict, n: int, width: int) -> np.ndarray:
    """`features(block)` [rows, width] stacked over consecutive blocks of BLOCK stocks."""
    blocks = [features({c: x[i : i + BLOCK] for c, x in cols.items()}) for i in range(0, n, BLOCK)]
    return np.concatenate(blocks) if blocks else np.empty((0, width))


def _ms_block(cols: dict) -> np.ndarray:
    return ms_features(*(cols[c] for c in MS_COLUMNS))


def _l2_block(cols: dict) -> np.ndarray:
    return l2_features(cols, cols["close"])


def _ms_days(data_path, month, codes_index):
    path = month_file(data_path, "ms", month)
    for rows in iter_days(path, MS_COLUMNS, codes_index):
        yield rows, _blockwise(_ms_block, rows.cols, len(rows.pos), len(MS_FEATURES))


def _l2_days(data_path, month, codes_index):
    """L2 days, each with the minute closes of the same stock-days (for corr_inflow_ret)."""
    path = month_file(data_path, "l2", month)
    minute_path = month_file(data_path, "ms", month)
    if minute_path.exists():
        closes = iter_days(minute_path, ["close"], codes_index)
    else:
        log.warning("%s: no minute file for %s; corr_inflow_ret stays NaN", data_path, month)
        closes = iter([])
    current = next(closes, None)
    for rows in iter_days(path, L2_COLUMNS, codes_index):
        while current is not None and current.day < rows.day:
            current = next(closes, None)
        if current is not None and current.day == rows.day:
            rows.cols["close"] = _align_rows(current, rows.pos, "close")
        else:
            rows.cols["close"] = np.full((len(rows.pos), MINUTES_PER_DAY), np.nan)
        yield rows, _blockwise(_l2_block, rows.cols, len(rows.pos), len(L2_FEATURES))


def compute_year(data_path, dataset: str, year: int, dates, codes) -> Panel:
    """RAW daily `ms` (22) or `l2` (20) features of one calendar year (SPEC §1, §3).

    Returns a Panel [D_year, N, F] float32 over the trading days of `dates` in `year` and the
    stocks `codes`, NaN where a stock-day has no rows (suspended, not listed, or a month
    file absent — e.g. `l2` before 2014). attrs = {"dataset", "year"}. Rows of codes not in
    `codes` or of dates not in `dates` are skipped and counted in the log.
    """
    if dataset not in FEATURES:
        raise ValueError(f"compute_year: dataset must be 'ms' or 'l2', got {dataset!r}")
    names = FEATURES[dataset]
    dates = np.asarray(dates, dtype="datetime64[D]")
    codes = np.asarray(codes, dtype=str)
    days = dates[(dates >= np.datetime64(f"{year}-01-01")) & (dates <= np.datetime64(f"{year}-12-31"))]
    values = np.full((len(days), len(codes), len(names)), np.nan, dtype=np.float32)
    day_index = {int(d): i for i, d in enumerate(days.astype(np.int64))}
    codes_index = pd.Index(codes)
    stream = _ms_days if dataset == "ms" else _l2_days
    months = np.unique(days.astype("datetime64[M]"))
    filled = dropped_rows = skipped_days = 0
    for month in months:
        if not month_file(data_path, dataset, month).exists():
            log.warning("%s: no %s file for %s; its days stay NaN", data_path, dataset, month)
            continue
        for rows, feats in stream(data_path, month, codes_index):
            dropped_rows += rows.dropped
            i = day_index.get(rows.day)
            if i is None:
                skipped_days += 1
                continue
            values[i, rows.pos] = feats
            filled += len(rows.pos)
    if dropped_rows:
        log.warning("%s %d: skipped %d rows of codes outside the market", dataset, year, dropped_rows)
    if skipped_days:
        log.warning("%s %d: skipped %d file days outside the trading calendar", dataset, year, skipped_days)
    log.info("%s %d: %d stock-days of %d filled", dataset, year, filled, values.shape[0] * values.shape[1])
    return Panel(days, codes, names, values, attrs={"dataset": dataset, "year": int(year)})
