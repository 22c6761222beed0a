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

from .gru_cpu import GRULayer, gru_inference

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
        """The GRU's output at the last step, [N, H]: cuDNN's GRU on CUDA; on other devices
        `repro.gru_cpu` (same weights and equations; outputs agree to float rounding)."""
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
                seq = GRULayer.apply(seq, h0, *weights, sequence)
            else:
                seq = gru_inference(seq, h0, *weights, sequence)
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
