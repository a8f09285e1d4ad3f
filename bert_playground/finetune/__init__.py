"""Fine-tuning, as a loop that reports its progress as it goes: one backbone, many heads.

Tasks (`FinetuneConfig.task`, each described once in `tasks.TASKS`): 'classify' and 'pairs' (a sequence head on
[CLS] or the mean token vector), 'tag' (a token head: a BIO tag per word, on its first WordPiece) and 'qa' (a span
head: start and end logits over the passage, windows with a document stride). Each task's modes are head classes
in `heads.TASK_HEADS`: full (every weight trains), frozen (only the head), random (fresh weights: what pre-training
buys) and, for sequence tasks, baseline (bag of words, no BERT).
The cached Bundle is never touched: every head model is a new model of the checkpoint family's class, built from a
copy of the encoder's config, into which the encoder weights are copied.

  config.py   FinetuneConfig, MODES, bounds and validation
  events.py   Start, Prepare, Step, Evaluation, Done and FinetuneResult
  tasks.py    one description per task: its files, splits, demo sets, metric names, result view
  heads.py    the Head protocol, the TASK_HEADS registry, building a head model of the family's class
  sequence.py, tagging.py, qa.py   the head classes of each task, one per mode
  classifier.py  a saved sequence classifier: encode, predict, metrics
  loop.py     train() / run(): the loop, on the shared training core (`training.py`)
  persist.py  save() (load_classifier / load_predictor read it back)
  metrics.py  entity P/R/F1 (BIO, seqeval rules), SQuAD exact match and token F1
  spans.py    first-piece labels, passage windows, best-span decoding across windows
  predictors.py  Tagger and Reader: predict, save, load
  snapshots.py   epoch snapshots (bounded, in memory) for the what-changed views
"""
from .classifier import Classifier, ClassPrediction, Metrics, classification_metrics, load_classifier  # noqa: F401
from .config import (APP_LIMITS, APP_MAX_SECONDS, DEFAULT_LR, LIMITS, MODES, POOLINGS, TASK_MODES, TASKS,  # noqa: F401
                     FinetuneConfig, validate)
from .events import Done, Evaluation, FinetuneResult, Phase, Prepare, Start, Step  # noqa: F401
from . import qa, sequence, tagging  # noqa: F401 (each registers its head classes)
from .heads import HEADS, TASK_HEADS, Head, build_classifier, build_model, encoder_state, head_class  # noqa: F401
from .loop import eval_sample, lr_at, run, train  # noqa: F401
from .metrics import QAMetrics, TagMetrics, entity_metrics, qa_metrics  # noqa: F401
from .persist import METRICS_FILE, save  # noqa: F401
from .predictors import QAPrediction, Reader, Tagger, TagPrediction, load_predictor  # noqa: F401
