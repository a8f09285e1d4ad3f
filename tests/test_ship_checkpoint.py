"""scripts/ship_checkpoint.py --chunk on temporary copies: the log appended with offsets, chunks.json, the card,
the refusals, and the home page's curves across chunks (tiny checkpoints; the real assets/model is only read).
Two chunks are shipped on top of whatever history assets/model holds now (one chunk or several), so the expected
figures are its totals plus the fake runs'."""
from __future__ import annotations

import copy
import csv
import json
import shutil

import pytest
from test_eval_checkpoint import load_script

from bert_playground.pretraining.training_log import read_training_log  # noqa: I001 (the package: one place)
from bert_playground.figures.pretraining import chunk_starts, training_curves

from conftest import ROOT, build_checkpoint

ship = load_script("ship_checkpoint")
model_card = load_script("model_card")
ev = load_script("eval_checkpoint")
MODEL = ROOT / "assets" / "model"
SHIPPED_FILES = ("README.md", "pretrain_result.json", "training_log.csv", "trainer_state.json", "chunks.json")
BASE = ship.read_chunks(MODEL, None)  # the shipped history: chunks.json, or the one chunk shipped before it
N0, T0, S0, E0 = (len(BASE), BASE[-1]["cumulative_tokens"], BASE[-1]["cumulative_steps"],
                  BASE[-1]["cumulative_seconds"])
LOG_HEADER = ["step", "epoch", "elapsed_s", "tokens_seen", "lr", "mlm_loss", "nsp_loss", "tokens_per_s", "world_size",
              "global_batch_size", "eval_mlm_accuracy", "eval_nsp_accuracy"]


def fake_run(folder, seed: int, steps: int, tokens: int, seconds: float, mlm: float = 0.37, nsp: float = 0.963):
    """A continuation run's folder as `pretrain --init` writes it: counters from 0, two log rows and the final one."""
    build_checkpoint(folder, seed=seed)
    result = {"device": "CPU (2 threads)", "precision": "bf16", "steps": steps, "tokens_seen": tokens,
              "total_seconds": seconds, "tokens_per_s": tokens / seconds, "train_tokens_per_s": tokens / seconds * 1.1,
              "eval_mlm_accuracy": mlm, "eval_nsp_accuracy": nsp, "eval_mlm_loss": 3.9, "eval_nsp_loss": 0.09,
              "eval_eval_pairs": 500, "eval_eval_masked": 8462}
    (folder / "pretrain_result.json").write_text(json.dumps(result))
    (folder / "trainer_state.json").write_text(json.dumps({"step": steps, "config": {
        "init": f"runs/start{seed}", "corpus": "../shared/data/wikipedia/enwiki-part5.txt.xz"}}))
    rows = [[steps // 2, 0, seconds / 2, tokens // 2, 1e-4, 4.1, 0.2, 1800, 1, 32, "", ""],
            [steps - 1, 0, seconds - 1, tokens - 10, 1e-5, 3.9, 0.1, 1700, 1, 32, 0.36, 0.96],
            [steps, 0, seconds, tokens, "", "", "", "", "", "", mlm, nsp]]
    with open(folder / "training_log.csv", "w", newline="") as f:
        csv.writer(f).writerows([LOG_HEADER] + rows)
    return folder


def evaluated(run, dest, better=True):
    """eval_checkpoint's report on the run against the shipped weights (no held-out corpus), verdict as given."""
    report = ev.run(str(run), baseline=str(dest), corpus=None, device_name="cpu")
    report["comparison"]["better"] = better
    return report


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    """A copy of assets/model (its card, result, log and state; tiny weights), then chunks 2 and 3 shipped into it."""
    base = tmp_path_factory.mktemp("ship")
    dest = build_checkpoint(base / "model")
    for name in SHIPPED_FILES:
        if (MODEL / name).is_file():
            shutil.copy(MODEL / name, dest / name)
    run2 = fake_run(base / "run2", seed=2, steps=1000, tokens=2_000_000, seconds=9000.0)
    report2 = evaluated(run2, dest)
    ship.ship_chunk(run2, dest, "python -m bert_playground pretrain --init runs/start2 ...", "", report2)
    after2 = {"log": ship.read_csv(dest / "training_log.csv"), "card": (dest / "README.md").read_text()}
    run3 = fake_run(base / "run3", seed=3, steps=500, tokens=1_000_000, seconds=4000.0, mlm=0.39)
    (base / "eval3.json").write_text(json.dumps(evaluated(run3, dest)))
    ship.main([str(run3), "--chunk", "--eval-json", str(base / "eval3.json"), "--command", "CMD3",
               "--recipe", "Chunk three's recipe.", "--dest", str(dest)])
    return {"dest": dest, "run2": run2, "run3": run3, "report2": report2, "after2": after2}


def test_log_is_appended_with_the_previous_totals_as_offsets(shipped):
    old_fields, old_rows = ship.read_csv(MODEL / "training_log.csv")
    fields, rows = ship.read_csv(shipped["dest"] / "training_log.csv")
    assert fields[:len(old_fields)] == old_fields and fields[-1] == "chunk" and "world_size" in fields
    assert len(rows) == len(old_rows) + 3 + 3
    assert all(r[k] == o[k] for r, o in zip(rows, old_rows) for k in old_fields)  # chunk 1 rows unchanged
    assert [r["chunk"] for r in rows] == [o.get("chunk") or "1" for o in old_rows] + [str(N0 + 1)] * 3 + [str(N0 + 2)] * 3
    first2, last2, first3 = rows[len(old_rows)], rows[len(old_rows) + 2], rows[len(old_rows) + 3]
    assert (first2["step"], first2["tokens_seen"], first2["elapsed_s"]) == (
        str(S0 + 500), str(T0 + 1_000_000), str(round(E0 + 4500, 1)))
    assert (last2["step"], last2["tokens_seen"], last2["elapsed_s"]) == (
        str(S0 + 1000), str(T0 + 2_000_000), str(round(E0 + 9000, 1)))
    assert (first3["step"], first3["tokens_seen"], first3["elapsed_s"]) == (
        str(S0 + 1250), str(T0 + 2_500_000), str(round(E0 + 11000, 1)))
    assert first2["mlm_loss"] == "4.1" and last2["lr"] == ""  # other columns as the run wrote them
    tokens = [int(r["tokens_seen"]) for r in rows]
    assert tokens == sorted(tokens)
    assert (MODEL / "training_log.csv").read_text().count("step,") == 1  # the real log untouched (read only)


def test_chunks_json_keeps_the_shipped_history_and_adds_up(shipped):
    chunks = json.loads((shipped["dest"] / "chunks.json").read_text())
    second, third = chunks[N0:]
    assert [c["chunk"] for c in chunks] == list(range(1, N0 + 3))
    assert chunks[0]["command"].startswith("BERT_PLAYGROUND_THREADS=2 python -m bert_playground pretrain --corpus")
    assert chunks[0]["recipe"].startswith("Initialised from all-MiniLM-L6-v2")
    if (MODEL / "chunks.json").is_file():  # the history is kept as it was: every figure it measured, unchanged
        old = json.loads((MODEL / "chunks.json").read_text())
        assert len(old) == N0 and all(c[k] == v for c, o in zip(chunks, old) for k, v in o.items() if v is not None)
        assert all(set(c) - set(o) <= {"everyday_matched_accuracy"} for c, o in zip(chunks, old))  # a later set's
    else:  # chunk 1 is read from the shipped result, its evaluation from the report's baseline
        base = shipped["report2"]["checkpoints"]["baseline"]
        assert chunks[0]["everyday_accuracy"] == base["everyday"]["accuracy"]
    assert second["init"] == "runs/start2" and second["tokens_per_s"] == pytest.approx(2_000_000 / 9000 * 1.1)
    assert [c["cumulative_tokens"] for c in chunks[N0 - 1:]] == [T0, T0 + 2_000_000, T0 + 3_000_000]
    assert third["cumulative_steps"] == S0 + 1000 + 500 and third["recipe"] == "Chunk three's recipe."
    assert third["cumulative_seconds"] == pytest.approx(E0 + 9000 + 4000)
    totals = [sum(c["tokens"] for c in chunks[:i + 1]) for i in range(len(chunks))]
    assert [c["cumulative_tokens"] for c in chunks] == totals


def test_the_last_shipped_chunk_gets_the_figures_of_a_set_added_later_from_its_own_evaluation(tmp_path):
    """The matched everyday set came after chunk 2 shipped: the next ship fills chunk 2's figure from the report's
    baseline, which evaluated chunk 2's own weights (checked by digest); a figure measured then is never replaced."""
    dest = build_checkpoint(tmp_path / "model")
    base = {"weights_sha256": ship.weights_sha256(dest), "everyday": {"accuracy": 0.7},
            "everyday_matched": {"accuracy": 0.8}, "cloze": {"top1": 9, "top5": 20, "n": 32}}
    history = [{"chunk": 1, "everyday_accuracy": 0.6}, {"chunk": 2, "everyday_accuracy": 0.75, "cloze_top1": 8}]
    got = ship.fill_shipped(copy.deepcopy(history), base, dest)
    assert got[0] == history[0]  # only the chunk whose weights were evaluated
    assert got[1]["everyday_matched_accuracy"] == 0.8 and got[1]["cloze_n"] == 32  # missing: filled
    assert (got[1]["everyday_accuracy"], got[1]["cloze_top1"]) == (0.75, 8)  # measured then: kept
    other = {**base, "weights_sha256": "0" * 64}  # an evaluation of other weights fills nothing
    assert ship.fill_shipped(copy.deepcopy(history), other, dest) == history
    assert ship.fill_shipped(copy.deepcopy(history), None, dest) == history


def test_the_first_chunk_of_a_checkpoint_shipped_before_chunks_is_read_from_its_card_and_result(tmp_path):
    """A checkpoint shipped the plain way (no chunks.json): chunk 1 is its command, recipe and measured figures."""
    run = fake_run(tmp_path / "run1", seed=1, steps=2769, tokens=4_946_218, seconds=2716.6, mlm=0.356)
    dest = tmp_path / "model"
    ship.ship(run, dest, "CMD1 --corpus part0", "Recipe one, from scratch.", interim=True)
    first = ship.read_chunks(dest, None)
    assert len(first) == 1 and not (dest / "chunks.json").exists()
    c = first[0]
    assert (c["chunk"], c["command"], c["recipe"]) == (1, "CMD1 --corpus part0", "Recipe one, from scratch.")
    assert (c["steps"], c["tokens"], c["held_out_mlm_accuracy"], c["cumulative_seconds"]) == (
        2769, 4_946_218, 0.356, 2716.6)


def test_card_keeps_the_card_and_adds_the_chunk_table(shipped):
    card = (shipped["dest"] / "README.md").read_text()
    old = (MODEL / "README.md").read_text()
    assert card.startswith("# Embedded checkpoint: a compact BERT pre-trained by BERT Playground (interim, CPU-trained)")
    gpu = model_card.GPU_RECIPE.strip()
    for kept in ("**What it is.**", "**Provenance and licences.**", "CC BY-SA 3.0 / GFDL", gpu):
        assert kept in card and (kept in old or kept == gpu)
    assert gpu in old  # the GPU paragraph is the shipped card's own
    table = [line for line in card.splitlines() if line.startswith("| ") and line.count("|") == 12]
    assert table[0].startswith("| chunk | device |")
    labels = [f"{c['chunk']}" + (" (not shipped)" if c.get("shipped") is False else "") for c in BASE]
    assert [r.split("|")[1].strip() for r in table[1:]] == labels + [str(N0 + 1), str(N0 + 2)]
    assert f"| {T0:,} |" in table[N0] and f"| {T0 + 3_000_000:,} |" in table[-1] and "| 0.390 / 0.963 |" in table[-1]
    assert f"pre-trained in {N0 + 2} chunks on CPU (2 threads)" in card
    assert f"{(T0 + 3_000_000) / 1e6:.1f}M tokens" in card
    assert "BERT_PLAYGROUND_THREADS=2 python -m bert_playground pretrain" in card and "```bash\nCMD3\n```" in card
    assert "*The capital of France is [MASK].* → top 5 of these weights:" in card
    assert "| held-out MLM accuracy / loss | – | – |" in card  # no held-out corpus in this evaluation
    assert "| 500 pairs (8462 predicted tokens)" in card  # the last chunk's own figures
    assert f"Pre-trained in {N0 + 1} chunks," in shipped["after2"]["card"]
    assert f"| {N0 + 2} |" not in shipped["after2"]["card"]


def test_card_drops_interim_once_the_targets_are_met(shipped):
    chunks = json.loads((shipped["dest"] / "chunks.json").read_text())
    result = json.loads((shipped["run3"] / "pretrain_result.json").read_text())
    met = chunks[:-1] + [{**chunks[-1], "held_out_mlm_accuracy": 0.51, "held_out_nsp_accuracy": 0.95}]
    card = model_card.chunk_card(met, None, result, shipped["run3"])
    assert "(interim" not in card.splitlines()[0] and "Interim checkpoint" not in card
    below = chunks[:-1] + [{**chunks[-1], "held_out_mlm_accuracy": 0.51, "held_out_nsp_accuracy": 0.94}]
    assert "**Interim checkpoint.**" in model_card.chunk_card(below, None, result, shipped["run3"])


def test_ship_refuses_an_evaluation_of_other_weights_or_a_chunk_not_better(shipped, tmp_path):
    dest = shipped["dest"]
    other = evaluated(shipped["run2"], dest)  # run2's weights, not run3's
    with pytest.raises(SystemExit, match="other weights"):
        ship.check_eval(other, shipped["run3"], dest, force=True)
    report = evaluated(shipped["run3"], dest, better=False)
    with pytest.raises(SystemExit, match="did not find the new weights better"):
        ship.check_eval(report, shipped["run3"], dest, force=False)
    ship.check_eval(report, shipped["run3"], dest, force=True)  # --force ships all the same
    stale = copy.deepcopy(report)
    stale["checkpoints"]["baseline"]["weights_sha256"] = "0" * 64
    stale["comparison"]["better"] = True
    with pytest.raises(SystemExit, match="baseline is not the checkpoint"):
        ship.check_eval(stale, shipped["run3"], dest, force=False)
    del stale["checkpoints"]["baseline"]
    with pytest.raises(SystemExit, match="no baseline"):
        ship.check_eval(stale, shipped["run3"], dest, force=False)


def test_home_page_curves_run_across_chunks_with_a_line_per_chunk_start(shipped):
    rows = read_training_log(shipped["dest"])
    starts = [(c["chunk"], float(p["cumulative_tokens"])) for p, c in zip(BASE, BASE[1:])]
    starts += [(N0 + 1, float(T0)), (N0 + 2, float(T0 + 2_000_000))]
    assert chunk_starts(rows) == starts
    fig = training_curves(rows)
    mlm = next(t for t in fig.data if t.name == "MLM loss")
    assert list(mlm.x) == sorted(mlm.x) and max(mlm.x) > T0 + 2_000_000  # one trace, every chunk on it
    assert sorted(s.x0 for s in fig.layout.shapes) == sorted([x for _, x in starts] * 2)
    assert [a.text for a in fig.layout.annotations if a.text.startswith("chunk")] == [f"chunk {c}" for c, _ in starts]


def test_the_shipped_log_marks_each_chunk_where_its_history_says_it_started():
    starts = chunk_starts(read_training_log(MODEL))
    assert starts == [(c["chunk"], float(p["cumulative_tokens"])) for p, c in zip(BASE, BASE[1:])]


def test_curves_of_a_log_without_chunks_have_no_chunk_lines(shipped):
    rows = read_training_log(shipped["run2"])  # a run's own log: no chunk column
    assert rows and chunk_starts(rows) == [] and not training_curves(rows).layout.shapes


def test_a_chunk_is_not_shipped_without_its_evaluation(shipped, capsys):
    before = (shipped["dest"] / "chunks.json").read_text()
    with pytest.raises(SystemExit):
        ship.main([str(shipped["run3"]), "--chunk", "--command", "CMD", "--dest", str(shipped["dest"])])
    assert "--chunk needs --eval-json" in capsys.readouterr().err
    assert (shipped["dest"] / "chunks.json").read_text() == before


def test_a_run_continued_from_a_chunk_never_shipped_brings_that_chunk_into_the_history(tmp_path):
    """Chunk A failed the rule and stayed out of assets; chunk B started from A's weights and passed: shipping B
    with --via A records A (marked not shipped, its own evaluation) and then B, tokens counted through both."""
    dest = build_checkpoint(tmp_path / "model")
    for name in SHIPPED_FILES:
        if (MODEL / name).is_file():
            shutil.copy(MODEL / name, dest / name)
    run_a = fake_run(tmp_path / "a", seed=4, steps=800, tokens=1_500_000, seconds=7000.0, mlm=0.38)
    (tmp_path / "a_eval.json").write_text(json.dumps(evaluated(run_a, dest, better=True)))
    run_b = fake_run(tmp_path / "b", seed=5, steps=600, tokens=1_200_000, seconds=6000.0, mlm=0.40)
    (tmp_path / "b_eval.json").write_text(json.dumps(evaluated(run_b, dest)))
    ship.main([str(run_b), "--chunk", "--eval-json", str(tmp_path / "b_eval.json"), "--command", "CMD-B",
               "--via", str(run_a), "--via-eval", str(tmp_path / "a_eval.json"), "--via-command", "CMD-A",
               "--via-recipe", "A's recipe.", "--dest", str(dest)])
    chunks = json.loads((dest / "chunks.json").read_text())
    a, b = chunks[N0:]
    assert (a["chunk"], a["shipped"], a["command"], a["recipe"]) == (N0 + 1, False, "CMD-A", "A's recipe.")
    assert "shipped" not in b and b["command"] == "CMD-B" and b["held_out_mlm_accuracy"] == 0.40
    assert a["everyday_accuracy"] is not None  # from A's own evaluation
    assert [a["cumulative_tokens"], b["cumulative_tokens"]] == [T0 + 1_500_000, T0 + 2_700_000]
    fields, rows = ship.read_csv(dest / "training_log.csv")
    tail = rows[-6:]
    assert [r["chunk"] for r in tail] == [str(N0 + 1)] * 3 + [str(N0 + 2)] * 3
    assert tail[3]["tokens_seen"] == str(T0 + 1_500_000 + 600_000)  # B's rows start where A ended
    card = (dest / "README.md").read_text()
    assert f"| {N0 + 1} (not shipped) |" in card and "```bash\nCMD-A\n```" in card and "```bash\nCMD-B\n```" in card
    from safetensors.torch import load_file

    shipped_w, a_w, b_w = (load_file(f / "model.safetensors") for f in (dest, run_a, run_b))
    assert all(shipped_w[k].equal(b_w[k]) for k in shipped_w)  # B's weights are the ones shipped, not A's
    assert not all(shipped_w[k].equal(a_w[k]) for k in shipped_w)


def test_a_chain_of_chunks_never_shipped_enters_the_history_oldest_first(tmp_path, capsys):
    """A and A2 each failed the rule; A2 started from A, B from A2. `--via A ... --via A2 ...` records both, in
    order and marked not shipped, then B; a --via option given a different number of times is refused first."""
    dest = build_checkpoint(tmp_path / "model")
    for name in SHIPPED_FILES:
        if (MODEL / name).is_file():
            shutil.copy(MODEL / name, dest / name)
    runs = [fake_run(tmp_path / name, seed=s, steps=400, tokens=1_000_000, seconds=5000.0, mlm=m)
            for name, s, m in (("a", 4, 0.38), ("a2", 6, 0.39), ("b", 5, 0.40))]
    (tmp_path / "b_eval.json").write_text(json.dumps(evaluated(runs[2], dest)))
    before = (dest / "chunks.json").read_text()
    base = [str(runs[2]), "--chunk", "--eval-json", str(tmp_path / "b_eval.json"), "--command", "CMD-B",
            "--dest", str(dest), "--via", str(runs[0]), "--via", str(runs[1])]
    with pytest.raises(SystemExit):
        ship.main(base + ["--via-command", "CMD-A"])
    assert "--via-command once for each --via (2)" in capsys.readouterr().err
    assert (dest / "chunks.json").read_text() == before
    ship.main(base + ["--via-command", "CMD-A", "--via-command", "CMD-A2"])
    a, a2, b = json.loads((dest / "chunks.json").read_text())[N0:]
    assert [(c["chunk"], c.get("shipped"), c["command"]) for c in (a, a2, b)] == \
        [(N0 + 1, False, "CMD-A"), (N0 + 2, False, "CMD-A2"), (N0 + 3, None, "CMD-B")]
    assert [c["cumulative_tokens"] for c in (a, a2, b)] == [T0 + 1_000_000, T0 + 2_000_000, T0 + 3_000_000]
    card = (dest / "README.md").read_text()
    assert f"| {N0 + 1} (not shipped) |" in card and f"| {N0 + 2} (not shipped) |" in card
