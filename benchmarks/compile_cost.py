"""Cost and gain of torch.compile (the CPU inductor) on the head and loss of a demo-shape step
(dropout → Linear(32→64) → batch norms → MSE + orthogonal penalty, 225 stocks): wall seconds of
the first (compiling) call, then CPU ms per forward + backward, eager against compiled, medians
of 5 interleaved rounds of 200, one thread. A demo training job trains ≈ 2,300 such steps.

    python benchmarks/compile_cost.py
"""
import time, statistics, torch
from repro.model import batch_standardise, factor_loss
torch.set_num_threads(1)
head = torch.nn.Linear(32, 64)
y = torch.randn(225); y = (y - y.mean()) / y.std(unbiased=False)
def head_loss(last, y):
    units = batch_standardise(head(torch.nn.functional.dropout(last, 0.1, True)))
    pred = batch_standardise(units.mean(1, keepdim=True))[:, 0]
    return factor_loss(pred, units, y, 20.0)
last = torch.randn(225, 32, requires_grad=True)
t0 = time.perf_counter()
compiled = torch.compile(head_loss)
compiled(last, y).backward()
print(f"first call (compile) {time.perf_counter() - t0:.1f} s wall")
def t(f, k=200):
    s = time.process_time()
    for _ in range(k): f(last, y).backward()
    return (time.process_time() - s) / k * 1e3
r = {"eager": [], "compiled": []}
for _ in range(5):
    r["eager"].append(t(head_loss)); r["compiled"].append(t(compiled))
print({k: round(statistics.median(v), 3) for k, v in r.items()}, "ms per head+loss fwd+bwd (cpu clock)")
