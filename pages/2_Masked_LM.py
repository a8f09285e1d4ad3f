"""Masked LM: BERT's 80/10/10 corruption, made visible, and the MLM head's guesses at [MASK] tokens."""
import pandas as pd
import streamlit as st

from bert_playground.classroom import lessons
from bert_playground.objectives.masking import MaskingConfig, mask_text, sample_statistics
from bert_playground.objectives.mlm import fill, mask_word, score_corruption, words
from playground_ui import export, lesson, state, ui
from bert_playground.figures import mlm as charts
from playground_ui.views.compare import rtd_ui, sheet_ui, side_by_side_ui
from playground_ui.views.decoding import decoding_ui
from playground_ui.widgets import bump, notices

EPOCHS, DRAWS, SHOWN = 4, 1000, 40
MAX_SEED = 2**31 - 1  # the Seed box's range (links are checked against it too)
STATS_SEED = 0  # the statistics' 1,000 draws are the same whatever the seed of the example draw
TABS = ("Masking playground", "Fill in the blanks", "Replaced-token detection (ELECTRA)", "Experiment sheet")
MANY_MASKS, CHARTS_SHOWN = 20, 12  # above MANY_MASKS masks: one table, and charts for the first CHARTS_SHOWN only
SPEC = state.spec("masked-lm",
                  state.Param("text", "mlm_text", "The quick brown fox jumps over the lazy dog because it was unbelievably bored."),
                  state.Param("rate", "mlm_rate", 0.15, float, 0.0, 1.0),
                  state.Param("seed", "mlm_seed", 0, int, 0, MAX_SEED),
                  state.Param("whole_word", "mlm_whole_word", False, bool),
                  # default set by the page (it needs the model's mask token); a link naming them opens their tab
                  state.Param("fill", "fill_text", None, opens=(("tab", TABS[1]),)),
                  state.Param("k", "fill_k", 5, int, 1, 20, opens=(("tab", TABS[1]),)),
                  state.Param("tab", "mlm_tab", TABS[0], choices=TABS))


@st.cache_data(max_entries=32, show_spinner=False)
def playground(checkpoint: str, device: str, text: str, rate: float, seed: int, whole_word: bool):
    bundle = ui.cached_bundle(checkpoint, device)
    config = MaskingConfig(rate=rate, whole_word=whole_word)
    masked = mask_text(bundle.tokenizer, text, config, seed)
    score = score_corruption(bundle, masked) if bundle.info.has_mlm else None
    epochs = {dyn: [mask_text(bundle.tokenizer, text, config, seed, e, dyn) for e in range(EPOCHS)] for dyn in (False, True)}
    return masked, score, epochs


@st.cache_data(max_entries=32, show_spinner=False)
def draw_statistics(checkpoint: str, device: str, text: str, rate: float, whole_word: bool):
    """The 1,000-draw statistics, keyed by text, rate and mode only: a new seed above reuses them."""
    config = MaskingConfig(rate=rate, whole_word=whole_word)
    return sample_statistics(ui.cached_bundle(checkpoint, device).tokenizer, text, config, DRAWS, STATS_SEED)


@st.cache_resource(max_entries=32, show_spinner=False)
def statistics_figures(checkpoint: str, device: str, text: str, rate: float, whole_word: bool):
    """The statistics' two figures, built once per text, rate and mode (a new seed reuses them). Shared by every
    session: read-only (export.chart draws a copy in presentation mode)."""
    stats = draw_statistics(checkpoint, device, text, rate, whole_word)
    return (charts.stats_chart(stats.rows()),
            charts.draws_histogram(stats.chosen_per_draw, stats.eligible, stats.config.rate))


@st.cache_data(max_entries=32, show_spinner=False)
def fill_in(checkpoint: str, device: str, text: str, top_k: int):
    return fill(ui.cached_bundle(checkpoint, device), text, top_k)


def insert_mask(mask_token: str):
    text, i = st.session_state.get("fill_text", ""), st.session_state.get("fill_word")
    if i is not None and i < len(words(text)):
        st.session_state["fill_text"] = mask_word(text, i, mask_token)


def intro_ui(bundle):
    st.title("Masked LM")
    st.markdown(
        "BERT learns by guessing hidden tokens. In each sentence it **chooses 15% of the tokens**; of those, **80% are "
        "replaced by `[MASK]`, 10% by a random token and 10% are left unchanged** (so the model cannot learn that only "
        "`[MASK]` needs predicting). The loss is computed **only at the chosen positions**."
    )
    bundle = ui.need_model(bundle)
    if bundle.family.model_type != "bert":
        st.caption(f"{bundle.family.name} checkpoint: its mask token is `{bundle.tokenizer.mask_token}` (typing "
                   "`[MASK]` or `<mask>` works too); the 80/10/10 playground uses its own tokenizer and special tokens.")
    if not bundle.info.has_mlm:
        st.warning(f"'{bundle.info.name}' has no masked-LM head, so it cannot guess tokens: the predictions are off. "
                   "The masking playground below still works (it needs only the tokenizer).")
    return bundle


def masking_settings_ui() -> tuple[str, float, int, bool]:
    """(text, rate, seed, whole-word) from the playground's widgets."""
    text = st.text_area("Text", key="mlm_text", height=90, persist_state="page")
    c1, c2, c3, c4 = st.columns([3, 1.3, 1, 1.3], vertical_alignment="bottom")
    rate = c1.slider("Mask rate (share of tokens chosen)", 0.0, 1.0, step=0.01, key="mlm_rate", persist_state="page")
    # no min/max: the value typed is the value checked (a box with bounds would silently keep its old value)
    seed = c2.number_input("Seed", step=1, key="mlm_seed", persist_state="page", help=f"0 to {MAX_SEED:,}")
    c3.button("Resample", key="mlm_resample", on_click=bump, args=("mlm_seed",), help="A new random draw (the next seed)")
    whole_word = c4.toggle("Whole-word masking", key="mlm_whole_word", persist_state="page",
                           help="Choose all pieces of a word together")
    if not 0 <= seed <= MAX_SEED:
        st.warning(f"The seed must be a whole number from 0 to {MAX_SEED:,}; {seed:,.0f} is outside. The draw below "
                   "uses seed 0 until you change it.")
        seed = 0
    return text, float(rate), int(seed), whole_word


def rate_ui(rate: float):
    if rate == 0:
        st.info("At rate 0 no token is chosen: there is nothing to predict and the MLM loss has no terms.")
    elif rate == 1:
        st.warning("At rate 1 every token is chosen: most become [MASK], so the model has almost no context left.")


def token_table_ui(masked) -> pd.DataFrame:
    """Each token: original, corrupted input, MLM label and the action taken (colour-coded)."""
    table = pd.DataFrame(masked.rows()).rename(columns={"position": "Position", "original": "Original",
                                                      "input": "Corrupted input", "label": "MLM label", "action": "Action"})
    table["Action"] = table["Action"].map(charts.action_name)
    styled = table.style.apply(charts.token_table_css, axis=None)
    st.subheader(f"{len(table)} tokens, {int(table['MLM label'].notna().sum())} chosen")
    export.table(styled, "mlm_table", what="tokens", hide_index=True, height=min(38 + 35 * len(table), 560))
    return table


def chosen_positions_ui(score, has_mlm: bool, rows: list[dict] = (), specials: frozenset = frozenset()):
    """The MLM head's guess, probabilities and loss at each chosen position."""
    st.subheader("The model at the chosen positions")
    if score is None:
        st.info("No MLM head in this checkpoint: no predictions or loss." if not has_mlm else "")
        return
    if not score.rows and not any(r["original"] not in specials for r in rows):
        st.info("Every token of this text is a special token (such as [MASK] typed in), and special tokens are never "
                "chosen: type some words to mask.")
        return
    if not score.rows:
        st.info("No position was chosen, so there is no loss: raise the rate or resample.")
        return
    if score.truncated:
        st.warning(f"The model reads only the first {score.length} tokens; later chosen positions are not scored.")
    m1, m2 = st.columns(2)
    m1.metric("MLM loss (mean over chosen positions)", f"{score.loss:.3f}")
    m2.metric("Guessed right", f"{score.accuracy:.0%} of {len(score.rows)}")
    preds = pd.DataFrame([{"Position": r.position, "Action": r.action, "Input": r.input, "Original": r.original,
                           "Model's guess": r.predicted, "p(guess)": r.probability,
                           "p(original)": r.label_probability, "Loss": r.loss} for r in score.rows])
    export.table(preds, "mlm_preds", what="predictions", hide_index=True, column_config={
        c: st.column_config.NumberColumn(format="%.3f") for c in ("p(guess)", "p(original)", "Loss")})
    export.records(preds.to_dict("records"), "mlm_experiment", "experiment")
    export.chart(charts.loss_bars([r.position for r in score.rows], [r.original for r in score.rows],
                                  [r.action for r in score.rows], [r.loss for r in score.rows]), key="mlm_loss")
    st.caption("Mean loss by action: " + ", ".join(f"{a} {v:.3f}" for a, v in score.loss_by_action().items())
               + ". At random and kept positions the input itself is a (wrong or right) hint.")


def epochs_ui(epochs: dict, n_tokens: int):
    """Static vs dynamic masking over a few epochs."""
    st.subheader(f"Epochs: static vs dynamic masking ({EPOCHS} epochs)")
    st.caption("Static masking (original BERT) corrupts each sentence once, so every epoch sees the same positions; "
               "dynamic masking (RoBERTa) draws again each epoch." + (f" First {SHOWN} tokens shown." if n_tokens > SHOWN else ""))
    for dyn, name in ((False, "Static"), (True, "Dynamic")):
        export.chart(charts.epochs_grid([m.input_tokens[:SHOWN] for m in epochs[dyn]], [m.actions[:SHOWN] for m in epochs[dyn]],
                                        f"{name} masking"), key=f"mlm_epochs_{name.lower()}")


def statistics_ui(stats, figures):
    """The 80/10/10 shares over many draws against their 3-sigma binomial bands."""
    st.subheader(f"Statistics over {DRAWS:,} draws")
    s1, s2 = st.columns(2)
    export.chart(figures[0], key="mlm_stats", where=s1)
    export.chart(figures[1], key="mlm_hist", where=s2)
    export.table(pd.DataFrame(stats.rows()), "mlm_stats_table", what="statistics", hide_index=True)
    st.caption(f"The same {DRAWS:,} draws (seeds {STATS_SEED} on) whatever the seed above. "
               "Band: expected ± 3 binomial standard deviations (with whole-word masking, the pieces of a word count "
               "as one trial, which widens the band for the chosen share). A dot inside it is a green circle, one outside it an orange cross.")


def masking_ui(bundle, ckpt: str, dev: str):
    """The 80/10/10 corruption of a text, the model at the chosen positions, epochs and statistics."""
    text, rate, seed, whole_word = masking_settings_ui()
    with ui.user_errors():
        masked, score, epochs = playground(ckpt, dev, text, rate, seed, whole_word)
        stats = draw_statistics(ckpt, dev, text, rate, whole_word)
        rate_ui(rate)
        notices(masked.notices)
        left, right = st.columns([1, 1.3])
        with left:
            table = token_table_ui(masked)
        with right:
            chosen_positions_ui(score, bundle.info.has_mlm, masked.rows(), frozenset(bundle.tokenizer.all_special_tokens))
        epochs_ui(epochs, len(table))
        statistics_ui(stats, statistics_figures(ckpt, dev, text, rate, whole_word))


def masks_ui(res):
    """Each mask's top-k guesses: a chart per mask; with many masks one table and the first few charts."""
    if len(res.masks) > MANY_MASKS:
        rows = [{"Mask": n + 1, "Position": m.position, "Rank": r + 1, "Token": p.token, "Probability": p.probability}
                for n, m in enumerate(res.masks) for r, p in enumerate(m.predictions)]
        st.caption(f"{len(res.masks)} masks: every guess is in the table; charts for the first {CHARTS_SHOWN} masks.")
        export.table(pd.DataFrame(rows), "fill_table", what="guesses", hide_index=True)
    cols = st.columns(2)
    for n, m in enumerate(res.masks[:CHARTS_SHOWN] if len(res.masks) > MANY_MASKS else res.masks):
        export.chart(charts.prediction_bars([p.token for p in m.predictions], [p.probability for p in m.predictions],
                                            f"Mask {n + 1} (position {m.position})"), key=f"fill_bars_{n}", where=cols[n % 2])


def fill_ui(bundle, ckpt: str, dev: str):
    """The MLM head's top-k guesses at every mask of a typed text."""
    has_mlm, mask_tok = bundle.info.has_mlm, bundle.tokenizer.mask_token
    if not has_mlm:
        st.info(f"'{bundle.info.name}' has no masked-LM head, so it cannot fill in blanks. Pick a checkpoint with one "
                "(e.g. 'embedded') in the sidebar; the masking playground works with this one.")
    else:
        st.session_state.setdefault("fill_text", f"He studied medicine at the {mask_tok} of Oxford.")  # the insert button writes it
        ftext = st.text_area(f"Text with {mask_tok} where a word is missing", key="fill_text", persist_state="page", height=90)
        word_list = words(ftext)
        c1, c2, c3 = st.columns([2, 1, 2], vertical_alignment="bottom")
        c1.selectbox("Word", range(len(word_list)), key="fill_word", persist_state="page",
                     format_func=lambda i: f"{i + 1}: {word_list[i]}")
        c2.button(f"Insert {mask_tok} here", key="fill_insert", on_click=insert_mask, args=(mask_tok,),
                  disabled=not word_list, help="Replace the chosen word by the mask token")
        k = c3.slider("Top-k", 1, 20, key="fill_k", persist_state="page")
        guess = lesson.guess_ui("masked-lm", f"Which word does the model put at the first {mask_tok}?", (ckpt, ftext))
        with ui.user_errors():
            res = fill_in(ckpt, dev, ftext, int(k))
            if guess.hidden:
                return
            lesson.reveal_ui(guess, lessons.mlm_answer(res),
                             [(p.token, p.probability) for p in res.masks[0].predictions])
            notices(res.notices)
            st.caption("Filled in with the best guesses")
            st.code(res.filled, language=None, wrap_lines=True)
            masks_ui(res)
        side_by_side_ui(bundle, ftext, int(k))


def fill_tab_ui(bundle, ckpt: str, dev: str):
    fill_ui(bundle, ckpt, dev)
    decoding_ui(bundle, ckpt, dev)


def tabs_ui(bundle, ckpt: str, dev: str):
    """The four tabs. Only the open one runs (st.tabs with a key and on_change: each tab knows if it is open), so
    a rerun computes and draws one tab, not four; opening another reruns the page. A closed tab's widgets are not
    drawn: each keeps its value with persist_state="page" (else Streamlit drops it)."""
    views = (lambda: masking_ui(bundle, ckpt, dev), lambda: fill_tab_ui(bundle, ckpt, dev),
             lambda: rtd_ui(bundle), lambda: sheet_ui(bundle))
    for tab, view in zip(st.tabs(list(TABS), key="mlm_tab", on_change="rerun"), views):
        if tab.open:
            with tab:
                view()


bundle = intro_ui(ui.setup(SPEC))
ckpt, dev = ui.checkpoint_name(), ui.device_name()
tabs_ui(bundle, ckpt, dev)
