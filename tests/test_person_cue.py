"""scripts/person_cue.py: the rewrite into the third person, the counterfactual counts (against scoring each pair
directly) and the person cue measured in a corpus (against the pair builder's own flags)."""
import lzma

import pytest
from test_eval_checkpoint import load_script

from bert_playground import load
from bert_playground.objectives import nsp

pc = load_script("person_cue")


@pytest.mark.parametrize("text, want", [
    ("I forgot my keys, so we went home.", "She forgot her keys, so they went home."),
    ("I am late and I've missed our bus.", "She is late and she's missed their bus."),
    ("My sister helped me.", "Her sister helped her."),
    ("The US team won.", "The US team won."),  # the country, not the pronoun
    ("It rained all day.", "It rained all day."),
])
def test_third_person_rewrites_only_the_first_person(text, want):
    assert pc.third_person(text) == want


ROWS = [("I lost my keys.", "I looked everywhere for them.", True), ("I lost my keys.", "We had pizza.", False),
        ("The film was long.", "Some people left early.", True), ("The film was long.", "My cat sleeps a lot.", False),
        ("He sings.", "The sky is blue.", False)]


def test_counterfactual_counts_what_direct_scoring_gives(tiny_dir):
    bundle = load(str(tiny_dir), "cpu")
    got = pc.counterfactual(bundle, ROWS)

    def said(a, b):
        return int(nsp.score_text(bundle, a, b).is_next_probability > 0.5)
    assert got["is_next"] == {"n": 1, "said_is_next": said(*ROWS[0][:2]),
                              "said_is_next_third_person": said(ROWS[0][0], "She looked everywhere for them.")}
    assert got["not_next"] == {
        "n": 2, "said_is_next": said(*ROWS[1][:2]) + said(*ROWS[3][:2]),
        "said_is_next_third_person": said(ROWS[1][0], "They had pizza.") + said(ROWS[3][0], "Her cat sleeps a lot.")}


def test_corpus_cue_shows_the_cue_and_its_removal(tmp_path, tokenizer):
    """Articles as Wikipedia has them: a few in the first person, most never: after a first-person A, B is first
    person far more often in IsNext than in NotNext pairs, unless NotNext pairs are person-matched."""
    lines = []
    for d in range(60):
        who = "we" if d % 5 == 0 else "the team"
        lines += [f'<doc id="{d}" title="Article {d}">', f"Article {d}",
                  " ".join(f"Then {who} visited place number {d * 10 + k} in the valley." for k in range(8)), "</doc>"]
    path = tmp_path / "part.txt.xz"
    with lzma.open(path, "wt") as f:
        f.write("\n".join(lines) + "\n")
    got = pc.corpus_cue(str(path), tokenizer, docs=60, sentence_pair_prob=1.0)
    assert got["docs"] == 60 and got["first_person_share"] == pytest.approx(12 / 60)
    bert, matched = got["bert"], got["person_matched"]
    assert bert["b_first_person_is_next"] == 1.0 and bert["b_first_person_not_next"] < 0.5
    assert matched["b_first_person_not_next"] == 1.0
