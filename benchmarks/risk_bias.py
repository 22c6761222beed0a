"""Validation figures of the risk model (repro.risk) on the embedded synthetic market: bias
statistics of every factor and of 100 seeded random long-only portfolios over a test period
(docs/benchmarks.md, "Risk model"). Not a timing benchmark; it prints the figures the issue asks
for (random portfolios within [0.8, 1.2]) and writes the table and figure.

    python benchmarks/risk_bias.py                                  # config/config.yaml's synthetic market
    python benchmarks/risk_bias.py --eigen-sims 0 --out /tmp/no_eigen   # without the eigen adjustment
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import yaml

from repro.risk import RiskConfig, RiskModel, bias_statistics, plot_bias
from repro.synth.bars import daily_market


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default="config/config.yaml", help="its `synthetic` and `evaluate` sections")
    p.add_argument("--eigen-sims", type=int, default=None, help="override RiskConfig.eigen_sims")
    p.add_argument("--out", default="risk_bias", help="folder for risk_bias.csv and risk_bias.png")
    args = p.parse_args()
    cfg_all = yaml.safe_load(Path(args.config).read_text())
    syn, ev = cfg_all["synthetic"], cfg_all["evaluate"]
    market = daily_market(syn)
    cfg = RiskConfig() if args.eigen_sims is None else RiskConfig(eigen_sims=args.eigen_sims)
    t0 = time.perf_counter()
    model = RiskModel.estimate(market, cfg)
    df = bias_statistics(model, market, start=ev["start"], end=ev["end"], n_random=100, seed=0)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    df.to_csv(out / "risk_bias.csv", index=False)
    plot_bias(df, out / "risk_bias.png")
    rand = df[df["kind"] == "random"]["bias"]
    fac = df[df["kind"] == "factor"].set_index("name")["bias"]
    n_obs = int(df["n_obs"].iloc[0])
    print(f"market: {syn['n_stocks']} stocks, {syn['start']}..{syn['end']}, seed {syn['seed']}; "
          f"test {ev['start']}..{ev['end']} ({n_obs} forecast days, band {df['lower'].iloc[0]:.3f}..{df['upper'].iloc[0]:.3f}); "
          f"eigen_sims {cfg.eigen_sims}; {time.perf_counter() - t0:.0f} s")
    print(f"random portfolios: median {rand.median():.3f}, min {rand.min():.3f}, max {rand.max():.3f}, "
          f"{((rand >= 0.8) & (rand <= 1.2)).sum()}/{len(rand)} within [0.8, 1.2]")
    print("styles: " + ", ".join(f"{n} {fac[n]:.3f}" for n in model.style_names))
    ind = fac[[n for n in fac.index if n.startswith("ind_")]]
    print(f"country {fac['country']:.3f}; industries median {ind.median():.3f}, min {ind.min():.3f}, max {ind.max():.3f}")
    print(f"wrote {out / 'risk_bias.csv'} and {out / 'risk_bias.png'}")


if __name__ == "__main__":
    main()
