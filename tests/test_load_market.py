"""`repro.data.load_market` on the contract: every dense array checked by hand against the
tiny market of test_check_data (codes sorted: 000001.SZ, 300750.SZ, 688001.SH; days
2021-01-04 .. 2021-01-11)."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
from test_check_data import DAYS, edit, write_contract

from repro.data import DataError, available_datasets, data_years, load_market
from repro.data.parquet import fill_intervals

nan = np.nan


@pytest.fixture
def market(tmp_path):
    return load_market({"source": "parquet", "path": str(write_contract(tmp_path / "d"))})


def test_axes_and_listing(market):
    assert list(market.codes) == ["000001.SZ", "300750.SZ", "688001.SH"]
    assert list(market.dates) == list(np.array(DAYS, dtype="datetime64[D]"))
    assert list(market.board) == ["main", "chinext", "star"]
    assert list(market.list_date) == list(
        np.array(["2010-01-01", "2021-01-06", "2020-06-01"], dtype="datetime64[D]")
    )
    expected = np.array([[1, 0, 1], [1, 0, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 0]], bool)
    np.testing.assert_array_equal(market.listed, expected)


def test_fields_scattered_to_their_stock_day(market):
    # close = 10 + day + 5 * stock; 000001.SZ at limit-down on day 1 (close = low = 11 * 0.97),
    # suspended on day 4 (previous close 13); 300750.SZ at limit-up on day 5 (close = 20 * 1.02)
    close = np.array(
        [
            [10, nan, 20],
            [11 * 0.97, nan, 21],
            [12, 17, 22],
            [13, 18, 23],
            [13, 19, 24],
            [15, 20 * 1.02, nan],
        ]
    )
    np.testing.assert_allclose(market.fields["close"], close)
    np.testing.assert_allclose(market.fields["adj_factor"][0], [2, nan, 1])
    np.testing.assert_allclose(market.fields["volume"][4], [0, 2000, 3000])
    np.testing.assert_allclose(market.adjusted("close")[3], [26, 18, 23])
    suspended = np.zeros((6, 3), bool)
    suspended[4, 0] = True
    np.testing.assert_array_equal(market.is_suspended, suspended)
    assert not market.is_st.any()


def test_industry_point_in_time(market):
    assert market.industry_names == ["bank", "tech"]
    expected = np.array([[0, -1, -1], [0, -1, 1], [0, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 1]])
    np.testing.assert_array_equal(market.industry, expected)
    assert market.industry.dtype == np.int16


def test_index_weights_as_of(market):
    csi300 = np.array([[0.6, 0, 0.4]] * 3 + [[1, 0, 0]] * 3)
    np.testing.assert_allclose(market.index_weights["csi300"], csi300)
    np.testing.assert_allclose(market.index_weights["csi500"], [[0, 0, 0]] * 2 + [[0, 1, 0]] * 4)
    # effective 2020-12-31, before the calendar: holds from the first day
    np.testing.assert_allclose(market.index_weights["csi1000"], [[0, 0, 1]] * 6)
    np.testing.assert_array_equal(market.universe("csi300")[:, 2], [1, 1, 1, 0, 0, 0])


def test_missing_listed_row_is_suspended_and_logged(tmp_path, caplog):
    path = write_contract(tmp_path / "d")
    edit(
        path,
        "daily/2021.parquet",
        lambda f: f[~((f["code"] == "300750.SZ") & (f["date"] == pd.Timestamp("2021-01-07")))],
    )
    with caplog.at_level(logging.WARNING):
        m = load_market({"source": "synthetic", "path": str(path)})
    assert m.is_suspended[3, 1] and np.isnan(m.fields["close"][3, 1])
    assert "1 listed stock-days" in caplog.text


def test_duplicate_and_unknown_rows_refused(tmp_path):
    path = write_contract(tmp_path / "d")
    edit(path, "daily/2021.parquet", lambda f: pd.concat([f, f.iloc[[2]]]))
    with pytest.raises(DataError, match="1 duplicate"):
        load_market({"source": "parquet", "path": str(path)})
    edit(
        path,
        "daily/2021.parquet",
        lambda f: f.assign(code=f["code"].replace("300750.SZ", "300999.SZ")),
    )
    with pytest.raises(DataError, match="(?s)daily/2021.parquet: column 'code'.*300999.SZ"):
        load_market({"source": "parquet", "path": str(path)})


def test_fill_intervals_by_hand():
    got = fill_intervals(
        5,
        2,
        code_idx=np.array([0, 0, 1]),
        start_idx=np.array([0, 2, 3]),
        end_idx=np.array([1, 3, 10]),
        values=np.array([7, 8, 9]),
        fill=-1,
    )
    np.testing.assert_array_equal(got, [[7, -1], [7, -1], [8, -1], [8, 9], [-1, 9]])
    # adjacent intervals: the later one wins on the boundary; an empty interval is ignored
    got = fill_intervals(
        4,
        1,
        np.array([0, 0, 0]),
        np.array([2, 0, 3]),
        np.array([3, 1, 2]),
        np.array([5.0, 4.0, 6.0]),
        0.0,
    )
    np.testing.assert_array_equal(got[:, 0], [4, 4, 5, 5])


def test_available_datasets(tmp_path):
    full = write_contract(tmp_path / "a")
    daily_only = write_contract(tmp_path / "b", intraday=False)
    assert available_datasets({"source": "parquet", "path": str(full)}) == ["day", "ms", "l2"]
    assert available_datasets({"source": "parquet", "path": str(daily_only)}) == ["day"]
    assert available_datasets({"source": "synthetic", "path": str(daily_only)}) == [
        "day",
        "ms",
        "l2",
    ]
    assert available_datasets({"source": "qlib", "path": str(daily_only)}) == ["day"]


def test_unknown_source(tmp_path):
    with pytest.raises(DataError, match="unknown data source"):
        load_market({"source": "csv", "path": str(tmp_path)})


def test_data_years(tmp_path):
    path = write_contract(tmp_path / "a")
    (path / "daily" / "2021.parquet").rename(path / "daily" / "2019.parquet")
    (path / "daily" / "2022.parquet").write_bytes(b"")
    assert data_years({"source": "parquet", "path": str(path)}) == [2019, 2022]
    syn = {"start": "2019-01-02", "end": "2021-04-28"}
    assert data_years({"source": "synthetic", "path": str(tmp_path / "none")}, syn) == [
        2019,
        2020,
        2021,
    ]
    with pytest.raises(DataError, match="no daily"):
        data_years({"source": "parquet", "path": str(tmp_path / "none")})
