"""The BERT family: each loaded checkpoint's facts (read from its config and weights) beside the recipe table."""
import pandas as pd
import streamlit as st

from bert_playground.checkpoints import families
from playground_ui import export, state, ui

SPEC = state.spec("bert-family",  # checkpoints named in a link: only what a link may open (no folders)
                  state.Param("more", "family_more", "", max_len=1000, check=state.checkpoint_lines))


def intro_ui():
    st.title("The BERT family")
    st.markdown(
        "BERT started a family of encoders that kept its shape (a stack of bidirectional Transformer layers read by "
        "small heads) and changed the **recipe**: RoBERTa masks dynamically and dropped next-sentence prediction; "
        "DistilBERT is distilled from BERT into half the layers; ALBERT shares one layer's weights across all layers, "
        "factorizes its embeddings and predicts sentence *order*; ELECTRA trains a discriminator to spot replaced "
        "tokens; ModernBERT uses rotary positions and alternates local and global attention. Every page of the "
        f"playground runs each of them: {families.SUPPORTED}."
    )


def checkpoints_ui(bundle) -> list:
    """The checkpoints to describe: the sidebar's plus any typed here (each loaded once per server)."""
    extra = st.text_area("More checkpoints to describe (one a line)", key="family_more", height=80,
                         placeholder="roberta-base\nalbert-base-v2\n/path/to/a/checkpoint")
    bundles = [bundle] if bundle is not None else []
    for name in [n.strip() for n in extra.splitlines() if n.strip()]:
        with ui.user_errors():
            bundles.append(ui.cached_bundle(name, ui.device_name()))
    return bundles


def overview_ui(bundles):
    st.subheader("Loaded checkpoints, from their config and weights")
    if not bundles:
        st.info("No checkpoint is loaded: pick one in the sidebar.")
        return
    table = pd.DataFrame([families.overview(b) for b in bundles]).set_index("checkpoint").T.astype(str)
    export.table(table.rename_axis("Property").reset_index(), "family_overview", what="overview", hide_index=True)
    st.caption("Heads present are read from the weight names (e.g. cls.seq_relationship for NSP, sop_classifier for "
               "SOP, discriminator_predictions for replaced-token detection), never assumed from the name.")


def recipe_ui():
    st.subheader("The recipes")
    export.table(pd.DataFrame(families.recipe_table()), "family_recipes", what="recipes", hide_index=True)


bundle = ui.setup(SPEC)
intro_ui()
overview_ui(checkpoints_ui(bundle))
recipe_ui()
