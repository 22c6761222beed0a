"""The factor panel of one (dataset, model): the mean over seeds of the per-seed test predictions
(SPEC §5: 3 seeds per model). Reads parquet only; it never imports torch, so the averaging job
starts in a fraction of a training job's time."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .panel import Panel

_SEED_NAME = re.compile(r"seed(\d+)\.parquet$")


def average_seeds(prediction_paths: list, dates, codes, model: str) -> Panel:
    """Factor panel over `dates` × `codes`: factor = mean over seeds of the prediction (NaN where no
    seed predicted); for multi also every seed's units as "seed{s}_unit_{kk}". Files of several
    test years are simply stacked (each covers its own year's days). `dates=None` takes the days
    present in the files (the test period), which keeps a full-market multi panel small enough."""
    codes = np.asarray(codes, dtype=str)
    by_seed: dict[int, list[pd.DataFrame]] = {}
    for path in prediction_paths:
        m = _SEED_NAME.search(str(path))
        if m is None:
            raise ValueError(f"{path}: prediction file name must end in seed<number>.parquet")
        by_seed.setdefault(int(m.group(1)), []).append(pd.read_parquet(path))
    seeds = sorted(by_seed)
    frames = {s: pd.concat(by_seed[s], ignore_index=True) for s in seeds}
    if dates is None:
        dates = np.unique(np.concatenate([f["date"].to_numpy().astype("datetime64[D]") for f in frames.values()]))
    dates = np.asarray(dates, dtype="datetime64[D]")
    unit_cols = []
    if model == "multi" and seeds:
        unit_cols = sorted(c for c in frames[seeds[0]].columns if c.startswith("unit_"))
        if not unit_cols:
            raise ValueError(f"multi predictions {prediction_paths[0]} have no unit_kk columns")
    names = ["factor"] + [f"seed{s}_{c}" for s in seeds for c in unit_cols]
    values = np.full((len(dates), len(codes), len(names)), np.nan, dtype=np.float32)
    total = np.zeros((len(dates), len(codes)))
    count = np.zeros((len(dates), len(codes)), dtype=np.int32)
    code_index = pd.Index(codes)
    for j, s in enumerate(seeds):
        df = frames[s]
        di = np.searchsorted(dates, df["date"].to_numpy().astype("datetime64[D]"))
        di_ok = (di < len(dates)) & (dates[np.minimum(di, len(dates) - 1)] == df["date"].to_numpy().astype("datetime64[D]"))
        ci = code_index.get_indexer(df["code"].astype(str))
        bad = ~di_ok | (ci < 0)
        if bad.any():
            raise ValueError(f"seed {s} predictions have dates/codes outside the panel, e.g. "
                             f"{df.loc[bad, ['date', 'code']].head(3).to_dict('records')}")
        if pd.Series(di * len(codes) + ci).duplicated().any():
            raise ValueError(f"seed {s} predictions repeat a (date, code) pair")
        p = df["prediction"].to_numpy(np.float64)
        ok = np.isfinite(p)
        total[di[ok], ci[ok]] += p[ok]
        count[di[ok], ci[ok]] += 1
        for k, c in enumerate(unit_cols):
            values[di, ci, 1 + j * len(unit_cols) + k] = df[c].to_numpy(np.float32)
    values[:, :, 0] = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return Panel(dates=dates, codes=codes, features=names, values=values,
                 attrs={"model": model, "seeds": seeds})
