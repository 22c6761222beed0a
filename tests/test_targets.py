"""The registry of targets (repro.targets) is the one list: every entry has a rule of the
workflow, an importable builder, a caption file, and every published table it names exists."""
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from repro import targets

ROOT = Path(__file__).resolve().parents[1]


def test_every_target_is_written_by_a_rule_of_the_workflow():
    res = subprocess.run([sys.executable, "-m", "snakemake", "--list-rules"], cwd=ROOT, capture_output=True,
                         text=True)
    assert res.returncode == 0, res.stderr
    rules = set(res.stdout.split())
    missing = {t.name: t.rule for t in targets.TARGETS.values() if t.rule not in rules}
    assert not missing, missing


@pytest.mark.parametrize("target", [t for t in targets.TARGETS.values() if t.builder], ids=lambda t: t.name)
def test_builders_import(target):
    module, func = target.builder.split(":")
    assert callable(getattr(importlib.import_module(f"repro.{module}"), func))


def test_captions_exist_and_reported_targets_have_categories():
    for t in targets.TARGETS.values():
        assert (t.caption is None) == (t.category is None), t.name
        if t.caption:
            assert (ROOT / t.caption).is_file(), t.caption


def test_published_tables_are_in_the_reference_folder():
    for name in targets.reference_tables():
        assert (ROOT / "config" / "reference" / f"{name}.csv").is_file(), name


def test_paths_and_rule_numbers():
    assert targets.TARGETS["table8"].path == "results/table8.csv"
    assert targets.TARGETS["fig12"].path == "results/figures/fig12.png"
    assert targets.numbers("evaluation_table") == list(range(7, 17))
    assert targets.numbers("study_table") == [2, 3, 4, 5]
    assert "results/oracle_recovery.csv" not in targets.all_paths(synthetic=False)
    assert "results/oracle_recovery.csv" in targets.all_paths(synthetic=True)
    with pytest.raises(KeyError, match="no target is written by rule"):
        targets.of_rule("nonesuch")
