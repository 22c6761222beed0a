"""Factor evaluation metrics (report §3, SPEC §6): RankIC, the layered (20-group) test, decay,
correlations between factors and factor-unit statistics, on [date, stock] numpy arrays."""
from .correlation import corr_matrix_table, mean_cross_corr, mean_pair_corr
from .decay import decay
from .layered import LayeredResult, TradingArrays, layered_backtest
from .rank_ic import ic_summary, rank_ic_series, window_days
from .units import mean_abs_unit_corr, unit_ic_stats

__all__ = [
    "LayeredResult", "TradingArrays", "corr_matrix_table", "decay", "ic_summary",
    "layered_backtest", "mean_abs_unit_corr", "mean_cross_corr", "mean_pair_corr",
    "rank_ic_series", "unit_ic_stats", "window_days",
]
