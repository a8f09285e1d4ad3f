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
    nav = page.locator('[data-testid="stSidebar"] [data-testid="stPageLink"]')
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


def test_downloads_exist_and_parse(server, browser):
    page = _open(browser, server + "/Input_representation", "Inside one token's input vector")
    with page.expect_download(timeout=60_000) as d:
        page.get_by_role("button", name="Table as CSV").first.click()
    table = pd.read_csv(io.StringIO(open(d.value.path()).read()))
    assert "Token" in table.columns and len(table) > 3
    assert d.value.suggested_filename.startswith("input-representation_tokens_") and d.value.suggested_filename.endswith(".csv")
    with page.expect_download(timeout=60_000) as d:
        page.get_by_role("button", name="Figure as HTML").first.click()
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
