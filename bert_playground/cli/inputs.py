"""`represent`, `tokenize`, `vocab`: the Input representation page and the Tokenizer lab from the shell."""
from __future__ import annotations

from .common import json_arg, load_model, load_tokenizer, model_arg, print_notices

# ---- represent ----------------------------------------------------------------------------


def add_represent(sub):
    p = sub.add_parser("represent", help="WordPiece tokens, token ids, segments and positions of a text or pair")
    p.add_argument("sent_a")
    p.add_argument("sent_b", nargs="?", default=None)
    model_arg(p)
    json_arg(p)


def run_represent(args):
    from ..inputs.representation import represent

    rep = represent(load_model(args), args.sent_a, args.sent_b)
    print_notices(rep.notices)
    return rep.to_dict()


def text_represent(res):
    lines = [f"model: {res['model']}", f"{'index':>5}  {'token':<18} {'id':>6}  seg  pos"]
    lines += [f"{r['index']:>5}  {r['token']:<18} {r['token_id']:>6}  {r['segment']:>3}  {r['position']:>3}" for r in res["rows"]]
    return "\n".join(lines)


def add_tokenize(sub):
    p = sub.add_parser("tokenize", help="how the checkpoint's tokenizer splits a text: WordPiece step by step")
    p.add_argument("text")
    p.add_argument("--steps", action="store_true", help="every candidate piece tried, word by word (WordPiece)")
    model_arg(p)
    json_arg(p)


def run_tokenize(args):
    from ..inputs import wordpiece

    tok = load_tokenizer(args)
    res = wordpiece.steps(tok, args.text).to_dict()
    if not args.steps:
        for w in res["words"]:
            w.pop("tried")
    return res


def text_tokenize(res):
    lines = []
    for w in res["words"]:
        lines.append(f"{w['word']:<20} -> {' '.join(w['pieces'])}")
        lines += [f"{'':<22}{'✓' if hit else '·'} {cand}" for cand, hit in w.get("tried", [])]
    return "\n".join(lines)


def add_vocab(sub):
    from ..inputs.vocab import ALGORITHMS

    p = sub.add_parser("vocab", help="train a vocabulary (WordPiece, BPE, Unigram) or measure one: fertility, [UNK] "
                                     "rate, words kept whole, embedding cost")
    p.add_argument("action", choices=("train", "stats"))
    p.add_argument("--corpus", default=None, help="WikiExtractor text (.xz allowed; default: the labs' shipped corpus); "
                                                  "its last 30 articles are held out and measured on")
    p.add_argument("--algorithm", choices=ALGORITHMS, default=ALGORITHMS[0])
    p.add_argument("--size", type=int, default=8000, help="vocabulary entries (1,000 to 30,000)")
    p.add_argument("--lowercase", action="store_true")
    p.add_argument("--out", default=None, help="train: the folder the tokenizer.json is written to")
    model_arg(p)
    json_arg(p)


def run_vocab(args):
    from ..core.paths import LAB_CORPUS
    from ..inputs import vocab

    if args.corpus:
        from ..inputs.corpus import corpus_files

        corpus_files(args.corpus)  # checked before any work
    train, held = vocab.lab_text(args.corpus or LAB_CORPUS)
    if args.action == "stats":
        return vocab.checkpoint_stats(load_model(args), held).to_dict()
    vocab.check_size(args.size)
    if args.out is not None:  # a folder that cannot take the file is refused before training
        from .finetune import check_save_path

        check_save_path(args.out)
    trained = vocab.train(train, args.algorithm, args.size, args.lowercase)
    out = {**vocab.trained_stats(trained, held).to_dict(), "seconds": round(trained.seconds, 2)}
    if args.out:
        out["saved"] = str(trained.save(args.out))
    return out


def text_vocab(res):
    return (f"{res['size']:,} entries: {res['fertility']:.3f} tokens per word, [UNK] {res['unk_rate']:.2%}, "
            f"{res['whole_word_share']:.1%} of words whole, {res['words_in_512']} words in 512 tokens, "
            f"{res['embedding_parameters']:,} embedding parameters")
