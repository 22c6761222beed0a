"""Benchmark: `ms` and `l2` daily features of one full-market year (docs/benchmarks.md, "Features").

Writes a contract folder (not timed), then runs `repro.features.intraday.compute_year` for
each dataset in a child process, so that the wall time and peak RSS printed are those of the
feature computation alone (reading the month files included).

    python benchmarks/features.py                          # simple writer, 5000 stocks, 12 months
    python benchmarks/features.py --months 1               # one month, extrapolated to a year
    python benchmarks/features.py --writer synth           # inputs from repro.synth.generate_market
    python benchmarks/features.py --inputs DIR --year 2022 # an existing contract folder

Input writers:
- `simple` (below, benchmark only): random-walk minute bars at the 0.01 tick with random
  Level-2 aggregates, every weekday of the year, ~1% of stock-days suspended and ~0.5% of
  minutes missing; float64 columns, one row group per day. Statistically crude, but the
  shapes, dtypes and sizes the reader sees are those of the contract.
- `synth`: `repro.synth.generate_market({"seed": 1, "n_stocks": N, "start": ..., "end": ...,
  "n_industries": 30}, dir)`, the project's synthetic market.
"""
from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from repro.contract import L2_SIZES, MINUTES_PER_DAY

YEAR_DAYS = 244  # trading days in a full A-share year, for extrapolating from fewer months


def write_simple(out: Path, n_stocks: int, year: int, months: int, max_days: int | None = None,
                 seed: int = 1) -> None:
    """Benchmark-only writer of calendar, stocks, minute and l2 files in contract format."""
    rng = np.random.default_rng(seed)
    days = np.arange(np.datetime64(f"{year}-01-01"), np.datetime64(f"{year}-01-01") + 366)
    days = days[(days.astype("datetime64[Y]").astype(int) + 1970 == year)]
    days = days[np.is_busday(days) & (days < np.datetime64(f"{year}-01", "M") + months)][:max_days]
    codes = np.array([f"{i:06d}.SZ" for i in range(n_stocks)])
    out.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"date": pa.array(days, pa.date32())}), out / "calendar.parquet")
    pq.write_table(
        pa.table(
            {
                "code": codes,
                "list_date": pa.array(np.full(n_stocks, np.datetime64("2000-01-04")), pa.date32()),
                "delist_date": pa.array([None] * n_stocks, pa.date32()),
                "board": ["main"] * n_stocks,
            }
        ),
        out / "stocks.parquet",
    )
    price = np.exp(rng.normal(2.3, 0.6, n_stocks))
    writers: dict[str, tuple[Path, pq.ParquetWriter]] = {}
    for day in days:
        ym = str(day.astype("datetime64[M]")).replace("-", "")
        tables = _simple_day(rng, day, codes, price)
        price = tables.pop("next_price")
        for folder, table in tables.items():
            path = out / folder / ym[:4] / f"{ym}.parquet"
            if folder not in writers or writers[folder][0] != path:
                if folder in writers:
                    writers[folder][1].close()
                path.parent.mkdir(parents=True, exist_ok=True)
                writers[folder] = (path, pq.ParquetWriter(path, table.schema))
            writers[folder][1].write_table(table, row_group_size=table.num_rows)
    for _, w in writers.values():
        w.close()


def _simple_day(rng, day, codes, price):
    n, m = len(codes), MINUTES_PER_DAY
    ret = rng.normal(0, 1.5e-3, (n, m)) + rng.standard_t(3, (n, m)) * 3e-4
    close = np.maximum(np.round(price[:, None] * np.exp(np.cumsum(ret, axis=1)), 2), 0.01)
    open_ = np.concatenate([np.round(price, 2)[:, None], close[:, :-1]], axis=1)
    high = np.maximum(open_, close) + np.round(np.abs(rng.normal(0, 0.01, (n, m))), 2)
    low = np.maximum(np.minimum(open_, close) - np.round(np.abs(rng.normal(0, 0.01, (n, m))), 2), 0.01)
    volume = np.round(rng.gamma(1.5, 2e4, (n, m)), -2)
    amount = volume * (open_ + close) / 2
    keep = (rng.random(n) > 0.01)[:, None] & (rng.random((n, m)) > 0.005)
    si, mi = np.nonzero(keep)
    base = {
        "date": pa.array(np.full(len(si), day), pa.date32()),
        "code": pa.DictionaryArray.from_arrays(pa.array(si.astype(np.int32)), pa.array(codes)),
        "minute": pa.array(mi.astype(np.int16)),
    }
    minute = dict(base, open=open_[keep], high=high[keep], low=low[keep], close=close[keep],
                  volume=volume[keep], amount=amount[keep])
    share = rng.dirichlet(np.ones(8), size=len(si))  # buy/sell × 4 size classes
    l2 = dict(base)
    for k, s in enumerate(L2_SIZES):
        l2[f"buy_amount_{s}"] = amount[keep] * share[:, k]
        l2[f"sell_amount_{s}"] = amount[keep] * share[:, 4 + k]
    l2["buy_count_xlarge"] = rng.poisson(0.3, len(si)).astype(np.float64)
    l2["sell_count_xlarge"] = rng.poisson(0.3, len(si)).astype(np.float64)
    l2["trade_count"] = np.maximum(np.round(volume[keep] / 800), 1.0)
    l2["bid1"] = np.maximum(close[keep] - 0.01, 0.01)
    l2["ask1"] = close[keep] + 0.01
    l2["bid_depth"] = np.round(rng.gamma(2, 5e4, len(si)), -2)
    l2["ask_depth"] = np.round(rng.gamma(2, 5e4, len(si)), -2)
    l2["cancel_buy_amount"] = amount[keep] * rng.uniform(0, 0.5, len(si))
    l2["cancel_sell_amount"] = amount[keep] * rng.uniform(0, 0.5, len(si))
    return {"minute": pa.table(minute), "l2": pa.table(l2), "next_price": close[:, -1]}


def write_synth(out: Path, n_stocks: int, year: int, months: int, max_days: int | None = None) -> None:
    from repro.synth import generate_market

    end = np.datetime64(f"{year}-01", "M") + months
    cfg = {"seed": 1, "n_stocks": n_stocks, "start": f"{year}-01-01",
           "end": str(end.astype("datetime64[D]") - 1), "n_industries": 30}
    generate_market(cfg, str(out))


def run_child(dataset: str, data: str, year: int) -> None:
    """Compute one dataset's year and print wall time, peak RSS and sizes as JSON."""
    from repro.features.intraday import compute_year

    dates = pq.read_table(Path(data) / "calendar.parquet").column("date").to_numpy()
    codes = pq.read_table(Path(data) / "stocks.parquet").column("code").to_numpy().astype(str)
    folder = {"ms": "minute", "l2": "l2"}[dataset]
    files = (Path(data) / folder / str(year)).glob("*.parquet")
    rows = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
    start = time.perf_counter()
    panel = compute_year(data, dataset, year, dates, codes)
    wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({
        "dataset": dataset,
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_mib": usage.ru_maxrss / 1024,
        "rows": rows,
        "days": len(panel.dates),
        "stocks": len(panel.codes),
        "filled_share": float(np.isfinite(panel.values[..., 0]).mean()),
    }))


def compare_engines(data: Path, year: int) -> None:
    """Time the two steps that could use another engine, on the first day of the first month.

    Reading a day: pyarrow row group (what intraday.iter_days does) vs a polars lazy scan
    filtered on the date. Computing: numpy `ms_features` (all 22, in blocks) vs polars
    group_by aggregations for 5 of the simple features only (rvol, ret_last30,
    vol_last30_share, vol_hhi, vwap_dev). CPU seconds, best of 3.
    """
    import pandas as pd
    import polars as pl

    from repro.features import intraday

    path = sorted((data / "minute" / str(year)).glob("*.parquet"))[0]
    codes = pq.read_table(data / "stocks.parquet").column("code").to_numpy().astype(str)
    codes_index = pd.Index(codes)
    cols = ["date", "code", "minute", *intraday.MS_COLUMNS]
    pf = pq.ParquetFile(path, read_dictionary=["code"])
    day = pf.read_row_group(0, columns=["date"]).column("date")[0].as_py()

    def best(fn):
        times = []
        for _ in range(3):
            t = time.process_time()
            fn()
            times.append(time.process_time() - t)
        return min(times)

    rows = next(intraday.iter_days(path, intraday.MS_COLUMNS, codes_index))
    frame = pl.scan_parquet(path).filter(pl.col("date") == day).collect()
    f5 = frame.sort(["code", "minute"]).with_columns(
        r=(pl.col("close") / pl.col("close").shift(1).over("code").fill_null(pl.col("open"))).log())
    timings = {
        "read day, pyarrow row group": best(lambda: pf.read_row_group(0, columns=cols)),
        "read day, polars scan + filter": best(
            lambda: pl.scan_parquet(path).filter(pl.col("date") == day).collect()),
        "read + scatter to dense [S, 240]": best(
            lambda: next(intraday.iter_days(path, intraday.MS_COLUMNS, codes_index))),
        "22 ms features, numpy blocks": best(
            lambda: intraday._blockwise(intraday._ms_block, rows.cols, len(rows.pos), 22)),
        "5 ms features, polars group_by": best(lambda: f5.group_by("code").agg(
            rvol=(pl.col("r") ** 2).sum().sqrt(),
            ret_last30=pl.col("r").filter(pl.col("minute") >= 210).sum(),
            vol_last30_share=pl.col("volume").filter(pl.col("minute") >= 210).sum() / pl.col("volume").sum(),
            vol_hhi=((pl.col("volume") / pl.col("volume").sum()) ** 2).sum(),
            vwap_dev=pl.col("close").last() / (pl.col("amount").sum() / pl.col("volume").sum()) - 1)),
    }
    print(f"engine comparison on {day}, {len(rows.pos)} stocks, {frame.height:,} minute rows:")
    for name, t in timings.items():
        print(f"  {name:38s} {t:.3f} s CPU")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--inputs", help="existing contract folder (default: write one to a temp dir)")
    ap.add_argument("--writer", choices=["simple", "synth"], default="simple")
    ap.add_argument("--stocks", type=int, default=5000)
    ap.add_argument("--months", type=int, default=12, help="months written (1..12); figures extrapolated")
    ap.add_argument("--days", type=int, help="simple writer: only the first DAYS weekdays")
    ap.add_argument("--year", type=int, default=2022)
    ap.add_argument("--datasets", nargs="+", default=["ms", "l2"], choices=["ms", "l2"])
    ap.add_argument("--compare", action="store_true", help="also time pyarrow/numpy against polars")
    ap.add_argument("--child", nargs=2, metavar=("DATASET", "DIR"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        run_child(args.child[0], args.child[1], args.year)
        return

    tmp = None
    if args.inputs:
        data = Path(args.inputs)
    else:
        tmp = Path(tempfile.mkdtemp(prefix="repro-bench-features-"))
        data = tmp / "market"
        start = time.perf_counter()
        writer = write_simple if args.writer == "simple" else write_synth
        writer(data, args.stocks, args.year, args.months, args.days)
        print(f"wrote {args.writer} inputs: {args.stocks} stocks, {args.months} month(s) "
              f"in {time.perf_counter() - start:.0f} s (not timed below)")
    try:
        if args.compare:
            compare_engines(data, args.year)
        for dataset in args.datasets:
            cmd = [sys.executable, __file__, "--child", dataset, str(data), "--year", str(args.year)]
            res = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
            scale = YEAR_DAYS / res["days"]
            print(
                f"{dataset}: {res['days']} days x {res['stocks']} stocks, {res['rows']:,} rows: "
                f"{res['wall_s']:.1f} s wall ({res['cpu_s']:.1f} s CPU, process total), "
                f"{res['rows'] / res['wall_s']:,.0f} rows/s, peak RSS {res['peak_rss_mib']:.0f} MiB; "
                f"a {YEAR_DAYS}-day year ≈ {res['wall_s'] * scale:.0f} s wall"
            )
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
