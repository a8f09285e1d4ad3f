"""Lesson mode: the exercise-set format, the shipped sets (their answers reachable on the embedded checkpoint),
and one predict-then-reveal exercise per page under AppTest."""
import pytest
from streamlit.testing.v1 import AppTest

from apphelp import ROOT, TIMEOUT
from bert_playground import PlaygroundError, lessons
from bert_playground.paths import EMBEDDED_DIR, FINETUNE_DIR

GOOD = """
title: A set
exercises:
  - page: masked-lm
    inputs: {fill: "Paris is the [MASK] of France."}
    question: Which word?
    answers: [capital, city]
"""

BAD = [
    ("title: x\nexercises: [", "not valid YAML or JSON (line"),
    ("- just a list", "at the top level: ['just a list'] is not of type 'object'"),
    ("title: x", "'exercises' is a required property"),
    ("title: x\nexercises: []", "at exercises: [] should be non-empty"),
    ("title: x\nexercises:\n  - {page: physics, inputs: {}, question: q, answers: [a]}", "at exercises/0/page: 'physics' is not one of"),
    ("title: x\nexercises:\n  - {page: nsp, inputs: {}, question: q}", "at exercises/0: 'answers' is a required property"),
    ("title: x\nexercises:\n  - {page: nsp, inputs: {}, question: q, answers: []}", "at exercises/0/answers: [] should be non-empty"),
    ("title: x\nexercises:\n  - {page: nsp, inputs: {a: [1]}, question: q, answers: [IsNext]}", "at exercises/0/inputs/a"),
    ("title: x\nexercises:\n  - {page: nsp, inputs: {}, question: q, answers: [IsNext], extra: 1}", "Additional properties"),
    ('{"title": "x", "exercises": [{"page": "nsp", "inputs": {}, "question": "", "answers": ["IsNext"]}]}', "exercises/0/question"),
]


def test_a_good_set_parses_yaml_and_json():
    s = lessons.parse(GOOD)
    assert s.title == "A set" and s.exercises[0].inputs == {"fill": "Paris is the [MASK] of France."}
    assert s.exercises[0].accepts(" Capital ") and s.exercises[0].accepts("##city") and not s.exercises[0].accepts("town")
    import json
    import yaml
    assert lessons.parse(json.dumps(yaml.safe_load(GOOD))) == s


@pytest.mark.parametrize("text,message", BAD, ids=[str(i) for i in range(len(BAD))])
def test_bad_sets_get_clear_errors(text, message):
    with pytest.raises(PlaygroundError) as err:
        lessons.parse(text.encode(), "my.yaml")
    assert message in str(err.value) and str(err.value).startswith("my.yaml")


def test_huge_and_binary_files_are_refused():
    with pytest.raises(PlaygroundError, match="larger than"):
        lessons.parse(b"x" * (lessons.MAX_BYTES + 1))
    with pytest.raises(PlaygroundError, match="not UTF-8"):
        lessons.parse(b"\xff\xfe\x00bad")


@pytest.fixture(scope="module")
def embedded():
    from bert_playground import models
    if not (EMBEDDED_DIR / "config.json").is_file():
        pytest.skip("no embedded checkpoint")
    return models.load("embedded", "cpu")


def test_shipped_sets_load_and_cover_every_lesson_page():
    sets = {n: lessons.load(n) for n in lessons.shipped()}
    assert {e.page for s in sets.values() for e in s.exercises} == set(lessons.PAGES)


def _model_answer(bundle, ex):
    i = ex.inputs
    if ex.page == "masked-lm":
        return lessons.mlm_answer(bundle, i["fill"])
    if ex.page == "nsp":
        return lessons.nsp_answer(bundle, i["a"], i["b"])
    if ex.page == "attention":
        return lessons.attention_answer(bundle, i["a"], i.get("b"), int(i["layer"]) - 1, int(i["head"]) - 1, int(i["from"]))
    return None


@pytest.mark.parametrize("name", sorted(lessons.shipped()))
def test_shipped_answers_are_reachable(embedded, name):
    """The embedded model's answer is among the accepted ones, unless the exercise says the model gets it wrong."""
    for ex in lessons.load(name).exercises:
        answer = _model_answer(embedded, ex)
        if answer is None:  # fine-tuning: the answers must be labels the shipped data can teach
            import pandas as pd
            labels = set(pd.read_csv(FINETUNE_DIR / "train.csv")["label"])
            assert set(ex.answers) <= labels, ex.question
            continue
        assert ex.accepts(answer) != ex.model_wrong, (ex.question, answer, ex.answers)


def _page(path, query):
    at = AppTest.from_file(str(ROOT / path), default_timeout=TIMEOUT)
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _commit(at, guess, choice=False):
    if choice:
        at.radio(key=next(r.key for r in at.radio if r.key and r.key.startswith("lesson_choice"))).set_value(guess)
    else:
        at.text_input(key=next(t.key for t in at.text_input if t.key and t.key.startswith("lesson_text"))).input(guess)
    at.button[[b.label for b in at.button].index("Commit my guess")].click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_masked_lm_exercise(app_env, tiny):
    text = "Paris is the [MASK] of France."
    at = _page("pages/2_Masked_LM.py", {"fill": text, "lesson": "1"})
    assert "Which word does the model put" in " ".join(m.value for m in at.markdown)
    assert not [c for c in at.get("plotly_chart") if "fill_bars" in str(c.proto.id)]  # hidden before the guess
    model = lessons.mlm_answer(tiny, text)
    at = _commit(at, model)
    assert any("✅ right" in s.value and model in s.value.replace("\\", "") for s in at.success)
    assert "1 / 1" in str(at.sidebar.metric[0].value) if at.sidebar.metric else True


def test_nsp_exercise(app_env, tiny):
    at = _page("pages/3_Next_sentence_prediction.py", {"source": "Type both sentences", "a": "It rained.", "b": "Roads were wet.", "lesson": "1"})
    model = lessons.nsp_answer(tiny, "It rained.", "Roads were wet.")
    wrong = "NotNext" if model == "IsNext" else "IsNext"
    at = _commit(at, wrong, choice=True)
    assert any("❌" in e.value and model in e.value for e in at.error)


def test_attention_exercise(app_env, tiny):
    at = _page("pages/4_Attention.py", {"a": "The cat sat on the mat.", "b": "", "layer": "2", "head": "3", "from": "2", "lesson": "1"})
    answer = lessons.attention_answer(tiny, "The cat sat on the mat.", None, 1, 2, 2)
    from bert_playground.attention import compute
    tokens = compute(tiny, "The cat sat on the mat.").tokens
    at = _commit(at, f"{tokens.index(answer)}: {answer}", choice=True)
    assert any("✅ right" in s.value for s in at.success)
    assert [c for c in at.get("plotly_chart")]  # the map appears after the reveal


def test_lessons_page_walks_a_set_and_rejects_a_bad_upload(app_env):
    at = _page("pages/9_Lessons.py", {"set": "nsp"})
    assert "Exercise 1 of 3" in str(at.get("progress")[0].proto.text)
    at.button(key="lesson_next").click().run()
    assert "Exercise 2 of 3" in str(at.get("progress")[0].proto.text)
    assert at.query_params["ex"] in ("1", ["1"])
    at.radio(key="lesson_source").set_value("Your own file").run()
    assert not at.exception
