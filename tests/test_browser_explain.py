"""End-to-end: the Explanations page renders in headless Chromium (the fixtures of test_browser.py)."""
from test_browser import SHOTS, _open, browser, server  # noqa: F401  (fixtures; skips when there is no browser)


def test_explanations_page_renders(server, browser):  # noqa: F811
    page = _open(browser, server + "/Explanations", "Three views of the same prediction")
    assert page.locator('[data-testid="stException"]').count() == 0
    page.get_by_text("Deletion test: which ranking").first.wait_for(timeout=60_000)
    page.locator(".js-plotly-plot").nth(1).wait_for(timeout=90_000)  # the views and the deletion curves
    assert page.locator(".js-plotly-plot").count() >= 2
    page.get_by_role("tab", name="Neuron view").click()
    page.get_by_text("differ by at most").first.wait_for(timeout=60_000)
    assert page.locator('[data-testid="stException"]').count() == 0
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "explanations.png"), full_page=True)
    assert (SHOTS / "explanations.png").stat().st_size > 10_000
    page.close()
