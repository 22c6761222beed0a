"""Tables 18-29 and figures 18-23: hand-checked yearly / weekly statistics, the reference's
columns and row keys, and one figure written."""
import numpy as np
import pandas as pd
import pytest

from repro.enhance.backtest import EnhanceResult
from repro.enhance.performance import (FIGURES, TABLES, enhancement_table, plot_nav, weekly_win_rate,
                                       yearly_returns)

REF = "config/reference"


def _result(index, constraint, seed, dates):
    rng = np.random.default_rng(seed)
    rp = rng.normal(0.001, 0.01, len(dates))
    rb = rng.normal(0.0005, 0.01, len(dates))
    nav = pd.DataFrame({"date": dates, "portfolio_return": rp, "benchmark_return": rb, "hedged_return": rp - rb})
    for k in ("portfolio", "benchmark", "hedged"):
        nav[k] = np.cumprod(1 + nav[f"{k}_return"])
    return EnhanceResult(index, constraint, nav, pd.DataFrame(), pd.DataFrame(), pd.DataFrame())


def test_yearly_returns_and_weekly_win_rate_by_hand():
    dates = np.array(["2022-12-29", "2022-12-30", "2023-01-03", "2023-01-04", "2023-01-09"], dtype="datetime64[D]")
    r = np.array([0.10, -0.10, 0.02, 0.03, -0.01])
    y = yearly_returns(dates, r)
    assert y == pytest.approx({2022: 1.1 * 0.9 - 1, 2023: 1.02 * 1.03 * 0.99 - 1})
    # weeks: Thu 29 + Fri 30 (0.99 -> loss), Tue 3 + Wed 4 (gain), Mon 9 (loss) -> 1 of 3
    assert weekly_win_rate(dates, r) == pytest.approx(1 / 3)


@pytest.mark.parametrize("n", range(18, 30))
def test_tables_match_reference_columns_and_row_keys(n):
    index, constraint, _ = TABLES[n]
    dates = pd.bdate_range("2017-01-03", "2023-04-28").values.astype("datetime64[D]")
    results = {m: _result(index, constraint, k, dates) for k, m in enumerate(("uni", "multi"))}
    ours = enhancement_table(n, results)
    ref = pd.read_csv(f"{REF}/table{n}.csv")
    assert list(ours.columns) == list(ref.columns)
    keys = ["index", "constraint", "series", "model"]
    pd.testing.assert_frame_equal(ours[keys], ref[keys])
    assert ours.drop(columns=keys).notna().all().all()


def test_summary_numbers_from_the_series():
    dates = pd.bdate_range("2021-01-04", periods=300).values.astype("datetime64[D]")
    res = {m: _result("csi500", "member80", k, dates) for k, m in enumerate(("uni", "multi"))}
    t = enhancement_table(25, res)
    h = res["multi"].nav["hedged_return"].to_numpy()
    row = t[(t["series"] == "hedged") & (t["model"] == "multi")].iloc[0]
    assert row["ann_return"] == pytest.approx(np.prod(1 + h) ** (252 / 300) - 1, abs=5e-5)
    assert row["sharpe"] == pytest.approx(h.mean() / h.std(ddof=1) * np.sqrt(252), abs=5e-3)
    nav = np.cumprod(1 + h)
    nav = np.concatenate([[1], nav])
    assert row["max_drawdown"] == pytest.approx((nav / np.maximum.accumulate(nav) - 1).min(), abs=5e-5)
    y = enhancement_table(24, res)
    assert list(y.columns[4:]) == [f"y{year}" for year in range(2017, 2024)]  # the report's years, always
    assert y[["y2021", "y2022"]].notna().all().all() and y[["y2017", "y2020", "y2023"]].isna().all().all()


def test_wrong_portfolio_is_an_error_and_figure_is_written(tmp_path):
    dates = pd.bdate_range("2021-01-04", periods=60).values.astype("datetime64[D]")
    res = {m: _result("csi300", "free", k, dates) for k, m in enumerate(("uni", "multi"))}
    with pytest.raises(ValueError, match="csi300/free"):
        enhancement_table(20, res)  # table 20 is csi300 member80
    assert FIGURES[18] == ("csi300", "free") and FIGURES[23] == ("csi1000", "member80")
    path = plot_nav(18, res, tmp_path / "fig18.png")
    assert path.stat().st_size > 10_000
