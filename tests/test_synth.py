"""The synthetic market (repro.synth): contract, determinism, bar consistency, A-share limit
rules, index weights and the planted oracle (SPEC §1)."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from repro import contract
from repro.synth import generate_market, load_oracle
from repro.synth.calendar import trading_days
from repro.synth.calibration import oracle_report

# Spans 2020-08-24 (ChiNext goes to ±20%); STAR stocks (±20% since 2019-07-22) IPO inside it.
CFG = {"seed": 7, "n_stocks": 60, "start": "2020-05-06", "end": "2020-12-31", "n_industries": 8}
TINY = {"seed": 3, "n_stocks": 8, "start": "2021-03-01", "end": "2021-03-31", "n_industries": 3}


@pytest.fixture(scope="module")
def market(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth") / "market"
    generate_market(CFG, out)
    return out


@pytest.fixture(scope="module")
def daily(market):
    return pd.concat([pq.read_table(f).to_pandas() for f in sorted((market / "daily").glob("*.parquet"))],
                     ignore_index=True)


def _month(market, kind, tag):
    return pq.read_table(market / kind / tag[:4] / f"{tag}.parquet").to_pandas()


def test_same_seed_gives_identical_files(tmp_path):
    generate_market(TINY, tmp_path / "a")
    generate_market(TINY, tmp_path / "b")
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.parquet"))
    assert len(files) == 8  # calendar, stocks, industry, daily, minute, l2, index_weights, oracle
    for rel in files:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel
    generate_market({**TINY, "seed": 4}, tmp_path / "c")
    assert (tmp_path / "a/daily/2021.parquet").read_bytes() != (tmp_path / "c/daily/2021.parquet").read_bytes()


def test_calendar_skips_weekends_and_holidays():
    days = trading_days("2021-09-27", "2021-10-12")
    # National Day week Oct 1-7 and the weekends are closed
    assert [str(d) for d in days] == ["2021-09-27", "2021-09-28", "2021-09-29", "2021-09-30",
                                      "2021-10-08", "2021-10-11", "2021-10-12"]


_FAMILY = {"date": pa.types.is_date32, "str": pa.types.is_string, "float": pa.types.is_floating,
           "bool": pa.types.is_boolean, "int": pa.types.is_integer}


def test_every_contract_table_has_its_columns_and_dtypes(market):
    tables = dict(contract.TABLES, oracle=("oracle.parquet", contract.ORACLE))
    for name, (pattern, schema) in tables.items():
        files = sorted(market.glob(pattern))
        assert files, name
        for f in files:
            arrow = pq.read_schema(f)
            assert arrow.names == list(schema), f
            for col, (family, _) in schema.items():
                assert _FAMILY[family](arrow.field(col).type), (f, col, arrow.field(col).type)
    assert pq.read_schema(market / "minute/2020/202008.parquet").field("minute").type == pa.int16()
    assert pq.read_schema(market / "daily/2020.parquet").field("close").type == pa.float64()


def test_minute_files_sorted_with_one_row_group_per_day(market):
    for kind in ("minute", "l2"):
        f = pq.ParquetFile(market / kind / "2020" / "202008.parquet")
        df = f.read(columns=["date", "code", "minute"]).to_pandas()
        assert f.metadata.num_row_groups == df["date"].nunique()
        for g in range(f.metadata.num_row_groups):
            assert len(f.read_row_group(g, columns=["date"]).column(0).unique()) == 1
        order = np.lexsort((df["minute"].to_numpy(), df["code"].to_numpy(), df["date"].to_numpy()))
        assert (order == np.arange(len(df))).all()
        assert not df.duplicated().any()


def test_minute_bars_agree_with_daily_bars(market, daily):
    m = _month(market, "minute", "202008")
    g = m.groupby(["date", "code"], sort=True)
    agg = pd.DataFrame({"open": g["open"].first(), "close": g["close"].last(), "high": g["high"].max(),
                        "low": g["low"].min(), "volume": g["volume"].sum(), "amount": g["amount"].sum(),
                        "n": g.size()})
    d = daily.set_index(["date", "code"])
    traded = d[(~d["is_suspended"]) & (pd.to_datetime(d.index.get_level_values("date")).month == 8)
               & (pd.to_datetime(d.index.get_level_values("date")).year == 2020)]
    assert set(agg.index) == set(traded.index)  # suspended days have no minute rows
    d = traded.loc[agg.index]
    assert (agg["n"] == 240).all()
    for col in ("open", "close", "high", "low"):
        np.testing.assert_allclose(agg[col], d[col], rtol=1e-6)
    np.testing.assert_allclose(agg["volume"], d["volume"], rtol=1e-6)
    np.testing.assert_allclose(agg["amount"], d["amount"], rtol=1e-5)
    np.testing.assert_allclose(agg["amount"] / agg["volume"], d["vwap"], rtol=1e-5)
    np.testing.assert_allclose(d["amount"], d["vwap"] * d["volume"], rtol=1e-9)
    lim = daily.set_index(["date", "code"]).loc[list(zip(m["date"], m["code"]))]
    for col in ("open", "high", "low", "close"):
        assert (m[col].to_numpy() <= lim["limit_up"].to_numpy() + 1e-4).all()
        assert (m[col].to_numpy() >= lim["limit_down"].to_numpy() - 1e-4).all()
    assert (m["high"] >= m[["open", "close"]].max(axis=1)).all()
    assert (m["low"] <= m[["open", "close"]].min(axis=1)).all()
    # U-shaped volume: the first and last half hours trade more than the middle of the day
    by_minute = m.groupby("minute")["volume"].sum()
    assert by_minute[:30].mean() > by_minute[90:150].mean() < by_minute[210:].mean()


def test_l2_amounts_add_up_to_the_minute_amount(market):
    m = _month(market, "minute", "202008")
    l2 = _month(market, "l2", "202008")
    assert (l2[["date", "code", "minute"]].to_numpy() == m[["date", "code", "minute"]].to_numpy()).all()
    total = sum(l2[f"{side}_amount_{s}"].astype(np.float64) for side in ("buy", "sell") for s in contract.L2_SIZES)
    np.testing.assert_allclose(total, m["amount"].astype(np.float64), rtol=1e-5, atol=1e-2)
    numeric = l2.drop(columns=["date", "code", "minute"])
    assert (numeric.to_numpy() >= 0).all()
    assert (l2["bid1"] < l2["ask1"]).all()
    assert ((l2["ask1"] - m["close"]).abs() < 0.2).mean() > 0.95  # quotes sit around the close
    assert (l2["trade_count"] >= l2["buy_count_xlarge"] + l2["sell_count_xlarge"]).all()


def _half_up(x: float) -> float:
    return float(Decimal(repr(round(float(x), 8))).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def test_limit_prices_follow_the_a_share_rules(market, daily):
    stocks = pq.read_table(market / "stocks.parquet").to_pandas().set_index("code")
    d = daily.sort_values(["code", "date"]).reset_index(drop=True)
    d["board"] = stocks.loc[d["code"], "board"].to_numpy()
    same = d["code"].eq(d["code"].shift())
    # reference price: previous close, brought ex-rights by the change in the adjustment factor
    d["ref"] = (d["close"].shift() * d["adj_factor"].shift() / d["adj_factor"]).where(same)
    d = d[same].copy()
    date = pd.to_datetime(d["date"])
    wide = ((d["board"] == "star") & (date >= "2019-07-22")) | ((d["board"] == "chinext") & (date >= "2020-08-24"))
    ratio = np.where(wide, 0.20, np.where(d["is_st"], 0.05, 0.10))
    ref = [_half_up(x) for x in d["ref"]]
    up = [_half_up(r * (1 + k)) for r, k in zip(ref, ratio)]
    down = [_half_up(r * (1 - k)) for r, k in zip(ref, ratio)]
    np.testing.assert_allclose(d["limit_up"], up, atol=1e-9)
    np.testing.assert_allclose(d["limit_down"], down, atol=1e-9)
    assert ((d["close"] <= d["limit_up"]) & (d["close"] >= d["limit_down"])).all()
    # every rule is exercised: ST main board ±5%, STAR ±20%, ChiNext ±10% then ±20%
    st_main = d["is_st"] & (d["board"] == "main")
    assert st_main.any() and np.allclose(d.loc[st_main, "limit_up"] / d.loc[st_main, "ref"], 1.05, atol=0.006)
    star = d["board"] == "star"
    assert star.any() and np.allclose(d.loc[star, "limit_up"] / d.loc[star, "ref"], 1.20, atol=0.006)
    chinext = (d["board"] == "chinext") & ~d["is_st"]
    before, after = chinext & (date < "2020-08-24"), chinext & (date >= "2020-08-24")
    assert np.allclose(d.loc[before, "limit_up"] / d.loc[before, "ref"], 1.10, atol=0.006)
    assert np.allclose(d.loc[after, "limit_up"] / d.loc[after, "ref"], 1.20, atol=0.006)
    assert before.any() and after.any()


def test_suspended_days_repeat_the_previous_close(daily):
    d = daily.sort_values(["code", "date"])
    prev = d.groupby("code")["close"].shift()
    s = d["is_suspended"]
    assert 0.005 < s.mean() < 0.08
    for col in ("open", "high", "low", "close", "vwap"):
        np.testing.assert_allclose(d.loc[s, col], prev[s], rtol=1e-12)
    assert (d.loc[s, ["volume", "amount", "turnover"]] == 0).all().all()


def test_dividends_jump_raw_prices_but_not_adjusted_ones(daily):
    d = daily.sort_values(["code", "date"])
    same = d["code"].eq(d["code"].shift())
    jump = (d["adj_factor"] / d["adj_factor"].shift())[same]
    assert (jump >= 1 - 1e-12).all() and (jump > 1.001).sum() >= 5


def test_index_weights_sum_to_one_and_do_not_overlap(market, daily):
    w = pq.read_table(market / "index_weights.parquet").to_pandas()
    np.testing.assert_allclose(w.groupby(["date", "index"])["weight"].sum(), 1.0, rtol=1e-12)
    assert set(w["index"]) <= set(contract.INDEX_NAMES) and {"csi300", "csi500"} <= set(w["index"])
    assert (w.groupby(["date", "index"]).size() <= 25).all()  # 60 stocks: the floor of 25 members
    assert not w.duplicated(["date", "code"]).any()  # a stock sits in at most one index
    assert sorted({str(x) for x in w["date"]}) == ["2020-05-06", "2020-06-01", "2020-12-01"]
    st = daily.set_index(["date", "code"])["is_st"]
    assert not st.loc[list(zip(w["date"], w["code"]))].any()
    # csi300 holds the largest stocks (previous close's total cap)
    day = w[w["date"] == w["date"].max()]
    cap = daily[daily["date"] < day["date"].iloc[0]].groupby("code")["mcap"].last()
    assert cap[day.loc[day["index"] == "csi300", "code"]].min() > cap[day.loc[day["index"] == "csi500", "code"]].max()


def test_oracle_covers_trading_stock_days_and_sums_its_parts(market, daily):
    o = pq.read_table(market / "oracle.parquet").to_pandas()
    traded = daily.loc[~daily["is_suspended"], ["date", "code"]]
    assert len(o) == len(traded) and set(zip(o["date"], o["code"])) == set(zip(traded["date"], traded["code"]))
    np.testing.assert_allclose(o["oracle"], o["oracle_day"] + o["oracle_ms"] + o["oracle_l2"], rtol=1e-12)
    dates = np.array(sorted(set(daily["date"])), dtype="datetime64[D]")
    codes = np.array(sorted(set(daily["code"])) + ["999999.SZ"])
    panel = load_oracle(market, dates, codes)
    assert panel.features == ["oracle_day", "oracle_ms", "oracle_l2", "oracle"]
    assert np.isnan(panel.values[:, -1]).all()
    row = o.iloc[123]
    t, i = np.searchsorted(dates, np.datetime64(row["date"], "D")), list(codes).index(row["code"])
    np.testing.assert_allclose(panel.values[t, i], row[panel.features].to_numpy(float), rtol=1e-6)
    assert np.isfinite(panel.feature("oracle")).sum() == len(o)


def test_oracle_predicts_the_ten_day_return(market):
    report = oracle_report(market, lags=(0,))
    for name in ("oracle", "oracle_day", "oracle_ms", "oracle_l2"):
        assert report[f"ic_{name}_lag0"] > 0.03, (name, report)
    for pair in ("day_ms", "day_l2", "ms_l2"):
        assert 0.2 < report[f"corr_{pair}"] < 0.95, report
