"""Classroom features in a real headless Chromium: offline, Home, inputs kept, links, downloads, presentation mode."""
import io
import json
from urllib.parse import urlsplit

import pandas as pd
from playwright.sync_api import expect

from test_browser import _open, browser, server  # noqa: F401  (fixtures: one server and browser for this module)

LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


def _settle(page):
    page.wait_for_timeout(800)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=90_000)
    page.wait_for_timeout(800)


def test_no_request_leaves_the_machine_and_home_comes_first(server, browser):
    hosts = []
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.on("request", lambda r: hosts.append(urlsplit(r.url).hostname or r.url[:40]))
    page.goto(server + "/")
    page.get_by_text("What each page teaches").first.wait_for(timeout=90_000)
    _settle(page)
    nav = page.locator('[data-testid="stSidebar"] [data-testid="stSidebarNavLink"]')  # Streamlit's own navigation
    assert nav.first.inner_text().strip().endswith("Home")
    assert "app" not in [t.strip() for t in nav.all_inner_texts()]
    for label, expect in [("Masked LM", "Fill in the blanks"), ("Next sentence prediction", "Why RoBERTa dropped NSP"),
                          ("Attention", "View"), ("Input representation", "Inside one token's input vector")]:
        page.locator('[data-testid="stSidebar"]').get_by_text(label, exact=True).first.click()
        page.get_by_text(expect).first.wait_for(timeout=90_000)
        _settle(page)
    outside = sorted({h for h in hosts if h not in LOOPBACK and not h.startswith("data:") and not h.startswith("blob:")})
    assert outside == [], f"requests left the machine: {outside}"
    assert page.locator('[data-testid="stException"]').count() == 0
    page.close()


def test_inputs_survive_navigation_and_reload_and_links_reopen_a_view(server, browser):
    page = _open(browser, server + "/Masked_LM", "Fill in the blanks")
    box = page.get_by_label("Text", exact=True)
    box.fill("Teachers like links that reopen a view.")
    box.press("Control+Enter")
    _settle(page)
    assert "text=Teachers" in page.url
    page.locator('[data-testid="stSidebar"]').get_by_text("Attention", exact=True).first.click()
    page.get_by_text("View").first.wait_for(timeout=90_000)
    _settle(page)
    page.locator('[data-testid="stSidebar"]').get_by_text("Masked LM", exact=True).first.click()
    page.get_by_text("Fill in the blanks").first.wait_for(timeout=90_000)
    _settle(page)
    expect(page.get_by_label("Text", exact=True)).to_have_value("Teachers like links that reopen a view.", timeout=60_000)
    assert "text=Teachers" in page.url  # written back after coming back
    page.reload()
    page.get_by_text("Fill in the blanks").first.wait_for(timeout=90_000)
    expect(page.get_by_label("Text", exact=True)).to_have_value("Teachers like links that reopen a view.", timeout=60_000)
    page.close()
    link = _open(browser, server + "/Attention?a=The+dog+slept.&b=&view=Rollout", "Attention rollout")
    expect(link.get_by_label("Sentence A")).to_have_value("The dog slept.", timeout=60_000)
    assert link.locator('[data-testid="stException"]').count() == 0
    link.close()


def test_attention_text_survives_a_reload(server, browser):
    """Issue 26, item 7: the hostile tester's Attention text ([SEP] typed in, a zero-width space) came back as the
    default after a reload. The text is written to the address as it is typed in, so a reload restores it."""
    typed = "The cat [SEP] sat\u200b on the mat."
    page = _open(browser, server + "/Attention", "View")
    box = page.get_by_label("Sentence A")
    box.fill(typed)
    box.press("Control+Enter")
    _settle(page)
    assert "a=The+cat" in page.url or "a=The%20cat" in page.url
    page.reload()
    page.get_by_text("View").first.wait_for(timeout=90_000)
    expect(page.get_by_label("Sentence A")).to_have_value(typed, timeout=60_000)
    assert page.locator('[data-testid="stException"]').count() == 0
    page.close()


def test_masked_lm_tabs_draw_when_opened_and_keep_their_inputs(server, browser):
    """Only the open tab of the Masked-LM page runs: a tab's content appears when it is clicked (Playwright waits
    for it), and what was typed in a tab is still there after reruns in another tab."""
    page = _open(browser, server + "/Masked_LM", "Mean loss by action")
    text_box, fill_box = page.get_by_label("Text", exact=True), page.get_by_label("where a word is missing")
    assert fill_box.count() == 0  # the closed fill tab is not drawn
    text_box.fill("Dogs bark at the moon tonight.")
    text_box.press("Control+Enter")
    _settle(page)
    page.get_by_role("tab", name="Fill in the blanks").click()
    fill_box.fill("Rome is the [MASK] of Italy.")  # waits for the tab's content
    fill_box.press("Control+Enter")  # a run without the masking tab's widgets
    page.get_by_text("Filled in with the best guesses").first.wait_for(timeout=90_000)
    _settle(page)
    assert "tab=Fill" in page.url and "fill=Rome" in page.url and "text=Dogs" in page.url
    assert page.get_by_text("Mean loss by action").count() == 0 and text_box.count() == 0  # masking tab not drawn
    page.get_by_role("tab", name="Masking playground").click()
    page.get_by_text("Mean loss by action").first.wait_for(timeout=90_000)
    expect(text_box).to_have_value("Dogs bark at the moon tonight.", timeout=60_000)
    _settle(page)
    assert fill_box.count() == 0
    page.get_by_role("tab", name="Fill in the blanks").click()
    expect(fill_box).to_have_value("Rome is the [MASK] of Italy.", timeout=60_000)
    assert page.locator('[data-testid="stException"]').count() == 0
    page.close()


def test_downloads_exist_and_parse(server, browser):
    page = _open(browser, server + "/Input_representation", "Inside one token's input vector")
    page.wait_for_timeout(1500)  # the page settles: no rerun is left to replace the buttons under the click
    with page.expect_download(timeout=60_000) as d:  # the tokens table's own button (its key), not the first in view
        page.locator(".st-key-rep_table__csv").get_by_role("button", name="Table as CSV").click()
    table = pd.read_csv(io.StringIO(open(d.value.path()).read()))
    assert "Token" in table.columns and len(table) > 3
    assert d.value.suggested_filename.startswith("input-representation_tokens_") and d.value.suggested_filename.endswith(".csv")
    with page.expect_download(timeout=60_000) as d:
        page.locator(".st-key-diagram__html").get_by_role("button", name="Figure as HTML").click()
    html = open(d.value.path()).read()
    assert "Plotly.newPlot" in html and '<script src="http' not in html  # plotly.js embedded, nothing from a CDN
    spec = html[html.index("Plotly.newPlot("):]
    assert '"data"' in spec or "[{" in spec
    page.close()


def test_presentation_mode(server, browser):
    page = _open(browser, server + "/Input_representation?present=1", "Inside one token's input vector")
    page.wait_for_function("() => parseFloat(getComputedStyle(document.querySelector("
                           "'[data-testid=\"stMain\"] [data-testid=\"stMarkdownContainer\"] p')).fontSize) >= 20",
                           timeout=30_000)  # the style sheet arrives with the run
    assert page.locator('[data-testid="stSidebar"][data-collapsed="true"]').count() == 1  # collapsed
    assert "present=1" in page.url
    page.close()


def _commit_in_browser(page, guess=None, choice=None):
    if choice:
        page.locator('[data-testid="stRadio"]').filter(has_text="Your guess").get_by_text(choice, exact=True).click()
    else:
        page.get_by_label("Your guess").fill(guess)
    page.get_by_role("button", name="Commit my guess").click()
    page.get_by_text("the model says").first.wait_for(timeout=90_000)
    _settle(page)


def test_lesson_walk_opens_an_exercise_and_reveals(server, browser):
    page = _open(browser, server + "/Lessons?set=masked-lm", "Exercise 1 of 3")
    page.get_by_role("button", name="Open this exercise").click()
    page.get_by_text("Which word does the model put at [MASK] in 'He studied medicine").first.wait_for(timeout=90_000)
    _settle(page)
    assert "lesson=1" in page.url and "fill=He+studied" in page.url and "tab=Fill" in page.url
    assert page.locator('[data-testid="stPlotlyChart"]').count() == 0  # the answer stays hidden
    _commit_in_browser(page, guess="university")
    assert page.get_by_text("Your guess university").count() or page.get_by_text("university").count()
    assert "Lesson score" in page.locator('[data-testid="stSidebar"]').inner_text()
    page.close()


def test_lesson_nsp_and_attention_in_the_browser(server, browser):
    page = _open(browser, server + "/Next_sentence_prediction?source=Type+both+sentences&a=It+rained.&b=Roads+were+wet.&lesson=1",
                 "Does B follow A?")
    _commit_in_browser(page, choice="IsNext")
    page.locator('[data-testid="stPlotlyChart"]').first.wait_for(timeout=60_000)  # revealed: packed input and gauge
    page.close()
    page = _open(browser, server + "/Attention?a=The+cat+sat.&b=&layer=1&head=1&from=1&lesson=1", "attend to most")
    _commit_in_browser(page, choice="0: [CLS]")
    page.locator('[data-testid="stPlotlyChart"]').first.wait_for(timeout=60_000)
    page.close()


def _sidebar_text(page) -> str:
    return page.locator('[data-testid="stSidebar"]').inner_text()


def test_fine_tuning_lesson_exercise(server, browser):
    """Train (frozen, one epoch), guess the label, then the model's answer appears with the guess marked; the score
    goes from 0 / 0 to n / 1."""
    page = _open(browser, server + "/Fine-tuning?mode=frozen&epochs=1&lesson=1&try=I+think+I+left+my+card+in+the+taxi.",
                 "Start training")
    page.get_by_role("button", name="Start training").click()
    page.get_by_text("Which label will the fine-tuned model give this text?").first.wait_for(timeout=300_000)
    _settle(page)
    assert page.locator('[data-testid="stAlert"]').filter(has_text="the model says").count() == 0  # hidden until guessed
    assert "0 / 0" in _sidebar_text(page)
    _commit_in_browser(page, choice="card_lost")
    answer = page.locator('[data-testid="stAlert"]').filter(has_text="the model says").first
    assert "Your guess card_lost" in answer.inner_text()  # the guess is marked beside the model's answer
    assert ("✓ right" in answer.inner_text()) == ("the model says card_lost" in answer.inner_text())
    expect(page.locator('[data-testid="stSidebar"]')).to_contain_text(" / 1", timeout=30_000)  # the score moved
    assert "0 / 0" not in _sidebar_text(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    page.close()


def test_png_and_svg_downloads_from_the_modebar(server, browser):
    """The camera button of a Plotly chart saves a real PNG, or (format SVG, here from the link) a real SVG."""
    import xml.etree.ElementTree as ET

    for fmt in ("png", "svg"):
        page = _open(browser, server + f"/Input_representation?fig={fmt}", "Inside one token's input vector")
        chart = page.locator(".js-plotly-plot").first
        chart.hover()
        with page.expect_download(timeout=60_000) as d:
            chart.locator('.modebar-btn[data-title^="Download plot"]').first.click()
        data = open(d.value.path(), "rb").read()
        assert d.value.suggested_filename.endswith("." + fmt)
        assert d.value.suggested_filename.startswith("input-representation_")
        if fmt == "png":
            assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 2_000
        else:
            root = ET.fromstring(data)
            assert root.tag.rsplit("}", 1)[-1] == "svg" and len(list(root.iter())) > 20
        page.close()


def test_later_pages_keep_their_inputs_across_navigation_and_reload(server, browser):
    """Pages 6 and 8: an input set, another page visited, back (kept), reload (restored from the URL)."""
    page = _open(browser, server + "/Contextual_embeddings", "The uses in two dimensions")
    page.get_by_text("its first WordPiece piece", exact=True).first.click()
    _settle(page)
    assert "pooling=first" in page.url
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_text("The BERT family", exact=True).first.click()
    page.get_by_text("The recipes").first.wait_for(timeout=90_000)
    _settle(page)
    box = page.get_by_label("More checkpoints to describe (one a line)")
    box.fill("embedded")
    box.press("Control+Enter")
    _settle(page)
    assert "more=embedded" in page.url
    sidebar.get_by_text("Contextual embeddings", exact=True).first.click()
    page.get_by_text("The uses in two dimensions").first.wait_for(timeout=90_000)
    _settle(page)
    expect(page.get_by_label("its first WordPiece piece", exact=True)).to_be_checked(timeout=30_000)
    sidebar.get_by_text("The BERT family", exact=True).first.click()
    page.get_by_text("The recipes").first.wait_for(timeout=90_000)
    expect(page.get_by_label("More checkpoints to describe (one a line)")).to_have_value("embedded", timeout=30_000)
    page.reload()
    page.get_by_text("The recipes").first.wait_for(timeout=90_000)
    expect(page.get_by_label("More checkpoints to describe (one a line)")).to_have_value("embedded", timeout=30_000)
    assert page.locator('[data-testid="stException"]').count() == 0
    page.close()


def _link_set(text: bytes) -> str:
    import base64
    import zlib

    return "1." + base64.urlsafe_b64encode(zlib.compress(text, 9)).decode().rstrip("=")


def test_hostile_lesson_links_are_refused_and_the_server_does_not_grow(server, browser):
    """The hostile tester's links: a YAML alias bomb (226 characters that took a server from 708 MB to 3.5 GB) and
    100 kB of nested brackets (a RecursionError that replaced the page). Each opens the Lessons page with a note,
    and the server's memory grows by less than 50 MB."""
    from test_fuzz import alias_bomb, nested

    page = _open(browser, server + "/Lessons", "Lessons: predict, then reveal")  # the page's code loaded once
    _settle(page)
    before = server.rss_mb()
    for code, why in [(_link_set(alias_bomb(9, 9).encode()), "aliases"), (_link_set(nested(100_000).encode()), "deep")]:
        assert len(code) < 1000
        page.goto(server + "/Lessons?lesson_set=" + code)
        page.get_by_text("Lessons: predict, then reveal").first.wait_for(timeout=90_000)
        _settle(page)
        body = page.inner_text("body")
        assert "was not opened" in body and why in body
        assert page.locator('[data-testid="stException"]').count() == 0
    grown = server.rss_mb() - before
    assert grown < 50, f"the server grew by {grown:.0f} MB"
    page.close()
