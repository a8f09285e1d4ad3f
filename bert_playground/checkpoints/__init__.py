"""Checkpoints in: a name's folder and its checks (no torch), loading, the BERT-family table, checkpoints side by side."""
