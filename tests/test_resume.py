"""A run killed mid-training (kill -9 of Snakemake and its jobs) resumes when rerun exactly as
the README's "After an interruption" paragraph says, and ends with the table of an
uninterrupted run."""
import os
import signal
import subprocess
import sys
import time

import pandas as pd

from readme_commands import README, code_blocks
from test_workflow import _copy_workflow

TINY = ["--configfile", "config/tiny.yaml"]


def interruption_commands() -> list[list[str]]:
    section = README[README.index("### After an interruption"):]
    (block,) = code_blocks(section, "bash")[:1]
    return [line.split() for line in block.splitlines() if line.strip()]


def _snakemake(words, cwd, **kw):
    assert words[0] == "snakemake"
    return [sys.executable, "-m", "snakemake", *words[1:], *TINY], dict(cwd=cwd, **kw)


def test_a_killed_run_resumes_as_the_readme_says(tmp_path):
    unlock, rerun = interruption_commands()
    assert unlock == ["snakemake", "--unlock"] and "results/table8.csv" in rerun

    # The uninterrupted run.
    clean = _copy_workflow(tmp_path / "clean")
    cmd, kw = _snakemake(rerun, clean, capture_output=True, text=True)
    res = subprocess.run(cmd, **kw)
    assert res.returncode == 0, res.stderr[-4000:]

    # The same command, killed (SIGKILL to Snakemake and every job) once a training has
    # checkpointed an epoch but not finished.
    work = _copy_workflow(tmp_path / "killed")
    cmd, kw = _snakemake(rerun, work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    proc = subprocess.Popen(cmd, **kw)
    checkpoints = work / "results" / "checkpoints"
    deadline = time.monotonic() + 600
    partial = []
    while not partial and proc.poll() is None and time.monotonic() < deadline:
        partial = list(checkpoints.rglob("*.partial")) if checkpoints.exists() else []
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert partial, "the run ended before any training checkpointed an epoch"

    # As the README says: the same command stops on the lock; unlock, then the same command.
    cmd, kw = _snakemake(rerun, work, capture_output=True, text=True)
    locked = subprocess.run(cmd, **kw)
    assert locked.returncode != 0 and "LockException" in locked.stdout + locked.stderr
    for words in (unlock, rerun):
        cmd, kw = _snakemake(words, work, capture_output=True, text=True)
        res = subprocess.run(cmd, **kw)
        assert res.returncode == 0, res.stderr[-4000:]
    resumed = [p for p in (work / "logs" / "train").rglob("*.log") if "resuming" in p.read_text()]
    assert resumed, "no training resumed from its .partial checkpoint"
    pd.testing.assert_frame_equal(pd.read_csv(work / "results" / "table8.csv"),
                                  pd.read_csv(clean / "results" / "table8.csv"))
