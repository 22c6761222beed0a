"""Every shell command in the README's code blocks runs as written.

Each command (each `&&` step of a line) goes to the handler of its kind: Snakemake commands are
dry-run (`-n` appended, nothing else changed) in a scratch copy of the workflow, `repro` commands
run for real on a tiny market, the install steps must be the ones `.ci/run` performs, and a
command no handler knows fails the test, so a new README command cannot go untested. The
README's `my.yaml` is written as printed, only its `path:` pointing at a folder the test built.
"""
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from readme_commands import README, code_blocks, readme_commands
from test_workflow import _copy_workflow

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def my_yaml(data_path: Path) -> str:
    """The README's my.yaml, verbatim but for the path."""
    (block,) = [b for b in code_blocks(README, "yaml") if b.startswith("# my.yaml")]
    assert re.search(r"^  path: .+$", block, re.M), block
    return re.sub(r"^  path: .+$", f"  path: {data_path}", block, flags=re.M)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    """A workflow copy with a tiny parquet market, the README's my.yaml pointing at it, and a
    results folder holding the published tables (for `repro diff`)."""
    work = _copy_workflow(tmp_path_factory.mktemp("readme"))
    market = work / "market"
    res = subprocess.run([BIN / "repro", "synth", "--config", "config/tiny.yaml", "--out", str(market)], cwd=work,
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-3000:]
    (work / "my.yaml").write_text(my_yaml(market))
    shutil.copytree(ROOT / "config" / "reference", work / "results")
    return work


def _ci_script() -> str:
    return (ROOT / ".ci" / "run").read_text()


def _run(step: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(["bash", "-c", step], cwd=cwd, capture_output=True, text=True, env=env)


def handle(step: str, work: Path) -> str:
    """Run or check one README step; returns what was done (for the failure message)."""
    words = shlex.split(step)
    if words[:3] == ["python3", "-m", "venv"] or words[:1] == ["."]:
        return "set-up: creates and activates the virtual environment (.ci/run does the same)"
    if words[:2] == ["pip", "install"]:
        extra = re.fullmatch(r'-e \.\[(\w+)\]', " ".join(words[2:]))
        if extra:
            import tomllib

            extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
            assert extra.group(1) in extras, f"{step}: no extra {extra.group(1)!r} in pyproject.toml"
        else:
            assert words[2:] == ["torch==2.13.0"], f"{step}: an install step the README test does not know"
        if extra is None or extra.group(1) == "dev":  # the set-up lines: CI installs exactly these
            assert " ".join(words[2:]) in _ci_script().replace('"', ""), f"{step}: not what .ci/run installs"
        return "install step checked against pyproject.toml / .ci/run"
    if words[:3] == ["python", "-m", "pytest"]:
        assert step in _ci_script(), f"{step}: .ci/run does not run the README's test command"
        return "the test command (.ci/run runs it)"
    if words[0] == "snakemake" and "--report" in words:
        # needs a finished run: the browser test runs these very words after the tiny DAG
        test = (ROOT / "tests" / "test_workflow.py").read_text()
        assert "report_command()" in test, f"{step}: no test runs it after a finished run"
        return "run by tests/test_workflow.py's browser test after the tiny DAG"
    if words[0] == "snakemake":
        res = _run(step if "--unlock" in words else f"{step} -n", work)
        assert res.returncode == 0, f"{step}\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"
        return "ran (dry-run)"
    if words[0] == "repro":
        res = _run(step, work)
        assert res.returncode == 0, f"{step}\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"
        return "ran"
    raise AssertionError(f"README command with no handler in tests/test_readme.py: {step}")


def test_readme_has_the_commands_a_user_needs():
    steps = readme_commands()
    assert "snakemake --cores 2 results/table8.csv" in steps  # the main job
    assert "python -m pytest -q" in steps  # the test command CI runs
    assert any(s.startswith("repro check-data --config my.yaml") for s in steps)
    assert "snakemake --unlock" in steps


@pytest.mark.parametrize("step", readme_commands())
def test_readme_command_runs_as_written(step, scratch):
    handle(step, scratch)


def test_own_data_commands_on_a_qlib_folder(scratch):
    # The README's "Your own data" commands, word for word, with my.yaml naming a qlib folder
    # (upper-case stock folders, as many published ones have) instead of the parquet contract.
    from market_fixtures import write_qlib_market

    from repro.data import load_market

    qlib = write_qlib_market(load_market({"source": "parquet", "path": str(scratch / "market")}),
                             scratch / "qlib", upper=True)
    yaml_text = my_yaml(qlib).replace("source: parquet", "source: qlib")
    assert "source: qlib" in yaml_text
    section = README[README.index("## Your own data"):README.index("## On a cluster")]
    steps = readme_commands(section)
    assert len(steps) == 2 and steps[0].startswith("repro check-data"), steps
    backup = (scratch / "my.yaml").read_text()
    try:
        (scratch / "my.yaml").write_text(yaml_text)
        for step in steps:
            assert handle(step, scratch).startswith("ran"), step
    finally:
        (scratch / "my.yaml").write_text(backup)


def test_a_target_after_configfile_fails(scratch):
    # The mistake the README once had: --configfile takes every following word, target included.
    with pytest.raises(AssertionError, match="Config file must be given as JSON or YAML"):
        handle("snakemake --cores 8 --configfile config/report.yaml my.yaml results/table8.csv", scratch)
    with pytest.raises(AssertionError, match="no handler"):
        handle("make everything", scratch)
