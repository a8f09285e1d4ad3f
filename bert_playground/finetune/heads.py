"""Task heads: what trains, how a batch becomes a loss, and how the held-out data is scored.

Each mode is one class registered in `HEADS`; the loop (`loop.py`) only calls the `Head` protocol, so a new
task (token tagging, span QA, a randomly initialised encoder) is a new class here, not a branch in the loop.
"""
from __future__ import annotations

import copy
import re
from typing import Iterator, Protocol

import numpy as np
import torch
import torch.nn.functional as F
import transformers
from transformers import (
    AutoTokenizer,
    BertForQuestionAnswering,
    BertForSequenceClassification,
    BertForTokenClassification,
)

from ..core.errors import PlaygroundError
from ..core.training import autocast
from ..interpret.bow import BowClassifier, build_vocab
from .classifier import (
    Classifier,
    Metrics,
    batch,
    bert_logits,
    bow_logits,
    by_length,
    classification_metrics,
    encode,
    pool,
    sequence_logits,
)
from .config import FinetuneConfig
from .events import Prepare
from .metrics import entity_metrics, qa_metrics
from .predictors import Reader, Tagger, encode_words, span_logits, token_logits
from .spans import IGNORE, answer_positions, decode, windows, word_scores


class Head(Protocol):
    """What the loop needs from a task head."""

    model: torch.nn.Module
    params: list[torch.nn.Parameter]  # the parameters that train
    clip: float | None  # gradient-norm clipping (None: none)
    n_train: int  # training rows the loop draws batches from (QA: windows, not questions)

    def prepare(self, stop) -> Iterator[Prepare]: ...  # work before the first step (frozen: [CLS] features)
    def loss(self, idx: torch.Tensor) -> torch.Tensor: ...  # mean loss of training rows `idx`
    def evaluate(self): ...  # scores on the held-out data (Metrics, TagMetrics or QAMetrics: .score, .row())
    def predictor(self): ...  # the trained model, ready to predict (Classifier, Tagger or Reader)


HEADS: dict[str, type] = {}  # sequence classification (single texts and pairs): mode -> Head class
TASK_HEADS: dict[str, dict[str, type]] = {"classify": HEADS, "pairs": HEADS, "tag": {}, "qa": {}}  # task -> mode -> Head


def register(mode: str, task: str = "classify"):
    def add(cls):
        TASK_HEADS[task][mode] = cls
        return cls
    return add


def head_class(task: str, mode: str) -> type:
    return TASK_HEADS[task][mode]


# ---- building the classifier ----------------------------------------------------------------

_LAYER = re.compile(r"(?:encoder\.layer|transformer\.layer|layers)\.(\d+)\.")  # BERT/RoBERTa/ELECTRA, DistilBERT, ModernBERT


def encoder_state(bundle, layers: int | None) -> dict[str, torch.Tensor]:
    """The checkpoint's encoder weights, without the layers beyond the first `layers` (ALBERT shares one set of
    layer weights: keeping fewer layers only repeats it fewer times)."""
    keep = {}
    for name, t in bundle.encoder.state_dict().items():
        m = _LAYER.match(name)
        if m and layers is not None and int(m.group(1)) >= layers:
            continue
        keep[name] = t
    return keep


def build_classifier(bundle, label_names, layers: int | None = None, device=None) -> torch.nn.Module:
    """A new sequence classifier of the checkpoint's family (BertForSequenceClassification,
    RobertaForSequenceClassification, ...) whose encoder is a copy of the first `layers` layers of the bundle's."""
    fam = bundle.family
    config = copy.deepcopy(bundle.encoder.config)
    n_layers = "n_layers" if fam.model_type == "distilbert" else "num_hidden_layers"
    setattr(config, n_layers, layers or getattr(config, n_layers))
    if fam.model_type == "modernbert":
        config.layer_types = config.layer_types[:getattr(config, n_layers)] if config.layer_types else None
    config.num_labels = len(label_names)
    config.id2label = {i: n for i, n in enumerate(label_names)}
    config.label2id = {n: i for i, n in enumerate(label_names)}
    config.problem_type = "single_label_classification"
    config.architectures = [fam.sequence_classification]
    config.output_attentions = config.output_hidden_states = False
    cls = getattr(transformers, fam.sequence_classification)
    model = cls._from_config(config, attn_implementation="sdpa", dtype=torch.float32)
    base = getattr(model, fam.base)
    missing, unexpected = base.load_state_dict(encoder_state(bundle, layers), strict=False)  # copies the values
    if unexpected or any(not k.startswith("pooler.") for k in missing):
        raise PlaygroundError(f"The checkpoint's encoder does not fit a {fam.name} classifier (missing {missing[:3]}, "
                              f"unexpected {unexpected[:3]}).")
    return model.to(device or bundle.device).train()


def build_model(bundle, cls, layers: int | None, device, **config_changes) -> torch.nn.Module:
    """A new `cls` (token or span head) whose encoder is a copy of the first `layers` layers of the bundle's."""
    config = copy.deepcopy(bundle.encoder.config)
    config.num_hidden_layers = layers or config.num_hidden_layers
    for k, v in config_changes.items():
        setattr(config, k, v)
    config.architectures = [cls.__name__]
    config.output_attentions = config.output_hidden_states = False
    model = cls._from_config(config, attn_implementation="sdpa", dtype=torch.float32)
    missing, unexpected = model.base_model.load_state_dict(encoder_state(bundle, layers), strict=False)
    unexpected = [k for k in unexpected if not k.startswith("pooler.")]  # token and span heads read no pooler
    if unexpected or any(not k.startswith("pooler.") for k in missing):
        raise PlaygroundError(f"The checkpoint's encoder does not fit a {cls.__name__} (missing {missing[:3]}, "
                              f"unexpected {unexpected[:3]}).")
    return model.to(device or bundle.device).train()


def reinitialise(model: torch.nn.Module) -> torch.nn.Module:
    """Fresh random weights, the library's own initialisation, same architecture and shapes (what pre-training buys)."""
    fresh = type(model)._from_config(model.config, attn_implementation="sdpa", dtype=torch.float32)
    model.load_state_dict(fresh.state_dict())
    return model


def freeze_encoder(model: torch.nn.Module) -> list[torch.nn.Parameter]:
    """Only the head trains: the encoder's parameters stop requiring gradients; returns those that train."""
    for p in model.base_model.parameters():
        p.requires_grad_(False)
    return [p for p in model.parameters() if p.requires_grad]


def _tokenizer_copy(bundle):
    """Training uses its own tokenizer (it is saved with the model), never the shared one."""
    try:
        return copy.deepcopy(bundle.tokenizer)
    except Exception:
        return AutoTokenizer.from_pretrained(bundle.info.path, local_files_only=True)


def _metrics(logits: torch.Tensor, y: torch.Tensor, n_labels: int) -> Metrics:
    """Accuracy, macro-F1 and the confusion matrix of (N, C) logits against labels (N,)."""
    loss = F.cross_entropy(logits, y).item()
    return classification_metrics(y.numpy(), logits.argmax(-1).numpy(), n_labels, loss)


def _labels(task, train, eval_data) -> None:
    """A sequence task's targets: (N,) and (M,) label ids, the label names, single texts or pairs."""
    task.y_train = torch.tensor(train.labels, dtype=torch.long)
    task.y_eval = torch.tensor(eval_data.labels, dtype=torch.long)
    task.label_names, task.pair, task.n_train = tuple(train.label_names), train.text_pairs is not None, len(train)


# ---- sequence classification: the four modes -----------------------------------------------

@register("full")
class FullTask:
    """Every weight of the encoder copy and the new head trains ([CLS] -> pooler -> linear, as in BERT 4.1)."""

    clip = 1.0

    def __init__(self, bundle, train, eval_data, cfg: FinetuneConfig, device):
        self.device, self.cfg = device, cfg
        self.tokenizer = _tokenizer_copy(bundle)
        self.model = build_classifier(bundle, train.label_names, cfg.layers, device)
        self.model.config.pooling = cfg.pooling  # saved in config.json: the classifier reads the same vector
        self.train_enc = encode(self.tokenizer, train.texts, train.text_pairs, cfg.max_length)
        self.eval_enc = encode(self.tokenizer, eval_data.texts, eval_data.text_pairs, cfg.max_length)
        self.params = [p for p in self.model.parameters() if p.requires_grad]
        _labels(self, train, eval_data)

    def prepare(self, stop) -> Iterator[Prepare]:
        return iter(())

    def loss(self, idx: torch.Tensor) -> torch.Tensor:
        with autocast(self.device):
            logits = sequence_logits(self.model, batch(self.train_enc, idx, self.device))  # (B, C)
        return F.cross_entropy(logits.float(), self.y_train[idx].to(self.device))

    def eval_logits(self) -> torch.Tensor:
        self.model.eval()
        out = bert_logits(self.model, self.eval_enc, self.device)  # (N, C)
        self.model.train()
        return out

    def evaluate(self) -> Metrics:
        return _metrics(self.eval_logits(), self.y_eval, len(self.label_names))

    def classifier(self, label_names, pair: bool) -> Classifier:
        return Classifier("bert", self.model.eval(), self.tokenizer, tuple(label_names), self.device, self.cfg.max_length, pair)

    def predictor(self) -> Classifier:
        return self.classifier(self.label_names, self.pair)


@register("random")
class RandomTask(FullTask):
    """Full fine-tuning of the same architecture from fresh random weights: no pre-training at all."""

    def __init__(self, bundle, train, eval_data, cfg, device):
        super().__init__(bundle, train, eval_data, cfg, device)
        reinitialise(self.model)


@register("frozen")
class FrozenTask(FullTask):
    """The encoder never trains: its last-layer [CLS] vectors are computed once; the head trains on them."""

    def __init__(self, bundle, train, eval_data, cfg, device):
        super().__init__(bundle, train, eval_data, cfg, device)
        self.family = bundle.family
        if getattr(self.model.config, "classifier_pooling", "cls") != "cls":
            raise PlaygroundError("Frozen mode reads the [CLS] vector; this ModernBERT classifier pools by mean: "
                                  "use full fine-tuning.")
        self.base = getattr(self.model, self.family.base)
        for p in self.base.parameters():
            p.requires_grad_(False)
        pooler = [m for m in (getattr(self.base, "pooler", None),) if isinstance(m, torch.nn.Module)]
        head = [p for n, p in self.model.named_parameters() if not n.startswith(self.family.base + ".")]
        head += [p for m in pooler for p in m.parameters()]  # BERT/ALBERT's pooler lives inside the encoder
        for p in head:
            p.requires_grad_(True)
        self.params = head
        self.train_cls = self.eval_cls = None

    @torch.no_grad()
    def _cls(self, enc: dict, stop, done: int, total: int, out: list) -> Iterator[Prepare]:
        n = len(enc["input_ids"])
        feats = torch.zeros((n, self.model.config.hidden_size), device=self.device)  # (N, D)
        self.base.eval()
        keep = ("input_ids", "attention_mask") + (("token_type_ids",) if self.family.segments else ())
        for idx in by_length(enc, 128):
            if stop is not None and stop.is_set():
                break
            rows = {k: v for k, v in batch(enc, idx, self.device).items() if k in keep}
            with autocast(self.device):
                h = pool(self.base(**rows).last_hidden_state, rows["attention_mask"], self.cfg.pooling)  # (B, D)
            feats[idx.to(self.device)] = h.float()
            done += len(idx)
            yield Prepare(done, total)
        out.append(feats)

    def prepare(self, stop) -> Iterator[Prepare]:
        total = len(self.train_enc["input_ids"]) + len(self.eval_enc["input_ids"])
        got: list = []
        yield from self._cls(self.train_enc, stop, 0, total, got)
        yield from self._cls(self.eval_enc, stop, len(self.train_enc["input_ids"]), total, got)
        self.train_cls, self.eval_cls = got

    def _head(self, h: torch.Tensor) -> torch.Tensor:
        """The family's classification head on the [CLS] vectors (B, D) -> (B, C), as its forward applies it."""
        m, kind = self.model, self.family.model_type
        if kind == "bert":
            pooled = self.base.pooler(h[:, None, :])  # dense + tanh on [CLS]: (B, D)
            return m.classifier(m.dropout(pooled))
        if kind == "albert":
            pooled = self.base.pooler_activation(self.base.pooler(h))  # (B, D)
            return m.classifier(m.dropout(pooled))
        if kind in ("roberta", "electra"):
            return m.classifier(h[:, None, :])  # their heads read features[:, 0]
        if kind == "distilbert":
            return m.classifier(m.dropout(torch.relu(m.pre_classifier(h))))
        return m.classifier(m.drop(m.head(h)))  # ModernBERT, 'cls' pooling

    def loss(self, idx):
        return F.cross_entropy(self._head(self.train_cls[idx.to(self.device)]), self.y_train[idx].to(self.device))

    @torch.no_grad()
    def eval_logits(self):
        self.model.eval()
        out = self._head(self.eval_cls).float().cpu()  # (N, C)
        self.model.train()
        return out


@register("baseline")
class BaselineTask:
    """No BERT: bag-of-words logistic regression (`bow.py`), for comparison."""

    clip = None

    def __init__(self, bundle, train, eval_data, cfg, device):
        self.device, self.cfg = device, cfg
        self.model = BowClassifier(build_vocab(train.texts, train.text_pairs), len(train.label_names)).to(device)
        self.train_bow = self.model.encode(train.texts, train.text_pairs)
        self.eval_bow = self.model.encode(eval_data.texts, eval_data.text_pairs)
        self.params = list(self.model.parameters())
        _labels(self, train, eval_data)

    def prepare(self, stop):
        return iter(())

    def loss(self, idx):
        logits = self.model(**BowClassifier.collate([self.train_bow[i] for i in idx.tolist()], self.device))  # (B, C)
        return F.cross_entropy(logits, self.y_train[idx].to(self.device))

    def evaluate(self):
        return _metrics(bow_logits(self.model, self.eval_bow, self.device), self.y_eval, len(self.label_names))

    def classifier(self, label_names, pair):
        return Classifier("baseline", self.model.eval(), None, tuple(label_names), self.device, self.cfg.max_length, pair)

    def predictor(self) -> Classifier:
        return self.classifier(self.label_names, self.pair)


# ---- token tagging (NER): a tag per word, on its first WordPiece --------------------------------------

FROZEN_STATES_MB = 1024  # a frozen token/span head keeps the encoder's outputs in memory up to this size


def _encoder_head(task, bundle, cls, cfg: FinetuneConfig, device, **config_changes) -> None:
    """The shared set-up of the token and span heads: the model, its mode (full / frozen / random), the tokenizer."""
    task.device, task.cfg = device, cfg
    task.tokenizer = _tokenizer_copy(bundle)
    task.model = build_model(bundle, cls, cfg.layers, device, **config_changes)
    if cfg.mode == "random":
        reinitialise(task.model)
    task.params = freeze_encoder(task.model) if cfg.mode == "frozen" else list(task.model.parameters())
    task.states = None  # frozen: (train, eval) encoder outputs, computed once by `frozen_states`


def encoder_mode(task) -> None:
    """A frozen encoder always runs in eval mode (no dropout): the features the head trains on are fixed."""
    if task.cfg.mode == "frozen":
        task.model.base_model.eval()


def states_fit(model, *tensors: dict) -> bool:
    """Whether the (N, T, D) float32 encoder outputs of these rows fit in FROZEN_STATES_MB."""
    rows = sum(t["input_ids"].numel() for t in tensors)
    return rows * model.config.hidden_size * 4 <= FROZEN_STATES_MB * 2**20


@torch.no_grad()
def frozen_states(task, tensors: list[dict], stop) -> Iterator[Prepare]:
    """A frozen encoder's last hidden states of every row, computed once in eval mode: (N, T, D) per tensor set.

    The head then trains on them (feature extraction, as for the sequence head's [CLS] vectors). Rows that would
    not fit in FROZEN_STATES_MB are left to a forward pass per step instead (same result, slower)."""
    if task.cfg.mode != "frozen" or not states_fit(task.model, *tensors):
        return
    base, total, done, out = task.model.base_model, sum(len(t["input_ids"]) for t in tensors), 0, []
    base.eval()
    for enc in tensors:
        n, t = enc["input_ids"].shape
        h = torch.zeros((n, t, task.model.config.hidden_size), device=task.device)  # (N, T, D)
        for idx in by_length(enc, 64):
            if stop is not None and stop.is_set():
                return
            rows = {k: v for k, v in batch(enc, idx, task.device).items() if k != "labels"}
            with autocast(task.device):
                h[idx.to(task.device), :rows["input_ids"].shape[1]] = base(**rows).last_hidden_state.float()
            done += len(idx)
            yield Prepare(done, total)
        out.append(h)
    task.states = tuple(out)


@register("full", "tag")
@register("frozen", "tag")
@register("random", "tag")
class TagTask:
    """BertForTokenClassification: a linear layer on every final token vector; the loss reads first pieces only."""

    clip = 1.0

    def __init__(self, bundle, train, eval_data, cfg, device):
        names = tuple(train.label_names)
        _encoder_head(self, bundle, BertForTokenClassification, cfg, device, num_labels=len(names),
                      id2label=dict(enumerate(names)), label2id={n: i for i, n in enumerate(names)})
        self.label_names, self.eval_data, self.n_train = names, eval_data, len(train)
        self.train_enc = encode_words(self.tokenizer, train.words, train.tags, cfg.max_length)["tensors"]
        self.eval_enc = encode_words(self.tokenizer, eval_data.words, eval_data.tags, cfg.max_length)

    def prepare(self, stop):
        return frozen_states(self, [self.train_enc, self.eval_enc["tensors"]], stop)

    def _head(self, h: torch.Tensor) -> torch.Tensor:
        """BertForTokenClassification's head on (B, T, D) encoder outputs -> (B, T, C)."""
        return self.model.classifier(self.model.dropout(h))

    def loss(self, idx):
        b = batch(self.train_enc, idx, self.device)
        labels = b.pop("labels")  # (B, T), IGNORE off the first pieces
        encoder_mode(self)
        with autocast(self.device):
            logits = (self._head(self.states[0][idx.to(self.device), :labels.shape[1]]) if self.states
                      else self.model(**b).logits)  # (B, T, C)
        return F.cross_entropy(logits.float().flatten(0, 1), labels.flatten(), ignore_index=IGNORE)

    @torch.no_grad()
    def _eval_logits(self) -> list[np.ndarray]:
        """Each held-out sentence's (T_i, C) logits, from the stored encoder outputs when frozen."""
        if not self.states:
            return token_logits(self.model, self.eval_enc["tensors"], self.device)
        lengths = self.eval_enc["tensors"]["attention_mask"].sum(1).tolist()
        logits = self._head(self.states[1]).float().cpu().numpy()  # (N, T, C)
        return [logits[i, :n] for i, n in enumerate(lengths)]

    def evaluate(self):
        self.model.eval()
        logits = self._eval_logits()  # per sentence (T_i, C)
        self.model.train()
        labels = self.eval_enc["tensors"]["labels"]
        flat = torch.cat([torch.from_numpy(lg) for lg in logits])
        gold = torch.cat([labels[i, :len(lg)] for i, lg in enumerate(logits)])
        loss = F.cross_entropy(flat, gold, ignore_index=IGNORE).item() if (gold != IGNORE).any() else float("nan")
        o = self.label_names.index("O")
        true, pred = [], []
        for i, lg in enumerate(logits):
            n = len(self.eval_data.words[i])
            scores = word_scores(self.eval_enc["word_ids"][i], lg, n)  # (n_words, C); NaN: cut off by max_length
            ids = [o if np.isnan(r[0]) else int(r.argmax()) for r in scores]
            pred.append([self.label_names[k] for k in ids])
            true.append(self.eval_data.tag_names(i))
        return entity_metrics(true, pred, loss)

    def predictor(self) -> Tagger:
        return Tagger(self.model.eval(), self.tokenizer, self.label_names, self.device, self.cfg.max_length)


# ---- extractive QA: start and end logits over the passage tokens ---------------------------------------

@register("full", "qa")
@register("frozen", "qa")
@register("random", "qa")
class QATask:
    """BertForQuestionAnswering: start and end vectors score every token; training rows are windows of the passage."""

    clip = 1.0

    def __init__(self, bundle, train, eval_data, cfg, device):
        _encoder_head(self, bundle, BertForQuestionAnswering, cfg, device, num_labels=2)
        ex = train.examples
        wins = windows(self.tokenizer, [e.question for e in ex], [e.context for e in ex], cfg.max_length, cfg.stride)
        pos = [answer_positions(w, ex[w.example].starts[0], ex[w.example].starts[0] + len(ex[w.example].answers[0]))
               for w in wins]
        self.train_enc = _pad_windows(wins, self.tokenizer.pad_token_id or 0)  # (W, T) each
        self.positions = torch.tensor(pos, dtype=torch.long).view(len(wins), 2)  # (W, 2): answer start, end token
        self.eval_data, self.n_train = eval_data, len(wins)
        ev = eval_data.examples
        self.eval_wins = windows(self.tokenizer, [e.question for e in ev], [e.context for e in ev], cfg.max_length, cfg.stride)

    def prepare(self, stop):
        self.eval_enc = _pad_windows(self.eval_wins, self.tokenizer.pad_token_id or 0) if self.eval_wins else None
        return frozen_states(self, [self.train_enc] + ([self.eval_enc] if self.eval_enc else []), stop)

    def _head(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """BertForQuestionAnswering's head on (B, T, D) encoder outputs -> start and end logits (B, T) each."""
        start, end = self.model.qa_outputs(h).split(1, dim=-1)
        return start.squeeze(-1), end.squeeze(-1)

    def loss(self, idx):
        b = batch(self.train_enc, idx, self.device)
        s_pos, e_pos = self.positions[idx].to(self.device).unbind(1)  # (B,) each
        encoder_mode(self)
        with autocast(self.device):
            if self.states:
                start, end = self._head(self.states[0][idx.to(self.device), :b["input_ids"].shape[1]])
            else:
                out = self.model(**b)
                start, end = out.start_logits, out.end_logits
        return (F.cross_entropy(start.float(), s_pos) + F.cross_entropy(end.float(), e_pos)) / 2

    @torch.no_grad()
    def _eval_logits(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """(start, end) logits of each held-out window, from the stored encoder outputs when frozen."""
        if not self.states or len(self.states) < 2:
            return span_logits(self.model, self.eval_wins, self.device, self.tokenizer.pad_token_id or 0)
        start, end = (x.float().cpu().numpy() for x in self._head(self.states[1]))  # (W, T) each
        return [(start[k, :len(w.input_ids)], end[k, :len(w.input_ids)]) for k, w in enumerate(self.eval_wins)]

    def evaluate(self):
        self.model.eval()
        logits = self._eval_logits()
        self.model.train()
        ev = self.eval_data.examples
        groups: list[list[int]] = [[] for _ in ev]
        for k, w in enumerate(self.eval_wins):
            groups[w.example].append(k)
        preds, losses = [], []
        for i, ks in enumerate(groups):
            wins = [self.eval_wins[k] for k in ks]
            preds.append(decode(ev[i].context, wins, [logits[k][0] for k in ks], [logits[k][1] for k in ks],
                                self.cfg.max_answer).text)
            for w, k in zip(wins, ks):
                s, e = answer_positions(w, ev[i].starts[0], ev[i].starts[0] + len(ev[i].answers[0]))
                losses.append((_nll(logits[k][0], s) + _nll(logits[k][1], e)) / 2)
        return qa_metrics(preds, [list(e.answers) for e in ev], float(np.mean(losses)) if losses else float("nan"))

    def predictor(self) -> Reader:
        return Reader(self.model.eval(), self.tokenizer, self.device, self.cfg.max_length, self.cfg.stride,
                      self.cfg.max_answer)


def _pad_windows(wins, pad_id: int) -> dict[str, torch.Tensor]:
    t = max(len(w.input_ids) for w in wins)
    return {"input_ids": torch.tensor([w.input_ids + [pad_id] * (t - len(w.input_ids)) for w in wins]).view(len(wins), t),
            "token_type_ids": torch.tensor([w.token_type_ids + [0] * (t - len(w.token_type_ids)) for w in wins]).view(len(wins), t),
            "attention_mask": torch.tensor([[1] * len(w.input_ids) + [0] * (t - len(w.input_ids)) for w in wins]).view(len(wins), t)}


def _nll(logits: np.ndarray, target: int) -> float:
    z = logits - logits.max()
    return float(np.log(np.exp(z).sum()) - z[target])
