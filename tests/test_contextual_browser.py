"""End-to-end: the Contextual-embeddings page renders in headless Chromium (server and browser from test_browser)."""
from test_browser import SHOTS, _open, browser, server  # noqa: F401  (pytest fixtures)


def test_contextual_page_renders(server, browser):  # noqa: F811
    page = _open(browser, server + "/Contextual_embeddings", "How alike are the uses, layer by layer?")
    assert page.locator('[data-testid="stException"]').count() == 0
    page.locator(".js-plotly-plot").nth(2).wait_for(timeout=60_000)  # heatmap, senses, projection drawn by Plotly
    assert page.get_by_text("Nearest uses in a corpus").count() == 1
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "contextual_embeddings.png"), full_page=True)
    assert (SHOTS / "contextual_embeddings.png").stat().st_size > 10_000
    page.close()
