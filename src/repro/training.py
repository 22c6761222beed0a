"""Training with early stopping and resumable checkpoints (SPEC §5); one set-up path for the
rolling training jobs and the parameter studies.

- A batch is one trading day's cross-section (repro.day_batches); days are shuffled each epoch
  (seeded generator).
- Adam, gradient clipping by value; after every epoch the validation mean daily RankIC
  (repro.metrics.rank_ic.row_spearman per day, mean over days) drives early stopping with
  `patience`; the best epoch's weights are kept; epochs are capped at `max_epochs`.
- Each epoch the whole training state goes to `<checkpoint>.partial` (repro.checkpoint); a rerun
  after a kill resumes from it. The final checkpoint records the model arguments, the config,
  the seed and a fingerprint of the data.
- Test predictions (repro.predict) are written per seed; repro.seed_average averages the seeds.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from . import cpu_step
from .checkpoint import atomic_save, partial_path, rng_state, set_rng_state, write_log
from .day_batches import DayBatch, DayBatches, TrainingData, load_training_data
from .flat_adam import FlatAdam
from .metrics.rank_ic import row_spearman
from .model import FactorGRU, factor_loss
from .panel import Panel
from .predict import predict, write_predictions
from .vocabulary import MODELS
from .windows import WindowSource

log = logging.getLogger(__name__)


def resolve_device(name: str) -> torch.device:
    """"auto" → cuda when available, else cpu."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("train.device is 'cuda' but no CUDA device is available")
    return torch.device(name)


def model_arguments(train_cfg: dict, n_features: int, model: str) -> dict:
    """FactorGRU arguments from the `train` config: uni has one factor, multi `n_factors`."""
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r} (expected one of {', '.join(MODELS)})")
    return dict(n_features=n_features, hidden=int(train_cfg["hidden"]),
                n_factors=1 if model == "uni" else int(train_cfg["n_factors"]),
                dropout=float(train_cfg["dropout"]), num_layers=int(train_cfg["num_layers"]))


def set_up_process(threads: int, device: torch.device = torch.device("cpu")) -> None:
    """What a training process sets before it trains (jobs, study points, benchmarks/step.py):

    - torch's threads;
    - on a CPU, torch's deterministic-algorithms switch (warn only), set through
      `torch._C._set_deterministic_algorithms`: `torch.use_deterministic_algorithms` also
      imports torch._inductor's config to set a flag only torch.compile reads (≈ 1 s of every
      job's start-up; this project never compiles); without filling new tensors with NaN
      (`fill_uninitialized_memory`), a pass over every buffer the step allocates, which the code
      never reads before writing (tests/test_cpu_step.py, tests/test_model.py);
    - glibc's allocator told to keep freed blocks: by default it hands blocks over 128 KiB back
      to the kernel on free (mmap, trim), so every step's temporaries were page-faulted afresh
      (docs/benchmarks.md). No-op where the C library is not glibc.
    """
    torch.set_num_threads(threads)
    if device.type == "cpu":
        torch._C._set_deterministic_algorithms(True, warn_only=True)
        torch.utils.deterministic.fill_uninitialized_memory = False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        libc.mallopt(_M_MMAP_THRESHOLD, 32 << 20)  # blocks under 32 MiB come from the heap
        libc.mallopt(_M_TRIM_THRESHOLD, 32 << 20)  # and up to 32 MiB of free heap is kept
    except (OSError, AttributeError, TypeError):
        pass


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's malloc.h


@dataclass
class Run:
    """Everything one training run needs besides its seed: data, windows, model arguments and
    the record stored in its checkpoints."""

    data: TrainingData
    source: WindowSource
    model_args: dict
    record: dict


def prepare_run(features: Panel | str | Path, labels: Panel | str | Path, cfg: dict, train_cfg: dict,
                dataset: str, model: str, year: int, threads: int = 1, **record) -> Run:
    """The one set-up path of training jobs and study points: torch's threads, the device, the
    deterministic-algorithms switch on a CPU, the data (labels read first and released), the
    window source and the model arguments. `record` adds keys to the checkpoint record."""
    model_arguments(train_cfg, 1, model)  # a bad model name fails before any data is read
    device = resolve_device(train_cfg["device"])
    set_up_process(threads, device)
    window = int(cfg["features"]["window"])
    data = load_training_data(features, labels, dataset, year, train_cfg, window, device)
    source = WindowSource(data.features, window, device)
    model_args = model_arguments(train_cfg, len(data.features.features), model)
    record = {"dataset": dataset, "model": model, "year": year, **record, "config": cfg,
              "fingerprint": data.fingerprint}
    log.info("%s/%s/%d: %d train, %d valid, %d test days on %s (%d threads)", dataset, model, year,
             len(data.train), len(data.valid), len(data.test), device, threads)
    return Run(data, source, model_args, record)


def validate(model: FactorGRU, source: WindowSource, batches: DayBatches) -> tuple[float, float]:
    """(mean daily RankIC, mean absolute off-diagonal unit correlation; NaN for uni), from one
    batched inference over all validation days (repro.predict)."""
    outputs = predict(model, source, batches)
    if not outputs:
        return float("nan"), float("nan")
    targets = batches.values
    predictions = np.full(targets.shape, np.nan)
    predictions[np.isfinite(targets)] = np.concatenate([p for p, _ in outputs])  # rows' stocks ascend
    ics = row_spearman(predictions, targets)
    corrs = []
    for _, units in outputs:
        k = units.shape[1]
        if k > 1:  # units are batch-standardised, so unitsᵀ units / n is their correlation matrix
            u = torch.from_numpy(units)
            corr = (u.T @ u) / u.shape[0]
            off = corr.abs().sum() - corr.diagonal().abs().sum()
            corrs.append(float(off) / (k * (k - 1)))
    ic = float(np.nanmean(ics)) if np.isfinite(ics).any() else float("nan")
    return ic, float(np.mean(corrs)) if corrs else float("nan")


def train_epoch(model: FactorGRU, optimiser: FlatAdam | torch.optim.Optimizer, source: WindowSource,
                batches: Iterable[DayBatch], ortho_lambda: float, clip_value: float) -> float:
    """One pass over `batches` in the given order (one optimiser step per day); mean loss."""
    model.train()
    total, n = torch.zeros((), device=source.values.device), 0
    for b in batches:
        total += training_step(model, optimiser, source.gather(b.day, b.stocks), b.label, ortho_lambda, clip_value)
        n += 1  # losses summed on the device: no host sync per step
    return float(total) / n


def make_optimiser(model: FactorGRU, lr: float) -> FlatAdam | torch.optim.Adam:
    """Adam over the model's parameters: on a CPU `repro.flat_adam.FlatAdam` (torch's numbers,
    fewer operations); on other devices torch.optim.Adam, which leaves the GRU's weights in the
    buffer cuDNN flattened them into (FlatAdam makes every parameter a view of its own buffer)."""
    if next(model.parameters()).device.type == "cpu":
        return FlatAdam(model.parameters(), lr=lr)
    return torch.optim.Adam(model.parameters(), lr=lr)


def training_step(model: FactorGRU, optimiser: FlatAdam | torch.optim.Optimizer, x: torch.Tensor,
                  label: torch.Tensor, ortho_lambda: float, clip_value: float) -> torch.Tensor:
    """One optimiser step on one day's windows x [n, T, F]: forward, loss (SPEC §4), backward,
    gradient clipping by value (report table 1), Adam. Returns the detached loss.

    On a CPU with one GRU layer the loss and gradients come from `repro.cpu_step` (hand-derived,
    equal to autograd's); otherwise from autograd."""
    if cpu_step.supports(model, x):
        loss = cpu_step.loss_and_gradients(model, x, label, ortho_lambda)
    else:
        prediction, units = model(x)
        loss = factor_loss(prediction, units, label, ortho_lambda)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
    if isinstance(optimiser, FlatAdam):
        optimiser.step(clip_value=clip_value)  # each coordinate clipped to ±clip_value first
    else:
        torch.nn.utils.clip_grad_value_(model.parameters(), clip_value)
        optimiser.step()
    return loss.detach()


def _copy_state(model: FactorGRU) -> dict:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def train_one(source: WindowSource, train: DayBatches, valid: DayBatches, model_args: dict,
              train_cfg: dict, seed: int, log_path=None, checkpoint_path=None, record: dict | None = None,
              on_epoch_end=None) -> tuple[FactorGRU, dict]:
    """Train one model with early stopping on validation RankIC; return (best model, summary).

    `record` (config, data fingerprint, …) is stored in the checkpoints; a `.partial` checkpoint
    is only resumed when its record, seed and model arguments match. `on_epoch_end(epoch, row)`
    is called after each epoch's state is saved (tests use it to simulate a kill).
    """
    if not train or not valid:
        raise ValueError(f"training needs days in both sets (train {len(train)}, valid {len(valid)})")
    log_path = Path(log_path) if log_path is not None else None
    checkpoint_path = Path(checkpoint_path) if checkpoint_path is not None else None
    partial = partial_path(checkpoint_path)
    device = source.values.device
    multi = model_args["n_factors"] > 1
    # uni's loss is the MSE alone (SPEC §4); with K = 1 the penalty would be a constant anyway.
    ortho_lambda = float(train_cfg["ortho_lambda"]) if multi else 0.0
    identity = {"record": dict(record or {}), "seed": seed, "model_args": model_args,
                "train_cfg": {k: train_cfg[k] for k in sorted(train_cfg)}}

    torch.manual_seed(seed)
    model = FactorGRU(**model_args).to(device)
    optimiser = make_optimiser(model, float(train_cfg["lr"]))
    gen = torch.Generator().manual_seed(seed)
    epoch, best_ic, best_epoch, bad, best_state, rows = 0, -np.inf, 0, 0, None, []

    if partial is not None and partial.exists():
        state = torch.load(partial, map_location=device, weights_only=False)
        if state["identity"] == identity:
            model.load_state_dict(state["model"])
            optimiser.load_state_dict(state["optimiser"])
            set_rng_state(state["rng"], gen)
            epoch, best_ic, best_epoch, bad = state["epoch"], state["best_ic"], state["best_epoch"], state["bad"]
            best_state, rows = state["best_state"], state["log"]
            log.info("resuming %s after epoch %d", partial, epoch)
        else:
            log.warning("ignoring %s: it was written for another config, seed or data", partial)

    clip, patience = float(train_cfg["clip_value"]), int(train_cfg["patience"])
    while epoch < int(train_cfg["max_epochs"]) and bad < patience:
        epoch += 1
        start = time.perf_counter()
        order = torch.randperm(len(train), generator=gen).tolist()
        train_loss = train_epoch(model, optimiser, source, (train[i] for i in order), ortho_lambda, clip)
        valid_ic, factor_corr = validate(model, source, valid)
        if valid_ic > best_ic:  # NaN never improves
            best_ic, best_epoch, bad, best_state = valid_ic, epoch, 0, _copy_state(model)
        else:
            bad += 1
        row = {"epoch": epoch, "train_loss": train_loss, "valid_rank_ic": valid_ic}
        if multi:
            row["valid_factor_corr"] = factor_corr
        row["seconds"] = round(time.perf_counter() - start, 3)
        rows.append(row)
        log.info("epoch %d: %s", epoch, row)
        write_log(rows, log_path)
        if partial is not None:
            atomic_save({"identity": identity, "model": model.state_dict(), "optimiser": optimiser.state_dict(),
                         "rng": rng_state(gen), "epoch": epoch, "best_ic": best_ic, "best_epoch": best_epoch,
                         "bad": bad, "best_state": best_state, "log": rows}, partial)
        if on_epoch_end is not None:
            on_epoch_end(epoch, row)

    if best_state is None:
        log.warning("validation RankIC was never finite; keeping the last epoch's weights")
        best_state = _copy_state(model)
    model.load_state_dict(best_state)
    best_row = rows[best_epoch - 1] if best_epoch else rows[-1]
    summary = {"stop_epoch": epoch, "best_epoch": best_epoch, "best_valid_rank_ic": float(best_ic),
               "n_train_days": len(train), "n_valid_days": len(valid),
               "seconds": float(sum(r["seconds"] for r in rows))}
    if multi:
        summary["best_valid_factor_corr"] = float(best_row["valid_factor_corr"])
    if checkpoint_path is not None:
        atomic_save({"model_args": model_args, "state_dict": best_state, "seed": seed, **identity["record"],
                     "train_cfg": identity["train_cfg"], "summary": summary, "log": rows}, checkpoint_path)
        partial.unlink(missing_ok=True)
    return model, summary


def train_and_predict(features: Panel | str | Path, labels: Panel | str | Path, dataset: str, model: str,
                      year: int, seed: int, cfg: dict, predictions_path, log_path, checkpoint_path,
                      threads: int = 1) -> dict:
    """Train one (dataset, model, test year, seed) and predict its test year (SPEC §5). The panels
    may be given as folders: then the labels are read first and released (`load_training_data`).

    Writes the prediction parquet, the epoch log CSV and the checkpoint; returns the summary.
    """
    run = prepare_run(features, labels, cfg, cfg["train"], dataset, model, year, threads)
    net, summary = train_one(run.source, run.data.train, run.data.valid, run.model_args, cfg["train"], seed,
                             log_path=log_path, checkpoint_path=checkpoint_path, record=run.record)
    test, panel = run.data.test, run.data.features
    write_predictions(predictions_path, panel.dates, panel.codes, test, predict(net, run.source, test),
                      multi=model == "multi")
    summary.update(dataset=dataset, model=model, year=year, seed=seed, n_test_days=len(test))
    return summary
