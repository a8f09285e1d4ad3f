"""Checkpoint averaging (`pretraining.averaging`, `scripts/average_checkpoints.py`) and shipping averaged weights as
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
    with pytest.raises(SystemExit, match="averaged weights"):
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
