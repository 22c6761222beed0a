"""Index enhancement (report §4, tables 18-29, figures 18-23; SPEC §7): the weekly constrained
optimiser (`optimizer`, with the `conic` and `dpp` formulations), the A-share weekly backtest
(`backtest`) and the yearly / summary tables and NAV figures (`performance`)."""
