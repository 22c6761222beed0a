"""The GRU factor models of the report (SPEC §4): `uni` (one factor) and `multi` (K factor units).

A GRU reads a window of T daily feature vectors; its last step's output goes through dropout and
a linear layer to K raw factors. Every batch norm here standardises over the batch (one trading
day's cross-section) with the batch's own population statistics, with no affine terms, in
training *and* inference. So each output is a cross-sectional z-score and, against a
z-scored label, MSE = 2 (1 − Pearson corr): the report's remark that MSE, −corr and CCC agree.

- uni:   prediction = bn(Linear(H→1)(h)); units = prediction[:, None].
- multi: z = bn(Linear(H→K)(h)) per unit; c = mean_k z_k; prediction = bn(c); units = z.
Loss (report §2.3): MSE(prediction, label) + λ / (N K²) · ‖Zᵀ Z‖_F (the orthogonal penalty).
"""
from __future__ import annotations

import torch
from torch import nn

# Keeps a constant cross-section finite (it maps to 0) without moving non-degenerate z-scores:
# added to a variance, so it is negligible next to any real spread of float32 outputs.
_BN_EPS = 1e-12


def batch_standardise(x: torch.Tensor) -> torch.Tensor:
    """Standardise each column of x over dim 0 (the stocks of one day): population std, ddof 0."""
    mean = x.mean(dim=0, keepdim=True)
    var = x.var(dim=0, unbiased=False, keepdim=True)
    return (x - mean) / torch.sqrt(var + _BN_EPS)


def segment_standardise(x: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """`batch_standardise` of each segment of consecutive rows of x (segment i has counts[i]
    rows: one day's stocks), in one pass over all segments: several days' inference at once."""
    seg = torch.repeat_interleave(torch.arange(len(counts), device=x.device), counts)
    n = counts.to(x.dtype)[:, None]
    mean = x.new_zeros(len(counts), x.shape[1]).index_add_(0, seg, x) / n
    d = x - mean[seg]
    var = x.new_zeros(len(counts), x.shape[1]).index_add_(0, seg, d * d) / n
    return d / torch.sqrt(var + _BN_EPS)[seg]


def _tanh_(a: torch.Tensor) -> torch.Tensor:
    """tanh(a) = 2 σ(2a) − 1, in place: torch's CPU tanh is ~3× slower than its sigmoid (0.77
    against 0.25 ms for 4,500 × 64 floats, one thread, CPU time); the two agree to 2e-7."""
    return torch.sigmoid_(a.mul_(2)).mul_(2).sub_(1)


class _GRULayer(torch.autograd.Function):
    """One GRU layer over a time-major sequence with nn.GRU's equations and weights, whose backward
    pass keeps only the hidden states h_0 … h_T and recomputes each step's gates.

    nn.GRU on a CPU keeps every step's gate tensors for backward: +681 MiB peak for one
    4,500-stock day at T = 40, H = 64, against +130 MiB here, and this layer is no slower
    (benchmarks/gru_cpu.py, docs/benchmarks.md). It keeps (T + 1) · n · H floats; on CUDA
    FactorGRU uses cuDNN's GRU instead.
        r = σ(W_ir x + b_ir + W_hr h + b_hr),  z = σ(W_iz x + b_iz + W_hz h + b_hz)
        c = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)),  h' = (1 − z) ⊙ c + z ⊙ h
    (tanh computed by `_tanh_`). Without autograd (inference) FactorGRU runs `_gru_inference`.
    """

    @staticmethod
    def _gates(x_t, h, w_ih, w_hh, b_ih, b_hh):
        i_r, i_z, i_n = torch.addmm(b_ih, x_t, w_ih.t()).chunk(3, 1)
        h_r, h_z, h_n = torch.addmm(b_hh, h, w_hh.t()).chunk(3, 1)
        r = torch.sigmoid(i_r + h_r)
        z = torch.sigmoid(i_z + h_z)
        return r, z, h_n, _tanh_(torch.addcmul(i_n, r, h_n))

    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh, sequence: bool):
        """x [T, n, F], h0 [n, H] → every step's output [T, n, H] if `sequence`, else h_T [n, H]."""
        steps = x.shape[0]
        hs = x.new_empty(steps + 1, *h0.shape)
        hs[0] = h0
        for t in range(steps):
            _, z, _, c = _GRULayer._gates(x[t], hs[t], w_ih, w_hh, b_ih, b_hh)
            torch.addcmul(c, z, hs[t] - c, out=hs[t + 1])
        ctx.save_for_backward(x, hs, w_ih, w_hh, b_ih, b_hh)
        ctx.sequence = sequence
        return hs[1:] if sequence else hs[steps]

    @staticmethod
    def backward(ctx, grad_out):
        x, hs, w_ih, w_hh, b_ih, b_hh = ctx.saved_tensors
        dx = torch.empty_like(x) if ctx.needs_input_grad[0] else None  # not for the data layer
        dw_ih, dw_hh = torch.zeros_like(w_ih), torch.zeros_like(w_hh)
        db_ih, db_hh = torch.zeros_like(b_ih), torch.zeros_like(b_hh)
        dh = torch.zeros_like(hs[0]) if ctx.sequence else grad_out
        for t in range(x.shape[0] - 1, -1, -1):
            if ctx.sequence:
                dh = dh + grad_out[t]
            h = hs[t]
            r, z, h_n, c = _GRULayer._gates(x[t], h, w_ih, w_hh, b_ih, b_hh)
            da_n = dh * (1 - z) * (1 - c * c)  # through c = tanh(a_n)
            da_r = da_n * h_n * r * (1 - r)
            da_z = dh * (h - c) * z * (1 - z)
            d_gi = torch.cat([da_r, da_z, da_n], 1)
            d_gh = torch.cat([da_r, da_z, da_n * r], 1)
            dw_ih.addmm_(d_gi.t(), x[t])
            db_ih += d_gi.sum(0)
            dw_hh.addmm_(d_gh.t(), h)
            db_hh += d_gh.sum(0)
            if dx is not None:
                torch.mm(d_gi, w_ih, out=dx[t])
            dh = torch.addmm(dh * z, d_gh, w_hh)
        return dx, dh, dw_ih, dw_hh, db_ih, db_hh, None


def _gru_inference(x, h0, w_ih, w_hh, b_ih, b_hh, sequence: bool) -> torch.Tensor:
    """`_GRULayer.forward` without autograd, for inference: for the last step's output it keeps
    only h_t, not h_0 … h_T, so predicting many days in one forward stays lean."""
    outputs = [] if sequence else None
    h = h0
    for t in range(x.shape[0]):
        _, z, _, c = _GRULayer._gates(x[t], h, w_ih, w_hh, b_ih, b_hh)
        h = torch.addcmul(c, z, h - c)
        if sequence:
            outputs.append(h)
    return torch.stack(outputs) if sequence else h


class FactorGRU(nn.Module):
    """GRU → dropout → Linear(H→K) → per-unit batch norm (→ mean → batch norm for K > 1)."""

    def __init__(self, n_features: int, hidden: int = 64, n_factors: int = 1, dropout: float = 0.1,
                 num_layers: int = 1):
        super().__init__()
        self.args = dict(n_features=n_features, hidden=hidden, n_factors=n_factors,
                         dropout=dropout, num_layers=num_layers)
        # nn.GRU's own dropout acts only between stacked layers (it warns when num_layers == 1).
        self.gru = nn.GRU(n_features, hidden, num_layers=num_layers, batch_first=True,
                          dropout=dropout if num_layers > 1 else 0.0)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden, n_factors)

    def forward(self, x: torch.Tensor, counts: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """x [N, T, F] → (prediction [N], units [N, K]). Batch norms standardise over all N rows,
        or, given `counts` (int64 [D], summing to N), over each of D consecutive segments (days)."""
        def norm(v):
            return batch_standardise(v) if counts is None else segment_standardise(v, counts)

        last = self._last_output(x)
        units = norm(self.head(self.dropout(last)))
        if units.shape[1] == 1:
            return units[:, 0], units
        prediction = norm(units.mean(dim=1, keepdim=True))[:, 0]
        return prediction, units

    def _last_output(self, x: torch.Tensor) -> torch.Tensor:
        """The GRU's output at the last step, [N, H]: cuDNN's GRU on CUDA; on other devices the
        memory-lean `_GRULayer` (same weights and equations; outputs agree to float rounding)."""
        if x.is_cuda:
            return self.gru(x)[0][:, -1, :]
        seq = x.transpose(0, 1).contiguous()  # [T, N, F]; free for WindowSource.gather's layout
        h0 = x.new_zeros(x.shape[0], self.gru.hidden_size)
        for layer in range(self.gru.num_layers):
            if layer > 0:  # nn.GRU's dropout between stacked layers
                seq = nn.functional.dropout(seq, self.gru.dropout, self.training)
            weights = [getattr(self.gru, f"{w}_l{layer}") for w in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
            sequence = layer < self.gru.num_layers - 1
            if torch.is_grad_enabled():
                seq = _GRULayer.apply(seq, h0, *weights, sequence)
            else:
                seq = _gru_inference(seq, h0, *weights, sequence)
        return seq


def factor_loss(prediction: torch.Tensor, units: torch.Tensor, label: torch.Tensor,
                ortho_lambda: float) -> torch.Tensor:
    """MSE + ortho_lambda / (N K²) · ‖unitsᵀ units‖_F (SPEC §4; Frobenius norm, not squared).

    With standardised units, unitsᵀ units / N is the units' correlation matrix, so the penalty is
    ortho_lambda · ‖corr‖_F / K²: it pushes the factor units apart (report §2.3–2.4).
    """
    mse = torch.mean((prediction - label) ** 2)
    if ortho_lambda == 0:
        return mse
    n, k = units.shape
    gram = units.T @ units
    return mse + ortho_lambda / (n * k * k) * torch.linalg.matrix_norm(gram, ord="fro")
