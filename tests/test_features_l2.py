"""The 20 `l2` Level-2 features (SPEC §3): hand-derived values on a 3-minute day, a per-minute
loop reference on random days with missing minutes, degenerate days, and `compute_year`
alignment (L2 rows joined with the minute closes of the same month)."""
import math
import statistics
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

from repro.contract import L2, L2_SIZES
from repro.features.intraday import compute_year
from repro.features.l2 import L2_COLUMNS, L2_FEATURES, l2_features

from market_fixtures import write_month_files
from repro.features.ms import MS_FEATURES

M = 240


def empty_day(s=1):
    return {k: np.full((s, M), np.nan) for k in L2_COLUMNS}


def run(cols, close):
    return dict(zip(L2_FEATURES, l2_features(cols, close).T))


def test_names_match_spec():
    assert len(L2_FEATURES) == 20 and len(set(L2_FEATURES)) == 20
    assert L2_FEATURES[0] == "net_inflow_small" and L2_FEATURES[-1] == "xlarge_count_imb"
    assert set(L2_COLUMNS) | {"date", "code", "minute"} == set(L2)


def test_three_minute_day_by_hand():
    """Rows at minutes 0, 100 and 239 only."""
    b = empty_day()
    close = np.full((1, M), np.nan)
    minute = {  # buy s/m/l/x, sell s/m/l/x, counts bx/sx/trades, bid1, ask1, depth b/a, cancel b/s
        0: ([10, 20, 30, 40], [5, 5, 10, 10], (2, 1, 10), (9.99, 10.01), (300, 100), (4, 6)),
        100: ([0, 10, 0, 0], [10, 0, 0, 20], (0, 1, 4), (10.0, 10.04), (100, 100), (0, 2)),
        239: ([5, 5, 0, 0], [0, 0, 0, 0], (0, 0, 1), (10.1, 0.0), (200, 0), (1, 0)),
    }
    for j, (buy, sell, (bx, sx, n), (bid, ask), (bd, ad), (cb, cs)) in minute.items():
        for s, x, y in zip(L2_SIZES, buy, sell):
            b[f"buy_amount_{s}"][0, j], b[f"sell_amount_{s}"][0, j] = x, y
        b["buy_count_xlarge"][0, j], b["sell_count_xlarge"][0, j], b["trade_count"][0, j] = bx, sx, n
        b["bid1"][0, j], b["ask1"][0, j] = bid, ask
        b["bid_depth"][0, j], b["ask_depth"][0, j] = bd, ad
        b["cancel_buy_amount"][0, j], b["cancel_sell_amount"][0, j] = cb, cs
    close[0, [0, 100, 239]] = [10.0, 10.02, 10.1]
    f = run(b, close)
    # buy 100 + 10 + 10 = 120, sell 30 + 30 + 0 = 60, T = 180
    assert f["net_inflow_small"] == pytest.approx((15 - 15) / 180)
    assert f["net_inflow_medium"] == pytest.approx((35 - 5) / 180)
    assert f["net_inflow_large"] == pytest.approx((30 - 10) / 180)
    assert f["net_inflow_xlarge"] == pytest.approx((40 - 30) / 180)
    assert f["net_inflow_main"] == pytest.approx(30 / 180)
    assert f["active_buy_ratio"] == pytest.approx(120 / 180)
    assert f["large_share"] == pytest.approx((30 + 40 + 10 + 30) / 180)
    assert f["avg_trade_size"] == pytest.approx(math.log(180 / 15))
    # minute 239 has an empty ask side (limit-up) and is left out of the spread
    sp = [0.02 / 10.0, 0.04 / 10.02]
    assert f["spread_mean"] == pytest.approx(np.mean(sp))
    assert f["spread_std"] == pytest.approx(np.std(sp))
    imb = [200 / 400, 0.0, 1.0]
    assert f["depth_imb_mean"] == pytest.approx(np.mean(imb))
    assert f["depth_imb_close"] == pytest.approx(1.0)
    # depth in CNY: 400 × 10.00 (mid), 200 × 10.02 (mid), 200 × 10.1 (close: no usable quote)
    depth = np.mean([4000.0, 2004.0, 2020.0])
    assert f["depth_log"] == pytest.approx(math.log(depth / np.mean([130.0, 40.0, 10.0])))
    assert f["inflow_first30"] == pytest.approx((100 - 30) / 130)
    assert f["inflow_last30"] == pytest.approx(1.0)
    # returns exist at minutes 100 and 239 only (no open in L2): two points, net 10-30, 10-0
    assert f["corr_inflow_ret"] == pytest.approx(1.0)
    assert f["imb_std"] == pytest.approx(np.std([70 / 130, -20 / 40, 1.0]))
    assert f["cancel_ratio_buy"] == pytest.approx(5 / 180)
    assert f["cancel_ratio_sell"] == pytest.approx(8 / 180)
    assert f["xlarge_count_imb"] == pytest.approx((2 - 2) / 4)


def reference(x, close):
    """The 20 formulas for one stock-day, minute by minute."""
    rows = [j for j in range(M) if any(np.isfinite(x[c][j]) for c in L2_COLUMNS)]
    z = {c: {j: (0.0 if np.isnan(x[c][j]) else x[c][j]) for j in rows} for c in L2_COLUMNS}
    buy = {j: sum(z[f"buy_amount_{s}"][j] for s in L2_SIZES) for j in rows}
    sell = {j: sum(z[f"sell_amount_{s}"][j] for s in L2_SIZES) for j in rows}
    total = sum(buy.values()) + sum(sell.values())

    def net(sizes):
        return sum(z[f"buy_amount_{s}"][j] - z[f"sell_amount_{s}"][j] for s in sizes for j in rows) / total

    spread, imb, depth, ords = [], [], [], []
    for j in rows:
        bid, ask = x["bid1"][j], x["ask1"][j]
        ok = bid > 0 and ask >= bid
        if ok:
            spread.append((ask - bid) / ((ask + bid) / 2))
        d = x["bid_depth"][j] + x["ask_depth"][j]
        if d > 0:
            imb.append((x["bid_depth"][j] - x["ask_depth"][j]) / d)
            price = (bid + ask) / 2 if ok else close[j]
            if np.isfinite(price):
                depth.append(d * price)
        if buy[j] + sell[j] > 0:
            ords.append((buy[j] - sell[j]) / (buy[j] + sell[j]))
    closes = [j for j in range(M) if np.isfinite(close[j])]
    rets = {b: math.log(close[b] / close[a]) for a, b in zip(closes, closes[1:])}
    pairs = [(buy[j] - sell[j], rets[j]) for j in rows if j in rets]

    def window(lo, hi):
        w = [j for j in rows if lo <= j < hi]
        if not w:
            return math.nan
        return sum(buy[j] - sell[j] for j in w) / sum(buy[j] + sell[j] for j in w)

    bx, sx = sum(z["buy_count_xlarge"].values()), sum(z["sell_count_xlarge"].values())
    return {
        **{f"net_inflow_{s}": net([s]) for s in L2_SIZES},
        "net_inflow_main": net(["large", "xlarge"]),
        "active_buy_ratio": sum(buy.values()) / total,
        "large_share": sum(z[f"{side}_amount_{s}"][j] for side in ("buy", "sell")
                           for s in ("large", "xlarge") for j in rows) / total,
        "avg_trade_size": math.log(total / sum(z["trade_count"].values())),
        "spread_mean": statistics.mean(spread),
        "spread_std": statistics.pstdev(spread),
        "depth_imb_mean": statistics.mean(imb),
        "depth_imb_close": imb[-1],
        "depth_log": math.log(statistics.mean(depth) / statistics.mean(buy[j] + sell[j] for j in rows)),
        "inflow_first30": window(0, 30),
        "inflow_last30": window(210, 240),
        "corr_inflow_ret": scipy.stats.pearsonr(*zip(*pairs))[0],
        "imb_std": statistics.pstdev(ords),
        "cancel_ratio_buy": sum(z["cancel_buy_amount"].values()) / total,
        "cancel_ratio_sell": sum(z["cancel_sell_amount"].values()) / total,
        "xlarge_count_imb": (bx - sx) / (bx + sx),
    }


def random_days(seed, s=3):
    rng = np.random.default_rng(seed)
    close = np.round(10 * np.exp(np.cumsum(rng.normal(0, 2e-3, (s, M)), axis=1)), 2)
    x = {c: rng.gamma(1.0, 1e4, (s, M)) for c in L2_COLUMNS}
    for c in ("buy_count_xlarge", "sell_count_xlarge", "trade_count"):
        x[c] = rng.poisson(2.0, (s, M)).astype(float)
    x["bid1"], x["ask1"] = close - 0.01 * rng.integers(0, 3, (s, M)), close + 0.01
    x["ask1"][0, 200:] = 0.0  # limit-up afternoon: no asks
    x["buy_amount_large"][1, 7] = np.nan  # a null inside a present row
    missing = rng.random((s, M)) < 0.2
    missing[0] = False
    missing[2, 100:] = True  # a half-day
    for c in L2_COLUMNS:
        x[c][missing] = np.nan
    close[rng.random((s, M)) < 0.1] = np.nan  # minute bars missing independently of L2 rows
    return x, close


@pytest.mark.parametrize("seed", [0, 1])
def test_matches_minute_loop_reference(seed):
    x, close = random_days(seed)
    got = l2_features(x, close)
    for i in range(got.shape[0]):
        ref = reference({c: v[i] for c, v in x.items()}, close[i])
        for k, name in enumerate(L2_FEATURES):
            assert got[i, k] == pytest.approx(ref[name], rel=1e-9, abs=1e-12, nan_ok=True), (i, name)


def test_degenerate_days_are_nan_without_warnings():
    x = empty_day(3)
    close = np.full((3, M), 10.0)
    # row 0: rows present, nothing traded, no quotes / depth;
    # row 1: trades but no xlarge trades, constant quotes and closes; row 2: no rows
    for c in L2_COLUMNS:
        x[c][0] = 0.0
        x[c][1] = 1.0
    x["buy_count_xlarge"][1] = x["sell_count_xlarge"][1] = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        f = l2_features(x, close)
    assert not np.isinf(f).any()
    assert np.isnan(f[0]).all()  # every ratio has a zero denominator
    got = dict(zip(L2_FEATURES, f[1]))
    assert np.isnan(got["xlarge_count_imb"]) and np.isnan(got["corr_inflow_ret"])  # constant close
    assert got["spread_mean"] == 0 and got["imb_std"] == 0 and got["net_inflow_main"] == 0
    assert np.isnan(f[2]).all()


def test_missing_column_is_named():
    x = empty_day()
    del x["cancel_sell_amount"]
    with pytest.raises(KeyError, match="cancel_sell_amount"):
        l2_features(x, np.full((1, M), np.nan))


# ---- compute_year: L2 rows + minute closes of the same month --------------------------------

def test_compute_year_alignment(tmp_path):
    dates = np.array(["2022-06-29", "2022-06-30", "2022-07-01"], dtype="datetime64[D]")
    codes = np.array(["000001.SZ", "000002.SZ", "600000.SH"])
    rng = np.random.default_rng(3)
    l2_rows, minute_rows, expected = [], [], {}
    for i, d in enumerate(dates):
        for n, c in enumerate(codes):
            if (i, n) == (1, 0) or n == 2:
                continue  # 000001.SZ suspended on 06-30; 600000.SH has no data at all
            minutes = np.flatnonzero(rng.random(M) > 0.15)
            x, _ = random_days(int(rng.integers(1 << 30)))  # row 0: a full day
            dense = {k: np.full((1, M), np.nan) for k in L2_COLUMNS}
            frame = {"date": pd.Timestamp(d), "code": c, "minute": minutes.astype("int16")}
            for k in L2_COLUMNS:
                vals = np.nan_to_num(x[k][0, minutes], nan=1.0)
                frame[k] = vals
                dense[k][0, minutes] = vals
            l2_rows.append(pd.DataFrame(frame))
            bar_minutes = minutes[minutes % 7 != 0]  # some minutes have L2 rows but no bar
            cl = 10 + 0.01 * rng.integers(-20, 20, len(bar_minutes))
            minute_rows.append(pd.DataFrame({
                "date": pd.Timestamp(d), "code": c, "minute": bar_minutes.astype("int16"), "open": cl,
                "high": cl, "low": cl, "close": cl, "volume": 100.0, "amount": 100.0 * cl}))
            dense_close = np.full((1, M), np.nan)
            dense_close[0, bar_minutes] = cl
            expected[(i, n)] = l2_features(dense, dense_close)[0]
    write_month_files(tmp_path, "l2", pd.concat(l2_rows), row_group_size=500)
    write_month_files(tmp_path, "minute", pd.concat(minute_rows), row_group_size=500)
    panel = compute_year(tmp_path, "l2", 2022, dates, codes)
    assert panel.features == L2_FEATURES and panel.attrs == {"dataset": "l2", "year": 2022}
    assert panel.values.shape == (3, 3, 20)
    for (i, n), want in expected.items():
        np.testing.assert_allclose(panel.values[i, n], want.astype(np.float32), rtol=1e-6)
    assert np.isnan(panel.values[1, 0]).all() and np.isnan(panel.values[:, 2]).all()
    assert np.isfinite(panel.values[0, 0, L2_FEATURES.index("corr_inflow_ret")])
    # ms from the same folder: the minute file alone
    assert compute_year(tmp_path, "ms", 2022, dates, codes).features == MS_FEATURES


def test_compute_year_before_l2_history_is_nan(tmp_path, caplog):
    dates = np.array(["2012-03-01"], dtype="datetime64[D]")
    panel = compute_year(tmp_path, "l2", 2012, dates, ["000001.SZ"])
    assert panel.values.shape == (1, 1, 20) and np.isnan(panel.values).all()
    assert "no l2 file" in caplog.text


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**16), p=st.floats(0.01, 100.0), q=st.floats(0.01, 100.0),
       d=st.floats(0.01, 100.0))
def test_unit_invariance(seed, p, q, d):
    """Prices × p, amounts × q, depth × d: only the two log-level features move, by known
    shifts (avg_trade_size + ln q, depth_log + ln(p·d/q)); the rest are unit-free ratios."""
    x, close = random_days(seed)
    f0 = l2_features(x, close)
    y = {c: v * (p if c in ("bid1", "ask1") else d if c.endswith("_depth") else
                 1.0 if "count" in c else q) for c, v in x.items()}
    f1 = l2_features(y, close * p)
    f1[:, L2_FEATURES.index("avg_trade_size")] -= math.log(q)
    f1[:, L2_FEATURES.index("depth_log")] -= math.log(p * d / q)
    np.testing.assert_allclose(f1, f0, rtol=1e-7, atol=1e-9)
