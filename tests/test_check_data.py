"""`repro check-data` on the parquet contract: a tiny hand-written valid market passes with the
expected summary; each malformed variant fails with the file, the column and the offending
row in its message, exit code 1 and no summary file."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from repro.cli import main
from repro.contract import L2
from repro.data import DataError
from repro.data.check import check_data, check_data_cli

DAYS = ["2021-01-04", "2021-01-05", "2021-01-06", "2021-01-07", "2021-01-08", "2021-01-11"]
CODES = ["000001.SZ", "300750.SZ", "688001.SH"]


def daily_frame() -> pd.DataFrame:
    """Daily bars of the tiny market: 000001.SZ every day (suspended on 01-08), 300750.SZ
    listed from 01-06, 688001.SH delisted after 01-08. close = 10 + day + 5 * stock."""
    rows = []
    for j, code in enumerate(CODES):
        for i, day in enumerate(DAYS):
            if code == "300750.SZ" and i < 2 or code == "688001.SH" and i > 4:
                continue
            close = 10.0 + i + 5 * j
            suspended = code == "000001.SZ" and day == "2021-01-08"
            if suspended:
                close = 10.0 + (i - 1)  # the previous close
            rows.append(
                {
                    "date": pd.Timestamp(day),
                    "code": code,
                    "open": close * 0.99,
                    "high": close * 1.02,
                    "low": close * 0.97,
                    "close": close,
                    "vwap": close,
                    "volume": 0.0 if suspended else 1000.0 * (j + 1),
                    "amount": 0.0 if suspended else close * 1000.0 * (j + 1),
                    "adj_factor": 2.0 if code == "000001.SZ" else 1.0,
                    "turnover": 0.0 if suspended else 0.01,
                    "mcap": 1e9 * (j + 1),
                    "is_st": False,
                    "is_suspended": suspended,
                    "limit_up": close * 1.1,
                    "limit_down": close * 0.9,
                }
            )
    frame = pd.DataFrame(rows)
    up = _at("300750.SZ", "2021-01-11")(frame)  # closes at its limit-up
    frame.loc[up, "close"] = frame.loc[up, "limit_up"] = frame.loc[up, "high"]
    down = _at("000001.SZ", "2021-01-05")(frame)  # closes at its limit-down
    frame.loc[down, "close"] = frame.loc[down, "limit_down"] = frame.loc[down, "low"]
    return frame


def minute_frame() -> pd.DataFrame:
    rows = []
    for day in DAYS[:2]:
        for code in ("000001.SZ", "688001.SH"):
            for minute in range(3):
                c = 10.0 + minute
                rows.append(
                    {
                        "date": pd.Timestamp(day),
                        "code": code,
                        "minute": minute,
                        "open": c,
                        "high": c + 0.1,
                        "low": c - 0.1,
                        "close": c,
                        "volume": 100.0,
                        "amount": 100.0 * c,
                    }
                )
    return pd.DataFrame(rows)


def l2_frame() -> pd.DataFrame:
    m = minute_frame()[["date", "code", "minute"]].copy()
    for i, col in enumerate(c for c in L2 if c not in ("date", "code", "minute")):
        m[col] = float(i + 1)
    return m


def write_contract(path: Path, intraday: bool = True) -> Path:
    """Write the tiny valid market of this module in the input contract under `path`."""
    path.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"date": [dt.date.fromisoformat(d) for d in DAYS]}).to_parquet(
        path / "calendar.parquet"
    )
    pd.DataFrame(
        {
            "code": ["688001.SH", "000001.SZ", "300750.SZ"],  # unsorted on purpose
            "list_date": pd.to_datetime(["2020-06-01", "2010-01-01", "2021-01-06"]),
            "delist_date": pd.to_datetime(["2021-01-08", None, None]),
            "board": ["star", "main", "chinext"],
        }
    ).to_parquet(path / "stocks.parquet")
    pd.DataFrame(
        {
            "code": ["000001.SZ", "000001.SZ", "300750.SZ", "688001.SH"],
            "start_date": pd.to_datetime(["2010-01-01", "2021-01-07", "2021-01-06", "2021-01-05"]),
            "end_date": pd.to_datetime(["2021-01-06", None, None, None]),
            "industry": ["bank", "tech", "tech", "tech"],
        }
    ).to_parquet(path / "industry.parquet")
    pd.DataFrame(
        {
            "date": pd.to_datetime(
                ["2021-01-04", "2021-01-04", "2021-01-07", "2021-01-06", "2020-12-31"]
            ),
            "index": ["csi300", "csi300", "csi300", "csi500", "csi1000"],
            "code": ["000001.SZ", "688001.SH", "000001.SZ", "300750.SZ", "688001.SH"],
            "weight": [0.6, 0.4, 1.0, 1.0, 1.0],
        }
    ).to_parquet(path / "index_weights.parquet")
    (path / "daily").mkdir(exist_ok=True)
    daily_frame().to_parquet(path / "daily" / "2021.parquet")
    if intraday:
        for folder, frame in (("minute", minute_frame()), ("l2", l2_frame())):
            (path / folder / "2021").mkdir(parents=True, exist_ok=True)
            frame.to_parquet(path / folder / "2021" / "202101.parquet", row_group_size=4)
    return path


def edit(path: Path, rel: str, fn) -> None:
    """Rewrite one parquet file of the contract folder through `fn(frame) -> frame`."""
    frame = pd.read_parquet(path / rel)
    frame = fn(frame)
    frame.to_parquet(path / rel)


def _set(frame, where, **values):
    frame = frame.copy()
    for col, v in values.items():
        frame.loc[where(frame), col] = v
    return frame


def _at(code, day):
    return lambda f: (f["code"] == code) & (f["date"] == pd.Timestamp(day))


@pytest.fixture
def market_dir(tmp_path):
    return write_contract(tmp_path / "data")


def test_valid_market_summary(market_dir, tmp_path, capsys):
    s = check_data({"source": "parquet", "path": str(market_dir)})
    assert s["stocks"] == 3
    assert s["calendar"] == {"first": "2021-01-04", "last": "2021-01-11", "days": 6}
    # 6 + 4 + 5 daily rows; 2 days x 2 codes x 3 minutes of intraday rows
    assert s["rows"]["daily"] == 15 and s["rows"]["minute"] == 12 and s["rows"]["l2"] == 12
    assert s["rows"]["index_weights"] == 5 and s["files"] == {"daily": 1, "minute": 1, "l2": 1}
    assert s["datasets"] == ["day", "ms", "l2"]
    assert s["suspended_share"] == pytest.approx(1 / 15)
    assert s["limit_up_share"] == pytest.approx(1 / 15)
    assert s["limit_down_share"] == pytest.approx(1 / 15)
    assert s["industries"] == 2 and s["missing_fields"] == {}
    assert "adj_factor" in s["fields_present"]
    out = tmp_path / "out" / "summary.json"
    assert check_data_cli({"source": "parquet", "path": str(market_dir)}, str(out)) == 0
    assert json.loads(out.read_text())["rows"]["daily"] == 15
    assert "stocks: 3" in capsys.readouterr().out


def test_datasets_without_intraday(tmp_path):
    path = write_contract(tmp_path / "d", intraday=False)
    assert check_data({"source": "parquet", "path": str(path)})["datasets"] == ["day"]


DAILY = "daily/2021.parquet"
MINUTE = "minute/2021/202101.parquet"

MALFORMED = {
    "missing column": (
        DAILY,
        lambda f: f.drop(columns=["vwap"]),
        [DAILY, "column 'vwap'", "missing"],
    ),
    "wrong dtype": (
        DAILY,
        lambda f: f.assign(close=f["close"].map(lambda x: f"{x:.2f}")),
        [DAILY, "column 'close'", "not a float type", "'10.00'"],
    ),
    "duplicate date code": (
        DAILY,
        lambda f: pd.concat([f, f.iloc[[3]]]),
        [DAILY, "column 'code'", "1 row with a duplicate (date, code)", "2021-01-07", "000001.SZ"],
    ),
    "zero price": (
        DAILY,
        lambda f: _set(f, _at("300750.SZ", "2021-01-07"), open=0.0),
        [DAILY, "column 'open'", "open <= 0", "300750.SZ", "2021-01-07"],
    ),
    "high below close": (
        DAILY,
        lambda f: _set(f, _at("688001.SH", "2021-01-05"), high=12.5),
        [DAILY, "column 'high'", "1 row with high < max(open, close)", "688001.SH", "12.5"],
    ),
    "low above open": (
        DAILY,
        lambda f: _set(f, _at("000001.SZ", "2021-01-06"), low=11.99),
        [DAILY, "column 'low'", "low > min(open, close)", "000001.SZ", "11.99"],
    ),
    "negative volume": (
        DAILY,
        lambda f: _set(f, _at("000001.SZ", "2021-01-04"), volume=-5.0),
        [DAILY, "column 'volume'", "volume < 0", "-5.0"],
    ),
    "negative amount": (
        DAILY,
        lambda f: _set(f, _at("000001.SZ", "2021-01-04"), amount=-7.0),
        [DAILY, "column 'amount'", "amount < 0", "-7.0"],
    ),
    "date not in calendar": (
        DAILY,
        lambda f: _set(f, _at("000001.SZ", "2021-01-11"), date=pd.Timestamp("2021-01-09")),
        [DAILY, "column 'date'", "not in calendar.parquet", "2021-01-09"],
    ),
    "unknown code": (
        DAILY,
        lambda f: _set(f, _at("000001.SZ", "2021-01-11"), code="999999.SZ"),
        [DAILY, "column 'code'", "not in stocks.parquet", "999999.SZ"],
    ),
    "before listing": (
        DAILY,
        lambda f: pd.concat(
            [
                f,
                _set(
                    f[_at("300750.SZ", "2021-01-06")(f)],
                    lambda g: g.index == g.index,
                    date=pd.Timestamp("2021-01-05"),
                ),
            ]
        ),
        [DAILY, "column 'date'", "outside [list_date, delist_date]", "2021-01-05"],
    ),
    "unsorted calendar": (
        "calendar.parquet",
        lambda f: f.iloc[[0, 2, 1, 3, 4, 5]],
        ["calendar.parquet", "column 'date'", "sorted and unique", "2021-01-05"],
    ),
    "duplicate calendar day": (
        "calendar.parquet",
        lambda f: f.iloc[[0, 1, 1, 2, 3, 4, 5]],
        ["calendar.parquet", "column 'date'", "2021-01-05"],
    ),
    "unknown board": (
        "stocks.parquet",
        lambda f: f.assign(board=["star", "sme", "chinext"]),
        ["stocks.parquet", "column 'board'", "unknown board", "sme", "000001.SZ"],
    ),
    "missing code": (
        "stocks.parquet",
        lambda f: f.assign(code=["688001.SH", None, "300750.SZ"]),
        ["stocks.parquet", "column 'code'", "missing value", "2010-01-01"],
    ),
    "unknown index": (
        "index_weights.parquet",
        lambda f: f.assign(index=["csi300", "csi300", "csi300", "csi800", "csi1000"]),
        ["index_weights.parquet", "column 'index'", "unknown index name", "csi800"],
    ),
    "negative weight": (
        "index_weights.parquet",
        lambda f: f.assign(weight=[0.6, 0.4, 1.0, -1.0, 1.0]),
        ["index_weights.parquet", "column 'weight'", "weight < 0", "300750.SZ"],
    ),
    "limit_up below limit_down": (
        DAILY,
        lambda f: _set(f, _at("300750.SZ", "2021-01-08"), limit_up=10.0),
        [DAILY, "column 'limit_up'", "1 row with limit_up < limit_down", "300750.SZ", "2021-01-08"],
    ),
    "zero adj_factor": (
        DAILY,
        lambda f: _set(f, _at("688001.SH", "2021-01-06"), adj_factor=0.0),
        [DAILY, "column 'adj_factor'", "1 row with adj_factor <= 0 or missing", "688001.SH"],
    ),
    "missing adj_factor": (
        DAILY,
        lambda f: _set(f, _at("000001.SZ", "2021-01-08"), adj_factor=None),
        [DAILY, "column 'adj_factor'", "1 row with adj_factor <= 0 or missing", "2021-01-08"],
    ),
    "weights in percent": (
        "index_weights.parquet",
        lambda f: f.assign(weight=f["weight"] * 100),
        [
            "index_weights.parquet",
            "column 'weight'",
            "4 (date, index) pairs with weights summing to other than 1 (tolerance 0.01)",
            "percent? 4 of these sums are near 100",
            "2020-12-31 csi1000 100.0",
            "2021-01-04  csi300 100.0             2",
        ],
    ),
    "weights not summing to 1": (
        "index_weights.parquet",
        lambda f: f.assign(weight=[0.6, 0.38, 1.0, 1.0, 1.0]),
        [
            "index_weights.parquet",
            "column 'weight'",
            "1 (date, index) pair with weights summing to other than 1",
            "2021-01-04 csi300 0.98             2",
        ],
    ),
    "industry unknown code": (
        "industry.parquet",
        lambda f: f.assign(code=["000001.SZ", "000001.SZ", "300751.SZ", "688001.SH"]),
        ["industry.parquet", "column 'code'", "300751.SZ"],
    ),
    "industry intervals overlap": (
        "industry.parquet",
        lambda f: f.assign(start_date=pd.to_datetime(["2010-01-01", "2021-01-05", "2021-01-06", "2021-01-05"])),
        ["industry.parquet", "column 'start_date'", "overlapping", "000001.SZ", "tech"],
    ),
    "minute out of range": (
        MINUTE,
        lambda f: _set(f, lambda g: g.index == 5, minute=240),
        [MINUTE, "column 'minute'", "minute outside 0..239", "240", "688001.SH"],
    ),
    "duplicate minute": (
        MINUTE,
        lambda f: _set(f, lambda g: g.index == 2, minute=1),
        [MINUTE, "column 'minute'", "duplicate (date, code, minute)", "000001.SZ"],
    ),
    "unsorted minute": (
        MINUTE,
        lambda f: f.iloc[[0, 1, 2, 6, 7, 8, 3, 4, 5, 9, 10, 11]],
        [MINUTE, "column 'minute'", "out of (date, code, minute) order", "688001.SH"],
    ),
    "minute high below close": (
        MINUTE,
        lambda f: _set(f, lambda g: g.index == 7, high=10.5),
        [MINUTE, "column 'high'", "high < max(open, close)", "10.5"],
    ),
    "minute outside month": (
        MINUTE,
        lambda f: _set(f, lambda g: g.index == 11, date=pd.Timestamp("2021-02-01")),
        [MINUTE, "column 'date'", "2021-02-01"],
    ),
    "l2 negative amount": (
        "l2/2021/202101.parquet",
        lambda f: _set(f, lambda g: g.index == 4, buy_amount_large=-3.0),
        ["l2/2021/202101.parquet", "column 'buy_amount_large'", "-3.0"],
    ),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_input_fails_with_context(case, market_dir, tmp_path, capsys):
    rel, fn, expected = MALFORMED[case]
    edit(market_dir, rel, fn)
    with pytest.raises(DataError) as err:
        check_data({"source": "parquet", "path": str(market_dir)})
    for text in expected:
        assert text in str(err.value), (case, text, str(err.value))
    summary = tmp_path / "summary.json"
    assert check_data_cli({"source": "parquet", "path": str(market_dir)}, str(summary)) == 1
    assert not summary.exists()
    assert expected[1] in capsys.readouterr().err


def test_weights_within_tolerance_pass(market_dir):
    # rounding of published weights: a sum of 0.995 passes, 0.989 does not
    edit(market_dir, "index_weights.parquet", lambda f: f.assign(weight=[0.6, 0.395, 1, 1, 1]))
    assert check_data({"source": "parquet", "path": str(market_dir)})["stocks"] == 3
    edit(market_dir, "index_weights.parquet", lambda f: f.assign(weight=[0.6, 0.389, 1, 1, 1]))
    with pytest.raises(DataError, match="1 \\(date, index\\) pair with weights summing") as err:
        check_data({"source": "parquet", "path": str(market_dir)})
    assert "percent?" not in str(err.value)


def _calendar_from_2020(path: Path) -> None:
    days = ["2020-12-30", "2020-12-31", *DAYS]
    pd.DataFrame({"date": [dt.date.fromisoformat(d) for d in days]}).to_parquet(
        path / "calendar.parquet"
    )


def test_missing_daily_year_is_an_error(market_dir, capsys):
    # 2020 is in the calendar with listed stocks (000001.SZ, 688001.SH) but has no daily file
    _calendar_from_2020(market_dir)
    expected = (
        f"{market_dir / 'daily' / '2020.parquet'}: file not found: calendar.parquet has 2 "
        "trading days in 2020 with 4 listed stock-days (stocks.parquet), which would all read "
        "as suspended"
    )
    cfg = {"source": "parquet", "path": str(market_dir)}
    with pytest.raises(DataError) as err:
        check_data(cfg)
    assert expected in str(err.value)
    assert check_data_cli(cfg) == 1 and expected in capsys.readouterr().err
    from repro.data import load_market

    with pytest.raises(DataError) as err:  # the reader refuses it too
        load_market(cfg)
    assert expected in str(err.value)


def test_daily_year_file_without_its_year(market_dir):
    _calendar_from_2020(market_dir)
    daily_frame().iloc[:0].to_parquet(market_dir / "daily" / "2020.parquet")
    with pytest.raises(DataError, match="daily/2020.parquet: no row dated 2020: calendar.parquet"):
        check_data({"source": "parquet", "path": str(market_dir)})


def test_at_most_five_rows_shown(market_dir):
    edit(market_dir, DAILY, lambda f: f.assign(volume=-1.0))
    with pytest.raises(DataError, match="15 rows with volume < 0") as err:
        check_data({"source": "parquet", "path": str(market_dir)})
    assert "... and 10 more" in str(err.value)
    assert str(err.value).count("-1.0") == 5


def test_duplicate_across_files(market_dir):
    (market_dir / "daily" / "2021.parquet").rename(market_dir / "daily" / "2020.parquet")
    daily_frame().iloc[[0]].to_parquet(market_dir / "daily" / "2021.parquet")
    with pytest.raises(
        DataError, match="daily/2021.parquet: column 'code': 1 row with a duplicate"
    ):
        check_data({"source": "parquet", "path": str(market_dir)})


def test_missing_folder(tmp_path):
    with pytest.raises(DataError, match="run `repro synth`"):
        check_data({"source": "synthetic", "path": str(tmp_path / "nowhere")})


def _config(tmp_path, path) -> str:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(yaml.safe_dump({"data": {"source": "parquet", "path": str(path)}}))
    return str(cfg)


def test_cli_valid(market_dir, tmp_path, capsys):
    out = tmp_path / "s.json"
    assert (
        main(["check-data", "--config", _config(tmp_path, market_dir), "--summary", str(out)]) == 0
    )
    printed = capsys.readouterr().out
    assert (
        "OK" in printed and "stocks: 3" in printed and "datasets available: day, ms, l2" in printed
    )
    assert json.loads(out.read_text())["stocks"] == 3


def test_cli_invalid(market_dir, tmp_path, capsys):
    edit(market_dir, DAILY, lambda f: _set(f, _at("000001.SZ", "2021-01-04"), volume=-5.0))
    out = tmp_path / "s.json"
    assert (
        main(["check-data", "--config", _config(tmp_path, market_dir), "--summary", str(out)]) == 1
    )
    assert "daily/2021.parquet: column 'volume'" in capsys.readouterr().err
    assert not out.exists()


def test_synthetic_market_passes(tmp_path):
    from repro.synth import generate_market

    path = tmp_path / "syn"
    generate_market(
        {"seed": 1, "n_stocks": 30, "start": "2021-01-04", "end": "2021-03-31", "n_industries": 5},
        str(path),
    )
    s = check_data({"source": "synthetic", "path": str(path)})
    assert s["stocks"] == 30 and s["datasets"] == ["day", "ms", "l2"]
    assert s["calendar"]["first"] >= "2021-01-04" and s["calendar"]["last"] <= "2021-03-31"
    assert s["rows"]["minute"] > 0 and s["files"]["minute"] == 3
