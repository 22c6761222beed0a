"""One training step of FactorGRU (repro.training.training_step: forward, loss, backward, clip,
Adam) against a plain torch.nn.GRU + Linear step of the same shape (forward, MSE, backward,
clip_grad_value_, Adam), measured INTERLEAVED in one process so that the noise of a shared
machine hits both alike: `--repeats` rounds, each timing `--steps` steps of every mode in turn;
medians of the per-round seconds per step, and their ratio.

Shapes: demo = 225 stocks × T 10 × F 6, H 32, K 64; report = 4,500 × 40 × 6, H 64, K 64.

    python benchmarks/step.py --shape demo --threads 2
    python benchmarks/step.py --shape report --threads 2 --steps 1 --repeats 5
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

from repro.model import FactorGRU
from repro.training import make_optimiser, set_up_process, training_step

SHAPES = {"demo": dict(stocks=225, window=10, features=6, hidden=32, factors=64),
          "report": dict(stocks=4500, window=40, features=6, hidden=64, factors=64)}


def plain_step(gru, head, opt, x, y, clip):
    out = head(gru(x)[0][:, -1])
    loss = ((out - y[:, None]) ** 2).mean()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_value_(list(gru.parameters()) + list(head.parameters()), clip)
    opt.step()
    return loss.detach()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shape", choices=sorted(SHAPES), default="demo")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, default=20, help="steps per mode per round")
    p.add_argument("--repeats", type=int, default=7, help="interleaved rounds")
    p.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                   help="cpu: the process's CPU time (time.process_time), which a preempting neighbour "
                        "on a busy shared machine does not inflate; meaningful with --threads 1")
    a = p.parse_args()
    s = SHAPES[a.shape]
    set_up_process(a.threads)  # as a training job: threads, allocator
    torch.manual_seed(0)
    x = torch.randn(s["stocks"], s["window"], s["features"])
    y = torch.randn(s["stocks"])
    label = (y - y.mean()) / y.std(unbiased=False)
    gru = torch.nn.GRU(s["features"], s["hidden"], batch_first=True)
    head = torch.nn.Linear(s["hidden"], s["factors"])
    plain_opt = torch.optim.Adam(list(gru.parameters()) + list(head.parameters()), lr=1e-3)
    model = FactorGRU(s["features"], hidden=s["hidden"], n_factors=s["factors"], dropout=0.1)
    opt = make_optimiser(model, 1e-3)
    modes = {
        "plain nn.GRU": lambda: plain_step(gru, head, plain_opt, x, y, 3.0),
        "FactorGRU": lambda: training_step(model, opt, x, label, 20.0, 3.0),
    }
    for step in modes.values():  # warm-up: allocator, kernels, Adam state
        step()
    clock = time.process_time if a.clock == "cpu" else time.perf_counter
    times = {m: [] for m in modes}
    for _ in range(a.repeats):
        for m, step in modes.items():
            start = clock()
            for _ in range(a.steps):
                step()
            times[m].append((clock() - start) / a.steps)
    med = {m: statistics.median(t) for m, t in times.items()}
    print(f"{a.shape}: {s['stocks']} stocks x T {s['window']} x F {s['features']}, H {s['hidden']}, "
          f"K {s['factors']}; {a.threads} threads, torch {torch.__version__}; {a.clock} clock, "
          f"median of {a.repeats} interleaved rounds of {a.steps} steps")
    for m in modes:
        print(f"  {m:>14}: {med[m] * 1000:9.2f} ms per step  (rounds: "
              + ", ".join(f"{t * 1000:.1f}" for t in times[m]) + ")")
    print(f"  speed-up FactorGRU vs plain nn.GRU: {med['plain nn.GRU'] / med['FactorGRU']:.2f}x")


if __name__ == "__main__":
    main()
