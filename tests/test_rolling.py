"""Rolling train / valid / test splits (SPEC §5) on hand-made calendars."""
import numpy as np
import pytest

from repro.rolling import split_days


def _calendar(days_per_year: dict) -> np.ndarray:
    out = []
    for year, n in days_per_year.items():
        out.extend(np.busday_offset(f"{year}-01-01", np.arange(n), roll="forward"))
    return np.array(out, dtype="datetime64[D]")


CFG = {"train_years": 2, "purge_days": 2, "l2_start": "2017-01-01", "l2_valid_fraction": 0.5}
# idx 0-9: 2016, 10-19: 2017, 20-29: 2018, 30-34: 2019
DATES = _calendar({2016: 10, 2017: 10, 2018: 10, 2019: 5})


@pytest.mark.parametrize("dataset", ["day", "ms"])
def test_calendar_year_split_with_purge_and_window(dataset):
    s = split_days(DATES, dataset, 2019, CFG, window=3)
    # train 2016-2017 = 0..19, minus the first 2 (window 3), minus the purge of 2 at its end
    assert s.train.tolist() == list(range(2, 18))
    assert s.valid.tolist() == list(range(20, 28))  # 2018 minus 2 purged days before the test
    assert s.test.tolist() == list(range(30, 35))
    assert str(DATES[s.valid[0]]) == "2018-01-01" and str(DATES[s.test[0]]) == "2019-01-01"


def test_train_years_counts_back_from_y_minus_2():
    s = split_days(DATES, "day", 2019, dict(CFG, train_years=1, purge_days=0), window=1)
    assert s.train.tolist() == list(range(10, 20))  # only 2017


def test_l2_chronological_split():
    s = split_days(DATES, "l2", 2019, CFG, window=3)
    # in-sample from the first full window after l2_start (idx 10 + 2 = 12) to 2018 (29): 18 days,
    # half valid: train 12..20 -> purge 2 -> 12..18; valid 21..29 -> purge 2 -> 21..27
    assert s.train.tolist() == list(range(12, 19))
    assert s.valid.tolist() == list(range(21, 28))
    assert s.test.tolist() == list(range(30, 35))


def test_l2_nine_to_one():
    dates = _calendar({2014: 250, 2015: 250, 2016: 250, 2017: 40})
    cfg = {"train_years": 10, "purge_days": 11, "l2_start": "2014-01-01", "l2_valid_fraction": 0.1}
    s = split_days(dates, "l2", 2017, cfg, window=40)
    n = 750 - 39  # in-sample days with a full window
    n_valid = round(0.1 * n)  # 71
    assert s.valid.tolist() == list(range(750 - n_valid, 750 - 11))
    assert s.train.tolist() == list(range(39, 750 - n_valid - 11))
    assert s.test.tolist() == list(range(750, 790))


def test_empty_split_names_dataset_year_and_range():
    with pytest.raises(ValueError, match=r"dataset day, test year 2017: the train split is empty.*2016-01-01"):
        split_days(DATES, "day", 2017, CFG, window=3)
    with pytest.raises(ValueError, match="test split is empty"):
        split_days(DATES, "ms", 2020, CFG, window=3)
    with pytest.raises(ValueError, match="unknown dataset"):
        split_days(DATES, "week", 2019, CFG, window=3)


def test_no_overlap_and_gap_at_least_purge():
    dates = _calendar({y: 240 for y in range(2010, 2018)})
    cfg = {"train_years": 5, "purge_days": 11, "l2_start": "2012-01-01", "l2_valid_fraction": 0.1}
    for dataset in ("day", "l2"):
        s = split_days(dates, dataset, 2017, cfg, window=40)
        assert s.train.max() + 11 < s.valid.min() and s.valid.max() + 11 < s.test.min()
