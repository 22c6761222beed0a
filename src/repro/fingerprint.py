"""Fingerprints of the data a model was trained on, stored in its checkpoint (SPEC §5; STYLE:
"checkpoints record what built them"). A resumed run checks it before reusing a partial state."""
from __future__ import annotations

import hashlib

import numpy as np

from .panel import Panel


def panel_digest(p: Panel) -> str:
    """sha256 of a panel's shape, dates, codes, feature names and a strided sample of its values."""
    h = hashlib.sha256()
    h.update(repr(p.values.shape).encode())
    h.update(p.dates.astype("datetime64[D]").astype(np.int64).tobytes())
    h.update("\0".join(map(str, p.codes)).encode())
    h.update("\0".join(p.features).encode())
    flat = p.values.reshape(-1)
    step = max(1, flat.size // 65536)
    h.update(np.ascontiguousarray(flat[::step], dtype=np.float32).tobytes())
    return h.hexdigest()


def data_fingerprint(*digests: str) -> str:
    """The training data's fingerprint: sha256 over its panels' `panel_digest`s."""
    return hashlib.sha256("".join(digests).encode()).hexdigest()
