"""Bias statistics of the risk model, the way Barra validates its models (SPEC §7;
docs/method.md "Risk model (SPEC §7)").

For a series of next-day returns R_{t+1} and forecasts σ_t (from the snapshot at the close of
t), b = std over t of R_{t+1} / σ_t (sample std, ddof 1). A correct forecast gives b ≈ 1; with
T observations the 95% band is 1 ± sqrt(2/T). Series: every factor, `n_random` seeded random
long-only portfolios and any given portfolios (weights held from their date until the next).
"""
from __future__ import annotations

import os

import numpy as np
import pandas as pd

from ..market import Market
from .model import RiskModel

COLUMNS = ["kind", "name", "bias", "n_obs", "lower", "upper"]


def random_portfolios(n_codes: int, n_portfolios: int, n_names: int, seed: int) -> np.ndarray:
    """[P, n_codes] long-only weights: each portfolio holds n_names random stocks with
    Exponential(1) weights (renormalised each day over the stocks it can hold)."""
    rng = np.random.default_rng(seed)
    w = np.zeros((n_portfolios, n_codes))
    for p in range(n_portfolios):
        names = rng.choice(n_codes, size=min(n_names, n_codes), replace=False)
        w[p, names] = rng.exponential(1.0, len(names))
    return w


def _held_weights(frame: pd.DataFrame, codes: np.ndarray, dates: np.ndarray, name: str) -> np.ndarray:
    """[D, N] weights of a (date, code, weight) frame, each date's row held until the next."""
    missing = {"date", "code", "weight"} - set(frame.columns)
    if missing:
        raise ValueError(f"portfolio {name!r}: columns {sorted(missing)} missing (need date, code, weight)")
    pos = {c: i for i, c in enumerate(codes)}
    unknown = ~frame["code"].isin(pos)
    if unknown.any():
        raise ValueError(f"portfolio {name!r}: codes not in the market, e.g. rows "
                         f"{frame.loc[unknown].head(3).to_dict('records')}")
    out = np.zeros((len(dates), len(codes)))
    fdates = pd.to_datetime(frame["date"]).values.astype("datetime64[D]")
    for d in np.unique(fdates):  # sorted: each rebalance overwrites from its day on
        rows = frame[fdates == d]
        start = np.searchsorted(dates, d)
        out[start:, :] = 0.0
        out[start:, rows["code"].map(pos).to_numpy()] = rows["weight"].to_numpy(dtype=np.float64)[None, :]
    return out


def bias_statistics(model: RiskModel, market: Market, start=None, end=None, portfolios: dict | None = None,
                    n_random: int = 100, n_names: int = 100, seed: int = 0) -> pd.DataFrame:
    """Tidy bias statistics (columns kind, name, bias, n_obs, lower, upper) over the forecast days
    t in [start, end] (each needs a snapshot and the next day's returns; `model` must reach t+1).
    kind is "factor", "random" (names random_000, …) or "portfolio" (the keys of `portfolios`,
    each a DataFrame with columns date, code, weight)."""
    if not np.array_equal(model.codes, market.codes):
        raise ValueError("bias_statistics: model and market have different codes")
    dates = model.dates
    lo = 0 if start is None else np.searchsorted(dates, np.datetime64(start, "D"))
    hi = len(dates) - 1 if end is None else np.searchsorted(dates, np.datetime64(end, "D"), side="right")
    days = [t for t in range(lo, min(hi, len(dates) - 1))
            if model.n_factor_days[t] >= model.cfg.min_history and np.isfinite(model.factor_returns[t + 1]).all()]
    if not days:
        raise ValueError(f"bias_statistics: no forecast day between {start} and {end} "
                         "with a snapshot and next-day returns")
    off = int(np.searchsorted(market.dates, dates[0]))
    if not np.array_equal(market.dates[off:off + len(dates)], dates):
        raise ValueError("bias_statistics: the model's dates are not a run of the market's calendar")
    adj = market.adjusted("close")[off:off + len(dates)]
    held = {"random": random_portfolios(len(market.codes), n_random, n_names, seed)}
    named = {f"random_{p:03d}": ("random", p) for p in range(n_random)}
    for name, frame in (portfolios or {}).items():
        held[name] = _held_weights(frame, market.codes, dates, name)  # model days
        named[name] = ("portfolio", name)
    factor_z, port_z = [], {n: [] for n in named}
    for t in days:
        snap = model.snapshot(dates[t])
        factor_z.append(model.factor_returns[t + 1] / np.sqrt(np.diag(snap.factor_cov)))
        idx = np.searchsorted(market.codes, snap.codes) if _sorted(market.codes) else \
            np.array([np.flatnonzero(market.codes == c)[0] for c in snap.codes])
        r = adj[t + 1, idx] / adj[t, idx] - 1.0
        ok = np.isfinite(r)
        for name, (kind, key) in named.items():
            w = held["random"][key, idx] if kind == "random" else held[key][t, idx]
            w = np.where(ok, w, 0.0)
            if w.sum() <= 0:
                continue
            w = w / w.sum()
            e = snap.exposures.T @ w
            sigma = np.sqrt(e @ snap.factor_cov @ e + np.sum(w * w * snap.specific_var))
            port_z[name].append(np.sum(w[ok] * r[ok]) / sigma)
    rows = []
    factor_z = np.array(factor_z)
    for k, name in enumerate(model.factor_names):
        rows.append(_row("factor", name, factor_z[:, k]))
    for name, (kind, _) in named.items():
        rows.append(_row(kind, name, np.array(port_z[name])))
    return pd.DataFrame(rows, columns=COLUMNS)


def _sorted(codes: np.ndarray) -> bool:
    return bool(np.all(codes[:-1] < codes[1:]))


def _row(kind: str, name: str, z: np.ndarray) -> list:
    n = len(z)
    bias = float(np.std(z, ddof=1)) if n > 1 else np.nan
    half = np.sqrt(2.0 / n) if n else np.nan
    return [kind, name, bias, n, 1 - half, 1 + half]


def plot_bias(df: pd.DataFrame, path: str | os.PathLike) -> None:
    """Bias statistics per factor (bars) and of the portfolios (histogram of the random ones,
    markers for given portfolios), with the 95% band; saved to `path`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fac = df[df["kind"] == "factor"]
    ports = df[df["kind"] != "factor"]
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.5), gridspec_kw={"width_ratios": [3, 1.3]})
    ax = axes[0]
    ax.bar(np.arange(len(fac)), fac["bias"], color="tab:blue")
    ax.set_xticks(np.arange(len(fac)), fac["name"], rotation=90, fontsize=7)
    ax.set_ylabel("bias statistic")
    ax.set_title("factors")
    ax2 = axes[1]
    rand = ports[ports["kind"] == "random"]["bias"].dropna()
    if len(rand):
        ax2.hist(rand, bins=20, color="tab:gray", orientation="horizontal", label=f"{len(rand)} random")
    for _, row in ports[ports["kind"] == "portfolio"].iterrows():
        ax2.axhline(row["bias"], color="tab:red", lw=1)
        ax2.annotate(row["name"], (0, row["bias"]), fontsize=7, color="tab:red")
    ax2.set_title("portfolios")
    for a in axes:
        if len(df):
            a.axhline(1.0, color="black", lw=0.8)
            a.axhline(df["lower"].median(), color="black", ls="--", lw=0.8)
            a.axhline(df["upper"].median(), color="black", ls="--", lw=0.8)
    ax2.legend(loc="upper right", fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
