"""Table builders (tables 6-17, figures 12-17, oracle recovery) on a tiny random market: exactly
the reference columns and row keys, NaN cells (same keys) for a missing dataset, and a few
values checked independently."""
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from market_fixtures import random_market
from repro import evaluate as ev
from repro.diff import diff_cli, key_columns
from repro.panel import Panel

REF = Path(__file__).resolve().parents[1] / "config" / "reference"
CFG = {"start": "2020-02-03", "end": "2020-06-30", "decay_start": "2020-03-02", "ic_step": 5,
       "groups": 20, "index_groups": 5, "lags": [0, 5, 10, 15, 20],
       "universes": ["all", "csi300", "csi500", "csi1000"]}
K = 4  # units per seed


@pytest.fixture(scope="module")
def inputs():
    market = random_market(n_days=130, n_stocks=60, seed=3)
    rng = np.random.default_rng(0)
    adj = market.adjusted("close")
    target = np.full(market.shape, np.nan)
    target[:-11] = adj[11:] / adj[1:-10] - 1.0
    sample = market.sample_mask(0).astype(np.float64)
    labels = Panel(market.dates, market.codes, ["target", "label", "sample"],
                   np.stack([target, target, sample], axis=-1).astype(np.float32))
    factors = {}
    for d in ev.DATASETS:
        for m in ev.MODELS:
            signal = np.nan_to_num(target) + rng.normal(0, 0.05, market.shape)
            feats, vals = ["factor"], [signal]
            if m == "multi":
                for s in range(3):
                    for k in range(K):
                        feats.append(f"seed{s}_unit_{k:02d}")
                        vals.append(signal + rng.normal(0, 0.05 * (k + 1), market.shape))
            v = np.stack(vals, axis=-1)
            v[~market.listed] = np.nan
            factors[(m, d)] = Panel(market.dates, market.codes, feats, v.astype(np.float32))
    classic = Panel(market.dates, market.codes, list(ev.CLASSIC_DEFINITIONS),
                    rng.normal(size=market.shape + (15,)).astype(np.float32))
    oracle = Panel(market.dates, market.codes, ["oracle_day", "oracle_ms", "oracle_l2", "oracle"],
                   np.stack([target] * 4, axis=-1).astype(np.float32))
    ctx = ev.EvalContext.build(market, labels, CFG)
    return ctx, factors, classic, oracle


def _all_tables(ctx, factors, classic):
    units = ev.unit_statistics(ctx, factors)
    t13 = ev.table13(ctx, factors)
    return {
        "table6": ev.table6(units), "table7": ev.table7(ctx, factors), "table8": ev.table8(ctx, factors),
        "table9": ev.table9(ctx, factors), "table10": ev.table10(ctx, factors),
        "table11": ev.table11(ctx, factors), "table12": ev.table12(ctx, factors),
        "table13": t13, "table14": ev.table14(ctx, factors), "headline": ev.headline(t13),
        "table15": ev.table15(ctx, factors, classic), "table16": ev.table16(ctx, factors, classic),
        "table17": ev.table17(),
    }


def _assert_same_shape(name, ours):
    ref = pd.read_csv(REF / f"{name}.csv")
    assert list(ours.columns) == list(ref.columns), name
    keys = key_columns(name, ref)
    assert ours[keys].astype(str).values.tolist() == ref[keys].astype(str).values.tolist(), name


def test_tables_have_reference_columns_and_keys(inputs, tmp_path):
    ctx, factors, classic, _ = inputs
    tables = _all_tables(ctx, factors, classic)
    for name, df in tables.items():
        _assert_same_shape(name, df)
        ev.write_table(df, tmp_path / f"{name}.csv")
    numeric = [c for c in tables["table8"].columns if c not in ("model", "dataset")]
    assert np.isfinite(tables["table8"][numeric].to_numpy(float)).all()
    assert np.isfinite(tables["table14"].iloc[:, 2:].to_numpy(float)).all()
    assert (tables["table8"]["rank_ic_mean"] > 0.5).all()  # the factors are target + small noise
    assert diff_cli(tmp_path, REF) == 0  # and `repro diff` finds nothing structural


def test_missing_dataset_gives_nan_cells_same_keys(inputs, caplog):
    ctx, factors, classic, _ = inputs
    partial = {k: v for k, v in factors.items() if k[1] == "day"}
    with caplog.at_level(logging.WARNING):
        tables = _all_tables(ctx, partial, classic)
    for name, df in tables.items():
        _assert_same_shape(name, df)
    assert "ms" in caplog.text and "l2" in caplog.text
    t8 = tables["table8"].set_index(["model", "dataset"])
    assert t8.loc[("uni", "ms")].isna().all() and t8.loc[("uni", "day")].notna().all()
    assert tables["table9"]["l2"].isna().iloc[:2].all()
    # avg is then the day factor alone: its correlation with day is 1
    assert tables["table9"].set_index("row").loc["avg", "day"] == pytest.approx(1.0)
    assert tables["table6"].set_index("dataset").loc["l2"].isna().all()


def test_composite_is_mean_of_zscores(inputs):
    ctx, factors, _, _ = inputs
    arrays = ev._factor_arrays(ctx, factors, "uni")
    avg = ev.composite(ctx, arrays)
    t = 40
    ok = ctx.mask("all")[t]
    z = [(a[t, ok] - a[t, ok].mean()) / a[t, ok].std() for a in arrays.values()]
    np.testing.assert_allclose(avg[t, ok], np.mean(z, axis=0), rtol=1e-6)
    assert np.isnan(avg[t, ~ok]).all()


def test_table8_rank_ic_matches_scipy(inputs):
    ctx, factors, _, _ = inputs
    t8 = ev.table8(ctx, factors).set_index(["model", "dataset"])
    x = ctx.factor(factors[("uni", "day")])
    mask = ctx.mask("all")
    ics = []
    for t in ctx.ic_days():
        ok = mask[t] & np.isfinite(x[t]) & np.isfinite(ctx.target[t])
        if ok.sum() >= 3:
            ics.append(spearmanr(x[t, ok], ctx.target[t, ok]).statistic)
    assert t8.loc[("uni", "day"), "rank_ic_mean"] == pytest.approx(np.mean(ics), abs=5e-5)
    assert t8.loc[("uni", "day"), "rank_ic_pos_ratio"] == pytest.approx(np.mean(np.array(ics) > 0), abs=5e-5)


def test_table6_by_hand():
    stats = pd.DataFrame({
        "dataset": ["day"] * 4, "seed": [0, 0, 1, 1], "unit": ["a", "b", "a", "b"],
        "rank_ic_mean": [0.06, 0.04, 0.07, 0.08], "rank_ic_ir": [1.0, 0.5, 0.8, 0.9]})
    t6 = ev.table6(stats).set_index("dataset")
    assert t6.loc["day", "rank_ic_mean"] == pytest.approx(0.0625)
    assert t6.loc["day", "n_factors_rank_ic_gt_5pct"] == pytest.approx(1.5)  # 1 and 2 per seed
    assert t6.loc["day", "rank_ic_ir_mean"] == pytest.approx(0.8)
    assert t6.loc["ms"].isna().all()


def test_unit_figures_and_oracle_recovery(inputs, tmp_path):
    ctx, factors, _, oracle = inputs
    units = ev.unit_statistics(ctx, factors)
    assert len(units) == 3 * 3 * K
    paths = ev.plot_unit_histograms(units, tmp_path)
    assert [p.name for p in paths] == [f"fig{n}.png" for n in range(12, 18)]
    assert all(p.stat().st_size > 1000 for p in paths)
    rec = ev.oracle_recovery(ctx, factors, oracle)
    assert len(rec) == 8
    assert np.allclose(rec["oracle_rank_ic_mean"], 1.0)  # the planted "oracle" here is the target
    assert ((rec["ratio"] > 0.5) & (rec["ratio"] <= 1.0)).all()


def test_table17_names_match_classic_module():
    from repro.features.classic import CLASSIC_FACTORS

    assert list(ev.table17()["factor"]) == CLASSIC_FACTORS
    assert ev.DAILY_CLASSIC + ev.INTRADAY_CLASSIC == CLASSIC_FACTORS


def test_load_factor_panels_reads_the_declared_folders_only(tmp_path):
    dates, codes = np.array(["2022-01-04", "2022-01-05"], dtype="datetime64[D]"), ["A", "B"]
    for dataset, model in [("day", "uni"), ("ms", "multi"), ("l2", "uni")]:
        Panel(dates, codes, ["factor"], np.zeros((2, 2, 1), np.float32)).save(tmp_path / dataset / model)
    declared = [tmp_path / "day" / "uni", str(tmp_path / "ms" / "multi")]  # l2/uni is on disk, undeclared
    assert sorted(ev.load_factor_panels(declared)) == [("multi", "ms"), ("uni", "day")]
    assert list(ev.load_factor_panels(declared, models=("multi",))) == [("multi", "ms")]
    with pytest.raises(ValueError, match="must end in"):
        ev.load_factor_panels([tmp_path / "day"])
