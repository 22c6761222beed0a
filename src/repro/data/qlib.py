"""Read a qlib provider directory (`data.source: qlib`) into a `Market`.

Layout (qlib's `dump_bin` format)::

    calendars/day.txt                       one trading day per line
    instruments/all.txt                     code <TAB> start <TAB> end: the universe
    instruments/csi300.txt (csi500, csi1000) membership intervals, if present
    features/<code>/<field>.day.bin
        little-endian float32; the FIRST value is the calendar index of the first row,
        then one value per calendar day from there

Folders made outside `dump_bin` are read with qlib's own semantics (qlib's `FileCalendarStorage`,
`FileInstrumentStorage`, `FileFeatureStorage`), each deviation logged with its count:
stock folders in upper case (matched case-insensitively; two folders differing only by case
are an error), blank lines or CRLF in the text files, a code on several lines of all.txt
(several listing intervals, listed on their union), a field file covering fewer days than the
listing (the uncovered days are missing), and vwap / amount / change files absent for some or
all stocks (proxies below). A truncated .bin file or a stock folder without a required field
is an error naming the file.

qlib stores ADJUSTED prices ($open ... $vwap = raw x $factor) and adjusted volume
($volume = raw / $factor); the `Market` carries raw prices and `adj_factor = $factor`.
qlib cannot supply market cap, industry, the ST flag, limit prices or index weights: each
gets a named proxy, logged at WARNING and recorded in `Market.proxies` (docs/data.md, "qlib").
The `ms` and `l2` datasets need minute / Level-2 files and are skipped for qlib sources.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..contract import INDEX_NAMES, limit_prices
from ..market import DAILY_FIELDS, Market
from .errors import DataError, rows_error

log = logging.getLogger(__name__)

REQUIRED_FIELDS = ("open", "high", "low", "close", "volume", "factor")
OPTIONAL_FIELDS = ("vwap", "amount", "change", "turnover", "mcap")
MCAP_WINDOW = 20  # trading days of amount averaged into the size proxy

# Dates from which ChiNext (300/301) and STAR (688/689) trade with ±20% limits (SPEC §1).
CHINEXT_20PCT = np.datetime64("2020-08-24")
STAR_START = np.datetime64("2019-07-22")


def _lines(file: Path) -> tuple[list[tuple[int, str]], int]:
    """(line number, stripped text) of the non-blank lines of a text file, and the number of
    blank lines skipped. CRLF endings and a UTF-8 byte-order mark are accepted."""
    numbered = [
        (i + 1, s.strip()) for i, s in enumerate(file.read_text(encoding="utf-8-sig").splitlines())
    ]
    kept = [(i, s) for i, s in numbered if s]
    return kept, len(numbered) - len(kept)


def _parse_days(file: Path, column: str, numbered: list[tuple[int, str]]) -> np.ndarray:
    """datetime64[D] of the first 10 characters of each text; an error names the first bad line."""
    try:
        return np.array([s[:10] for _, s in numbered], dtype="datetime64[D]")
    except ValueError:
        for i, s in numbered:
            try:
                np.datetime64(s[:10], "D")
            except ValueError:
                raise DataError(
                    f"{file}: column '{column}': line {i}: cannot parse a date in {s!r}"
                ) from None
        raise


def read_calendar(path: Path) -> np.ndarray:
    """calendars/day.txt as datetime64[D]. Blank lines (a trailing empty line, CRLF files) are
    skipped and counted in the log, as qlib's `FileCalendarStorage` skips them."""
    file = path / "calendars" / "day.txt"
    if not file.is_file():
        raise DataError(f"{file}: qlib calendar not found")
    numbered, blank = _lines(file)
    if blank:
        log.warning("%s: %d blank line(s) skipped", file, blank)
    dates = _parse_days(file, "date", numbered)
    if len(dates) == 0:
        raise DataError(f"{file}: column 'date': calendar is empty")
    return dates


def read_instruments(file: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(code, start, end) arrays of an instruments file, one entry per line; codes upper-cased.

    As qlib's `FileInstrumentStorage`: tab-separated, the first three fields used, blank lines
    skipped, and a code on several lines has several listing intervals (their union counts).
    """
    numbered, blank = _lines(file)
    if blank:
        log.warning("%s: %d blank line(s) skipped", file, blank)
    rows = [(i, s.split("\t")) for i, s in numbered]
    bad = [(i, "\t".join(r)) for i, r in rows if len(r) < 3]
    if bad:
        shown = "\n".join(f"  line {i}: {r!r}" for i, r in bad[:5])
        raise DataError(
            f"{file}: column 'code, start, end': {len(bad)} lines without three "
            f"tab-separated fields:\n{shown}"
        )
    codes = np.array([r[0].strip().upper() for _, r in rows], dtype=str)
    start = _parse_days(file, "start", [(i, r[1].strip()) for i, r in rows])
    end = _parse_days(file, "end", [(i, r[2].strip()) for i, r in rows])
    inverted = np.flatnonzero(end < start)
    if len(inverted):
        shown = "\n".join(f"  line {rows[k][0]}: {numbered[k][1]!r}" for k in inverted[:5])
        raise DataError(
            f"{file}: column 'end': {len(inverted)} lines with end before start:\n{shown}"
        )
    return codes, start, end


def interval_positions(calendar: np.ndarray, start: np.ndarray, end: np.ndarray):
    """Calendar positions of the first and last trading day inside [start, end]."""
    return (
        np.searchsorted(calendar, start, side="left"),
        np.searchsorted(calendar, end, side="right") - 1,
    )


def interval_union(n_dates: int, n_codes: int, code_idx, start_idx, end_idx) -> np.ndarray:
    """bool [D, N]: True on rows start_idx[k]..end_idx[k] of column code_idx[k] for any k.

    Intervals of one code may overlap or touch: qlib ORs a stock's spans (its dataset
    processor masks `index >= begin & index <= end` per span), so this takes their union via
    a +1 / -1 difference array summed down the dates.
    """
    code_idx, start_idx, end_idx = (
        np.asarray(a, dtype=np.int64) for a in (code_idx, start_idx, end_idx)
    )
    start_idx = np.maximum(start_idx, 0)
    end_idx = np.minimum(end_idx, n_dates - 1)
    keep = start_idx <= end_idx
    delta = np.zeros((n_dates + 1, n_codes), dtype=np.int32)
    np.add.at(delta, (start_idx[keep], code_idx[keep]), 1)
    np.add.at(delta, (end_idx[keep] + 1, code_idx[keep]), -1)
    return np.cumsum(delta[:-1], axis=0) > 0


def feature_folders(path: Path, codes: np.ndarray) -> np.ndarray:
    """The folder under features/ of each code ('' where none), matched case-insensitively.

    qlib's `dump_bin` writes lower-case folders (`features/sh600000/`); folders made on
    case-insensitive file systems often keep the upper case of instruments/*.txt
    (`features/SH600000/`). Both are read; two folders whose names differ only by case
    are an error, since either could be the stock's.
    """
    root = path / "features"
    if not root.is_dir():
        raise DataError(f"{root}: qlib features folder not found")
    by_lower: dict[str, list[str]] = {}
    with os.scandir(root) as entries:
        for entry in entries:
            if entry.is_dir():
                by_lower.setdefault(entry.name.lower(), []).append(entry.name)
    clashes = sorted(sorted(names) for names in by_lower.values() if len(names) > 1)
    if clashes:
        shown = "\n".join(f"  {root / a} and {root / b}" for a, b, *_ in clashes[:5])
        raise DataError(
            f"{root}: {len(clashes)} stock folder name(s) differ only by case; keep one of "
            f"each:\n{shown}"
        )
    folders = np.array([by_lower.get(c.lower(), [""])[0] for c in codes], dtype=object)
    found = folders != ""
    not_lower = int(sum(f != c.lower() for f, c in zip(folders[found], codes[found])))
    if not_lower:
        log.info(
            "%s: %d of %d stock folders are not lower case (not qlib's dump_bin layout); "
            "matched to instruments/*.txt case-insensitively",
            root,
            not_lower,
            int(found.sum()),
        )
    unused = len(by_lower) - int(found.sum())
    if unused:
        log.info("%s: %d stock folders not in instruments/all.txt; not read", root, unused)
    return folders.astype(str)


def read_bin(file: Path, n_dates: int) -> tuple[int, np.ndarray]:
    """(first calendar index, float32 values) of one qlib .day.bin file."""
    size = file.stat().st_size
    if size % 4:
        raise DataError(
            f"{file}: {size} bytes is not a whole number of float32 values (truncated file?)"
        )
    raw = np.fromfile(file, dtype="<f4")
    if len(raw) == 0:
        raise DataError(f"{file}: empty qlib feature file (no start index)")
    first = raw[0]
    if not (np.isfinite(first) and first == int(first) and 0 <= first < n_dates):
        raise DataError(f"{file}: first value {first} is not a calendar index in [0, {n_dates})")
    first = int(first)
    values = raw[1:]
    if first + len(values) > n_dates:
        raise DataError(
            f"{file}: {len(values)} values from calendar index {first} run past the "
            f"calendar end ({n_dates} days in calendars/day.txt)"
        )
    return first, values


def read_features(path: Path, codes: np.ndarray, listed: np.ndarray, calendar: np.ndarray):
    """({field: float64 [D, N], NaN where a stock has no value}, {field: bool [N], the stocks
    with that field's file}) for every field some stock has.

    A file that starts after its stock's first listed day or ends before its last is read as
    qlib reads it (`FileFeatureStorage` returns only the stored days; the rest are NaN) and
    counted in the log. A stock folder without one of `REQUIRED_FIELDS` is an error.
    qlib keeps one file per stock and field, so this reads file by file (I/O bound) into
    stock-major float32 buffers (contiguous writes), transposed once at the end.
    """
    n_dates = len(calendar)
    folders = feature_folders(path, codes)
    root = path / "features"
    any_listed = listed.any(axis=0)
    first_listed = np.where(any_listed, listed.argmax(axis=0), n_dates)
    last_listed = np.where(any_listed, n_dates - 1 - listed[::-1].argmax(axis=0), -1)
    by_stock: dict[str, np.ndarray] = {}
    has_file = {f: np.zeros(len(codes), dtype=bool) for f in REQUIRED_FIELDS + OPTIONAL_FIELDS}
    lacking: list[str] = []
    short: list[str] = []
    short_days = 0
    for j, folder_name in enumerate(folders):
        if not folder_name:
            continue
        folder = root / folder_name
        absent = [f for f in REQUIRED_FIELDS if not (folder / f"{f}.day.bin").is_file()]
        if absent:
            lacking.append(f"  {folder}: no {', '.join(f + '.day.bin' for f in absent)}")
        for field in REQUIRED_FIELDS + OPTIONAL_FIELDS:
            file = folder / f"{field}.day.bin"
            if not file.is_file():
                continue
            first, values = read_bin(file, n_dates)
            if field not in by_stock:
                by_stock[field] = np.full((len(codes), n_dates), np.nan, dtype=np.float32)
            by_stock[field][j, first : first + len(values)] = values
            has_file[field][j] = True
            end = first + len(values) - 1
            if any_listed[j] and (first > first_listed[j] or end < last_listed[j]):
                uncovered = int(listed[: first, j].sum() + listed[end + 1 :, j].sum())
                if uncovered:
                    short_days += uncovered
                    short.append(
                        f"{file} covers {calendar[first]}..{calendar[max(end, first)]}, listed "
                        f"{calendar[first_listed[j]]}..{calendar[last_listed[j]]}"
                    )
    if lacking:
        shown = "\n".join(lacking[:5]) + (
            f"\n  ... and {len(lacking) - 5} more" if len(lacking) > 5 else ""
        )
        raise DataError(
            f"{root}: {len(lacking)} stock folder(s) lack a required field "
            f"({', '.join(REQUIRED_FIELDS)}):\n{shown}"
        )
    if short:
        log.warning(
            "%s: %d field file(s) cover fewer days than their stock's listing in "
            "instruments/all.txt; the %d listed stock-days outside them are missing, as qlib "
            "reads them (a missing close or volume = suspended), e.g. %s",
            root,
            len(short),
            short_days,
            "; ".join(short[:3]),
        )
    missing_dirs = int((folders == "").sum())
    if missing_dirs:
        log.warning(
            "%s: %d of %d instruments have no features folder; their fields are NaN",
            root,
            missing_dirs,
            len(codes),
        )
    fields = {f: np.array(v.T, dtype=np.float64, order="C") for f, v in by_stock.items()}
    return fields, has_file


def board_of(codes: np.ndarray) -> np.ndarray:
    """main | chinext | star from the six digits of a code (SZ300750, 300750.SZ, ...)."""
    prefix = np.array([m.group(0)[:3] if (m := re.search(r"\d{6}", c)) else "" for c in codes])
    return np.where(
        np.isin(prefix, ["300", "301"]),
        "chinext",
        np.where(np.isin(prefix, ["688", "689"]), "star", "main"),
    ).astype(str)


def forward_fill(x: np.ndarray) -> np.ndarray:
    """Forward fill NaN along axis 0 (dates), per column; leading NaN stay NaN."""
    rows = np.where(np.isnan(x), 0, np.arange(len(x))[:, None])
    np.maximum.accumulate(rows, axis=0, out=rows)
    return x[rows, np.arange(x.shape[1])[None, :]]


def trailing_mean(x: np.ndarray, window: int) -> np.ndarray:
    """Mean of the last `window` days up to and including t, NaN ignored (no look-ahead)."""
    valid = ~np.isnan(x)
    csum = np.cumsum(np.where(valid, x, 0.0), axis=0)
    ccnt = np.cumsum(valid, axis=0)
    csum[window:] = csum[window:] - csum[:-window].copy()
    ccnt[window:] = ccnt[window:] - ccnt[:-window].copy()
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ccnt > 0, csum / ccnt, np.nan)


def limit_ratio_grid(calendar: np.ndarray, board: np.ndarray) -> np.ndarray:
    """[D, N] limit ratio (SPEC §1) without the ST rule, which qlib cannot tell."""
    ratio = np.full((len(calendar), len(board)), 0.10)
    ratio[np.ix_(calendar >= CHINEXT_20PCT, board == "chinext")] = 0.20
    ratio[np.ix_(calendar >= STAR_START, board == "star")] = 0.20
    return ratio


def read_qlib(path: str | Path) -> Market:
    """Load a qlib provider directory as a `Market` of raw prices (see the module docstring)."""
    path = Path(path)
    if not path.is_dir():
        raise DataError(f"{path}: qlib provider directory not found")
    calendar = read_calendar(path)
    all_file = path / "instruments" / "all.txt"
    if not all_file.is_file():
        raise DataError(f"{all_file}: qlib universe file not found")
    inst_codes, inst_start, inst_end = read_instruments(all_file)
    codes, ci, lines = np.unique(inst_codes, return_inverse=True, return_counts=True)
    D, N = len(calendar), len(codes)
    s, e = interval_positions(calendar, inst_start, inst_end)
    listed = interval_union(D, N, ci, s, e)
    if (lines > 1).any():
        log.warning(
            "%s: %d code(s) on several lines (%d lines): several listing intervals, listed on "
            "their union as in qlib, e.g. %s",
            all_file,
            int((lines > 1).sum()),
            int(lines[lines > 1].sum()),
            ", ".join(codes[lines > 1][:3]),
        )
    list_date = np.full(N, np.datetime64("NaT"), dtype="datetime64[D]")
    order = np.lexsort((inst_start, ci))
    first_row = order[np.r_[True, ci[order][1:] != ci[order][:-1]]]
    list_date[ci[first_row]] = inst_start[first_row]

    q, has_file = read_features(path, codes, listed, calendar)
    absent = [f for f in REQUIRED_FIELDS if f not in q]
    if absent:
        raise DataError(
            f"{path / 'features'}: no stock has the required field(s) "
            f"{', '.join(absent)} (features/<code>/<field>.day.bin, code in lower or upper case)"
        )
    outside = {f: int((~listed & ~np.isnan(q[f])).sum()) for f in REQUIRED_FIELDS}
    if any(outside.values()):
        log.warning(
            "%s: values on days outside the listing intervals of instruments/all.txt are not "
            "read (%s)",
            path / "features",
            ", ".join(f"{f}: {n}" for f, n in outside.items() if n),
        )
    proxies: dict[str, str] = {}
    factor = q["factor"]
    # suspension from qlib's own close and volume: a missing factor must not hide a trading day
    suspended = listed & (np.isnan(q["close"]) | np.isnan(q["volume"]) | (q["volume"] == 0))
    proxies["is_suspended"] = "volume == 0 or close missing (qlib has no suspension flag)"
    no_factor = listed & ~suspended & ~(factor > 0)
    if no_factor.any():
        d, n = np.nonzero(no_factor)
        k = np.argsort(n, kind="stable")[:5]
        frame = pd.DataFrame(
            {"date": calendar[d[k]], "code": codes[n[k]], "factor": factor[d[k], n[k]]}
        )
        folder = feature_folders(path, codes[n[k][:1]])[0]
        raise rows_error(
            str(path / "features" / folder / "factor.day.bin"),
            "factor",
            "factor <= 0 or missing on a day with a close and volume (raw prices need it)",
            frame,
            n_total=int(no_factor.sum()),
        )
    close_raw = q["close"] / factor
    volume_raw = q["volume"] * factor

    fields: dict[str, np.ndarray] = {}
    # suspended days carry the last traded close and zero volume, as in the contract
    prev_close = forward_fill(np.where(listed & ~suspended, close_raw, np.nan))
    adj = forward_fill(np.where(listed, factor, np.nan))
    for name in ("open", "high", "low", "close"):
        raw = q[name] / factor
        fields[name] = np.where(suspended, prev_close, raw)
    # vwap and amount: per stock, the file where it exists, else a proxy (logged with the count)
    with_folder = int(has_file["close"].sum())
    nan_grid = np.full((D, N), np.nan)
    q_vwap, q_amount = q.get("vwap", nan_grid), q.get("amount", nan_grid)
    has_vwap, has_amount = has_file["vwap"][None, :], has_file["amount"][None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        from_amount = q_amount / volume_raw
    typical = (fields["high"] + fields["low"] + fields["close"]) / 3
    vwap = np.where(has_vwap, q_vwap / factor, np.where(has_amount, from_amount, typical))
    no_vwap = has_file["close"] & ~has_file["vwap"]
    if no_vwap.any():
        via_amount = int((no_vwap & has_file["amount"]).sum())
        proxies["vwap"] = (
            f"no vwap.day.bin for {int(no_vwap.sum())} of {with_folder} stocks: amount / raw "
            f"volume for {via_amount}, typical price (high + low + close) / 3 for "
            f"{int(no_vwap.sum()) - via_amount} (no amount.day.bin either)"
        )
    fields["vwap"] = np.where(suspended, prev_close, vwap)
    fields["volume"] = np.where(suspended, 0.0, volume_raw)
    amount = np.where(has_amount, q_amount, fields["vwap"] * fields["volume"])
    no_amount = has_file["close"] & ~has_file["amount"]
    if no_amount.any():
        proxies["amount"] = (
            f"vwap x raw volume for the {int(no_amount.sum())} of {with_folder} stocks "
            "without amount.day.bin"
        )
    fields["amount"] = np.where(suspended, 0.0, amount)
    fields["adj_factor"] = adj
    if "turnover" in q:
        fields["turnover"] = q["turnover"]
    else:
        fields["turnover"] = np.full((D, N), np.nan)
        proxies["turnover"] = "not available (qlib has no float shares): NaN"
    if "mcap" in q:
        fields["mcap"] = q["mcap"]
    elif "turnover" in q:
        with np.errstate(invalid="ignore", divide="ignore"):
            fields["mcap"] = trailing_mean(fields["amount"], MCAP_WINDOW) / trailing_mean(
                q["turnover"], MCAP_WINDOW
            )
        proxies["mcap"] = (
            f"{MCAP_WINDOW}-day mean amount / {MCAP_WINDOW}-day mean turnover "
            "= float market cap at the average traded price (not total cap)"
        )
    else:
        fields["mcap"] = trailing_mean(np.where(suspended, np.nan, fields["amount"]), MCAP_WINDOW)
        proxies["mcap"] = (
            f"{MCAP_WINDOW}-day trailing mean amount (CNY): a liquidity measure "
            "that only ranks size roughly (big caps trade more), not a market "
            "cap; qlib has no shares outstanding or turnover"
        )
    board = board_of(codes)
    ratio = limit_ratio_grid(calendar, board)
    before = np.vstack([np.full((1, N), np.nan), fields["close"][:-1]])
    up, down = limit_prices(before, ratio)
    fields["limit_up"] = np.where(listed, up, np.nan)
    fields["limit_down"] = np.where(listed, down, np.nan)
    proxies["limit_up"] = proxies["limit_down"] = (
        "previous raw close x (1 +/- 10%), 20% for ChiNext (300/301) from 2020-08-24 and STAR "
        "(688/689) from 2019-07-22; the ST 5% rule is not applied (ST unknown)"
    )
    proxies["is_st"] = "False everywhere (qlib has no ST flag)"
    unlisted = ~listed
    for name in DAILY_FIELDS:
        fields[name][unlisted] = np.nan

    index_weights = {}
    for name in INDEX_NAMES:  # three files, not a loop over stocks
        file = path / "instruments" / f"{name}.txt"
        if not file.is_file():
            index_weights[name] = np.zeros((D, N))
            proxies[f"index_weights.{name}"] = f"no instruments/{name}.txt: empty universe"
            continue
        m_codes, m_start, m_end = read_instruments(file)
        known = np.isin(m_codes, codes)
        if not known.all():
            log.warning(
                "%s: %d membership rows name codes missing from all.txt; ignored",
                file,
                int((~known).sum()),
            )
        ms, me = interval_positions(calendar, m_start[known], m_end[known])
        member = interval_union(D, N, np.searchsorted(codes, m_codes[known]), ms, me) & listed
        count = member.sum(axis=1, keepdims=True)
        index_weights[name] = np.where(member, 1.0 / np.maximum(count, 1), 0.0)
        proxies[f"index_weights.{name}"] = (
            f"equal weights among members of instruments/{name}.txt"
            " (qlib gives membership, not weights)"
        )
    proxies["industry"] = (
        "one 'unknown' industry for every stock: label neutralisation is then "
        "on size (the mcap proxy) only"
    )
    for name, how in proxies.items():
        log.warning("qlib source %s: %s -> %s", path, name, how)
    return Market(
        dates=calendar,
        codes=codes,
        fields=fields,
        listed=listed,
        is_st=np.zeros((D, N), dtype=bool),
        is_suspended=suspended,
        industry=np.where(listed, 0, -1).astype(np.int16),
        industry_names=["unknown"],
        index_weights=index_weights,
        board=board,
        list_date=list_date,
        proxies=proxies,
    )
