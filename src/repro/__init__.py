"""repro: reference reproduction of Orient Securities' "RNN-based multi-frequency factor mining" (2023)."""

__version__ = "0.1.0"
