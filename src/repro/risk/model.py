"""The price-volume risk model: estimation over a market, snapshots as of one day, persistence
(SPEC §7; docs/method.md "Risk model (SPEC §7)").

`RiskModel.estimate` computes every day's style exposures at once, the daily factor and specific
returns by constrained WLS, the Newey-West factor covariances (recursively), the shrunk specific
volatilities and both volatility-regime multipliers. `snapshot(date)` adds the eigenfactor adjustment
(seeded Monte Carlo, one set of draws for all days) and returns the model as of that close, in daily return units.
"""
from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from ..atomic import atomic_file
from ..market import Market
from .config import RiskConfig
from .covariance import eigen_adjust, factor_bias_sq, newey_west_path, regime_multiplier, simulated_grams
from .exposures import STYLE_NAMES, covered_mask, daily_returns, style_exposures
from .regression import design_matrix, factor_returns
from .specific import ewma_volatility, shrink, specific_bias_sq

log = logging.getLogger(__name__)


@dataclass
class RiskSnapshot:
    """The risk model as of the close of one day, in DAILY return units."""
    date: np.datetime64
    codes: np.ndarray          # str [N], the stocks covered (listed, with exposures)
    factor_names: list[str]    # K names: "country", the styles, then "ind_<name>"
    style_names: list[str]     # the style factor names (subset of factor_names)
    industry_names: list[str]  # the industry factor names (subset of factor_names)
    exposures: np.ndarray      # float64 [N, K], finite
    factor_cov: np.ndarray     # float64 [K, K], symmetric PSD
    specific_var: np.ndarray   # float64 [N], > 0

    def cov_factor(self) -> np.ndarray:
        """L [K, K] with L @ L.T == factor_cov (Cholesky or eig, PSD-safe)"""
        try:
            return np.linalg.cholesky(self.factor_cov)
        except np.linalg.LinAlgError:
            d, u = np.linalg.eigh(self.factor_cov)
            return u * np.sqrt(np.maximum(d, 0.0))

    def stock_cov(self) -> np.ndarray:
        """dense X F X^T + diag(D) -- for tests only"""
        x = self.exposures
        return x @ self.factor_cov @ x.T + np.diag(self.specific_var)


class RiskModel:
    """Daily risk model over a market's calendar; see the module docstring.

    Arrays (dates D, stocks N, factors K): `style_exposures` float32 [D, N, S] (NaN where not
    covered), `industry` int16 [D, N], `covered` bool [D, N], `factor_returns` [D, K] and
    `specific_returns` float32 [D, N] (row t: returns of day t on exposures of t−1; NaN row 0),
    `factor_cov_raw` [D, K, K] (Newey-West, before the eigen and regime adjustments),
    `factor_regime` [D] and `specific_regime` [D] (the multipliers λ², applied to variances),
    `specific_vol` [D, N] (shrunk, before the regime multiplier), `n_factor_days` [D].
    """

    _ARRAYS = ("dates", "codes", "style_exposures", "industry", "covered", "factor_returns",
               "specific_returns", "factor_cov_raw", "factor_regime", "specific_regime",
               "specific_vol", "n_factor_days")

    def __init__(self, cfg: RiskConfig, industry_names: list[str], **arrays):
        self.cfg = cfg
        self.industry_names = list(industry_names)
        for name in self._ARRAYS:
            setattr(self, name, arrays[name])
        self.style_names = list(STYLE_NAMES)
        self.factor_names = ["country", *self.style_names, *(f"ind_{n}" for n in self.industry_names)]

    # ------------------------------------------------------------------ estimation
    @classmethod
    def estimate(cls, market: Market, cfg: RiskConfig, end_date=None, start_date=None) -> "RiskModel":
        """Estimate on `market` up to the close of `end_date` (default: its last day), using the
        days from `start_date` on (default: all; a later start saves memory, but the first
        ~`beta_window` days then have short-history exposures and no covariance).

        BLAS runs single-threaded here and in `snapshot`: the work is many small solves and
        eigendecompositions, where threads only add synchronisation (measured: a batched 40 × 40
        eigh 10x slower with 2 OpenBLAS threads on a loaded 2-core machine)."""
        with threadpool_limits(1, user_api="blas"):
            return cls._estimate(market, cfg, end_date, start_date)

    @classmethod
    def _estimate(cls, market: Market, cfg: RiskConfig, end_date, start_date) -> "RiskModel":
        lo = 0 if start_date is None else int(np.searchsorted(market.dates, np.datetime64(start_date, "D")))
        hi = len(market.dates) if end_date is None else \
            int(np.searchsorted(market.dates, np.datetime64(end_date, "D"), side="right"))
        if hi <= lo:
            raise ValueError(f"risk model: no trading day between {start_date} and {end_date}")
        if (lo, hi) != (0, len(market.dates)):
            market = _days(market, lo, hi)
        covered = covered_mask(market)
        no_cap = market.listed & ~covered
        if no_cap.any():
            t, i = np.argwhere(no_cap)[0]
            log.warning("risk model: %d listed stock-days (%.2f%%) lack a positive market cap and are left out, "
                        "e.g. %s on %s", int(no_cap.sum()), 100 * no_cap.sum() / market.listed.sum(),
                        market.codes[i], market.dates[t])
        mcap = np.where(covered, market.fields["mcap"], np.nan)
        styles = style_exposures(market, cfg).astype(np.float32)
        industry = market.industry.astype(np.int16)
        n_ind = len(market.industry_names)
        bad = covered & (industry >= n_ind)
        if bad.any():
            t, i = np.argwhere(bad)[0]
            raise ValueError(f"market.industry: code {industry[t, i]} beyond industry_names "
                             f"({n_ind} names), e.g. {market.codes[i]} on {market.dates[t]}")
        unknown = covered & (industry < 0)
        if unknown.any():
            log.info("risk model: %d covered stock-days (%.2f%%) have no industry; they get no industry "
                     "dummy", int(unknown.sum()), 100 * unknown.sum() / covered.sum())
        returns = daily_returns(market)
        f, u, identified = factor_returns(styles.astype(np.float64), industry, n_ind, returns, mcap, covered)
        covs, count = newey_west_path(f, cfg.vol_halflife, cfg.corr_halflife, cfg.newey_west_lags)
        factor_regime = regime_multiplier(factor_bias_sq(f, covs, identified, cfg.min_history), cfg.regime_halflife)

        sigma, n_obs = ewma_volatility(u, cfg.specific_halflife)
        spec = np.full(sigma.shape, np.nan)
        for t in range(len(sigma)):
            spec[t] = shrink(sigma[t], n_obs[t], mcap[t], cfg.specific_min_obs, cfg.shrinkage_q, cfg.size_deciles)
        bias = np.full(len(sigma), np.nan)
        for t in range(1, len(sigma)):
            if count[t - 1] >= cfg.min_history:
                bias[t] = specific_bias_sq(u[t], spec[t - 1], mcap[t - 1])
        specific_regime = regime_multiplier(bias, cfg.regime_halflife)
        return cls(cfg, market.industry_names, dates=market.dates.copy(), codes=market.codes.copy(),
                   style_exposures=styles, industry=industry, covered=covered, factor_returns=f,
                   specific_returns=u.astype(np.float32), factor_cov_raw=covs, factor_regime=factor_regime,
                   specific_regime=specific_regime, specific_vol=spec, n_factor_days=count)

    def factor_return_table(self) -> pd.DataFrame:
        """Daily factor returns as a DataFrame (index date = the return day, columns factor_names)."""
        return pd.DataFrame(self.factor_returns, index=pd.DatetimeIndex(self.dates, name="date"),
                            columns=self.factor_names).dropna(how="all")

    # ------------------------------------------------------------------ snapshots
    def day_index(self, date) -> int:
        """Index of the last model day on or before `date`."""
        t = int(np.searchsorted(self.dates, np.datetime64(date, "D"), side="right")) - 1
        if t < 0:
            raise ValueError(f"risk model: {date} is before its first day {self.dates[0]}")
        return t

    def snapshot(self, date) -> RiskSnapshot:
        """The model as of the close of `date` (or the last trading day before it); uses data up
        to that close only. Raises ValueError before `min_history` factor-return days."""
        with threadpool_limits(1, user_api="blas"):
            return self._snapshot(self.day_index(date))

    def _snapshot(self, t: int) -> RiskSnapshot:
        if self.n_factor_days[t] < self.cfg.min_history:
            raise ValueError(f"risk model: {self.dates[t]} has {self.n_factor_days[t]} days of factor returns, "
                             f"fewer than min_history={self.cfg.min_history}")
        idx = np.flatnonzero(self.covered[t] & np.isfinite(self.specific_vol[t]))
        if len(idx) == 0:
            raise ValueError(f"risk model: no stock on {self.dates[t]} has a specific variance yet")
        x = design_matrix(self.style_exposures[t, idx].astype(np.float64), self.industry[t, idx],
                          len(self.industry_names))
        cfg = self.cfg
        if cfg.eigen_sims > 0:
            cov = eigen_adjust(self.factor_cov_raw[t], self._grams(), cfg.eigen_scale)
        else:
            cov = self.factor_cov_raw[t].copy()
        cov *= self.factor_regime[t]
        spec_var = self.specific_vol[t, idx] ** 2 * self.specific_regime[t]
        return RiskSnapshot(date=self.dates[t], codes=self.codes[idx].copy(), factor_names=list(self.factor_names),
                            style_names=list(self.style_names),
                            industry_names=[f"ind_{n}" for n in self.industry_names], exposures=x,
                            factor_cov=cov, specific_var=spec_var)

    def _grams(self) -> np.ndarray:
        """The eigen adjustment's simulated Gram matrices, drawn once from cfg.seed (cached)."""
        if getattr(self, "_gram_cache", None) is None:
            cfg = self.cfg
            self._gram_cache = simulated_grams(cfg.eigen_sims, cfg.eigen_sim_days, cfg.corr_halflife,
                                               len(self.factor_names), np.random.default_rng(cfg.seed))
        return self._gram_cache

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike) -> None:
        """One .npz file (arrays plus a JSON header with the config and names)."""
        meta = json.dumps({"config": self.cfg.to_dict(), "industry_names": self.industry_names})
        with atomic_file(Path(path)) as tmp:
            with open(tmp, "wb") as fh:
                np.savez(fh, meta=np.array(meta), **{k: getattr(self, k) for k in self._ARRAYS})

    @classmethod
    def load(cls, path: str | os.PathLike) -> "RiskModel":
        with np.load(Path(path), allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            arrays = {k: z[k] for k in cls._ARRAYS}
        return cls(RiskConfig.from_dict(meta["config"]), meta["industry_names"], **arrays)


def _days(market: Market, lo: int, hi: int) -> Market:
    """Days lo..hi−1 of a market (views)."""
    d = slice(lo, hi)
    return Market(dates=market.dates[d], codes=market.codes, fields={k: v[d] for k, v in market.fields.items()},
                  listed=market.listed[d], is_st=market.is_st[d], is_suspended=market.is_suspended[d],
                  industry=market.industry[d], industry_names=market.industry_names,
                  index_weights={k: v[d] for k, v in market.index_weights.items()}, board=market.board,
                  list_date=market.list_date, proxies=market.proxies)
