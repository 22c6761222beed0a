"""The enhancement stage's workflow entry points (repro.enhance.run): the risk model's estimation
window and the tracking summary, by hand."""
import numpy as np
import pandas as pd
import pytest

from repro.config import validate_config
from repro.enhance.backtest import EnhanceResult, write_result
from repro.enhance.run import risk_window, tracking_summary


def _enhance(**kw):
    cfg = validate_config({})["enhance"]
    cfg.update(kw)
    return cfg


def test_risk_window_takes_the_history_before_the_start():
    dates = np.arange(np.datetime64("2020-01-01"), np.datetime64("2020-01-01") + 1000)
    first, last = risk_window(dates, _enhance(start=str(dates[900]), end=str(dates[950]), risk_history_days=800))
    assert (first, last) == (dates[100], dates[950])
    first, _ = risk_window(dates, _enhance(start=str(dates[900]), end=str(dates[950]), risk_history_days=0))
    assert first == dates[0]  # 0 = all the data
    _, last = risk_window(dates, _enhance(start=str(dates[900]), end="2030-01-01", risk_history_days=10_000))
    assert last == dates[-1]
    with pytest.raises(ValueError, match="only 40 trading days of data before it"):
        risk_window(dates, _enhance(start=str(dates[40]), end=str(dates[950])))  # min_history is 42


def test_tracking_summary_by_hand(tmp_path):
    dates = pd.date_range("2023-01-02", periods=4, freq="B")
    rp = np.array([0.01, -0.02, 0.03, 0.0])
    rb = np.array([0.0, -0.01, 0.01, 0.01])
    hedged = np.cumprod(1 + rp - rb)
    nav = pd.DataFrame({"date": dates, "portfolio_return": rp, "benchmark_return": rb, "hedged_return": rp - rb,
                        "portfolio": np.cumprod(1 + rp), "benchmark": np.cumprod(1 + rb), "hedged": hedged})
    diag = pd.DataFrame({"date": dates[:2], "signal_date": dates[:2], "status": ["optimal", "relaxed"]})
    empty = pd.DataFrame({"date": dates[:0], "code": [], "weight": []})
    folder = tmp_path / "csi500" / "member80" / "uni"
    write_result(EnhanceResult("csi500", "member80", nav, empty, diag, empty), folder)
    row = tracking_summary([folder], _enhance()).iloc[0]
    active = rp - rb  # 0.01, -0.01, 0.02, -0.01: mean 0.0025, sample std sqrt(0.000675 / 3) = 0.015
    assert row["te_realised"] == pytest.approx(round(0.015 * np.sqrt(252), 4))
    assert row["te_bound"] == 0.05 and row["te_ratio"] == pytest.approx(round(0.015 * np.sqrt(252) / 0.05, 4))
    assert row["hedged_ann_return"] == pytest.approx(round(hedged[-1] ** (252 / 4) - 1, 4))
    assert (row["weeks"], row["weeks_relaxed"], row["weeks_failed"]) == (2, 1, 0)
    assert (row["index"], row["constraint"], row["model"]) == ("csi500", "member80", "uni")
    assert np.std(active, ddof=1) == pytest.approx(0.015)
