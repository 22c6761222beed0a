"""End to end: the whole DAG on config/tiny.yaml in a scratch copy of the workflow; with
REPRO_TEST_SLURM=1 (CI stands up a one-node SLURM with .ci/slurm-up) also through profiles/slurm."""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from headless_browser import Chromium, find_chromium
from readme_commands import report_command
from repro import targets

ROOT = Path(__file__).resolve().parents[1]


def _copy_workflow(work: Path) -> Path:
    work.mkdir(parents=True, exist_ok=True)
    for name in ("Snakefile", "rules", "workflow", "config", "docs", "envs", "profiles"):
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, work / name)
    return work


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return _copy_workflow(tmp_path_factory.mktemp("workflow"))


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
    for name in targets.reference_tables():
        ours = pd.read_csv(results / f"{name}.csv")
        ref = pd.read_csv(reference / f"{name}.csv")
        assert list(ours.columns) == list(ref.columns), name
    for path in targets.all_paths(synthetic=True):
        assert (workdir / path).stat().st_size > (1000 if path.endswith(".png") else 10), path
    # every rule logged and benchmarked
    assert any((workdir / "logs" / "train").rglob("*.log"))
    assert any((workdir / "results" / "benchmarks" / "train").rglob("*.tsv"))


def test_rerun_is_a_no_op(workdir):
    res = _snakemake(workdir, "--dry-run")
    assert res.returncode == 0
    assert "Nothing to be done" in res.stdout + res.stderr



def test_an_evaluation_setting_reruns_no_training(workdir):
    # Rules receive only the config sections they read: an evaluation switch re-evaluates only.
    assert _snakemake(workdir).returncode == 0  # a no-op after test_tiny_config_builds_every_target
    (workdir / "config" / "frictionless.yaml").write_text("evaluate:\n  trading_rules: false\n")
    cmd = [sys.executable, "-m", "snakemake", "--cores", "2", "--dry-run",
           "--configfile", "config/tiny.yaml", "config/frictionless.yaml"]
    res = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    planned = set(re.findall(r"^rule (\w+):", res.stdout, re.M))
    assert "evaluation_table" in planned, res.stdout[-3000:]
    assert not planned & {"synth", "labels", "day_features", "train", "average_seeds", "study_point"}, planned

def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false")


def _click(label: str) -> str:
    """JavaScript: click the report's menu link whose text is `label` (true when found)."""
    return (f"(() => {{ const a = [...document.querySelectorAll('a')].find(a => a.textContent.trim() === "
            f"{label!r}); if (a) a.click(); return !!a; }})()")


def test_html_report_shows_the_comparison_with_the_report(workdir, tmp_path):
    """`snakemake --report` after the build; headless Chromium clicks to the comparison of table 8
    as a user would and reads the page the report shows (a data: iframe)."""
    chromium = find_chromium()
    if chromium is None:
        if _in_ci():
            pytest.fail("CI=true but chromium is not installed (.ci/run installs Debian's chromium)")
        pytest.skip("needs a headless browser: apt-get install chromium (CI installs it)")
    assert _snakemake(workdir).returncode == 0  # a no-op after test_tiny_config_builds_every_target
    words = report_command()  # the README's words, after the same --configfile as the run
    assert words[0] == "snakemake", words
    res = _snakemake(workdir, *words[1:])
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    report = workdir / "report.html"
    with Chromium(chromium, tmp_path / "profile") as browser:
        browser.open(report.as_uri())
        category = "Comparison with the report"
        browser.wait_for(_click(category), f"the report's menu to list {category!r}")
        folders = ("All tables (summary)", "Evaluation", "Studies", "Training")
        listed = " && ".join(f"links.includes({f!r})" for f in folders)
        browser.wait_for(f"(() => {{ const links = [...document.querySelectorAll('a')].map(a => a.textContent.trim());"
                         f" return {listed}; }})()", f"the comparison's folders {folders}")
        browser.wait_for(_click("Evaluation"), "the comparison's Evaluation folder")
        row = ("[...document.querySelectorAll('tr')].find(tr => tr.querySelector('td') && "
               "tr.querySelector('td').textContent.trim() === 'Table 08')")
        browser.wait_for(f"(() => {{ const tr = {row}; if (tr) tr.querySelector('td:last-child a').click(); "
                         f"return !!tr; }})()", "the row of table 8 in the comparison listing")
        text = browser.frame_text("data:text/html")
        browser.screenshot(tmp_path / "report-table8.png")
        if os.environ.get("REPRO_REPORT_SCREENSHOT"):
            shutil.copy(tmp_path / "report-table8.png", os.environ["REPRO_REPORT_SCREENSHOT"])
        errors = browser.script_errors()
    assert not errors, errors[:3]
    assert text.startswith("Table 8: ours, the report's, and the difference"), text[:500]
    lines = text.splitlines()
    assert "model/dataset\tcolumn\tours\treport\tours − report" in lines
    # The report's number next to ours, with the difference: uni / day RankIC mean is 13.42%.
    ours = pd.read_csv(workdir / "results" / "table8.csv").set_index(["model", "dataset"])
    mine = ours.loc[("uni", "day"), "rank_ic_mean"]
    expected = f"uni/day\trank_ic_mean\t{mine:.4f}\t0.1342\t{mine - 0.1342:+.4f}"
    assert expected in lines, [s for s in lines if s.startswith("uni/day")]
    assert sum(s.startswith(("uni/", "multi/")) for s in lines) == 42  # 6 rows x 7 values


def test_parquet_source_plans_the_same_dag_without_synth(workdir):
    # The tiny synthetic market is a valid parquet-contract folder: point the config at it.
    res = _snakemake(workdir, "--dry-run", "--forceall", "--config",
                     "data={source: parquet, path: resources/tiny}")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "synth " not in res.stdout and "check_data" in res.stdout and "train " in res.stdout


@pytest.mark.skipif(os.environ.get("REPRO_TEST_SLURM") != "1",
                    reason="needs a running SLURM: REPRO_TEST_SLURM=1 after .ci/slurm-up (CI does both)")
def test_slurm_profile_submits_jobs_and_reproduces_the_local_factor(workdir, tmp_path):
    assert shutil.which("sbatch"), "REPRO_TEST_SLURM=1 but sbatch is not on PATH"
    work = _copy_workflow(tmp_path / "slurm")
    target = "results/factors/day/multi"
    # Site settings of the CI cluster (no accounting database): status from squeue, no account.
    cmd = ["timeout", "-s", "KILL", "900", sys.executable, "-m", "snakemake", "--profile", "profiles/slurm",
           "--configfile", "config/tiny.yaml", "--retries", "0", "--slurm-no-account",
           "--slurm-status-command", "squeue", "--slurm-init-seconds-before-status-checks", "1", target]
    res = subprocess.run(cmd, cwd=work, capture_output=True, text=True)
    out = res.stdout + res.stderr
    logs = sorted((work / ".snakemake" / "slurm_logs").rglob("*.log"))
    tails = "\n".join(f"== {p}\n{p.read_text()[-1500:]}" for p in logs[-3:])
    assert res.returncode == 0, out[-6000:] + tails
    # Every job went through sbatch and ran to completion; training went to the gpu partition.
    jobids = re.findall(r"submitted with SLURM jobid (\d+)", out)
    assert len(jobids) >= 6, out[-4000:]  # synth, check_data, day_features, labels, train…, average_seeds
    routed = set()
    for jobid in jobids:
        info = subprocess.run(["scontrol", "show", "job", "-o", jobid], capture_output=True, text=True).stdout
        fields = dict(f.split("=", 1) for f in info.split() if "=" in f)
        assert fields.get("JobState") == "COMPLETED", info
        rule = re.match(r"rule_(.+?)(?:_wildcards_.*)?$", fields["Comment"]).group(1)
        routed.add((rule, fields["Partition"]))
    assert routed == {("synth", "cpu"), ("check_data", "cpu"), ("day_features", "cpu"), ("labels", "cpu"),
                      ("train", "gpu"), ("average_seeds", "cpu")}, routed
    # The same DAG run locally gives the same factor (a no-op after test_tiny_config_builds_every_target).
    assert _snakemake(workdir).returncode == 0
    np.testing.assert_array_equal(np.load(work / target / "values.npy"),
                                  np.load(workdir / target / "values.npy"))
