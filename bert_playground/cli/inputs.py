"""`represent`: the Input representation page from the shell."""
from __future__ import annotations

from .common import json_arg, load_model, model_arg, print_notices

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
