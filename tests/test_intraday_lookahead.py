"""No look-ahead in the intraday features (charter; SPEC §2): changing every minute and L2 row
dated after day t leaves every `ms` / `l2` feature dated ≤ t unchanged."""
import numpy as np
import pandas as pd
import pytest

from repro.features.intraday import compute_year
from repro.features.l2 import L2_COLUMNS

from market_fixtures import write_month_files

M = 240
DATES = np.array(["2022-01-27", "2022-01-28", "2022-01-31", "2022-02-07", "2022-02-08", "2022-02-09"],
                 dtype="datetime64[D]")
CODES = np.array(["000001.SZ", "000002.SZ", "600000.SH"])


def market_rows(seed):
    """Random minute and L2 rows for DATES × CODES; 600000.SH is suspended on 2022-01-31."""
    rng = np.random.default_rng(seed)
    minute, l2 = [], []
    for d in DATES:
        for c in CODES:
            if (d, c) == (DATES[2], "600000.SH"):
                continue
            mins = np.flatnonzero(rng.random(M) > 0.05).astype("int16")
            close = np.round(10 * np.exp(np.cumsum(rng.normal(0, 2e-3, len(mins)))), 2)
            vol = np.round(rng.gamma(2, 1e3, len(mins)), -2)
            key = {"date": pd.Timestamp(d), "code": c, "minute": mins}
            minute.append(pd.DataFrame({**key, "open": close + 0.01, "high": close + 0.02,
                                        "low": close - 0.02, "close": close, "volume": vol,
                                        "amount": vol * close}))
            cols = {k: rng.gamma(1.0, 1e4, len(mins)) for k in L2_COLUMNS}
            cols["bid1"], cols["ask1"] = close - 0.01, close + 0.01
            l2.append(pd.DataFrame({**key, **cols}))
    return pd.concat(minute, ignore_index=True), pd.concat(l2, ignore_index=True)


def perturb_after(frame, t, rng):
    """Rescale every numeric column on dates after t and drop a tenth of those rows."""
    after = frame["date"] > pd.Timestamp(t)
    out = frame.copy()
    for c in frame.columns.difference(["date", "code", "minute"]):
        out.loc[after, c] = out.loc[after, c] * rng.uniform(0.5, 1.5, after.sum())
    drop = after & (rng.random(len(frame)) < 0.1)
    return out[~drop]


@pytest.mark.parametrize("t_index", [1, 3])
def test_features_up_to_t_ignore_later_rows(tmp_path, t_index):
    t = DATES[t_index]
    minute, l2 = market_rows(0)
    rng = np.random.default_rng(1)
    base, moved = tmp_path / "base", tmp_path / "moved"
    write_month_files(base, "minute", minute, row_group_size=900)
    write_month_files(base, "l2", l2, row_group_size=900)
    write_month_files(moved, "minute", perturb_after(minute, t, rng), row_group_size=900)
    write_month_files(moved, "l2", perturb_after(l2, t, rng), row_group_size=900)
    for dataset in ("ms", "l2"):
        a = compute_year(base, dataset, 2022, DATES, CODES).values
        b = compute_year(moved, dataset, 2022, DATES, CODES).values
        upto = DATES <= t
        np.testing.assert_array_equal(a[upto], b[upto], err_msg=dataset)  # NaN-equal, bit for bit
        later_a, later_b = a[~upto], b[~upto]
        both = np.isfinite(later_a) & np.isfinite(later_b)
        assert (later_a[both] != later_b[both]).mean() > 0.5, dataset  # the perturbation is seen
        assert np.isnan(a[2, 2]).all()  # the suspended stock-day
