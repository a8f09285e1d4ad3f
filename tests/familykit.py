"""Tiny random checkpoints of every BERT family, each with a tokenizer of its own kind trained here on a few
sentences with the `tokenizers` library (WordPiece, byte-level BPE, Unigram/SentencePiece), saved as safetensors."""
from __future__ import annotations

from pathlib import Path

import torch

SENTENCES = [
    "The cat sat on the mat.", "It purred all afternoon.", "The capital of France is Paris.",
    "Paris is a large city in Europe.", "It rained all day and the streets were flooded.",
    "Students read books in the library.", "The teacher wrote a sentence on the board.",
    "A dog barked at the postman.", "The weather was cold and windy.", "She played the piano beautifully.",
    "Trains leave the station every hour.", "The river flows into the sea.", "We ate bread and cheese for lunch.",
    "Machine learning models read text.", "The moon rose over the hills.", "He opened the door slowly.",
]

# kind -> (model_type, tokenizer kind)
KINDS = {
    "bert-cased": ("bert", "wordpiece-cased"),
    "roberta": ("roberta", "bpe"),
    "distilbert": ("distilbert", "wordpiece"),
    "albert": ("albert", "unigram"),
    "electra-discriminator": ("electra", "wordpiece"),
    "electra-generator": ("electra", "wordpiece"),
    "modernbert": ("modernbert", "bpe-bert-specials"),
}


def _corpus() -> list[str]:
    from bert_playground.objectives.nsp import demo_documents

    text = [s for d in demo_documents() for s in d.sentences]
    return SENTENCES * 3 + text


def build_tokenizer(kind: str, max_length: int = 128):
    """A fast tokenizer of the right kind, trained on a few hundred sentences (vocabulary ~400)."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    if kind.startswith("wordpiece"):
        specials = dict(pad="[PAD]", unk="[UNK]", cls="[CLS]", sep="[SEP]", mask="[MASK]")
        tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
        tok.normalizer = normalizers.BertNormalizer(lowercase=kind == "wordpiece")
        tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        tok.decoder = decoders.WordPiece()
        trainer = trainers.WordPieceTrainer(vocab_size=400, special_tokens=list(specials.values()))
    elif kind.startswith("bpe"):
        specials = (dict(pad="<pad>", unk="<unk>", cls="<s>", sep="</s>", mask="<mask>") if kind == "bpe"
                    else dict(pad="[PAD]", unk="[UNK]", cls="[CLS]", sep="[SEP]", mask="[MASK]"))
        tok = Tokenizer(models.BPE(unk_token=None))
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=list(specials.values()),
                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    else:  # unigram: ALBERT's SentencePiece
        specials = dict(pad="<pad>", unk="<unk>", cls="[CLS]", sep="[SEP]", mask="[MASK]")
        tok = Tokenizer(models.Unigram())
        tok.normalizer = normalizers.Lowercase()
        tok.pre_tokenizer = pre_tokenizers.Metaspace()
        tok.decoder = decoders.Metaspace()
        trainer = trainers.UnigramTrainer(vocab_size=300, special_tokens=list(specials.values()), unk_token="<unk>")
    tok.train_from_iterator(_corpus(), trainer)
    cls, sep = specials["cls"], specials["sep"]
    cid, sid = tok.token_to_id(cls), tok.token_to_id(sep)
    if kind == "bpe":  # RoBERTa: <s> A </s></s> B </s>, one segment type
        tok.post_processor = processors.TemplateProcessing(
            single=f"{cls} $A {sep}", pair=f"{cls} $A {sep} {sep} $B {sep}", special_tokens=[(cls, cid), (sep, sid)])
    else:
        tok.post_processor = processors.TemplateProcessing(
            single=f"{cls} $A {sep}", pair=f"{cls} $A {sep} $B:1 {sep}:1", special_tokens=[(cls, cid), (sep, sid)])
    inputs = (["input_ids", "attention_mask"] if kind in ("bpe", "bpe-bert-specials") else
              ["input_ids", "token_type_ids", "attention_mask"])
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, model_max_length=max_length, model_input_names=inputs,
        **{f"{k}_token": v for k, v in specials.items()})
    return fast


_TOKENIZERS: dict = {}


def build_family_checkpoint(kind: str, folder: Path, layers: int = 2, hidden: int = 32, n_heads: int = 4,
                            max_length: int = 128, seed: int = 0) -> Path:
    """Save a tiny random checkpoint of `kind` (see KINDS) with its tokenizer in `folder`."""
    import transformers as tf

    model_type, tok_kind = KINDS[kind]
    torch.manual_seed(seed)
    folder.mkdir(parents=True, exist_ok=True)
    key = (tok_kind, max_length)  # one tokenizer per kind: ELECTRA's generator and discriminator share it
    tok = _TOKENIZERS[key] = _TOKENIZERS.get(key) or build_tokenizer(tok_kind, max_length)
    common = dict(vocab_size=len(tok), num_hidden_layers=layers, num_attention_heads=n_heads,
                  pad_token_id=tok.pad_token_id)
    if model_type == "bert":
        cfg, cls = tf.BertConfig(hidden_size=hidden, intermediate_size=4 * hidden, max_position_embeddings=max_length,
                                 **common), tf.BertForPreTraining
    elif model_type == "roberta":
        cfg = tf.RobertaConfig(hidden_size=hidden, intermediate_size=4 * hidden, type_vocab_size=1,
                               max_position_embeddings=max_length + tok.pad_token_id + 1,
                               bos_token_id=tok.cls_token_id, eos_token_id=tok.sep_token_id, **common)
        cls = tf.RobertaForMaskedLM
    elif model_type == "distilbert":
        cfg = tf.DistilBertConfig(vocab_size=len(tok), dim=hidden, hidden_dim=4 * hidden, n_layers=layers,
                                  n_heads=n_heads, max_position_embeddings=max_length, pad_token_id=tok.pad_token_id)
        cls = tf.DistilBertForMaskedLM
    elif model_type == "albert":
        cfg = tf.AlbertConfig(embedding_size=16, hidden_size=hidden, intermediate_size=4 * hidden,
                              max_position_embeddings=max_length, **common)
        cls = tf.AlbertForPreTraining
    elif model_type == "electra":
        cfg = tf.ElectraConfig(embedding_size=16, hidden_size=hidden, intermediate_size=4 * hidden,
                               max_position_embeddings=max_length, **common)
        cls = tf.ElectraForPreTraining if kind == "electra-discriminator" else tf.ElectraForMaskedLM
    else:
        cfg = tf.ModernBertConfig(hidden_size=hidden, intermediate_size=2 * hidden, max_position_embeddings=max_length,
                                  global_attn_every_n_layers=2, local_attention=16,
                                  cls_token_id=tok.cls_token_id, sep_token_id=tok.sep_token_id,
                                  bos_token_id=tok.cls_token_id, eos_token_id=tok.sep_token_id, **common)
        cls = tf.ModernBertForMaskedLM
    model = cls(cfg).eval()
    model.save_pretrained(str(folder), safe_serialization=True)
    tok.save_pretrained(str(folder))
    return folder
