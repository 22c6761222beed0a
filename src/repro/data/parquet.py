"""Read the input contract (src/repro/contract.py, docs/data.md) into a `Market`.

Serves both `data.source: parquet` (your data) and `synthetic` (what `repro synth` writes).
Every table is scattered into dense [date, stock] arrays with vectorised indexing, so a
full-market history (5,000 stocks x 4,300 days, about 21 M daily rows) loads in seconds.
Validation with row-level messages lives in `repro.data.check`; this reader only refuses
what it cannot place (unknown codes, dates off the calendar, duplicate stock-days).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..contract import INDEX_NAMES, TABLES
from ..market import DAILY_FIELDS, Market
from .errors import DataError, rows_error

log = logging.getLogger(__name__)


def table_files(path: Path, table: str) -> list[Path]:
    """The files of one contract table under `path`, sorted (one or many for daily/minute/l2)."""
    pattern = TABLES[table][0]
    return sorted(path.glob(pattern))


def read_table(file: Path, columns: list[str] | None = None, dictionary=()) -> pa.Table:
    """Read a parquet file, turning a missing or unreadable file into a `DataError`;
    `dictionary` names string columns to read dictionary-encoded (fast for stock codes)."""
    try:
        return pq.read_table(file, columns=columns, read_dictionary=list(dictionary) or None)
    except FileNotFoundError:
        raise DataError(f"{file}: file not found") from None
    except (pa.ArrowInvalid, OSError) as e:
        raise DataError(f"{file}: cannot read parquet: {e}") from None


def as_dates(col) -> np.ndarray:
    """A date / timestamp column as datetime64[D] (NaT for nulls)."""
    if not pa.types.is_date32(col.type):
        col = pc.cast(col, pa.date32(), safe=False)  # pandas writes datetime64 as timestamps
    return np.asarray(col.to_numpy(zero_copy_only=False), dtype="datetime64[D]")


def as_strings(col) -> np.ndarray:
    if pa.types.is_dictionary(col.type):
        col = pc.cast(col, pa.string())
    return np.asarray(col.to_numpy(zero_copy_only=False), dtype=object).astype(str)


def as_float(col) -> np.ndarray:
    return np.asarray(pc.cast(col, pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)


def as_bool(col) -> np.ndarray:
    return np.asarray(pc.fill_null(col, False).to_numpy(zero_copy_only=False), dtype=bool)


def code_positions(col, codes: np.ndarray) -> np.ndarray:
    """Position of each row's code in `codes` (int64), -1 where the code is unknown."""
    value_set = pa.array(codes.tolist(), type=pa.string())
    if pa.types.is_dictionary(col.type):  # look up the few distinct codes, then gather
        col = col.unify_dictionaries() if isinstance(col, pa.ChunkedArray) else col
        chunks = col.chunks if isinstance(col, pa.ChunkedArray) else [col]
        if not chunks:
            return np.zeros(0, dtype=np.int64)
        words = pc.cast(chunks[0].dictionary, pa.string())
        lut = np.asarray(
            pc.fill_null(pc.index_in(words, value_set=value_set), -1).to_numpy(
                zero_copy_only=False
            ),
            dtype=np.int64,
        )
        return np.concatenate([lut[c.indices.to_numpy(zero_copy_only=False)] for c in chunks])
    idx = pc.index_in(col, value_set=value_set)
    return np.asarray(pc.fill_null(idx, -1).to_numpy(zero_copy_only=False), dtype=np.int64)


def date_positions(dates: np.ndarray, calendar: np.ndarray) -> np.ndarray:
    """Position of each date in the calendar (int64), -1 where the date is not a trading day."""
    cal = calendar.astype(np.int64)
    days = dates.astype("datetime64[D]").astype(np.int64)  # NaT -> int64 min
    lut = np.full(cal[-1] - cal[0] + 1, -1, dtype=np.int64)
    lut[cal - cal[0]] = np.arange(len(cal))
    off = days - cal[0]
    inside = (off >= 0) & (off < len(lut))
    out = np.full(len(days), -1, dtype=np.int64)
    out[inside] = lut[off[inside]]
    return out


def fill_intervals(
    n_dates: int, n_codes: int, code_idx, start_idx, end_idx, values, fill
) -> np.ndarray:
    """Dense [D, N] array holding `values[k]` on rows start_idx[k]..end_idx[k] of column
    code_idx[k], `fill` elsewhere. Intervals of one code must not overlap; where one ends
    the day before the next starts, the later one wins.

    Vectorised: each interval k (ranked r by start) marks its first row with label 2r+1 and
    the row after its last with 2r+2; labels grow with time within a column, so a running
    maximum down the dates forward-fills the latest event, and one gather maps labels to values.
    """
    values = np.asarray(values)
    code_idx, start_idx, end_idx = (
        np.asarray(a, dtype=np.int64) for a in (code_idx, start_idx, end_idx)
    )
    keep = (start_idx <= end_idx) & (start_idx < n_dates) & (end_idx >= 0)
    order = np.argsort(np.where(keep, start_idx, n_dates), kind="stable")[: int(keep.sum())]
    code_idx, values = code_idx[order], values[order]
    start_idx = np.maximum(start_idx[order], 0)
    end_idx = np.minimum(end_idx[order], n_dates - 1)
    rank = np.arange(len(order), dtype=np.int32)
    labels = np.zeros((n_dates + 1, n_codes), dtype=np.int32)
    labels[end_idx + 1, code_idx] = 2 * rank + 2
    labels[start_idx, code_idx] = 2 * rank + 1
    np.maximum.accumulate(labels, axis=0, out=labels)
    lookup = np.full(2 * len(order) + 1, fill, dtype=np.result_type(values.dtype, np.asarray(fill)))
    lookup[1::2] = values
    return lookup[labels[:n_dates]]


def read_calendar(path: Path) -> np.ndarray:
    file = path / TABLES["calendar"][0]
    dates = as_dates(read_table(file, ["date"]).column("date"))
    if len(dates) == 0:
        raise DataError(f"{file}: column 'date': calendar is empty")
    return dates


def read_stocks(path: Path) -> dict:
    """stocks.parquet as arrays sorted by code: code, list_date, delist_date (NaT), board."""
    t = read_table(path / TABLES["stocks"][0], ["code", "list_date", "delist_date", "board"])
    codes = as_strings(t.column("code"))
    order = np.argsort(codes, kind="stable")
    return {
        "code": codes[order],
        "list_date": as_dates(t.column("list_date"))[order],
        "delist_date": as_dates(t.column("delist_date"))[order],
        "board": as_strings(t.column("board"))[order],
    }


def listed_mask(calendar: np.ndarray, list_date: np.ndarray, delist_date: np.ndarray) -> np.ndarray:
    """bool [D, N]: list_date <= day <= delist_date (a null delist_date = still listed)."""
    last = np.where(np.isnat(delist_date), calendar[-1], delist_date)
    return (calendar[:, None] >= list_date[None, :]) & (calendar[:, None] <= last[None, :])


def read_industry(path: Path, calendar: np.ndarray, codes: np.ndarray):
    """Point-in-time industry intervals -> (int16 [D, N] codes, -1 unknown; sorted names)."""
    file = path / TABLES["industry"][0]
    t = read_table(file, ["code", "start_date", "end_date", "industry"])
    names_per_row = as_strings(t.column("industry"))
    names, ind = np.unique(names_per_row, return_inverse=True)
    ci = code_positions(t.column("code"), codes)
    if (ci < 0).any():
        raise rows_error(str(file), "code", "a code not in stocks.parquet", t, ci < 0)
    start = np.searchsorted(calendar, as_dates(t.column("start_date")), side="left")
    end_dates = as_dates(t.column("end_date"))
    end = np.where(
        np.isnat(end_dates),
        len(calendar) - 1,
        np.searchsorted(calendar, end_dates, side="right") - 1,
    )
    dense = fill_intervals(
        len(calendar), len(codes), ci, start, end, ind.astype(np.int16), np.int16(-1)
    )
    return dense.astype(np.int16), [str(n) for n in names]


def read_index_weights(
    path: Path, calendar: np.ndarray, codes: np.ndarray
) -> dict[str, np.ndarray]:
    """Constituent weights as of each effective date, held until that index's next date."""
    file = path / TABLES["index_weights"][0]
    t = read_table(file, ["date", "index", "code", "weight"])
    index = as_strings(t.column("index"))
    ci = code_positions(t.column("code"), codes)
    if (ci < 0).any():
        raise rows_error(str(file), "code", "a code not in stocks.parquet", t, ci < 0)
    dates, weight = as_dates(t.column("date")), as_float(t.column("weight"))
    out = {}
    for name in INDEX_NAMES:  # three indexes, not a loop over stocks
        rows = index == name
        if not rows.any():
            log.warning("%s: no weights for index %s; its universe is empty", file, name)
            out[name] = np.zeros((len(calendar), len(codes)))
            continue
        effective, e = np.unique(dates[rows], return_inverse=True)
        by_effective = np.zeros((len(effective), len(codes)))
        by_effective[e, ci[rows]] = weight[rows]
        pos = np.searchsorted(effective, calendar, side="right") - 1
        out[name] = np.where(pos[:, None] >= 0, by_effective[np.maximum(pos, 0)], 0.0)
    return out


def check_daily_years(path: Path, calendar: np.ndarray, listed: np.ndarray, seen: np.ndarray):
    """Raise a `DataError` naming daily/{YYYY}.parquet for each calendar year that has listed
    stock-days (stocks.parquet) but not one daily row: a missing or empty year file, which
    would otherwise read as a whole year of suspensions. Partly missing years stay a logged
    count of suspended stock-days (the callers' warning)."""
    year_of_day = calendar.astype("datetime64[Y]").astype(np.int64) + 1970
    years, inverse = np.unique(year_of_day, return_inverse=True)
    listed_days = np.bincount(inverse, weights=listed.sum(axis=1), minlength=len(years))
    rows = np.bincount(inverse, weights=seen.sum(axis=1), minlength=len(years))
    empty = np.flatnonzero((listed_days > 0) & (rows == 0))
    if not len(empty):
        return
    files = [path / "daily" / f"{years[k]}.parquet" for k in empty]
    what = "file not found" if not files[0].exists() else f"no row dated {years[empty[0]]}"
    days = int(np.sum(inverse == empty[0]))
    more = (
        f"; also no daily rows in {', '.join(str(years[k]) for k in empty[1:])}"
        if len(empty) > 1
        else ""
    )
    raise DataError(
        f"{files[0]}: {what}: calendar.parquet has {days} trading days in {years[empty[0]]} "
        f"with {int(listed_days[empty[0]]):,} listed stock-days (stocks.parquet), which would "
        f"all read as suspended{more}. Add the daily file(s), or start calendar.parquet "
        "after the missing year(s)"
    )


def read_contract(path: str | Path) -> Market:
    """Load the contract folder at `path` (daily tables only; minute / L2 are read per month
    by `repro.features.intraday`)."""
    path = Path(path)
    if not path.is_dir():
        raise DataError(f"{path}: data folder not found")
    calendar = read_calendar(path)
    stocks = read_stocks(path)
    codes = stocks["code"]
    D, N = len(calendar), len(codes)
    fields = {name: np.full((D, N), np.nan) for name in DAILY_FIELDS}
    is_st = np.zeros((D, N), dtype=bool)
    is_suspended = np.zeros((D, N), dtype=bool)
    seen = np.zeros(D * N, dtype=bool)
    files = table_files(path, "daily")
    if not files:
        raise DataError(f"{path / 'daily'}: no daily/*.parquet files")
    n_rows = 0
    for file in files:
        t = read_table(file, ["date", "code", *DAILY_FIELDS, "is_st", "is_suspended"], ["code"])
        ci = code_positions(t.column("code"), codes)
        di = date_positions(as_dates(t.column("date")), calendar)
        bad = (ci < 0) | (di < 0)
        if bad.any():
            what = (
                "a code not in stocks.parquet"
                if (ci < 0).any()
                else "a date not in calendar.parquet"
            )
            raise rows_error(
                str(file),
                "code" if (ci < 0).any() else "date",
                what,
                t,
                bad,
                ["date", "code", "close"],
            )
        flat = di * N + ci
        n_rows += len(flat)
        for name in DAILY_FIELDS:
            fields[name].reshape(-1)[flat] = as_float(t.column(name))
        is_st.reshape(-1)[flat] = as_bool(t.column("is_st"))
        is_suspended.reshape(-1)[flat] = as_bool(t.column("is_suspended"))
        seen[flat] = True
    if int(seen.sum()) != n_rows:
        raise DataError(
            f"{path / 'daily'}: {n_rows - int(seen.sum())} duplicate (date, code) rows;"
            " run `repro check-data` to list them"
        )
    listed = listed_mask(calendar, stocks["list_date"], stocks["delist_date"])
    check_daily_years(path, calendar, listed, seen.reshape(D, N))
    missing = listed & ~seen.reshape(D, N)
    if missing.any():
        # a listed stock-day without a row can only be a day without trading
        log.warning(
            "%s: %d listed stock-days (%.2f%%) have no daily row; treated as suspended",
            path / "daily",
            int(missing.sum()),
            100 * missing.sum() / max(listed.sum(), 1),
        )
        is_suspended |= missing
    industry, industry_names = read_industry(path, calendar, codes)
    return Market(
        dates=calendar,
        codes=codes,
        fields=fields,
        listed=listed,
        is_st=is_st,
        is_suspended=is_suspended,
        industry=industry,
        industry_names=industry_names,
        index_weights=read_index_weights(path, calendar, codes),
        board=stocks["board"],
        list_date=stocks["list_date"],
    )
