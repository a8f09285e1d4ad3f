"""Issue 31, item 3: the charts' one-sentence text alternatives, computed from the data (figures/describe.py)."""
import numpy as np

from bert_playground.figures import describe
from bert_playground.figures.attention import heatmap
from bert_playground.figures.nsp import packed_input

TOKENS = ["[CLS]", "the", "cat", "sat", "[SEP]"]


def test_attention_summary_names_where_most_tokens_attend_and_the_strongest_weight():
    m = np.full((5, 5), 0.05)
    m[:, 4] = 0.6  # every row's largest weight on [SEP]...
    m[2, 1] = 0.9  # ...but 'cat' puts its strongest on 'the'
    text = describe.attention(m, TOKENS, range(5), range(5), "Layer 3, head 7")
    assert text == ("Layer 3, head 7: 4 of 5 tokens attend mostly to '[SEP]' (position 4); the strongest weight, "
                    "0.90, is from 'cat' (position 2) to 'the' (position 1).")


def test_attention_summary_reads_positions_of_a_slice():
    m = np.array([[0.1, 0.9], [0.8, 0.2]])  # rows 2-3 attending to columns 3-4 of a longer input
    text = describe.attention(m, TOKENS, [2, 3], [3, 4], "Block")
    assert "1 of 2 tokens attend mostly to 'sat' (position 3)" in text  # a tie goes to the first column
    assert "0.90, is from 'cat' (position 2) to '[SEP]' (position 4)" in text


def test_segments_summary_counts_each_segment():
    assert describe.segments(TOKENS + ["dog", "[SEP]"], [0, 0, 0, 0, 0, 1, 1]) == (
        "7 tokens, 5 in segment A and 2 in segment B (from position 5); 3 of them special tokens such as [CLS] and [SEP].")
    assert "(no sentence B)" in describe.segments(TOKENS, [0] * 5)


def test_describe_skips_legend_only_traces_and_reads_heatmaps():
    fig = packed_input(TOKENS, [0] * 5)  # boxes are shapes; its two traces only make the legend
    assert "nan" not in describe.describe(fig)
    fig = heatmap(np.array([[0.2, 0.8], [0.7, 0.3]]), ["a", "b"], [0, 1], [0, 1], "Map")
    assert describe.describe(fig) == "Map: a 2 × 2 map whose largest value, 0.8, is at row a #0, column b #1."


def test_nsp_summary_gives_the_probability_and_the_verdict():
    assert describe.is_next(0.7312) == ("P(IsNext) = 0.731, so the NSP head says IsNext: B follows A "
                                        "(the threshold is 0.5).")
    assert "NotNext: B does not follow A" in describe.is_next(0.2)


def test_attribution_summary_names_each_methods_top_token_and_the_strongest_against():
    tokens = ["[CLS]", "paris", "is", "not", "[MASK]", "[SEP]"]
    scores = {"attention": np.array([0.5, 0.2, 0.1, 0.1, 0.0, 0.1]),  # [CLS] is not a candidate: never named
              "integrated_gradients": np.array([0.0, 0.31, 0.02, -0.12, 0.0, 0.0])}
    text = describe.attribution(tokens, scores, {"attention": "Attention", "integrated_gradients": "IG"}, [1, 2, 3])
    assert text == "Attention credits 'paris' most (+0.2); IG credits 'paris' most (+0.31) and 'not' most against (-0.12)."
