"""MAD clip, frozen statistics and the z-score/fill step (SPEC §2), on hand-checked numbers."""

import numpy as np
import pytest
import torch

from repro.panel import Panel
from repro.preprocess import apply_stats, fit_stats, mad_clip, preprocess_panel


def test_mad_clip_hand_example():
    # median 3, |x − 3| = 2,1,0,1,97 → MAD 1, so the bounds are 3 ± 7 = [−4, 10]
    np.testing.assert_array_equal(mad_clip([1, 2, 3, 4, 100], 7), [1, 2, 3, 4, 10])
    # lower side: median 3, |x − 3| = 103,1,0,1,2 → MAD 1
    np.testing.assert_array_equal(mad_clip([-100, 2, 3, 4, 5], 7), [-4, 2, 3, 4, 5])


def test_mad_clip_per_feature_and_given_stats():
    x = np.array([[1, 10], [2, 20], [3, 30], [4, 40], [100, 50]], dtype=float)
    out = mad_clip(x, 7)
    # column 1: median 30, MAD 10 → bounds [−40, 100], nothing clipped
    np.testing.assert_array_equal(out, [[1, 10], [2, 20], [3, 30], [4, 40], [10, 50]])
    np.testing.assert_array_equal(
        mad_clip(x, 1, median=[0, 0], mad=[2, 5]), [[1, 5], [2, 5], [2, 5], [2, 5], [2, 5]]
    )


def test_mad_zero_means_no_clip():
    np.testing.assert_array_equal(mad_clip([0, 0, 0, 5], 7), [0, 0, 0, 5])


def _known_values():
    col0 = [1, 2, 3, 4, 100, np.nan]
    col1 = [2, 4, 6, 8, 10, 12]
    return np.array([col0, col1], dtype=float).T  # [6, 2]


def test_fit_stats_known_example():
    stats = fit_stats(_known_values(), mad_k=7.0)
    # col0: median 3, MAD 1, clipped [1,2,3,4,10] → mean 4, var (9+4+1+0+36)/5 = 10
    # col1: median 7, |dev| 5,3,1,1,3,5 → MAD 3; bounds 7 ± 21 clip nothing; mean 7, var 70/6
    np.testing.assert_allclose(stats["median"], [3, 7])
    np.testing.assert_allclose(stats["mad"], [1, 3])
    np.testing.assert_allclose(stats["mean"], [4, 7])
    np.testing.assert_allclose(stats["std"], [np.sqrt(10), np.sqrt(70 / 6)])


def test_fit_stats_mask_and_errors():
    values = _known_values()
    mask = np.array([True, True, True, False, False, False])
    stats = fit_stats(values, mask=mask)
    np.testing.assert_allclose(stats["median"], [2, 4])
    np.testing.assert_allclose(stats["mean"], [2, 4])
    with pytest.raises(ValueError, match="feature 1 has no finite value"):
        fit_stats(np.array([[1.0, np.nan], [2.0, np.nan]]))


def test_apply_stats_numpy_and_torch():
    stats = fit_stats(_known_values(), mad_k=7.0)
    x = np.array([[100.0, np.nan], [4.0, 7.0 + np.sqrt(70 / 6)], [-50.0, 7.0]], dtype=np.float32)
    # col0 clips to [−4, 10]: (10 − 4)/√10, 0, (−4 − 4)/√10; col1: NaN → 0, +1, 0
    expected = np.array([[6 / np.sqrt(10), 0.0], [0.0, 1.0], [-8 / np.sqrt(10), 0.0]])
    out = apply_stats(x, stats, 7.0)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-6)
    out_t = apply_stats(torch.from_numpy(x), stats, 7.0)
    assert isinstance(out_t, torch.Tensor) and out_t.dtype == torch.float32
    np.testing.assert_allclose(out_t.numpy(), expected, rtol=1e-6, atol=1e-6)


def test_apply_stats_guards_zero_std_and_mad():
    stats = {"median": [5.0], "mad": [0.0], "mean": [5.0], "std": [0.0]}
    out = apply_stats(np.array([[5.0], [5.0], [np.inf]]), stats, 7.0)
    np.testing.assert_array_equal(out, [[0.0], [0.0], [0.0]])


def _panel(values, start="2020-01-01"):
    dates = np.arange(np.datetime64(start), np.datetime64(start) + values.shape[0])
    return Panel(dates, [f"s{i}" for i in range(values.shape[1])], ["a", "b"], values.astype(np.float32))


def test_preprocess_panel_fits_before_cutoff_only():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(20, 5, 2))
    values[3, 1, 0] = np.nan
    raw = _panel(values)
    cutoff = raw.dates[12]
    out = preprocess_panel(raw, cutoff, mad_k=7.0)
    expected_stats = fit_stats(values[:12].astype(np.float32), mad_k=7.0)
    for key in expected_stats:
        np.testing.assert_allclose(out.attrs["preprocess"][key], expected_stats[key])
    assert out.attrs["window_norm"] == "none" and out.attrs["mad_k"] == 7.0
    np.testing.assert_allclose(
        out.values, apply_stats(values.astype(np.float32), expected_stats, 7.0), rtol=1e-6
    )
    assert out.values[3, 1, 0] == 0.0

    # frozen: data from the cutoff on does not move the statistics or earlier values
    changed = values.copy()
    changed[12:] = rng.normal(5.0, 10.0, size=changed[12:].shape)
    out2 = preprocess_panel(_panel(changed), cutoff, mad_k=7.0)
    assert out2.attrs["preprocess"] == out.attrs["preprocess"]
    np.testing.assert_array_equal(out2.values[:12], out.values[:12])
    # ... while data before it does
    changed[0, 0, 0] = 1e3
    changed[1, 0, 0] = 1e3
    changed[2, 0, 0] = 1e3
    assert preprocess_panel(_panel(changed), cutoff).attrs["preprocess"] != out.attrs["preprocess"]


def test_preprocess_panel_rejects_cutoff_before_data():
    raw = _panel(np.ones((4, 2, 2)))
    with pytest.raises(ValueError, match="no data to estimate"):
        preprocess_panel(raw, "2019-12-31")
