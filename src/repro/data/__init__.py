"""Data sources -> `Market` (SPEC §1): the parquet contract (also what `repro synth` writes)
and qlib provider directories. `repro.data.check` validates either and prints a summary.

`data_cfg` is the validated `data` section of the config: {"source": "synthetic" | "parquet" |
"qlib", "path": folder}.
"""

from __future__ import annotations

import logging
from pathlib import Path

from ..market import Market
from ..vocabulary import DATASETS
from .errors import DataError

log = logging.getLogger(__name__)


def load_market(data_cfg: dict) -> Market:
    """The daily market of a data source, as dense [date, stock] arrays (codes sorted)."""
    source, path = data_cfg.get("source", "synthetic"), Path(data_cfg["path"])
    if source in ("synthetic", "parquet"):
        from .parquet import read_contract

        return read_contract(path)
    if source == "qlib":
        from .qlib import read_qlib

        return read_qlib(path)
    raise DataError(f"unknown data source {source!r} (synthetic | parquet | qlib)")


def available_datasets(data_cfg: dict) -> list[str]:
    """Which of day / ms / l2 the source can feed; the workflow skips the others (logged)."""
    source, path = data_cfg.get("source", "synthetic"), Path(data_cfg["path"])
    if source == "synthetic":
        return list(DATASETS)
    if source == "qlib":
        log.warning(
            "qlib source %s: datasets ms and l2 skipped (qlib has no minute or Level-2 " "data)",
            path,
        )
        return ["day"]
    out = ["day"]
    for dataset, folder in (("ms", "minute"), ("l2", "l2")):
        if (path / folder).is_dir():
            out.append(dataset)
        else:
            log.warning("%s: no %s/ folder; dataset %s skipped", path, folder, dataset)
    return out


def data_years(data_cfg: dict, syn_cfg: dict | None = None) -> list[int]:
    """Calendar years the source covers, known before any data is read (the workflow expands
    per-year jobs over them): synthetic from `syn_cfg` start..end, parquet from the names of
    daily/{YYYY}.parquet, qlib from calendars/day.txt."""
    source, path = data_cfg.get("source", "synthetic"), Path(data_cfg["path"])
    if source == "synthetic":
        if syn_cfg is None:
            raise DataError("data_years: the synthetic source needs the `synthetic` config section")
        return list(range(int(str(syn_cfg["start"])[:4]), int(str(syn_cfg["end"])[:4]) + 1))
    if source == "parquet":
        years = sorted(int(f.stem) for f in path.glob("daily/*.parquet") if f.stem.isdigit())
        if not years:
            raise DataError(f"{path / 'daily'}: no daily/{{YYYY}}.parquet files")
        return years
    if source == "qlib":
        from .qlib import read_calendar

        return sorted({int(str(d)[:4]) for d in read_calendar(path)})
    raise DataError(f"unknown data source {source!r} (synthetic | parquet | qlib)")


__all__ = ["DATASETS", "DataError", "available_datasets", "data_years", "load_market"]
