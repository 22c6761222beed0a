"""End to end: the whole DAG on config/tiny.yaml in a scratch copy of the workflow."""
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    work = tmp_path_factory.mktemp("workflow")
    for name in ("Snakefile", "rules", "workflow", "config", "docs", "envs"):
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, work / name)
    return work


def _snakemake(workdir, *args):
    cmd = [sys.executable, "-m", "snakemake", "--cores", "2", "--configfile", "config/tiny.yaml"]
    return subprocess.run(cmd + list(args), cwd=workdir, capture_output=True, text=True)


def test_lint_is_clean(workdir):
    res = _snakemake(workdir, "--lint")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "Lints for" not in res.stdout, res.stdout


def test_tiny_config_builds_every_target(workdir):
    res = _snakemake(workdir)
    assert res.returncode == 0, res.stderr[-6000:]
    results = workdir / "results"
    reference = ROOT / "config" / "reference"
    for n in range(1, 18):
        ours = pd.read_csv(results / f"table{n}.csv")
        ref = pd.read_csv(reference / f"table{n}.csv")
        assert list(ours.columns) == list(ref.columns), n
    for n in range(6, 18):
        assert (results / "figures" / f"fig{n}.png").stat().st_size > 1000
    # every rule logged and benchmarked
    assert any((workdir / "logs" / "train").rglob("*.log"))
    assert any((workdir / "results" / "benchmarks" / "train").rglob("*.tsv"))


def test_rerun_is_a_no_op(workdir):
    res = _snakemake(workdir, "--dry-run")
    assert res.returncode == 0
    assert "Nothing to be done" in res.stdout + res.stderr


def test_parquet_source_plans_the_same_dag_without_synth(workdir):
    # The tiny synthetic market is a valid parquet-contract folder: point the config at it.
    res = _snakemake(workdir, "--dry-run", "--forceall", "--config",
                     "data={source: parquet, path: resources/tiny}")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "synth " not in res.stdout and "check_data" in res.stdout and "train " in res.stdout
