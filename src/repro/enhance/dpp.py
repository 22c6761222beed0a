"""The weekly optimisation problem in cvxpy, built once with Parameters and re-solved (DPP).

The readable statement of the model (`repro.enhance.optimizer` docstring) and the reference
the fast conic path (`repro.enhance.conic`) is tested against. cvxpy caches the
canonicalisation of a DPP problem, but its parameter map grows with N² (see `conic`), so
this backend suits up to about a thousand stocks (config `enhance.backend: cvxpy`).
"""
from __future__ import annotations

import cvxpy as cp
import numpy as np


class DppProblem:
    """The strict (or elastic) problem over a fixed stock axis, values set per week."""

    def __init__(self, n_stocks: int, n_factors: int, style_idx, industry_idx, member80: bool,
                 te_daily: float, cfg, elastic: bool):
        N, K = n_stocks, n_factors
        self.cfg = cfg
        p = self.params = {
            "alpha": cp.Parameter(N, name="alpha"),
            "w_prev": cp.Parameter(N, nonneg=True, name="w_prev"),
            "lo": cp.Parameter(N, nonneg=True, name="lo"),
            "hi": cp.Parameter(N, nonneg=True, name="hi"),
            "cap_soft": cp.Parameter(N, nonneg=True, name="cap_soft"),
            "X": cp.Parameter((N, K), name="exposures"),
            "xb": cp.Parameter(K, name="bench_exposure"),
            "Lt": cp.Parameter((K, K), name="chol_factor_cov_T"),
            "sqrt_d": cp.Parameter(N, nonneg=True, name="sqrt_specific_var"),
            "sd_wb": cp.Parameter(N, nonneg=True, name="sqrt_specific_var_x_w_bench"),
            "member": cp.Parameter(N, nonneg=True, name="member"),
            "turn_cap": cp.Parameter(nonneg=True, name="turnover_cap"),
        }
        # w is a variable (not w_prev + buy − sell) so that its products with parameters are
        # DPP; sell = buy − (w − w_prev) ≥ 0 is implied.
        w = cp.Variable(N, name="w")
        buy = cp.Variable(N, nonneg=True, name="buy")
        sell = buy - (w - p["w_prev"])
        f = cp.Variable(K, name="active_exposure")
        s = {}
        if elastic:
            s = {k: cp.Variable(n, nonneg=True, name=f"slack_{k}") for k, n in
                 (("turnover", 1), ("te", 1), ("style", len(style_idx)), ("industry", len(industry_idx)),
                  ("member", 1 if member80 else 0), ("cap", 1)) if n}

        def relax(name, bound):  # bound × (1 + relative slack)
            return bound + bound * s[name] if elastic else bound

        hi = p["hi"] + cfg.name_cap * cp.multiply(p["cap_soft"], s["cap"]) if elastic else p["hi"]
        turn = p["turn_cap"] + cfg.turnover_cap * s["turnover"] if elastic else p["turn_cap"]
        cons = [cp.sum(w) == 1, w >= p["lo"], w <= hi, sell >= 0, f == p["X"].T @ w - p["xb"],
                cp.sum(buy) <= turn,
                cp.SOC(relax("te", te_daily), cp.hstack([p["Lt"] @ f, cp.multiply(p["sqrt_d"], w) - p["sd_wb"]]))]
        if len(style_idx):
            cons.append(cp.abs(f[list(style_idx)]) <= relax("style", cfg.style_bound))
        if len(industry_idx):
            cons.append(cp.abs(f[list(industry_idx)]) <= relax("industry", cfg.industry_band))
        if member80:
            share = cfg.member_share - cfg.member_share * s["member"] if elastic else cfg.member_share
            cons.append(p["member"] @ w >= share)
        obj = p["alpha"] @ w - cfg.buy_cost * cp.sum(buy) - cfg.sell_cost * cp.sum(sell)
        if elastic:
            pen = cfg.penalties()
            obj = obj - sum(pen[k] * cp.sum(v) for k, v in s.items())
        self.problem = cp.Problem(cp.Maximize(obj), cons)
        if not self.problem.is_dpp():
            raise RuntimeError("enhance optimiser: the cvxpy problem is not DPP")
        self.w, self.slacks = w, s

    def solve(self, values: dict):
        """(status, w or None, {slack: max relative value})."""
        for k, p in self.params.items():
            p.value = values[k]
        opts = {k: v for k, v in (self.cfg.solver_opts or {}).items()}
        try:
            self.problem.solve(solver=cp.CLARABEL, **opts)
        except cp.error.SolverError as e:
            return f"solver_error: {e}", None, None
        status = self.problem.status
        if status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE) or self.w.value is None:
            return status, None, None
        slacks = {k: float(np.max(v.value)) for k, v in self.slacks.items()}
        return status, np.asarray(self.w.value, dtype=np.float64), slacks
