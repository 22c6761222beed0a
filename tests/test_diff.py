"""`repro diff`: exit status only on structural mismatches, numbers side by side, csv output."""
import io
import shutil
from pathlib import Path

import pandas as pd
import pytest

from repro.cli import main
from repro.diff import diff_cli, find_reference_dir

REF = Path(__file__).resolve().parents[1] / "config" / "reference"


@pytest.fixture
def results(tmp_path):
    out = tmp_path / "results"
    out.mkdir()
    for name in ("table1", "table8", "table11", "table17"):
        shutil.copy(REF / f"{name}.csv", out / f"{name}.csv")
    return out


def test_identical_tables_exit_0_and_no_differences(results, capsys):
    assert diff_cli(results, REF) == 0
    text = capsys.readouterr().out
    assert "== table8" in text and "== table17" in text
    assert "0 differ" in text and "differs" not in text


def test_numeric_differences_are_shown_not_fatal(results, capsys):
    t8 = pd.read_csv(results / "table8.csv")
    t8.loc[(t8["model"] == "uni") & (t8["dataset"] == "day"), "rank_ic_mean"] = 0.1
    t8.to_csv(results / "table8.csv", index=False)
    t17 = pd.read_csv(results / "table17.csv")
    t17.loc[0, "definition"] = "something else"
    t17.to_csv(results / "table17.csv", index=False)
    assert diff_cli(results, REF) == 0
    text = capsys.readouterr().out
    line = next(s for s in text.splitlines() if "uni/day" in s and "rank_ic_mean" in s)
    assert "0.1000" in line and "0.1342" in line and "-0.0342" in line
    assert "differs: ours 'something else'" in text


def test_missing_column_and_row_key_are_structural(results, capsys):
    t8 = pd.read_csv(results / "table8.csv").drop(columns="top_sharpe")
    t8 = t8[~((t8["model"] == "multi") & (t8["dataset"] == "l2"))]
    t8.to_csv(results / "table8.csv", index=False)
    t11 = pd.read_csv(results / "table11.csv")
    t11.loc[len(t11)] = [25, 0.1, 0.1, 0.1, 0.1]
    t11.to_csv(results / "table11.csv", index=False)
    assert diff_cli(results, REF) == 1
    err = capsys.readouterr().err
    assert "table8: column 'top_sharpe' missing" in err
    assert "table8: row model/dataset=multi/l2 missing" in err
    assert "table11: extra row lag=25" in err


def test_no_table_at_all_is_an_error(tmp_path, capsys):
    assert diff_cli(tmp_path, REF) == 1
    assert "no tableN.csv" in capsys.readouterr().err


def test_csv_format_parses(results, tmp_path):
    out = tmp_path / "cmp.csv"
    assert diff_cli(results, REF, fmt="csv", out=out) == 0
    df = pd.read_csv(out)
    assert list(df.columns) == ["table", "key", "column", "ours", "reference", "diff"]
    row = df[(df["table"] == "table11") & (df["key"] == "5") & (df["column"] == "avg")].iloc[0]
    assert float(row["ours"]) == float(row["reference"]) == 0.0998 and row["diff"] == 0
    assert set(df["table"]) == {"table1", "table8", "table11", "table17"}


def test_cli_and_default_reference(results, capsys):
    assert find_reference_dir().resolve() == REF.resolve()
    assert main(["diff", str(results), "--format", "csv"]) == 0
    df = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert len(df) > 0


def test_extra_column_is_structural(results, capsys):
    t8 = pd.read_csv(results / "table8.csv").assign(turnover=0.5)
    t8.to_csv(results / "table8.csv", index=False)
    assert diff_cli(results, REF) == 1
    assert "table8: extra column 'turnover' not in the reference" in capsys.readouterr().err


def test_duplicated_row_keys_are_structural(results, capsys):
    t8 = pd.read_csv(results / "table8.csv")
    t8 = pd.concat([t8, t8[(t8["model"] == "uni") & (t8["dataset"] == "day")]], ignore_index=True)
    t8.to_csv(results / "table8.csv", index=False)
    assert diff_cli(results, REF) == 1
    assert "table8: duplicated row keys in the our table: ['uni/day']" in capsys.readouterr().err
