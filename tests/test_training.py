"""Windows, training loop, early stopping, resume, predictions, seed averaging and studies (SPEC §5)."""
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import torch
from scipy.stats import spearmanr

from repro import cpu_step, training
from repro.config import validate_config
from repro.features.day import normalise_windows
from repro.flat_adam import FlatAdam
from repro.model import FactorGRU
from repro.panel import Panel
from repro.preprocess import apply_stats
from repro.rolling import split_days
from repro.studies import run_study_point, settings_table, study_figures, study_table
from repro.day_batches import day_batches
from repro.metrics.rank_ic import rank_ic
from repro.predict import predict
from repro.seed_average import average_seeds
from repro.training import train_and_predict, train_one, validate
from repro.windows import WindowSource

torch.set_num_threads(1)
REFERENCE = Path(__file__).parents[1] / "config" / "reference"


def make_panels(n_stocks=24, per_year=30, n_features=3, seed=0):
    """Three 'years' of `per_year` trading days; the label is driven by feature 0 of two days ago."""
    dates = np.concatenate([np.busday_offset(f"{y}-01-01", np.arange(per_year), roll="forward")
                            for y in (2020, 2021, 2022)]).astype("datetime64[D]")
    rng = np.random.default_rng(seed)
    d = len(dates)
    x = rng.normal(size=(d, n_stocks, n_features)).astype(np.float32)
    x[3, 5, 1] = np.nan  # a stray gap: must become 0, never NaN in a batch
    signal = np.roll(x[:, :, 0], 2, axis=0) + 0.5 * rng.normal(size=(d, n_stocks))
    target = 0.01 * signal
    label = (target - target.mean(1, keepdims=True)) / target.std(1, keepdims=True)
    sample = np.ones((d, n_stocks))
    sample[:, 0] = 0  # never in the sample
    label[:, 1] = np.nan  # no label: out of train/valid, still predicted on test days
    codes = np.array([f"S{i:03d}" for i in range(n_stocks)])
    features = Panel(dates, codes, [f"f{i}" for i in range(n_features)], x, {"window_norm": "none"})
    labels = Panel(dates, codes, ["target", "label", "sample"],
                   np.stack([target, label, sample], axis=-1).astype(np.float32))
    return features, labels


def make_cfg(**train):
    t = {"test_years": [2022], "train_years": 1, "purge_days": 2, "hidden": 8, "n_factors": 4,
         "max_epochs": 3, "patience": 5, "device": "cpu", "seeds": [0]}
    t.update(train)
    return validate_config({"features": {"window": 5}, "train": t,
                            "studies": {"dataset": "day", "seed": 0}})


# ---------------------------------------------------------------- windows and batches

def test_gather_matches_panel_and_zeroes_nan():
    features, _ = make_panels()
    src = WindowSource(features, window=5)
    stocks = torch.tensor([5, 2])
    x = src.gather(6, stocks)
    assert x.shape == (2, 5, 3)
    expected = np.nan_to_num(features.values[2:7][:, [5, 2]].transpose(1, 0, 2))
    np.testing.assert_array_equal(x.numpy(), expected)
    assert x[0, 1, 1] == 0  # day 3, stock 5, feature 1 was NaN
    with pytest.raises(IndexError):
        src.gather(3, stocks)


def test_gather_from_a_memory_mapped_panel(tmp_path, recwarn):
    features, _ = make_panels()
    features.save(tmp_path / "f")
    mapped = Panel.load(tmp_path / "f", mmap=True)
    x = WindowSource(mapped, window=5).gather(6, torch.tensor([5, 2]))
    np.testing.assert_array_equal(x.numpy(), WindowSource(features, window=5).gather(6, torch.tensor([5, 2])).numpy())
    assert not [w for w in recwarn if "not writable" in str(w.message)]


def test_gather_last_norm_uses_window_normalisation_then_stats():
    rng = np.random.default_rng(1)
    values = rng.uniform(1, 2, size=(10, 4, 6)).astype(np.float32)
    stats = {"median": [1.0] * 6, "mad": [0.1] * 6, "mean": [1.0] * 6, "std": [0.5] * 6}
    panel = Panel(np.arange(10).astype("datetime64[D]"), list("abcd"), list("ohlcvw"), values,
                  {"window_norm": "last", "preprocess": stats, "mad_k": 3.0, "window": 4})
    x = WindowSource(panel, window=4).gather(9, torch.tensor([3, 1])).numpy()
    raw = values[6:10][:, [3, 1]].transpose(1, 0, 2)
    np.testing.assert_allclose(x, apply_stats(normalise_windows(raw), stats, 3.0), rtol=1e-6)
    # by hand: the last row's close over itself is 1 → clipped within 1 ± 0.3 → (1 − 1)/0.5 = 0
    assert x[0, -1, 3] == 0
    with pytest.raises(ValueError, match="fitted on windows of 4 days"):
        WindowSource(panel, window=5)


def test_day_batches_filter_and_restandardise():
    features, labels = make_panels()
    b = day_batches(labels, np.array([10, 11]), "cpu", "train")
    assert len(b) == 2 and [x.day for x in b] == [10, 11]
    assert b[0].stocks.tolist() == list(range(2, 24))  # stock 0 out of sample, stock 1 unlabelled
    y = b[0].label.numpy().astype(np.float64)
    assert abs(y.mean()) < 1e-6 and abs(y.std() - 1) < 1e-5
    raw = labels.feature("label")[10, 2:]
    np.testing.assert_allclose(y, (raw - raw.mean()) / raw.std(), atol=1e-5)
    assert b[0].target is None
    valid = day_batches(labels, np.array([10]), "cpu", "valid")
    assert valid[0].label is None and valid[0].stocks.tolist() == list(range(2, 24))
    np.testing.assert_array_equal(valid[0].target, labels.feature("target")[10, 2:])
    test = day_batches(labels, np.array([10]), "cpu", "test")
    assert test[0].stocks.tolist() == list(range(1, 24)) and test[0].label is None and test[0].target is None
    with pytest.raises(ValueError, match="use must be"):
        day_batches(labels, np.array([10]), "cpu", "validation")


def test_day_batches_skip_days_with_fewer_than_two_stocks():
    features, labels = make_panels()
    values = labels.values.copy()
    values[11, 3:, 1] = np.nan  # day 11: only stock 2 keeps a label
    labels = Panel(labels.dates, labels.codes, labels.features, values)
    b = day_batches(labels, np.array([10, 11, 12]), "cpu", "train")
    assert [x.day for x in b] == [10, 12]
    assert [x.day for x in day_batches(labels, np.array([10, 11, 12]), "cpu", "test")] == [10, 11, 12]


def test_rank_ic_by_hand_and_with_ties():
    # ranks 1,2,3,4 vs 1,3,2,4: 1 − 6·2 / (4·15) = 0.8
    assert rank_ic(np.array([1.0, 2, 3, 4]), np.array([10.0, 30, 20, 40])) == pytest.approx(0.8)
    a, b = np.array([1.0, 1, 2, 3, 3, 5]), np.array([0.1, 0.3, 0.2, 0.2, 0.9, np.nan])
    assert rank_ic(a, b) == pytest.approx(spearmanr(a[:5], b[:5]).statistic)


class _FixedUnits(torch.nn.Module):
    """A stand-in model returning given standardised units, to check validate's metrics."""

    def __init__(self, units):
        super().__init__()
        self.units = units
        self.gru = torch.nn.GRU(3, 2)  # predict sizes its forwards by gru.hidden_size

    def forward(self, x, counts=None):
        return self.units[:, 0], self.units


def test_validate_factor_corr_is_mean_abs_off_diagonal():
    rng = np.random.default_rng(2)
    u = rng.normal(size=(22, 3))
    u[:, 1] = -u[:, 0] + 0.3 * u[:, 1]
    u = (u - u.mean(0)) / u.std(0)
    features, labels = make_panels()
    batches = day_batches(labels, np.array([10]), "cpu", "valid")
    ic, corr = validate(_FixedUnits(torch.tensor(u)), WindowSource(features, 5), batches)
    c = np.corrcoef(u.T)
    assert corr == pytest.approx(np.abs(c[~np.eye(3, dtype=bool)]).mean(), rel=1e-9)
    assert ic == pytest.approx(spearmanr(u[:, 0], batches[0].target).statistic)


# ---------------------------------------------------------------- training runs

def _one_step_change(optimiser_cls, clip, **opt_args):
    """Parameters before, after one train_epoch step on one day, and the raw (unclipped) gradient."""
    src, train, _, _ = _prepared()
    torch.manual_seed(3)
    model = FactorGRU(n_features=3, hidden=8, n_factors=4, dropout=0.0)
    before = [p.detach().clone() for p in model.parameters()]
    # the raw gradient of the same loss, from a copy of the model
    twin = FactorGRU(n_features=3, hidden=8, n_factors=4, dropout=0.0)
    twin.load_state_dict(model.state_dict())
    b = train[0]
    # the gradient training uses (repro.cpu_step on a CPU; autograd's to float rounding)
    cpu_step.loss_and_gradients(twin, src.gather(b.day, b.stocks), b.label, 20.0)
    grads = [p.grad.clone() for p in twin.parameters()]
    opt = optimiser_cls(model.parameters(), **opt_args)
    training.train_epoch(model, opt, src, [b], 20.0, clip)
    return before, [p.detach().clone() for p in model.parameters()], grads


def test_gradient_clipping_bounds_the_update():
    # Adam's first step is lr · ĝ / (|ĝ| + eps) for the clipped gradient ĝ: with c = eps every
    # clipped coordinate moves by exactly lr / 2 (without the clip it would move by ≈ lr).
    lr, eps = 0.1, 1e-8
    before, after, grads = _one_step_change(FlatAdam, eps, lr=lr, eps=eps)
    assert max(float(g.abs().max()) for g in grads) > 100 * eps  # the clip really bites
    for p0, p1, g in zip(before, after, grads):
        big = g.abs() > 10 * eps
        assert big.any()
        torch.testing.assert_close((p1 - p0)[big], -lr / 2 * g[big].sign(), rtol=1e-4, atol=0)
        assert float((p1 - p0).abs().max()) <= lr / 2 * (1 + 1e-4)


def test_flat_adam_clips_like_clip_grad_value():
    torch.manual_seed(0)
    model, twin = FactorGRU(n_features=3, hidden=8, n_factors=4), FactorGRU(n_features=3, hidden=8, n_factors=4)
    opt = FlatAdam(model.parameters())
    for p, q in zip(model.parameters(), twin.parameters()):
        p.grad = torch.randn(p.shape) * 3
        q.grad = p.grad.clone()
    torch.nn.utils.clip_grad_value_(twin.parameters(), 1.5)
    opt.step(clip_value=1.5)
    assert torch.equal(opt.grad, torch.cat([q.grad.reshape(-1) for q in twin.parameters()]))
    assert float(opt.grad.abs().max()) == 1.5


def _run(tmp_path, name, model="multi", **train):
    features, labels = make_panels()
    out = tmp_path / name
    summary = train_and_predict(features, labels, "day", model, 2022, 0, make_cfg(**train),
                                out / "seed0.parquet", out / "log.csv", out / "model.pt")
    return summary, out


def test_train_and_predict_writes_predictions_log_and_checkpoint(tmp_path):
    summary, out = _run(tmp_path, "a")
    table = pq.read_table(out / "seed0.parquet")
    assert table.schema.names == ["date", "code", "prediction"] + [f"unit_{k:02d}" for k in range(4)]
    assert str(table.schema.field("date").type) == "date32[day]"
    assert str(table.schema.field("prediction").type) == "float"
    df = table.to_pandas()
    assert pd.to_datetime(df["date"]).dt.year.eq(2022).all() and df["date"].nunique() == 30
    assert "S000" not in set(df["code"]) and "S001" in set(df["code"])  # test days need no label
    day = df.groupby("date")["prediction"]
    np.testing.assert_allclose(day.mean(), 0, atol=1e-5)
    np.testing.assert_allclose(day.std(ddof=0), 1, atol=1e-4)
    log = pd.read_csv(out / "log.csv")
    assert list(log.columns) == ["epoch", "train_loss", "valid_rank_ic", "valid_factor_corr", "seconds"]
    assert log["epoch"].tolist() == [1, 2, 3]
    ckpt = torch.load(out / "model.pt", weights_only=False)
    assert ckpt["model_args"] == dict(n_features=3, hidden=8, n_factors=4, dropout=0.1, num_layers=1)
    assert ckpt["seed"] == 0 and ckpt["config"]["train"]["hidden"] == 8 and len(ckpt["fingerprint"]) == 64
    assert not (out / "model.pt.partial").exists()
    assert summary["stop_epoch"] == 3 and summary["best_valid_rank_ic"] == log["valid_rank_ic"].max()
    assert 0 <= summary["best_valid_factor_corr"] <= 1


def test_training_is_deterministic_and_seed_matters(tmp_path):
    _, a = _run(tmp_path, "a", model="uni")
    _, b = _run(tmp_path, "b", model="uni")
    pa_, pb = pd.read_parquet(a / "seed0.parquet"), pd.read_parquet(b / "seed0.parquet")
    pd.testing.assert_frame_equal(pa_, pb)
    la, lb = pd.read_csv(a / "log.csv"), pd.read_csv(b / "log.csv")
    pd.testing.assert_frame_equal(la.drop(columns="seconds"), lb.drop(columns="seconds"))
    assert list(la.columns) == ["epoch", "train_loss", "valid_rank_ic", "seconds"]
    features, labels = make_panels()
    train_and_predict(features, labels, "day", "uni", 2022, 1, make_cfg(), tmp_path / "c.parquet",
                      tmp_path / "c.csv", tmp_path / "c.pt")
    assert not np.array_equal(pd.read_parquet(tmp_path / "c.parquet")["prediction"], pa_["prediction"])


def test_panels_given_as_folders_train_the_same_model(tmp_path):
    _, a = _run(tmp_path, "a", model="uni")
    features, labels = make_panels()
    features.save(tmp_path / "features")
    labels.save(tmp_path / "labels")
    b = tmp_path / "b"
    train_and_predict(str(tmp_path / "features"), tmp_path / "labels", "day", "uni", 2022, 0, make_cfg(),
                      b / "seed0.parquet", b / "log.csv", b / "model.pt")
    pd.testing.assert_frame_equal(pd.read_parquet(a / "seed0.parquet"), pd.read_parquet(b / "seed0.parquet"))
    fingerprints = [torch.load(d / "model.pt", weights_only=False)["fingerprint"] for d in (a, b)]
    assert fingerprints[0] == fingerprints[1]


def _prepared():
    features, labels = make_panels()
    split = split_days(features.dates, "day", 2022, make_cfg()["train"], 5)
    src = WindowSource(features, 5)
    return (src, day_batches(labels, split.train, "cpu", "train"), day_batches(labels, split.valid, "cpu", "valid"),
            day_batches(labels, split.test, "cpu", "test"))


class _Killed(Exception):
    pass


def test_resume_after_kill_equals_uninterrupted_run(tmp_path):
    src, train, valid, test = _prepared()
    args = dict(n_features=3, hidden=8, n_factors=4, dropout=0.3, num_layers=1)
    cfg = make_cfg(max_epochs=4)["train"]
    full, full_summary = train_one(src, train, valid, args, cfg, 7, tmp_path / "full.csv", tmp_path / "full.pt")

    def kill_after_2(epoch, row):
        if epoch == 2:
            raise _Killed

    with pytest.raises(_Killed):
        train_one(src, train, valid, args, cfg, 7, tmp_path / "r.csv", tmp_path / "r.pt", on_epoch_end=kill_after_2)
    assert (tmp_path / "r.pt.partial").exists() and len(pd.read_csv(tmp_path / "r.csv")) == 2
    seen = []
    resumed, summary = train_one(src, train, valid, args, cfg, 7, tmp_path / "r.csv", tmp_path / "r.pt",
                                 on_epoch_end=lambda e, r: seen.append(e))
    assert seen == [3, 4]  # it really continued rather than starting over
    for (p1, u1), (p2, u2) in zip(predict(full, src, test), predict(resumed, src, test)):
        assert np.array_equal(p1, p2) and np.array_equal(u1, u2)
    assert {k: v for k, v in summary.items() if k != "seconds"} == {k: v for k, v in full_summary.items() if k != "seconds"}
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "full.csv").drop(columns="seconds"),
                                  pd.read_csv(tmp_path / "r.csv").drop(columns="seconds"))

    # A partial written under other settings is not resumed.
    with pytest.raises(_Killed):
        train_one(src, train, valid, args, cfg, 7, None, tmp_path / "s.pt", on_epoch_end=kill_after_2)
    seen.clear()
    train_one(src, train, valid, args, dict(cfg, lr=0.01), 7, None, tmp_path / "s.pt",
              on_epoch_end=lambda e, r: seen.append(e))
    assert seen == [1, 2, 3, 4]


def test_early_stopping_keeps_best_epoch_weights(monkeypatch):
    src, train, valid, _ = _prepared()
    scripted = iter([0.1, 0.3, 0.2, 0.25, 0.1, 0.9])
    states = []

    def fake_validate(model, source, batches):
        states.append({k: v.clone() for k, v in model.state_dict().items()})
        return next(scripted), float("nan")

    monkeypatch.setattr(training, "validate", fake_validate)
    args = dict(n_features=3, hidden=8, n_factors=1, dropout=0.0, num_layers=1)
    model, summary = train_one(src, train, valid, args, make_cfg(max_epochs=20, patience=3)["train"], 0)
    assert summary["stop_epoch"] == 5 and summary["best_epoch"] == 2  # 3 epochs without beating 0.3
    assert summary["best_valid_rank_ic"] == 0.3
    for k, v in model.state_dict().items():
        assert torch.equal(v, states[1][k])
    assert not torch.equal(model.head.weight, states[4]["head.weight"])


def test_misaligned_panels_are_rejected(tmp_path):
    features, labels = make_panels()
    other = Panel(labels.dates, labels.codes[::-1], labels.features, labels.values)
    with pytest.raises(ValueError, match="different codes"):
        train_and_predict(features, other, "day", "uni", 2022, 0, make_cfg(), tmp_path / "p.parquet",
                          tmp_path / "l.csv", tmp_path / "c.pt")


# ---------------------------------------------------------------- seed averaging

def _write(path, rows, units=None):
    df = pd.DataFrame(rows, columns=["date", "code", "prediction"])
    df["date"] = pd.to_datetime(df["date"]).dt.date
    df["prediction"] = df["prediction"].astype(np.float32)
    for k, col in enumerate(units or []):
        df[f"unit_{k:02d}"] = np.asarray(col, dtype=np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_parquet(path)


def test_average_seeds_by_hand(tmp_path):
    dates = np.array(["2022-01-04", "2022-01-05", "2023-01-03"], dtype="datetime64[D]")
    codes = np.array(["A", "B", "C"])
    _write(tmp_path / "2022/seed0.parquet", [("2022-01-04", "A", 1.0), ("2022-01-04", "B", -1.0)], [[0.5, 0.6]])
    _write(tmp_path / "2022/seed1.parquet", [("2022-01-04", "A", 3.0), ("2022-01-05", "C", 2.0)], [[0.7, 0.8]])
    _write(tmp_path / "2023/seed0.parquet", [("2023-01-03", "B", 4.0)], [[0.9]])
    paths = sorted(tmp_path.glob("*/seed*.parquet"))
    p = average_seeds(paths, dates, codes, "multi")
    assert p.features == ["factor", "seed0_unit_00", "seed1_unit_00"]
    f = p.feature("factor")
    assert f[0, 0] == 2.0 and f[0, 1] == -1.0 and f[1, 2] == 2.0 and f[2, 1] == 4.0
    assert np.isnan(f[0, 2]) and np.isnan(f[2, 0])
    assert p.feature("seed0_unit_00")[2, 1] == np.float32(0.9) and p.feature("seed1_unit_00")[1, 2] == np.float32(0.8)
    assert average_seeds(paths, dates, codes, "uni").features == ["factor"]
    with pytest.raises(ValueError, match="outside the panel"):
        average_seeds(paths, dates, codes[:2], "uni")


# ---------------------------------------------------------------- studies (tables 1-5, figures 6-11)

def test_settings_table_has_the_reference_keys():
    ref = pd.read_csv(REFERENCE / "table1.csv")
    ours = settings_table(validate_config({"train": {"patience": 20}}))
    assert list(ours.columns) == list(ref.columns) and ours["setting"].tolist() == ref["setting"].tolist()
    assert ours.set_index("setting").loc["optimizer", "value"] == "Adam with gradient clipping (clip_value=3)"
    assert ours.set_index("setting").loc["early_stop_patience", "value"] == "20"
    assert ours.set_index("setting").loc["target", "value"] == ref.set_index("setting").loc["target", "value"]


@pytest.mark.parametrize("param,table,values", [
    ("lr", "table2", [0.001, 0.0001]), ("dropout", "table3", [0.0, 0.5, 0.9]),
    ("ortho_lambda", "table4", [0.1, 1.0, 10.0, 100.0]), ("n_factors", "table5", [16, 64, 256])])
def test_study_table_matches_reference_layout(param, table, values):
    ref = pd.read_csv(REFERENCE / f"{table}.csv", dtype=str)
    points = {v: {"stop_epoch": 5, "best_valid_rank_ic": 0.123456, "best_valid_factor_corr": 0.333}
              for v in values}
    ours = study_table(param, points)
    assert list(ours.columns) == list(ref.columns)
    assert ours[param].tolist() == ref[param].tolist()  # keys printed as the report prints them
    assert ours["valid_rank_ic"].iloc[0] == 0.1235


def test_run_study_point_and_figures(tmp_path):
    features, labels = make_panels()
    cfg = make_cfg(max_epochs=2)
    summary = run_study_point(features, labels, cfg, "n_factors", 3, tmp_path / "k3.csv")
    assert summary["model"] == "multi" and summary["stop_epoch"] == 2 and "best_valid_factor_corr" in summary
    run_study_point(features, labels, cfg, "n_factors", 2, tmp_path / "k2.csv")
    log = pd.read_csv(tmp_path / "k3.csv")
    assert "valid_factor_corr" in log.columns
    out = [tmp_path / "fig10.png", tmp_path / "fig11.png"]
    study_figures("n_factors", {3: tmp_path / "k3.csv", 2: tmp_path / "k2.csv"}, out)
    assert all(p.stat().st_size > 1000 for p in out)
    uni = run_study_point(features, labels, cfg, "lr", 0.01, tmp_path / "lr.csv")
    assert uni["model"] == "uni" and "valid_factor_corr" not in pd.read_csv(tmp_path / "lr.csv").columns
    with pytest.raises(ValueError, match="no figures"):
        study_figures("ortho_lambda", {}, [])
