"""The tiny DAG's `day` dataset on qlib provider folders (issue 10): the synthetic market written
as qlib's `dump_bin` would (lower-case stock folders) and as many published folders are
(upper-case ones), each run through `check_data`, features, labels, training and table 8 in a
scratch copy of the workflow, and the csi300 enhancement (table 19) on top. Both layouts hold the
same numbers, so table 8 must be identical.

About a minute per layout on 2 cores (40 stocks, one model, one seed)."""
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from market_fixtures import qlib_code, write_qlib_market
from test_workflow import _copy_workflow

from repro.data import load_market


@pytest.fixture(scope="module")
def market(tmp_path_factory):
    from repro.synth import generate_market

    path = tmp_path_factory.mktemp("syn") / "market"
    # config/tiny.yaml's market, fewer stocks
    generate_market(
        {"seed": 7, "n_stocks": 40, "start": "2021-01-04", "end": "2023-04-28", "n_industries": 6},
        str(path),
    )
    return load_market({"source": "synthetic", "path": str(path)})


def _run_day_dataset(work, folder):
    (work / "qlib.yaml").write_text(
        f"data: {{source: qlib, path: {folder}}}\ntrain: {{models: [uni], seeds: [0]}}\n"
    )
    # targets before --configfile: every word after it is read as a config file
    cmd = [sys.executable, "-m", "snakemake", "--cores", "2", "results/table8.csv", "results/table19.csv",
           "--configfile", "config/tiny.yaml", "qlib.yaml"]
    return subprocess.run(cmd, cwd=work, capture_output=True, text=True)


def test_day_dataset_runs_on_both_qlib_layouts(market, tmp_path):
    tables = {}
    for layout, upper in (("lower", False), ("upper", True)):
        folder = write_qlib_market(market, tmp_path / f"qlib_{layout}", upper=upper)
        code = qlib_code(market.codes[0])
        assert (folder / "features" / (code.upper() if upper else code.lower())).is_dir()
        work = _copy_workflow(tmp_path / f"workflow_{layout}")
        res = _run_day_dataset(work, folder)
        assert res.returncode == 0, layout + "\n" + res.stderr[-6000:]
        summary = pd.read_json(work / "results" / "data" / "summary.json", typ="series")
        assert summary["source"] == "qlib" and summary["datasets"] == ["day"]
        assert summary["stocks"] == 40
        check_log = (work / "logs" / "data" / "check_data.log").read_text()
        assert ("40 of 40 stock folders are not lower case" in check_log) == upper, check_log
        planned = res.stdout + res.stderr
        assert "rule synth" not in planned and "rule train" in planned
        predictions = work / "results" / "predictions" / "day" / "uni" / "2023" / "seed0.parquet"
        assert predictions.exists()
        t8 = pd.read_csv(work / "results" / "table8.csv").set_index(["model", "dataset"])
        assert np.isfinite(t8.loc[("uni", "day")].to_numpy(dtype=float)).all(), t8
        assert t8.drop(index=[("uni", "day")]).isna().all().all(), t8  # not trained
        tables[layout] = t8
        # The index enhancement runs on qlib data too: no industries, membership without weights
        # (equal weights over the members), both logged; the uni rows have numbers.
        t19 = pd.read_csv(work / "results" / "table19.csv").set_index(["series", "model"])
        assert np.isfinite(t19.loc[[("absolute", "uni"), ("hedged", "uni")], "ann_return"]).all(), t19
        log = (work / "logs" / "enhancement" / "csi300" / "free" / "uni.log").read_text()
        assert "the industry constraint is void" in log and "equal weights among members" in log, log[-3000:]
    pd.testing.assert_frame_equal(tables["lower"], tables["upper"])
