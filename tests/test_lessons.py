"""Lesson mode: the exercise-set format, the shipped sets (their answers reachable on the embedded checkpoint),
and one predict-then-reveal exercise per page under AppTest."""
import re

import pytest

from bert_playground import PlaygroundError
from bert_playground.classroom import lessons
from bert_playground.interpret.attention import compute
from bert_playground.objectives.mlm import fill
from bert_playground.objectives.nsp import encode_pair, score_packed
from bert_playground.core.paths import EMBEDDED_DIR, FINETUNE_DIR

from apphelp import TIMEOUT, run

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
    from bert_playground.checkpoints import models
    if not (EMBEDDED_DIR / "config.json").is_file():
        pytest.skip("no embedded checkpoint")
    return models.load("embedded", "cpu")


def test_shipped_sets_load_and_cover_every_lesson_page():
    sets = {n: lessons.load(n) for n in lessons.shipped()}
    assert {e.page for s in sets.values() for e in s.exercises} == set(lessons.PAGES)


def _model_answer(bundle, ex):
    i = ex.inputs
    if ex.page == "tokenizer-lab":
        from bert_playground.inputs import wordpiece

        return lessons.tokenizer_answer(wordpiece.steps(bundle.tokenizer, i["text"]))
    if ex.page == "masked-lm":  # the pages' own computations, then the answer functions the pages call
        return lessons.mlm_answer(fill(bundle, i["fill"], 1))
    if ex.page == "nsp":
        return lessons.nsp_answer(score_packed(bundle, encode_pair(bundle, i["a"], i["b"])))
    if ex.page == "interventions":
        from bert_playground.interpret import interventions as iv
        if i["tab"] == "Logit lens":
            return lessons.lens_answer(iv.logit_lens(bundle, i["lens"], 5))
        return lessons.ablation_answer(iv.ablate(bundle, i["text"], i.get("b") or None, i["heads"].split(","),
                                                 i.get("mode", "zero")))
    if ex.page == "attention":
        maps = compute(bundle, i["a"], i.get("b") or None)
        return lessons.attention_answer(maps, int(i["layer"]) - 1, int(i["head"]) - 1, int(i["from"]))
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
    return run(path, TIMEOUT, query=query)


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
    model = lessons.mlm_answer(fill(tiny, text, 1))
    at = _commit(at, model)
    assert any("✓ right" in s.value and model in s.value.replace("\\", "") for s in at.success)
    assert "1 / 1" in str(at.sidebar.metric[0].value) if at.sidebar.metric else True


def test_nsp_exercise(app_env, tiny):
    at = _page("pages/3_Next_sentence_prediction.py", {"source": "Type both sentences", "a": "It rained.", "b": "Roads were wet.", "lesson": "1"})
    model = lessons.nsp_answer(score_packed(tiny, encode_pair(tiny, "It rained.", "Roads were wet.")))
    wrong = "NotNext" if model == "IsNext" else "IsNext"
    at = _commit(at, wrong, choice=True)
    assert any("✗" in e.value and model in e.value for e in at.error)


def test_attention_exercise(app_env, tiny):
    at = _page("pages/4_Attention.py", {"a": "The cat sat on the mat.", "b": "", "layer": "2", "head": "3", "from": "2", "lesson": "1"})
    maps = compute(tiny, "The cat sat on the mat.")
    answer, tokens = lessons.attention_answer(maps, 1, 2, 2), maps.tokens
    at = _commit(at, f"{tokens.index(answer)}: {answer}", choice=True)
    assert any("✓ right" in s.value for s in at.success)
    assert [c for c in at.get("plotly_chart")]  # the map appears after the reveal


def test_interventions_exercises(app_env, tiny):
    from bert_playground.interpret import interventions as iv
    text = "The cat sat on the [MASK]."
    at = _page("pages/10_Interventions.py", {"tab": "Logit lens", "lens": text, "lesson": "1"})
    assert "From which layer on" in " ".join(m.value for m in at.markdown)
    assert not at.get("plotly_chart")  # the lens is hidden before the guess
    answer = lessons.lens_answer(iv.logit_lens(tiny, text, 5))
    at = _commit(at, answer, choice=True)
    assert any("✓ right" in s.value for s in at.success) and at.get("plotly_chart")
    at = _page("pages/10_Interventions.py", {"tab": "Switch heads off", "text": text, "heads": "0.0,1.1", "lesson": "1"})
    model = lessons.ablation_answer(iv.ablate(tiny, text, None, ["0.0", "1.1"], "zero"))
    at = _commit(at, "stays" if model == "changes" else "changes", choice=True)
    assert any("✗" in e.value and model in e.value for e in at.error)


def test_lesson_answers_of_interventions():
    from types import SimpleNamespace as NS

    def fill_result(token):
        return NS(masks=[NS(predictions=[NS(token=token)])])
    assert lessons.ablation_answer(NS(before=fill_result("paris"), after=fill_result("paris"))) == "stays"
    assert lessons.ablation_answer(NS(before=fill_result("paris"), after=fill_result("lyon"))) == "changes"
    assert lessons.ablation_answer(NS(before=NS(prediction="IsNext"), after=NS(prediction="NotNext"))) == "changes"

    def lens(ranks):
        return NS(masks=[{"layers": [{"answer_rank": r} for r in ranks]}])
    assert lessons.lens_answer(lens([9, 4, 1, 3, 1, 1, 1])) == "4"  # top from layer 4 on, not at 2 (it fell back)
    assert lessons.lens_answer(lens([5, 2, 1])) == "2" and lessons.lens_answer(lens([1, 1, 1])) == "0"


def test_lessons_page_walks_a_set_and_rejects_a_bad_upload(app_env):
    at = _page("pages/9_Lessons.py", {"set": "nsp"})
    assert "Exercise 1 of 3" in str(at.get("progress")[0].proto.text)
    at.button(key="lesson_next").click().run()
    assert "Exercise 2 of 3" in str(at.get("progress")[0].proto.text)
    assert at.query_params["ex"] in ("1", ["1"])
    at.radio(key="lesson_source").set_value("Your own file").run()
    assert not at.exception


# ---- a teacher's set carried by a link ----------------------------------------------------------------------------

TWO = GOOD + """  - page: nsp
    inputs: {source: Type both sentences, a: It rained., b: Roads were wet.}
    question: Does B follow A?
    answers: [IsNext]
    model_wrong: true
    note: A note.
description: Two exercises.
"""


def _packed(raw: bytes) -> str:
    import base64
    import zlib
    return lessons.LINK_VERSION + base64.urlsafe_b64encode(zlib.compress(raw)).decode().rstrip("=")


def test_a_set_survives_its_link():
    s = lessons.parse(TWO)
    code = lessons.encode_link(s)
    assert code.startswith(lessons.LINK_VERSION) and len(code) < 600
    assert all(c.isalnum() or c in "-_." for c in code)  # URL-safe as it is: nothing to escape
    assert lessons.decode_link(code) == s and lessons.decode_link(f"  {code}\n") == s
    for name in lessons.shipped():  # every shipped set fits in a link
        assert lessons.decode_link(lessons.encode_link(lessons.load(name))) == lessons.load(name)


def test_a_set_too_big_for_a_link_is_refused_when_shared():
    import random
    rng = random.Random(0)  # incompressible questions: the compressed size grows with the set
    questions = ["".join(rng.choice("abcdefghij ") for _ in range(900)) for _ in range(40)]
    big = lessons.LessonSet("Big", tuple(lessons.Exercise("nsp", {}, q, ("IsNext",)) for q in questions))
    with pytest.raises(PlaygroundError, match="too big to travel in a link"):
        lessons.encode_link(big)


BAD_LINKS = [
    ("", "not a shared exercise set"),
    ("2.abc", "not a shared exercise set"),  # another version of the format
    ("1.<script>alert(1)</script>", "not a shared exercise set"),
    ("1.a", "damaged"),  # not base64
    ("1.AAAA", "damaged"),  # base64, not zlib
    ("1." + "A" * (lessons.MAX_LINK_CHARS + 10), "too big"),
    (None, "cut short"),  # a link cut short (filled in below)
    (_packed(b"title: x\nexercises: []"), "at exercises: [] should be non-empty"),  # the upload schema applies
    (_packed(b"\x00" * 1_000_000), "larger than 200 kB once unpacked"),  # a zip bomb unpacks no further than that
]


@pytest.mark.parametrize("code,message", BAD_LINKS, ids=[str(i) for i in range(len(BAD_LINKS))])
def test_bad_set_links_get_clear_errors(code, message):
    if code is None:
        code = lessons.encode_link(lessons.parse(TWO))[:-12]
    with pytest.raises(PlaygroundError, match=re.escape(message)) as err:
        lessons.decode_link(code)
    assert str(err.value).startswith("The exercise set in the link")


def test_a_link_opens_a_teachers_set(app_env):
    s = lessons.parse(TWO)
    at = _page("pages/9_Lessons.py", {"lesson_set": lessons.encode_link(s)})
    assert at.radio(key="lesson_source").value == "A shared link"
    assert "Exercise 1 of 2" in str(at.get("progress")[0].proto.text)
    assert any("Which word?" in m.value for m in at.markdown)
    assert any("inside the link" in c.value for c in at.caption)
    at.button(key="lesson_next").click().run()
    assert "Exercise 2 of 2" in str(at.get("progress")[0].proto.text)
    assert at.query_params["lesson_set"] in (lessons.encode_link(s), [lessons.encode_link(s)])  # still in the link
    at.radio(key="lesson_source").set_value("Shipped set").run()  # another source: the set leaves the link
    assert "lesson_set" not in at.query_params
    at.radio(key="lesson_source").set_value("A shared link").run()  # and comes back
    assert "of 2" in str(at.get("progress")[0].proto.text)
    assert not at.error


@pytest.mark.parametrize("code,message", [c for c in BAD_LINKS if c[0]],
                         ids=[str(i) for i in range(len(BAD_LINKS) - 2)])
def test_bad_set_links_give_a_note_not_an_error(app_env, code, message):
    at = _page("pages/9_Lessons.py", {"lesson_set": code})
    notes = " ".join(i.value for i in at.info).replace("\\", "")
    assert "exercise set was not opened" in notes and message in notes
    assert not at.error and at.radio(key="lesson_source").value == "Shipped set"  # the page works on
    assert "Exercise 1 of" in str(at.get("progress")[0].proto.text)
    assert "lesson_set" not in at.query_params


def test_share_an_uploaded_set(app_env):
    at = _page("pages/9_Lessons.py", {"source": "Your own file"})
    at.file_uploader(key="lesson_upload").set_value(("mine.yaml", TWO.encode(), "application/x-yaml")).run()
    assert "Exercise 1 of 2" in str(at.get("progress")[0].proto.text)
    at.button(key="lesson_share").click().run()
    assert not at.exception and not at.error
    code = at.query_params["lesson_set"]
    code = code[-1] if isinstance(code, list) else code
    assert lessons.decode_link(code) == lessons.parse(TWO)
    assert at.radio(key="lesson_source").value == "A shared link"
    link = next(c.value for c in at.code if "lesson_set=" in c.value)
    assert code in link
    # a fresh session (another browser) opens the link it was given
    again = _page("pages/9_Lessons.py", {"lesson_set": code, "source": "A shared link"})
    assert "Exercise 1 of 2" in str(again.get("progress")[0].proto.text)


def test_an_upload_too_big_for_a_link_says_so(app_env):
    import random
    rng = random.Random(0)
    questions = ["".join(rng.choice("abcdefghij") for _ in range(900)) for _ in range(40)]
    exercises = "".join(f"  - page: nsp\n    inputs: {{}}\n    question: {q}\n    answers: [IsNext]\n" for q in questions)
    at = _page("pages/9_Lessons.py", {"source": "Your own file"})
    at.file_uploader(key="lesson_upload").set_value(("big.yaml", f"title: Big\nexercises:\n{exercises}".encode(),
                                                     "application/x-yaml")).run()
    assert any("too big to travel in a link" in i.value for i in at.info)
    assert not [b for b in at.button if b.key == "lesson_share"]


def test_sets_from_a_server_folder_open_by_name(app_env, monkeypatch, tmp_path):
    (tmp_path / "week3.yaml").write_text(TWO)
    (tmp_path / "nsp.yaml").write_text(GOOD)  # a shipped name: the shipped set stays
    (tmp_path / "broken.json").write_text("{")
    monkeypatch.setenv(lessons.FOLDER_ENV, str(tmp_path))
    sets = lessons.shipped()
    assert sets["week3"] == tmp_path / "week3.yaml" and sets["nsp"].parent != tmp_path
    at = _page("pages/9_Lessons.py", {"set": "week3"})
    assert "Exercise 1 of 2" in str(at.get("progress")[0].proto.text)
    at.selectbox(key="lesson_set_name").set_value("broken").run()
    assert not at.exception and any("broken.json is not valid YAML or JSON" in e.value for e in at.error)
    monkeypatch.setenv(lessons.FOLDER_ENV, str(tmp_path / "missing"))
    assert set(lessons.shipped()) == set(lessons.PAGES)
