"""Read a qlib provider directory (`data.source: qlib`) into a `Market`.

Layout (qlib's `dump_bin` format)::

    calendars/day.txt                       one trading day per line
    instruments/all.txt                     code <TAB> start <TAB> end: the universe
    instruments/csi300.txt (csi500, csi1000) membership intervals, if present
    features/<code lower-case>/<field>.day.bin
        little-endian float32; the FIRST value is the calendar index of the first row,
        then one value per calendar day from there

qlib stores ADJUSTED prices ($open ... $vwap = raw x $factor) and adjusted volume
($volume = raw / $factor); the `Market` carries raw prices and `adj_factor = $factor`.
qlib cannot supply market cap, industry, the ST flag, limit prices or index weights: each
gets a named proxy, logged at WARNING and recorded in `Market.proxies` (docs/data.md, "qlib").
The `ms` and `l2` datasets need minute / Level-2 files and are skipped for qlib sources.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np

from ..contract import INDEX_NAMES, limit_prices
from ..market import DAILY_FIELDS, Market
from .errors import DataError
from .parquet import fill_intervals

log = logging.getLogger(__name__)

REQUIRED_FIELDS = ("open", "high", "low", "close", "volume", "factor")
OPTIONAL_FIELDS = ("vwap", "amount", "change", "turnover", "mcap")
MCAP_WINDOW = 20  # trading days of amount averaged into the size proxy

# Dates from which ChiNext (300/301) and STAR (688/689) trade with ±20% limits (SPEC §1).
CHINEXT_20PCT = np.datetime64("2020-08-24")
STAR_START = np.datetime64("2019-07-22")


def read_calendar(path: Path) -> np.ndarray:
    file = path / "calendars" / "day.txt"
    if not file.is_file():
        raise DataError(f"{file}: qlib calendar not found")
    lines = [s.strip() for s in file.read_text().splitlines() if s.strip()]
    try:
        dates = np.array([s[:10] for s in lines], dtype="datetime64[D]")
    except ValueError as e:
        raise DataError(f"{file}: column 'date': cannot parse a date ({e})") from None
    if len(dates) == 0:
        raise DataError(f"{file}: column 'date': calendar is empty")
    return dates


def read_instruments(file: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(code, start, end) arrays of an instruments file; codes upper-cased as qlib does."""
    rows = [line.split("\t") for line in file.read_text().splitlines() if line.strip()]
    bad = [(i + 1, "\t".join(r)) for i, r in enumerate(rows) if len(r) < 3]
    if bad:
        shown = "\n".join(f"  line {i}: {r!r}" for i, r in bad[:5])
        raise DataError(
            f"{file}: column 'code, start, end': {len(bad)} lines without three "
            f"tab-separated fields:\n{shown}"
        )
    codes = np.array([r[0].strip().upper() for r in rows], dtype=str)
    try:
        start = np.array([r[1].strip()[:10] for r in rows], dtype="datetime64[D]")
        end = np.array([r[2].strip()[:10] for r in rows], dtype="datetime64[D]")
    except ValueError as e:
        raise DataError(f"{file}: column 'start/end': cannot parse a date ({e})") from None
    return codes, start, end


def interval_positions(calendar: np.ndarray, start: np.ndarray, end: np.ndarray):
    """Calendar positions of the first and last trading day inside [start, end]."""
    return (
        np.searchsorted(calendar, start, side="left"),
        np.searchsorted(calendar, end, side="right") - 1,
    )


def read_bin(file: Path, n_dates: int) -> tuple[int, np.ndarray]:
    """(first calendar index, float32 values) of one qlib .day.bin file."""
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


def read_features(path: Path, codes: np.ndarray, n_dates: int) -> dict[str, np.ndarray]:
    """float64 [D, N] per field present for at least one stock; NaN where a stock has no value.

    qlib keeps one file per stock and field, so this reads file by file (I/O bound) into
    stock-major float32 buffers (contiguous writes), transposed once at the end.
    """
    by_stock: dict[str, np.ndarray] = {}
    missing_dirs = 0
    for j, code in enumerate(codes):
        folder = path / "features" / code.lower()
        if not folder.is_dir():
            missing_dirs += 1
            continue
        for field in REQUIRED_FIELDS + OPTIONAL_FIELDS:
            file = folder / f"{field}.day.bin"
            if not file.is_file():
                continue
            first, values = read_bin(file, n_dates)
            if field not in by_stock:
                by_stock[field] = np.full((len(codes), n_dates), np.nan, dtype=np.float32)
            by_stock[field][j, first : first + len(values)] = values
    if missing_dirs:
        log.warning(
            "%s: %d of %d instruments have no features folder; their fields are NaN",
            path / "features",
            missing_dirs,
            len(codes),
        )
    return {f: np.array(v.T, dtype=np.float64, order="C") for f, v in by_stock.items()}


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
    codes = np.unique(inst_codes)
    D, N = len(calendar), len(codes)
    ci = np.searchsorted(codes, inst_codes)
    s, e = interval_positions(calendar, inst_start, inst_end)
    listed = fill_intervals(D, N, ci, s, e, np.ones(len(ci), dtype=bool), False)
    list_date = np.full(N, np.datetime64("NaT"), dtype="datetime64[D]")
    order = np.lexsort((inst_start, ci))
    first_row = order[np.r_[True, ci[order][1:] != ci[order][:-1]]]
    list_date[ci[first_row]] = inst_start[first_row]

    q = read_features(path, codes, D)
    absent = [f for f in REQUIRED_FIELDS if f not in q]
    if absent:
        raise DataError(
            f"{path / 'features'}: no stock has the required field(s) "
            f"{', '.join(absent)} (<code>/<field>.day.bin)"
        )
    proxies: dict[str, str] = {}
    factor = q["factor"]
    close_raw = q["close"] / factor
    volume_raw = q["volume"] * factor
    suspended = listed & (np.isnan(close_raw) | (volume_raw == 0) | np.isnan(volume_raw))
    proxies["is_suspended"] = "volume == 0 or close missing (qlib has no suspension flag)"

    fields: dict[str, np.ndarray] = {}
    # suspended days carry the last traded close and zero volume, as in the contract
    prev_close = forward_fill(np.where(listed & ~suspended, close_raw, np.nan))
    adj = forward_fill(np.where(listed, factor, np.nan))
    for name in ("open", "high", "low", "close"):
        raw = q[name] / factor
        fields[name] = np.where(suspended, prev_close, raw)
    if "vwap" in q:
        vwap = q["vwap"] / factor
    elif "amount" in q:
        with np.errstate(invalid="ignore", divide="ignore"):
            vwap = q["amount"] / volume_raw
        proxies["vwap"] = "amount / raw volume (no $vwap in the qlib directory)"
    else:
        vwap = (fields["high"] + fields["low"] + fields["close"]) / 3
        proxies["vwap"] = "typical price (high + low + close) / 3 (no $vwap or $amount)"
    fields["vwap"] = np.where(suspended, prev_close, vwap)
    fields["volume"] = np.where(suspended, 0.0, volume_raw)
    if "amount" in q:
        amount = q["amount"]
    else:
        amount = fields["vwap"] * fields["volume"]
        proxies["amount"] = "vwap x raw volume (no $amount in the qlib directory)"
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
        member = (
            fill_intervals(
                D,
                N,
                np.searchsorted(codes, m_codes[known]),
                ms,
                me,
                np.ones(int(known.sum()), dtype=bool),
                False,
            )
            & listed
        )
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
