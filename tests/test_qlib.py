"""The qlib provider-directory reader: values round-trip (float32) from adjusted qlib fields
to raw prices, the first-index offset of a late starter, the named proxies, and
`check-data` on a qlib directory (valid and broken)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from repro.data import DataError, available_datasets, load_market
from repro.data.check import check_data, check_data_cli

DAYS = ["2020-08-19", "2020-08-20", "2020-08-21", "2020-08-24", "2020-08-25", "2020-08-26"]
nan = np.nan


def write_qlib_dir(path: Path, calendar, instruments, features, indexes=None) -> Path:
    """A qlib provider directory in `dump_bin` layout.

    instruments: code -> (start, end); features: code -> (first calendar index, {field: values});
    indexes: name -> [(code, start, end), ...].
    """
    (path / "calendars").mkdir(parents=True)
    (path / "calendars" / "day.txt").write_text("\n".join(calendar) + "\n")
    (path / "instruments").mkdir()
    (path / "instruments" / "all.txt").write_text(
        "".join(f"{c}\t{s}\t{e}\n" for c, (s, e) in instruments.items())
    )
    for name, rows in (indexes or {}).items():
        (path / "instruments" / f"{name}.txt").write_text(
            "".join(f"{c}\t{s}\t{e}\n" for c, s, e in rows)
        )
    for code, (first, fields) in features.items():
        folder = path / "features" / code.lower()
        folder.mkdir(parents=True)
        for field, values in fields.items():
            np.r_[first, values].astype("<f4").tofile(folder / f"{field}.day.bin")
    return path


# raw values; the qlib files hold adjusted prices (raw x factor) and volume / factor
RAW = {
    # suspended on day 3 (qlib leaves NaN), factor changes on day 4
    "SH600000": (
        0,
        {
            "close": [10, 10.5, 10.2, nan, 11, 11.3],
            "volume": [1000, 1200, 900, nan, 1100, 1000],
            "factor": [1.5, 1.5, 1.5, 1.5, 1.6, 1.6],
        },
    ),
    # ChiNext: zero volume (suspended) on day 1
    "SZ300001": (
        0,
        {
            "close": [20, 21, 22, 23, 24, 25],
            "volume": [500, 0, 500, 500, 500, 500],
            "factor": [1.0] * 6,
        },
    ),
    # STAR, listed late: its files start at calendar index 2
    "SH688001": (
        2,
        {"close": [30, 31, 32, 33], "volume": [100, 200, 300, 400], "factor": [2.0] * 4},
    ),
}


def qlib_fields(raw: dict) -> dict:
    close, volume, factor = (np.array(raw[k], dtype=float) for k in ("close", "volume", "factor"))
    return {
        "open": close * 0.99 * factor,
        "high": close * 1.02 * factor,
        "low": close * 0.98 * factor,
        "close": close * factor,
        "vwap": close * factor,
        "volume": volume / factor,
        "amount": close * volume,
        "factor": factor,
        "change": np.r_[nan, close[1:] / close[:-1] - 1],
    }


def make_dir(path: Path, raw=RAW) -> Path:
    return write_qlib_dir(
        path,
        DAYS,
        instruments={
            "SH600000": (DAYS[0], DAYS[-1]),
            "SZ300001": (DAYS[0], DAYS[-1]),
            "SH688001": (DAYS[2], DAYS[-1]),
        },
        features={c: (first, qlib_fields(r)) for c, (first, r) in raw.items()},
        indexes={"csi300": [("SH600000", DAYS[0], DAYS[-1]), ("SZ300001", DAYS[3], DAYS[-1])]},
    )


@pytest.fixture
def qlib_dir(tmp_path):
    return make_dir(tmp_path / "qlib")


def test_raw_prices_round_trip(qlib_dir):
    m = load_market({"source": "qlib", "path": str(qlib_dir)})
    assert list(m.codes) == ["SH600000", "SH688001", "SZ300001"]
    assert list(m.board) == ["main", "star", "chinext"]
    # day 3 of SH600000 and day 1 of SZ300001 are suspended: the last traded close, volume 0
    close = np.array(
        [
            [10, nan, 20],
            [10.5, nan, 20],
            [10.2, 30, 22],
            [10.2, 31, 23],
            [11, 32, 24],
            [11.3, 33, 25],
        ]
    )
    np.testing.assert_allclose(m.fields["close"], close, rtol=1e-6)
    np.testing.assert_allclose(m.fields["high"][4], [11 * 1.02, 32 * 1.02, 24 * 1.02], rtol=1e-6)
    np.testing.assert_allclose(m.fields["volume"][:, 1], [nan, nan, 100, 200, 300, 400], rtol=1e-6)
    np.testing.assert_allclose(
        m.fields["volume"][:, 0], [1000, 1200, 900, 0, 1100, 1000], rtol=1e-6
    )
    np.testing.assert_allclose(
        m.fields["adj_factor"][:, 0], [1.5, 1.5, 1.5, 1.5, 1.6, 1.6], rtol=1e-6
    )
    np.testing.assert_allclose(m.adjusted("close")[5, 0], 11.3 * 1.6, rtol=1e-6)
    np.testing.assert_allclose(m.fields["amount"][3], [0, 31 * 200, 23 * 500], rtol=1e-6)
    listed = np.ones((6, 3), bool)
    listed[:2, 1] = False  # the late starter: calendar index 2 onwards
    np.testing.assert_array_equal(m.listed, listed)
    assert m.list_date[1] == np.datetime64(DAYS[2])
    suspended = np.zeros((6, 3), bool)
    suspended[3, 0] = suspended[1, 2] = True
    np.testing.assert_array_equal(m.is_suspended, suspended)


def test_limit_prices_by_board_and_date(qlib_dir):
    m = load_market({"source": "qlib", "path": str(qlib_dir)})
    up, down = m.fields["limit_up"], m.fields["limit_down"]
    assert np.isnan(up[0]).all() and np.isnan(up[2, 1])  # no previous close
    assert (up[1, 0], down[1, 0]) == pytest.approx((11.0, 9.0))  # main board: 10 x 1.1 / 0.9
    assert (up[2, 2], down[2, 2]) == pytest.approx((22.0, 18.0))  # ChiNext before 2020-08-24: 10%
    assert (up[3, 2], down[3, 2]) == pytest.approx((26.4, 17.6))  # from 2020-08-24: 20% of 22
    assert (up[3, 1], down[3, 1]) == pytest.approx((36.0, 24.0))  # STAR: 20% of 30


def test_proxies_logged_and_recorded(qlib_dir, caplog):
    with caplog.at_level(logging.WARNING):
        m = load_market({"source": "qlib", "path": str(qlib_dir)})
    for key in (
        "mcap",
        "industry",
        "is_st",
        "turnover",
        "limit_up",
        "is_suspended",
        "index_weights.csi300",
        "index_weights.csi500",
    ):
        assert key in m.proxies and key in caplog.text
    assert "20-day trailing mean amount" in m.proxies["mcap"]
    # mcap proxy: trailing mean of traded amount, suspended days ignored
    a = [10 * 1000, 10.5 * 1200, 10.2 * 900]
    np.testing.assert_allclose(
        m.fields["mcap"][:, 0],
        [
            a[0],
            np.mean(a[:2]),
            np.mean(a),
            np.mean(a),
            np.mean(a + [11 * 1100]),
            np.mean(a + [11 * 1100, 11.3 * 1000]),
        ],
        rtol=1e-6,
    )
    assert np.isnan(m.fields["turnover"]).all()
    assert m.industry_names == ["unknown"]
    np.testing.assert_array_equal(m.industry[:, 1], [-1, -1, 0, 0, 0, 0])
    assert not m.is_st.any()
    # equal weights among csi300 members; no csi500 file -> empty universe
    np.testing.assert_allclose(m.index_weights["csi300"], [[1, 0, 0]] * 3 + [[0.5, 0, 0.5]] * 3)
    assert not m.universe("csi500").any()


def test_check_data_qlib_summary(qlib_dir, tmp_path):
    out = tmp_path / "summary.json"
    cfg = {"source": "qlib", "path": str(qlib_dir)}
    assert check_data_cli(cfg, str(out)) == 0
    s = json.loads(out.read_text())
    assert s["stocks"] == 3 and s["datasets"] == ["day"] == available_datasets(cfg)
    assert s["suspended_share"] == pytest.approx(2 / 16)
    assert "mcap" in s["missing_fields"] and "industry" in s["missing_fields"]
    assert set(s["fields_present"]) == {
        "open",
        "high",
        "low",
        "close",
        "volume",
        "vwap",
        "factor",
        "amount",
        "change",
    }


@pytest.mark.parametrize(
    "case,expected",
    [
        ("first index past the calendar", ["features/sh688001/", ".day.bin", "first value 7.0"]),
        ("values past the calendar end", ["features/sh688001/", "run past the calendar end"]),
        (
            "high below close",
            [
                "features/sz300001/high.day.bin: column 'high'",
                "high < max(open, close)",
                "SZ300001",
                "2020-08-25",
            ],
        ),
        ("unsorted calendar", ["calendars/day.txt: column 'date'", "2020-08-20"]),
        (
            "bad instruments line",
            ["instruments/all.txt", "three tab-separated fields", "SH600000 2020"],
        ),
    ],
)
def test_broken_qlib_dir(case, expected, tmp_path, capsys):
    path = make_dir(tmp_path / "qlib")
    star_close = path / "features" / "sh688001" / "close.day.bin"
    if case == "first index past the calendar":
        np.array([7, 30], dtype="<f4").tofile(star_close)
    elif case == "values past the calendar end":
        np.array([2, 60, 62, 64, 66, 68], dtype="<f4").tofile(star_close)
    elif case == "high below close":
        high = np.array([20, 21, 22, 23, 24, 25]) * 1.02
        high[4] = 23.5
        np.r_[0, high].astype("<f4").tofile(path / "features" / "sz300001" / "high.day.bin")
    elif case == "unsorted calendar":
        (path / "calendars" / "day.txt").write_text("\n".join([DAYS[1], DAYS[0], *DAYS[2:]]))
    else:
        with open(path / "instruments" / "all.txt", "a") as fh:
            fh.write("SH600000 2020-08-19 2020-08-26\n")
    cfg = {"source": "qlib", "path": str(path)}
    with pytest.raises(DataError) as err:
        check_data(cfg)
    for text in expected:
        assert text in str(err.value), (text, str(err.value))
    out = tmp_path / "summary.json"
    assert check_data_cli(cfg, str(out)) == 1
    assert not out.exists()
    assert expected[0] in capsys.readouterr().err
