"""FactorGRU and the factor loss (SPEC §4): batch norms, MSE = 2(1 − corr), orthogonal penalty."""
import numpy as np
import pytest
import torch

from repro.model import FactorGRU, batch_standardise, factor_loss

torch.set_num_threads(1)


def _x(n=50, t=6, f=3, seed=0):
    return torch.randn(n, t, f, generator=torch.Generator().manual_seed(seed))


def test_batch_standardise_by_hand():
    z = batch_standardise(torch.tensor([[1.0], [2.0], [3.0]]))[:, 0]
    # population std of 1, 2, 3 is sqrt(2/3): z = ±1/sqrt(2/3) = ±1.224745
    np.testing.assert_allclose(z.numpy(), [-1.2247449, 0.0, 1.2247449], rtol=1e-6)
    assert torch.all(batch_standardise(torch.full((4, 1), 7.0)) == 0)  # constant → 0, finite


@pytest.mark.parametrize("k", [1, 5])
def test_shapes_and_prediction_is_standardised(k):
    torch.manual_seed(0)
    model = FactorGRU(3, hidden=8, n_factors=k, dropout=0.1).eval()
    pred, units = model(_x())
    assert pred.shape == (50,) and units.shape == (50, k)
    p = pred.detach().numpy().astype(np.float64)
    assert abs(p.mean()) < 1e-6 and abs(p.std(ddof=0) - 1) < 1e-5
    u = units.detach().numpy().astype(np.float64)
    np.testing.assert_allclose(u.mean(0), 0, atol=1e-6)
    np.testing.assert_allclose(u.std(0, ddof=0), 1, atol=1e-5)
    if k == 1:
        assert torch.equal(units[:, 0], pred)
    else:  # prediction = bn(mean of units)
        c = u.mean(1)
        np.testing.assert_allclose(p, (c - c.mean()) / c.std(), atol=1e-5)


def test_mse_equals_two_times_one_minus_pearson():
    torch.manual_seed(1)
    model = FactorGRU(3, hidden=8, n_factors=4).eval()
    pred, units = model(_x(seed=1))
    raw = np.random.default_rng(0).normal(size=50)
    label = torch.tensor((raw - raw.mean()) / raw.std(), dtype=torch.float32)
    mse = factor_loss(pred, units, label, ortho_lambda=0.0).item()
    r = np.corrcoef(pred.detach().numpy(), raw)[0, 1]
    assert mse == pytest.approx(2 * (1 - r), abs=1e-5)


def test_penalty_matches_numpy_and_its_gradient():
    rng = np.random.default_rng(3)
    u = rng.normal(size=(20, 4))
    units = torch.tensor(u, requires_grad=True)
    pred = torch.zeros(20, dtype=torch.float64)
    label = torch.zeros(20, dtype=torch.float64)
    lam = 10.0
    loss = factor_loss(pred, units, label, lam)
    g = u.T @ u
    norm = np.sqrt((g ** 2).sum())
    assert loss.item() == pytest.approx(lam / (20 * 16) * norm, rel=1e-12)
    loss.backward()
    # d‖UᵀU‖_F / dU = 2 U (UᵀU) / ‖UᵀU‖_F
    np.testing.assert_allclose(units.grad.numpy(), lam / (20 * 16) * 2 * u @ g / norm, rtol=1e-10)


def test_gradient_flows_through_penalty_only_when_lambda_positive():
    torch.manual_seed(2)
    model = FactorGRU(3, hidden=8, n_factors=6)
    pred, units = model(_x(seed=2))
    label = torch.zeros(50)
    factor_loss(pred.detach(), units, label, ortho_lambda=5.0).backward()
    assert model.head.weight.grad.abs().sum() > 0
    assert model.gru.weight_hh_l0.grad.abs().sum() > 0
    model.zero_grad()
    pred, units = model(_x(seed=2))
    loss = factor_loss(pred.detach(), units, label, ortho_lambda=0.0)
    assert not loss.requires_grad  # the MSE term alone is detached: nothing reaches the units


def test_dropout_only_in_training_mode():
    torch.manual_seed(4)
    model = FactorGRU(3, hidden=16, n_factors=1, dropout=0.5)
    x = _x(seed=4)
    model.eval()
    assert torch.equal(model(x)[0], model(x)[0])
    model.train()
    assert not torch.equal(model(x)[0], model(x)[0])


def test_two_layer_model_and_args_recorded():
    model = FactorGRU(3, hidden=8, n_factors=2, dropout=0.2, num_layers=2)
    assert model.args == dict(n_features=3, hidden=8, n_factors=2, dropout=0.2, num_layers=2,
                          checkpoint_segments=0)
    assert model.gru.num_layers == 2 and model.gru.dropout == 0.2
    pred, units = model.eval()(_x())
    assert units.shape == (50, 2)


def test_checkpointed_gru_gives_the_same_outputs_and_gradients():
    torch.manual_seed(3)
    x = torch.randn(50, 12, 4)
    label = torch.randn(50)
    grads = []
    for segments in (0, 4):
        torch.manual_seed(0)
        model = FactorGRU(4, hidden=8, n_factors=6, dropout=0.0, checkpoint_segments=segments)
        prediction, units = model(x)
        factor_loss(prediction, units, label, 20.0).backward()
        grads.append([p.grad.clone() for p in model.parameters()])
        if segments == 0:
            plain = prediction.detach()
        else:
            assert torch.allclose(prediction, plain, atol=1e-6)
    for g0, g1 in zip(*grads):
        assert torch.allclose(g0, g1, atol=1e-6)
    assert model.args["checkpoint_segments"] == 4
