"""Token tagging (named entities): a BIO tag per word, predicted on its first WordPiece."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..checkpoints import parts
from ..core.training import autocast
from .classifier import batch
from .heads import encoder_head, encoder_mode, frozen_states, label_config, register
from .metrics import entity_metrics
from .predictors import accepted, Tagger, encode_words, token_logits
from .spans import IGNORE, word_scores


@register("full", "tag")
@register("frozen", "tag")
@register("random", "tag")
class TagTask:
    """A token classifier of the checkpoint's family: a linear layer on every final token vector; the loss reads first pieces only."""

    clip = 1.0

    def __init__(self, bundle, train, eval_data, cfg, device):
        names = tuple(train.label_names)
        self.family = bundle.family
        encoder_head(self, bundle, bundle.family.token_classification, cfg, device, **label_config(names))
        self.label_names, self.eval_data, self.n_train = names, eval_data, len(train)
        self.train_enc = encode_words(self.tokenizer, train.words, train.tags, cfg.max_length)["tensors"]
        self.eval_enc = encode_words(self.tokenizer, eval_data.words, eval_data.tags, cfg.max_length)

    def prepare(self, stop):
        return frozen_states(self, [self.train_enc, self.eval_enc["tensors"]], stop)

    def _head(self, h: torch.Tensor) -> torch.Tensor:
        """The family's token head on (B, T, D) encoder outputs -> (B, T, C) (`Family.token_head`)."""
        return parts.run(self.model, self.family.token_head, h)

    def loss(self, idx):
        b = batch(self.train_enc, idx, self.device)
        labels = b.pop("labels")  # (B, T), IGNORE off the first pieces
        encoder_mode(self)
        with autocast(self.device):
            logits = (self._head(self.states[0][idx.to(self.device), :labels.shape[1]]) if self.states
                      else self.model(**accepted(self.model, b)).logits)  # (B, T, C)
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
