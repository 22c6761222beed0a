"""Every parameter of the price-volume risk model (SPEC §7, docs/method.md "Risk model").

`RiskConfig` is filled from the workflow config section `enhance.risk`; `RiskConfig.from_dict`
rejects unknown keys. Half-lives and windows are in trading days; the defaults follow Barra
CNE5/USE4 practice, shortened where only price-volume data is available.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields


@dataclass(frozen=True)
class RiskConfig:
    # style exposures
    beta_window: int = 252
    beta_halflife: float = 63.0
    beta_min_obs: int = 63
    momentum_window: int = 504
    momentum_lag: int = 21
    momentum_halflife: float = 126.0
    momentum_min_obs: int = 126
    resvol_window: int = 252
    dastd_halflife: float = 42.0
    resvol_min_obs: int = 63
    resvol_weights: tuple[float, float, float] = (0.74, 0.16, 0.10)  # DASTD, CMRA, HSIGMA
    cmra_months: int = 12
    liquidity_windows: tuple[int, int, int] = (21, 63, 252)  # STOM, STOQ, STOA
    liquidity_weights: tuple[float, float, float] = (0.35, 0.35, 0.30)
    reversal_window: int = 21
    reversal_halflife: float = 5.0
    winsor_mad: float = 5.0  # clip raw exposures to median ± winsor_mad · 1.4826 · MAD per day
    # factor covariance
    vol_halflife: float = 90.0
    corr_halflife: float = 90.0
    newey_west_lags: int = 2
    min_history: int = 42  # factor-return days needed before a snapshot
    eigen_sims: int = 1000
    eigen_sim_days: int = 720  # 8 corr half-lives: the simulated estimator weighs days like the real one
    eigen_scale: float = 1.2  # a in Menchero-Orr-Wang (2011)
    regime_halflife: float = 42.0
    seed: int = 0
    # specific variance
    specific_halflife: float = 90.0
    specific_min_obs: int = 42
    shrinkage_q: float = 0.1
    size_deciles: int = 10

    @classmethod
    def from_dict(cls, cfg: dict | None) -> "RiskConfig":
        """Build from a config mapping (e.g. `enhance.risk`); unknown keys raise ValueError."""
        cfg = dict(cfg or {})
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(cfg) - names)
        if unknown:
            raise ValueError(f"enhance.risk: unknown key(s) {unknown} (allowed: {sorted(names)})")
        for key in ("resvol_weights", "liquidity_weights", "liquidity_windows"):
            if key in cfg:
                cfg[key] = tuple(cfg[key])
        return cls(**cfg)

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}
