"""Daily factor returns by constrained weighted cross-sectional regression (SPEC §7; docs/method.md
"Risk model (SPEC §7)").

Returns of day t+1 are regressed on exposures of day t (country, styles, industries) with
weights √(market cap of t). Country and industry dummies are collinear, so the cap-weighted
industry factor returns are constrained to sum to zero, Σ_k c_k f_k = 0 with c_k the market cap
of industry k among the regression's stocks: the largest industry b is eliminated,
f_b = −Σ_{k≠b} (c_k / c_b) f_k, which turns the problem into an ordinary WLS solved with
the normal equations (`weighted_least_squares`). Residuals are the specific returns.
"""
from __future__ import annotations

import numpy as np
from scipy.linalg import cho_factor, cho_solve


def design_matrix(styles: np.ndarray, industry: np.ndarray, n_industries: int) -> np.ndarray:
    """[n, 1 + S + n_industries]: country (ones), styles, industry dummies (a stock with
    industry −1, unknown, has no industry dummy)."""
    n = len(styles)
    dummies = np.zeros((n, n_industries))
    known = industry >= 0
    dummies[np.flatnonzero(known), industry[known].astype(np.intp)] = 1.0
    return np.column_stack([np.ones(n), styles, dummies])


def weighted_least_squares(x: np.ndarray, y: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """argmin_b Σ w_i (y_i − x_i b)²: normal equations by Cholesky (K ≪ N, exposures are
    standardised so XᵀWX is well conditioned); all-zero columns get 0; falls back to lstsq
    (minimum norm) if XᵀWX is singular."""
    b = np.zeros(x.shape[1])
    use = np.flatnonzero(np.abs(x).max(axis=0) > 0)
    xu = x[:, use]
    xw = xu * weight[:, None]
    try:
        b[use] = cho_solve(cho_factor(xw.T @ xu), xw.T @ y)
    except np.linalg.LinAlgError:
        sw = np.sqrt(weight)
        b[use] = np.linalg.lstsq(xu * sw[:, None], y * sw, rcond=None)[0]
    return b


def constrained_wls(y: np.ndarray, x: np.ndarray, weight: np.ndarray, cap: np.ndarray,
                    ind_cols: slice) -> tuple[np.ndarray, np.ndarray]:
    """Solve min Σ w_i (y_i − x_i f)² s.t. Σ_{k in ind_cols} c_k f_k = 0, c_k = Σ cap over the
    stocks of industry column k. Industries without stocks get f_k = 0. Returns (f [K], resid [n])."""
    k = x.shape[1]
    first = ind_cols.start
    c = cap @ x[:, ind_cols]
    present = np.arange(first, k)[c > 0]
    f = np.zeros(k)
    free = list(range(first))
    cols = [x[:, :first]]
    if len(present):
        base = present[np.argmax(c[present - first])]
        others = present[present != base]
        ratio = c[others - first] / c[base - first]
        cols.append(x[:, others] - x[:, [base]] * ratio[None, :])
        free += list(others)
    reduced = np.column_stack(cols)
    g = weighted_least_squares(reduced, y, weight)
    f[free] = g
    if len(present):
        f[base] = -(ratio @ g[first:])
    return f, y - x @ f


def factor_returns(styles: np.ndarray, industry: np.ndarray, n_industries: int, returns: np.ndarray,
                   mcap: np.ndarray, covered: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Factor returns [D, K], specific returns [D, N] and `identified` bool [D, K], dated by the
    return day: row t+1 holds the regression of returns of t+1 on exposures of t (row 0 is NaN).
    A stock enters day t's regression if covered on t with finite exposures and has a return on
    t+1 (listed, traded). A factor nobody is exposed to that day (an empty industry, a style
    still all 0 for lack of history) has return 0 and identified False."""
    n_days, n = returns.shape
    n_style = styles.shape[2]
    k = 1 + n_style + n_industries
    ind_cols = slice(1 + n_style, k)
    f_out = np.full((n_days, k), np.nan)
    u_out = np.full((n_days, n), np.nan)
    identified = np.zeros((n_days, k), dtype=bool)
    for t in range(n_days - 1):
        ok = covered[t] & np.isfinite(returns[t + 1]) & np.isfinite(styles[t]).all(axis=1)
        if ok.sum() <= k:
            continue
        x = design_matrix(styles[t, ok], industry[t, ok], n_industries)
        cap = mcap[t, ok]
        f, u = constrained_wls(returns[t + 1, ok], x, np.sqrt(cap), cap, ind_cols)
        f_out[t + 1] = f
        u_out[t + 1, ok] = u
        identified[t + 1] = np.abs(x).max(axis=0) > 0
    return f_out, u_out, identified
