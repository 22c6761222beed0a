"""Training throughput and memory at full A-share scale (random data; SPEC §4–§5 model).

Panel: `--stocks` × (`--days` + T) × F float32 (defaults 4,500 × 2,470 × 6 ≈ 267 MB) plus a
labels panel. One epoch runs over a random subsample of `--sample-days` training days (the full
2,430 days per epoch would take hours on a CPU; per-day cost is what matters). Prints:
  (a) peak RSS against the feature panel's bytes (target ≤ 2× above the post-import baseline);
  (b) epoch time ÷ pure forward+backward+step time on the same days' pre-gathered tensors
      (target ≤ 1.15: window gathering and the loop add little);
  (c) sequences (stock-day windows) per second in training.

    python benchmarks/train.py --sample-days 6 --threads 2
"""
from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import torch

from repro.model import FactorGRU, factor_loss
from repro.panel import Panel
from repro.training import day_batches, resolve_device, train_epoch
from repro.windows import WindowSource


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--stocks", type=int, default=4500)
    p.add_argument("--days", type=int, default=2430, help="training days (the panel has window more)")
    p.add_argument("--window", type=int, default=40)
    p.add_argument("--features", type=int, default=6)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--n-factors", type=int, default=1, help="1 = uni head, >1 = multi head")
    p.add_argument("--sample-days", type=int, default=6, help="training days per timed epoch")
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--checkpoint-segments", type=int, default=0,
                   help="train.checkpoint_segments: GRU gradient checkpointing over n time segments")
    args = p.parse_args()

    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    # Baseline after torch's runtime is up (thread pools, kernels): a tiny throwaway GRU step.
    warm = FactorGRU(args.features, hidden=args.hidden).to(device)
    warm(torch.randn(8, args.window, args.features, device=device))[0].sum().backward()
    del warm
    base = rss_mb()
    d, n, f, t = args.days + args.window, args.stocks, args.features, args.window
    rng = np.random.default_rng(0)
    values = rng.standard_normal((d, n, f), dtype=np.float32)
    dates = np.datetime64("2010-01-04") + np.arange(d)
    codes = [f"{i:06d}" for i in range(n)]
    features = Panel(dates, codes, [f"f{i}" for i in range(f)], values, {"window_norm": "none"})
    label_values = np.ones((d, n, 3), np.float32)  # target, label, sample (filled day by day)
    for i in range(d):
        label_values[i, :, 0] = label_values[i, :, 1] = rng.standard_normal(n, dtype=np.float32)
    labels = Panel(dates, codes, ["target", "label", "sample"], label_values)
    panel_mb = values.nbytes / 2**20

    rss_panels = rss_mb()
    source = WindowSource(features, t, device)
    days = np.sort(rng.choice(np.arange(t - 1, d), size=args.sample_days, replace=False))
    batches = day_batches(labels, days, device, with_label=True)
    rss_ready = rss_mb()
    torch.manual_seed(0)
    model = FactorGRU(f, hidden=args.hidden, n_factors=args.n_factors, dropout=0.1,
                      checkpoint_segments=args.checkpoint_segments).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    lam = 20.0 if args.n_factors > 1 else 0.0

    train_epoch(model, opt, source, batches[:1], lam, 3.0)  # warm-up (allocator, kernels)
    sync(device)
    start = time.perf_counter()
    train_epoch(model, opt, source, batches, lam, 3.0)
    sync(device)
    epoch_s = time.perf_counter() - start
    peak_train = peak_rss_mb()

    xs = [source.gather(b.day, b.stocks).contiguous() for b in batches]  # pre-gathered windows
    sync(device)
    start = time.perf_counter()
    model.train()
    for x, b in zip(xs, batches):
        prediction, units = model(x)
        loss = factor_loss(prediction, units, b.label, lam)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_value_(model.parameters(), 3.0)
        opt.step()
    sync(device)
    pure_s = time.perf_counter() - start

    seqs = sum(len(b.stocks) for b in batches)
    print(f"device {device} ({torch.cuda.get_device_name() if device.type == 'cuda' else f'{args.threads} threads'}),"
          f" torch {torch.__version__}")
    print(f"panel {n} stocks x {d} days x {f} features float32 = {panel_mb:.0f} MiB (+ labels "
          f"{labels.values.nbytes / 2**20:.0f} MiB); T = {t}, H = {args.hidden}, K = {args.n_factors}; "
          f"{len(batches)} sampled training days; checkpoint segments {args.checkpoint_segments}")
    print(f"(a) peak RSS during training {peak_train:.0f} MiB; RSS after imports {base:.0f} MiB; "
          f"growth {peak_train - base:.0f} MiB = {(peak_train - base) / panel_mb:.2f} x feature panel")
    print(f"    RSS growth by stage: panels built {rss_panels - base:.0f} MiB, window source and day "
          f"batches ready {rss_ready - base:.0f} MiB, training peak {peak_train - base:.0f} MiB "
          f"(the rest is one day's activations for backward)")
    print(f"(b) epoch {epoch_s:.2f} s / pure forward+backward {pure_s:.2f} s = {epoch_s / pure_s:.3f}")
    print(f"(c) {seqs / epoch_s:,.0f} sequences/s in training ({epoch_s / len(batches):.3f} s per day); "
          f"a full epoch of {args.days} days ≈ {epoch_s / len(batches) * args.days / 60:.1f} min")


if __name__ == "__main__":
    main()
