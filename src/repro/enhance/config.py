"""Every number of the index-enhancement stage in one typed config (report §4.1; SPEC §7).

Defaults are the report's where it gives them [R] and ours where it is silent [D]; the lead's
`enhance:` config section fills `EnhanceConfig.from_dict`, which rejects unknown keys.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

# Soft-able constraints, relaxed in this order when a week is infeasible (cheapest first).
RELAXABLE = ("turnover", "te", "style", "industry", "member", "cap")


@dataclass(frozen=True)
class EnhanceConfig:
    buy_cost: float = 0.001  # [R] 0.1% of the value bought
    sell_cost: float = 0.002  # [R] 0.2% of the value sold
    style_bound: float = 0.5  # [R] |X_s'(w - w_b)| <= 0.5 (std units)
    industry_band: float = 0.02  # [R] industry weight within ±2% of the benchmark's
    te_annual: dict = field(default_factory=lambda: {"csi300": 0.04, "csi500": 0.05, "csi1000": 0.05})  # [R, csi1000 D]
    turnover_cap: float = 0.2  # [R] one-sided weekly turnover Σ buy (waived on the first build)
    member_share: float = 0.8  # [R] `member80`: weight in the index's constituents >= 80%
    name_cap: float = 0.01  # [D] w_i <= w_b,i + 1%
    # [D] alpha = cross-sectional z-score of the score × alpha_scale: a one-std score is worth
    # 0.5% over the holding week (IC ≈ 0.1 × weekly cross-sectional vol ≈ 5%), so that the
    # costs (0.1% / 0.2%, linear in the objective) weigh against it on a comparable scale.
    alpha_scale: float = 0.005
    min_listed_days: int = 60  # [D] the buyable universe: listed >= 60 days, not ST, not suspended
    periods_per_year: int = 252  # [D] TE_daily = TE_annual / sqrt(252)
    relax_order: tuple = RELAXABLE  # [D] elastic re-solve: first = cheapest slack
    penalty_base: float = 1.0  # [D] penalty of the first slack per unit of relative violation
    penalty_step: float = 10.0  # [D] each later slack in relax_order costs 10× the previous one
    # [D] "clarabel": conic data assembled directly (fast, any size); "cvxpy": the same problem
    # with cvxpy Parameters (DPP), the reference, practical up to ~1,000 stocks. Both solve
    # with Clarabel.
    backend: str = "clarabel"
    solver_opts: dict = field(default_factory=dict)  # Clarabel settings, e.g. {tol_gap_rel: 1e-7}
    on_failure: str = "hold"  # [D] if even the elastic solve fails: "hold" (keep the drifted
    # weights, or the benchmark's on the first build; status "failed" in the diagnostics,
    # logged as an error) or "raise"

    def __post_init__(self):
        bad = sorted(set(self.relax_order) - set(RELAXABLE))
        if bad or len(set(self.relax_order)) != len(self.relax_order):
            raise ValueError(f"enhance.relax_order: {list(self.relax_order)}; allowed once each: {list(RELAXABLE)}")
        if self.backend not in ("clarabel", "cvxpy"):
            raise ValueError(f"enhance.backend: {self.backend!r}, expected 'clarabel' or 'cvxpy'")
        if self.on_failure not in ("hold", "raise"):
            raise ValueError(f"enhance.on_failure: {self.on_failure!r}, expected 'hold' or 'raise'")
        for name in ("buy_cost", "sell_cost", "style_bound", "industry_band", "turnover_cap", "member_share",
                     "name_cap", "alpha_scale", "penalty_base"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"enhance.{name}: {getattr(self, name)!r} must be >= 0")
        if any(not v > 0 for v in self.te_annual.values()):
            raise ValueError(f"enhance.te_annual: {self.te_annual} must be > 0")

    @classmethod
    def from_dict(cls, cfg: dict | None) -> "EnhanceConfig":
        """From the `enhance:` config section; unknown keys are an error naming them."""
        cfg = dict(cfg or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(cfg) - known)
        if unknown:
            raise ValueError(f"enhance config: unknown keys {unknown}; known: {sorted(known)}")
        if "relax_order" in cfg:
            cfg["relax_order"] = tuple(cfg["relax_order"])
        if "te_annual" in cfg:
            cfg["te_annual"] = {**cls().te_annual, **cfg["te_annual"]}
        return cls(**cfg)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["relax_order"] = list(self.relax_order)
        return d

    def te_daily(self, index: str) -> float:
        """The tracking-error bound of `index` as a daily standard deviation."""
        if index not in self.te_annual:
            raise ValueError(f"enhance.te_annual has no bound for index {index!r}: {self.te_annual}")
        return self.te_annual[index] / self.periods_per_year ** 0.5

    def penalties(self) -> dict:
        """Penalty per unit of relative violation of each soft-able constraint (relax_order)."""
        return {name: self.penalty_base * self.penalty_step ** k for k, name in enumerate(self.relax_order)}
