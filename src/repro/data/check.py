"""`repro check-data`: validate a data source against the contract and summarise it.

Checks (docs/data.md): required columns with the right dtype family (contract.TABLES),
sorted unique calendar, unique (date, code) in daily and (date, code, minute) in minute /
L2 files, dates on the calendar, known codes / boards / index names, positive prices on
trading days, high >= max(open, close), low <= min(open, close), non-negative volume and
amount, adj_factor > 0, limit_up >= limit_down, non-negative weights summing to 1 per
(date, index) within `WEIGHT_SUM_TOL`, a daily row in every calendar year with listed stocks,
minute in 0..239. The first violation raises `DataError` naming the file, the column and up to
five offending rows.

Minute and L2 files (a full-market year is about 300 M rows) are checked from parquet
metadata first, then streamed one row group at a time, so memory stays bounded.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .. import contract
from ..contract import BOARDS, INDEX_NAMES, MINUTES_PER_DAY, TABLES
from . import available_datasets
from ..atomic import atomic_file
from .errors import MAX_ROWS_SHOWN, DataError, rows_error
from .parquet import (
    as_bool,
    as_dates,
    as_float,
    as_strings,
    check_daily_years,
    code_positions,
    date_positions,
    read_table,
    table_files,
)

log = logging.getLogger(__name__)

PRICES = ("open", "high", "low", "close")
HALF_FEN = 0.005  # a close within half a fen of the limit price is at the limit
REL_TOL = 1e-6  # prices held in float32 (qlib, some vendors) differ by up to ~1e-7 relative
# |sum of a snapshot's weights - 1|: published weights rounded to 0.01% over 1,000 constituents
# sum to 1 within ~0.3%; a missing large constituent, a fraction of the index or percent fail
WEIGHT_SUM_TOL = 0.01


# ---------------------------------------------------------------- schema (parquet metadata)


def _in_family(t: pa.DataType, family: str) -> bool:
    if pa.types.is_dictionary(t):
        t = t.value_type
    if family == "date":
        return pa.types.is_date(t) or pa.types.is_timestamp(t)
    if family == "str":
        return pa.types.is_string(t) or pa.types.is_large_string(t)
    if family == "int":
        return pa.types.is_integer(t)
    if family == "float":  # integer volumes from a vendor dump are accepted and cast
        return pa.types.is_floating(t) or pa.types.is_integer(t)
    if family == "bool":
        return pa.types.is_boolean(t)
    raise ValueError(f"unknown dtype family {family}")


def check_schema(file: Path, label: str, schema: dict) -> pa.Schema:
    """Required columns present with the right dtype family, from the file's metadata only."""
    try:
        s = pq.read_schema(file)
    except (pa.ArrowInvalid, OSError) as e:
        raise DataError(f"{label}: cannot read parquet: {e}") from None
    missing = [c for c in schema if c not in s.names]
    if missing:
        raise DataError(
            f"{label}: column '{missing[0]}': missing (required: {', '.join(schema)}; "
            f"missing: {', '.join(missing)}; found: {', '.join(s.names)})"
        )
    for col, (family, meaning) in schema.items():
        t = s.field(col).type
        if not _in_family(t, family):
            first = pq.ParquetFile(file).read_row_group(0, columns=[col]).slice(0, MAX_ROWS_SHOWN)
            values = ", ".join(repr(v) for v in first.column(col).to_pylist())
            raise DataError(
                f"{label}: column '{col}': dtype {t} is not a {family} type "
                f"({meaning}); first values: {values}"
            )
    return s


def _no_nulls(t, label: str, columns) -> None:
    for col in columns:
        if t.column(col).null_count:
            raise rows_error(
                label, col, "a missing value", t, np.asarray(pc.is_null(t.column(col)))
            )


# ---------------------------------------------------------------- value rules


def bar_rules(v: dict, trading) -> list:
    """(column, description, bad mask, columns to print) for OHLC bars, volume and amount.

    `v` maps column -> float array (1-D rows or 2-D [date, stock]); `trading` marks rows
    that traded (suspended daily rows repeat the previous close and are exempt).
    """
    rules = []
    for p in PRICES + (("vwap",) if "vwap" in v else ()):
        rules.append((p, f"{p} <= 0 or missing on a trading day", trading & ~(v[p] > 0), [p]))
    hi = np.fmax(v["open"], v["close"])
    lo = np.fmin(v["open"], v["close"])
    bad_high = v["high"] < hi * (1 - REL_TOL)
    bad_low = v["low"] > lo * (1 + REL_TOL)
    rules.append(("high", "high < max(open, close)", bad_high, ["open", "high", "close"]))
    rules.append(("low", "low > min(open, close)", bad_low, ["open", "low", "close"]))
    for q in ("volume", "amount"):  # may be missing on a suspended day, never negative
        bad = (v[q] < 0) | (trading & np.isnan(v[q]))
        rules.append((q, f"{q} < 0, or missing on a trading day", bad, [q]))
    return rules


def daily_rules(v: dict, trading) -> list:
    return bar_rules(v, trading) + [
        ("adj_factor", "adj_factor <= 0 or missing", ~(v["adj_factor"] > 0), ["adj_factor"]),
        (
            "limit_up",
            "limit_up < limit_down",
            v["limit_up"] < v["limit_down"],
            ["limit_up", "limit_down"],
        ),
    ]


def _apply_rules(rules, label: str, t, keys=("date", "code")) -> None:
    for column, what, bad, show in rules:
        if bad.any():
            raise rows_error(label, column, what, t, bad, [*keys, *show])


# ---------------------------------------------------------------- the contract folder


def _check_calendar(path: Path) -> np.ndarray:
    file, label = path / TABLES["calendar"][0], TABLES["calendar"][0]
    check_schema(file, label, contract.CALENDAR)
    t = read_table(file, ["date"])
    _no_nulls(t, label, ["date"])
    dates = as_dates(t.column("date"))
    if len(dates) == 0:
        raise DataError(f"{label}: column 'date': calendar is empty")
    step = np.diff(dates.astype(np.int64))
    if (step <= 0).any():
        i = np.flatnonzero(step <= 0)
        what = "a date not after the previous one (calendar must be sorted and unique)"
        frame = pd.DataFrame({"previous": dates[i], "date": dates[i + 1]})
        raise rows_error(label, "date", what, frame, columns=["previous", "date"])
    return dates


def _check_stocks(path: Path) -> dict:
    file, label = path / TABLES["stocks"][0], TABLES["stocks"][0]
    check_schema(file, label, contract.STOCKS)
    t = read_table(file, list(contract.STOCKS))
    _no_nulls(t, label, ["code", "list_date", "board"])
    codes = as_strings(t.column("code"))
    _, first, counts = np.unique(codes, return_index=True, return_counts=True)
    dup = np.isin(codes, codes[first[counts > 1]])
    if dup.any():
        raise rows_error(label, "code", "a duplicate code", t, dup)
    board = as_strings(t.column("board"))
    bad = ~np.isin(board, BOARDS)
    if bad.any():
        raise rows_error(label, "board", f"an unknown board (known: {', '.join(BOARDS)})", t, bad)
    listed, delisted = as_dates(t.column("list_date")), as_dates(t.column("delist_date"))
    bad = ~np.isnat(delisted) & (delisted < listed)
    if bad.any():
        raise rows_error(label, "delist_date", "delist_date before list_date", t, bad)
    order = np.argsort(codes)
    return {"code": codes[order], "list_date": listed[order], "delist_date": delisted[order]}


def _check_industry(path: Path, codes: np.ndarray) -> dict:
    file, label = path / TABLES["industry"][0], TABLES["industry"][0]
    check_schema(file, label, contract.INDUSTRY)
    t = read_table(file, list(contract.INDUSTRY))
    _no_nulls(t, label, ["code", "start_date", "industry"])
    bad = code_positions(t.column("code"), codes) < 0
    if bad.any():
        raise rows_error(label, "code", "a code not in stocks.parquet", t, bad)
    start, end = as_dates(t.column("start_date")), as_dates(t.column("end_date"))
    bad = ~np.isnat(end) & (end < start)
    if bad.any():
        raise rows_error(label, "end_date", "end_date before start_date", t, bad)
    # Point-in-time intervals of one stock must not overlap: the reader could not tell which
    # classification holds on the shared days.
    code = as_strings(t.column("code"))
    order = np.lexsort((start, code))
    prev_end = np.roll(end[order], 1)
    same = np.r_[False, code[order][1:] == code[order][:-1]]
    overlap = same & (np.isnat(prev_end) | (start[order] <= prev_end))
    if overlap.any():
        bad = np.zeros(t.num_rows, dtype=bool)
        bad[order[overlap]] = True
        raise rows_error(label, "start_date", "an interval overlapping the same code's previous one", t, bad)
    return {"rows": t.num_rows, "industries": len(np.unique(as_strings(t.column("industry"))))}


def _check_index_weights(path: Path, codes: np.ndarray) -> dict:
    file, label = path / TABLES["index_weights"][0], TABLES["index_weights"][0]
    check_schema(file, label, contract.INDEX_WEIGHTS)
    t = read_table(file, list(contract.INDEX_WEIGHTS))
    _no_nulls(t, label, list(contract.INDEX_WEIGHTS))
    index = as_strings(t.column("index"))
    bad = ~np.isin(index, INDEX_NAMES)
    if bad.any():
        raise rows_error(
            label, "index", f"an unknown index name (known: {', '.join(INDEX_NAMES)})", t, bad
        )
    ci = code_positions(t.column("code"), codes)
    if (ci < 0).any():
        raise rows_error(label, "code", "a code not in stocks.parquet", t, ci < 0)
    weight = as_float(t.column("weight"))
    if (weight < 0).any():
        raise rows_error(label, "weight", "weight < 0", t, weight < 0)
    keys = pd.DataFrame({"d": as_dates(t.column("date")), "i": index, "c": ci})
    dup = keys.duplicated(keep=False).to_numpy()
    if dup.any():
        raise rows_error(label, "code", "a duplicate (date, index, code)", t, dup)
    _check_weight_sums(label, keys["d"].to_numpy(), index, weight)
    return {name: int(keys.loc[index == name, "d"].nunique()) for name in INDEX_NAMES}


def _check_weight_sums(label: str, dates: np.ndarray, index: np.ndarray, weight: np.ndarray):
    """Weights of each (date, index) snapshot sum to 1 within `WEIGHT_SUM_TOL`; sums near 100
    (vendors often publish percent) get a "percent?" hint."""
    sums = (
        pd.DataFrame({"date": dates, "index": index, "weight": weight})
        .groupby(["date", "index"], sort=True)["weight"]
        .agg(sum="sum", constituents="size")
        .reset_index()
    )
    bad = (sums["sum"] - 1).abs() > WEIGHT_SUM_TOL
    if not bad.any():
        return
    near_100 = int(((sums["sum"] - 100).abs() <= 100 * WEIGHT_SUM_TOL)[bad].sum())
    hint = (
        f" (percent? {near_100} of these sums are near 100: divide the weights by 100)"
        if near_100
        else ""
    )
    raise rows_error(
        label,
        "weight",
        f"weights summing to other than 1 (tolerance {WEIGHT_SUM_TOL}){hint}",
        sums,
        bad.to_numpy(),
        noun="(date, index) pair",
    )


def _check_daily(path: Path, calendar: np.ndarray, stocks: dict) -> dict:
    files = table_files(path, "daily")
    if not files:
        raise DataError(f"daily/: no daily/*.parquet files under {path}")
    codes = stocks["code"]
    D, N = len(calendar), len(codes)
    seen = np.zeros(D * N, dtype=bool)
    first_day = stocks["list_date"].astype(np.int64)
    last_day = (
        np.where(np.isnat(stocks["delist_date"]), calendar[-1], stocks["delist_date"])
        .astype("datetime64[D]")
        .astype(np.int64)
    )
    counts = {"rows": 0, "suspended": 0, "limit_up": 0, "limit_down": 0}
    present: list[str] = []
    for file in files:
        label = str(file.relative_to(path))
        schema = check_schema(file, label, contract.DAILY)
        present = present or list(schema.names)
        t = read_table(file, list(contract.DAILY), ["code"])
        _no_nulls(t, label, ["date", "code", "is_suspended"])
        dates = as_dates(t.column("date"))
        di = date_positions(dates, calendar)
        if (di < 0).any():
            raise rows_error(
                label,
                "date",
                "a date not in calendar.parquet",
                t,
                di < 0,
                ["date", "code", "close"],
            )
        ci = code_positions(t.column("code"), codes)
        if (ci < 0).any():
            raise rows_error(
                label, "code", "a code not in stocks.parquet", t, ci < 0, ["date", "code", "close"]
            )
        flat = di * N + ci
        order = np.argsort(flat, kind="stable")
        again = np.zeros(len(flat), dtype=bool)
        again[order[1:]] = flat[order][1:] == flat[order][:-1]
        dup = again | seen[flat]  # within this file, or already in an earlier file
        if dup.any():
            raise rows_error(
                label, "code", "a duplicate (date, code)", t, dup, ["date", "code", "close"]
            )
        seen[flat] = True
        day = dates.astype(np.int64)
        bad = (day < first_day[ci]) | (day > last_day[ci])
        if bad.any():
            raise rows_error(
                label,
                "date",
                "a date outside [list_date, delist_date] of stocks.parquet",
                t,
                bad,
                ["date", "code", "close"],
            )
        v = {c: as_float(t.column(c)) for c, (fam, _) in contract.DAILY.items() if fam == "float"}
        suspended = as_bool(t.column("is_suspended"))
        _apply_rules(daily_rules(v, ~suspended), label, t)
        counts["rows"] += t.num_rows
        counts["suspended"] += int(suspended.sum())
        counts["limit_up"] += int((~suspended & (v["close"] >= v["limit_up"] - HALF_FEN)).sum())
        counts["limit_down"] += int((~suspended & (v["close"] <= v["limit_down"] + HALF_FEN)).sum())
    cal = calendar.astype(np.int64)
    listed = (cal[:, None] >= first_day[None, :]) & (cal[:, None] <= last_day[None, :])
    check_daily_years(path, calendar, listed, seen.reshape(D, N))
    missing = int((listed & ~seen.reshape(D, N)).sum())
    if missing:
        log.warning("daily/: %d listed stock-days have no row (read as suspended)", missing)
    day_seen = seen.reshape(D, N).any(axis=1)
    return {
        **counts,
        "files": len(files),
        "fields": present,
        "missing_listed_rows": missing,
        "first": str(calendar[day_seen][0]),
        "last": str(calendar[day_seen][-1]),
    }


def _intraday_rules(table: str, v: dict) -> list:
    if table == "minute":
        return bar_rules(v, np.ones(len(v["open"]), dtype=bool))
    return [(col, f"{col} < 0", v[col] < 0, [col]) for col in v]


def _check_intraday(path: Path, table: str, calendar: np.ndarray, codes: np.ndarray) -> dict:
    """Minute or L2 files: schema of every file from metadata, then values row group by row group.

    Rows must be sorted by (date, code, minute): each row's integer key
    (calendar position, code position, minute) must exceed the previous row's, which checks
    order and uniqueness in one pass with bounded memory (codes are sorted, so code position
    order is string order).
    """
    schema = TABLES[table][1]
    files = table_files(path, table)
    for file in files:
        check_schema(file, str(file.relative_to(path)), schema)
    month_of_day = calendar.astype("datetime64[M]").astype(np.int64)
    floats = [c for c, (fam, _) in schema.items() if fam == "float"]
    keys = ["date", "code", "minute"]
    rows = 0
    for file in files:
        label = str(file.relative_to(path))
        try:  # minute/{YYYY}/{YYYYMM}.parquet
            month = (int(file.stem[:4]) - 1970) * 12 + int(file.stem[4:6]) - 1
        except ValueError:
            raise DataError(f"{label}: file name is not {{YYYYMM}}.parquet") from None
        pf = pq.ParquetFile(file, read_dictionary=["code"])
        prev = None
        for g in range(pf.num_row_groups):
            t = pf.read_row_group(g, columns=list(schema))
            _no_nulls(t, label, keys)
            minute = np.asarray(t.column("minute").to_numpy(), dtype=np.int64)
            bad = (minute < 0) | (minute >= MINUTES_PER_DAY)
            if bad.any():
                raise rows_error(
                    label, "minute", f"minute outside 0..{MINUTES_PER_DAY - 1}", t, bad, keys
                )
            di = date_positions(as_dates(t.column("date")), calendar)
            if (di < 0).any():
                raise rows_error(label, "date", "a date not in calendar.parquet", t, di < 0, keys)
            bad = month_of_day[di] != month
            if bad.any():
                raise rows_error(
                    label, "date", f"a date outside the file's month {file.stem}", t, bad, keys
                )
            ci = code_positions(t.column("code"), codes)
            if (ci < 0).any():
                raise rows_error(label, "code", "a code not in stocks.parquet", t, ci < 0, keys)
            key = (di * len(codes) + ci) * MINUTES_PER_DAY + minute
            step = np.diff(key, prepend=key[0] - 1 if prev is None else prev)
            if (step == 0).any():
                raise rows_error(
                    label, "minute", "a duplicate (date, code, minute)", t, step == 0, keys
                )
            if (step < 0).any():
                raise rows_error(
                    label,
                    "minute",
                    "a row out of (date, code, minute) order " "(files must be sorted)",
                    t,
                    step < 0,
                    keys,
                )
            v = {c: as_float(t.column(c)) for c in floats}
            _apply_rules(_intraday_rules(table, v), label, t, keys)
            prev = key[-1]
            rows += t.num_rows
    return {"files": len(files), "rows": rows}


def check_contract(path: Path) -> dict:
    """Validate the contract folder at `path` and return its summary (see `check_data`)."""
    calendar = _check_calendar(path)
    stocks = _check_stocks(path)
    codes = stocks["code"]
    industry = _check_industry(path, codes)
    index_dates = _check_index_weights(path, codes)
    daily = _check_daily(path, calendar, stocks)
    rows = {
        "calendar": len(calendar),
        "stocks": len(codes),
        "industry": industry["rows"],
        "daily": daily["rows"],
    }
    files = {"daily": daily["files"]}
    for table in ("minute", "l2"):
        if (path / table).is_dir():
            got = _check_intraday(path, table, calendar, codes)
            rows[table], files[table] = got["rows"], got["files"]
    rows["index_weights"] = pq.ParquetFile(path / TABLES["index_weights"][0]).metadata.num_rows
    n = max(daily["rows"], 1)
    return {
        "stocks": len(codes),
        "calendar": {"first": str(calendar[0]), "last": str(calendar[-1]), "days": len(calendar)},
        "daily_dates": {"first": daily["first"], "last": daily["last"]},
        "rows": rows,
        "files": files,
        "fields_present": daily["fields"],
        "missing_fields": {},
        "industries": industry["industries"],
        "index_effective_dates": index_dates,
        "missing_listed_rows": daily["missing_listed_rows"],
        "suspended_share": daily["suspended"] / n,
        "limit_up_share": daily["limit_up"] / n,
        "limit_down_share": daily["limit_down"] / n,
    }


# ---------------------------------------------------------------- qlib

QLIB_NAME = {"adj_factor": "factor"}  # Market field -> qlib feature file


def check_qlib(path: Path) -> dict:
    """Validate a qlib provider directory (calendar, instruments, .bin files, bar values)."""
    from .qlib import OPTIONAL_FIELDS, REQUIRED_FIELDS, feature_folders, read_calendar, read_qlib

    calendar = read_calendar(path)
    step = np.diff(calendar.astype(np.int64))
    if (step <= 0).any():
        i = np.flatnonzero(step <= 0)
        frame = pd.DataFrame({"line": i + 2, "previous": calendar[i], "date": calendar[i + 1]})
        raise rows_error(
            "calendars/day.txt",
            "date",
            "a date not after the previous one (calendar must be sorted and unique)",
            frame,
        )
    m = read_qlib(path)
    f = m.fields
    trading = m.listed & ~m.is_suspended
    v = {
        **{k: f[k] for k in ("open", "high", "low", "close", "vwap", "adj_factor")},
        "volume": np.where(m.listed, f["volume"], 0.0),
        "amount": np.where(m.listed, f["amount"], 0.0),
    }
    rules = bar_rules(v, trading) + [
        ("adj_factor", "factor <= 0 or missing", trading & ~(v["adj_factor"] > 0), ["adj_factor"])
    ]
    for column, what, bad, show in rules:
        if bad.any():
            d, n = np.nonzero(bad)
            frame = pd.DataFrame(
                {
                    "date": m.dates[d[:MAX_ROWS_SHOWN]],
                    "code": m.codes[n[:MAX_ROWS_SHOWN]],
                    **{c: f[c][d[:MAX_ROWS_SHOWN], n[:MAX_ROWS_SHOWN]] for c in show},
                }
            )
            folder = feature_folders(path, m.codes[n[:1]])[0] or m.codes[n[0]].lower()
            label = f"features/{folder}/{QLIB_NAME.get(column, column)}.day.bin"
            raise rows_error(
                label, column, f"{what} (raw = qlib value / factor)", frame, n_total=int(bad.sum())
            )
    known = set(REQUIRED_FIELDS + OPTIONAL_FIELDS)
    files = (path / "features").glob("*/*.day.bin")
    present = sorted({f.name.split(".")[0] for f in files} & known)
    n = max(int(m.listed.sum()), 1)
    traded = m.listed & ~m.is_suspended
    close = f["close"]
    with np.errstate(invalid="ignore"):
        up = int((traded & (close >= f["limit_up"] - HALF_FEN)).sum())
        down = int((traded & (close <= f["limit_down"] + HALF_FEN)).sum())
    has_data = m.listed.any(axis=1)
    return {
        "stocks": len(m.codes),
        "calendar": {"first": str(calendar[0]), "last": str(calendar[-1]), "days": len(calendar)},
        "daily_dates": {
            "first": str(m.dates[has_data][0]) if has_data.any() else None,
            "last": str(m.dates[has_data][-1]) if has_data.any() else None,
        },
        "rows": {
            "calendar": len(calendar),
            "instruments": len(m.codes),
            "listed_stock_days": int(m.listed.sum()),
        },
        "fields_present": present,
        "missing_fields": dict(m.proxies),
        "industries": len(m.industry_names),
        "suspended_share": int(m.is_suspended.sum()) / n,
        "limit_up_share": up / n,
        "limit_down_share": down / n,
    }


# ---------------------------------------------------------------- entry points


def check_data(data_cfg: dict) -> dict:
    """Validate the data source of `data_cfg` ({"source", "path"}) and return a summary dict:
    stocks, date range, rows per table, fields present, missing fields -> proxy, datasets
    available, shares of suspended / limit-up / limit-down stock-days. Raises `DataError`."""
    source, path = data_cfg.get("source", "synthetic"), Path(data_cfg["path"])
    if not path.is_dir():
        hint = " (run `repro synth` first)" if source == "synthetic" else ""
        raise DataError(f"{path}: data folder not found{hint}")
    if source == "qlib":
        summary = check_qlib(path)
    elif source in ("synthetic", "parquet"):
        summary = check_contract(path)
    else:
        raise DataError(f"unknown data source {source!r} (synthetic | parquet | qlib)")
    return {
        "source": source,
        "path": str(path),
        **summary,
        "datasets": available_datasets(data_cfg),
    }


def format_summary(s: dict) -> str:
    lines = [
        f"data source {s['source']} at {s['path']}: OK",
        f"  stocks: {s['stocks']}",
        f"  calendar: {s['calendar']['first']} .. {s['calendar']['last']} "
        f"({s['calendar']['days']} days)",
        f"  daily rows from {s['daily_dates']['first']} to {s['daily_dates']['last']}",
        "  rows: " + ", ".join(f"{k} {v:,}" for k, v in s["rows"].items()),
        "  fields: " + ", ".join(s["fields_present"]),
        f"  datasets available: {', '.join(s['datasets'])}",
        f"  suspended stock-days: {s['suspended_share']:.2%}; at limit-up: "
        f"{s['limit_up_share']:.2%}; at limit-down: {s['limit_down_share']:.2%}",
    ]
    if s["missing_fields"]:
        lines.append("  missing fields and the proxies used:")
        lines += [f"    {k}: {v}" for k, v in s["missing_fields"].items()]
    return "\n".join(lines)


def _write_atomic(path: Path, text: str) -> None:
    with atomic_file(path) as tmp:
        tmp.write_text(text)


def check_data_cli(data_cfg: dict, summary_path: str | None = None) -> int:
    """`repro check-data`: print the summary (and write it as JSON) or the error; exit code."""
    try:
        summary = check_data(data_cfg)
    except DataError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(format_summary(summary))
    if summary_path:
        _write_atomic(Path(summary_path), json.dumps(summary, indent=1) + "\n")
    return 0
