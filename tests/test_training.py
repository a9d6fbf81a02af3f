"""Training: determinism, resume, splits without leakage, the protocol's outputs, CLI train/tune/evaluate."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from safetensors.numpy import load_file
from typer.testing import CliRunner

from mirlens.cli.app import _register, app
from mirlens.data.datasets import load_dataset
from mirlens.errors import MirlensError
from mirlens.model.store import load_model
from mirlens.training.data import load_pool
from mirlens.training.splits import make_split
from mirlens.training.trainer import TrainSettings, train

runner = CliRunner()
_register()


def learnable_pairs(n: int = 240, seed: int = 0) -> pd.DataFrame:
    """Positives carry a perfect 7mer seed match to their miRNA near the target's 3' end; negatives do not."""
    rng = np.random.default_rng(seed)
    comp = {"A": "U", "U": "A", "C": "G", "G": "C"}
    mirnas = ["".join(rng.choice(list("ACGU"), 22)) for _ in range(30)]
    rows = []
    for i in range(n):
        mirna = mirnas[i % 30]
        target = list(rng.choice(list("AC"), 40))
        label = i % 2
        if label:
            site = "".join(comp[b] for b in reversed(mirna[1:8]))
            target[28:35] = site
        rows.append((f"miR-{i % 30}", mirna, f"gene{i}", "".join(target), label))
    return pd.DataFrame(rows, columns=["mirna_id", "mirna", "target_id", "target", "label"])


SETTINGS = TrainSettings(batch_size=32, lr=0.005, dropout=0.1, max_epochs=3, patience=10, threads=1)


def weights(run_dir):
    return load_file(str(run_dir / "model.safetensors"))


def test_training_is_deterministic_and_learns(tmp_path):
    pairs = learnable_pairs()
    a = train(pairs, tmp_path / "a", settings=replace(SETTINGS, max_epochs=6), target_slot=40)
    b = train(pairs, tmp_path / "b", settings=replace(SETTINGS, max_epochs=6), target_slot=40)
    wa, wb = weights(tmp_path / "a"), weights(tmp_path / "b")
    assert wa.keys() == wb.keys()
    assert all(np.array_equal(wa[k], wb[k]) for k in wa)
    val = a.metrics.set_index("part").loc["validation"]
    assert val["accuracy"] > 0.8 and val["auroc"] > 0.9
    card = json.loads((tmp_path / "a" / "model.json").read_text())
    assert card["card"]["seed"] == 1122 and card["card"]["settings"]["batch_size"] == 32
    assert card["card"]["epochs"] == 6 and 1 <= card["card"]["best_epoch"] <= 6
    history = pd.read_csv(tmp_path / "a" / "history.tsv", sep="\t")
    assert len(history) == 6
    c = train(pairs, tmp_path / "c", settings=replace(SETTINGS, max_epochs=6, seed=7), target_slot=40)
    assert not np.array_equal(weights(tmp_path / "c")["conv.weight"], wa["conv.weight"])  # another seed
    assert c.split.train.tolist() != a.split.train.tolist()


def test_resume_gives_the_uninterrupted_result(tmp_path):
    pairs = learnable_pairs(160, seed=1)
    straight = train(pairs, tmp_path / "straight", settings=SETTINGS, target_slot=40)
    train(pairs, tmp_path / "resumed", settings=replace(SETTINGS, max_epochs=1), target_slot=40)
    resumed = train(pairs, tmp_path / "resumed", settings=SETTINGS, target_slot=40)
    ws, wr = weights(tmp_path / "straight"), weights(tmp_path / "resumed")
    assert all(np.array_equal(ws[k], wr[k]) for k in ws)
    assert resumed.card["epochs"] == straight.card["epochs"] == 3


def test_group_splits_hold_out_whole_groups():
    pairs = learnable_pairs(300)
    for how, col in (("mirna", "mirna"), ("target", "target_id")):  # miRNAs are grouped by sequence
        s = make_split(pairs, how, seed=3)
        parts = [set(pairs[col].iloc[idx]) for idx in (s.train, s.val, s.test)]
        assert not (parts[0] & parts[1]) and not (parts[0] & parts[2]) and not (parts[1] & parts[2])
        assert sorted(np.concatenate([s.train, s.val, s.test]).tolist()) == list(range(len(pairs)))
    r = make_split(pairs, "random", seed=1122)
    assert len(r.test) == 60 and len(r.val) == 48 and len(r.train) == 192


def test_named_pools_never_hold_independent_test_pairs(mitar_data_dir):
    for name in ("deepmirtar", "miraw"):
        pool = load_pool(name, data_dir=mitar_data_dir)
        test = load_dataset(name, "test", data_dir=mitar_data_dir)
        keys = set(zip(test["mirna"], test["target"]))
        assert not any(k in keys for k in zip(pool.pairs["mirna"], pool.pairs["target"]))
    deduped = load_pool("miraw", dedup=True, data_dir=mitar_data_dir)
    assert not deduped.pairs.duplicated(["mirna", "target"]).any()
    assert deduped.notes["duplicates_dropped"] > 2000


def test_cli_train_evaluate_tune(tmp_path):
    pairs_file = tmp_path / "pairs.tsv"
    learnable_pairs(120, seed=2).to_csv(pairs_file, sep="\t", index=False)
    run = tmp_path / "run"
    res = runner.invoke(app, ["train", "--data", str(pairs_file), "-o", str(run), "--max-epochs", "2",
                              "--batch-size", "32", "--threads", "1"])
    assert res.exit_code == 0, res.output
    assert (run / "model.safetensors").exists() and load_model(str(run)).config.target_slot == 40
    out = tmp_path / "eval"
    res = runner.invoke(app, ["evaluate", "--data", str(pairs_file), "--model", str(run), "-o", str(out)])
    assert res.exit_code == 0, res.output
    metrics = pd.read_csv(out / "metrics.tsv", sep="\t")
    assert {"accuracy", "auroc", "auprc", "brier", "tp", "fn"} <= set(metrics.columns)
    assert (out / "roc.png").stat().st_size > 1000
    res = runner.invoke(app, ["tune", "--data", str(pairs_file), "-o", str(tmp_path / "tune"), "--batch-sizes",
                              "32", "--lrs", "0.01,0.001", "--dropouts", "0.1", "--max-epochs", "1",
                              "--threads", "1"])
    assert res.exit_code == 0, res.output
    ranking = pd.read_csv(tmp_path / "tune" / "ranking.tsv", sep="\t")
    assert len(ranking) == 2 and ranking["rank"].tolist() == [1, 2]


@pytest.mark.parametrize("args,message", [
    (["--lr", "-1"], "learning rate"),
    (["--dropout", "1.5"], "dropout"),
    (["--split", "gene"], "unknown split"),
])
def test_cli_train_rejects_bad_settings(tmp_path, args, message):
    pairs_file = tmp_path / "pairs.tsv"
    learnable_pairs(40).to_csv(pairs_file, sep="\t", index=False)
    res = runner.invoke(app, ["train", "--data", str(pairs_file), "-o", str(tmp_path / "r"), *args])
    assert res.exit_code != 0
    assert message in res.output and "Traceback" not in res.output


def test_init_continues_from_a_models_weights(tmp_path):
    pairs = learnable_pairs(160, seed=3)
    first = train(pairs, tmp_path / "first", settings=replace(SETTINGS, max_epochs=2), target_slot=40)
    # a learning rate of 1e-12 leaves the weights where they start: check that training starts from init's
    cont = train(pairs, tmp_path / "cont", settings=replace(SETTINGS, max_epochs=1, lr=1e-12), target_slot=40,
                 init=str(tmp_path / "first"))
    w0, w1 = weights(tmp_path / "first"), weights(tmp_path / "cont")
    assert all(np.allclose(w0[k], w1[k], atol=1e-6) for k in w0)
    card = cont.card
    assert card["init"]["model"] == "first" and len(card["init"]["weights_sha256"]) == 64
    assert card["init"]["best_epoch"] == first.card["best_epoch"]
    fresh = train(pairs, tmp_path / "fresh", settings=replace(SETTINGS, max_epochs=1, lr=1e-12), target_slot=40)
    assert not np.allclose(weights(tmp_path / "fresh")["conv.weight"], w0["conv.weight"], atol=1e-3)
    assert isinstance(fresh.card["init"], str) and fresh.card["init"].startswith("fresh")
    # a run directory's checkpoint is keyed by the initial weights: --init into a fresh-run directory is refused
    with pytest.raises(MirlensError, match="other data or settings"):
        train(pairs, tmp_path / "fresh", settings=replace(SETTINGS, max_epochs=1, lr=1e-12), target_slot=40,
              init=str(tmp_path / "first"))


def test_init_rejects_another_architecture(tmp_path):
    pairs = learnable_pairs(80, seed=4)
    train(pairs, tmp_path / "slot40", settings=replace(SETTINGS, max_epochs=1), target_slot=40)
    pairs_file = tmp_path / "pairs.tsv"
    pairs.to_csv(pairs_file, sep="\t", index=False)
    res = runner.invoke(app, ["train", "--data", str(pairs_file), "-o", str(tmp_path / "r"), "--target-slot", "53",
                              "--init", str(tmp_path / "slot40"), "--max-epochs", "1", "--threads", "1"])
    assert res.exit_code != 0
    assert "architecture does not fit" in res.output and "target_slot 40" in res.output
    assert "--target-slot 40" in res.output
    assert "Traceback" not in res.output


def test_weight_average_is_kept_deterministic_and_resumable(tmp_path):
    pairs = learnable_pairs(160, seed=5)
    ema = replace(SETTINGS, ema_decay=0.9)
    straight = train(pairs, tmp_path / "straight", settings=ema, target_slot=40)
    hist = straight.history
    assert {"raw_val_accuracy", "val_accuracy"} <= set(hist.columns)
    assert straight.card["weight_average"]["decay"] == 0.9
    # the kept weights are not those of the same run without averaging (same raw trajectory)
    plain = train(pairs, tmp_path / "plain", settings=SETTINGS, target_slot=40)
    ws, wp = weights(tmp_path / "straight"), weights(tmp_path / "plain")
    assert not np.allclose(ws["conv.weight"], wp["conv.weight"])
    assert "raw_val_accuracy" not in plain.history.columns and plain.card["weight_average"] is None
    # interrupted after one epoch and resumed: bit-identical to the straight run
    train(pairs, tmp_path / "resumed", settings=replace(ema, max_epochs=1), target_slot=40)
    train(pairs, tmp_path / "resumed", settings=ema, target_slot=40)
    wr = weights(tmp_path / "resumed")
    assert all(np.array_equal(ws[k], wr[k]) for k in ws)


def test_weight_average_follows_the_warmed_up_decay():
    import torch

    from mirlens.model.architecture import MiTAR, MiTARConfig
    from mirlens.training.trainer import WeightAverage

    model = MiTAR(MiTARConfig(target_slot=40))
    avg = WeightAverage(model, 0.99)
    p = next(model.parameters())
    before = p.detach().clone()
    with torch.no_grad():
        p.add_(1.0)
    avg.update()  # first update: decay min(0.99, 1/10) = 0.1 -> 90% of the way to the new weights
    got = next(avg.model.parameters()).detach()
    assert torch.allclose(got, before + 0.9, atol=1e-6)
    assert avg.updates == 1
    with torch.no_grad():
        p.add_(1.0)
    avg.update()  # second: decay 2/11 -> the average moves 9/11 of its distance to the weights (2.0 - 0.9)
    assert torch.allclose(next(avg.model.parameters()).detach(), before + 0.9 + 1.1 * 9 / 11, atol=1e-5)


def test_divergence_rule_on_histories():
    from mirlens.training.trainer import diverged

    rows = lambda *losses: [{"loss": v, "val_loss": 0.3} for v in losses]  # noqa: E731
    assert not diverged([])
    assert not diverged(rows(0.69, 0.5, 0.2, 0.05, 0.06, 0.3))  # noisy but sane
    assert not diverged(rows(0.69, 0.2, 0.035, 1.7))  # the DeepMirTar spike of epoch 76, from which it recovered
    assert diverged(rows(0.69, 0.2, 0.035, 1.7, 0.06, 546.6))  # its epoch 88, after which it never recovered
    assert not diverged(rows(6.9)) and diverged(rows(7.0))  # 10 x ln 2 = 6.93
    assert diverged(rows(0.5, float("nan")))
    assert diverged([{"loss": 0.4, "val_loss": float("inf")}])


def test_a_diverging_run_stops_and_keeps_finite_weights(tmp_path):
    pairs = learnable_pairs()
    settings = replace(SETTINGS, lr=0.05, max_epochs=8)
    report = train(pairs, tmp_path / "run", settings=settings, target_slot=40)
    assert report.card["stop_reason"] == "diverged" and report.card["epochs"] == 1
    assert np.isfinite(report.metrics["auroc"]).all()
    again = train(pairs, tmp_path / "run", settings=replace(settings, max_epochs=20), target_slot=40)
    assert again.card["epochs"] == 1 and again.card["stop_reason"] == "diverged"  # resuming does not go on
    with pytest.raises(MirlensError, match="diverged in epoch 1 before any epoch gave finite validation outputs"):
        train(pairs, tmp_path / "nan", settings=replace(settings, lr=2.0), target_slot=40)
    pairs_file = tmp_path / "pairs.tsv"
    pairs.to_csv(pairs_file, sep="\t", index=False)
    res = runner.invoke(app, ["train", "--data", str(pairs_file), "-o", str(tmp_path / "cli"), "--lr", "0.05",
                              "--batch-size", "32", "--threads", "1", "--max-epochs", "5"])
    assert res.exit_code == 0, res.output
    assert "stopped: diverged (the loss blew up; the weights of epoch 1 are kept" in " ".join(res.output.split())
    res = runner.invoke(app, ["train", "--data", str(pairs_file), "-o", str(tmp_path / "cli-nan"), "--lr", "2",
                              "--batch-size", "32", "--threads", "1", "--max-epochs", "5"])
    assert res.exit_code == 1 and "training diverged in epoch 1" in res.output and "Traceback" not in res.output


def test_tune_lists_a_diverged_grid_point_and_goes_on(tmp_path):
    pairs_file = tmp_path / "pairs.tsv"
    learnable_pairs(120, seed=2).to_csv(pairs_file, sep="\t", index=False)
    args = ["tune", "--data", str(pairs_file), "-o", str(tmp_path / "tune"), "--batch-sizes", "32", "--lrs",
            "2,0.001", "--dropouts", "0.1", "--max-epochs", "1", "--threads", "1"]
    for _ in range(2):  # the second call resumes: the diverged point stays diverged, nothing is retrained
        res = runner.invoke(app, args)
        assert res.exit_code == 0, res.output
        assert "[b32_lr2_d0.1 1/2] skipped: training diverged in epoch 1" in " ".join(res.output.split())
        ranking = pd.read_csv(tmp_path / "tune" / "ranking.tsv", sep="\t")
        assert ranking["run"].tolist() == ["b32_lr0.001_d0.1", "b32_lr2_d0.1"]
        assert ranking["status"].tolist() == ["done", "diverged"] and ranking["rank"].isna().tolist() == [False, True]


def test_repeats_list_a_diverged_repeat_and_summarise_the_others(tmp_path, monkeypatch):
    from mirlens.errors import TrainingDiverged
    from mirlens.training import trainer

    real_train = trainer.train

    def train_or_diverge(data, out_dir, *, settings, **kwargs):
        if settings.seed == SETTINGS.seed + 1:
            raise TrainingDiverged("training diverged in epoch 1 (test)")
        return real_train(data, out_dir, settings=settings, **kwargs)

    monkeypatch.setattr(trainer, "train", train_or_diverge)
    per_repeat, summary = trainer.train_repeats(learnable_pairs(120), tmp_path / "rep", 3,
                                                settings=replace(SETTINGS, max_epochs=1), target_slot=40)
    assert per_repeat.groupby("repeat")["status"].first().tolist() == ["done", "diverged", "done"]
    assert summary.set_index(["part", "metric"]).loc[("test", "accuracy"), "n"] == 2  # the two that trained
    written = pd.read_csv(tmp_path / "rep" / "repeats.tsv", sep="\t")
    assert (written["status"] == "diverged").sum() == 1
    monkeypatch.setattr(trainer, "train", lambda *a, **k: (_ for _ in ()).throw(TrainingDiverged("x")))
    with pytest.raises(TrainingDiverged, match="all 2 repeats diverged"):
        trainer.train_repeats(learnable_pairs(120), tmp_path / "none", 2, settings=SETTINGS, target_slot=40)


def test_cli_train_repeats_reports_how_many_repeats_trained(tmp_path, monkeypatch):
    from mirlens.errors import TrainingDiverged
    from mirlens.training import trainer

    pairs_file = tmp_path / "pairs.tsv"
    learnable_pairs(120, seed=3).to_csv(pairs_file, sep="\t", index=False)
    args = ["train", "--data", str(pairs_file), "--repeats", "2", "--max-epochs", "1", "--batch-size", "32",
            "--threads", "1"]
    res = runner.invoke(app, [*args, "-o", str(tmp_path / "a")])
    assert res.exit_code == 0, res.output
    assert "2 repeats" in res.output and "per-repeat metrics" in res.output
    assert "[repeat 1/2 seed 1122] training" in res.output and "[repeat 2/2 seed 1123] epoch 1:" in res.output
    assert set(pd.read_csv(tmp_path / "a" / "repeats.tsv", sep="\t")["status"]) == {"done"}
    real_train = trainer.train

    def train_or_diverge(data, out_dir, *, settings, **kwargs):
        if settings.seed != 1122:
            raise TrainingDiverged("training diverged in epoch 1 before any epoch gave finite validation outputs")
        return real_train(data, out_dir, settings=settings, **kwargs)

    monkeypatch.setattr(trainer, "train", train_or_diverge)
    res = runner.invoke(app, [*args, "-o", str(tmp_path / "b")])
    assert res.exit_code == 0, res.output
    flat = " ".join(res.output.split())
    assert "[repeat 2/2 seed 1123] skipped: training diverged in epoch 1" in flat
    assert "1 of 2 repeats (the others diverged)" in flat


def test_pairing_runs_with_schedule_and_negatives_resume_exactly(tmp_path):
    pairs = learnable_pairs(160, seed=6)
    pairs = pairs[pairs["label"] == 1]  # positives only: the negatives are generated
    s = replace(SETTINGS, lr_schedule="onecycle", clip_norm=1.0, max_epochs=3)
    kw = dict(settings=s, architecture="pairing", negatives="shuffle,mirna-swap", split="target")
    straight = train(pairs, tmp_path / "straight", **kw)
    # stopped after epoch 1 by the patience rule (the schedule stays laid out over max_epochs = 3), then resumed
    train(pairs, tmp_path / "resumed", **{**kw, "settings": replace(s, patience=1, min_delta=1.0)})
    resumed = train(pairs, tmp_path / "resumed", **kw)
    ws, wr = weights(tmp_path / "straight"), weights(tmp_path / "resumed")
    assert all(np.array_equal(ws[k], wr[k]) for k in ws)
    assert resumed.card["epochs"] == straight.card["epochs"] == 3
    card = straight.card
    assert card["architecture"] == "pairing" and "onecycle" in card["optimizer"] and "clipped" in card["optimizer"]
    neg = card["negatives"]["made"]
    assert set(neg) == {"train", "val", "test"}
    # one negative per positive and kind (a positive whose target cannot be shuffled site-free gets none), drawn
    # within each part from that part's positives
    parts = straight.extra["parts"]
    for part in ("train", "val", "test"):
        df = parts[part]
        n_pos = int((df["label"] == 1).sum())
        assert n_pos == card["split"]["sizes"][part]
        assert all(c["made"] + c["positives_without"] == n_pos for c in neg[part].values())
        assert neg[part]["mirna-swap"]["made"] == n_pos and neg[part]["shuffle"]["made"] >= 0.5 * n_pos
        assert set(df.loc[df["label"] == 0, "mirna"]) <= set(df.loc[df["label"] == 1, "mirna"])


def test_onecycle_schedule_shape():
    from mirlens.training.trainer import scheduled_lr

    s = replace(SETTINGS, lr=0.01, max_epochs=10, lr_schedule="onecycle")
    lrs = [scheduled_lr(s, i, 10) for i in range(100)]
    assert lrs[0] == pytest.approx(0.01 / 25) and max(lrs) == pytest.approx(0.01, rel=1e-6)
    assert int(np.argmax(lrs)) == 10 and lrs[-1] < 1e-5
    assert all(b <= a for a, b in zip(lrs[10:], lrs[11:]))
    assert scheduled_lr(replace(s, lr_schedule="constant"), 55, 10) == 0.01
    with pytest.raises(MirlensError, match="learning-rate schedule"):
        replace(s, lr_schedule="steps").validate()
