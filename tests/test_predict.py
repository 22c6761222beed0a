"""One-pass inference (SPEC §5): segmented batch norms, days stacked into a few forwards, equal to
a forward per day; and the modules that must not pull torch in."""
import numpy as np
import pytest
import torch

from repro.day_batches import day_batches
from repro.metrics.rank_ic import rank_ic
from repro.model import FactorGRU, batch_standardise, segment_standardise
from repro.predict import chunks, max_rows, predict
from repro.rolling import split_days
from repro.training import validate
from repro.windows import WindowSource
from test_training import make_cfg, make_panels

torch.set_num_threads(1)


def test_segment_standardise_by_hand():
    x = torch.tensor([[1.0, 0.0], [3.0, 0.0], [0.0, 5.0], [2.0, 5.0], [4.0, 5.0]])
    z = segment_standardise(x, torch.tensor([2, 3]))
    # segment 0: column 0 is 1, 3 → ±1; column 1 is constant → 0
    # segment 1: column 0 is 0, 2, 4 (mean 2, population std √(8/3)); column 1 constant → 0
    s = np.sqrt(8 / 3)
    expected = [[-1, 0], [1, 0], [-2 / s, 0], [0, 0], [2 / s, 0]]
    np.testing.assert_allclose(z.numpy(), expected, atol=1e-6)
    np.testing.assert_allclose(z[2:].numpy(), batch_standardise(x[2:]).numpy(), atol=1e-6)


def test_chunks_group_whole_days():
    assert chunks([3, 3, 3, 5, 1], 6) == [slice(0, 2), slice(2, 3), slice(3, 5)]
    assert chunks([9, 1], 4) == [slice(0, 1), slice(1, 2)]  # a day larger than max_rows alone
    assert chunks([], 4) == []


def test_max_rows_takes_a_demo_split_at_once_and_bounds_a_full_market_forward():
    class Src:
        def __init__(self, window, f):
            self.window, self.values = window, torch.zeros(1, 1, f)

    assert max_rows(FactorGRU(6, hidden=32), Src(10, 6)) >= 243 * 225
    assert 4 * 4500 <= max_rows(FactorGRU(6, hidden=64), Src(40, 6)) <= 8 * 4500


def _day_by_day(model, src, batches):
    model.eval()
    with torch.no_grad():
        return [tuple(t.numpy() for t in model(src.gather(b.day, b.stocks))) for b in batches]


@pytest.mark.parametrize("k,rows", [(1, None), (4, None), (4, 50)])
def test_one_pass_equals_day_by_day(k, rows):
    features, labels = make_panels()
    split = split_days(features.dates, "day", 2022, make_cfg()["train"], 5)
    src = WindowSource(features, 5)
    test = day_batches(labels, split.test, "cpu", "test")
    torch.manual_seed(0)
    model = FactorGRU(3, hidden=8, n_factors=k, dropout=0.5)
    with torch.no_grad():  # large weights: a loose equality would not hide a wrong norm
        for p in model.parameters():
            p.mul_(3)
    one = predict(model, src, test, rows=rows)
    assert not model.training  # dropout off
    ref = _day_by_day(model, src, test)
    assert len(one) == len(ref) == len(test)
    for (p, u), (rp, ru), b in zip(one, ref, test):
        assert p.shape == (len(b.stocks),) and u.shape == (len(b.stocks), k)
        np.testing.assert_allclose(p, rp, rtol=0, atol=1e-5)
        np.testing.assert_allclose(u, ru, rtol=0, atol=1e-5)


def test_validate_equals_mean_of_daily_rank_ic():
    features, labels = make_panels()
    split = split_days(features.dates, "day", 2022, make_cfg()["train"], 5)
    src = WindowSource(features, 5)
    valid = day_batches(labels, split.valid, "cpu", "valid")
    torch.manual_seed(1)
    model = FactorGRU(3, hidden=8, n_factors=1, dropout=0.0)
    ic, corr = validate(model, src, valid)
    daily = [rank_ic(p.astype(np.float64), b.target) for (p, _), b in zip(_day_by_day(model, src, valid), valid)]
    assert ic == pytest.approx(np.mean(daily), abs=1e-9) and np.isnan(corr)
