"""torch.nn.GRU against repro.gru_cpu's memory-lean GRU layer on a CPU: one training step.

FactorGRU runs nn.GRU's weights through its own kernels (`repro.gru_cpu`; here through the
autograd function `GRULayer`) on a CPU, because nn.GRU keeps every step's gate tensors for
backward. This measures that choice:
each mode runs in its own child process (so peak RSS is its own), does one warm-up step and
`--steps` timed steps of GRU → Linear → batch norm → MSE, backward, Adam, and prints seconds
per step and peak RSS growth over the RSS after imports.

    python benchmarks/gru_cpu.py --threads 2                            # 4,500 stocks, T = 40, H = 64
    python benchmarks/gru_cpu.py --stocks 225 --window 10 --hidden 32 --steps 200   # demo scale
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time

from memory import peak_rss_mb, rss_mb  # benchmarks/memory.py


def child(mode: str, stocks: int, window: int, hidden: int, steps: int, threads: int) -> None:
    import torch

    from repro.model import FactorGRU, batch_standardise

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = FactorGRU(6, hidden=hidden, dropout=0.0)
    opt = torch.optim.Adam(model.parameters())
    x, y = torch.randn(stocks, window, 6), torch.randn(stocks)

    def step():
        last = model.gru(x)[0][:, -1] if mode == "nn.GRU" else model._last_output(x)
        loss = ((batch_standardise(model.head(last))[:, 0] - y) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()

    base = rss_mb()
    step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    seconds = (time.perf_counter() - start) / steps
    peak = peak_rss_mb() - base
    print(f"{mode:>10}: {seconds * 1000:9.2f} ms per step, peak RSS growth {peak:6.0f} MiB")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--stocks", type=int, default=4500)
    p.add_argument("--window", type=int, default=40)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--steps", type=int, default=4)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--child", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child:
        child(a.child, a.stocks, a.window, a.hidden, a.steps, a.threads)
        return
    print(f"one day of {a.stocks} stocks, T = {a.window}, F = 6, H = {a.hidden}, {a.threads} threads; "
          f"input {a.stocks * a.window * 6 * 4 / 2**20:.1f} MiB")
    for mode in ("nn.GRU", "lean"):
        subprocess.run([sys.executable, __file__, "--child", mode] + [
            f"--{k}={v}" for k, v in dict(stocks=a.stocks, window=a.window, hidden=a.hidden,
                                          steps=a.steps, threads=a.threads).items()], check=True)


if __name__ == "__main__":
    main()
