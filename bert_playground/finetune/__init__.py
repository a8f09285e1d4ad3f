"""Fine-tuning for sequence classification, as a loop that reports its progress as it goes.

Three modes on the same data and the same loop (one head class each, `heads.HEADS`):
  full      every weight of a copy of the checkpoint's encoder (first `layers` layers) + a new head trains;
  frozen    the encoder is frozen, its [CLS] vectors are computed once, and only the head (BERT's pooler
            dense+tanh, then a linear classifier) trains on them;
  baseline  no BERT at all: bag-of-words logistic regression (`bow.py`), for comparison.
The cached Bundle is never touched: the classifier is a new `BertForSequenceClassification` built from a copy
of the encoder's config, into which the encoder weights are copied.

  config.py   FinetuneConfig, MODES, bounds and validation
  events.py   Start, Prepare, Step, Evaluation, Done and FinetuneResult
  heads.py    the task heads (the Head protocol and the HEADS registry)
  loop.py     train() / run(): the loop, on the shared training core (`training.py`)
  persist.py  save() (load_classifier reads it back)
"""
from ..classifier import Classifier, Metrics, classification_metrics  # noqa: F401
from ..classifier import ClassPrediction, load_classifier  # noqa: F401
from .config import DEFAULT_LR, LIMITS, MODES, FinetuneConfig, validate  # noqa: F401
from .events import Done, Evaluation, FinetuneResult, Phase, Prepare, Start, Step  # noqa: F401
from .heads import HEADS, Head, build_classifier, encoder_state  # noqa: F401
from .loop import eval_sample, lr_at, run, train  # noqa: F401
from .persist import METRICS_FILE, save  # noqa: F401
