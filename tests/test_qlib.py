"""The qlib provider-directory reader: values round-trip (float32) from adjusted qlib fields
to raw prices, the first-index offset of a late starter, the named proxies, and
`check-data` on a qlib directory (valid and broken). Folders made outside qlib's `dump_bin`:
the synthetic market written with lower- and upper-case stock folders passes `repro
check-data` and reads back; each real-world quirk is either read (and logged with its count)
or an error naming the file."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from market_fixtures import qlib_code, write_qlib_dir, write_qlib_market

from repro.cli import main
from repro.data import DataError, available_datasets, load_market
from repro.data.check import check_data, check_data_cli
from repro.data.qlib import interval_union

DAYS = ["2020-08-19", "2020-08-20", "2020-08-21", "2020-08-24", "2020-08-25", "2020-08-26"]
nan = np.nan


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


def make_dir(path: Path, raw=RAW, upper=False) -> Path:
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
        upper=upper,
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


# ---------------------------------------------------------------- folders made outside dump_bin


@pytest.fixture(scope="module")
def synthetic_market(tmp_path_factory):
    from repro.synth import generate_market

    path = tmp_path_factory.mktemp("syn") / "market"
    generate_market(
        {"seed": 1, "n_stocks": 30, "start": "2021-01-04", "end": "2021-03-31", "n_industries": 5},
        str(path),
    )
    return load_market({"source": "synthetic", "path": str(path)})


def _config(tmp_path: Path, folder: Path) -> str:
    cfg = tmp_path / "qlib.yaml"
    cfg.write_text(f"data:\n  source: qlib\n  path: {folder}\n")
    return str(cfg)


@pytest.mark.parametrize("upper", [False, True], ids=["dump_bin lower-case", "upper-case"])
def test_synthetic_market_as_qlib_folder(upper, synthetic_market, tmp_path, capsys):
    src = synthetic_market
    folder = write_qlib_market(src, tmp_path / "qlib", upper=upper)
    names = sorted(p.name for p in (folder / "features").iterdir())
    assert names == sorted(
        (qlib_code(c).upper() if upper else qlib_code(c).lower()) for c in src.codes
    )
    out = tmp_path / "summary.json"
    assert main(["check-data", "--config", _config(tmp_path, folder), "--summary", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "data source qlib" in printed and "stocks: 30" in printed, printed
    s = json.loads(out.read_text())
    assert s["rows"]["listed_stock_days"] == int(src.listed.sum())
    assert s["suspended_share"] == pytest.approx(src.is_suspended.sum() / src.listed.sum())

    m = load_market({"source": "qlib", "path": str(folder)})
    order = np.argsort([qlib_code(c) for c in src.codes])
    assert list(m.codes) == [qlib_code(c) for c in src.codes[order]]
    np.testing.assert_array_equal(m.listed, src.listed[:, order])
    np.testing.assert_array_equal(m.is_suspended, src.is_suspended[:, order])
    for name in ("open", "high", "low", "close", "vwap", "volume", "amount", "adj_factor"):
        np.testing.assert_allclose(
            m.fields[name], src.fields[name][:, order], rtol=2e-6, err_msg=name
        )
    for name, w in src.index_weights.items():
        np.testing.assert_array_equal(m.index_weights[name] > 0, w[:, order] > 0, err_msg=name)


def test_folders_differing_only_by_case_are_an_error(qlib_dir):
    (qlib_dir / "features" / "sh600000").rename(qlib_dir / "features" / "SH600000")
    make_dir(qlib_dir.parent / "other")
    (qlib_dir.parent / "other" / "features" / "sh600000").rename(
        qlib_dir / "features" / "sh600000"
    )
    with pytest.raises(DataError) as err:
        check_data({"source": "qlib", "path": str(qlib_dir)})
    text = str(err.value)
    assert "differ only by case" in text
    assert str(qlib_dir / "features" / "SH600000") in text
    assert str(qlib_dir / "features" / "sh600000") in text


def test_mixed_case_folders_are_matched(tmp_path, caplog):
    path = make_dir(tmp_path / "qlib")
    (path / "features" / "sz300001").rename(path / "features" / "SZ300001")
    with caplog.at_level(logging.INFO):
        m = load_market({"source": "qlib", "path": str(path)})
    assert "1 of 3 stock folders are not lower case" in caplog.text
    reference = load_market({"source": "qlib", "path": str(make_dir(tmp_path / "ref"))})
    np.testing.assert_array_equal(m.fields["close"], reference.fields["close"])


def test_calendar_blank_lines_and_crlf(tmp_path, caplog):
    reference = load_market({"source": "qlib", "path": str(make_dir(tmp_path / "ref"))})
    path = make_dir(tmp_path / "qlib")
    (path / "calendars" / "day.txt").write_bytes(
        ("\r\n".join(DAYS[:3] + ["", " "] + DAYS[3:]) + "\r\n\r\n").encode()
    )
    with caplog.at_level(logging.WARNING):
        m = load_market({"source": "qlib", "path": str(path)})
    assert "calendars/day.txt: 3 blank line(s) skipped" in caplog.text
    np.testing.assert_array_equal(m.dates, np.array(DAYS, dtype="datetime64[D]"))
    np.testing.assert_array_equal(m.fields["close"], reference.fields["close"])
    assert check_data({"source": "qlib", "path": str(path)})["calendar"]["days"] == 6


def test_calendar_bad_line_is_named(tmp_path):
    path = make_dir(tmp_path / "qlib")
    (path / "calendars" / "day.txt").write_text("\n".join(DAYS[:2] + ["2020-08-2x"] + DAYS[3:]))
    with pytest.raises(DataError, match=r"calendars/day.txt: column 'date': line 3: .*2020-08-2x"):
        load_market({"source": "qlib", "path": str(path)})


def test_interval_union_by_hand():
    got = interval_union(
        6, 2, code_idx=[0, 0, 0, 1], start_idx=[0, 3, 1, 4], end_idx=[1, 4, 1, 9]
    )
    # code 0: [0, 1] and [1, 1] overlap, [3, 4] after a gap; code 1 clipped to the calendar
    np.testing.assert_array_equal(
        got, [[1, 0], [1, 0], [0, 0], [1, 0], [1, 1], [0, 1]]
    )


def test_several_listing_intervals(tmp_path, caplog):
    path = make_dir(tmp_path / "qlib")
    (path / "instruments" / "all.txt").write_text(
        f"SH600000\t{DAYS[0]}\t{DAYS[1]}\n"
        f"SZ300001\t{DAYS[0]}\t{DAYS[-1]}\n"
        f"SH600000\t{DAYS[4]}\t{DAYS[-1]}\n"  # relisted after a gap
        f"SH688001\t{DAYS[2]}\t{DAYS[4]}\n"
        f"SH688001\t{DAYS[3]}\t{DAYS[-1]}\n"  # overlapping spans: their union
    )
    with caplog.at_level(logging.WARNING):
        m = load_market({"source": "qlib", "path": str(path)})
    assert "2 code(s) on several lines (4 lines)" in caplog.text
    np.testing.assert_array_equal(m.listed[:, 0], [1, 1, 0, 0, 1, 1])
    np.testing.assert_array_equal(m.listed[:, 1], [0, 0, 1, 1, 1, 1])
    assert m.list_date[0] == np.datetime64(DAYS[0])
    assert np.isnan(m.fields["close"][2:4, 0]).all()  # not listed in the gap
    np.testing.assert_allclose(m.fields["close"][4:, 0], [11, 11.3], rtol=1e-6)
    assert "close: 1" in caplog.text  # day 2's stored close falls in the gap: not read, counted


def test_field_file_shorter_than_listing_is_missing(tmp_path, caplog):
    path = make_dir(tmp_path / "qlib")
    close = path / "features" / "sz300001" / "close.day.bin"
    np.fromfile(close, dtype="<f4")[:5].tofile(close)  # start index + 4 days: ends on day 3
    with caplog.at_level(logging.WARNING):
        m = load_market({"source": "qlib", "path": str(path)})
    assert "1 field file(s) cover fewer days than their stock's listing" in caplog.text
    assert "the 2 listed stock-days outside them are missing" in caplog.text
    assert f"{close} covers {DAYS[0]}..{DAYS[3]}, listed {DAYS[0]}..{DAYS[5]}" in caplog.text
    # as qlib reads it: no close on days 4 and 5, hence suspended at the last close
    np.testing.assert_array_equal(m.is_suspended[:, 2], [0, 1, 0, 0, 1, 1])
    np.testing.assert_allclose(m.fields["close"][3:, 2], [23, 23, 23], rtol=1e-6)
    assert check_data({"source": "qlib", "path": str(path)})["stocks"] == 3


def test_short_price_file_with_a_close_is_an_error(tmp_path):
    path = make_dir(tmp_path / "qlib")
    file = path / "features" / "sz300001"
    np.fromfile(file / "open.day.bin", dtype="<f4")[:5].tofile(file / "open.day.bin")
    with pytest.raises(DataError) as err:
        check_data({"source": "qlib", "path": str(path)})
    text = str(err.value)
    assert "features/sz300001/open.day.bin: column 'open'" in text
    assert "2 rows with open <= 0 or missing on a trading day" in text and DAYS[4] in text


def test_truncated_bin_file(tmp_path):
    path = make_dir(tmp_path / "qlib")
    file = path / "features" / "sh688001" / "volume.day.bin"
    file.write_bytes(file.read_bytes()[:-2])
    with pytest.raises(DataError, match=r"sh688001/volume.day.bin: 18 bytes is not a whole"):
        check_data({"source": "qlib", "path": str(path)})


def test_missing_factor_on_a_trading_day(tmp_path):
    path = make_dir(tmp_path / "qlib", upper=True)
    file = path / "features" / "SH600000" / "factor.day.bin"
    values = np.fromfile(file, dtype="<f4")
    values[5] = np.nan  # calendar index 4, a trading day
    values.tofile(file)
    with pytest.raises(DataError) as err:
        check_data({"source": "qlib", "path": str(path)})
    text = str(err.value)
    assert f"{file}: column 'factor': 1 row with factor <= 0 or missing" in text
    assert DAYS[4] in text and "SH600000" in text


def test_folder_without_a_required_field(tmp_path):
    path = make_dir(tmp_path / "qlib", upper=True)
    (path / "features" / "SH688001" / "volume.day.bin").unlink()
    with pytest.raises(DataError) as err:
        check_data({"source": "qlib", "path": str(path)})
    assert "1 stock folder(s) lack a required field" in str(err.value)
    assert f"{path / 'features' / 'SH688001'}: no volume.day.bin" in str(err.value)


def test_vwap_amount_change_absent(tmp_path, caplog):
    reference = load_market({"source": "qlib", "path": str(make_dir(tmp_path / "ref"))})
    path = make_dir(tmp_path / "qlib")
    for code in ("sh600000", "sh688001", "sz300001"):
        for field in ("vwap", "amount", "change"):
            (path / "features" / code / f"{field}.day.bin").unlink()
    with caplog.at_level(logging.WARNING):
        m = load_market({"source": "qlib", "path": str(path)})
    assert "no vwap.day.bin for 3 of 3 stocks" in m.proxies["vwap"]
    assert "typical price" in m.proxies["vwap"] and "vwap ->" in caplog.text
    assert "3 of 3 stocks without amount.day.bin" in m.proxies["amount"]
    f = m.fields
    typical = (f["high"] + f["low"] + f["close"]) / 3
    traded = m.listed & ~m.is_suspended
    np.testing.assert_allclose(f["vwap"][traded], typical[traded], rtol=1e-12)
    np.testing.assert_allclose(f["amount"], f["vwap"] * f["volume"], rtol=1e-12)
    np.testing.assert_allclose(f["close"], reference.fields["close"], rtol=1e-12)
    s = check_data({"source": "qlib", "path": str(path)})
    assert "vwap" not in s["fields_present"] and "vwap" in s["missing_fields"]


def test_vwap_absent_for_some_stocks_only(tmp_path):
    reference = load_market({"source": "qlib", "path": str(make_dir(tmp_path / "ref"))})
    path = make_dir(tmp_path / "qlib")
    folder = path / "features" / "sz300001"
    (folder / "vwap.day.bin").unlink()
    amount = np.fromfile(folder / "amount.day.bin", dtype="<f4")
    np.r_[amount[0], amount[1:] * 1.01].astype("<f4").tofile(folder / "amount.day.bin")
    m = load_market({"source": "qlib", "path": str(path)})
    assert m.proxies["vwap"].startswith("no vwap.day.bin for 1 of 3 stocks: amount / raw volume")
    # the others keep their file; SZ300001 gets amount / volume = 1.01 x close
    np.testing.assert_allclose(m.fields["vwap"][:, :2], reference.fields["vwap"][:, :2])
    traded = ~m.is_suspended[:, 2]
    np.testing.assert_allclose(
        m.fields["vwap"][traded, 2], 1.01 * reference.fields["close"][traded, 2], rtol=1e-6
    )
