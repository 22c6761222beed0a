"""A Barra-style risk model from daily price-volume data (SPEC §7; docs/method.md "Risk model").

Parts: `config` (RiskConfig), `exposures` (style factors), `regression` (factor returns),
`covariance` (Newey-West, eigenfactor and volatility-regime adjustments), `specific`
(specific variance), `model` (RiskModel, RiskSnapshot) and `bias` (bias statistics).
"""
from .bias import bias_statistics, plot_bias
from .config import RiskConfig
from .exposures import STYLE_NAMES
from .model import RiskModel, RiskSnapshot

__all__ = ["RiskConfig", "RiskModel", "RiskSnapshot", "STYLE_NAMES", "bias_statistics", "plot_bias"]
