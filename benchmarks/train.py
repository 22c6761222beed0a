"""Training throughput and memory at full A-share scale (random data; SPEC §4–§5 model).

Writes a random feature panel and labels panel to a temporary folder, streamed so that this
process never holds them while writing: `--stocks` × (T − 1 + 12 years × 243 days) × F float32
(defaults 4,500 × 2,955 × 6 ≈ 319 MB: 10 training years, a validation year and a test year, as
one job of the rolling scheme reads). Then it runs exactly what a training job runs:
`repro.day_batches.load_training_data` (labels first, memory-mapped, reduced to the day batches of
every split, released; then the feature panel), `WindowSource`, and `train_epoch` over a random
subsample of `--sample-days` of the ≈ 2,420 training days (a full epoch takes half an hour on a
CPU; the per-day cost is what matters, while the day batches of the whole split are held).
Prints:
  (a) peak RSS growth over the RSS after imports, against the feature panel's bytes (target ≤ 2×);
  (b) epoch time ÷ pure forward+backward+step time on the same days' pre-gathered tensors
      (target ≤ 1.15: building day batches, gathering windows and the loop add little);
  (c) sequences (stock-day windows) per second in training.

    python benchmarks/train.py --sample-days 4 --threads 2
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from memory import peak_rss_mb, rss_mb  # benchmarks/memory.py

from repro.model import FactorGRU
from repro.panel import write_meta
from repro.day_batches import load_training_data
from repro.training import make_optimiser, resolve_device, set_up_process, train_epoch, training_step
from repro.windows import WindowSource

DAYS_PER_YEAR = 243




def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def calendar(years: list[int], first_days: int) -> np.ndarray:
    """243 business days per year; `first_days` more at the end of the year before (history)."""
    days = [np.busday_offset(f"{years[0]}-01-01", -np.arange(first_days, 0, -1), roll="forward")]
    days += [np.busday_offset(f"{y}-01-01", np.arange(DAYS_PER_YEAR), roll="forward") for y in years]
    return np.concatenate(days).astype("datetime64[D]")


def write_panel(path: Path, dates, codes, features, attrs, day_chunk) -> int:
    """A Panel folder (values.npy + `repro.panel.write_meta`'s meta.json), values written in
    chunks of days from `day_chunk(start, stop)`, so the whole array is never in memory."""
    path.mkdir(parents=True)
    shape = (len(dates), len(codes), len(features))
    with open(path / "values.npy", "wb") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": "<f4", "fortran_order": False, "shape": shape})
        for start in range(0, shape[0], 64):
            stop = min(start + 64, shape[0])
            f.write(np.ascontiguousarray(day_chunk(start, stop), dtype=np.float32).tobytes())
    write_meta(path, dates, codes, features, attrs)
    return int(np.prod(shape)) * 4


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--stocks", type=int, default=4500)
    p.add_argument("--train-years", type=int, default=10, help="training years (243 days each)")
    p.add_argument("--window", type=int, default=40)
    p.add_argument("--features", type=int, default=6)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--n-factors", type=int, default=1, help="1 = uni head, >1 = multi head")
    p.add_argument("--sample-days", type=int, default=4, help="training days per timed epoch")
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()

    device = resolve_device(args.device)
    set_up_process(args.threads, device)  # as a training job: threads, determinism, allocator
    n, f, t = args.stocks, args.features, args.window
    test_year = 2010 + args.train_years + 1
    dates = calendar(list(range(2010, test_year + 1)), t - 1)
    codes = [f"{i:06d}" for i in range(n)]
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory(prefix="repro-train-bench-") as tmp:
        panel_bytes = write_panel(Path(tmp, "features"), dates, codes, [f"f{i}" for i in range(f)],
                                  {"window_norm": "none"},
                                  lambda a, b: rng.standard_normal((b - a, n, f), dtype=np.float32))

        def label_chunk(a, b):
            y = rng.standard_normal((b - a, n), dtype=np.float32)
            return np.stack([y, y, np.ones_like(y)], axis=-1)  # target, label, sample

        write_panel(Path(tmp, "labels"), dates, codes, ["target", "label", "sample"], {}, label_chunk)
        panel_mb = panel_bytes / 2**20
        # Baseline after torch's runtime is up (thread pools, kernels): a tiny throwaway GRU step.
        warm = FactorGRU(f, hidden=args.hidden).to(device)
        warm(torch.randn(8, t, f, device=device))[0].sum().backward()
        del warm
        base = rss_mb()

        tcfg = {"train_years": args.train_years, "purge_days": 11}
        data = load_training_data(Path(tmp, "features"), Path(tmp, "labels"), "day", test_year, tcfg, t, device)
        rss_loaded = rss_mb()
        peak_loaded = peak_rss_mb()
        source = WindowSource(data.features, t, device)
        held = sum(s.values.nbytes for s in (data.train, data.valid, data.test)) / 2**20

        sample = np.sort(rng.choice(len(data.train), size=args.sample_days, replace=False))
        torch.manual_seed(0)
        model = FactorGRU(f, hidden=args.hidden, n_factors=args.n_factors, dropout=0.1).to(device)
        opt = make_optimiser(model, 1e-3)
        lam = 20.0 if args.n_factors > 1 else 0.0

        train_epoch(model, opt, source, [data.train[sample[0]]], lam, 3.0)  # warm-up (allocator, kernels)
        sync(device)
        start = time.perf_counter()
        train_epoch(model, opt, source, (data.train[i] for i in sample), lam, 3.0)
        sync(device)
        epoch_s = time.perf_counter() - start
        peak_train = peak_rss_mb()

        batches = [data.train[i] for i in sample]
        xs = [source.gather(b.day, b.stocks).contiguous() for b in batches]  # pre-gathered windows
        sync(device)
        start = time.perf_counter()
        model.train()
        for x, b in zip(xs, batches):
            training_step(model, opt, x, b.label, lam, 3.0)
        sync(device)
        pure_s = time.perf_counter() - start

    seqs = sum(len(b.stocks) for b in batches)
    n_days = len(data.train)
    print(f"device {device} ({torch.cuda.get_device_name() if device.type == 'cuda' else f'{args.threads} threads'}),"
          f" torch {torch.__version__}")
    print(f"feature panel {n} stocks x {len(dates)} days x {f} features float32 = {panel_mb:.0f} MiB; "
          f"T = {t}, H = {args.hidden}, K = {args.n_factors}; split {n_days} train / {len(data.valid)} valid / "
          f"{len(data.test)} test days; {len(batches)} sampled training days timed")
    print(f"(a) peak RSS {peak_train:.0f} MiB; RSS after imports {base:.0f} MiB; growth "
          f"{peak_train - base:.0f} MiB = {(peak_train - base) / panel_mb:.2f} x feature panel")
    print(f"    by stage: data loaded {rss_loaded - base:.0f} MiB (peak while loading {peak_loaded - base:.0f}; "
          f"day batches of all splits {held:.0f} MiB = {held / panel_mb:.2f} x), training peak "
          f"{peak_train - base:.0f} MiB (the rest is one day's activations and the allocator)")
    print(f"(b) epoch {epoch_s:.2f} s / pure forward+backward {pure_s:.2f} s = {epoch_s / pure_s:.3f}")
    print(f"(c) {seqs / epoch_s:,.0f} sequences/s in training ({epoch_s / len(batches):.3f} s per day); "
          f"a full epoch of {n_days} days ≈ {epoch_s / len(batches) * n_days / 60:.1f} min")


if __name__ == "__main__":
    main()
