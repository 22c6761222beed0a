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


# Time steps per block in _GRULayer: a block's gate tensors hold ≤ 2**19 · (a few) floats, so at
# the report's shape (4,500 stocks, H = 64) a block is one step (peak memory as before) while at
# the demo's (225 stocks, H = 32) all T = 10 steps are one block (few, larger operations).
_BLOCK_ELEMENTS = 1 << 19


def _block_steps(n: int, hidden: int) -> int:
    return max(1, _BLOCK_ELEMENTS // max(1, n * hidden))


class _GRULayer(torch.autograd.Function):
    """One GRU layer over a time-major sequence with nn.GRU's equations and weights, whose backward
    pass keeps only the hidden states h_0 … h_T and recomputes the gates.

    nn.GRU on a CPU keeps every step's gate tensors for backward: +681 MiB peak for one
    4,500-stock day at T = 40, H = 64, against +130 MiB here (benchmarks/gru_cpu.py,
    docs/benchmarks.md). It keeps (T + 1) · n · H floats; on CUDA FactorGRU uses cuDNN's GRU.
        r = σ(W_ir x + b_ir + W_hr h + b_hr),  z = σ(W_iz x + b_iz + W_hz h + b_hz)
        c = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)),  h' = (1 − z) ⊙ c + z ⊙ h
    (tanh evaluated as 2 σ(2a) − 1, `_tanh_via_sigmoid`). Speed (benchmarks/step.py): the input projections W_i· x of a block of time steps are one
    matrix product, and so, in backward, are the recomputed gates, the weight gradients and the
    input gradient of a block; only what the recurrence needs runs step by step (forward: one
    matrix product and six element-wise operations; backward: one product and five).
    """

    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh, sequence: bool):
        """x [T, n, F], h0 [n, H] → every step's output [T, n, H] if `sequence`, else h_T [n, H]."""
        steps, n, hidden = x.shape[0], x.shape[1], h0.shape[1]
        hs = x.new_empty(steps + 1, n, hidden)
        hs[0] = h0
        _run_gru(x, hs, w_ih, w_hh, b_ih, b_hh, _block_steps(n, hidden))
        ctx.save_for_backward(x, hs, w_ih, w_hh, b_ih, b_hh)
        ctx.sequence = sequence
        return hs[1:] if sequence else hs[steps]

    @staticmethod
    def backward(ctx, grad_out):
        x, hs, w_ih, w_hh, b_ih, b_hh = ctx.saved_tensors
        steps, n, f = x.shape
        hidden = hs.shape[2]
        h2 = 2 * hidden
        dx = torch.empty_like(x) if ctx.needs_input_grad[0] else None  # not for the data layer
        dw_ih, dw_hh = torch.zeros_like(w_ih), torch.zeros_like(w_hh)
        db_ih, db_hh = torch.zeros_like(b_ih), torch.zeros_like(b_hh)
        dh = torch.zeros_like(hs[0]) if ctx.sequence else grad_out
        block = _block_steps(n, hidden)
        w_ih2, b_ih2 = _doubled_n(w_ih, b_ih)
        for t0 in range(((steps - 1) // block) * block, -1, -block):
            t1 = min(t0 + block, steps)
            size = t1 - t0
            x_b, h_b = x[t0:t1].reshape(-1, f), hs[t0:t1].reshape(-1, hidden)  # step inputs, h_{t-1}
            gi = torch.addmm(b_ih2, x_b, w_ih2.t()).view(size, n, 3 * hidden)
            gh = torch.addmm(b_hh, h_b, w_hh.t()).view(size, n, 3 * hidden)
            rz = torch.sigmoid_(gh[..., :h2] + gi[..., :h2])
            r, z, h_n = rz[..., :hidden], rz[..., hidden:], gh[..., h2:]
            c = _tanh_via_sigmoid(torch.addcmul(gi[..., h2:], r, h_n, value=2))  # as in forward
            del gi
            # Per-step coefficients of the recurrence, for the whole block at once.
            a_n = (1 - z) * (1 - c * c)  # dh → da_n (c = tanh(a_n))
            a_z = (hs[t0:t1] - c) * z * (1 - z)  # dh → da_z
            a_r = h_n * r * (1 - r)  # da_n → da_r
            del c, h_n
            d_gh = torch.empty(size, n, 3 * hidden, dtype=x.dtype, device=x.device)  # [da_r, da_z, da_n r]
            da_n = torch.empty(size, n, hidden, dtype=x.dtype, device=x.device)
            for i in range(size - 1, -1, -1):
                if ctx.sequence:
                    dh = dh + grad_out[t0 + i]
                torch.mul(dh, a_n[i], out=da_n[i])
                torch.mul(dh, a_z[i], out=d_gh[i, :, hidden:h2])
                torch.mul(da_n[i], a_r[i], out=d_gh[i, :, :hidden])
                torch.mul(da_n[i], r[i], out=d_gh[i, :, h2:])
                dh = torch.addmm(dh * z[i], d_gh[i], w_hh)
            d_gi = torch.cat([d_gh[..., :h2], da_n], 2).view(-1, 3 * hidden)
            d_gh = d_gh.view(-1, 3 * hidden)
            dw_ih.addmm_(d_gi.t(), x_b)
            db_ih += d_gi.sum(0)
            dw_hh.addmm_(d_gh.t(), h_b)
            db_hh += d_gh.sum(0)
            if dx is not None:
                torch.mm(d_gi, w_ih, out=dx[t0:t1].view(-1, f))
        return dx, dh, dw_ih, dw_hh, db_ih, db_hh, None


def _doubled_n(w_ih: torch.Tensor, b_ih: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """W_ih and b_ih with the candidate rows (W_in, b_in) times 2 (exact in floating point), so
    the input projection gives 2 (W_in x + b_in) for `_tanh_via_sigmoid`."""
    hidden = w_ih.shape[0] // 3
    scale = torch.ones(3 * hidden, 1, dtype=w_ih.dtype, device=w_ih.device)
    scale[2 * hidden:] = 2
    return w_ih * scale, b_ih * scale[:, 0]


def _tanh_via_sigmoid(a2: torch.Tensor) -> torch.Tensor:
    """tanh(a) = 2 σ(2a) − 1 from a2 = 2a, in place: torch's CPU tanh is ~3× slower than its
    sigmoid (0.77 against 0.25 ms for 4,500 × 64 floats, one thread); the two agree to 2e-7."""
    return torch.sigmoid_(a2).mul_(2).sub_(1)


def _run_gru(x, hs, w_ih, w_hh, b_ih, b_hh, block: int) -> None:
    """The GRU recurrence (nn.GRU's equations): hs[t + 1] from hs[t] and x[t] for every step, the
    input projections of `block` steps at a time in one matrix product. `hs` [T + 1, n, H] holds
    h_0 on entry."""
    steps, n, f = x.shape
    hidden = hs.shape[2]
    h2 = 2 * hidden
    w_ih2, b_ih2 = _doubled_n(w_ih, b_ih)
    for t0 in range(0, steps, block):
        t1 = min(t0 + block, steps)
        gi = torch.addmm(b_ih2, x[t0:t1].reshape(-1, f), w_ih2.t()).view(t1 - t0, n, 3 * hidden)
        for t in range(t0, t1):
            h = hs[t]
            gh = torch.addmm(b_hh, h, w_hh.t())
            rz = torch.sigmoid_(gh[:, :h2].add_(gi[t - t0, :, :h2]))
            c = _tanh_via_sigmoid(torch.addcmul(gi[t - t0, :, h2:], rz[:, :hidden], gh[:, h2:], value=2))
            torch.addcmul(c, rz[:, hidden:], h - c, out=hs[t + 1])


def _gru_inference(x, h0, w_ih, w_hh, b_ih, b_hh, sequence: bool) -> torch.Tensor:
    """`_GRULayer.forward` without autograd: for the last step's output it keeps one block of
    hidden states at a time, not all T + 1, so predicting many days at once stays lean."""
    steps, n = x.shape[:2]
    hidden = h0.shape[1]
    block = _block_steps(n, hidden)
    if sequence:  # the next layer reads every step
        hs = x.new_empty(steps + 1, n, hidden)
        hs[0] = h0
        _run_gru(x, hs, w_ih, w_hh, b_ih, b_hh, block)
        return hs[1:]
    h = h0
    for t0 in range(0, steps, block):
        t1 = min(t0 + block, steps)
        hs = x.new_empty(t1 - t0 + 1, n, hidden)
        hs[0] = h
        _run_gru(x[t0:t1], hs, w_ih, w_hh, b_ih, b_hh, block)
        h = hs[t1 - t0]
    return h


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
