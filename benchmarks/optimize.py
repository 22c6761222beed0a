"""Time the weekly enhancement optimiser at full-market size (issue 8: ≤ 1 s per week on 2 cores).

One portfolio over 5,000 stocks, ~40 factors (simulated exposures X, factor covariance F,
specific variances D), a benchmark of 500 names, every constraint on (`member80`, turnover,
styles, industries, TE, name cap, limit-up / limit-down / suspended names). Prints the first
build + solve time and the median (parameter update + solve) time over the following weeks.

    python benchmarks/optimize.py --threads 2 --weeks 6
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

from repro.risk import RiskSnapshot


def simulated_snapshot(codes, n_styles: int, n_industries: int, rng) -> RiskSnapshot:
    """Country + industries (0/1 dummies) + standardised styles, a random factor covariance
    (daily vols ≈ 1% country, 0.5% industries, 0.3% styles) and specific vols ≈ 2% a day."""
    N = len(codes)
    styles = [f"style{k}" for k in range(n_styles)]
    inds = [f"ind{k}" for k in range(n_industries)]
    X = np.zeros((N, 1 + n_industries + n_styles))
    X[:, 0] = 1.0
    X[np.arange(N), 1 + rng.integers(0, n_industries, N)] = 1.0
    X[:, 1 + n_industries:] = rng.normal(size=(N, n_styles))
    vol = np.r_[0.01, np.full(n_industries, 0.005), np.full(n_styles, 0.003)]
    A = rng.normal(size=(len(vol), len(vol)))
    C = A @ A.T / len(vol) + np.eye(len(vol))
    corr = C / np.sqrt(np.outer(np.diag(C), np.diag(C)))
    cov = corr * np.outer(vol, vol)
    spec = (0.02 * rng.uniform(0.5, 1.5, N)) ** 2
    return RiskSnapshot("sim", np.asarray(codes), ["country"] + inds + styles, styles, inds, X, cov, spec)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stocks", type=int, default=5000)
    ap.add_argument("--styles", type=int, default=8)
    ap.add_argument("--industries", type=int, default=31)
    ap.add_argument("--bench", type=int, default=500)
    ap.add_argument("--weeks", type=int, default=6)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--constraint", default="member80", choices=["free", "member80"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--backend", default="clarabel", choices=["clarabel", "cvxpy"])
    ap.add_argument("--solver-opts", default="{}",
                    help='Clarabel settings as JSON, e.g. \'{"direct_solve_method": "faer"}\'')
    args = ap.parse_args()
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "RAYON_NUM_THREADS"):
        os.environ[var] = str(args.threads)

    from repro.enhance.config import EnhanceConfig
    from repro.enhance.optimizer import WeeklyOptimizer, WeekInputs

    rng = np.random.default_rng(args.seed)
    N = args.stocks
    codes = np.array([f"{i:06d}" for i in range(N)])
    snap = simulated_snapshot(codes, args.styles, args.industries, rng)
    cfg = EnhanceConfig(backend=args.backend, solver_opts=json.loads(args.solver_opts))
    t0 = time.perf_counter()
    opt = WeeklyOptimizer(codes, "csi500", args.constraint, cfg, snap.factor_names, snap.style_names,
                          snap.industry_names)
    t_build = time.perf_counter() - t0
    members = rng.choice(N, args.bench, replace=False)
    wb = np.zeros(N)
    wb[members] = rng.dirichlet(np.full(args.bench, 2.0))
    w_prev = np.zeros(N)
    eligible = rng.random(N) < 0.95  # the universe: 95% of the codes, churning 0.2% a week
    times, statuses = [], []
    for week in range(args.weeks + 1):
        snap = simulated_snapshot(codes, args.styles, args.industries, rng)
        susp = rng.random(N) < 0.01
        up = rng.random(N) < 0.01
        down = rng.random(N) < 0.01
        inputs = WeekInputs(alpha=rng.normal(size=N), w_prev=w_prev, w_bench=wb,
                            eligible=eligible.copy(), can_buy=~susp & ~up, can_sell=~susp & ~down,
                            first=week == 0)
        t0 = time.perf_counter()
        sol = opt.solve(snap, inputs)
        times.append(time.perf_counter() - t0)
        statuses.append(sol.diagnostics["status"])
        w_prev = sol.weights * (1 + rng.normal(0, 0.02, N))  # a week of drift
        w_prev /= w_prev.sum()
        flip = rng.random(N) < 0.002
        eligible[flip] = ~eligible[flip]
    print(f"stocks {N}, factors {len(snap.factor_names)} ({args.styles} styles, {args.industries} industries + "
          f"country), bench {args.bench}, constraint {args.constraint}, backend {args.backend} "
          f"{args.solver_opts}, threads {args.threads}")
    print(f"problem construction: {t_build:.2f} s; first week (cvxpy: canonicalisation; + solve): {times[0]:.2f} s")
    print(f"weekly update + solve: median {np.median(times[1:]):.3f} s over {args.weeks} weeks "
          f"(min {min(times[1:]):.3f}, max {max(times[1:]):.3f}); statuses {sorted(set(statuses))}")


if __name__ == "__main__":
    main()
