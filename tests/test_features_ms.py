"""The 22 `ms` minute-bar features (SPEC §3): hand-derived values on a 4-bar day, a per-minute
loop reference on random days with missing minutes, degenerate days, and `compute_year`
alignment on a small contract folder."""
import math
import statistics
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

from repro.features.intraday import compute_year
from repro.features.ms import MS_FEATURES, ms_features

from market_fixtures import write_month_files

M = 240


def empty_day(s=1):
    return {k: np.full((s, M), np.nan) for k in ("open", "high", "low", "close", "volume", "amount")}


def run(bars):
    return dict(zip(MS_FEATURES, ms_features(bars["open"], bars["high"], bars["low"], bars["close"],
                                             bars["volume"], bars["amount"]).T))


@pytest.fixture
def four_bars():
    """One stock-day with bars only at minutes 0, 1, 100 and 239 (the rest missing)."""
    b = empty_day()
    #            minute: open, high, low, close, volume, amount
    rows = {0: (10.0, 10.5, 9.9, 10.0 * math.e**0.02, 100.0, 1010.0),
            1: (10.2, 10.3, 9.8, 10.0, 300.0, 3030.0),
            100: (10.0, 10.1, 9.9, 10.0 * math.e**0.01, 100.0, 1000.0),
            239: (10.1, 10.2, 9.5, 10.0 * math.e**-0.03, 500.0, 5000.0)}
    for j, vals in rows.items():
        for k, x in zip(("open", "high", "low", "close", "volume", "amount"), vals):
            b[k][0, j] = x
    return b


def test_names_match_spec():
    assert len(MS_FEATURES) == 22 and len(set(MS_FEATURES)) == 22
    assert MS_FEATURES[:3] == ["ret_first30", "ret_last30", "ret_mid"]
    assert MS_FEATURES[-1] == "ret_high_volume"


def test_four_bar_day_by_hand(four_bars):
    # Minute returns: ln(c0/o0) = 0.02, ln(10/(10e^.02)) = -0.02, ln(e^.01) = 0.01, -0.04.
    r = np.array([0.02, -0.02, 0.01, -0.04])
    f = run(four_bars)
    assert f["ret_first30"] == pytest.approx(0.0, abs=1e-12)
    assert f["ret_mid"] == pytest.approx(0.01)
    assert f["ret_last30"] == pytest.approx(-0.04)
    rv = 0.0004 + 0.0004 + 0.0001 + 0.0016  # 0.0025
    assert f["rvol"] == pytest.approx(0.05)
    assert f["rskew"] == pytest.approx(2 * (8e-6 - 8e-6 + 1e-6 - 64e-6) / rv**1.5)
    assert f["rkurt"] == pytest.approx(4 * (16e-8 * 2 + 1e-8 + 256e-8) / rv**2)
    assert f["up_var_share"] == pytest.approx(0.0005 / 0.0025)
    assert f["vol_first30_share"] == pytest.approx(400 / 1000)
    assert f["vol_last30_share"] == pytest.approx(500 / 1000)
    assert f["vol_hhi"] == pytest.approx(0.1**2 + 0.3**2 + 0.1**2 + 0.5**2)
    # minute vwaps 10.1, 10.1, 10, 10 -> mean 10.05; day vwap 10040 / 1000 = 10.04
    assert f["apb"] == pytest.approx(math.log(10.05 / 10.04))
    twap = (10 * math.e**0.02 + 10 + 10 * math.e**0.01 + 10 * math.e**-0.03) / 4
    assert f["arpp"] == pytest.approx((twap - 9.5) / (10.5 - 9.5))
    # |r - med| with med = -0.005: .025, .015, .015, .035; MAD = 0.02; threshold 0.0581 -> no jump
    assert f["jump"] == pytest.approx(0.0, abs=1e-15)
    assert f["mild"] == pytest.approx(r.sum())
    # path 10, 10e^.02 (peak), 10, 10e^.01, 10e^-.03 -> drawdown 1 - e^-.05
    assert f["max_drawdown"] == pytest.approx(1 - math.exp(-0.05))
    assert f["vwap_dev"] == pytest.approx(10 * math.e**-0.03 / 10.04 - 1)
    assert f["amihud_intraday"] == pytest.approx(
        np.mean([0.02 / 1010e-6, 0.02 / 3030e-6, 0.01 / 1000e-6, 0.04 / 5000e-6]))
    assert f["vol_cv"] == pytest.approx(np.std([100, 300, 100, 500]) / 250)
    c = [10 * math.e**0.02, 10, 10 * math.e**0.01, 10 * math.e**-0.03]
    moves = abs(c[0] - 10) + abs(c[1] - c[0]) + abs(c[2] - c[1]) + abs(c[3] - c[2])
    assert f["efficiency"] == pytest.approx((c[3] - 10) / moves)
    # top ceil(4/5) = 1 minute by volume: minute 239
    assert f["ret_high_volume"] == pytest.approx(-0.04)
    assert f["corr_price_volume"] == pytest.approx(np.corrcoef(c, [100, 300, 100, 500])[0, 1])
    assert f["corr_ret_volume"] == pytest.approx(np.corrcoef(r, [100, 300, 100, 500])[0, 1])


def test_jump_split():
    """Minute returns 0 except one 5% move: MAD = 0, so only the moving minute is a jump."""
    b = empty_day()
    close = np.full(M, 10.0)
    close[50:] = 10.5
    b["open"][0] = 10.0
    b["close"][0] = close
    b["high"][0], b["low"][0] = close + 0.01, close - 0.01
    b["volume"][0], b["amount"][0] = 100.0, 100.0 * close
    f = run(b)
    assert f["jump"] == pytest.approx(math.log(1.05))
    assert f["mild"] == 0.0
    # Jumps by the threshold: returns alternate ±0.001 with two 1% moves.
    r = np.where(np.arange(M) % 2 == 0, 0.001, -0.001)
    r[[10, 200]] = [0.01, -0.012]
    b["close"][0] = 10 * np.exp(np.cumsum(r))
    f = run(b)
    med = np.median(r)
    mad = np.median(np.abs(r - med))
    big = np.abs(r - med) >= 1.96 * 1.4826 * mad
    assert big.sum() == 2
    assert f["jump"] == pytest.approx(0.01 - 0.012)
    assert f["mild"] == pytest.approx(r[~big].sum())


def reference(o, h, lo, c, v, a):
    """The 22 formulas for one stock-day, minute by minute (independent of the vectorised code)."""
    bars = [j for j in range(M) if np.isfinite(c[j])]
    r, moves, prev = {}, 0.0, None
    for j in bars:
        ref = o[j] if prev is None else prev
        r[j] = math.log(c[j] / ref)
        moves += abs(c[j] - ref)
        prev = c[j]
    rs = list(r.values())
    n = len(rs)
    rv = sum(x * x for x in rs)
    vols = {j: v[j] for j in range(M) if np.isfinite(v[j])}
    vt = sum(vols.values())
    traded = [j for j in vols if vols[j] > 0]
    vwap = sum(a[j] for j in traded) / sum(v[j] for j in traded)
    med = statistics.median(rs)
    mad = statistics.median([abs(x - med) for x in rs])
    is_jump = {j: abs(x - med) >= 1.96 * 1.4826 * mad and abs(x - med) > 0 for j, x in r.items()}
    peak, mdd = o[bars[0]], 0.0
    for j in bars:
        peak = max(peak, c[j])
        mdd = max(mdd, 1 - c[j] / peak)
    top = sorted(r, key=lambda j: (-v[j], j))[: math.ceil(n / 5)]
    return {
        "ret_first30": sum(x for j, x in r.items() if j < 30),
        "ret_last30": sum(x for j, x in r.items() if j >= 210),
        "ret_mid": sum(x for j, x in r.items() if 30 <= j < 210),
        "rvol": math.sqrt(rv),
        "rskew": math.sqrt(n) * sum(x**3 for x in rs) / rv**1.5,
        "rkurt": n * sum(x**4 for x in rs) / rv**2,
        "up_var_share": sum(x * x for x in rs if x > 0) / rv,
        "vol_first30_share": sum(x for j, x in vols.items() if j < 30) / vt,
        "vol_last30_share": sum(x for j, x in vols.items() if j >= 210) / vt,
        "vol_hhi": sum((x / vt) ** 2 for x in vols.values()),
        "apb": math.log(statistics.mean(a[j] / v[j] for j in traded) / vwap),
        "arpp": (statistics.mean(c[bars]) - np.nanmin(lo)) / (np.nanmax(h) - np.nanmin(lo)),
        "corr_price_volume": scipy.stats.pearsonr(c[bars], v[bars])[0],
        "corr_ret_volume": scipy.stats.pearsonr(rs, v[list(r)])[0],
        "jump": sum(x for j, x in r.items() if is_jump[j]),
        "mild": sum(x for j, x in r.items() if not is_jump[j]),
        "max_drawdown": mdd,
        "vwap_dev": c[bars[-1]] / vwap - 1,
        "amihud_intraday": statistics.mean(abs(r[j]) / (a[j] / 1e6) for j in r if a[j] > 0),
        "vol_cv": statistics.pstdev(vols.values()) / statistics.mean(vols.values()),
        "efficiency": (c[bars[-1]] - o[bars[0]]) / moves,
        "ret_high_volume": sum(r[j] for j in top),
    }


def random_days(seed, s=3):
    rng = np.random.default_rng(seed)
    b = empty_day(s)
    ret = rng.standard_t(4, (s, M)) * 2e-3
    close = np.round(10 * np.exp(np.cumsum(ret, axis=1)), 2)
    b["close"] = close
    b["open"] = np.concatenate([np.full((s, 1), 10.0), close[:, :-1]], axis=1)
    b["high"] = np.maximum(b["open"], close) + rng.uniform(0, 0.02, (s, M))
    b["low"] = np.minimum(b["open"], close) - rng.uniform(0, 0.02, (s, M))
    b["volume"] = np.round(rng.gamma(1.5, 1e4, (s, M)), -2)
    b["volume"][0, 5] = 0.0  # a minute without trades
    b["amount"] = b["volume"] * (b["open"] + close) / 2
    missing = rng.random((s, M)) < 0.2
    missing[0] = False  # row 0: a full day; rows 1..: ~20% of minutes missing
    missing[2, :30] = True  # row 2: no bar in the first 30 minutes
    for k in b:
        b[k][missing] = np.nan
    return b


@pytest.mark.parametrize("seed", [0, 1])
def test_matches_minute_loop_reference(seed):
    b = random_days(seed)
    got = ms_features(b["open"], b["high"], b["low"], b["close"], b["volume"], b["amount"])
    for i in range(got.shape[0]):
        ref = reference(*(b[k][i] for k in ("open", "high", "low", "close", "volume", "amount")))
        if i == 2:
            ref["ret_first30"] = np.nan  # no bar in the window
        for k, name in enumerate(MS_FEATURES):
            assert got[i, k] == pytest.approx(ref[name], rel=1e-9, abs=1e-12, nan_ok=True), (i, name)


def test_realised_moments_match_scipy_for_zero_mean_returns():
    """rskew / rkurt are moments about zero; for returns with mean exactly 0 they equal the
    standardised (biased) skewness and non-excess kurtosis of scipy."""
    r = np.array([0.003, -0.001, -0.002, 0.004, -0.004, 0.001, 0.002, -0.003, 0.005, -0.005, 0.0, 0.0])
    r = np.concatenate([r, -r[:6] * 0.5, r[:6] * 0.5])
    assert abs(r.sum()) < 1e-15
    b = empty_day()
    b["close"][0, : len(r)] = 10 * np.exp(np.cumsum(r))
    b["open"][0, 0] = 10.0
    f = run(b)
    assert f["rskew"] == pytest.approx(scipy.stats.skew(r), rel=1e-9)
    assert f["rkurt"] == pytest.approx(scipy.stats.kurtosis(r, fisher=False), rel=1e-9)


def test_degenerate_days_are_nan_without_warnings():
    b = empty_day(3)
    # row 0: constant price, volume traded; row 1: prices move, zero volume; row 2: no bars
    b["open"][0] = b["high"][0] = b["low"][0] = b["close"][0] = 10.0
    b["volume"][0], b["amount"][0] = 100.0, 1000.0
    b["open"][1] = 10.0
    b["close"][1] = 10 + np.arange(M) % 3 * 0.01
    b["high"][1], b["low"][1] = b["close"][1] + 0.01, b["close"][1] - 0.01
    b["volume"][1] = b["amount"][1] = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        f = ms_features(b["open"], b["high"], b["low"], b["close"], b["volume"], b["amount"])
    assert not np.isinf(f).any()
    got = dict(zip(MS_FEATURES, f.T))
    for name in ("rskew", "rkurt", "up_var_share", "arpp", "corr_price_volume", "corr_ret_volume",
                 "efficiency"):
        assert np.isnan(got[name][0]), name
    assert got["vol_cv"][0] == 0
    assert got["rvol"][0] == 0 and got["max_drawdown"][0] == 0 and got["vwap_dev"][0] == 0
    for name in ("vol_first30_share", "vol_last30_share", "vol_hhi", "apb", "vwap_dev",
                 "amihud_intraday", "vol_cv", "corr_price_volume", "corr_ret_volume", "ret_high_volume"):
        assert np.isnan(got[name][1]), name
    assert np.isfinite(got["rvol"][1]) and np.isfinite(got["efficiency"][1])
    assert np.isnan(f[2]).all()


# ---- compute_year on a small contract folder ------------------------------------------------

def minute_frame(dates, codes, seed=0, drop=()):
    rng = np.random.default_rng(seed)
    rows = []
    for d in dates:
        for c in codes:
            if (d, c) in drop:
                continue
            minutes = np.flatnonzero(rng.random(M) > 0.1)  # ~10% minutes missing
            close = 10 * np.exp(np.cumsum(rng.normal(0, 2e-3, len(minutes))))
            vol = rng.gamma(2, 1e3, len(minutes))
            rows.append(pd.DataFrame({
                "date": pd.Timestamp(d), "code": c, "minute": minutes.astype("int16"),
                "open": close * (1 + rng.normal(0, 1e-3, len(minutes))), "high": close * 1.002,
                "low": close * 0.998, "close": close, "volume": vol, "amount": vol * close}))
    return pd.concat(rows, ignore_index=True)


def dense_day(frame, d, c):
    part = frame[(frame["date"] == pd.Timestamp(d)) & (frame["code"] == c)]
    out = empty_day()
    for k in out:
        out[k][0, part["minute"].to_numpy()] = part[k].to_numpy()
    return out


def test_compute_year_alignment(tmp_path):
    dates = np.array(["2022-01-28", "2022-01-31", "2022-02-07", "2022-02-08", "2023-01-03"],
                     dtype="datetime64[D]")
    codes = np.array(["000001.SZ", "000002.SZ", "600000.SH"])
    # 000002.SZ is suspended on 2022-01-31 (no rows); 600000.SH never has rows;
    # 300750.SZ has rows but is not in the market's codes; 2023 is another year.
    frame = minute_frame(list(dates), ["000001.SZ", "000002.SZ", "300750.SZ"],
                         drop={(dates[1], "000002.SZ")})
    write_month_files(tmp_path, "minute", frame, row_group_size=700)
    panel = compute_year(tmp_path, "ms", 2022, dates, codes)
    assert list(panel.dates) == list(dates[:4])
    assert list(panel.codes) == list(codes)
    assert panel.features == MS_FEATURES
    assert panel.attrs == {"dataset": "ms", "year": 2022}
    assert panel.values.dtype == np.float32 and panel.values.shape == (4, 3, 22)
    assert np.isnan(panel.values[1, 1]).all()
    assert np.isnan(panel.values[:, 2]).all()
    for i, d in enumerate(dates[:4]):
        for n, c in enumerate(codes[:2]):
            if (i, n) == (1, 1):
                continue
            want = run(dense_day(frame, d, c))
            got = panel.values[i, n]
            np.testing.assert_allclose(got, np.float32([want[k][0] for k in MS_FEATURES]), rtol=1e-6)
    assert np.isfinite(panel.values[0, 0]).sum() >= 20


def test_compute_year_missing_column_names_file_and_column(tmp_path):
    frame = minute_frame([np.datetime64("2022-03-01")], ["000001.SZ"]).drop(columns="amount")
    write_month_files(tmp_path, "minute", frame, row_group_size=700)
    with pytest.raises(KeyError, match=r"202203\.parquet.*amount"):
        compute_year(tmp_path, "ms", 2022, np.array(["2022-03-01"], "datetime64[D]"), ["000001.SZ"])


def test_compute_year_rejects_unsorted_dates(tmp_path):
    days = np.array(["2022-03-01", "2022-03-02"], dtype="datetime64[D]")
    frame = minute_frame(list(days), ["000001.SZ"])
    frame = pd.concat([frame[frame["date"] == "2022-03-01"], frame[frame["date"] == "2022-03-02"],
                       frame[frame["date"] == "2022-03-01"].head(5)])
    path = tmp_path / "minute" / "2022" / "202203.parquet"
    path.parent.mkdir(parents=True)
    frame.assign(date=frame["date"].dt.date).to_parquet(path, index=False)
    with pytest.raises(ValueError, match="not sorted by date"):
        compute_year(tmp_path, "ms", 2022, days, ["000001.SZ"])


def test_compute_year_complete_days_in_any_code_order(tmp_path):
    """Complete days (every minute present) take the no-scatter path when the file's stock
    order matches `codes`, and the scatter path otherwise; both give the same features."""
    days = np.array(["2022-05-05", "2022-05-06"], dtype="datetime64[D]")
    codes = ["000001.SZ", "000002.SZ", "000003.SZ"]
    frame = minute_frame(list(days), codes, seed=4)
    frame = frame.set_index(["date", "code", "minute"])
    full = pd.MultiIndex.from_product([pd.to_datetime(days), codes, range(M)], names=frame.index.names)
    frame = frame.reindex(full).ffill().bfill().reset_index()  # every minute present
    frame.loc[7, "volume"] = np.nan  # a null value inside a present row stays NaN
    write_month_files(tmp_path, "minute", frame, row_group_size=700)
    same = compute_year(tmp_path, "ms", 2022, days, codes)
    reverse = compute_year(tmp_path, "ms", 2022, days, codes[::-1])
    np.testing.assert_array_equal(same.values, reverse.values[:, ::-1])
    for i, d in enumerate(days):
        for n, c in enumerate(codes):
            want = run(dense_day(frame, d, c))
            np.testing.assert_allclose(same.values[i, n], np.float32([want[k][0] for k in MS_FEATURES]),
                                       rtol=1e-6)


def test_compute_year_rejects_bad_minutes_and_duplicates(tmp_path):
    days = np.array(["2022-03-01"], dtype="datetime64[D]")
    frame = minute_frame(list(days), ["000001.SZ", "000002.SZ"])
    path = tmp_path / "minute" / "2022" / "202203.parquet"
    path.parent.mkdir(parents=True)
    bad = frame.copy()
    bad.loc[3, "minute"] = 240
    bad.assign(date=bad["date"].dt.date).to_parquet(path, index=False)
    with pytest.raises(ValueError, match=r"202203\.parquet: column 'minute' outside 0\.\.239.*'minute': 240"):
        compute_year(tmp_path, "ms", 2022, days, ["000001.SZ", "000002.SZ"])
    dup = pd.concat([frame, frame.iloc[[10]]]).sort_values(["date", "code", "minute"])
    dup.assign(date=dup["date"].dt.date).to_parquet(path, index=False)
    with pytest.raises(ValueError, match=r"duplicate \(date, code, minute\) rows.*000001\.SZ"):
        compute_year(tmp_path, "ms", 2022, days, ["000001.SZ", "000002.SZ"])


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**16), price_scale=st.floats(0.01, 100.0), volume_scale=st.floats(0.01, 100.0))
def test_unit_invariance(seed, price_scale, volume_scale):
    """Prices × p and volumes × q (amount × p·q) change no feature but amihud (÷ p·q): the
    formulas are ratios of like units. A property of SPEC §3's definitions."""
    b = random_days(seed)
    f0 = ms_features(b["open"], b["high"], b["low"], b["close"], b["volume"], b["amount"])
    p, q = price_scale, volume_scale
    f1 = ms_features(b["open"] * p, b["high"] * p, b["low"] * p, b["close"] * p, b["volume"] * q,
                     b["amount"] * p * q)
    am = MS_FEATURES.index("amihud_intraday")
    f1[:, am] *= p * q
    np.testing.assert_allclose(f1, f0, rtol=1e-7, atol=1e-12)
