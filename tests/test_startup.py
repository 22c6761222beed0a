"""A job's set-up and what it imports (issue 9): each check runs in a fresh interpreter."""
import subprocess
import sys
from pathlib import Path

SRC = str(Path(__file__).parents[1] / "src")


def _run(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": SRC, "PATH": ""})
    return out.stdout.strip()


def test_seed_averaging_does_not_import_torch():
    code = "import sys, repro.seed_average; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_training_modules_do_not_import_scipy_stats():
    code = "import sys, repro.training, repro.studies; print('scipy.stats' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_training_set_up_sets_threads_and_the_deterministic_switch():
    # one set-up path for training jobs and study points (issue 9: the studies had drifted)
    code = f"""
import sys
sys.path.insert(0, {str(Path(__file__).parent)!r})
import torch
from test_training import make_cfg, make_panels
from repro.training import prepare_run
cfg = make_cfg()
features, labels = make_panels()
torch.set_num_threads(2)
assert not torch.are_deterministic_algorithms_enabled()
prepare_run(features, labels, cfg, cfg["train"], "day", "uni", 2022, threads=1)
print(torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled(),
      torch.get_num_threads())
"""
    assert _run(code) == "True True 1"


def test_a_training_job_imports_neither_dynamo_nor_inductor(tmp_path):
    # torch._dynamo / torch._inductor cost ≈ 1–2 s of every job's start-up (torch.optim and
    # torch.use_deterministic_algorithms import them); training never compiles.
    code = f"""
import sys
sys.path.insert(0, {str(Path(__file__).parent)!r})
from test_training import make_cfg, make_panels
from repro.training import train_and_predict
features, labels = make_panels()
out = {str(tmp_path)!r}
train_and_predict(features, labels, "day", "multi", 2022, 0, make_cfg(max_epochs=2), out + "/p.parquet",
                  out + "/log.csv", out + "/model.pt")
print(sorted({{m.split(".")[1] for m in sys.modules if m.startswith(("torch._dynamo", "torch._inductor"))}}))
"""
    assert _run(code) == "[]"
