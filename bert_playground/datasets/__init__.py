"""Labelled data in, one module per format: `tables` (CSV/TSV and the shipped intents and entailment pairs),
`conll` (token tags), `squad` (extractive QA), `hub` (Hugging Face datasets, optional); `files` holds the size
limits and checks every reader applies before it builds anything, and `Rows`, the one way to take part of a set."""
from .conll import NER_NAME, TaggedData, read_conll, read_conll_file, shipped_ner, split_tagged
from .files import MAX_BYTES, MAX_MB, MAX_ROWS, Rows, check_size, read_bytes
from .hub import HUB_HINT, hub_available, load_hub
from .squad import QA_NAME, QAData, QAExample, read_squad, read_squad_file, shipped_qa, split_articles
from .tables import (
                     LABEL_NAMES,
                     MAX_CLASSES,
                     PAIR_NAMES,
                     PAIRS_NAME,
                     SHIPPED_NAME,
                     TEXT_NAMES,
                     LabelledData,
                     Table,
                     classify_inputs,
                     guess_columns,
                     read_file,
                     read_table,
                     shipped,
                     shipped_pairs,
                     split_holdout,
                     to_labelled,
                     train_and_holdout,
)

__all__ = ["NER_NAME", "TaggedData", "read_conll", "read_conll_file", "shipped_ner", "split_tagged", "MAX_BYTES",
           "MAX_MB", "MAX_ROWS", "Rows", "check_size", "read_bytes", "HUB_HINT", "hub_available", "load_hub", "QA_NAME",
           "QAData", "QAExample", "read_squad", "read_squad_file", "shipped_qa", "split_articles", "LABEL_NAMES",
           "MAX_CLASSES", "PAIR_NAMES", "PAIRS_NAME", "SHIPPED_NAME", "TEXT_NAMES", "LabelledData", "Table",
           "classify_inputs", "guess_columns", "read_file", "read_table", "shipped", "shipped_pairs", "split_holdout",
           "to_labelled", "train_and_holdout"]
