"""Figures 1-5: the rolling schedule of fig 5 is split_days' own, and all five are drawn."""
import numpy as np
import pytest

from repro.config import validate_config
from repro.diagrams import draw_all, rolling_schedule
from repro.rolling import split_days


def _cfg():
    return validate_config({"features": {"window": 10},
                            "train": {"test_years": [2022, 2023], "train_years": 2, "l2_start": "2020-07-01"}})


def _calendar():
    return np.busday_offset("2019-01-01", np.arange(1150), roll="forward").astype("datetime64[D]")


def test_rolling_schedule_is_split_days_with_its_purge_gaps():
    cfg, dates = _cfg(), _calendar()
    schedule = rolling_schedule(dates, ["day", "l2"], cfg["train"], 10)
    assert len(schedule) == 2 * 2 * 3
    for row in schedule.itertuples():
        days = getattr(split_days(dates, row.dataset, row.test_year, cfg["train"], 10), row.set)
        assert (row.first, row.last, row.days) == (dates[days[0]], dates[days[-1]], len(days))
    day22 = schedule[(schedule.dataset == "day") & (schedule.test_year == 2022)].set_index("set")
    between = (dates > day22.loc["train", "last"]) & (dates < day22.loc["valid", "first"])
    assert between.sum() == cfg["train"]["purge_days"]  # the purge before the valid year
    l2 = schedule[schedule.dataset == "l2"]
    assert (l2["first"][l2.set == "train"] >= np.datetime64("2020-07-01")).all()


def test_draw_all_writes_five_figures(tmp_path):
    cfg = _cfg()
    paths = [tmp_path / f"fig{n}.png" for n in range(1, 6)]
    draw_all(cfg, _calendar(), ["day", "ms", "l2"], paths)
    for p in paths:
        assert p.read_bytes()[:4] == b"\x89PNG" and p.stat().st_size > 10_000
    with pytest.raises(ValueError, match="five paths"):
        draw_all(cfg, _calendar(), ["day"], paths[:4])
