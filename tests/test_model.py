"""FactorGRU and the factor loss (SPEC §4): batch norms, MSE = 2(1 − corr), orthogonal penalty."""
import numpy as np
import pytest
import torch

from repro import gru_cpu
from repro.gru_cpu import GRULayer, tanh_
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
    assert model.args == dict(n_features=3, hidden=8, n_factors=2, dropout=0.2, num_layers=2)
    assert model.gru.num_layers == 2 and model.gru.dropout == 0.2
    pred, units = model.eval()(_x())
    assert units.shape == (50, 2)


def test_lean_gru_layer_matches_nn_gru_outputs_and_gradients():
    for num_layers in (1, 2):
        torch.manual_seed(3)
        model = FactorGRU(4, hidden=8, n_factors=6, dropout=0.0, num_layers=num_layers).double()
        x = torch.randn(30, 12, 4, dtype=torch.float64, requires_grad=True)
        weight = torch.randn(30, 8, dtype=torch.float64)
        last = model._last_output(x)  # the CPU path: GRULayer
        reference = model.gru(x)[0][:, -1, :]  # nn.GRU, the module cuDNN runs on CUDA
        assert torch.allclose(last, reference, atol=1e-12)
        params = [x] + list(model.gru.parameters())
        grads = torch.autograd.grad((last * weight).sum(), params)
        expected = torch.autograd.grad((reference * weight).sum(), params)
        for g, e in zip(grads, expected):
            assert torch.allclose(g, e, atol=1e-12)
        with torch.no_grad():  # the inference path (no hidden-state history) gives the same
            assert torch.allclose(model._last_output(x), reference, atol=1e-12)


@pytest.mark.parametrize("gate_budget, chunk_budget", [(1 << 24, 1 << 22), (0, 1), (0, 16 * 6 * 4 * 2)],
                         ids=["gates kept", "recomputed a step at a time", "recomputed in chunks of 2"])
def test_lean_gru_layer_passes_gradcheck_for_sequence_and_last_outputs(monkeypatch, gate_budget, chunk_budget):
    monkeypatch.setattr(gru_cpu, "GATE_BUDGET", gate_budget)
    monkeypatch.setattr(gru_cpu, "CHUNK_BUDGET", chunk_budget)
    torch.manual_seed(5)
    gru = torch.nn.GRU(3, 4).double()
    x = torch.randn(5, 6, 3, dtype=torch.float64, requires_grad=True)  # [T, n, F]
    h0 = torch.randn(6, 4, dtype=torch.float64, requires_grad=True)
    weights = [p.detach().clone().requires_grad_() for p in gru.parameters()]
    for sequence in (True, False):
        assert torch.autograd.gradcheck(lambda *a: GRULayer.apply(*a, sequence), (x, h0, *weights))


def test_tanh_via_sigmoid():
    a = torch.linspace(-20, 20, 4001, dtype=torch.float64)
    assert torch.allclose(tanh_(a.clone()), torch.tanh(a), rtol=0, atol=1e-15)
    a32 = a.float()
    assert float((tanh_(a32.clone()) - torch.tanh(a32)).abs().max()) < 3e-7


def test_lean_gru_float32_training_gradients_match_nn_gru():
    torch.manual_seed(6)
    model = FactorGRU(6, hidden=16, n_factors=4, dropout=0.0)
    x, label = torch.randn(200, 20, 6), torch.randn(200)
    prediction, units = model(x)
    factor_loss(prediction, units, label, 20.0).backward()
    lean = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    units = batch_standardise(model.head(model.gru(x)[0][:, -1, :]))
    prediction = batch_standardise(units.mean(dim=1, keepdim=True))[:, 0]
    factor_loss(prediction, units, label, 20.0).backward()
    for g, e in zip(lean, [p.grad for p in model.parameters()]):
        assert torch.allclose(g, e, atol=1e-5, rtol=1e-4)


def test_inference_in_row_blocks_equals_one_block(monkeypatch):
    torch.manual_seed(7)
    for num_layers in (1, 2):  # the last output, and a whole sequence between layers
        model = FactorGRU(4, hidden=8, n_factors=3, dropout=0.0, num_layers=num_layers).double().eval()
        x = torch.randn(30, 6, 4, dtype=torch.float64)
        reference = model.gru(x)[0][:, -1, :]
        with torch.no_grad():
            whole = model._last_output(x)
            monkeypatch.setattr(gru_cpu, "INFERENCE_BLOCK", 3 * 8 * 7)  # blocks of 7 rows: 7, 7, 7, 7, 2
            blocked = model._last_output(x)
            monkeypatch.undo()
        assert torch.allclose(blocked, whole, rtol=0, atol=1e-13)
        assert torch.allclose(blocked, reference, atol=1e-12)
