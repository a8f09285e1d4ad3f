"""The one page registry: every page of the app in navigation order, with what it teaches.

`app.py` builds Streamlit's own navigation (`st.navigation`) from it, the home page lists it, `ui.setup` reads a
page's title from it, and the Lessons page opens an exercise's page through it. A page's `key` is also the
name of its remembered inputs (`state.spec`) and the `page` an exercise set names (`lessons.PAGES`).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the repository: app.py and pages/


@dataclass(frozen=True)
class Page:
    key: str  # the page's name: its inputs' spec, the exercise sets that open it, its exports' file names
    file: str | None  # its script (None: the home page, drawn by app.py)
    title: str
    teaches: str  # one line for the home page's list
    section: str = ""  # the navigation's group: BERT's story (text in, pre-training, reading the model, ...)
    lesson: bool = False  # it has lesson mode: exercise sets may name it

    @property
    def url_path(self) -> str:
        """The page's address: its file name without the number ('Masked_LM'), as links have always used."""
        return Path(self.file).stem.split("_", 1)[1] if self.file else ""


PAGES = (
    Page("home", None, "Home", "what the playground is, the model in use and how it was pre-trained"),
    Page("input-representation", "pages/1_Input_representation.py", "Input representation",
         "token + segment + position embeddings, summed and normalised", "Text in"),
    Page("tokenizer-lab", "pages/11_Tokenizer_lab.py", "Tokenizer lab",
         "WordPiece step by step, vocabularies trained live (WordPiece, BPE, Unigram) and what they cost", "Text in",
         lesson=True),
    Page("masked-lm", "pages/2_Masked_LM.py", "Masked LM",
         "the 80/10/10 masking recipe and real masked-token predictions", "Pre-training", lesson=True),
    Page("nsp", "pages/3_Next_sentence_prediction.py", "Next sentence prediction",
         "IsNext / NotNext pairs scored by the NSP head", "Pre-training", lesson=True),
    Page("pretraining-lab", "pages/12_Pretraining_lab.py", "Pre-training lab",
         "pre-train tiny BERTs from scratch, recipe against recipe (masking, NSP/SOP/none), and watch them learn",
         "Pre-training"),
    Page("attention", "pages/4_Attention.py", "Attention",
         "every layer and head, the model view, rollout, bidirectional vs causal", "Reading the model", lesson=True),
    Page("contextual-embeddings", "pages/6_Contextual_embeddings.py", "Contextual embeddings",
         "one word in many contexts, layer by layer; its nearest uses in a corpus; which layer a linear probe reads "
         "best", "Reading the model"),
    Page("explanations", "pages/7_Explanations.py", "Explanations",
         "why the model said that: attention, rollout and integrated gradients side by side, a deletion test, the "
         "neuron view", "Reading the model"),
    Page("interventions", "pages/10_Interventions.py", "Interventions",
         "switch heads off, rank and prune them, patch activations between two inputs, read each layer through the "
         "MLM head", "Reading the model", lesson=True),
    Page("fine-tuning", "pages/5_Fine-tuning.py", "Fine-tuning",
         "one backbone, many heads: classify, tag words, answer questions, live", "Fine-tuning", lesson=True),
    Page("bert-family", "pages/8_BERT_family.py", "The BERT family",
         "RoBERTa, DistilBERT, ALBERT, ELECTRA, ModernBERT: what each has, beside the recipes", "The family and the class"),
    Page("lessons", "pages/9_Lessons.py", "Lessons",
         "predict, then reveal: exercise sets for a class, one exercise at a time", "The family and the class"),
)
BY_KEY = {p.key: p for p in PAGES}
HOME = PAGES[0]
LESSON_PAGES = tuple(p.key for p in PAGES if p.lesson)
