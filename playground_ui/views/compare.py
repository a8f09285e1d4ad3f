"""The Masked LM page's family views: ELECTRA's replaced-token detection, two checkpoints side by side, and the
cloze experiment sheet. Thin views: widgets in, package results out (rtd.py, compare.py), Plotly/pandas drawn."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from bert_playground.checkpoints import compare
from bert_playground.objectives import rtd
from bert_playground.objectives.masking import MaskingConfig
from playground_ui import export, ui
from bert_playground.figures import mlm as charts
from playground_ui.widgets import notices


def _bundle(name: str):
    return ui.cached_bundle(name.strip(), ui.device_name())


def rtd_ui(bundle):
    """ELECTRA's discriminator: corrupt the text, then P(replaced) at every token against the truth."""
    if not bundle.info.has_rtd:
        st.info(f"Replaced-token detection needs an ELECTRA discriminator (ElectraForPreTraining); "
                f"'{bundle.info.name}' is a {bundle.family.name} checkpoint with heads: "
                f"{', '.join(bundle.info.heads_present) or 'none'}. Pick a discriminator in the sidebar.")
        return
    st.markdown("ELECTRA trains a **discriminator** to spot which tokens a small generator replaced, at **every** "
                "position (not only 15%). Here the text is corrupted with the same 80/10/10 masking; the masked "
                "positions are then filled by the generator's samples (give its checkpoint) or by random tokens.")
    text = st.text_area("Text", "The chef cooked a delicious meal for the guests last night.", key="rtd_text",
                        persist_state="page", height=80)
    c1, c2, c3 = st.columns([2, 1, 3])
    rate = c1.slider("Mask rate", 0.05, 1.0, 0.15, 0.05, key="rtd_rate", persist_state="page")
    seed = c2.number_input("Seed", 0, 2**31 - 1, 0, key="rtd_seed", persist_state="page")
    gen_name = c3.text_input("Generator checkpoint (optional)", "", key="rtd_generator", persist_state="page",
                             placeholder="e.g. google/electra-small-generator or a folder")
    with ui.user_errors():
        generator = _bundle(gen_name) if gen_name.strip() else None
        det = rtd.detect(bundle, text, MaskingConfig(rate=float(rate)), int(seed), generator)
        notices(det.notices)
        table = pd.DataFrame(det.rows()).rename(columns={"position": "Position", "original": "Original",
                                                         "input": "Input", "replaced": "Replaced (truth)",
                                                         "p_replaced": "P(replaced)"})
        st.metric("Discriminator right (P ≥ 0.5 vs truth)", f"{det.accuracy:.0%}" if det.accuracy is not None else "–")
        st.dataframe(table, hide_index=True, key="rtd_table",
                     column_config={"P(replaced)": st.column_config.ProgressColumn(min_value=0.0, max_value=1.0,
                                                                                   format="%.3f")})


def side_by_side_ui(bundle, text: str, k: int):
    """The same sentence through the sidebar's checkpoint and a second one, in two columns."""
    st.subheader("Side by side")
    other = st.text_input("Compare with checkpoint", "", key="mlm_compare_with", persist_state="page",
                          placeholder="embedded, bert-base-uncased, roberta-base or a folder")
    if not other.strip():
        st.caption("Type a second checkpoint to see its guesses for the same sentence next to these "
                   "(each reads the blank with its own mask token).")
        return
    with ui.user_errors():
        results = compare.side_by_side([bundle, _bundle(other)], text, k)
        for col, res in zip(st.columns(2), results):
            with col:
                st.markdown(f"**{ui.md_escape(res.model)}** · mask `{res.mask_token}`")
                st.code(res.filled, language=None, wrap_lines=True)
                for n, m in enumerate(res.masks):
                    export.chart(charts.prediction_bars([p.token for p in m.predictions],
                                                        [p.probability for p in m.predictions], f"Mask {n + 1}"),
                                 key=f"cmp_{res.model}_{n}", what=f"{res.model} mask {n + 1}")


def sheet_ui(bundle):
    """A list of cloze sentences through several checkpoints: top-1 / top-5 per checkpoint, as a CSV too."""
    st.subheader("Experiment sheet")
    st.caption("One cloze sentence a row with its answer; edit the table, or upload a CSV (sentence, answer) or a text "
               "file (one sentence a line, the answer after a tab). A guess is right when it equals the answer, "
               "ignoring case.")
    upload = st.file_uploader("Upload a sheet", type=["csv", "txt", "tsv"], key="sheet_upload")
    with ui.user_errors():
        items = compare.read_sheet(upload.getvalue() if upload is not None else None)
        edited = st.data_editor(pd.DataFrame([{"sentence": i.sentence, "answer": i.answer} for i in items]),
                                num_rows="dynamic", key="sheet_editor", hide_index=True)
        items = [compare.ClozeItem(r["sentence"], r["answer"] if isinstance(r["answer"], str) else "")
                 for r in edited.to_dict("records") if isinstance(r["sentence"], str) and r["sentence"].strip()]
        names = st.text_area("Checkpoints (one a line)", bundle.info.name, key="sheet_models", persist_state="page", height=80)
        if not st.button("Run the sheet", key="sheet_go"):
            return
        bundles = [_bundle(n) for n in names.splitlines() if n.strip()]
        res = compare.run_sheet(bundles, items)
        st.dataframe(pd.DataFrame(res.summary()), hide_index=True, key="sheet_summary")
        st.dataframe(pd.DataFrame(res.rows), hide_index=True, key="sheet_rows")
        st.download_button("Download as CSV", res.to_csv(), "cloze_sheet_results.csv", "text/csv", key="sheet_csv")
