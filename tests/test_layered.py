"""The layered (20-group) test: a hand-computed two-group example with limit-up / limit-down at
execution, the rebalancing rules with suspensions, and the NAV statistics on known series."""
import numpy as np
import pytest

from repro.metrics.layered import (TradingArrays, annualised_return, assign_groups, layered_backtest,
                                   max_drawdown, rebalance, sharpe_ratio, week_end_days)

# Thu 5, Fri 6 (signal), Mon 9 (execution), Tue 10 .. Fri 13 (signal), Mon 16 (execution), Tue 17
DATES = np.array(["2023-01-05", "2023-01-06", "2023-01-09", "2023-01-10", "2023-01-11", "2023-01-12",
                  "2023-01-13", "2023-01-16", "2023-01-17"], dtype="datetime64[D]")


def test_week_end_days():
    assert list(np.flatnonzero(week_end_days(DATES))) == [1, 6, 8]


def test_assign_groups_equal_sizes_and_eligibility():
    f = np.array([5.0, 1.0, np.nan, 3.0, 2.0, 4.0, 0.0])
    eligible = np.array([True, True, True, True, True, True, False])
    # eligible & finite: ascending stocks 1, 4, 3, 5, 0 at positions 0..4 -> group floor(2 pos / 5)
    assert list(assign_groups(f, eligible, 2)) == [1, 0, -1, 0, 0, 1, -1]
    assert (assign_groups(f, eligible, 6) == -1).all()  # fewer eligible stocks than groups


def test_rebalance_rules_suspended_and_limits():
    #            0: held, leaves, suspended -> kept      1: held, stays -> equal share
    #            2: held, leaves, limit-down -> kept     3: new, buyable -> equal share
    #            4: new, suspended -> skipped
    w_old = np.array([[0.3, 0.3, 0.4, 0.0, 0.0],
                      [0.5, 0.0, 0.0, 0.0, 0.5],      # 4 held, stays, suspended -> kept
                      [0.0, 0.0, 0.0, 0.0, 0.0]])     # only an unbuyable target -> cash
    target = np.array([[0, 1, 0, 1, 1], [0, 0, 0, 1, 1], [0, 0, 0, 0, 1]], dtype=bool)
    suspended = np.array([1, 0, 0, 0, 1], dtype=bool)
    limit_down = np.array([0, 0, 1, 0, 0], dtype=bool)
    w_new, turnover = rebalance(w_old, target, ~suspended, ~suspended & ~limit_down)
    np.testing.assert_allclose(w_new[0], [0.3, 0.15, 0.4, 0.15, 0.0])
    np.testing.assert_allclose(w_new[1], [0.5, 0.0, 0.0, 0.0, 0.5])
    np.testing.assert_allclose(w_new[2], 0.0)
    np.testing.assert_allclose(turnover, [0.15, 0.0, 0.0])


def _hand_market():
    r = np.zeros((9, 4))
    r[3] = [0.10, 0.00, -0.10, 0.20]
    r[4] = [0.00, 0.05, 0.00, 0.00]
    r[7] = [0.10, 0.00, -0.10, 0.00]  # stock 0 closes at limit-up, stock 2 at limit-down
    r[8] = [0.02, 0.04, 0.06, 0.08]
    close = 10.0 * np.cumprod(1 + r, axis=0)
    up = np.zeros((9, 4), bool)
    down = np.zeros((9, 4), bool)
    up[7, 0] = down[7, 2] = True
    return TradingArrays(close, np.zeros((9, 4), bool), up, down)


def test_layered_by_hand():
    factor = np.zeros((9, 4))
    factor[1] = [1, 2, 3, 4]  # bottom {0, 1}, top {2, 3}, executed Mon 9
    factor[6] = [4, 3, 2, 1]  # top {0, 1}, bottom {2, 3}, executed Mon 16
    res = layered_backtest(factor, _hand_market(), np.ones((9, 4), bool), 2, DATES)
    assert list(res.dates) == list(DATES[3:])
    # values of 0.5 / 0.5 (or 0.25 x 4) followed through the returns by hand
    bottom = [0.05, 0.025 / 1.05, 0, 0, 1.13 / 1.075 - 1, 0.5 * 0.06 + 0.5 * 0.08]
    # top on day 17 holds stock 2 (limit-down, unsellable: kept at 0.405/1.005) and stock 1
    # (the rest; stock 0 was at limit-up, unbuyable)
    w2 = 0.405 / 1.005
    top = [0.05, 0, 0, 0, 1.005 / 1.05 - 1, w2 * 0.06 + (1 - w2) * 0.04]
    bench = [0.05, 0.0125 / 1.05, 0, 0, 1.0675 / 1.0625 - 1, 0.05]
    np.testing.assert_allclose(res.group_returns[:, 0], bottom, atol=1e-12)
    np.testing.assert_allclose(res.group_returns[:, 1], top, atol=1e-12)
    np.testing.assert_allclose(res.benchmark_returns, bench, atol=1e-12)
    np.testing.assert_allclose(res.hedged[:, 1], np.array(top) - bench, atol=1e-12)
    # one rebalance after the first: top sells stock 3 (0.6/1.005) and buys it back in stock 1
    np.testing.assert_allclose(res.turnover, [[1.0, 0.6 / 1.005]], atol=1e-12)
    s = res.summary()
    assert s["top_weekly_turnover"] == pytest.approx(0.6 / 1.005)
    assert s["top_ann_excess"] == pytest.approx(annualised_return(np.array(top) - bench))



def test_without_trading_rules_limit_names_trade_like_any_other():
    factor = np.zeros((9, 4))
    factor[1] = [1, 2, 3, 4]
    factor[6] = [4, 3, 2, 1]
    res = layered_backtest(factor, _hand_market(), np.ones((9, 4), bool), 2, DATES, trading_rules=False)
    # day 17: top = {0, 1} bought at equal weight (stock 0's limit-up and stock 2's limit-down ignored)
    assert res.group_returns[-1, 1] == pytest.approx(0.5 * 0.02 + 0.5 * 0.04)
    assert res.group_returns[-1, 0] == pytest.approx(0.5 * 0.06 + 0.5 * 0.08)
    np.testing.assert_allclose(res.turnover, [[1.0, 1.0]], atol=1e-12)  # the whole top group swapped
    ruled = layered_backtest(factor, _hand_market(), np.ones((9, 4), bool), 2, DATES)
    np.testing.assert_allclose(res.group_returns[:-1], ruled.group_returns[:-1], atol=1e-12)

def test_suspended_name_with_missing_close_keeps_value_and_books_move_on_resumption():
    close = np.full((9, 2), 10.0)
    close[4:7, 0] = np.nan  # suspended, no price
    close[7:, 0] = 11.0
    susp = np.zeros((9, 2), bool)
    susp[4:7, 0] = True
    arrays = TradingArrays(close, susp, np.zeros((9, 2), bool), np.zeros((9, 2), bool))
    r = arrays.daily_returns()
    assert r[7, 0] == pytest.approx(0.1) and r[4:7, 0].sum() == 0


def test_nav_statistics_on_known_series():
    daily = np.array([0.1, -0.2, 0.05, 0.3])
    assert max_drawdown(daily) == pytest.approx(0.88 / 1.1 - 1)
    assert max_drawdown(np.array([0.01, 0.02])) == 0.0
    assert annualised_return(daily) == pytest.approx((1.1 * 0.8 * 1.05 * 1.3) ** (252 / 4) - 1)
    assert sharpe_ratio(daily) == pytest.approx(daily.mean() / daily.std(ddof=1) * np.sqrt(252))


def test_no_look_ahead_and_only_week_end_signals_used():
    rng = np.random.default_rng(5)
    dates = np.datetime64("2023-01-02") + np.arange(60)
    dates = dates[np.is_busday(dates)]
    d, n = len(dates), 30
    close = 10 * np.cumprod(1 + rng.normal(0, 0.02, (d, n)), axis=0)
    flags = rng.random((3, d, n)) < 0.05
    arrays = TradingArrays(close, flags[0], flags[1], flags[2])
    factor = rng.normal(size=(d, n))
    mask = np.ones((d, n), bool)
    full = layered_backtest(factor, arrays, mask, 5, dates)
    # cutting the period short gives the same returns on the days both cover
    short = layered_backtest(factor, arrays, mask, 5, dates, end=dates[25])
    k = len(short.dates)
    np.testing.assert_allclose(short.group_returns, full.group_returns[:k])
    # the factor of a day that is not a week end is never read
    other = factor.copy()
    other[~week_end_days(dates)] = rng.normal(size=(int((~week_end_days(dates)).sum()), n))
    np.testing.assert_allclose(layered_backtest(other, arrays, mask, 5, dates).group_returns,
                               full.group_returns)
