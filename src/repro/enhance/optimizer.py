"""The weekly index-enhancement optimiser (report §4.1; SPEC §7).

maximise  αᵀw − c_buy·Σ buy − c_sell·Σ sell,   w = w_prev + buy − sell,  buy, sell ≥ 0
s.t.      Σ w = 1, lo ≤ w ≤ hi                      (long-only, name cap, trading rules)
          f = Xᵀ(w − w_b)                            (active factor exposures, K)
          |f_style| ≤ style_bound,  |f_industry| ≤ industry_band
          ‖[Lᵀf ; √D ⊙ (w − w_b)]‖₂ ≤ TE_annual / √252   (factor-form tracking error; no N×N)
          Σ buy ≤ turnover_cap                       (waived on the first build)
          Σ_{i ∈ index} w_i ≥ member_share           (`member80` only)

The bounds encode the trading rules per stock, recomputed each week [D]:
- lo_i = w_prev,i when i cannot be sold (suspended or at limit-down), else 0;
- hi_i = max(w_b,i + name_cap, lo_i) when i is eligible (in the universe, with a score and a
  risk-model row) and can be bought; otherwise hi_i = lo_i (cannot be bought: suspended or at
  limit-up keeps at most its old weight if it cannot be sold, and a sellable name outside the
  universe is sold: upper bound 0; a buyable-but-held name at limit-up keeps hi_i = w_prev,i).
So a suspended name keeps w_i = w_prev,i, a limit-up name is never bought, a limit-down name
never sold, and a name outside the universe with w_prev = 0 stays at 0.

The problem is built once per portfolio over a fixed stock axis (all codes of the market) and
re-solved each week with that week's data: `backend="clarabel"` (default) assembles Clarabel's
conic data directly in O(N·K) (`repro.enhance.conic`); `backend="cvxpy"` is the same problem
with cvxpy Parameters (DPP, canonicalisation cached; `repro.enhance.dpp`), the readable
reference the fast path is tested against, practical up to ~1,000 stocks. When the
week is infeasible or the solver fails, an elastic copy is solved with non-negative slacks on
the soft-able constraints, each measured relative to its bound and penalised by
`EnhanceConfig.penalties()` (relax_order: turnover, then TE, styles, industries, the member
share, the name cap; each 10× dearer than the previous). Trading rules, long-only and full
investment are never relaxed.

Diagnostics of each week (`WeekSolution.diagnostics`, one row of diagnostics.csv): status
(optimal | relaxed: slacks used | elastic: the strict solve failed numerically and the elastic
one needed no slack | failed: both failed, weights held), solver_status, solve_time_s (data
assembly + solves), slack_{turnover,te,style,industry,member,cap} (largest relative slack),
relaxed (the slacks used, in relax order), ex_ante_te (annualised, on the final weights),
turnover (Σ max(w − w_prev, 0)), constituent_share, n_holdings (w ≥ 1e-6), n_eligible,
max_violation and max_violation_constraint (of the strict constraints, measured after the
solve on the final weights, each in its own units: weight, std units, annualised TE).
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np

from .config import EnhanceConfig
from .conic import ConicProblem
from .dpp import DppProblem

log = logging.getLogger(__name__)

_SLACK_TOL = 1e-6  # a relative slack above this counts as used
_ZERO = 1e-9  # weights below this (and not pinned by a trading rule) are set to 0


@dataclass
class WeekInputs:
    """One week's data on the optimiser's stock axis (all arrays [N])."""

    alpha: np.ndarray  # score of the signal day; NaN = no score
    w_prev: np.ndarray  # drifted weights at the signal day's close (0 before the first build)
    w_bench: np.ndarray  # benchmark weights at the signal day's close, summing to 1
    eligible: np.ndarray  # bool: may be held (universe, score and risk-model row)
    can_buy: np.ndarray  # bool: not suspended, not at limit-up on the trade day
    can_sell: np.ndarray  # bool: not suspended, not at limit-down on the trade day
    first: bool = False  # the first build: no turnover limit


@dataclass
class WeekSolution:
    weights: np.ndarray  # [N] target weights after the trade, summing to 1
    diagnostics: dict


def zscore_alpha(score: np.ndarray, eligible: np.ndarray, scale: float) -> np.ndarray:
    """α: the score z-scored over the eligible names (population std) × scale; 0 elsewhere."""
    x = np.asarray(score, dtype=np.float64)
    ok = eligible & np.isfinite(x)
    out = np.zeros(len(x))
    if ok.sum() >= 2:
        sd = x[ok].std()
        if sd > 0:
            out[ok] = (x[ok] - x[ok].mean()) / sd * scale
    return out


class WeeklyOptimizer:
    """One enhanced portfolio (index × constraint set) over a fixed stock axis `codes`.

    `factor_names`, `style_names` and `industry_names` fix the risk model's factor order; every
    snapshot passed to `solve` must carry the same names. With no industry names (qlib data)
    the industry constraint is left out (logged).
    """

    def __init__(self, codes, index: str, constraint: str, config: EnhanceConfig,
                 factor_names, style_names, industry_names):
        if constraint not in ("free", "member80"):
            raise ValueError(f"enhance constraint {constraint!r}: expected 'free' or 'member80'")
        self.codes = np.asarray(codes).astype(str)
        self.pos = {c: i for i, c in enumerate(self.codes)}
        self.index, self.constraint, self.cfg = index, constraint, config
        self.factor_names = list(factor_names)
        missing = [n for n in list(style_names) + list(industry_names) if n not in self.factor_names]
        if missing:
            raise ValueError(f"risk model: style/industry names {missing} not in factor_names {self.factor_names}")
        self.style_idx = [self.factor_names.index(n) for n in style_names]
        self.industry_idx = [self.factor_names.index(n) for n in industry_names]
        if not self.industry_idx:
            log.warning("enhance %s/%s: the risk model has no industries; the ±%.0f%% industry "
                        "constraint is left out", index, constraint, 100 * config.industry_band)
        self.te_daily = config.te_daily(index)
        self._build()

    def _build(self):
        self._problems = {}
        self._make(elastic=False)

    def _make(self, elastic: bool):
        if elastic not in self._problems:
            cls = ConicProblem if self.cfg.backend == "clarabel" else DppProblem
            self._problems[elastic] = cls(len(self.codes), len(self.factor_names), self.style_idx,
                                          self.industry_idx, self.constraint == "member80", self.te_daily,
                                          self.cfg, elastic)
        return self._problems[elastic]

    # ---- one week -----------------------------------------------------------------------
    def map_snapshot(self, snapshot):
        """The snapshot's exposures [N, K] and specific variances [N] on the optimiser's axis
        (0 for names the snapshot lacks) and a bool [N] of the names it covers."""
        if list(snapshot.factor_names) != self.factor_names:
            raise ValueError(f"risk snapshot {snapshot.date}: factor_names {list(snapshot.factor_names)} "
                             f"differ from the optimiser's {self.factor_names}")
        codes = np.asarray(snapshot.codes).astype(str)
        idx = np.array([self.pos.get(c, -1) for c in codes], dtype=np.int64)
        if (idx < 0).any():
            raise ValueError(f"risk snapshot {snapshot.date}: codes not in the market, "
                             f"e.g. {codes[idx < 0][:5].tolist()}")
        X = np.zeros((len(self.codes), len(self.factor_names)))
        D = np.zeros(len(self.codes))
        X[idx] = np.asarray(snapshot.exposures, dtype=np.float64)
        D[idx] = np.asarray(snapshot.specific_var, dtype=np.float64)
        covered = np.zeros(len(self.codes), dtype=bool)
        covered[idx] = True
        bad = ~np.isfinite(X).all(axis=1) | ~np.isfinite(D) | (D < 0)
        if bad.any():
            raise ValueError(f"risk snapshot {snapshot.date}: non-finite exposures or negative/NaN specific "
                             f"variance for {int(bad.sum())} names, e.g. {self.codes[bad][:5].tolist()}")
        return X, D, covered

    def bounds(self, week: WeekInputs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(lo, hi, cap_soft) per stock: the trading rules and the name cap (module docstring)."""
        w_prev = week.w_prev
        lo = np.where(week.can_sell, 0.0, w_prev)
        buyable = week.eligible & week.can_buy
        hi = np.where(buyable, np.maximum(week.w_bench + self.cfg.name_cap, lo), lo)
        held_only = ~buyable & week.can_sell & week.eligible  # e.g. limit-up: may keep, not add
        hi = np.where(held_only, np.maximum(w_prev, lo), hi)
        return lo, hi, buyable.astype(np.float64)

    def solve(self, snapshot, week: WeekInputs) -> WeekSolution:
        cfg = self.cfg
        X, D, covered = self.map_snapshot(snapshot)
        eligible = week.eligible & covered & np.isfinite(week.alpha)
        week = WeekInputs(week.alpha, week.w_prev, week.w_bench, eligible, week.can_buy, week.can_sell, week.first)
        lo, hi, cap_soft = self.bounds(week)
        L = np.asarray(snapshot.cov_factor(), dtype=np.float64)
        member = (week.w_bench > 0).astype(np.float64)
        values = {"alpha": zscore_alpha(week.alpha, eligible, cfg.alpha_scale), "w_prev": week.w_prev,
                  "lo": lo, "hi": hi, "cap_soft": cap_soft, "X": X, "xb": X.T @ week.w_bench, "Lt": L.T,
                  "sqrt_d": np.sqrt(D), "sd_wb": np.sqrt(D) * week.w_bench, "member": member,
                  "turn_cap": 2.0 if week.first else cfg.turnover_cap}
        t0 = time.perf_counter()
        status, w, slacks = self._make(False).solve(values)
        kind = "optimal"
        if w is None:
            log.warning("enhance %s/%s %s: strict problem %s; elastic re-solve", self.index, self.constraint,
                        snapshot.date, status)
            status_e, w, slacks = self._make(True).solve(values)
            status = f"{status}; elastic {status_e}"
            kind = "failed" if w is None else ("relaxed" if any(v > _SLACK_TOL for v in slacks.values())
                                               else "elastic")  # elastic: strict failed, no slack needed
        elapsed = time.perf_counter() - t0
        if w is None:
            msg = (f"enhance {self.index}/{self.constraint} {snapshot.date}: strict and elastic solves "
                   f"failed ({status})")
            if cfg.on_failure == "raise":
                raise RuntimeError(msg)
            log.error("%s; holding the drifted weights", msg)
            w = week.w_prev.copy() if week.w_prev.sum() > 0 else week.w_bench.copy()
        else:
            w = self._clean(w, lo, hi)
        diag = {"status": kind, "solver_status": status, "solve_time_s": elapsed}
        used = {k: v for k, v in (slacks or {}).items() if v > _SLACK_TOL}
        for k in cfg.relax_order:
            diag[f"slack_{k}"] = float((slacks or {}).get(k, 0.0))
        diag["relaxed"] = ",".join(k for k in cfg.relax_order if k in used)
        if used:
            log.warning("enhance %s/%s %s: relaxed %s", self.index, self.constraint, snapshot.date,
                        ", ".join(f"{k} by {v:.3g} of its bound" for k, v in used.items()))
        diag.update(self.measure(w, week, X, D, L, lo, hi))
        return WeekSolution(w, diag)

    def _clean(self, w, lo, hi):
        """Clip the solver's weights into [lo, hi], zero the dust, renormalise on the free names."""
        w = np.clip(w, lo, np.maximum(hi, lo))
        pinned = lo > 0
        w[(w < _ZERO) & ~pinned] = 0.0
        free = (w > 0) & (hi > lo)
        gap = 1.0 - w.sum()
        if free.any() and abs(gap) > 0:
            w[free] *= 1.0 + gap / w[free].sum()
        return w

    def measure(self, w, week: WeekInputs, X, D, L, lo, hi) -> dict:
        """Ex-ante TE (annualised), turnover, constituent share and the largest violation of
        the strict constraints, measured on the final weights."""
        cfg = self.cfg
        d = w - week.w_bench
        f = X.T @ d
        te_daily = float(np.sqrt(np.sum((L.T @ f) ** 2) + np.sum(D * d * d)))
        turnover = float(np.clip(w - week.w_prev, 0, None).sum())
        share = float(w[week.w_bench > 0].sum())
        viol = {"bounds": float(max(np.max(lo - w), np.max(w - np.maximum(hi, lo)), 0.0)),
                "budget": abs(float(w.sum()) - 1.0),
                "te": max(te_daily - self.te_daily, 0.0) * np.sqrt(cfg.periods_per_year),
                "turnover": 0.0 if week.first else max(turnover - cfg.turnover_cap, 0.0),
                "style": float(max(np.max(np.abs(f[self.style_idx]), initial=0) - cfg.style_bound, 0.0)),
                "industry": float(max(np.max(np.abs(f[self.industry_idx]), initial=0) - cfg.industry_band, 0.0)),
                "member": max(cfg.member_share - share, 0.0) if self.constraint == "member80" else 0.0}
        worst = max(viol, key=viol.get)
        return {"ex_ante_te": te_daily * np.sqrt(cfg.periods_per_year), "turnover": turnover,
                "constituent_share": share, "n_holdings": int((w >= 1e-6).sum()),
                "n_eligible": int(week.eligible.sum()), "max_violation": viol[worst],
                "max_violation_constraint": worst if viol[worst] > 0 else ""}
