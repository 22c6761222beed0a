"""Index enhancement (report §4, tables 18-29, figures 18-23; SPEC §7): the weekly constrained
optimiser (`optimizer`, with the `conic` and `dpp` formulations), the A-share weekly backtest
(`backtest`) and the yearly / summary tables and NAV figures (`performance`)."""

# Files of one backtest in results/enhancement/{index}/{constraint}/{model}/ (the workflow's
# outputs; here, so that the workflow names them without importing the solver).
RESULT_FILES = {"weights": "weights.parquet", "nav": "nav.parquet", "diagnostics": "diagnostics.csv",
                "trades": "trades.parquet"}
