"""The synthetic A-share market (SPEC §1): every file of the input contract plus the oracle.

`generate_market(syn_cfg, out)` writes calendar, stocks, industry, daily/{YYYY}, minute/{YYYY}/
{YYYYMM} and l2/{YYYY}/{YYYYMM} (one parquet row group per trading day), index_weights and
oracle.parquet; `load_oracle` reads the planted factors back as a `Panel`. The parts: the
calendar (`calendar`), who trades (`universe`), the planted latents and oracle (`signals`),
daily bars (`daily`) and minute / Level-2 rows (`intraday`). The same config and seed give
byte-identical files.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .. import contract
from ..atomic import atomic_dir
from ..panel import Panel
from .calendar import trading_days
from .daily import simulate_daily
from .intraday import simulate_day
from .signals import drift, oracle, simulate_latents
from .universe import index_weights, make_universe

log = logging.getLogger(__name__)

ORACLE_FEATURES = ["oracle_day", "oracle_ms", "oracle_l2", "oracle"]
# dtype family -> (numpy dtype the values are cast to, arrow type written)
_TYPES = {"date": ("datetime64[D]", pa.date32()), "str": (str, pa.string()),
          "bool": (bool, pa.bool_()), "float": (np.float64, pa.float64())}


def generate_market(syn_cfg: dict, out: str | os.PathLike) -> None:
    """Generate the synthetic market described by `syn_cfg` (keys seed, n_stocks, start, end,
    n_industries; see schema.yaml `synthetic`) into the folder `out`, replacing it atomically."""
    missing = [k for k in ("seed", "n_stocks", "start", "end", "n_industries") if k not in syn_cfg]
    if missing:
        raise ValueError(f"synthetic market config lacks {', '.join(missing)} (see schema.yaml `synthetic`)")
    seed, n_stocks = int(syn_cfg["seed"]), int(syn_cfg["n_stocks"])
    out = Path(out)
    dates = trading_days(syn_cfg["start"], syn_cfg["end"])
    if len(dates) == 0:
        raise ValueError(f"synthetic market: no trading day between {syn_cfg['start']} and {syn_cfg['end']}")
    log.info("synthetic market: %d stocks, %d trading days %s..%s, seed %d",
             n_stocks, len(dates), dates[0], dates[-1], seed)
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3)]
    uni = make_universe(streams[0], dates, n_stocks, int(syn_cfg["n_industries"]))
    latents = simulate_latents(streams[1], len(dates), n_stocks)
    bars = simulate_daily(streams[2], dates, uni, latents, drift(latents))

    with atomic_dir(out) as tmp:
        _write(tmp / "calendar.parquet", {"date": dates}, contract.CALENDAR)
        _write(tmp / "stocks.parquet", {"code": uni.codes, "list_date": uni.list_date,
                                        "delist_date": uni.delist_date, "board": uni.board}, contract.STOCKS)
        _write(tmp / "industry.parquet", uni.industry_rows, contract.INDUSTRY)
        _write_intraday(tmp, seed, dates, uni, bars, latents)
        bars["turnover"] = bars["volume"] / bars["float_shares"]
        _write_daily(tmp, dates, uni, bars)
        weights = index_weights(dates, uni.listed, bars["is_st"], bars["mcap"], uni.list_date, uni.codes)
        _write(tmp / "index_weights.parquet", weights, contract.INDEX_WEIGHTS)
        trading = uni.listed & ~bars["is_suspended"]
        t, i = np.nonzero(trading)
        planted = oracle(latents)
        _write(tmp / "oracle.parquet", {"date": dates[t], "code": uni.codes[i],
                                        **{k: planted[k][t, i] for k in ORACLE_FEATURES}}, contract.ORACLE)
    log.info("synthetic market written to %s", out)


def _write(path: Path, cols: dict, schema: dict) -> None:
    arrays = {}
    for name, (family, _) in schema.items():
        np_type, pa_type = _TYPES[family]
        arrays[name] = pa.array(np.asarray(cols[name], dtype=np_type), type=pa_type)  # NaT -> null
    table = pa.table(arrays)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)


def _write_daily(root: Path, dates, uni, bars) -> None:
    """daily/{YYYY}.parquet: listed stock-days sorted by (date, code)."""
    years = dates.astype("datetime64[Y]").astype(int) + 1970
    for year in np.unique(years):
        t, i = np.nonzero(uni.listed & (years == year)[:, None])
        cols = {"date": dates[t], "code": uni.codes[i]}
        cols.update({k: bars[k][t, i] for k in contract.DAILY if k not in cols})
        _write(root / "daily" / f"{year}.parquet", cols, contract.DAILY)


def _write_intraday(root: Path, seed: int, dates, uni, bars, latents) -> None:
    """minute/ and l2/ month files, one row group per trading day; fills the daily vwap,
    volume and amount from the minute bars."""
    months = dates.astype("datetime64[M]")
    minute_schema = _schema(contract.MINUTE, np.float32)
    l2_schema = _schema(contract.L2, np.float32)
    codes = pa.array(uni.codes, type=pa.string())
    for month in np.unique(months):
        tag = str(month).replace("-", "")
        paths = [root / kind / tag[:4] / f"{tag}.parquet" for kind in ("minute", "l2")]
        for p in paths:
            p.parent.mkdir(parents=True, exist_ok=True)
        # Dictionary-encode only the key columns: trying it on random floats costs 3x the write time.
        opts = {"use_dictionary": ["date", "code", "minute"], "compression": "snappy"}
        with pq.ParquetWriter(paths[0], minute_schema, **opts) as w_min, \
                pq.ParquetWriter(paths[1], l2_schema, **opts) as w_l2:
            for t in np.flatnonzero(months == month):
                idx = np.flatnonzero(uni.listed[t] & ~bars["is_suspended"][t])
                bar = {k: bars[k][t, idx] for k in ("open", "high", "low", "close", "limit_up", "limit_down",
                                                      "volume", "mcap")}
                bar.update(sigma=bars["sigma"][idx], lat_ms=latents["ms"][t, idx], lat_l2=latents["l2"][t, idx])
                # one generator per day: the files do not depend on how days are batched
                rng = np.random.default_rng([seed, 1, int(t)])
                minute, l2, daily = simulate_day(rng, bar)
                for k, v in daily.items():
                    bars[k][t, idx] = v
                keys = _keys(dates[t], codes.take(pa.array(np.repeat(idx, contract.MINUTES_PER_DAY))), len(idx))
                w_min.write_table(pa.table({**keys, **minute}, schema=minute_schema))
                w_l2.write_table(pa.table({**keys, **l2}, schema=l2_schema))
        log.info("minute and L2 bars of %s written", month)


def _keys(day, codes: pa.Array, n: int) -> dict:
    m = contract.MINUTES_PER_DAY
    return {"date": pa.array(np.full(n * m, day, dtype="datetime64[D]"), type=pa.date32()),
            "code": codes,
            "minute": pa.array(np.tile(np.arange(m, dtype=np.int16), n), type=pa.int16())}


def _schema(table: dict, float_type) -> pa.Schema:
    types = {"date": pa.date32(), "str": pa.string(), "int": pa.int16(), "float": pa.from_numpy_dtype(float_type)}
    return pa.schema([(name, types[family]) for name, (family, _) in table.items()])


def load_oracle(path: str | os.PathLike, dates, codes) -> Panel:
    """The planted factors aligned to `dates` × `codes` as a Panel (features oracle_day,
    oracle_ms, oracle_l2, oracle), NaN where the oracle has no row. `path` is the synthetic
    data folder or its oracle.parquet."""
    path = Path(path)
    if path.is_dir():
        path = path / "oracle.parquet"
    table = pq.read_table(path, columns=["date", "code"] + ORACLE_FEATURES)
    dates = np.asarray(dates, dtype="datetime64[D]")
    codes = np.asarray(codes, dtype=str)
    row_dates = table["date"].to_numpy().astype("datetime64[D]")
    row_codes = np.asarray(table["code"].to_pylist(), dtype=str)
    t = np.searchsorted(dates, row_dates)
    t_ok = (t < len(dates)) & (dates[np.minimum(t, len(dates) - 1)] == row_dates)
    order = np.argsort(codes)
    i = np.searchsorted(codes, row_codes, sorter=order)
    i = order[np.minimum(i, len(codes) - 1)]
    keep = t_ok & (codes[i] == row_codes)
    values = np.full((len(dates), len(codes), len(ORACLE_FEATURES)), np.nan, dtype=np.float32)
    for k, name in enumerate(ORACLE_FEATURES):
        values[t[keep], i[keep], k] = table[name].to_numpy()[keep]
    return Panel(dates=dates, codes=codes, features=ORACLE_FEATURES, values=values, attrs={"source": str(path)})
