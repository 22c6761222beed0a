"""The in-memory market: daily fields as dense [date, stock] arrays.

Every reader (`repro.data`) returns a `Market`; features, labels, universes and backtests
take one. Arrays are indexed by position in `dates` (trading calendar) and `codes`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# Daily numeric fields carried as float64 [D, N]; NaN where the stock is not listed.
PRICE_FIELDS = ("open", "high", "low", "close", "vwap", "limit_up", "limit_down")
DAILY_FIELDS = PRICE_FIELDS + ("volume", "amount", "adj_factor", "turnover", "mcap")


@dataclass
class Market:
    dates: np.ndarray  # datetime64[D] [D], the trading calendar
    codes: np.ndarray  # str [N]
    fields: dict[str, np.ndarray]  # name in DAILY_FIELDS -> float64 [D, N], raw prices
    listed: np.ndarray  # bool [D, N], between list_date and delist_date
    is_st: np.ndarray  # bool [D, N]
    is_suspended: np.ndarray  # bool [D, N]
    industry: np.ndarray  # int16 [D, N], index into industry_names; -1 = unknown
    industry_names: list[str]
    index_weights: dict[str, np.ndarray]  # csi300/csi500/csi1000 -> float64 [D, N], 0 = not a member
    board: np.ndarray  # str [N]: main | chinext | star
    list_date: np.ndarray  # datetime64[D] [N]
    proxies: dict[str, str] = field(default_factory=dict)  # field -> how it was proxied (qlib)

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.dates), len(self.codes)

    def adjusted(self, name: str) -> np.ndarray:
        """Adjusted price (raw × adj_factor) for a price field, or volume / adj_factor for volume."""
        if name == "volume":
            return self.fields["volume"] / self.fields["adj_factor"]
        return self.fields[name] * self.fields["adj_factor"]

    def days_listed(self) -> np.ndarray:
        """Trading days since listing (0 on the first day), int32 [D, N]; -1 before listing."""
        pos = np.searchsorted(self.dates, self.list_date)  # first calendar index on/after listing
        d = np.arange(len(self.dates))[:, None] - pos[None, :]
        return np.where(d >= 0, d, -1).astype(np.int32)

    def sample_mask(self, min_listed_days: int = 60) -> np.ndarray:
        """Stock-days that enter training and evaluation (SPEC §2): listed ≥ min_listed_days,
        not ST, not suspended."""
        return self.listed & (self.days_listed() >= min_listed_days) & ~self.is_st & ~self.is_suspended

    def universe(self, name: str) -> np.ndarray:
        """Point-in-time membership, bool [D, N]: `all` = every listed stock, else an index."""
        if name == "all":
            return self.listed.copy()
        return self.index_weights[name] > 0
