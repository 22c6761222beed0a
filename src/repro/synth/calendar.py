"""The synthetic trading calendar: weekdays minus a fixed list of Chinese market holidays (SPEC §1).

The holidays are plausible, not exact: New Year's Day, the Spring Festival week (from the
eve of the lunar new year, using the real new-year dates where tabled), Qingming (Apr 4-5),
Labour Day (May 1-3), Dragon Boat (Jun 14), Mid-Autumn (Sep 20) and the National Day week
(Oct 1-7). Deterministic: the same range always gives the same calendar.
"""
from __future__ import annotations

import numpy as np

# Lunar new year's day; other years fall back to Feb 1 (close enough for a synthetic market).
_SPRING_FESTIVAL = {
    2005: "02-09", 2006: "01-29", 2007: "02-18", 2008: "02-07", 2009: "01-26", 2010: "02-14",
    2011: "02-03", 2012: "01-23", 2013: "02-10", 2014: "01-31", 2015: "02-19", 2016: "02-08",
    2017: "01-28", 2018: "02-16", 2019: "02-05", 2020: "01-25", 2021: "02-12", 2022: "02-01",
    2023: "01-22", 2024: "02-10", 2025: "01-29", 2026: "02-17", 2027: "02-06", 2028: "01-26",
}
# (month-day, number of consecutive calendar days closed)
_FIXED_HOLIDAYS = (("01-01", 1), ("04-04", 2), ("05-01", 3), ("06-14", 1), ("09-20", 1), ("10-01", 7))


def holidays(year: int) -> np.ndarray:
    """Calendar days the exchange is closed in `year` (weekends aside), datetime64[D]."""
    spans = [(f"{year}-{_SPRING_FESTIVAL.get(year, '02-01')}", 7, -1)]  # eve + 6 days
    spans += [(f"{year}-{md}", n, 0) for md, n in _FIXED_HOLIDAYS]
    days = [np.datetime64(first) + np.arange(shift, shift + n) for first, n, shift in spans]
    return np.unique(np.concatenate(days))


def trading_days(start: str, end: str) -> np.ndarray:
    """Trading days in [start, end], ascending, datetime64[D]."""
    start, end = np.datetime64(start, "D"), np.datetime64(end, "D")
    if end < start:
        raise ValueError(f"synthetic calendar: end {end} is before start {start}")
    days = np.arange(start, end + 1)
    weekday = days.astype("datetime64[D]").view("int64") % 7  # 1970-01-01 was a Thursday
    is_weekday = (weekday + 3) % 7 < 5
    years = range(int(str(start)[:4]), int(str(end)[:4]) + 1)
    closed = np.concatenate([holidays(y) for y in years])
    return days[is_weekday & ~np.isin(days, closed)]
