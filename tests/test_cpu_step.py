"""The CPU training step's hand-derived loss and gradients (repro.cpu_step) against autograd's,
and Adam over one flat buffer (repro.flat_adam) against torch.optim.Adam."""
import pytest
import torch

from repro import cpu_step, gru_cpu
from repro.flat_adam import FlatAdam
from repro.model import FactorGRU, batch_standardise, factor_loss


def _day(n=40, steps=7, features=4, dtype=torch.float64, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, steps, features, generator=g, dtype=dtype)
    label = batch_standardise(torch.randn(n, 1, generator=g, dtype=dtype))[:, 0]
    return x, label


@pytest.mark.parametrize("factors, ortho_lambda, dropout", [(1, 0.0, 0.0), (1, 0.0, 0.3), (5, 20.0, 0.0),
                                                            (5, 20.0, 0.3), (5, 0.0, 0.3)])
@pytest.mark.parametrize("keep_gates", [True, False])
def test_loss_and_gradients_equal_autograd(monkeypatch, factors, ortho_lambda, dropout, keep_gates):
    if not keep_gates:  # the report-sized path: gates recomputed, two steps a chunk
        monkeypatch.setattr(gru_cpu, "GATE_BUDGET", 0)
        monkeypatch.setattr(gru_cpu, "CHUNK_BUDGET", 16 * 40 * 8 * 2)
    torch.manual_seed(0)
    model = FactorGRU(4, hidden=8, n_factors=factors, dropout=dropout).double().train()
    x, label = _day()
    torch.manual_seed(1)  # the same dropout mask on both paths
    expected = factor_loss(*model(x), label, ortho_lambda)
    expected.backward()
    expected_grads = [p.grad.clone() for p in model.parameters()]
    model.zero_grad(set_to_none=True)
    torch.manual_seed(1)
    loss = cpu_step.loss_and_gradients(model, x, label, ortho_lambda)
    assert abs(float(loss) - float(expected.detach())) < 1e-12
    for p, e in zip(model.parameters(), expected_grads):
        torch.testing.assert_close(p.grad, e, rtol=0, atol=1e-10)
    # The step drew exactly what nn.Dropout draws: the rest of a run sees the same random stream.
    after_step = torch.get_rng_state()
    torch.manual_seed(1)
    model(x)
    assert after_step.equal(torch.get_rng_state())


def test_a_constant_cross_section_gives_finite_gradients():
    torch.manual_seed(0)
    model = FactorGRU(4, hidden=8, n_factors=3, dropout=0.0).double()
    x = torch.ones(20, 5, 4, dtype=torch.float64)  # every stock alike: outputs standardise to 0
    with torch.no_grad():  # and exactly alike on any machine (products could leave rows ulps apart)
        model.head.weight.zero_()
    label = batch_standardise(torch.randn(20, 1, dtype=torch.float64))[:, 0]
    loss = cpu_step.loss_and_gradients(model, x, label, 20.0)
    assert torch.isfinite(loss) and all(torch.isfinite(p.grad).all() for p in model.parameters())


def test_flat_adam_gives_torch_adams_numbers_and_resumes():
    torch.manual_seed(0)
    ours, theirs = FactorGRU(4, hidden=8, n_factors=5), FactorGRU(4, hidden=8, n_factors=5)
    theirs.load_state_dict(ours.state_dict())
    flat, reference = FlatAdam(ours.parameters(), lr=0.01), torch.optim.Adam(theirs.parameters(), lr=0.01)
    g = torch.Generator().manual_seed(1)
    for step in range(30):
        for p, q in zip(ours.parameters(), theirs.parameters()):
            grad = torch.randn(p.shape, generator=g) * 10 ** (step % 4 - 2)
            p.grad, q.grad = grad.clone(), grad.clone()
        flat.step()
        reference.step()
        if step == 14:  # a checkpoint mid-run, restored into a fresh model and optimiser
            state, weights = flat.state_dict(), {k: v.clone() for k, v in ours.state_dict().items()}
            ours = FactorGRU(4, hidden=8, n_factors=5)
            ours.load_state_dict(weights)
            flat = FlatAdam(ours.parameters(), lr=0.5)
            flat.load_state_dict(state)
    for p, q in zip(ours.parameters(), theirs.parameters()):
        assert torch.equal(p, q)  # bit for bit
    assert ours.gru.weight_hh_l0.data_ptr() == flat.flat.data_ptr() + 4 * ours.gru.weight_ih_l0.numel()


def test_flat_adam_refuses_a_missing_gradient():
    model = FactorGRU(4, hidden=8)
    opt = FlatAdam(model.parameters())
    with pytest.raises(RuntimeError, match="no gradient"):
        opt.step()


def test_flat_adam_refuses_parameters_moved_after_it_was_made():
    model = FactorGRU(4, hidden=8)
    opt = FlatAdam(model.parameters())
    model.double()  # new storage for every parameter: an update of the flat buffer would be lost
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    with pytest.raises(RuntimeError, match="no longer views"):
        opt.step()


def test_a_two_layer_model_trains_through_autograd_and_flat_adam():
    from repro.training import make_optimiser, training_step

    torch.manual_seed(0)
    model = FactorGRU(4, hidden=8, n_factors=3, num_layers=2)
    assert not cpu_step.supports(model, torch.zeros(1, 5, 4))
    opt = make_optimiser(model, 0.01)
    assert isinstance(opt, FlatAdam)
    before = [p.detach().clone() for p in model.parameters()]
    x, label = _day(dtype=torch.float32)
    training_step(model.train(), opt, x, label, 20.0, 3.0)
    assert all(not torch.equal(b, p) for b, p in zip(before, model.parameters()))
