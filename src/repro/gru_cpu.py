"""The GRU layer on a CPU: nn.GRU's equations and weights, forward and hand-derived backward,
written to keep the number of tensor operations per time step small (on a CPU a step of a
demo-sized day, 225 × 32 floats, costs a few µs of arithmetic and several µs of per-operation
overhead each).

    r = σ(W_ir x + b_ir + W_hr h + b_hr),  z = σ(W_iz x + b_iz + W_hz h + b_hz)
    c = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)),  h' = (1 − z) ⊙ c + z ⊙ h

- Forward: the input projections of many steps in one matrix product (`_projections`); per
  step one product with W_hh, added to them in place, and seven elementwise operations (three of
  them the tanh, computed by `tanh_`).
- Backward: with the gates known (kept from the forward when they fit `GATE_BUDGET`, else
  recomputed chunk by chunk from the saved h_0 … h_T with one product per chunk), every gradient
  of a step is the incoming dh times coefficients that do not depend on dh:
      d a_r = dh ⊙ A ⊙ h_n ⊙ r(1 − r),  d a_z = dh ⊙ (h − c) ⊙ z(1 − z),  d a_n = dh ⊙ A,
      d(W_hn h + b_hn) = dh ⊙ A ⊙ r,  A = (1 − z)(1 − c²),  dh_prev = dh ⊙ z + d(W_hh h) W_hh,
  so the sequential part is four operations a step; the coefficients and the weight gradients
  (one product over all steps of a chunk) are computed for many steps at once.
Memory: h_0 … h_T always ((T + 1) · n · H floats); the gates (6 · T · n · H floats) only under
`GATE_BUDGET`, else a chunk's worth at a time (`CHUNK_BUDGET`). Tested against nn.GRU (float64,
1e-12) and by gradcheck (tests/test_model.py).
"""
from __future__ import annotations

import torch

# Floats the kept gates may take (64 MiB): a demo day (10 × 225 × 32 · 6 = 0.4 M) keeps them, a
# report-sized day (40 × 4,500 × 64 · 6 = 69 M) recomputes them, so the memory target holds.
GATE_BUDGET = 1 << 24
# Floats of a block of steps' input projections (forward) or of a chunk's temporaries (≈ 16
# [n, H] tensors a step; backward) when the gates are not kept. Small blocks stay in cache: a
# full-market training step took 260–300 ms at 2**19–2**20 against 330–360 ms at 2**22.
CHUNK_BUDGET = 1 << 20
# Floats of one gate tensor [rows, 3H] in inference (1 MiB: 2,730 rows at H = 32).
INFERENCE_BLOCK = 1 << 18
# 0-dim operands: a Python number costs a conversion to a tensor in every operation it is in
_MINUS_ONE, _ONE = torch.tensor(-1.0), torch.tensor(1.0)


def tanh_(a: torch.Tensor) -> torch.Tensor:
    """tanh(a) = 2 σ(2a) − 1, in place (the two agree to 2e-7). Not torch.tanh: on a CPU with
    MKL it goes through MKL's vector math, whose result for the same input differed in 6 of 150
    processes on this project's machines (a [225, 32] tensor; σ never did), which would make
    training runs irreproducible; it is also slower on some CPUs (≈ 3× torch's σ on one)."""
    s = torch.sigmoid_(a.add_(a))  # a + a: 2a exactly
    return torch.add(_MINUS_ONE, s, alpha=2, out=s)  # 2s exactly, so one rounding, as 2s − 1


def _projections(x, w_ih, b_ih, b_hh, hidden: int, out=None):
    """The input side of m steps in one product, x [m, n, F] → (g [m, n, 3H], gin [m, n, H]):
    g = [W_i(r,z) x + b_i(r,z) + b_h(r,z) | b_hn], to which a step adds W_hh h in place (one
    `addmm_`, where a product with a bias and an addition of the r, z parts were two
    operations), and gin = W_in x + b_in."""
    m, n, nf = x.shape
    h2 = 2 * hidden
    bias = torch.cat([b_ih[:h2] + b_hh[:h2], b_ih[h2:]])
    g = torch.addmm(bias, x.reshape(m * n, nf), w_ih.t(), out=out).view(m, n, 3 * hidden)
    gin = g[..., h2:].clone()
    g[..., h2:] = b_hh[h2:]
    return g, gin


def _projection_block(steps: int, n: int, hidden: int) -> int:
    """How many steps' input projections are made at once when they are not all kept: ≤
    CHUNK_BUDGET floats, so they stay in cache (all 40 steps of a full-market day would be 138 MB)."""
    return max(1, min(steps, CHUNK_BUDGET // (n * 3 * hidden)))


def _gates(g, gin, hidden: int, rz_out=None, c_out=None):
    """σ of the r and z pre-activations, and c, from g = [r, z pre-activations | W_hn h + b_hn]
    [..., 3H] and gin = W_in x + b_in — the one place the gate equations are written."""
    rz = torch.sigmoid(g[..., :2 * hidden], out=rz_out)
    return rz, tanh_(torch.addcmul(gin, rz[..., :hidden], g[..., 2 * hidden:], out=c_out))


def gru_forward(x, h0, w_ih, w_hh, b_ih, b_hh, keep_gates: bool):
    """x [T, n, F] → (hs [T + 1, n, H] with hs[0] = h0, gates): gates are (g [T, n, 3H] whose
    last H columns are W_hn h + b_hn, σ of the r and z pre-activations [T, n, 2H], c [T, n, H])
    if `keep_gates`, else None."""
    steps, n, nf = x.shape
    hidden = h0.shape[1]
    h3 = 3 * hidden
    hs = x.new_empty(steps + 1, n, hidden)
    hs[0].copy_(h0)
    if keep_gates:
        gates = x.new_empty(steps, n, h3), x.new_empty(steps, n, 2 * hidden), x.new_empty(steps, n, hidden)
        rz_s, c_s = gates[1].unbind(0), gates[2].unbind(0)
    else:  # one step's buffers, reused
        gates = None
        rz_s, c_s = ([x.new_empty(n, size)] * steps for size in (2 * hidden, hidden))
    tmp, w_hh_t, h_s = x.new_empty(n, hidden), w_hh.t(), hs.unbind(0)
    block = steps if keep_gates else _projection_block(steps, n, hidden)
    for s0 in range(0, steps, block):
        s1 = min(steps, s0 + block)
        g, gin = _projections(x[s0:s1], w_ih, b_ih, b_hh, hidden,
                              out=gates[0][s0:s1].view(-1, h3) if keep_gates else None)
        for t, g_t, gin_t in zip(range(s0, s1), g.unbind(0), gin.unbind(0)):
            rz, c = _gates(g_t.addmm_(h_s[t], w_hh_t), gin_t, hidden, rz_s[t], c_s[t])
            torch.addcmul(c, rz[:, hidden:], torch.sub(h_s[t], c, out=tmp), out=h_s[t + 1])
    return hs, gates


def _recompute_gates(hp, xc, w_ih, w_hh, b_ih, b_hh):
    """The gates of a chunk of m steps from its h_{t} [m, n, H] and inputs [m, n, F]."""
    m, n, hidden = hp.shape
    g, gin = _projections(xc, w_ih, b_ih, b_hh, hidden)
    g.view(m * n, 3 * hidden).addmm_(hp.reshape(m * n, hidden), w_hh.t())
    return (g, *_gates(g, gin, hidden))


def gru_backward(x, hs, gates, w_ih, w_hh, b_ih, b_hh, dh, grad_seq=None, need_dx: bool = False):
    """Gradients of one GRU layer: dh [n, H] is dL/dh_T; `grad_seq` [T, n, H] (optional) adds
    dL/dh_t of every step's output. Returns (dx or None, dL/dh_0, dw_ih, dw_hh, db_ih, db_hh)."""
    steps, n, nf = x.shape
    hidden = hs.shape[2]
    h2, h3 = 2 * hidden, 3 * hidden
    dx = torch.empty_like(x) if need_dx else None
    dw_ih, dw_hh = torch.zeros_like(w_ih), torch.zeros_like(w_hh)
    db_ih, db_hh = torch.zeros_like(b_ih), torch.zeros_like(b_hh)
    size = steps if gates is not None else max(1, min(steps, CHUNK_BUDGET // (16 * n * hidden)))
    for t1 in range(steps, 0, -size):
        t0 = max(0, t1 - size)
        m = t1 - t0
        hp, xc = hs[t0:t1], x[t0:t1].reshape(m * n, nf)
        g, rz, c = gates if gates is not None else _recompute_gates(hp, x[t0:t1], w_ih, w_hh, b_ih, b_hh)
        r, z = rz[..., :hidden], rz[..., hidden:]
        one_z = torch.sub(_ONE, z)
        a = torch.mul(c, c).neg_().add_(_ONE).mul_(one_z)  # A = (1 − z)(1 − c²)
        # per unit of dh: d a_r, d a_z, d(W_hn h + b_hn), side by side as the columns of W_hh's rows
        coef = torch.cat([torch.mul(a, g[..., h2:]).mul_(r).mul_(torch.sub(_ONE, r)),
                          torch.sub(hp, c).mul_(z).mul_(one_z), torch.mul(a, r)], dim=2)
        # dhs[i] = dL/dh_{t0+i+1}; the step before the chunk's first gets its own tensor
        dgh, dhs, dh_first = x.new_empty(m, n, h3), x.new_empty(m, n, hidden), x.new_empty(n, hidden)
        coef_s, dgh_s, z_s = coef.unbind(0), dgh.unbind(0), z.unbind(0)
        dhs_s = (dh_first, *dhs.unbind(0))
        dhs_s[m].copy_(dh)
        for i in range(m - 1, -1, -1):
            d = dhs_s[i + 1]
            if grad_seq is not None:
                d.add_(grad_seq[t0 + i])
            torch.cat([d, d, d], 1, out=dgh_s[i]).mul_(coef_s[i])
            torch.mul(d, z_s[i], out=dhs_s[i]).addmm_(dgh_s[i], w_hh)
        dh = dh_first
        flat = dgh.view(m * n, h3)
        dw_hh.addmm_(flat.t(), hp.reshape(m * n, hidden))
        db_hh += flat.sum(0)
        torch.mul(dhs, a, out=dgh[..., h2:])  # now d(W_ih x + b_ih): its n part is dh ⊙ A, not dh ⊙ A ⊙ r
        dw_ih += torch.mm(xc.t(), flat).t()
        db_ih += flat.sum(0)
        if dx is not None:
            torch.mm(flat, w_ih, out=dx[t0:t1].view(m * n, nf))
    return dx, dh, dw_ih, dw_hh, db_ih, db_hh


def keeps_gates(steps: int, n: int, hidden: int) -> bool:
    """Whether the forward keeps the gates for the backward (see GATE_BUDGET)."""
    return 6 * steps * n * hidden <= GATE_BUDGET


class GRULayer(torch.autograd.Function):
    """One GRU layer over a time-major sequence x [T, n, F] as an autograd function (nn.GRU's
    weights; `gru_forward` / `gru_backward`) → every step's output [T, n, H] if `sequence`, else
    h_T [n, H]. Used for stacked layers; the one-layer training step calls the two directly."""

    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh, sequence: bool):
        hs, gates = gru_forward(x, h0, w_ih, w_hh, b_ih, b_hh, keeps_gates(*x.shape[:2], h0.shape[1]))
        ctx.save_for_backward(x, hs, w_ih, w_hh, b_ih, b_hh, *(gates or ()))
        ctx.sequence = sequence
        return hs[1:] if sequence else hs[-1]

    @staticmethod
    def backward(ctx, grad_out):
        x, hs, w_ih, w_hh, b_ih, b_hh, *gates = ctx.saved_tensors
        dh = torch.zeros_like(hs[0]) if ctx.sequence else grad_out
        grads = gru_backward(x, hs, tuple(gates) or None, w_ih, w_hh, b_ih, b_hh, dh,
                             grad_out if ctx.sequence else None, ctx.needs_input_grad[0])
        return (*grads, None)


def gru_inference(x, h0, w_ih, w_hh, b_ih, b_hh, sequence: bool) -> torch.Tensor:
    """The forward without autograd, for inference: for the last step's output it keeps only h_t,
    not h_0 … h_T, so predicting many days in one forward stays lean. Rows (sequences) are
    independent, so they go through in blocks of `INFERENCE_BLOCK` floats a gate tensor, which
    stay in cache (54,000 rows at T = 10, H = 32: 128 ms in blocks of 2,048 against 233 ms at
    once; the same numbers to float rounding); within a block the input projections are made
    ≤ CHUNK_BUDGET floats at a time (all 40 steps of a block at H = 64, 42 MB, took 237 against
    113 ms for 4,500 rows)."""
    hidden = h0.shape[1]
    rows = max(1, INFERENCE_BLOCK // (3 * hidden))
    blocks = [_inference_block(x[:, i: i + rows], h0[i: i + rows], w_ih, w_hh, b_ih, b_hh, sequence)
              for i in range(0, x.shape[1], rows)]
    return blocks[0] if len(blocks) == 1 else torch.cat(blocks, dim=1 if sequence else 0)


def _inference_block(x, h0, w_ih, w_hh, b_ih, b_hh, sequence: bool) -> torch.Tensor:
    outputs = [] if sequence else None
    h, hidden = h0, h0.shape[1]
    steps, n, _ = x.shape
    block = _projection_block(steps, n, hidden)
    for s0 in range(0, steps, block):
        g, gin = _projections(x[s0: s0 + block], w_ih, b_ih, b_hh, hidden)
        for g_t, gin_t in zip(g.unbind(0), gin.unbind(0)):
            rz, c = _gates(g_t.addmm_(h, w_hh.t()), gin_t, hidden)
            h = torch.addcmul(c, rz[:, hidden:], h - c)
            if sequence:
                outputs.append(h)
    return torch.stack(outputs) if sequence else h
