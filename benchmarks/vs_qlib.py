"""Side by side with qlib's GRU (`qlib.contrib.model.pytorch_gru_ts`): sequences per second of
training and of inference on the same random panel, window and hidden size, in one run.

qlib's side is its own code: `GRU.train_epoch` (its training step: forward of `GRUModel` =
nn.GRU + Linear(H→1), its masked MSE, backward, `clip_grad_value_(3.0)`, Adam) over a loader of
day batches in its layout (features and label in one [n, T, F + 1] tensor, a weight per row),
and, for inference, `GRUModel` under `torch.no_grad()` batch by batch as its `predict` does.
Ours: `repro.training.training_step` of the uni FactorGRU (same H, one layer, no dropout) over the
same days, and `repro.predict.predict` (all days of the split in one segmented forward). Both
read the same pre-gathered day windows; each side's model is its own (ours adds the per-day batch
norm of SPEC §4). `--repeats` interleaved rounds; medians; CPU clock by default (a busy shared
machine's preemption then counts for neither side), `--clock wall` for wall time.

Needs the optional `bench` extra (`pip install pyqlib`; only `qlib.contrib.model.pytorch_gru_ts`
is imported, so `pip install --no-deps pyqlib ruamel.yaml pydantic-settings python-dotenv redis
dill python-redis-lock` is enough for this script).

    python benchmarks/vs_qlib.py                                   # demo: 225 × T 10 × F 6, H 32
    python benchmarks/vs_qlib.py --stocks 4500 --window 40 --hidden 64 --days 2 --repeats 3
"""
from __future__ import annotations

import argparse
import logging
import statistics
import time

import torch

from repro.day_batches import DayBatch
from repro.model import FactorGRU
from repro.predict import predict
from repro.training import make_optimiser, set_up_process, training_step


class _Pregathered:
    """A stand-in WindowSource whose day windows are already gathered (day i → xs[i])."""

    def __init__(self, xs):
        self.xs = xs

    def gather(self, day, stocks):
        return self.xs[day]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--stocks", type=int, default=225)
    p.add_argument("--window", type=int, default=10)
    p.add_argument("--features", type=int, default=6)
    p.add_argument("--hidden", type=int, default=32)
    p.add_argument("--days", type=int, default=20, help="day batches per timed epoch")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--clock", choices=["cpu", "wall"], default="cpu")
    a = p.parse_args()
    from qlib.contrib.model.pytorch_gru_ts import GRU  # the optional `bench` extra
    logging.getLogger("qlib").setLevel(logging.WARNING)

    set_up_process(a.threads)  # as a training job: threads, determinism, allocator (both sides)
    n, t, f, h = a.stocks, a.window, a.features, a.hidden
    gen = torch.Generator().manual_seed(0)
    xs = [torch.randn(n, t, f, generator=gen) for _ in range(a.days)]
    ys = [torch.randn(n, generator=gen) for _ in range(a.days)]
    ys = [(y - y.mean()) / y.std(unbiased=False) for y in ys]

    qlib_model = GRU(d_feat=f, hidden_size=h, num_layers=1, dropout=0.0, n_epochs=1, lr=1e-3, batch_size=n,
                     GPU=-1, seed=0)
    qlib_loader = [(torch.cat([x, y[:, None, None].expand(n, t, 1)], 2), torch.ones(n)) for x, y in zip(xs, ys)]

    torch.manual_seed(0)
    ours = FactorGRU(f, hidden=h, n_factors=1, dropout=0.0)
    opt = make_optimiser(ours, 1e-3)
    source = _Pregathered(xs)
    batches = [DayBatch(i, torch.arange(n), None, None) for i in range(a.days)]

    def qlib_train():
        qlib_model.train_epoch(qlib_loader)

    def qlib_infer():
        qlib_model.GRU_model.eval()
        with torch.no_grad():
            for data, _ in qlib_loader:
                qlib_model.GRU_model(data[:, :, :-1].float())

    def ours_train():
        ours.train()
        for x, y in zip(xs, ys):
            training_step(ours, opt, x, y, 0.0, 3.0)

    def ours_infer():
        predict(ours, source, batches, rows=n * a.days)  # all days in one forward

    modes = {"qlib train": qlib_train, "ours train": ours_train, "qlib infer": qlib_infer, "ours infer": ours_infer}
    clock = time.process_time if a.clock == "cpu" else time.perf_counter
    for fn in modes.values():
        fn()  # warm-up
    times = {m: [] for m in modes}
    for _ in range(a.repeats):
        for m, fn in modes.items():
            start = clock()
            fn()
            times[m].append(clock() - start)
    seqs = n * a.days
    rate = {m: seqs / statistics.median(v) for m, v in times.items()}
    print(f"{n} stocks x T {t} x F {f}, H {h}, {a.days} day batches, {a.threads} threads, {a.clock} clock, "
          f"median of {a.repeats} interleaved rounds; torch {torch.__version__}")
    for m in modes:
        print(f"  {m:>11}: {rate[m]:12,.0f} sequences/s")
    print(f"  ours / qlib: training {rate['ours train'] / rate['qlib train']:.2f}x, "
          f"inference {rate['ours infer'] / rate['qlib infer']:.2f}x")


if __name__ == "__main__":
    main()
