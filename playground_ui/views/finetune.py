"""The fine-tuning page's presentation of a run: mode labels, live curves from the events, a table row."""
from __future__ import annotations

from dataclasses import dataclass

from bert_playground.finetune import TASKS, Done, Evaluation, FinetuneResult, Phase, Prepare, Start, Step

MODE_LABELS = {"full": "Full fine-tuning", "frozen": "Frozen encoder (head only)",
               "random": "Random initialisation (no pre-training)", "baseline": "Bag-of-words baseline"}


POOLING_LABELS = {"cls": "[CLS] vector (BERT's recipe)", "mean": "Mean of the token vectors"}


def row(result: FinetuneResult) -> dict:
    """One line of the page's comparison table."""
    m = result.metrics
    return {"Data": result.data_name, "Mode": MODE_LABELS[result.config.mode], "Layers": str(result.layers or "–"),
            "Epochs": round(result.epochs, 2), "Time (s)": round(result.seconds, 1),
            "Examples/s": round(result.examples_per_s), "Accuracy": round(m.accuracy, 4) if m else None,
            "Macro-F1": round(m.macro_f1, 4) if m else None, "Device": result.device, "Stopped": result.stopped or ""}


def sheet_rows(records) -> list[dict]:
    """The experiment sheet as the page's table (`finetune.sheet.RunRecord`s)."""
    return [{"Run": r.run, "Task": TASKS[r.task].label, "Data": r.data, "Checkpoint": r.checkpoint or "–",
             "Mode": MODE_LABELS[r.mode], "Pooling": r.pooling or "–", "Layers": str(r.layers or "–"),
             "Epochs": r.epochs, "Time (s)": round(r.seconds, 1), "Metric": r.metric, "Score": round(r.score, 4),
             "Accuracy": round(r.score, 4) if r.metric == "accuracy" else None, "Device": r.device,
             "Stopped": r.stopped} for r in records]


_COLOURS = ["orange", "blue", "green", "red", "violet", "gray"]  # Streamlit Markdown background colours


def highlight(text: str, spans: list[tuple[int, int, str, float]], kinds: list[str]) -> str:
    """Markdown of the text with each (start, end, label, probability) span on a coloured background;
    the user's text is escaped (shown literally, never as markup)."""
    from playground_ui.ui import md_escape

    out, at = [], 0
    for start, end, label, p in sorted(spans):
        colour = _COLOURS[kinds.index(label) % len(_COLOURS)] if label in kinds else _COLOURS[0]
        out.append(md_escape(text[at:start]))
        out.append(f":{colour}-background[{md_escape(text[start:end])} · **{md_escape(label)}** {p:.0%}]")
        at = end
    out.append(md_escape(text[at:]))
    return "".join(out)


@dataclass(frozen=True)
class Curves:
    """The curves and the progress line drawn from the events seen so far."""

    steps: list[int]
    losses: list[float]
    eval_steps: list[int]
    accuracies: list[float]  # the task's main held-out metric (accuracy, entity F1 or SQuAD F1)
    macro_f1s: list[float]  # the second one (macro-F1, precision or exact match)
    last: Step | None
    start: Start | None
    prepare: Prepare | None
    result: FinetuneResult | None
    phase: Phase | None = None  # the latest event when it says what the run is doing (tokenizing, evaluating)

    @property
    def fraction(self) -> float:
        if self.result is not None:
            return 1.0
        if self.last is not None:
            return min(1.0, self.last.step / max(self.last.total_steps, 1))
        return 0.0

    @property
    def status(self) -> str:
        """One line for a progress bar: what the run does now (tokenizing, evaluating), the latest step, or the
        feature pass of frozen mode."""
        if self.phase is not None:
            at = f" · after step {self.last.step}/{self.last.total_steps}" if self.last is not None else ""
            return f"{self.phase.text}{at}"
        if (s := self.last) is not None:
            return (f"step {s.step}/{s.total_steps} · epoch {s.epoch:.2f} · loss {s.loss:.4f} · lr {s.lr:.2g} · "
                    f"{s.examples_per_s:,.0f} examples/s · {s.elapsed:.1f} s · {s.device}")
        if self.prepare is not None:
            return f"computing [CLS] features: {self.prepare.done}/{self.prepare.total}"
        return "starting…"


def curves(events: list) -> Curves:
    steps = [e for e in events if isinstance(e, Step)]
    evals = [e for e in events if isinstance(e, Evaluation)]
    pick = lambda kind: next((e for e in reversed(events) if isinstance(e, kind)), None)  # noqa: E731
    done = pick(Done)
    second = lambda m: getattr(m, "macro_f1", getattr(m, "exact_match", getattr(m, "precision", 0.0)))  # noqa: E731
    return Curves([e.step for e in steps], [e.loss for e in steps], [e.step for e in evals],
                  [e.metrics.score for e in evals], [second(e.metrics) for e in evals],
                  steps[-1] if steps else None, pick(Start), pick(Prepare), done.result if done else None,
                  events[-1] if events and isinstance(events[-1], Phase) else None)
