"""Parameter studies of the report's section 2: tables 1–5 and figures 6–11 (SPEC §5 "Studies").

One model per study point, on dataset `studies.dataset`, seed `studies.seed` and the first test
year's window (`train.test_years[0]`; the report: `day`, 2017):
- lr (table 2, fig 6–7) and dropout (table 3, fig 8–9): the uni model;
- ortho_lambda (table 4) and n_factors (table 5, fig 10–11, with λ = 20): the multi model.
Each row reports the stop epoch and the best validation RankIC (and, for multi, the mean
absolute correlation among the factor units at the best epoch).
"""
from __future__ import annotations

import copy

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from .panel import Panel  # noqa: E402
from .training import prepare_run, train_one  # noqa: E402

# Report §2.4: the factor-count study is run with the orthogonal penalty λ = 20.
N_FACTORS_STUDY_LAMBDA = 20.0

STUDY_MODEL = {"lr": "uni", "dropout": "uni", "ortho_lambda": "multi", "n_factors": "multi"}
STUDY_TABLE = {"lr": "table2", "dropout": "table3", "ortho_lambda": "table4", "n_factors": "table5"}
# Per study: (log column, y-axis label) of each figure, in figure order.
STUDY_FIGURES = {
    "lr": [("train_loss", "training loss"), ("valid_rank_ic", "validation RankIC")],  # fig 6, 7
    "dropout": [("train_loss", "training loss"), ("valid_rank_ic", "validation RankIC")],  # fig 8, 9
    "n_factors": [("valid_rank_ic", "validation RankIC"),
                  ("valid_factor_corr", "mean |corr| among factor units")],  # fig 10, 11
}
_LABEL = {"lr": "lr", "dropout": "dropout", "ortho_lambda": "λ", "n_factors": "K"}


def _check_param(param: str) -> None:
    if param not in STUDY_MODEL:
        raise ValueError(f"unknown study parameter {param!r} (expected one of {sorted(STUDY_MODEL)})")


def run_study_point(features: Panel | str, labels: Panel | str, cfg: dict, param: str, value, log_path,
                    checkpoint_path=None, threads: int = 1) -> dict:
    """Train the model of one study point and write its epoch log; return the training summary.

    `checkpoint_path` (optional) makes the run resumable like any training run.
    """
    _check_param(param)
    tcfg = copy.deepcopy(cfg["train"])
    tcfg[param] = int(value) if param == "n_factors" else float(value)
    if param == "n_factors":
        tcfg["ortho_lambda"] = N_FACTORS_STUDY_LAMBDA
    model = STUDY_MODEL[param]
    dataset, seed, year = cfg["studies"]["dataset"], int(cfg["studies"]["seed"]), int(tcfg["test_years"][0])
    run = prepare_run(features, labels, cfg, tcfg, dataset, model, year, threads, study=param, value=value)
    _, summary = train_one(run.source, run.data.train, run.data.valid, run.model_args, tcfg, seed,
                           log_path=log_path, checkpoint_path=checkpoint_path, record=run.record)
    summary.update(param=param, value=value, model=model, dataset=dataset, year=year, seed=seed)
    return summary


def _key_text(param: str, value) -> str:
    """The study value as the reference tables print it (lr 1e-3, dropout 0 / 0.5, λ 0.1 / 10)."""
    if param == "n_factors":
        return str(int(value))
    if param == "lr":
        mantissa, exponent = f"{float(value):e}".split("e")
        mantissa = mantissa.rstrip("0").rstrip(".")
        return f"{mantissa}e{int(exponent)}"
    return f"{float(value):g}"


def study_table(param: str, points: dict) -> pd.DataFrame:
    """Table 2–5 from {value: summary of run_study_point}: value, stop_epoch, valid_rank_ic
    (+ valid_factor_corr for the multi studies), rows in the order of `points`."""
    _check_param(param)
    rows = []
    for value, s in points.items():
        row = {param: _key_text(param, value), "stop_epoch": int(s["stop_epoch"]),
               "valid_rank_ic": round(float(s["best_valid_rank_ic"]), 4)}
        if STUDY_MODEL[param] == "multi":
            row["valid_factor_corr"] = round(float(s["best_valid_factor_corr"]), 2)
        rows.append(row)
    return pd.DataFrame(rows)


def settings_table(cfg: dict) -> pd.DataFrame:
    """Table 1: the training settings actually used, keyed as the report's table 1."""
    t, f = cfg["train"], cfg["features"]
    rows = [
        ("batch_size", "all stocks of one trading day"),
        ("valid_metric", "RankIC of predictions vs realised returns"),
        ("optimizer", f"Adam with gradient clipping (clip_value={float(t['clip_value']):g})"),
        ("early_stop_patience", str(int(t["patience"]))),
        ("n_seeds", str(len(t["seeds"]))),
        ("target", f"return from close of T+{f['label_start']} to close of T+{f['label_end']}"),
        ("label", "target return neutralized then cross-sectionally standardized"),
    ]
    return pd.DataFrame(rows, columns=["setting", "value"])


def study_figures(param: str, logs: dict, out_paths) -> None:
    """Figures 6–11: one curve per study value of a log column against the epoch.

    lr → fig 6 (training loss), fig 7 (validation RankIC); dropout → fig 8, 9; n_factors →
    fig 10 (validation RankIC), fig 11 (mean |corr| among units). `out_paths` in that order.
    """
    if param not in STUDY_FIGURES:
        raise ValueError(f"study {param!r} has no figures (figures exist for {sorted(STUDY_FIGURES)})")
    specs = STUDY_FIGURES[param]
    out_paths = list(out_paths)
    if len(out_paths) != len(specs):
        raise ValueError(f"study {param!r} draws {len(specs)} figures, got {len(out_paths)} paths")
    frames = {value: pd.read_csv(path) for value, path in logs.items()}
    for (column, ylabel), out in zip(specs, out_paths):
        fig, ax = plt.subplots(figsize=(6, 4))
        for value, df in frames.items():
            ax.plot(df["epoch"], df[column], marker=".", label=f"{_LABEL[param]} = {_key_text(param, value)}")
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
        ax.set_title(f"{ylabel} per epoch, {_LABEL[param]} study")
        ax.legend()
        ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(out, dpi=120)
        plt.close(fig)
