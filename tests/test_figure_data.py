"""Issue 31, item 2: every chart's data as a table. `figures.data.rows` reads the numbers back out of a figure built
by the package's own builders, and must give exactly what went in (the matrix, the probabilities, the gauge's
value), user text as typed, and CSV that a spreadsheet will not run."""
import csv
import io

import numpy as np

from bert_playground.core import csv_cells
from bert_playground.figures import data
from bert_playground.figures.attention import heatmap
from bert_playground.figures.mlm import draws_histogram, prediction_bars
from bert_playground.figures.nsp import packed_input, probability_gauge

TOKENS = ["[CLS]", "the", "cat", "sat", "[SEP]"]


def test_a_heatmap_gives_every_cell_with_its_row_and_column():
    rng = np.random.default_rng(0)
    m = rng.random((3, 4))
    fig = heatmap(m, TOKENS, [1, 2, 3], [0, 1, 2, 4], "Layer 1, head 1")
    rows = data.rows(fig)
    assert len(rows) == 12
    back = np.array([r["z"] for r in rows]).reshape(3, 4)
    np.testing.assert_array_equal(back, m)  # the very numbers, in row-major order
    assert rows[0]["y"].startswith("the") and rows[3]["x"].startswith("[SEP]")
    assert all(isinstance(r["z"], float) for r in rows)  # numpy scalars become plain numbers
    assert data.has_rows(fig)


def test_bars_give_user_text_as_typed_not_as_escaped_html():
    tokens, probs = ["<b>", "a&b", "=cmd"], [0.5, 0.3, 0.2]
    fig = prediction_bars(tokens, probs, "Top 3 at [MASK]")
    rows = data.rows(fig)
    assert [(r["y"], r["x"]) for r in rows] == list(zip(tokens, probs))
    text = csv_cells.write(rows, data.FIELDS)
    read = list(csv.DictReader(io.StringIO(text)))
    assert [r["y"] for r in read] == ["<b>", "a&b", "'=cmd"]  # a formula-looking token is quoted for spreadsheets
    assert [float(r["x"]) for r in read] == probs


def test_a_gauge_gives_its_value_and_a_histogram_its_raw_values():
    assert data.rows(probability_gauge(0.731)) == [{"series": "indicator 1", "x": "", "y": "", "z": 0.731}]
    fig = draws_histogram([3, 4, 4, 5], eligible=30, rate=0.15)
    values = [r["x"] for r in data.rows(fig) if r["y"] == ""]
    assert sorted(values) == [3, 4, 4, 5]


def test_a_figure_of_shapes_and_legend_entries_only_has_no_rows():
    fig = packed_input(TOKENS, [0, 0, 0, 0, 0])  # boxes are shapes; its traces only hold the legend
    assert data.rows(fig) == [] and not data.has_rows(fig)
