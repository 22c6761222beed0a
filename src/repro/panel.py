"""Panels: arrays indexed [date, stock, feature] stored on disk as a folder.

Layout of a panel folder::

    values.npy   float32 [D, N, F], memory-mappable
    meta.json    {"dates": [...ISO...], "codes": [...], "features": [...], "attrs": {...}}

`attrs` carries whatever produced the panel needs to travel with it (e.g. the frozen
preprocessing statistics, see `repro.preprocess`). Writes go to a temporary folder that is
renamed into place, so a failed job never leaves a half-written panel.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .atomic import atomic_dir


@dataclass
class Panel:
    dates: np.ndarray  # datetime64[D], shape [D]
    codes: np.ndarray  # str, shape [N]
    features: list[str]
    values: np.ndarray  # float32, shape [D, N, F]
    attrs: dict = field(default_factory=dict)

    def __post_init__(self):
        self.dates = np.asarray(self.dates, dtype="datetime64[D]")
        self.codes = np.asarray(self.codes, dtype=str)
        self.features = list(self.features)
        shape = (len(self.dates), len(self.codes), len(self.features))
        if self.values.shape != shape:
            raise ValueError(f"panel values have shape {self.values.shape}, expected {shape}")

    def feature(self, name: str) -> np.ndarray:
        """The [D, N] slice of one feature."""
        return self.values[:, :, self.features.index(name)]

    def save(self, path: str | os.PathLike) -> None:
        with atomic_dir(path) as tmp:
            np.save(tmp / "values.npy", np.ascontiguousarray(self.values, dtype=np.float32))
            write_meta(tmp, self.dates, self.codes, self.features, self.attrs)

    @classmethod
    def load(cls, path: str | os.PathLike, mmap: bool = False) -> "Panel":
        path = Path(path)
        meta = json.loads((path / "meta.json").read_text())
        values = np.load(path / "values.npy", mmap_mode="r" if mmap else None)
        return cls(
            dates=np.array(meta["dates"], dtype="datetime64[D]"),
            codes=np.array(meta["codes"], dtype=str),
            features=meta["features"],
            values=values,
            attrs=meta.get("attrs", {}),
        )


def write_meta(folder: Path, dates, codes, features, attrs: dict) -> None:
    """A panel folder's meta.json (dates, codes, feature names, attrs), as `Panel.load` reads it."""
    meta = {
        "dates": [str(d) for d in dates],
        "codes": [str(c) for c in codes],
        "features": list(features),
        "attrs": attrs,
    }
    (Path(folder) / "meta.json").write_text(json.dumps(meta, indent=1, default=_json_default))


def _json_default(obj):
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    if isinstance(obj, np.datetime64):
        return str(obj)
    raise TypeError(f"cannot serialise {type(obj).__name__} into panel meta")


def concat_dates(panels: list[Panel]) -> Panel:
    """Stack panels of consecutive date ranges that share codes and features."""
    first = panels[0]
    for p in panels[1:]:
        if list(p.codes) != list(first.codes) or p.features != first.features:
            raise ValueError("panels to concatenate must share codes and features")
    return Panel(
        dates=np.concatenate([p.dates for p in panels]),
        codes=first.codes,
        features=first.features,
        values=np.concatenate([np.asarray(p.values) for p in panels], axis=0),
        attrs=dict(first.attrs),
    )
