"""Labelled data in: tables, CoNLL, SQuAD, with their size checks."""
