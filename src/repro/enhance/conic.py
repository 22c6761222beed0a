"""The weekly optimisation problem in Clarabel's conic form, assembled directly (the fast path).

Same problem as `repro.enhance.dpp` (see `repro.enhance.optimizer` for the model). Why not
cvxpy at full size: a DPP problem stores its parameter-to-data map as a sparse tensor with one
row per (constraint row × variable); with 5,000 stocks and a 5,000 × 40 exposure Parameter
that is ~2·10⁸ rows and cvxpy's first compile needs tens of GB and minutes (measured: 1,000
stocks 13.6 s and 1.7 GB, growing with N²; `benchmarks/optimize.py --backend cvxpy`). The conic
data here are built in O(N·K) each week, so a week costs one Clarabel solve.

Variables x = [w (N), buy (N), f (K), slacks (elastic only)]; sell = buy − (w − w_prev) ≥ 0,
so the objective min −αᵀw + c_b Σbuy + c_s Σsell becomes −(α + c_s)ᵀw + (c_b + c_s)Σbuy.
Constraint rows (Clarabel: A x + s = b, s in the cone):
  zero:     Σw = 1;  f − Xᵀw = −Xᵀw_b
  nonneg:   −w ≤ −lo;  w ≤ hi (+ name_cap·cap_soft·s_cap);  −buy ≤ 0;  w − buy ≤ w_prev;
            Σbuy ≤ turn_cap (+ turnover_cap·s_turnover);  ±f_style ≤ b (+ b·s_style);
            ±f_industry ≤ band (+ band·s_industry);  −mᵀw ≤ −share (+ share·s_member);  −s ≤ 0
  SOC:      (te (+ te·s_te), Lᵀf, √D ⊙ w − √D ⊙ w_b, c)
Names with hi = 0 (outside the universe and not held, or sold out for certain) are left out
of the variables; c = ‖√D ⊙ w_b‖ over them keeps the cone exact.
"""
from __future__ import annotations

import clarabel
import numpy as np
import scipy.sparse as sp

SLACKS = ("turnover", "te", "style", "industry", "member", "cap")


class ConicProblem:
    """Builds and solves one week's conic data; the structure is fixed per portfolio."""

    def __init__(self, n_stocks: int, n_factors: int, style_idx, industry_idx, member80: bool,
                 te_daily: float, cfg, elastic: bool):
        self.K = n_factors
        self.style_idx, self.industry_idx = np.asarray(style_idx, int), np.asarray(industry_idx, int)
        self.member80, self.te, self.cfg, self.elastic = member80, te_daily, cfg, elastic
        self._layout(n_stocks)
        self.settings = clarabel.DefaultSettings()
        self.settings.verbose = False
        for k, v in (cfg.solver_opts or {}).items():
            setattr(self.settings, k, v)

    def _layout(self, n_stocks: int):
        """Column layout for n_stocks names: w, buy, f, then the slacks."""
        self.N = n_stocks
        sizes = {"turnover": 1, "te": 1, "style": len(self.style_idx), "industry": len(self.industry_idx),
                 "member": 1 if self.member80 else 0, "cap": 1} if self.elastic else {}
        self.slack_cols, start = {}, 2 * self.N + self.K
        for k in SLACKS:
            n = sizes.get(k, 0)
            self.slack_cols[k] = np.arange(start, start + n)
            start += n
        self.n_var = start

    def _rows(self, blocks, n_rows):
        """A sparse [n_rows, n_var] block from {column offset array or slice start: matrix}."""
        parts = []
        for cols, mat in blocks:
            m = sp.coo_matrix(mat)
            parts.append((m.row, cols[m.col], m.data))
        r = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, int)
        c = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, int)
        d = np.concatenate([p[2] for p in parts]) if parts else np.zeros(0)
        return sp.csc_matrix((d, (r, c)), shape=(n_rows, self.n_var))

    def data(self, v: dict):
        """(P, q, A, b, cones) for the week's values (see `repro.enhance.optimizer`), over the
        names in v; v["soc_const"] (optional) is the norm of the TE terms of names left out."""
        self._layout(len(v["alpha"]))
        N, K, cfg = self.N, self.K, self.cfg
        W, B, F = np.arange(N), np.arange(N, 2 * N), np.arange(2 * N, 2 * N + K)
        S = self.slack_cols
        eye_n, ones_n = sp.identity(N, format="coo"), np.ones((1, N))
        blocks, rhs, cones = [], [], []

        def add(block_list, n_rows, b, cone):
            blocks.append(self._rows(block_list, n_rows))
            rhs.append(np.asarray(b, dtype=np.float64).ravel())
            cones.append(cone(n_rows))

        # equalities
        add([(W, ones_n)], 1, [1.0], clarabel.ZeroConeT)
        add([(W, -np.asarray(v["X"]).T), (F, sp.identity(K))], K, -np.asarray(v["xb"]), clarabel.ZeroConeT)
        # linear inequalities
        add([(W, -eye_n)], N, -v["lo"], clarabel.NonnegativeConeT)
        cap = [(W, eye_n)]
        if self.elastic:
            cap.append((S["cap"], -cfg.name_cap * np.asarray(v["cap_soft"])[:, None]))
        add(cap, N, v["hi"], clarabel.NonnegativeConeT)
        add([(B, -eye_n)], N, np.zeros(N), clarabel.NonnegativeConeT)
        add([(W, eye_n), (B, -eye_n)], N, v["w_prev"], clarabel.NonnegativeConeT)
        turn = [(B, ones_n)]
        if self.elastic:
            turn.append((S["turnover"], [[-cfg.turnover_cap]]))
        add(turn, 1, [v["turn_cap"]], clarabel.NonnegativeConeT)
        for name, idx, bound in (("style", self.style_idx, cfg.style_bound),
                                 ("industry", self.industry_idx, cfg.industry_band)):
            n = len(idx)
            if not n:
                continue
            sel = sp.coo_matrix((np.ones(n), (np.arange(n), idx)), shape=(n, K))
            for sign in (1.0, -1.0):
                row = [(F, sign * sel)]
                if self.elastic:
                    row.append((S[name], -bound * sp.identity(n)))
                add(row, n, np.full(n, bound), clarabel.NonnegativeConeT)
        if self.member80:
            row = [(W, -np.asarray(v["member"])[None, :])]
            if self.elastic:
                row.append((S["member"], [[-cfg.member_share]]))
            add(row, 1, [-cfg.member_share], clarabel.NonnegativeConeT)
        n_slack = self.n_var - (2 * N + K)
        if n_slack:
            cols = np.arange(2 * N + K, self.n_var)
            add([(cols, -sp.identity(n_slack))], n_slack, np.zeros(n_slack), clarabel.NonnegativeConeT)
        # tracking error: (te, Lᵀf, √D ⊙ w − √D ⊙ w_b) in the second-order cone
        head = [(S["te"], [[-self.te]])] if self.elastic else []
        soc = [self._rows(head, 1) if head else sp.csc_matrix((1, self.n_var)),
               self._rows([(F, -np.asarray(v["Lt"]))], K),
               self._rows([(W, -sp.diags(v["sqrt_d"]))], N), sp.csc_matrix((1, self.n_var))]
        blocks.append(sp.vstack(soc, format="csc"))
        rhs.append(np.concatenate([[self.te], np.zeros(K), -np.asarray(v["sd_wb"]), [v.get("soc_const", 0.0)]]))
        cones.append(clarabel.SecondOrderConeT(2 + K + N))

        A = sp.vstack(blocks, format="csc")
        b = np.concatenate(rhs)
        q = np.zeros(self.n_var)
        q[W] = -(np.asarray(v["alpha"]) + cfg.sell_cost)
        q[B] = cfg.buy_cost + cfg.sell_cost
        if self.elastic:
            pen = cfg.penalties()
            for k, cols in S.items():
                q[cols] = pen[k]
        P = sp.csc_matrix((self.n_var, self.n_var))
        return P, q, A, b, cones

    def solve(self, v: dict):
        """(status, w or None, {slack: max relative value}) over the full stock axis of v.

        Names with hi = 0 (w = 0 for certain) are left out of the solve: their TE terms
        −√D_i·w_b,i enter the cone as one constant entry, the norm of those terms."""
        active = np.asarray(v["hi"]) > 0
        full_n = len(active)
        per_stock = ("alpha", "w_prev", "lo", "hi", "cap_soft", "sqrt_d", "sd_wb", "member")
        sub = {k: (np.asarray(x)[active] if k in per_stock else x) for k, x in v.items()}
        sub["X"] = np.asarray(v["X"])[active]
        sub["soc_const"] = float(np.linalg.norm(np.asarray(v["sd_wb"])[~active]))
        P, q, A, b, cones = self.data(sub)
        sol = clarabel.DefaultSolver(P, q, A, b, cones, self.settings).solve()
        status = str(sol.status)
        if status not in ("Solved", "AlmostSolved"):
            return status, None, None
        x = np.asarray(sol.x)
        slacks = {k: float(x[c].max()) for k, c in self.slack_cols.items() if len(c)}
        w = np.zeros(full_n)
        w[active] = x[: self.N]
        return status, w, slacks
