"""Fine-tuning, as a loop that reports its progress as it goes: one backbone, many heads.

Tasks (`FinetuneConfig.task`): 'classify' and 'pairs' (a sequence head on [CLS] or the mean token vector), 'tag'
(a token head: a BIO tag per word, on its first WordPiece) and 'qa' (a span head: start and end logits over the
passage, windows with a document stride). Each task's modes are head classes in `heads.TASK_HEADS`.
Sequence-classification modes on the same data and the same loop (one head class each, `heads.HEADS`):
  full      every weight of a copy of the checkpoint's encoder (first `layers` layers) + a new head trains;
  frozen    the encoder is frozen, its [CLS] vectors are computed once, and only the head (BERT's pooler
            dense+tanh, then a linear classifier) trains on them;
  random    as full, but the encoder starts from fresh random weights: what pre-training buys;
  baseline  no BERT at all: bag-of-words logistic regression (`bow.py`), for comparison.
The cached Bundle is never touched: the classifier is a new `BertForSequenceClassification` built from a copy
of the encoder's config, into which the encoder weights are copied.

  config.py   FinetuneConfig, MODES, bounds and validation
  events.py   Start, Prepare, Step, Evaluation, Done and FinetuneResult
  heads.py    the task heads (the Head protocol and the HEADS registry)
  loop.py     train() / run(): the loop, on the shared training core (`training.py`)
  persist.py  save() (load_classifier / load_predictor read it back)
  metrics.py  entity P/R/F1 (BIO, seqeval rules), SQuAD exact match and token F1
  spans.py    first-piece labels, passage windows, best-span decoding across windows
  predictors.py  Tagger and Reader: predict, save, load
  snapshots.py   epoch snapshots (bounded, in memory) for the what-changed views
"""
from .classifier import Classifier, ClassPrediction, Metrics, classification_metrics, load_classifier  # noqa: F401  # noqa: F401
from .config import DEFAULT_LR, LIMITS, MODES, POOLINGS, TASK_MODES, TASKS, FinetuneConfig, validate  # noqa: F401
from .events import Done, Evaluation, FinetuneResult, Phase, Prepare, Start, Step  # noqa: F401
from .heads import HEADS, TASK_HEADS, Head, build_classifier, build_model, encoder_state, head_class  # noqa: F401
from .loop import eval_sample, lr_at, run, train  # noqa: F401
from .metrics import QAMetrics, TagMetrics, entity_metrics, qa_metrics  # noqa: F401
from .persist import METRICS_FILE, save  # noqa: F401
from .predictors import QAPrediction, Reader, Tagger, TagPrediction, load_predictor  # noqa: F401
