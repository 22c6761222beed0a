"""Training, early stopping, resumable checkpoints, prediction and seed averaging (SPEC §5).

- A batch is one trading day's cross-section; days are shuffled each epoch (seeded generator).
- Adam, gradient clipping by value; after every epoch the validation mean daily RankIC
  (Spearman of prediction vs realised target per day, mean over days) drives early stopping
  with `patience`; the best epoch's weights are kept; epochs are capped at `max_epochs`.
- Each epoch the whole training state (model, optimiser, RNG states, best weights, patience
  counter, log) goes to `<checkpoint>.partial`; a rerun after a kill resumes from it and ends
  with exactly the result of an uninterrupted run. The final checkpoint records the model
  arguments, the config, the seed and a fingerprint of the data.
- Per-seed test predictions are written as parquet; `average_seeds` turns them into the factor
  panel (the mean over 3 seeds, SPEC §5).
"""
from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import torch

from .atomic import atomic_file
from .labels import LABEL_FEATURES
from .model import FactorGRU, batch_standardise, factor_loss
from .panel import Panel
from .rolling import split_days
from .windows import WindowSource

log = logging.getLogger(__name__)


@dataclass
class DayBatch:
    """One trading day's cross-section: which stocks, and their label (train) or target (valid)."""

    day: int
    stocks: torch.Tensor  # int64 [n], on the device
    label: torch.Tensor | None  # float32 [n] on the device, batch-standardised (train days only)
    target: np.ndarray | None  # float32 [n], the realised target for RankIC (valid days only)


class DayBatches(Sequence):
    """The days of one split; `batches[i]` builds day i's DayBatch on demand.

    One float32 matrix [days, N] holds, per stock-day, the label ("train"), the target ("valid")
    or 1 ("test"), and NaN for stocks outside the day's batch: 4 bytes per stock-day, ⅙ of a
    6-feature panel's bytes, instead of every day's index and label tensors held at once.
    """

    def __init__(self, days: np.ndarray, values: np.ndarray, use: str, device):
        self.days, self.values, self.use, self.device = days, values, use, torch.device(device)

    def __len__(self) -> int:
        return len(self.days)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __getitem__(self, i: int) -> DayBatch:
        row = self.values[i]
        stocks = np.flatnonzero(np.isfinite(row))
        label = target = None
        if self.use == "train":
            # Re-standardised over exactly the batch's stocks (population std): only then is MSE
            # against the batch-normed prediction 2 (1 − Pearson corr) (SPEC §4).
            label = batch_standardise(torch.from_numpy(row[stocks])[:, None])[:, 0]
            label = label.to(self.device, non_blocking=True)
        elif self.use == "valid":
            target = row[stocks]
        # non_blocking: a copy from pageable host memory is staged at once, with no device sync.
        return DayBatch(int(self.days[i]), torch.from_numpy(stocks).to(self.device, non_blocking=True), label, target)


def day_batches(labels: Panel, days: np.ndarray, device, use: str) -> DayBatches:
    """The day batches of one split, `use` "train", "valid" or "test" (see DayBatches).

    A day's stocks: sample == 1, and for train/valid a finite label and target. Days with fewer
    than 2 such stocks are skipped (a cross-section of one stock has no z-score).
    """
    if use not in ("train", "valid", "test"):
        raise ValueError(f"use must be 'train', 'valid' or 'test', not {use!r}")
    days = np.asarray(days, dtype=np.int64)
    ok = labels.feature("sample")[days] == 1
    if use == "test":
        values = np.ones(ok.shape, np.float32)
    else:
        label, target = labels.feature("label")[days], labels.feature("target")[days]
        ok &= np.isfinite(label) & np.isfinite(target)
        values = (label if use == "train" else target).astype(np.float32, copy=False)  # a copy
        del label, target
    values[~ok] = np.nan
    keep = ok.sum(axis=1) >= 2
    log.info("%s: %d of %d days used (%d skipped with < 2 stocks); %d stock-days of %d in the %s",
             use, int(keep.sum()), len(days), int((~keep).sum()), int(ok[keep].sum()), ok.size,
             "sample" if use == "test" else "sample with a label")
    if not keep.all():
        days, values = days[keep], values[keep]
    return DayBatches(days, values, use, device)


def resolve_device(name: str) -> torch.device:
    """"auto" → cuda when available, else cpu."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("train.device is 'cuda' but no CUDA device is available")
    return torch.device(name)


def panel_digest(p: Panel) -> str:
    """sha256 of a panel's shape, dates, codes, feature names and a strided sample of its values."""
    h = hashlib.sha256()
    h.update(repr(p.values.shape).encode())
    h.update(p.dates.astype("datetime64[D]").astype(np.int64).tobytes())
    h.update("\0".join(map(str, p.codes)).encode())
    h.update("\0".join(p.features).encode())
    flat = p.values.reshape(-1)
    step = max(1, flat.size // 65536)
    h.update(np.ascontiguousarray(flat[::step], dtype=np.float32).tobytes())
    return h.hexdigest()


def data_fingerprint(*digests: str) -> str:
    """The training data's fingerprint: sha256 over its panels' `panel_digest`s."""
    return hashlib.sha256("".join(digests).encode()).hexdigest()


@dataclass
class TrainingData:
    """What one training job reads: the feature panel, its day batches, a fingerprint."""

    features: Panel
    train: DayBatches
    valid: DayBatches
    test: DayBatches
    fingerprint: str


def load_training_data(features: Panel | str | Path, labels: Panel | str | Path, dataset: str, year: int,
                       train_cfg: dict, window: int, device) -> TrainingData:
    """Split and day batches of (dataset, test year); panels may be given as folders to load.

    The labels are read first (memory-mapped), reduced to the day batches' one float32 matrix per
    split, and released before the feature panel is read: the process never holds both panels.
    """
    if not isinstance(labels, Panel):
        labels = Panel.load(labels, mmap=True)
    missing = [f for f in LABEL_FEATURES if f not in labels.features]
    if missing:
        raise ValueError(f"labels panel lacks features {missing} (has {labels.features})")
    split = split_days(labels.dates, dataset, year, train_cfg, window)
    train, valid, test = (day_batches(labels, getattr(split, use), device, use) for use in ("train", "valid", "test"))
    labels_digest, dates, codes = panel_digest(labels), labels.dates, labels.codes
    del labels  # closes a memory map opened here
    if not isinstance(features, Panel):
        features = Panel.load(features)
    if not np.array_equal(features.dates, dates):
        raise ValueError(f"feature and label panels have different dates "
                         f"({len(features.dates)} vs {len(dates)} days)")
    if not np.array_equal(features.codes, codes):
        diff = np.setxor1d(features.codes, codes)[:5]
        raise ValueError(f"feature and label panels have different codes, e.g. {list(diff)}")
    return TrainingData(features, train, valid, test, data_fingerprint(panel_digest(features), labels_digest))


def rank_ic(prediction: np.ndarray, target: np.ndarray) -> float:
    """Spearman correlation (average ranks for ties) of one day's cross-section."""
    ok = np.isfinite(prediction) & np.isfinite(target)
    if ok.sum() < 2:
        return float("nan")
    # pandas' average ranks (= scipy.stats.rankdata): importing scipy.stats would add ~1.5 s to
    # every training job's start.
    a = pd.Series(prediction[ok]).rank().to_numpy()
    b = pd.Series(target[ok]).rank().to_numpy()
    a, b = a - a.mean(), b - b.mean()
    denom = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / denom) if denom > 0 else float("nan")


@torch.no_grad()
def validate(model: FactorGRU, source: WindowSource, batches: Iterable[DayBatch]) -> tuple[float, float]:
    """(mean daily RankIC, mean absolute off-diagonal unit correlation; NaN for uni)."""
    model.eval()
    ics, corrs = [], []
    for b in batches:
        pred, units = model(source.gather(b.day, b.stocks))
        ics.append(rank_ic(pred.cpu().numpy().astype(np.float64), b.target))
        k = units.shape[1]
        if k > 1:  # units are batch-standardised, so unitsᵀ units / n is their correlation matrix
            corr = (units.T @ units) / units.shape[0]
            off = corr.abs().sum() - corr.diagonal().abs().sum()
            corrs.append(float(off) / (k * (k - 1)))
    return float(np.nanmean(ics)) if ics else float("nan"), float(np.mean(corrs)) if corrs else float("nan")


def _rng_state(gen: torch.Generator) -> dict:
    state = {"torch": torch.get_rng_state(), "shuffle": gen.get_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict, gen: torch.Generator) -> None:
    # RNG states are CPU byte tensors; torch.load(map_location=cuda) may have moved them.
    torch.set_rng_state(state["torch"].cpu())
    gen.set_state(state["shuffle"].cpu())
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])


def _atomic_save(obj, path: Path) -> None:
    with atomic_file(path) as tmp:
        torch.save(obj, tmp)


def _write_log(rows: list[dict], path: Path | None) -> None:
    if path is None:
        return
    with atomic_file(path) as tmp:
        pd.DataFrame(rows).to_csv(tmp, index=False)


def train_epoch(model: FactorGRU, optimiser: torch.optim.Optimizer, source: WindowSource,
                batches: Iterable[DayBatch], ortho_lambda: float, clip_value: float) -> float:
    """One pass over `batches` in the given order (one optimiser step per day); mean loss."""
    model.train()
    total, n = torch.zeros((), device=source.values.device), 0
    for b in batches:
        prediction, units = model(source.gather(b.day, b.stocks))
        loss = factor_loss(prediction, units, b.label, ortho_lambda)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_value_(model.parameters(), clip_value)
        optimiser.step()
        total += loss.detach()  # summed on the device: no host sync per step
        n += 1
    return float(total) / n


def model_arguments(train_cfg: dict, n_features: int, model: str) -> dict:
    """FactorGRU arguments from the `train` config: uni has one factor, multi `n_factors`."""
    return dict(n_features=n_features, hidden=int(train_cfg["hidden"]),
                n_factors=1 if model == "uni" else int(train_cfg["n_factors"]),
                dropout=float(train_cfg["dropout"]), num_layers=int(train_cfg["num_layers"]))


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
    record = dict(record or {})
    log_path = Path(log_path) if log_path is not None else None
    checkpoint_path = Path(checkpoint_path) if checkpoint_path is not None else None
    partial = checkpoint_path.with_name(checkpoint_path.name + ".partial") if checkpoint_path else None
    device = source.values.device
    multi = model_args["n_factors"] > 1
    # uni's loss is the MSE alone (SPEC §4); with K = 1 the penalty would be a constant anyway.
    ortho_lambda = float(train_cfg["ortho_lambda"]) if multi else 0.0
    identity = {"record": record, "seed": seed, "model_args": model_args,
                "train_cfg": {k: train_cfg[k] for k in sorted(train_cfg)}}

    torch.manual_seed(seed)
    model = FactorGRU(**model_args).to(device)
    optimiser = torch.optim.Adam(model.parameters(), lr=float(train_cfg["lr"]))
    gen = torch.Generator().manual_seed(seed)
    epoch, best_ic, best_epoch, bad, best_state, rows = 0, -np.inf, 0, 0, None, []

    if partial is not None and partial.exists():
        state = torch.load(partial, map_location=device, weights_only=False)
        if state["identity"] == identity:
            model.load_state_dict(state["model"])
            optimiser.load_state_dict(state["optimiser"])
            _set_rng_state(state["rng"], gen)
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
            best_ic, best_epoch, bad = valid_ic, epoch, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            bad += 1
        row = {"epoch": epoch, "train_loss": train_loss, "valid_rank_ic": valid_ic}
        if multi:
            row["valid_factor_corr"] = factor_corr
        row["seconds"] = round(time.perf_counter() - start, 3)
        rows.append(row)
        log.info("epoch %d: %s", epoch, row)
        _write_log(rows, log_path)
        if partial is not None:
            partial.parent.mkdir(parents=True, exist_ok=True)
            _atomic_save({"identity": identity, "model": model.state_dict(), "optimiser": optimiser.state_dict(),
                          "rng": _rng_state(gen), "epoch": epoch, "best_ic": best_ic, "best_epoch": best_epoch,
                          "bad": bad, "best_state": best_state, "log": rows}, partial)
        if on_epoch_end is not None:
            on_epoch_end(epoch, row)

    if best_state is None:
        log.warning("validation RankIC was never finite; keeping the last epoch's weights")
        best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    model.load_state_dict(best_state)
    best_row = rows[best_epoch - 1] if best_epoch else rows[-1]
    summary = {"stop_epoch": epoch, "best_epoch": best_epoch, "best_valid_rank_ic": float(best_ic),
               "n_train_days": len(train), "n_valid_days": len(valid),
               "seconds": float(sum(r["seconds"] for r in rows))}
    if multi:
        summary["best_valid_factor_corr"] = float(best_row["valid_factor_corr"])
    if checkpoint_path is not None:
        checkpoint_path.parent.mkdir(parents=True, exist_ok=True)
        _atomic_save({"model_args": model_args, "state_dict": best_state, "seed": seed, **record,
                      "train_cfg": identity["train_cfg"], "summary": summary, "log": rows}, checkpoint_path)
        partial.unlink(missing_ok=True)
    return model, summary


@torch.no_grad()
def predict(model: FactorGRU, source: WindowSource, batches: Iterable[DayBatch]) -> list[tuple[np.ndarray, np.ndarray]]:
    """(prediction [n], units [n, K]) per day batch; batch norms use that day's statistics."""
    model.eval()
    out = []
    for b in batches:
        prediction, units = model(source.gather(b.day, b.stocks))
        out.append((prediction.cpu().numpy(), units.cpu().numpy()))
    return out


def write_predictions(path, dates: np.ndarray, codes: np.ndarray, batches: Iterable[DayBatch], outputs,
                      multi: bool) -> None:
    """Per-seed prediction parquet: date (date32), code (str), prediction (float32)[, unit_kk …]."""
    day_idx = np.concatenate([np.full(len(b.stocks), b.day) for b in batches]) if batches else np.zeros(0, int)
    stock_idx = np.concatenate([b.stocks.cpu().numpy() for b in batches]) if batches else np.zeros(0, int)
    columns = {
        "date": pa.array(dates[day_idx].astype("datetime64[D]"), type=pa.date32()),
        "code": pa.array(codes[stock_idx].astype(str), type=pa.string()),
        "prediction": pa.array(np.concatenate([p for p, _ in outputs]) if outputs else np.zeros(0, np.float32),
                               type=pa.float32()),
    }
    if multi and outputs:
        units = np.concatenate([u for _, u in outputs])
        for k in range(units.shape[1]):
            columns[f"unit_{k:02d}"] = pa.array(units[:, k], type=pa.float32())
    with atomic_file(path) as tmp:
        pq.write_table(pa.table(columns), tmp)


def train_and_predict(features: Panel | str | Path, labels: Panel | str | Path, dataset: str, model: str,
                      year: int, seed: int, cfg: dict, predictions_path, log_path, checkpoint_path,
                      threads: int = 1) -> dict:
    """Train one (dataset, model, test year, seed) and predict its test year (SPEC §5). The panels
    may be given as folders: then the labels are read first and released (`load_training_data`).

    Writes the prediction parquet, the epoch log CSV and the checkpoint; returns the summary.
    """
    if model not in ("uni", "multi"):
        raise ValueError(f"unknown model {model!r} (expected uni or multi)")
    torch.set_num_threads(threads)
    tcfg, window = cfg["train"], int(cfg["features"]["window"])
    device = resolve_device(tcfg["device"])
    if device.type == "cpu":
        torch.use_deterministic_algorithms(True, warn_only=True)
    data = load_training_data(features, labels, dataset, year, tcfg, window, device)
    features, train, valid, test = data.features, data.train, data.valid, data.test
    source = WindowSource(features, window, device)
    model_args = model_arguments(tcfg, len(features.features), model)
    record = {"dataset": dataset, "model": model, "year": year, "config": cfg, "fingerprint": data.fingerprint}
    log.info("%s/%s/%d seed %d: %d train, %d valid, %d test days on %s", dataset, model, year, seed,
             len(train), len(valid), len(test), device)
    net, summary = train_one(source, train, valid, model_args, tcfg, seed, log_path=log_path,
                             checkpoint_path=checkpoint_path, record=record)
    write_predictions(predictions_path, features.dates, features.codes, test, predict(net, source, test),
                      multi=model == "multi")
    summary.update(dataset=dataset, model=model, year=year, seed=seed, n_test_days=len(test))
    return summary


_SEED_NAME = re.compile(r"seed(\d+)\.parquet$")


def average_seeds(prediction_paths: list, dates, codes, model: str) -> Panel:
    """Factor panel over `dates` × `codes`: factor = mean over seeds of the prediction (NaN where no
    seed predicted); for multi also every seed's units as "seed{s}_unit_{kk}". Files of several
    test years are simply stacked (each covers its own year's days). `dates=None` takes the days
    present in the files (the test period), which keeps a full-market multi panel small enough."""
    codes = np.asarray(codes, dtype=str)
    by_seed: dict[int, list[pd.DataFrame]] = {}
    for path in prediction_paths:
        m = _SEED_NAME.search(str(path))
        if m is None:
            raise ValueError(f"{path}: prediction file name must end in seed<number>.parquet")
        by_seed.setdefault(int(m.group(1)), []).append(pd.read_parquet(path))
    seeds = sorted(by_seed)
    frames = {s: pd.concat(by_seed[s], ignore_index=True) for s in seeds}
    if dates is None:
        dates = np.unique(np.concatenate([f["date"].to_numpy().astype("datetime64[D]") for f in frames.values()]))
    dates = np.asarray(dates, dtype="datetime64[D]")
    unit_cols = []
    if model == "multi" and seeds:
        unit_cols = sorted(c for c in frames[seeds[0]].columns if c.startswith("unit_"))
        if not unit_cols:
            raise ValueError(f"multi predictions {prediction_paths[0]} have no unit_kk columns")
    names = ["factor"] + [f"seed{s}_{c}" for s in seeds for c in unit_cols]
    values = np.full((len(dates), len(codes), len(names)), np.nan, dtype=np.float32)
    total = np.zeros((len(dates), len(codes)))
    count = np.zeros((len(dates), len(codes)), dtype=np.int32)
    code_index = pd.Index(codes)
    for j, s in enumerate(seeds):
        df = frames[s]
        di = np.searchsorted(dates, df["date"].to_numpy().astype("datetime64[D]"))
        di_ok = (di < len(dates)) & (dates[np.minimum(di, len(dates) - 1)] == df["date"].to_numpy().astype("datetime64[D]"))
        ci = code_index.get_indexer(df["code"].astype(str))
        bad = ~di_ok | (ci < 0)
        if bad.any():
            raise ValueError(f"seed {s} predictions have dates/codes outside the panel, e.g. "
                             f"{df.loc[bad, ['date', 'code']].head(3).to_dict('records')}")
        if pd.Series(di * len(codes) + ci).duplicated().any():
            raise ValueError(f"seed {s} predictions repeat a (date, code) pair")
        p = df["prediction"].to_numpy(np.float64)
        ok = np.isfinite(p)
        total[di[ok], ci[ok]] += p[ok]
        count[di[ok], ci[ok]] += 1
        for k, c in enumerate(unit_cols):
            values[di, ci, 1 + j * len(unit_cols) + k] = df[c].to_numpy(np.float32)
    values[:, :, 0] = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return Panel(dates=dates, codes=codes, features=names, values=values,
                 attrs={"model": model, "seeds": seeds})
