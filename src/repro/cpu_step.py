"""FactorGRU's loss and gradients on a CPU without autograd (one GRU layer): the forward of
`FactorGRU.forward` + `factor_loss` with every intermediate kept, and the hand-derived backward.

On a CPU a demo-sized training step is dominated by per-operation overhead, and autograd's graph
roughly doubles the operations of the head, batch norms and loss. Derivatives used (n stocks,
K units, population statistics, s = √(var + ε), u = (y − ȳ) / s):
- batch norm: dy = (du − mean(du) − u ⊙ mean(du ⊙ u)) / s, per column;
- c̄ = mean_k u_k: du_k += dc̄ / K;
- penalty P = λ / (n K²) · ‖G‖_F with G = Uᵀ U: dU = 2 λ / (n K²) · U G / ‖G‖_F;
- MSE: dprediction = 2 (prediction − label) / n;
- dropout: the same mask as nn.Dropout (bernoulli_(1 − p) / (1 − p), drawn from torch's global
  generator at the same point), so a seed gives the autograd path's model to float rounding.
tests/test_cpu_step.py holds loss and gradients equal to autograd's (float64, 1e-10).
"""
from __future__ import annotations

import torch

from .gru_cpu import gru_backward, gru_forward, keeps_gates
from .model import _BN_EPS, FactorGRU


def supports(model: FactorGRU, x: torch.Tensor) -> bool:
    """Whether `loss_and_gradients` applies: a CPU tensor and one GRU layer."""
    return x.device.type == "cpu" and model.gru.num_layers == 1


def _standardise(y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """`model.batch_standardise`, also returning s = √(var + ε); the variance as the mean of
    squared deviations (4× faster than torch.var here, equal to float rounding)."""
    d = y - y.mean(dim=0, keepdim=True)
    s = torch.sqrt((d * d).mean(dim=0, keepdim=True) + _BN_EPS)
    return d.div_(s), s


def _standardise_backward(du: torch.Tensor, u: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    return (du - du.mean(dim=0, keepdim=True) - u * (du * u).mean(dim=0, keepdim=True)) / s


@torch.no_grad()
def loss_and_gradients(model: FactorGRU, x: torch.Tensor, label: torch.Tensor, ortho_lambda: float) -> torch.Tensor:
    """`factor_loss(*model(x), label, ortho_lambda)` for x [n, T, F] in training mode; sets every
    parameter's .grad to its gradient and returns the loss (detached)."""
    gru, head = model.gru, model.head
    weights = [gru.weight_ih_l0, gru.weight_hh_l0, gru.bias_ih_l0, gru.bias_hh_l0]
    seq = x.transpose(0, 1).contiguous()  # [T, n, F]
    steps, n, _ = seq.shape
    hs, gates = gru_forward(seq, seq.new_zeros(n, gru.hidden_size), *weights,
                            keeps_gates(steps, n, gru.hidden_size))
    last = hs[-1]
    p = model.dropout.p
    mask = None
    if model.training and p > 0:
        mask = torch.empty_like(last).bernoulli_(1 - p).div_(1 - p)
        last = last * mask
    u, s = _standardise(torch.addmm(head.bias, last, head.weight.t()))
    k = u.shape[1]
    if k == 1:
        prediction = u[:, 0]
    else:
        centre, s2 = _standardise(u.mean(dim=1, keepdim=True))
        prediction = centre[:, 0]
    diff = prediction - label
    loss = torch.mean(diff * diff)
    dprediction = (diff * (2.0 / n))[:, None]
    if k == 1:
        du = dprediction
    else:
        du = _standardise_backward(dprediction, centre, s2).div_(k).expand(n, k)
        if ortho_lambda != 0:
            gram = u.T @ u
            norm = torch.linalg.matrix_norm(gram, ord="fro")
            weight = ortho_lambda / (n * k * k)
            loss = loss + weight * norm
            if norm > 0:  # at G = 0 (a constant cross-section) autograd's subgradient is 0 too
                du = torch.addmm(du, u, gram, alpha=2 * weight / norm)
    dy = _standardise_backward(du, u, s)
    head.weight.grad = dy.t() @ last
    head.bias.grad = dy.sum(0)
    dlast = dy @ head.weight
    if mask is not None:
        dlast.mul_(mask)
    _, _, *grads = gru_backward(seq, hs, gates, *weights, dlast)
    for w, g in zip(weights, grads):
        w.grad = g
    return loss
