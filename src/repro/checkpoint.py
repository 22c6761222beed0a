"""Resumable training state (SPEC §5): every epoch the whole state (model, optimiser, RNG
states, best weights, patience counter, log) is written atomically to `<checkpoint>.partial`; a
rerun after a kill resumes from it only when its identity (config, seed, data) matches, and ends
with exactly the result of an uninterrupted run."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import torch

from .atomic import atomic_file


def partial_path(checkpoint_path: Path | None) -> Path | None:
    """`<checkpoint>.partial`, where the per-epoch state goes; None without a checkpoint."""
    return checkpoint_path.with_name(checkpoint_path.name + ".partial") if checkpoint_path else None


def rng_state(gen: torch.Generator) -> dict:
    """torch's global RNG (dropout), the day-order generator and CUDA's RNGs where present."""
    state = {"torch": torch.get_rng_state(), "shuffle": gen.get_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict, gen: torch.Generator) -> None:
    """Restore what `rng_state` saved."""
    # RNG states are CPU byte tensors; torch.load(map_location=cuda) may have moved them.
    torch.set_rng_state(state["torch"].cpu())
    gen.set_state(state["shuffle"].cpu())
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])


def atomic_save(obj, path: Path) -> None:
    """torch.save to a temporary file, then rename: a kill never leaves half a checkpoint."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path) as tmp:
        torch.save(obj, tmp)


def write_log(rows: list[dict], path: Path | None) -> None:
    """The epoch log (one row per epoch) as CSV, atomically; nothing when `path` is None."""
    if path is None:
        return
    with atomic_file(path) as tmp:
        pd.DataFrame(rows).to_csv(tmp, index=False)
