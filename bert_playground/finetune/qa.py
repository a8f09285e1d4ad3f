"""Extractive question answering: start and end logits over the passage tokens, passage windows with a stride."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..checkpoints import parts
from ..core.training import autocast
from .classifier import batch
from .heads import encoder_head, encoder_mode, frozen_states, register
from .metrics import qa_metrics
from .predictors import accepted, Reader, span_logits
from .spans import answer_positions, decode, windows


@register("full", "qa")
@register("frozen", "qa")
@register("random", "qa")
class QATask:
    """A question-answering model of the checkpoint's family: start and end vectors score every token; training rows are windows of the passage."""

    clip = 1.0

    def __init__(self, bundle, train, eval_data, cfg, device):
        self.family = bundle.family
        encoder_head(self, bundle, bundle.family.question_answering, cfg, device, num_labels=2)
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
        """The family's span head on (B, T, D) encoder outputs -> start and end logits (B, T) each (`Family.qa_head`)."""
        start, end = parts.run(self.model, self.family.qa_head, h).split(1, dim=-1)
        return start.squeeze(-1), end.squeeze(-1)

    def loss(self, idx):
        b = batch(self.train_enc, idx, self.device)
        s_pos, e_pos = self.positions[idx].to(self.device).unbind(1)  # (B,) each
        encoder_mode(self)
        with autocast(self.device):
            if self.states:
                start, end = self._head(self.states[0][idx.to(self.device), :b["input_ids"].shape[1]])
            else:
                out = self.model(**accepted(self.model, b))
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
