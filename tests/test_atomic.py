"""Atomic outputs: a failure inside the block leaves neither the target nor a temporary behind."""
import numpy as np
import pytest

from repro.atomic import atomic_dir, atomic_file
from repro.panel import Panel


def test_failed_write_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic_dir(tmp_path / "panel") as tmp:
            (tmp / "values.npy").write_bytes(b"half")
            raise RuntimeError("killed")
    with pytest.raises(RuntimeError):
        with atomic_file(tmp_path / "summary.json") as tmp:
            tmp.write_text("{")
            raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def test_success_replaces_the_old_output(tmp_path):
    out = tmp_path / "p"
    for fill in (1.0, 2.0):
        Panel(["2021-01-04"], ["a"], ["f"], np.full((1, 1, 1), fill, np.float32)).save(out)
    assert Panel.load(out).values[0, 0, 0] == 2.0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p"]


def test_file_keeps_the_suffix_and_normal_permissions(tmp_path):
    import os

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = tmp_path / "fig.png"
    with atomic_file(out) as tmp:
        assert tmp.suffix == ".png"
        fig, _ = plt.subplots()
        fig.savefig(tmp)  # matplotlib picks the format from the suffix
        plt.close(fig)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    mask = os.umask(0)
    os.umask(mask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~mask
