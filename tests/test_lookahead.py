"""No look-ahead (charter): values dated ≤ t are unchanged when every input after t changes.

Property test over the market, the cut date t and the perturbation: all raw daily fields, flags,
industries and index weights, and the raw `ms` panel, are replaced after t. Labels look ahead
by design, exactly label_end days: the target dated s must ignore everything after s + 11 and
must react to day s + 11.
"""

from functools import lru_cache

import numpy as np
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from market_fixtures import copy_market, random_market, random_ms_panel
from repro.features.classic import classic_factors
from repro.features.day import day_panel, preprocess_day_panel
from repro.labels import make_labels
from repro.panel import Panel
from repro.preprocess import preprocess_panel

N_DAYS, N_STOCKS, WINDOW, DAY_WINDOW, HORIZON = 70, 10, 10, 5, 11
# no shrinking: a failing example is already small, and shrinking it takes minutes
PHASES = (Phase.explicit, Phase.reuse, Phase.generate)


@lru_cache(maxsize=None)
def _base(seed):
    m = random_market(n_days=N_DAYS, n_stocks=N_STOCKS, seed=seed, suspend_prob=0.05)
    return m, random_ms_panel(m, seed=seed + 100)


def _perturb_after(m, ms, t, seed, only_day=None):
    """Copies of (market, ms panel) with every input on days > t (or only on `only_day`) replaced."""
    rng = np.random.default_rng(seed)
    m2 = copy_market(m)
    rows = slice(only_day, only_day + 1) if only_day is not None else slice(t + 1, None)
    for name, a in m2.fields.items():
        a[rows] *= rng.lognormal(0.0, 0.3, a[rows].shape)
    if only_day is None:
        shape = m2.listed[rows].shape
        m2.is_suspended[rows] = rng.random(shape) < 0.3
        m2.is_st[rows] = rng.random(shape) < 0.3
        m2.listed[rows] = rng.random(shape) < 0.8
        m2.industry[rows] = rng.integers(-1, 4, shape)
        for w in m2.index_weights.values():
            w[rows] = rng.random(shape)
    values = np.array(ms.values)
    values[rows] = rng.normal(0.0, 1.0, values[rows].shape)
    return m2, Panel(ms.dates, ms.codes, ms.features, values)


def _classic(m, ms):
    return classic_factors(m, ms, window=WINDOW, min_periods=7, value_lookback=15).values


@settings(max_examples=12, deadline=None, derandomize=True, phases=PHASES)
@given(seed=st.integers(0, 2), t=st.integers(DAY_WINDOW + 2, N_DAYS - 2), noise=st.integers(0, 10**6))
def test_features_and_flags_dated_up_to_t_ignore_later_data(seed, t, noise):
    m, ms = _base(seed)
    m2, ms2 = _perturb_after(m, ms, t, noise)
    keep = slice(0, t + 1)

    day, day2 = day_panel(m), day_panel(m2)
    np.testing.assert_array_equal(day.values[keep], day2.values[keep])
    assert not np.array_equal(day.values, day2.values, equal_nan=True)

    cutoff = m.dates[t + 1 - (noise % 3)]  # fits on dates < cutoff, all ≤ t
    a, b = preprocess_panel(ms, cutoff), preprocess_panel(ms2, cutoff)
    assert a.attrs["preprocess"] == b.attrs["preprocess"]
    np.testing.assert_array_equal(a.values[keep], b.values[keep])
    a = preprocess_day_panel(day, cutoff, window=DAY_WINDOW)
    b = preprocess_day_panel(day2, cutoff, window=DAY_WINDOW)
    assert a.attrs["preprocess"] == b.attrs["preprocess"]

    c, c2 = _classic(m, ms), _classic(m2, ms2)
    if t >= WINDOW:
        assert np.isfinite(c[keep]).any()
    np.testing.assert_array_equal(c[keep], c2[keep])

    labels, labels2 = make_labels(m, 1, HORIZON, 20), make_labels(m2, 1, HORIZON, 20)
    sample = labels.features.index("sample")
    np.testing.assert_array_equal(labels.values[keep, :, sample], labels2.values[keep, :, sample])
    # labels dated s ≤ t − 11 only use data up to s + 11 ≤ t
    np.testing.assert_array_equal(
        labels.values[: max(t - HORIZON + 1, 0)], labels2.values[: max(t - HORIZON + 1, 0)]
    )


@settings(max_examples=8, deadline=None, derandomize=True, phases=PHASES)
@given(seed=st.integers(0, 2), s=st.integers(25, N_DAYS - HORIZON - 2), noise=st.integers(0, 10**6))
def test_label_at_s_uses_exactly_day_s_plus_11(seed, s, noise):
    m, ms = _base(seed)
    base = make_labels(m, 1, HORIZON, 20)
    target, label = base.feature("target")[s], base.feature("label")[s]
    assert np.isfinite(label).sum() >= 3

    later, _ = _perturb_after(m, ms, s + HORIZON, noise)
    after = make_labels(later, 1, HORIZON, 20)
    np.testing.assert_array_equal(after.feature("target")[s], target)
    np.testing.assert_array_equal(after.feature("label")[s], label)

    edge, _ = _perturb_after(m, ms, s + HORIZON, noise, only_day=s + HORIZON)
    moved = make_labels(edge, 1, HORIZON, 20)
    finite = np.isfinite(target)
    assert np.all(moved.feature("target")[s][finite] != target[finite])
    assert not np.allclose(moved.feature("label")[s][np.isfinite(label)], label[np.isfinite(label)])
