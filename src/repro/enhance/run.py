"""The enhancement stage's entry points, one per workflow rule (rules/enhance.smk): estimate the
risk model, run one enhanced portfolio, write a table or figure of report §4, validate the risk
model. Each takes paths and the validated config sections and writes its outputs atomically."""
from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from ..atomic import atomic_file
from ..data import load_market
from ..evaluate import EvalContext, composite_of, load_factor_panels, write_table
from ..metrics.layered import annualised_return
from ..panel import Panel
from ..risk import RiskConfig, RiskModel
from ..risk.bias import bias_statistics, plot_bias
from ..targets import ENHANCEMENT_FIGURES, ENHANCEMENT_TABLES
from ..vocabulary import INDICES as ENHANCED_INDICES
from .backtest import enhance_backtest, read_result, write_result
from .config import EnhanceConfig
from .performance import enhancement_table, plot_nav

log = logging.getLogger(__name__)


def risk_window(dates: np.ndarray, enhance_cfg: dict) -> tuple[np.datetime64, np.datetime64]:
    """(first, last) day the risk model is estimated on: `risk_history_days` trading days before
    enhance.start (all the data when 0 or when the data start later) to enhance.end."""
    dates = np.asarray(dates, dtype="datetime64[D]")
    first_test = int(np.searchsorted(dates, np.datetime64(enhance_cfg["start"], "D")))
    history = enhance_cfg["risk_history_days"]
    lo = 0 if history == 0 else max(0, first_test - history)
    if first_test - lo < RiskConfig.from_dict(enhance_cfg["risk"]).min_history + 1:
        raise ValueError(f"enhance.start {enhance_cfg['start']}: only {first_test - lo} trading days of data "
                         "before it; the risk model needs at least min_history + 1")
    end = min(np.datetime64(enhance_cfg["end"], "D"), dates[-1])
    return dates[lo], end


def estimate_risk(data_cfg: dict, enhance_cfg: dict, out) -> None:
    market = load_market(data_cfg)
    start, end = risk_window(market.dates, enhance_cfg)
    log.info("risk model: %d stocks, %s … %s", len(market.codes), start, end)
    RiskModel.estimate(market, RiskConfig.from_dict(enhance_cfg["risk"]), end_date=end, start_date=start).save(out)


def run_portfolio(data_cfg: dict, labels, factor_paths, risk_path, index: str, constraint: str, model: str,
                  evaluate_cfg: dict, enhance_cfg: dict, out_folder) -> None:
    """One enhanced portfolio: the `avg` composite of `model` as the score, weekly rebalanced
    against `index` under `constraint`; writes weights.parquet, nav.parquet, diagnostics.csv and
    trades.parquet into `out_folder`."""
    market = load_market(data_cfg)
    ctx = EvalContext.build(market, Panel.load(labels), evaluate_cfg)
    score = composite_of(ctx, load_factor_panels(factor_paths, models=(model,)), model)
    if score is None:
        raise ValueError(f"enhance {index}/{constraint}/{model}: no {model} factor panel to build the score from")
    risk = RiskModel.load(risk_path)
    result = enhance_backtest(market, score, risk.snapshot, index, constraint, enhance_cfg["start"],
                              enhance_cfg["end"], EnhanceConfig.from_dict(enhance_cfg["optimizer"]))
    write_result(result, out_folder)
    d = result.diagnostics
    log.info("%s/%s/%s: %d rebalances, status %s", index, constraint, model, len(d),
             d["status"].value_counts().to_dict() if "status" in d else {})


def _results(folders: dict) -> dict:
    """{model: EnhanceResult} from {model: folder}; the folder's path names index and constraint."""
    out = {}
    for model, folder in folders.items():
        index, constraint = Path(folder).parts[-3:-1]
        out[model] = read_result(folder, index, constraint)
    return out


def write_enhancement_table(n: int, folders: dict, out) -> None:
    if n not in ENHANCEMENT_TABLES:
        raise ValueError(f"enhancement tables are {sorted(ENHANCEMENT_TABLES)}, not {n}")
    write_table(enhancement_table(n, _results(folders)), out)


def write_enhancement_figure(n: int, folders: dict, out) -> None:
    if n not in ENHANCEMENT_FIGURES:
        raise ValueError(f"enhancement figures are {sorted(ENHANCEMENT_FIGURES)}, not {n}")
    with atomic_file(Path(out)) as tmp:
        plot_nav(n, _results(folders), tmp)


def validate_risk(data_cfg: dict, risk_path, portfolio_folders, enhance_cfg: dict, out_csv, out_png) -> None:
    """Bias statistics (Barra's validation: std of realised return / predicted risk) of every
    factor, of `bias_portfolios` random long-only portfolios and of the optimised portfolios
    (their target weights held from each trade day), over the backtest period."""
    market = load_market(data_cfg)
    model = RiskModel.load(risk_path)
    portfolios = {}
    for folder in map(Path, portfolio_folders):
        name = "/".join(folder.parts[-3:])
        portfolios[name] = pd.read_parquet(folder / "weights.parquet")
    table = bias_statistics(model, market, enhance_cfg["start"], enhance_cfg["end"], portfolios,
                            n_random=enhance_cfg["bias_portfolios"], seed=enhance_cfg["risk"]["seed"])
    write_table(table, out_csv)
    with atomic_file(Path(out_png)) as tmp:
        plot_bias(table, tmp)


def tracking_summary(folders, enhance_cfg: dict) -> pd.DataFrame:
    """Per portfolio: realised tracking error (std of daily active return × √periods) against its
    bound, hedged annualised return, and how many weeks needed a relaxed solve."""
    cfg = EnhanceConfig.from_dict(enhance_cfg["optimizer"])
    rows = []
    for folder in map(Path, folders):
        index, constraint, model = folder.parts[-3:]
        res = read_result(folder, index, constraint)
        active = res.nav["portfolio_return"] - res.nav["benchmark_return"]
        realised = float(active.std(ddof=1) * np.sqrt(cfg.periods_per_year))
        hedged = annualised_return(res.nav["hedged_return"], cfg.periods_per_year)
        status = res.diagnostics["status"]
        rows.append({"index": index, "constraint": constraint, "model": model,
                     "te_bound": cfg.te_annual[index], "te_realised": realised,
                     "te_ratio": realised / cfg.te_annual[index], "hedged_ann_return": hedged,
                     "weeks": len(status), "weeks_relaxed": int((status == "relaxed").sum()),
                     "weeks_failed": int((status == "failed").sum())})
    return pd.DataFrame(rows).round(4)


def oracle_check(data_cfg: dict, labels, risk_path, evaluate_cfg: dict, enhance_cfg: dict) -> pd.DataFrame:
    """Synthetic market only: each index's member80 portfolio with the planted oracle as the score,
    a check that the optimiser and backtest pass a known signal through (hedged return > 0 after
    costs); rows as `tracking_summary`, model = "oracle"."""
    from ..synth import load_oracle

    market = load_market(data_cfg)
    ctx = EvalContext.build(market, Panel.load(labels), evaluate_cfg)
    oracle = ctx.factor(load_oracle(data_cfg["path"], market.dates, market.codes), "oracle")
    score = np.where(ctx.mask("all"), oracle, np.nan)
    risk = RiskModel.load(risk_path)
    with tempfile.TemporaryDirectory() as work:
        folders = []
        for index in ENHANCED_INDICES:
            folder = Path(work) / index / "member80" / "oracle"
            result = enhance_backtest(market, score, risk.snapshot, index, "member80", enhance_cfg["start"],
                                      enhance_cfg["end"], EnhanceConfig.from_dict(enhance_cfg["optimizer"]))
            write_result(result, folder)
            folders.append(folder)
        return tracking_summary(folders, enhance_cfg)
