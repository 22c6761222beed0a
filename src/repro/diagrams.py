"""The report's method diagrams, figures 1–5, drawn from the configuration actually run.

- fig 1: the framework (data → features → GRU models × seeds → factors → composite → evaluation);
- fig 2: the RNN: a window of T daily feature vectors through a GRU, its last output to a head;
- fig 3: the `uni` head; fig 4: the `multi` head and its orthogonal penalty (SPEC §4);
- fig 5: the rolling training scheme: every (dataset, test year)'s train / valid / test days as
  `repro.rolling.split_days` computes them on the data's calendar (`rolling_schedule`), so the
  purge gaps and the l2 in-sample split are the real ones.
Figures 1–4 are schematic; their numbers (T, features per dataset, H, K, λ, dropout, seeds)
come from the config.
"""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

from .features.day import DAY_FEATURES  # noqa: E402
from .features.intraday import FEATURES as INTRADAY_FEATURES  # noqa: E402
from .rolling import split_days  # noqa: E402

N_FEATURES = {"day": len(DAY_FEATURES), **{k: len(v) for k, v in INTRADAY_FEATURES.items()}}
SETS = ("train", "valid", "test")
COLOURS = {"train": "#4C72B0", "valid": "#DD8452", "test": "#55A868"}


def rolling_schedule(dates, datasets, train_cfg: dict, window: int) -> pd.DataFrame:
    """One row per (dataset, test year, set): first and last day and the number of days."""
    dates = np.asarray(dates, dtype="datetime64[D]")
    rows = []
    for dataset in datasets:
        for year in train_cfg["test_years"]:
            split = split_days(dates, dataset, int(year), train_cfg, window)
            for name in SETS:
                days = getattr(split, name)
                rows.append({"dataset": dataset, "test_year": int(year), "set": name,
                             "first": dates[days[0]], "last": dates[days[-1]], "days": len(days)})
    return pd.DataFrame(rows)


def plot_rolling(schedule: pd.DataFrame, path) -> None:
    """Fig 5: a bar per (dataset, test year) from its first training day to its last test day."""
    keys = list(dict.fromkeys(zip(schedule["dataset"], schedule["test_year"])))
    fig, ax = plt.subplots(figsize=(10, 0.45 * len(keys) + 1.6))
    for i, (dataset, year) in enumerate(keys):
        part = schedule[(schedule["dataset"] == dataset) & (schedule["test_year"] == year)]
        for row in part.itertuples():
            start = matplotlib.dates.date2num(pd.Timestamp(row.first))
            width = matplotlib.dates.date2num(pd.Timestamp(row.last)) - start + 1
            ax.barh(i, width, left=start, height=0.6, color=COLOURS[row.set])
    ax.set_yticks(range(len(keys)), [f"{d} → {y}" for d, y in keys])
    ax.invert_yaxis()
    ax.xaxis_date()
    ax.set_xlabel("trading days (gaps: the purge before each boundary)")
    ax.set_title("Rolling training: one model per dataset and test year")
    handles = [matplotlib.patches.Patch(color=COLOURS[s], label=s) for s in SETS]
    ax.legend(handles=handles, loc="lower left", ncol=3, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _canvas(width: float, height: float, title: str):
    fig, ax = plt.subplots(figsize=(width, height))
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.axis("off")
    ax.set_title(title)
    return fig, ax


def _box(ax, x, y, text, width=1.9, height=0.8, colour="#E8EEF7"):
    """A box centred at (x, y); returns its centre."""
    ax.add_patch(FancyBboxPatch((x - width / 2, y - height / 2), width, height,
                                boxstyle="round,pad=0.05", fc=colour, ec="#333333", lw=1))
    ax.text(x, y, text, ha="center", va="center", fontsize=8)
    return x, y


def _arrow(ax, start, end, shrink=0.5):
    (x0, y0), (x1, y1) = start, end
    d = np.hypot(x1 - x0, y1 - y0)
    ux, uy = (x1 - x0) / d, (y1 - y0) / d
    ax.add_patch(FancyArrowPatch((x0 + ux * shrink, y0 + uy * shrink), (x1 - ux * shrink, y1 - uy * shrink),
                                 arrowstyle="-|>", mutation_scale=10, color="#333333"))


def _save(fig, path):
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_framework(cfg: dict, datasets, path) -> None:
    """Fig 1: data → features → models → factors → composite → evaluation."""
    t, seeds = cfg["train"], len(cfg["train"]["seeds"])
    window = int(cfg["features"]["window"])
    fig, ax = _canvas(12.8, 1.6 * len(datasets), "Price-volume factor mining with RNNs (framework)")
    sources = {"day": "daily bars", "ms": "minute bars", "l2": "Level-2 minute\naggregates"}
    ys = [0.8 + 1.6 * i for i in range(len(datasets))][::-1]
    factors = []
    for y, d in zip(ys, datasets):
        a = _box(ax, 1.1, y, sources[d], colour="#F3E9D2")
        b = _box(ax, 3.3, y, f"`{d}`: {N_FEATURES[d]} features\nwindows of T = {window} days")
        c = _box(ax, 5.5, y, f"GRU uni / multi\n{seeds} seeds, rolling years")
        e = _box(ax, 7.7, y, f"factor `{d}`\n(mean over seeds)")
        for s, f in ((a, b), (b, c), (c, e)):
            _arrow(ax, s, f, shrink=0.98)
        factors.append(e)
    mid = float(np.mean(ys))
    comp = _box(ax, 9.75, mid, "`avg` composite\n(z-scored mean)", width=1.7, colour="#DDEEDD")
    ev = _box(ax, 11.75, mid, "RankIC, layered test,\ndecay, correlations,\nindex enhancement",
              width=1.8, height=1.1, colour="#DDEEDD")
    for f in factors:
        _arrow(ax, f, comp, shrink=1.0)
    _arrow(ax, comp, ev, shrink=0.9)
    ax.text(0.2, 0.05, f"H = {t['hidden']}, K = {t['n_factors']} (multi), λ = {t['ortho_lambda']}, "
            f"test years {t['test_years'][0]}–{t['test_years'][-1]}", fontsize=7, color="#555555")
    _save(fig, path)


def plot_rnn(cfg: dict, path) -> None:
    """Fig 2: x_{t−T+1} … x_t through GRU cells; h_T to the head."""
    window, hidden = int(cfg["features"]["window"]), int(cfg["train"]["hidden"])
    fig, ax = _canvas(11, 3.6, f"The RNN: a GRU over T = {window} trading days (H = {hidden})")
    labels = ["t−T+1", "t−T+2", "…", "t−1", "t"]
    cells = []
    for i, lab in enumerate(labels):
        x = 1.2 + 1.9 * i
        if lab == "…":
            ax.text(x, 2.2, "…", ha="center", va="center", fontsize=14)
            ax.text(x, 0.6, "…", ha="center", va="center", fontsize=14)
            cells.append((x, 2.2))
            continue
        x_in = _box(ax, x, 0.6, f"x({lab})\nfeatures of day {lab}", width=1.6, colour="#F3E9D2")
        cell = _box(ax, x, 2.2, "GRU cell", width=1.3)
        _arrow(ax, x_in, cell, shrink=0.55)
        cells.append(cell)
    for a, b in zip(cells, cells[1:]):
        _arrow(ax, a, b, shrink=0.7)
    head = _box(ax, 10.3, 2.2, "NN head\n(fig 3 / fig 4)", width=1.2, colour="#DDEEDD")
    _arrow(ax, cells[-1], head, shrink=0.65)
    ax.text(9.7, 2.75, "h(t)", fontsize=8)
    ax.text(0.2, 3.25, "Only data up to the close of day t enter the window: no look-ahead.", fontsize=7,
            color="#555555")
    _save(fig, path)


def _head(cfg: dict, path, multi: bool) -> None:
    t = cfg["train"]
    hidden, k, dropout, lam = int(t["hidden"]), int(t["n_factors"]), t["dropout"], t["ortho_lambda"]
    title = (f"Multi-factor head: K = {k} factor units, orthogonal penalty λ = {lam}" if multi
             else "Single-factor head")
    fig, ax = _canvas(11, 3.2 if not multi else 4.2, title)
    y = 2.0 if multi else 1.6
    h = _box(ax, 1.0, y, f"h(t)\n{hidden} values", width=1.4)
    d = _box(ax, 3.0, y, f"dropout\np = {dropout}", width=1.4)
    lin = _box(ax, 5.0, y, f"Linear\n{hidden} → {k if multi else 1}", width=1.4)
    bn = _box(ax, 7.0, y, "batch norm over\nthe day's stocks", width=1.6)
    for a, b in ((h, d), (d, lin), (lin, bn)):
        _arrow(ax, a, b, shrink=0.8)
    if multi:
        units = _box(ax, 7.0, 3.4, f"K = {k} factor units Z\n(each a z-score)", width=2.0, colour="#F3E9D2")
        _arrow(ax, bn, units, shrink=0.45)
        mean = _box(ax, 9.0, y, "mean over units\n→ batch norm", width=1.6)
        _arrow(ax, bn, mean, shrink=0.85)
        out = _box(ax, 9.0, 0.6, "factor", width=1.2, colour="#DDEEDD")
        _arrow(ax, mean, out, shrink=0.45)
        loss = "loss = MSE(factor, label) + λ / (N K²) · ‖ZᵀZ‖_F   (N stocks of the day)"
    else:
        out = _box(ax, 9.2, y, "factor", width=1.2, colour="#DDEEDD")
        _arrow(ax, bn, out, shrink=0.8)
        loss = "loss = MSE(factor, label) = 2 (1 − Pearson corr) for z-scored factor and label"
    ax.text(0.3, 0.15, loss, fontsize=8)
    _save(fig, path)


def plot_uni_head(cfg: dict, path) -> None:
    """Fig 3: GRU output → dropout → Linear(H→1) → batch norm."""
    _head(cfg, path, multi=False)


def plot_multi_head(cfg: dict, path) -> None:
    """Fig 4: GRU output → dropout → Linear(H→K) → per-unit batch norm → mean → batch norm."""
    _head(cfg, path, multi=True)


def draw_all(cfg: dict, dates, datasets, paths) -> pd.DataFrame:
    """Figures 1–5 to `paths` (five files, in order); returns the rolling schedule of fig 5."""
    paths = list(paths)
    if len(paths) != 5:
        raise ValueError(f"draw_all needs five paths (figures 1-5), got {len(paths)}")
    schedule = rolling_schedule(dates, datasets, cfg["train"], int(cfg["features"]["window"]))
    plot_framework(cfg, datasets, paths[0])
    plot_rnn(cfg, paths[1])
    plot_uni_head(cfg, paths[2])
    plot_multi_head(cfg, paths[3])
    plot_rolling(schedule, paths[4])
    return schedule
