"""Checkpoint averaging and interpolation (`pretraining.averaging`, `scripts/average_checkpoints.py`,
`scripts/interpolate_checkpoints.py`) and shipping averaged or interpolated weights as
a chunk: the mean checked element by element and through a plain transformers forward pass, the choice of saves by
elapsed time, the refusals, and the card and history of an averaged chunk (tiny checkpoints built here)."""
from __future__ import annotations

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file
from test_eval_checkpoint import load_script
from test_ship_checkpoint import MODEL, N0, SHIPPED_FILES, evaluated, fake_run

from bert_playground.core.errors import PlaygroundError
from bert_playground.pretraining import averaging

from conftest import build_checkpoint

avg_script = load_script("average_checkpoints")
ship = load_script("ship_checkpoint")
interp_script = load_script("interpolate_checkpoints")


def save(folder, seed: int, step: int, elapsed: float):
    """A periodic save as `pretrain` writes it: weights, config, tokenizer and trainer_state.json."""
    build_checkpoint(folder, seed=seed)
    (folder / "trainer_state.json").write_text(json.dumps({"step": step, "tokens_seen": step * 3000,
                                                           "elapsed": elapsed}))
    return folder


def test_the_average_is_the_element_wise_mean_in_float32(tmp_path):
    folders = [save(tmp_path / f"s{i}", seed=i, step=100 * i, elapsed=60.0 * i) for i in (1, 2, 3)]
    mean = averaging.average_weights(folders)
    weights = [load_file(str(f / "model.safetensors")) for f in folders]
    assert mean.keys() == weights[0].keys()
    for k, v in mean.items():
        assert v.dtype == torch.float32
        torch.testing.assert_close(v, sum(w[k].float() for w in weights) / 3)
    assert not torch.equal(mean["bert.pooler.dense.weight"], weights[0]["bert.pooler.dense.weight"])


def test_averaging_one_model_with_itself_changes_nothing_in_a_forward_pass(tmp_path):
    """Three copies of one checkpoint average to it: the same MLM and NSP logits from a plain forward pass."""
    from transformers import BertForPreTraining

    one = save(tmp_path / "a", seed=7, step=10, elapsed=1.0)
    copies = [one] + [shutil.copytree(one, tmp_path / n) for n in ("b", "c")]
    averaging.write_average(copies, tmp_path / "avg", dtype=torch.float32)
    ids = torch.tensor([[101, 7592, 2088, 102, 2204, 102]])
    types = torch.tensor([[0, 0, 0, 0, 1, 1]])
    outs = [BertForPreTraining.from_pretrained(str(f), use_safetensors=True).eval()(input_ids=ids, token_type_ids=types)
            for f in (one, tmp_path / "avg")]
    torch.testing.assert_close(outs[0].prediction_logits, outs[1].prediction_logits)
    torch.testing.assert_close(outs[0].seq_relationship_logits, outs[1].seq_relationship_logits)


def test_written_average_records_what_went_in_and_loads_as_a_checkpoint(tmp_path):
    from bert_playground import load

    folders = [save(tmp_path / f"s{i}", seed=i, step=100 * i, elapsed=60.0 * i) for i in (1, 2)]
    record = averaging.write_average(folders, tmp_path / "avg")
    assert [(s["step"], s["elapsed"]) for s in record["saves"]] == [(100, 60.0), (200, 120.0)]
    assert json.loads((tmp_path / "avg" / "averaged.json").read_text()) == record
    stored = load_file(str(tmp_path / "avg" / "model.safetensors"))
    assert {v.dtype for v in stored.values()} == {torch.float16}
    mean = averaging.average_weights(folders)
    assert all(torch.equal(stored[k], mean[k].half()) for k in stored)
    bundle = load(str(tmp_path / "avg"), "cpu")  # the app's own loader takes it like any checkpoint
    assert bundle is not None


def test_saves_are_chosen_by_their_elapsed_time_before_the_end_oldest_first(tmp_path):
    end = save(tmp_path / "end", seed=9, step=900, elapsed=3000.0)
    saves = [save(tmp_path / "saves" / name, seed=s, step=step, elapsed=el) for name, s, step, el in
             (("c", 3, 800, 2700.0), ("a", 1, 200, 600.0), ("b", 2, 700, 2400.0), ("d", 4, 900, 3000.0))]
    picked = averaging.saves_in_window(saves, end, last_seconds=600.0)
    assert picked == [saves[2], saves[0], end]  # 2400 and 2700 s are in the last 600 s; the end's own step once
    assert averaging.saves_in_window(saves, end, last_seconds=0.0) == [end]


def test_checkpoints_of_different_models_are_refused(tmp_path):
    a = save(tmp_path / "a", seed=1, step=1, elapsed=1.0)
    wide = build_checkpoint(tmp_path / "wide", hidden=64)
    with pytest.raises(PlaygroundError, match="is .* in"):
        averaging.average_weights([a, wide])
    fewer = save(tmp_path / "fewer", seed=2, step=2, elapsed=2.0)
    sd = load_file(str(fewer / "model.safetensors"))
    sd.pop("bert.pooler.dense.bias")
    save_file(sd, str(fewer / "model.safetensors"))
    with pytest.raises(PlaygroundError, match="other tensors"):
        averaging.average_weights([a, fewer])
    with pytest.raises(PlaygroundError, match="Nothing to average"):
        averaging.average_weights([])
    with pytest.raises(PlaygroundError, match="trainer_state.json"):
        averaging.saves_in_window([wide], a, 60.0)


def averaged_run(tmp_path):
    """A finished run (its final weights at 5000 s) and copies of two saves, one inside its last 1200 s."""
    run = fake_run(tmp_path / "run", seed=5, steps=600, tokens=1_200_000, seconds=5000.0, mlm=0.40)
    state = json.loads((run / "trainer_state.json").read_text())
    (run / "trainer_state.json").write_text(json.dumps({**state, "tokens_seen": 1_200_000, "elapsed": 5000.0}))
    save(tmp_path / "saves" / "step_00100", seed=6, step=100, elapsed=800.0)
    save(tmp_path / "saves" / "step_00500", seed=7, step=500, elapsed=4200.0)
    return run


def test_the_script_writes_a_shippable_folder_without_the_final_weights_held_out_figures(tmp_path, capsys):
    run = averaged_run(tmp_path)
    assert avg_script.main([str(run), "--saves", str(tmp_path / "saves"), "--last-seconds", "1200",
                            "--out", str(tmp_path / "avg")]) == 0
    assert "averaged 2 weights (steps 500, 600)" in capsys.readouterr().out
    result = json.loads((tmp_path / "avg" / "pretrain_result.json").read_text())
    assert result["averaged"] == {"last_seconds": 1200.0, "steps": [500, 600]}
    assert "eval_mlm_accuracy" not in result and result["tokens_seen"] == 1_200_000
    for name in ("training_log.csv", "trainer_state.json", "config.json", "tokenizer.json", "averaged.json"):
        assert (tmp_path / "avg" / name).is_file()


def test_the_script_refuses_a_run_that_has_not_ended_in_one_line(tmp_path, capsys):
    unfinished = save(tmp_path / "unfinished", seed=1, step=5, elapsed=5.0)
    assert avg_script.main([str(unfinished), "--saves", str(tmp_path / "none"), "--last-seconds", "60",
                            "--out", str(tmp_path / "avg")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "has no pretrain_result.json" in err and err.count("\n") == 1


def test_averaged_weights_ship_with_the_held_out_figures_of_their_own_evaluation(tmp_path):
    """Shipping needs an evaluation that measured the averaged weights on the held-out set: refused without one;
    with one, the chunk's held-out figures are the evaluation's (not the final weights'), and card and history say
    which weights were averaged."""
    dest = build_checkpoint(tmp_path / "model")
    for name in SHIPPED_FILES:
        if (MODEL / name).is_file():
            shutil.copy(MODEL / name, dest / name)
    avg_script.average_run(averaged_run(tmp_path), tmp_path / "saves", 1200.0, tmp_path / "avg")
    report = evaluated(tmp_path / "avg", dest)
    before = (dest / "chunks.json").read_text() if (dest / "chunks.json").is_file() else None
    with pytest.raises(SystemExit, match="holds averaged or interpolated weights"):
        ship.ship_chunk(tmp_path / "avg", dest, "CMD-AVG", "", report)
    assert ((dest / "chunks.json").read_text() if (dest / "chunks.json").is_file() else None) == before
    held = {"mlm_accuracy": 0.411, "nsp_accuracy": 0.977, "mlm_loss": 3.61, "nsp_loss": 0.07, "eval_pairs": 500,
            "eval_masked": 8462}
    report["checkpoints"]["new"]["held_out"] = held
    ship.ship_chunk(tmp_path / "avg", dest, "CMD-AVG", "The recipe.", report)
    last = json.loads((dest / "chunks.json").read_text())[-1]
    assert last["chunk"] == N0 + 1
    assert (last["held_out_mlm_accuracy"], last["held_out_nsp_accuracy"]) == (0.411, 0.977)
    assert last["averaged"] == {"last_seconds": 1200.0, "steps": [500, 600]}
    card = (dest / "README.md").read_text()
    assert "uniform average of 2 weights of this run" in card and "steps 500, 600" in card
    assert "| held-out MLM accuracy (15% masking, 80/10/10) | 0.411 |" in card
    assert "those of the averaged weights as shipped" in card
    assert (dest / "averaged.json").is_file()


# ---- interpolation (WiSE-FT) -------------------------------------------------------------------------------------

def test_interpolation_is_the_weighted_mean_and_its_ends_are_the_two_checkpoints(tmp_path):
    start = save(tmp_path / "start", seed=1, step=10, elapsed=10.0)
    end = save(tmp_path / "end", seed=2, step=90, elapsed=900.0)
    a, b = (load_file(str(f / "model.safetensors")) for f in (start, end))
    mixed = averaging.average_weights([start, end], [0.7, 0.3])
    for k, v in mixed.items():
        torch.testing.assert_close(v, 0.7 * a[k].float() + 0.3 * b[k].float())
    for alpha, same in ((0.0, a), (1.0, b)):
        averaging.write_interpolation(start, end, alpha, tmp_path / f"w{alpha}", dtype=torch.float32)
        stored = load_file(str(tmp_path / f"w{alpha}" / "model.safetensors"))
        assert all(torch.equal(stored[k], same[k].float()) for k in stored)
    record = json.loads((tmp_path / "w1.0" / "averaged.json").read_text())
    assert [s["coefficient"] for s in record["saves"]] == [0.0, 1.0] and "alpha = 1.0" in record["method"]
    assert record["saves"][0]["weights_sha256"] == averaging.weights_sha256(start)


def test_interpolated_weights_give_the_forward_pass_of_the_hand_mixed_model(tmp_path):
    """The written checkpoint, loaded by transformers, computes what a model holding the hand-mixed weights does."""
    from transformers import BertForPreTraining

    start = save(tmp_path / "start", seed=3, step=10, elapsed=10.0)
    end = save(tmp_path / "end", seed=4, step=90, elapsed=900.0)
    averaging.write_interpolation(start, end, 0.25, tmp_path / "w", dtype=torch.float32)
    a, b = (load_file(str(f / "model.safetensors")) for f in (start, end))
    hand = BertForPreTraining.from_pretrained(str(start), use_safetensors=True)
    hand.load_state_dict({k: 0.75 * a[k].float() + 0.25 * b[k].float() if a[k].is_floating_point() else a[k]
                          for k in a}, strict=False)
    ids = torch.tensor([[101, 7592, 2088, 102, 2204, 102]])
    types = torch.tensor([[0, 0, 0, 0, 1, 1]])
    got, want = (m.eval()(input_ids=ids, token_type_ids=types)
                 for m in (BertForPreTraining.from_pretrained(str(tmp_path / "w"), use_safetensors=True), hand))
    torch.testing.assert_close(got.prediction_logits, want.prediction_logits)
    torch.testing.assert_close(got.seq_relationship_logits, want.seq_relationship_logits)


def test_bad_coefficients_and_alphas_are_refused(tmp_path):
    a = save(tmp_path / "a", seed=1, step=1, elapsed=1.0)
    b = save(tmp_path / "b", seed=2, step=2, elapsed=2.0)
    with pytest.raises(PlaygroundError, match="one per checkpoint"):
        averaging.average_weights([a, b], [1.0])
    with pytest.raises(PlaygroundError, match="sum to 1"):
        averaging.average_weights([a, b], [0.5, 0.6])
    with pytest.raises(PlaygroundError, match="sum to 1"):
        averaging.average_weights([a, b], [1.5, -0.5])
    for alpha in (-0.1, 1.5):
        with pytest.raises(PlaygroundError, match="between the start"):
            averaging.write_interpolation(a, b, alpha, tmp_path / "w")
    assert not (tmp_path / "w").exists()


def test_the_interpolation_script_keeps_the_averaged_record_and_drops_the_held_out_figures(tmp_path, capsys):
    run = averaged_run(tmp_path)
    avg_script.average_run(run, tmp_path / "saves", 1200.0, tmp_path / "avg")
    start = save(tmp_path / "start", seed=8, step=10, elapsed=10.0)
    assert interp_script.main([str(start), str(tmp_path / "avg"), "--alpha", "0.5", "--out", str(tmp_path / "w")]) == 0
    assert "0.5 *" in capsys.readouterr().out
    result = json.loads((tmp_path / "w" / "pretrain_result.json").read_text())
    assert result["interpolated"] == {"start": str(start), "start_weights_sha256": averaging.weights_sha256(start),
                                      "alpha": 0.5}
    assert result["averaged"] == {"last_seconds": 1200.0, "steps": [500, 600]}
    assert "eval_mlm_accuracy" not in result and result["tokens_seen"] == 1_200_000
    plain = interp_script.interpolate_run(start, run, 0.5, tmp_path / "w2")  # a plain run's held-out figures go too
    assert len(plain["saves"]) == 2
    assert "eval_mlm_accuracy" not in json.loads((tmp_path / "w2" / "pretrain_result.json").read_text())


def test_the_interpolation_script_answers_bad_input_in_one_line(tmp_path, capsys):
    start = save(tmp_path / "start", seed=1, step=5, elapsed=5.0)
    run = averaged_run(tmp_path)
    for args in ([str(start), str(start), "--alpha", "0.5"],  # an end that is not a finished run
                 [str(tmp_path / "nowhere"), str(run), "--alpha", "0.5"],  # a start that is not a checkpoint
                 [str(start), str(run), "--alpha", "2"]):
        assert interp_script.main(args + ["--out", str(tmp_path / "w")]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1


def test_interpolated_weights_ship_with_their_own_held_out_figures_and_say_so(tmp_path):
    dest = build_checkpoint(tmp_path / "model")
    for name in SHIPPED_FILES:
        if (MODEL / name).is_file():
            shutil.copy(MODEL / name, dest / name)
    interp_script.interpolate_run(dest, averaged_run(tmp_path), 0.5, tmp_path / "w")
    report = evaluated(tmp_path / "w", dest)
    with pytest.raises(SystemExit, match="averaged or interpolated weights"):
        ship.ship_chunk(tmp_path / "w", dest, "CMD-W", "", report)
    report["checkpoints"]["new"]["held_out"] = {"mlm_accuracy": 0.405, "nsp_accuracy": 0.975, "mlm_loss": 3.7,
                                                "nsp_loss": 0.08, "eval_pairs": 500, "eval_masked": 8462}
    start_digest = averaging.weights_sha256(dest)
    ship.ship_chunk(tmp_path / "w", dest, "CMD-W", "The recipe.", report)
    last = json.loads((dest / "chunks.json").read_text())[-1]
    assert last["held_out_mlm_accuracy"] == 0.405 and last["tokens"] == 1_200_000
    assert last["interpolated"]["alpha"] == 0.5 and last["interpolated"]["start_weights_sha256"] == start_digest
    card = (dest / "README.md").read_text()
    assert f"interpolated with the checkpoint in `{dest}` (weights sha256 {start_digest[:12]}" in card
    assert "alpha = 0.5" in card and "those of the interpolated weights as shipped" in card
    assert averaging.weights_sha256(dest) == averaging.weights_sha256(tmp_path / "w")
